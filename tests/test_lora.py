"""LoRA and training memory: oracles against peft and against independent computations.

* :class:`sft_teach.lora.LoRALinear` gives the same outputs and the same ``dW`` as ``peft``'s
  LoRA layer holding the same ``A`` and ``B``; at initialisation it equals the frozen layer.
* A merged LoRA model gives the same outputs as the unmerged one.
* :mod:`sft_teach.memory` counts gradients, AdamW moments and saved activations as the
  shapes predict.
"""

from __future__ import annotations

import copy

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
    assert layer.A.shape == (3, 12) and layer.B.shape == (7, 3) and layer.scaling == 2.0


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


def test_rank_must_be_positive():
    with pytest.raises(ValueError, match="rank r must be at least 1"):
        lora.LoRALinear(nn.Linear(4, 4), r=0)


def test_add_lora_counts_and_merge_equals_unmerged(make_tiny_classifier):
    model = make_tiny_classifier()
    hidden, layers, r = model.config.hidden_size, model.config.num_hidden_layers, 4
    total_before = sum(p.numel() for p in model.parameters())
    peft_model = lora.add_lora(model, r=r)
    trainable, _ = lora.trainable_parameters(peft_model)
    classifier = hidden * 2 + 2
    # query and value in every layer: A (r, hidden) + B (hidden, r); plus the new head
    assert trainable == layers * 2 * (r * hidden + hidden * r) + classifier
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


def test_tensor_bytes_counts_shared_storage_once():
    t = torch.zeros(10, 4)
    assert memory.tensor_bytes([t, t[2:], t.T, None]) == 10 * 4 * 4


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
