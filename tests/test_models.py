import re
import time
from pathlib import Path

import pytest

from sft_teach import models
from sft_teach.errors import ModelNotFoundError


def test_default_resolves_to_bundled_folder_without_network(monkeypatch, online):  # online: the check is reachable
    def no_network(*args, **kwargs):
        raise AssertionError("the default model must not touch the network")

    monkeypatch.setattr(models, "_hub_reachable", no_network)
    for name in ("default", "sentence-transformers/all-MiniLM-L6-v2", "DEFAULT"):
        path = Path(models.resolve_model(name))
        assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def test_local_folder_is_used_as_is(tiny_model_dir):
    assert models.resolve_model(str(tiny_model_dir)) == str(tiny_model_dir)


@pytest.mark.parametrize("name", ["./no-such-folder", "/no/such/folder", "a/b/c"])
def test_missing_folder_says_so(name):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        models.resolve_model(name)


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        models.resolve_model(str(tmp_path))


def test_hub_name_offline_fails_fast_with_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError) as info:
        models.resolve_model("bert-base-uncased")
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "\n" not in message and "--model default" in message and "bert-base-uncased" in message


def test_hub_name_unreachable_endpoint_fails_fast(monkeypatch, online):
    # Not flagged offline: the real reachability check runs against a closed local port.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match="cannot be reached"):
        models.resolve_model("distilroberta-base")
    assert time.perf_counter() - start < 5


def test_hub_name_passes_through_when_hub_answers(monkeypatch, online):
    monkeypatch.setattr(models, "_hub_reachable", lambda timeout=3.0: True)
    assert models.resolve_model("bert-base-uncased") == "bert-base-uncased"


def _hub_cache_copy(cache, name, files):
    """A model as the hub cache keeps it: refs/main names a snapshot folder that holds the files."""
    repo, commit = cache / f"models--{name.replace('/', '--')}", "0" * 40
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for file in files:
        (repo / "snapshots" / commit / file).write_text("{}")
    return repo / "snapshots" / commit


def test_a_cached_hub_model_is_used_offline_unless_its_download_stopped_short(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    whole = _hub_cache_copy(tmp_path, "owner/whole", ["config.json", "model.safetensors"])
    assert Path(models.resolve_model("owner/whole")).resolve() == whole.resolve()
    _hub_cache_copy(tmp_path, "owner/partial", ["tokenizer.json"])  # interrupted before config.json arrived
    with pytest.raises(ModelNotFoundError, match="'owner/partial' is not available offline"):
        models.resolve_model("owner/partial")


@pytest.mark.parametrize("endpoint, address", [
    (None, ("huggingface.co", 443)), ("https://hub.example.org", ("hub.example.org", 443)),
    ("http://mirror.example.org", ("mirror.example.org", 80)), ("http://10.0.0.5:8080", ("10.0.0.5", 8080)),
])
def test_the_hub_check_connects_to_the_endpoint_s_own_port(monkeypatch, endpoint, address):
    tried = []

    def refuse(where, timeout):
        tried.append(where)
        raise ConnectionRefusedError

    monkeypatch.setattr(models.socket, "create_connection", refuse)
    if endpoint is None:
        monkeypatch.delenv("HF_ENDPOINT", raising=False)
    else:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
    assert models._hub_reachable() is False and tried == [address]


def test_label_maps_round_trip():
    id2label, label2id = models.label_maps(["cat", "dog", "rabbit"])
    assert id2label == {0: "cat", 1: "dog", 2: "rabbit"}
    assert all(label2id[name] == i for i, name in id2label.items())
    # the order given, not sorted, both ways (a name that is a number becomes its text)
    assert models.label_maps(["dog", "cat", 3]) == ({0: "dog", 1: "cat", 2: "3"}, {"dog": 0, "cat": 1, "3": 2})


@pytest.mark.parametrize("labels, said", [
    ("catdog", "labels= takes a list of class names, e.g. ['cat', 'dog'], got the text 'catdog'"),
    (["cat"], "a classifier needs at least two class names in labels=, got ['cat']"),
    ([], "a classifier needs at least two class names in labels=, got []"),
    (["cat", "dog", "cat"], "class name 'cat' is given twice in labels=: give each class once"),
    (["cat", 1, "1"], "class name '1' is given twice in labels="),
])
def test_class_names_that_would_build_the_wrong_head_are_refused_before_loading(labels, said):
    """A text would be one class per letter, one name a regression head (MSE), a repeated name two outputs
    for one class: each refused in a line, before the model is loaded."""
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(said)):
        models.load_classifier("./no-such-folder", labels)  # refused before the name is even resolved


def test_load_classifier_adds_a_new_head_for_the_labels():
    model, tokenizer = models.load_classifier("default", ["cat", "dog"])
    assert model.config.id2label == {0: "cat", 1: "dog"}
    info = models.head_info(model)
    assert info["head_parameters"] == {"classifier.weight": (2, 384), "classifier.bias": (2,)}
    assert info["head"] == 2 * 384 + 2
    assert 22_000_000 < info["body"] < 23_000_000
    assert info["body"] + info["head"] == info["total"] == sum(p.numel() for p in model.parameters())
    assert tokenizer("a purring note")["input_ids"][0] == tokenizer.cls_token_id


def test_a_fine_tuned_classifier_keeps_its_head_for_its_own_classes_and_gets_a_new_one_for_others(tiny_model_dir):
    """Fine-tuning a saved classifier again on data of other classes ended in transformers' "You set
    `ignore_mismatched_sizes` to `False`" (another number of classes), or kept the old head under
    new names in silence (as many classes, other names or order): its rows meant other classes."""
    import warnings

    import torch
    from safetensors.torch import load_file

    from sft_teach.errors import SftTeachWarning

    saved = load_file(tiny_model_dir / "model.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SftTeachWarning)  # its own classes, in order: nothing to say
        same, _ = models.load_classifier(str(tiny_model_dir), ["cat", "dog"])
    assert all(torch.equal(p, saved[k]) for k, p in same.state_dict().items() if k in saved)  # training goes on from it
    for labels in (["bird", "cat", "dog"], ["dog", "cat"], ["spam", "ham"]):
        torch.manual_seed(1)  # not the saved model's seed, 0, whose draws would make its very head again
        with pytest.warns(SftTeachWarning, match=re.escape(
                f"{tiny_model_dir}: a classifier fine-tuned for the classes 'cat', 'dog'; the data's are "
                f"{', '.join(map(repr, labels))}: its body is kept and its head is new")):
            model, _ = models.load_classifier(str(tiny_model_dir), labels)
        state = model.state_dict()
        assert all(torch.equal(state[k], v) for k, v in saved.items() if k.startswith("bert."))  # the body kept
        assert model.classifier.weight.shape == (len(labels), 32) and model.config.id2label == dict(enumerate(labels))
        assert not torch.equal(state["classifier.weight"][:2], saved["classifier.weight"])
        # drawn as transformers draws a head it does not find: N(0, initializer_range), biases 0
        assert abs(float(state["classifier.weight"].std()) - model.config.initializer_range) < 0.01
        assert not state["classifier.bias"].any()


def test_layer_groups_cover_every_parameter_once(make_tiny_classifier):
    model = make_tiny_classifier()
    groups = models.layer_groups(model)
    assert list(groups) == ["embeddings", "layer.0", "layer.1", "head"]
    counted = sum(models.parameter_counts(model).values())
    assert counted == sum(p.numel() for p in model.parameters())


def test_layer_groups_read_a_distilbert_body_too():
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=3, n_heads=2, hidden_dim=32, num_labels=2)
    model = DistilBertForSequenceClassification(config)
    groups = models.layer_groups(model)
    assert list(groups) == ["embeddings", "layer.0", "layer.1", "layer.2", "head"]
    names = {id(p): name for name, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in groups["head"]) == [
        "classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight"]
    assert all(names[id(p)].startswith("distilbert.transformer.layer.1.") for p in groups["layer.1"])
    assert sum(len(params) for params in groups.values()) == len(names)


def test_freeze_keeps_only_named_groups_trainable(make_tiny_classifier):
    model = make_tiny_classifier()
    counts = models.parameter_counts(model)
    assert models.freeze(model, ["head"]) == counts["head"]
    assert not any(p.requires_grad for p in model.bert.embeddings.parameters())
    assert models.freeze(model, ["head", "layer.1"]) == counts["head"] + counts["layer.1"]
    with pytest.raises(ValueError, match="unknown layer group"):
        models.freeze(model, ["layer.9"])


@pytest.mark.parametrize("name, path", [
    ("bert-base-uncased", False), ("SetFit/sst2", False), ("owner/name/", False),
    ("./mine", True), ("/abs/model", True), ("~/models/x", True), ("a/b/c", True), ("runs/out/model/", True),
])
def test_one_rule_tells_a_local_path_from_a_hub_name(name, path):
    from sft_teach.models import looks_like_path

    assert looks_like_path(name) is path


def test_the_bundled_checkpoints_pooler_shows_no_sign_of_training():
    """What notebook 03 and ``explain("head")`` say of it: every bias exactly 0, weights smaller
    than any weight matrix of the blocks (the sentence encoder was trained through mean pooling)."""
    from safetensors.torch import load_file

    weights = load_file(str(Path(models.resolve_model("default")) / "model.safetensors"))
    assert bool((weights["pooler.dense.bias"] == 0).all())
    blocks = [value.std() for name, value in weights.items() if name.startswith("encoder.") and value.dim() == 2]
    assert weights["pooler.dense.weight"].std() < min(blocks)


def test_the_pair_load_classifier_returns_or_swapped_arguments_get_one_clear_line(tiny_model_dir, small_dataset):
    """Passing load_classifier's (model, tokenizer) pair where the model goes, or the two the wrong
    way round, is said in one line naming the function, not an AttributeError from inside."""
    from sft_teach import lora
    from sft_teach.errors import ConfigError
    from sft_teach.inference import evaluate, label_names, predict, predict_proba
    from sft_teach.training import finetune

    pair = models.load_classifier(str(tiny_model_dir), ["cat", "dog"])
    model, tokenizer = pair
    unpack = r"got a pair \(BertForSequenceClassification, \w+Tokenizer\w*\), as load_classifier returns: unpack"
    calls = {"predict_proba": lambda m, t: predict_proba(m, t, ["Purred."]),
             "predict": lambda m, t: predict(m, t, ["Purred."]),
             "evaluate": lambda m, t: evaluate(m, t, small_dataset["test"]),
             "finetune": lambda m, t: finetune(m, small_dataset, tokenizer=t, progress=False)}
    for name, call in calls.items():
        with pytest.raises(ConfigError, match=rf"^{name}: {unpack}"):
            call(pair, tokenizer)
        with pytest.raises(ConfigError, match=rf"^{name}: model must be a transformers model, got \w+: a tokenizer"):
            call(tokenizer, model)
        if name != "finetune":  # finetune without a tokenizer: "pass tokenizer= together with a model object"
            with pytest.raises(ConfigError, match=rf"^{name}: tokenizer must be the model's tokenizer .* got NoneType$"):
                call(model, None)
    with pytest.raises(ConfigError, match=r"^finetune: tokenizer must be .* got BertForSequenceClassification: a model"):
        finetune(model, small_dataset, tokenizer=model)
    with pytest.raises(ConfigError, match=r"^finetune: pass tokenizer= together with a model object: model, tokenizer ="):
        finetune(model, small_dataset)
    for name, call in {"label_names": label_names, "freeze": models.freeze, "add_lora": lora.add_lora}.items():
        with pytest.raises(ConfigError, match=rf"^{name}: {unpack}"):
            call(pair)
    assert label_names(model) == ["cat", "dog"] and predict(model, tokenizer, "Purred.")[0]["label"] in {"cat", "dog"}


def test_a_mistyped_local_path_that_reads_as_a_hub_name_is_said_as_a_path(monkeypatch, tmp_path):
    """run1/modle, where run1/ exists: a typo in a path, not a hub model 'modle' of an owner 'run1'."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run1" / "model").mkdir(parents=True)
    (tmp_path / "run1" / "model" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError) as info:
        models.resolve_model("run1/modle")
    assert str(info.value).startswith("model folder 'run1/modle' does not exist (nor, offline, a hub model of "
                                      "that name): did you mean 'run1/model'?; for a hub model, use the bundled")
    (tmp_path / "run1" / "other").mkdir()
    (tmp_path / "run1" / "other" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="run1/ holds 'run1/model', 'run1/other'; for a hub model, "):
        models.resolve_model("run1/modle")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="'empty/x' does not exist .*: check the path; for a hub model, "):
        models.resolve_model("empty/x")
    with pytest.raises(ModelNotFoundError, match="hub model 'owner/x' is not available offline"):
        models.resolve_model("owner/x")  # no folder 'owner' here: a hub name
