"""LoRA and training memory: oracles against peft and against independent computations.

* :class:`sft_teach.lora.LoRALinear` gives the same outputs and the same ``dW`` as ``peft``'s
  LoRA layer holding the same ``A`` and ``B``; at initialisation it equals the frozen layer.
* alpha is the same for every rank, so the factor is alpha / r (Hu et al.), or alpha / sqrt(r)
  with rsLoRA (Kalajdzievski 2023), in our layer and in peft's.
* LoRA trains the same head (pooler and classifier) as head-only training.
* A merged LoRA model gives the same outputs as the unmerged one.
* An adapter saved and reloaded with ``PeftModel.from_pretrained`` gives the same outputs; two
  adapters on one base switch with ``set_adapter``; ``disable_adapter`` gives the base model.
* :mod:`sft_teach.memory` counts gradients, AdamW moments and saved activations as the
  shapes predict.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from sft_teach import lora, memory


def peft_linear(base: nn.Linear, r: int, alpha: float):
    """peft's LoRA on a lone ``nn.Linear`` (inside a holder module, as peft needs a name)."""
    from peft import LoraConfig, inject_adapter_in_model

    holder = nn.Sequential()
    holder.add_module("proj", copy.deepcopy(base))
    inject_adapter_in_model(LoraConfig(r=r, lora_alpha=alpha, target_modules=["proj"], lora_dropout=0.0), holder)
    return holder.proj


def test_lora_linear_starts_as_the_frozen_layer():
    torch.manual_seed(0)
    base = nn.Linear(12, 7)
    layer = lora.LoRALinear(base, r=3)
    x = torch.randn(5, 4, 12)  # (batch, seq_len, in_features)
    assert torch.equal(layer(x), base(x))  # B = 0: exactly the pretrained function
    assert not any(p.requires_grad for p in base.parameters())
    assert layer.A.shape == (3, 12) and layer.B.shape == (7, 3) and layer.scaling == lora.ALPHA / 3


def peft_scalings(peft_model) -> list:
    """Every LoRA layer's factor in front of B A x, as peft computed it."""
    from peft.tuners.lora import LoraLayer

    return [m.scaling["default"] for m in peft_model.modules() if isinstance(m, LoraLayer)]


@pytest.mark.parametrize("r", [1, 4, 16])
def test_alpha_is_fixed_across_ranks_and_rslora_divides_by_sqrt_r(make_tiny_classifier, r):
    # Hu et al.: alpha a constant in r, factor alpha / r. Kalajdzievski 2023: alpha / sqrt(r).
    plain, stable = (peft_scalings(lora.add_lora(make_tiny_classifier(), r=r, rslora=rs)) for rs in (False, True))
    assert len(plain) == 4 and plain == pytest.approx([lora.ALPHA / r] * 4)  # query and value in 2 layers
    assert stable == pytest.approx([lora.ALPHA / math.sqrt(r)] * 4)
    assert lora.scaling(r) == lora.ALPHA / r and lora.scaling(r, rslora=True) == pytest.approx(lora.ALPHA / math.sqrt(r))
    assert lora.LoRALinear(nn.Linear(4, 4), r=r, rslora=True).scaling == pytest.approx(lora.ALPHA / math.sqrt(r))


def test_rslora_linear_equals_peft():
    torch.manual_seed(3)
    base = nn.Linear(16, 10)
    ours = lora.LoRALinear(copy.deepcopy(base), r=9, alpha=6.0, rslora=True)
    from peft import LoraConfig, inject_adapter_in_model

    holder = nn.Sequential()
    holder.add_module("proj", copy.deepcopy(base))
    inject_adapter_in_model(LoraConfig(r=9, lora_alpha=6.0, target_modules=["proj"], lora_dropout=0.0, use_rslora=True), holder)
    with torch.no_grad():
        ours.B.normal_()
        holder.proj.lora_A["default"].weight.copy_(ours.A)
        holder.proj.lora_B["default"].weight.copy_(ours.B)
    x = torch.randn(3, 16)
    by_hand = x @ base.weight.T + base.bias + (6.0 / 3.0) * (x @ ours.A.T @ ours.B.T)  # alpha / sqrt(9) = 2
    torch.testing.assert_close(ours(x), by_hand)
    torch.testing.assert_close(holder.proj(x), by_hand)


def test_lora_trains_the_same_head_as_head_only(make_tiny_classifier):
    from sft_teach.models import freeze

    head_only = make_tiny_classifier()
    freeze(head_only, ["head"])
    head_names = {n for n, p in head_only.named_parameters() if p.requires_grad}
    assert head_names == {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}
    adapted = lora.add_lora(make_tiny_classifier(), r=2)
    # peft names a trained copy of a module <module>.modules_to_save.default.<parameter>
    lora_head = {n.removeprefix("base_model.model.").replace("modules_to_save.default.", "")
                 for n, p in adapted.named_parameters() if p.requires_grad and "lora_" not in n}
    assert lora_head == head_names


@pytest.mark.parametrize("r,alpha", [(1, 1.0), (4, 8.0), (8, 32.0)])
def test_lora_linear_equals_peft(r, alpha):
    torch.manual_seed(r)
    base = nn.Linear(16, 10)
    ours = lora.LoRALinear(copy.deepcopy(base), r=r, alpha=alpha)
    theirs = peft_linear(base, r, alpha)
    with torch.no_grad():
        ours.B.normal_()  # a trained-looking update, so the check is not 0 == 0
        theirs.lora_A["default"].weight.copy_(ours.A)
        theirs.lora_B["default"].weight.copy_(ours.B)
    x = torch.randn(3, 16)
    torch.testing.assert_close(ours(x), theirs(x))
    torch.testing.assert_close(ours.delta_weight(), theirs.get_delta_weight("default"))
    # and by hand: W0 x + (alpha / r) B A x
    by_hand = x @ base.weight.T + base.bias + (alpha / r) * (x @ ours.A.T @ ours.B.T)
    torch.testing.assert_close(ours(x), by_hand)
    torch.testing.assert_close(ours.merged()(x), ours(x))


def test_rank_must_be_a_whole_number_of_at_least_1_and_the_base_one_linear_layer():
    from sft_teach.errors import ConfigError

    for r in (0, -1, 2.5, True):  # 2.5 ended in torch.empty's TypeError
        with pytest.raises(ConfigError, match=f"rank r must be a whole number, at least 1, got {r!r}"):
            lora.LoRALinear(nn.Linear(4, 4), r=r)
    with pytest.raises(ConfigError, match="wraps one nn.Linear layer .*got Conv1d$"):  # an AttributeError before
        lora.LoRALinear(nn.Conv1d(4, 4, 1), r=2)
    with pytest.raises(ConfigError, match="got LoRALinear: it is already wrapped"):
        lora.LoRALinear(lora.LoRALinear(nn.Linear(4, 4), r=2), r=2)


def test_a_lora_layer_starts_as_its_base_and_both_matrices_learn():
    layer = lora.LoRALinear(nn.Linear(4, 4), r=2)
    assert layer.A.abs().sum() > 0 and not layer.B.any()  # B = 0: no change at step 0; A random, so B gets a gradient
    layer(torch.randn(3, 4)).sum().backward()
    assert layer.B.grad.abs().sum() > 0


def test_add_lora_adapts_the_layers_named_for_the_model_s_task(make_tiny_classifier):
    from transformers import GPT2Config, GPT2LMHeadModel

    peft_model = lora.add_lora(make_tiny_classifier(), r=2, targets=("query",))
    adapted = {name.rsplit(".", 1)[-1] for name, module in peft_model.named_modules() if hasattr(module, "lora_A")}
    assert adapted == {"query"}
    causal = lora.add_lora(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)), r=2,
                           targets=("c_attn",))
    assert causal.peft_config["default"].task_type == "CAUSAL_LM" and not causal.peft_config["default"].modules_to_save
    model = make_tiny_classifier()
    everything = sum(p.numel() for p in model.parameters())
    assert lora.trainable_parameters(model) == (everything, everything)


def test_merge_of_a_model_without_adapters_says_so(make_tiny_classifier):
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^merge takes a model with LoRA adapters .* got BertForSequenceClassification"):
        lora.merge(make_tiny_classifier())


def test_add_lora_counts_and_merge_equals_unmerged(make_tiny_classifier):
    model = make_tiny_classifier()
    hidden, layers, r = model.config.hidden_size, model.config.num_hidden_layers, 4
    total_before = sum(p.numel() for p in model.parameters())
    peft_model = lora.add_lora(model, r=r)
    trainable, _ = lora.trainable_parameters(peft_model)
    classifier, pooler = hidden * 2 + 2, hidden * hidden + hidden
    # query and value in every layer: A (r, hidden) + B (hidden, r); plus the head (pooler, new classifier)
    assert trainable == layers * 2 * (r * hidden + hidden * r) + pooler + classifier
    torch.manual_seed(1)
    with torch.no_grad():  # move B away from zero, as training would
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.5)
    ids = torch.randint(1000, 2000, (3, 9))
    peft_model.eval()
    with torch.no_grad():
        unmerged = peft_model(input_ids=ids).logits
        merged_model = lora.merge(peft_model)
        merged = merged_model(input_ids=ids).logits
    torch.testing.assert_close(merged, unmerged, atol=1e-5, rtol=1e-5)
    assert sum(p.numel() for p in merged_model.parameters()) == total_before
    assert not any("lora" in n for n, _ in merged_model.named_parameters())


def test_save_trainable_keeps_only_what_changed(make_tiny_classifier, tmp_path):
    full = lora.save_trainable(make_tiny_classifier(), tmp_path / "full")
    adapted = lora.save_trainable(lora.add_lora(make_tiny_classifier(), r=2), tmp_path / "lora")
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    assert adapted < full / 10
    # a plain model saves the parameters that trained, and only them: here the head
    from safetensors.torch import load_file

    from sft_teach.models import freeze

    head_only = make_tiny_classifier()
    freeze(head_only, ["head"])
    lora.save_trainable(head_only, tmp_path / "head")
    saved = set(load_file(str(tmp_path / "head" / "model.safetensors")))
    assert saved == {n for n, p in head_only.named_parameters() if p.requires_grad}
    assert saved and all(n.startswith(("bert.pooler.", "classifier.")) for n in saved)


def test_the_course_settings_of_lora(make_tiny_classifier):
    # Hu et al.'s choice (Table 5): the query and value projections; one alpha, 8, for every rank
    assert lora.TARGETS == ("query", "value") and lora.ALPHA == 8 and lora.scaling(4) == 2
    peft_model = lora.add_lora(make_tiny_classifier(), r=2, dropout=0.2)
    adapted = {name.rsplit(".", 1)[-1] for name, module in peft_model.named_modules() if hasattr(module, "lora_A")}
    assert adapted == {"query", "value"}
    assert peft_model.peft_config["default"].lora_dropout == 0.2  # the dropout asked for reaches peft


def test_tensor_bytes_counts_shared_storage_once():
    t = torch.zeros(10, 4)
    assert memory.tensor_bytes([t, t[2:], t.T, None]) == 10 * 4 * 4
    assert memory.tensor_bytes([t[2:]]) == 10 * 4 * 4  # a view keeps its whole storage alive
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=r"takes tensors, got a model \(Linear\): e.g. tensor_bytes\(model.parameters"):
        memory.tensor_bytes(torch.nn.Linear(2, 2))  # "not iterable" before


def test_activation_bytes_of_a_linear_layer_is_its_input():
    # y = x W^T: the weight gradient needs x, so autograd saves x (batch, in) and nothing else.
    layer = nn.Linear(6, 3)

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            return self.layer(x)

    x = torch.randn(5, 6)
    assert memory.activation_bytes(Holder(), {"x": x}) == 5 * 6 * 4
    layer.requires_grad_(False)  # frozen, and the input needs no gradient: nothing to save
    assert memory.activation_bytes(Holder(), {"x": x}) == 0
    # frozen, but the input needs a gradient: autograd keeps the weight (for dL/dx = dL/dy W), a
    # parameter already counted with the weights, not an activation
    assert memory.activation_bytes(Holder(), {"x": x.requires_grad_()}) == 0
    # a step trains in training mode, where dropout keeps its mask for backward: counted so from a model in eval mode
    # too, which is left in eval mode (two linear layers' inputs of 5 x 6 float32, and the mask)
    dropping = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5), nn.Linear(6, 3)).eval()
    assert memory.activation_bytes(dropping, {"input": torch.randn(5, 6)}) > 2 * 5 * 6 * 4 and not dropping.training


def test_training_memory_matches_trainable_parameters(make_tiny_classifier, small_dataset, tokenizer):
    from sft_teach.callbacks import TrainingMemory
    from sft_teach.training import finetune

    model = lora.add_lora(make_tiny_classifier(), r=2)
    meter = TrainingMemory()
    finetune(model, small_dataset, tokenizer=tokenizer, num_train_epochs=1, save=False, progress=False,
             eval_strategy="no", callbacks=[meter])
    trainable_bytes = sum(p.numel() * 4 for p in model.parameters() if p.requires_grad)
    assert meter.memory["gradients"] == trainable_bytes
    # AdamW: exp_avg and exp_avg_sq per trainable tensor, plus a scalar step count each
    steps = sum(1 for p in model.parameters() if p.requires_grad) * 4
    assert meter.memory["optimizer"] == 2 * trainable_bytes + steps
    assert meter.memory["weights"] == sum(p.numel() * 4 for p in model.parameters())


def test_head_only_saves_no_activations_in_the_body(make_tiny_classifier, tokenizer):
    from sft_teach.models import freeze

    batch = dict(tokenizer(["a cat on a mat", "two dogs in the park today"], padding=True, return_tensors="pt"))
    batch["labels"] = torch.tensor([0, 1])
    full = memory.activation_bytes(make_tiny_classifier(), batch)
    adapted = memory.activation_bytes(lora.add_lora(make_tiny_classifier(), r=2), batch)
    head = make_tiny_classifier()
    freeze(head, ["head"])
    assert memory.activation_bytes(head, batch) < adapted < full
    # measured in training mode, where dropout keeps its masks, whatever mode the model was in, and left in it
    evaluating = make_tiny_classifier().eval()
    assert memory.activation_bytes(evaluating, batch) == full and not evaluating.training


def trained_adapter(make_tiny_classifier, labels, seed):
    """A LoRA model whose adapters and head moved away from their start, as training would move them."""
    model = lora.add_lora(make_tiny_classifier(labels), r=2)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def test_adapter_save_reload_switch_and_disable(make_tiny_classifier, tmp_path):
    from peft import PeftModel

    pets = trained_adapter(make_tiny_classifier, ("cat", "dog"), seed=1)
    clinic = trained_adapter(make_tiny_classifier, tuple("abcdefghij"), seed=2)  # 10 classes: another head shape
    lora.save_trainable(pets, tmp_path / "pets")
    lora.save_trainable(clinic, tmp_path / "clinic")
    ids = torch.randint(1000, 2000, (3, 9))
    with torch.no_grad():
        want_pets, want_clinic = pets(input_ids=ids).logits, clinic(input_ids=ids).logits
        base_logits = make_tiny_classifier().eval()(input_ids=ids).logits

        model = PeftModel.from_pretrained(make_tiny_classifier(), tmp_path / "pets", adapter_name="pets").eval()
        assert torch.equal(model(input_ids=ids).logits, want_pets)  # reloaded: the same function
        lora.load_adapter(model, tmp_path / "clinic", "clinic")
        assert model.active_adapter == "pets"  # loading does not switch
        model.set_adapter("clinic")
        assert torch.equal(model(input_ids=ids).logits, want_clinic)
        model.set_adapter("pets")
        assert torch.equal(model(input_ids=ids).logits, want_pets)
        with model.disable_adapter():  # no adapter, no trained head: the base model as loaded
            assert torch.equal(model(input_ids=ids).logits, base_logits)
        assert torch.equal(model(input_ids=ids).logits, want_pets)  # and back


def test_compare_rows_pair_item_by_item(monkeypatch, make_tiny_classifier, small_dataset, tokenizer):
    from sft_teach import models

    monkeypatch.setattr(models, "load_classifier", lambda name, labels: (make_tiny_classifier(tuple(labels)), tokenizer))
    rows = lora.compare(small_dataset, ranks=(4,), rslora_ranks=(4,), seed=3, num_train_epochs=1)
    by_method = {row["method"]: row for row in rows}
    assert list(by_method) == [lora.FULL, "LoRA r=4", "rsLoRA r=4", lora.HEAD]
    assert [by_method[m]["scaling"] for m in ("LoRA r=4", "rsLoRA r=4")] == [lora.ALPHA / 4, lora.ALPHA / 2]
    test_size = len(small_dataset["test"])
    for row in rows:
        assert row["seed"] == 3 and len(row["correct"]) == test_size and set(row["correct"]) <= {"0", "1"}
        assert row["correct"].count("1") / test_size == pytest.approx(row["accuracy"])
    head = by_method[lora.HEAD]["trainable"]
    assert by_method["LoRA r=4"]["trainable"] - head == 2 * 2 * 4 * (32 + 32)  # the same head, plus A and B
    assert [by_method[m]["learning_rate"] for m in by_method] == [1e-4, 1e-3, 1e-3, 1e-3]  # full at the small rate
    assert by_method["LoRA r=4"]["saved_mib"] < by_method[lora.FULL]["saved_mib"] / 10  # each method's own folder
    for row in rows:  # a training step's memory: all four parts
        assert row["total"] == pytest.approx(row["weights"] + row["gradients"] + row["optimizer"] + row["activations"])


def test_every_method_of_a_comparison_starts_from_the_same_head(monkeypatch, tokenizer, small_dataset):
    """The head is drawn when the model is loaded: compare seeds it first, as a real load draws it unseeded."""
    from transformers import BertConfig, BertForSequenceClassification

    from sft_teach import models

    def unseeded(name, labels):
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=128, num_labels=len(labels))
        return BertForSequenceClassification(config), tokenizer

    monkeypatch.setattr(models, "load_classifier", unseeded)
    heads = []
    for _ in range(2):
        (row,) = lora.compare(small_dataset, ranks=(), seed=3, num_train_epochs=1, head=False, keep=(lora.FULL,))
        heads.append(row["model"].classifier.weight.detach().clone())
    assert torch.equal(*heads)


def test_the_forgetting_sweep_scores_the_merged_rank_4_adapter_and_every_seed_is_run(monkeypatch):
    import numpy as np

    from sft_teach import data, forgetting, models

    monkeypatch.setattr(models, "load_classifier", lambda name, labels: ("pretrained", "tokenizer"))
    monkeypatch.setattr(data, "load", lambda name: {"train": type("Split", (), {"features": {"label": type(
        "Labels", (), {"names": ["cat", "dog"]})()}})()})
    seeds, scored = [], []
    monkeypatch.setattr(lora, "compare", lambda dataset, seed, **kw: seeds.append(seed) or [
        {"method": lora.FULL, "model": "full"}, {"method": "LoRA r=4", "model": "lora"}])
    monkeypatch.setattr(lora, "merge", lambda model: f"merged {model}")
    monkeypatch.setattr(forgetting, "paraphrase_scores", lambda model, tokenizer: scored.append(model) or {
        "retrieval": 0.5, "retrieved": np.array([True, False])})
    rows = lora.forgetting_sweep(seeds=(0, 1))
    assert seeds == [0, 1] and scored == ["pretrained", "full", "merged lora", "full", "merged lora"]
    assert [r["method"] for r in rows[:3]] == ["pretrained", lora.FULL, lora.MERGED]
    assert {r["correct"] for r in rows} == {"10"}  # a hit is 1
    swept = []
    monkeypatch.setattr(lora, "compare", lambda dataset, seed, **kw: swept.append(seed) or [])
    lora.sweep(seeds=(0, 1))
    assert swept == [0, 1]


def test_compare_leaves_no_scratch_folder_behind_even_when_a_run_fails(monkeypatch, make_tiny_classifier,
                                                                         small_dataset, tokenizer, tmp_path):
    import tempfile

    from sft_teach import models, training

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where every scratch folder of the runs goes
    monkeypatch.setattr(models, "load_classifier", lambda name, labels: (make_tiny_classifier(tuple(labels)), tokenizer))
    rows = lora.compare(small_dataset, ranks=(4,), seed=0, num_train_epochs=1, head=False)
    assert [row["saved_mib"] > 0 for row in rows] == [True, True]  # the adapters were saved, then removed
    assert list(scratch.iterdir()) == []
    real = training.finetune_quietly
    calls = []

    def fails_second(*args, **kwargs):  # the second method's run stops on an error
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "finetune_quietly", fails_second)
    with pytest.raises(RuntimeError, match="out of memory"):
        lora.compare(small_dataset, ranks=(4,), seed=0, num_train_epochs=1, head=False)
    assert len(calls) == 2 and list(scratch.iterdir()) == []
