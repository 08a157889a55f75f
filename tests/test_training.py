import hashlib
import json
import re
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import ClassLabel

from sft_teach import data
from sft_teach.errors import ConfigError
from sft_teach.head_first import head_parameters, train_head
from sft_teach.inference import evaluate, load_finetuned, predict, predict_proba
from sft_teach.setting_checks import check_head_epochs, check_settings
from sft_teach.training import finetune
from support import write_csv


@pytest.mark.slow
def test_finetune_returns_metrics_history_and_a_reloadable_model(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    result = finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=2,
                      batch_size=4, output_dir=tmp_path, progress=False, logging_steps=1)
    assert set(result.metrics) >= {"accuracy", "macro_f1", "loss", "train_seconds", "train_steps"}
    steps = 2 * math.ceil(len(small_dataset["train"]) / 4)  # two epochs of batches of 4
    assert result.metrics["train_steps"] == steps
    assert [row["epoch"] for row in result.history["eval"]] == [1.0, 2.0]
    assert len(result.history["train"]) == steps and all("learning_rate" in r for r in result.history["train"])
    assert len(result.predictions) == len(small_dataset["test"])

    folder = result.model_dir
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
    assert json.loads((folder / "config.json").read_text())["id2label"] == {"0": "cat", "1": "dog"}
    assert not (tmp_path / "checkpoints").exists() or not any((tmp_path / "checkpoints").iterdir())

    model, tok = load_finetuned(folder)
    rows = predict(model, tok, ["A sunny windowsill nap.", "Long walk in the rain."])
    assert {r["label"] for r in rows} <= {"cat", "dog"} and all(0.5 <= r["score"] <= 1 for r in rows)
    # the reloaded model is the trained one: the same weights, the same probabilities, the same test score
    trained = result.trainer.model.state_dict()
    assert all(torch.equal(value, trained[name]) for name, value in model.state_dict().items())
    texts = small_dataset["test"]["text"]
    np.testing.assert_allclose(predict_proba(model, tok, texts), predict_proba(result.trainer.model, tokenizer, texts),
                               atol=1e-6)
    assert evaluate(model, tok, small_dataset["test"])["accuracy"] == pytest.approx(result.metrics["accuracy"])
    # its loss is the mean cross-entropy of each text's true class, here from the model's logits
    with torch.no_grad():
        logits = model.eval()(**tok(list(texts), padding=True, return_tensors="pt")).logits
    truth = torch.tensor(small_dataset["test"]["label"])
    assert result.metrics["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, truth).item(), abs=1e-5)


@pytest.mark.slow
def test_finetune_equals_a_plain_trainer_run(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    """Oracle: the package's recipe is Trainer with documented arguments, nothing hidden."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    ours = finetune(make_tiny_classifier(seed=1), small_dataset, tokenizer=tokenizer, num_train_epochs=2,
                    learning_rate=1e-3, batch_size=4, seed=7, progress=False, save=False)

    model = make_tiny_classifier(seed=1)
    encoded = small_dataset.map(lambda b: tokenizer(b["text"], truncation=True, max_length=128), batched=True,
                                remove_columns=["text"]).rename_column("label", "labels")
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=2, learning_rate=1e-3,
                             per_device_train_batch_size=4, per_device_eval_batch_size=64, warmup_steps=0.1,
                             weight_decay=0.01, eval_strategy="epoch", save_strategy="no", logging_steps=5,
                             train_sampling_strategy="group_by_length", seed=7, data_seed=7, report_to="none",
                             disable_tqdm=True)
    Trainer(model=model, args=args, train_dataset=encoded["train"], eval_dataset=encoded["validation"],
            processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer)).train()

    trained = ours.trainer.model.state_dict()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(trained[name], value, msg=name)


def test_the_shared_settings_show_a_progress_bar_only_on_request_and_decay_weights_by_default(tmp_path):
    from sft_teach.trainer_arguments import training_arguments

    assert training_arguments(tmp_path, progress=False).disable_tqdm and not training_arguments(tmp_path).disable_tqdm
    assert training_arguments(tmp_path).weight_decay == 0.01  # the record's and the card's default


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(num_train_epochs=0), "epochs (--epochs, num_train_epochs=) must be a finite number greater than 0"),
        (dict(num_train_epochs="three"), "epochs (--epochs, num_train_epochs=) must be a number"),
        (dict(learning_rate=-1e-5), "learning rate (--lr, learning_rate=) must be a finite number greater than 0"),
        (dict(learning_rate=5), "far too large"),
        (dict(batch_size=0), "batch size (--batch-size, batch_size=) must be a whole number"),
        (dict(batch_size=2.5), "batch size (--batch-size, batch_size=) must be a whole number"),
        (dict(max_length=1), "max length (--max-length, max_length=) must be a whole number"),
        (dict(warmup=1.5), "warmup is a fraction"),
        # transformers reads warmup_steps=1 as one step, not all of them: a whole run of warmup is no fraction
        (dict(warmup=1), "warmup is a fraction of the training steps in [0, 1), got 1: try 0.1"),
        (dict(warmup="a tenth"), "warmup (warmup=) must be a number, got 'a tenth': e.g. 0.1"),
        # True is no number (Python reads it as 1: a rate of 1.0, a batch of 1), and from Python a
        # number in quotes is a mistake; the command line's values are text (text=True)
        (dict(learning_rate=True), "learning rate (--lr, learning_rate=) must be a number, got True: e.g. 1e-4"),
        (dict(batch_size=True), "batch size (--batch-size, batch_size=) must be a number, got True"),
        (dict(learning_rate="1e-4"), "must be a number, got '1e-4': e.g. 1e-4 (a number, without quotes)"),
        (dict(batch_size="16"), "batch size (--batch-size, batch_size=) must be a number, got '16'"),
    ],
)
def test_settings_that_make_no_sense_are_refused(settings, message):
    values = dict(num_train_epochs=3, learning_rate=5e-5, batch_size=16, max_length=128) | settings
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_settings(**values)
    if "max_length" not in settings:  # a caller that cuts no text leaves max_length out: the rest still holds
        with pytest.raises(ConfigError, match=re.escape(message)):
            check_settings(**(values | {"max_length": None}))


def test_settings_without_a_max_length_are_returned_with_none():
    assert check_settings(3, 1e-4, 16, None) == (3.0, 1e-4, 16, None)
    assert check_settings(3, 1e-4, 16, 128) == (3.0, 1e-4, 16, 128)


def test_finetune_checks_settings_before_loading_anything(monkeypatch):
    monkeypatch.setattr(data, "load_with_report", lambda *a, **k: pytest.fail("data loaded before settings were checked"))
    with pytest.raises(ConfigError):
        finetune("default", "pets", num_train_epochs=-1)


@pytest.mark.parametrize("keywords, message", [
    (dict(seed="abc"), "seed= must be a whole number of at least 0, got 'abc': e.g. 42"),
    (dict(split_seed=-1), "split_seed= must be a whole number of at least 0, got -1"),
    (dict(weight_decay=float("nan")), "weight decay must be a finite number, 0 or more, got nan"),  # weights all nan
    (dict(batch_size=float("inf")), "batch size (--batch-size, batch_size=) must be a whole number of at least 1, got inf"),
    (dict(recipe="best"), "finetune has no setting recipe=: pass the recipe's settings, finetune(..., **RECIPES['best'])"),
])
def test_python_only_mistakes_are_one_line_before_any_work(keywords, message, monkeypatch):
    monkeypatch.setattr(data, "load_with_report", lambda *a, **k: pytest.fail("data loaded before settings were checked"))
    with pytest.raises(ConfigError, match=re.escape(message)):
        finetune("default", "pets", **keywords)


def test_a_missing_text_is_named_not_a_type_error_from_the_tokenizer(make_tiny_classifier, tokenizer):
    from sft_teach.errors import DataError
    from sft_teach.inference import predict_proba

    with pytest.raises(DataError, match=r"text 1 \(0-based\) is nan \(float\), not a string: .*dropna"):
        predict_proba(make_tiny_classifier(), tokenizer, ["a cat", float("nan")])
    from sft_teach.inference import predict

    for call in (predict, predict_proba):  # no texts at all: said, not "'NoneType' object is not iterable"
        with pytest.raises(ConfigError, match=re.escape("texts takes a text or a list of texts, got NoneType None")):
            call(make_tiny_classifier(), tokenizer, None)
    # str() of a missing value is a text ('None') the model would classify: the fix is to leave it out
    for missing in (None, __import__("pandas").NA):
        with pytest.raises(DataError, match=r"text 1 \(0-based\) is .* not a string: every text must be one; this is a "
                                            r"missing value: leave those rows out first"):
            predict_proba(make_tiny_classifier(), tokenizer, ["a cat", missing])


def test_a_table_is_refused_not_classified_by_its_column_names(make_tiny_classifier, tokenizer):
    """A DataFrame iterates over its column names, a dict over its keys, a Dataset over its rows:
    predict classified the words 'text' and 'label' before."""
    import pandas as pd
    from datasets import Dataset, DatasetDict

    from sft_teach.inference import predict, predict_proba

    frame = pd.DataFrame({"review": ["Purred all night."], "label": ["cat"]})
    for table, said in ((frame, "got a DataFrame: pass its column of texts, e.g. df['review']"),
                        (frame.rename(columns={"review": "text"}), "e.g. df['text']"),
                        ({"text": ["Purred."]}, "got a dict: pass its column of texts, e.g. data['text']"),
                        (Dataset.from_pandas(frame), "got a Dataset: pass its column of texts, e.g. dataset['review']"),
                        (DatasetDict(test=Dataset.from_pandas(frame)), "e.g. dataset['test']['text']")):
        for call in (predict, predict_proba):
            with pytest.raises(ConfigError, match=re.escape(said)):
                call(make_tiny_classifier(), tokenizer, table)
    assert len(predict(make_tiny_classifier(), tokenizer, frame["review"])) == 1  # a column is texts


def test_evaluate_names_rows_without_a_text_and_says_empty_texts(tiny_model_dir):
    from datasets import Dataset

    from sft_teach.errors import DataError, SftTeachWarning
    from sft_teach.inference import evaluate

    model, tokenizer = load_finetuned(tiny_model_dir)
    with pytest.raises(DataError, match=re.escape("evaluate: the text column: row 1 (0-based) has no text (None): "
                                                  "leave those rows out first")):
        evaluate(model, tokenizer, Dataset.from_dict({"text": ["Purred.", None], "label": ["cat", "dog"]}))
    # a row skip_unknown leaves out is not scored, so its text is not asked for
    kept = evaluate(model, tokenizer, Dataset.from_dict({"text": ["Purred.", None, "Barked."], "label": ["cat", "bird", "dog"]}),
                    skip_unknown=True)
    assert kept["n"] == 2 and kept["skipped"] == {"bird": 1}
    with pytest.raises(DataError, match=re.escape("evaluate: the text column: row 2 (0-based) has no text (None)")):
        evaluate(model, tokenizer, Dataset.from_dict({"text": ["Purred.", "Sang.", None], "label": ["cat", "bird", "dog"]}),
                 skip_unknown=True)
    with pytest.raises(DataError, match=re.escape("rows 0, 1 (0-based) hold 645 (int), not a string")):
        evaluate(model, tokenizer, Dataset.from_dict({"text": [645, 646], "label": ["cat", "dog"]}))
    blanks = Dataset.from_dict({"text": ["", " ", "The cat purred on my lap all evening."], "label": ["cat", "dog", "cat"]})
    with pytest.warns(SftTeachWarning) as said:
        evaluate(model, tokenizer, blanks)
    messages = [str(w.message) for w in said]
    assert ("evaluate: 2 of the 3 texts scored are empty: the model answers a class for nothing to read, and they "
            "count in the score: leave them out") in messages
    assert not any("more than once" in m for m in messages)  # two blanks are not a repeated text


def test_predictions_are_made_without_dropout(make_tiny_classifier, tokenizer):
    # Trainer leaves a model in train mode when nothing evaluated it last; predictions must not
    # depend on dropout's random masks, and the model's mode is given back as it was.
    from sft_teach.inference import predict_proba

    model = make_tiny_classifier()
    for layer in model.modules():  # strong dropout everywhere (the config's value is read only when building)
        if isinstance(layer, torch.nn.Dropout):
            layer.p = 0.5
    texts = ["a cat on the mat", "the dog at the door", "fish in a bowl"]
    model.eval()
    expected = predict_proba(model, tokenizer, texts)
    model.train()
    with torch.no_grad():  # the masks do change a forward pass in train mode, so the check below has teeth
        noisy = torch.softmax(model(**tokenizer(texts, padding=True, return_tensors="pt")).logits, dim=-1)
    assert not np.allclose(noisy.numpy(), expected, atol=1e-3)
    first, second = predict_proba(model, tokenizer, texts), predict_proba(model, tokenizer, texts)
    assert model.training
    np.testing.assert_allclose(first, expected, atol=1e-6)
    np.testing.assert_allclose(second, expected, atol=1e-6)
    model.bert.embeddings.eval()  # a caller's own mix of modes is kept, module by module
    predict_proba(model, tokenizer, texts)
    assert not model.bert.embeddings.training and model.bert.encoder.training and model.classifier.training


def test_train_head_changes_only_the_head_and_restores_what_was_trainable(make_tiny_classifier, tokenizer,
                                                                          small_dataset, tmp_path):
    model = make_tiny_classifier()
    model.bert.embeddings.word_embeddings.weight.requires_grad = False  # a caller's own choice, kept
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable = {n: p.requires_grad for n, p in model.named_parameters()}
    head = {id(p) for p in head_parameters(model)}
    assert {n for n, p in model.named_parameters() if id(p) in head} == {
        "bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}

    out = train_head(model, data.tokenize(small_dataset, tokenizer), tokenizer, tmp_path, num_train_epochs=2,
                     batch_size=4, progress=False)
    assert out["steps"] == 2 * math.ceil(len(small_dataset["train"]) / 4)
    for name, p in model.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == (id(p) in head), name  # the head learned; the body did not move at all
    assert {n: p.requires_grad for n, p in model.named_parameters()} == trainable


@pytest.mark.slow
def test_a_run_shorter_than_one_logging_interval_still_logs_its_loss(make_tiny_classifier, tokenizer,
                                                                    small_dataset, tmp_path):
    """Oracle: a run of fewer steps than ``logging_steps`` records one training-loss row, at its last
    step, the mean of the per-step losses that the same run logged step by step records."""
    def run(logging_steps):
        return finetune(make_tiny_classifier(seed=2), small_dataset, tokenizer=tokenizer, num_train_epochs=1,
                        batch_size=4, seed=3, progress=False, save=False, head_epochs=1,
                        logging_steps=logging_steps, output_dir=tmp_path / str(logging_steps))

    steps = math.ceil(len(small_dataset["train"]) / 4)
    every, once = run(1), run(steps + 1)
    for phase in ("head", "train"):
        assert len(every.history[phase]) == steps
        [row] = once.history[phase]
        assert row["step"] == steps
        assert row["loss"] == pytest.approx(np.mean([r["loss"] for r in every.history[phase]]), abs=1e-3)


@pytest.mark.slow
def test_finetune_with_head_epochs_is_train_head_then_the_plain_recipe(make_tiny_classifier, tokenizer,
                                                                       small_dataset, tmp_path):
    """Oracle: LP-FT in ``finetune`` is exactly its two phases run by hand, one after the other."""
    ours = finetune(make_tiny_classifier(seed=1), small_dataset, tokenizer=tokenizer, num_train_epochs=2,
                    learning_rate=1e-3, batch_size=4, seed=7, progress=False, save=False,
                    head_epochs=2, head_learning_rate=5e-3, output_dir=tmp_path / "ours")
    assert not (tmp_path / "ours" / "head").exists()  # the head phase leaves nothing behind

    model = make_tiny_classifier(seed=1)
    train_head(model, data.tokenize(small_dataset, tokenizer), tokenizer, tmp_path / "head", num_train_epochs=2,
               learning_rate=5e-3, batch_size=4, seed=7, progress=False)
    by_hand = finetune(model, small_dataset, tokenizer=tokenizer, num_train_epochs=2, learning_rate=1e-3,
                       batch_size=4, seed=7, progress=False, save=False)
    trained = ours.trainer.model.state_dict()
    for name, value in by_hand.trainer.model.state_dict().items():
        torch.testing.assert_close(trained[name], value, msg=name)
    steps = 2 * math.ceil(len(small_dataset["train"]) / 4)
    assert ours.metrics["head_steps"] == steps and len(ours.history["head"]) == steps // 5  # logged every 5 steps
    assert "head_steps" not in by_hand.metrics and "head" not in by_hand.history
    # and the head phase did matter: without it the same run ends elsewhere
    plain = finetune(make_tiny_classifier(seed=1), small_dataset, tokenizer=tokenizer, num_train_epochs=2,
                     learning_rate=1e-3, batch_size=4, seed=7, progress=False, save=False)
    assert not torch.equal(plain.trainer.model.classifier.weight, ours.trainer.model.classifier.weight)


@pytest.mark.parametrize("value, message", [(-1, "0 \\(no head-only phase\\) or more"), ("x", "must be a number"),
                                            (float("nan"), "or more")])
def test_head_epochs_that_make_no_sense_are_refused(value, message):
    with pytest.raises(ConfigError, match=message):
        check_head_epochs(value, text=True)
    assert check_head_epochs("0", text=True) == 0 and check_head_epochs(3) == 3
    for not_a_number in (True, "3"):  # from Python
        with pytest.raises(ConfigError, match=f"must be a number, got {not_a_number!r}"):
            check_head_epochs(not_a_number)


def test_the_command_line_s_numbers_are_text():
    assert check_settings("3", "1e-4", "16", "128", text=True) == (3.0, 1e-4, 16, 128)
    with pytest.raises(ConfigError, match="got True"):
        check_settings(3, 1e-4, 16, True, text=True)


@pytest.mark.slow
def test_train_head_equals_notebook_02s_head_on_stored_features(make_tiny_classifier, tokenizer, small_dataset,
                                                                  tmp_path):
    """Oracle for notebook 02, section 8: features stored by hand, a head module fed them, Trainer."""
    from datasets import Dataset
    from transformers import PrinterCallback, Trainer

    from sft_teach.trainer_arguments import training_arguments

    encoded = data.tokenize(small_dataset, tokenizer)
    collate = data.collator(tokenizer)
    by_hand = make_tiny_classifier(seed=3)
    by_hand.eval()
    inputs = encoded["train"].remove_columns("labels")
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]["input_ids"]))
    with torch.no_grad():
        by_length = torch.cat([by_hand.bert(**collate([inputs[i] for i in order[start:start + 64]])).last_hidden_state[:, 0]
                               for start in range(0, len(order), 64)])
    features = torch.empty_like(by_length)
    features[order] = by_length

    class HeadOnFeatures(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.pooler, self.dropout, self.classifier = model.bert.pooler, model.dropout, model.classifier

        def forward(self, features, labels=None):
            logits = self.classifier(self.dropout(self.pooler(features[:, None, :])))
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    stored = Dataset.from_dict({"features": features.numpy(), "labels": encoded["train"]["labels"]}).with_format("torch")
    args = training_arguments(tmp_path / "hand", num_train_epochs=3, learning_rate=1e-3, batch_size=4, seed=42,
                              eval_strategy="no", progress=False, train_sampling_strategy="random")
    trainer = Trainer(model=HeadOnFeatures(by_hand), args=args, train_dataset=stored)
    trainer.remove_callback(PrinterCallback)
    trainer.train()

    ours = make_tiny_classifier(seed=3)
    out = train_head(ours, encoded, tokenizer, tmp_path / "ours", num_train_epochs=3, learning_rate=1e-3, batch_size=4,
                     seed=42, progress=False)
    assert out["steps"] == trainer.state.global_step == 3 * math.ceil(len(inputs) / 4)
    mine = dict(ours.named_parameters())
    for name, p in by_hand.named_parameters():
        assert torch.equal(p, mine[name]), name


def test_the_head_of_another_architecture_is_what_lies_outside_its_body():
    from transformers import GPT2Config, GPT2ForSequenceClassification

    model = GPT2ForSequenceClassification(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50, num_labels=2))
    assert [n for n, p in model.named_parameters() if any(p is h for h in head_parameters(model))] == ["score.weight"]


def test_first_token_features_are_each_texts_own_cls_vector(make_tiny_classifier, tokenizer, small_dataset):
    """Oracle: padding a batch changes nothing; each row is the body's [CLS] output for its text alone."""
    from sft_teach.head_first import first_token_features

    model = make_tiny_classifier()
    model.train()
    split = data.tokenize(small_dataset["train"], tokenizer)
    model.bert.embeddings.eval()  # a caller's own mix of modes: put back module by module
    features = first_token_features(model, split, tokenizer, batch_size=5)
    assert features.shape == (len(split), model.config.hidden_size) and model.training  # its mode is put back
    assert not model.bert.embeddings.training and model.bert.encoder.training
    model.eval()
    with torch.no_grad():
        for i in range(len(split)):
            alone = model.bert(input_ids=torch.tensor([split[i]["input_ids"]])).last_hidden_state[0, 0]
            torch.testing.assert_close(features[i], alone, rtol=1e-5, atol=1e-5)


def test_the_head_alone_refuses_what_is_not_a_model_and_its_tokenised_splits(make_tiny_classifier, tokenizer,
                                                                             small_dataset, tmp_path):
    """Each was a KeyError, an AttributeError or a tokenizer's message from inside, or a silent run."""
    from sft_teach.head_first import first_token_features

    model, encoded = make_tiny_classifier(), data.tokenize(small_dataset, tokenizer)
    for split, said in ((encoded, "one tokenised split, e.g. encoded\\['train'\\], got a DatasetDict"),
                        (small_dataset["train"], "no input_ids column .*tokenise it first"),
                        (encoded["train"].select([]), "no rows")):
        with pytest.raises(ConfigError, match=f"first_token_features.*{said}"):
            first_token_features(model, split, tokenizer)
    with pytest.raises(ConfigError, match="got a pair"):
        first_token_features((model, tokenizer), encoded["train"], tokenizer)
    with pytest.raises(ConfigError, match="batch_size= must be a whole number of at least 1, got 0"):
        first_token_features(model, encoded["train"], tokenizer, batch_size=0)
    for splits, settings, said in ((encoded["train"], {}, "a DatasetDict with 'train'.*got Dataset"),
                                   (small_dataset, {}, "no input_ids or labels column"),
                                   # 0 epochs trained nothing and logged a loss of 0 at step 0
                                   (encoded, {"num_train_epochs": 0}, "above 0, got 0 and 0.001"),
                                   (encoded, {"learning_rate": -1}, "above 0, got 3 and -1")):
        with pytest.raises(ConfigError, match=f"train_head.*{said}"):
            train_head(model, splits, tokenizer, tmp_path / "head", progress=False, **settings)
    assert not (tmp_path / "head").exists()  # refused before any work


def test_the_head_on_stored_features_gives_the_models_own_logits(make_tiny_classifier, tokenizer, small_dataset):
    """Oracle: BERT's head fed the stored features is the whole model, in eval mode, run on the texts."""
    from sft_teach.head_first import _head_on_features, first_token_features, has_bert_head

    model = make_tiny_classifier(labels=("cat", "dog", "fish"))
    assert has_bert_head(model)
    split = data.tokenize(small_dataset["train"], tokenizer)
    head = _head_on_features(model)
    model.eval()
    with torch.no_grad():
        stored = head(first_token_features(model, split, tokenizer))["logits"]
        whole = model(**data.collator(tokenizer)(list(split.remove_columns("labels")))).logits
    assert stored.shape == (len(split), 3)
    torch.testing.assert_close(stored, whole, rtol=1e-5, atol=1e-5)


def test_train_head_puts_back_the_models_mode(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    model = make_tiny_classifier()
    model.eval()
    train_head(model, data.tokenize(small_dataset, tokenizer), tokenizer, tmp_path, num_train_epochs=1, batch_size=4,
               progress=False)
    assert not any(module.training for module in model.modules())  # the shared head too


def test_only_a_single_label_bert_classifier_trains_its_head_on_stored_features(make_tiny_classifier):
    from sft_teach.head_first import has_bert_head

    assert has_bert_head(make_tiny_classifier())
    regression = make_tiny_classifier(labels=("score",))  # one output: BERT's loss is then MSE
    assert not has_bert_head(regression)
    several = make_tiny_classifier()
    several.config.problem_type = "multi_label_classification"  # BERT's loss is then BCE
    assert not has_bert_head(several)


@pytest.mark.slow
def test_a_head_that_is_not_berts_trains_through_the_frozen_body(tokenizer, small_dataset, tmp_path):
    """DistilBERT's head (pre_classifier, classifier) has no pooler: it trains on the body's live output."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from sft_teach.head_first import has_bert_head

    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(DistilBertConfig(
        vocab_size=tokenizer.vocab_size, dim=32, n_layers=1, n_heads=2, hidden_dim=64, max_position_embeddings=128))
    assert not has_bert_head(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    encoded = data.tokenize(small_dataset, tokenizer).remove_columns("token_type_ids")
    out = train_head(model, encoded, tokenizer, tmp_path, num_train_epochs=1, batch_size=4, progress=False)
    assert out["steps"] == math.ceil(len(small_dataset["train"]) / 4)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {"pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"}


def test_save_model_replaces_only_a_saved_model(make_tiny_classifier, tokenizer, tmp_path):
    """Saving replaces the folder whole (atomically), so a folder holding anything but a saved model
    is refused untouched, as is a file; a new, empty or earlier model folder is written."""
    from types import SimpleNamespace

    from sft_teach.errors import OutputExistsError
    from sft_teach.model_folder import save_model

    trainer = SimpleNamespace(model=make_tiny_classifier(), processing_class=tokenizer)
    project = tmp_path / "my_models"
    (project / "other_project").mkdir(parents=True)
    (project / "other_project" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=re.escape(
            f"'{project}' holds files that are not a saved model (other_project), and saving replaces the folder "
            f"whole: choose a folder of its own, e.g. '{project / 'model'}'")):
        save_model(trainer, project)
    assert (project / "other_project" / "notes.txt").read_text() == "mine"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputExistsError, match="is a file: save the model into a folder"):
        save_model(trainer, tmp_path / "a-file")
    (tmp_path / "empty").mkdir()
    for target in (project / "model", project / "model", tmp_path / "empty"):  # new, then replaced; empty
        assert (save_model(trainer, target) / "config.json").is_file()
    assert sorted(p.name for p in project.iterdir()) == ["model", "other_project"]
    (project / "config.json").write_text("{}")  # a model's file, but beside folders of the user's: refused too
    with pytest.raises(OutputExistsError, match=re.escape("not a saved model (config.json, model, other_project)")):
        save_model(trainer, project)
    assert (project / "other_project" / "notes.txt").read_text() == "mine"


def test_save_model_writes_beside_the_target_and_renames_it_into_place(make_tiny_classifier, tokenizer, tmp_path,
                                                                       monkeypatch):
    """The rename that makes saving atomic works only within one file system: the folder is written
    beside its target (not in the system's temporary folder, often another file system) and nothing else is left."""
    from types import SimpleNamespace

    from sft_teach.model_folder import save_model

    renamed, rename = [], Path.rename
    monkeypatch.setattr(Path, "rename", lambda self, to: renamed.append((self, Path(to))) or rename(self, to))
    target = tmp_path / "runs" / "model"
    save_model(SimpleNamespace(model=make_tiny_classifier(), processing_class=tokenizer), target)
    [(written, to)] = renamed
    assert to == target and written.parent == target.parent and written.name.startswith(".model-partial-")
    assert [p.name for p in target.parent.iterdir()] == ["model"]


@pytest.mark.slow
def test_the_saved_tokenizer_does_not_depend_on_its_last_call(make_tiny_classifier, tokenizer, tmp_path):
    """A fast tokenizer keeps the truncation and padding of its last call; the saved tokenizer.json
    must not (the command line and Python saved different files for the same run)."""
    from types import SimpleNamespace

    from sft_teach.model_folder import save_model

    trainer = SimpleNamespace(model=make_tiny_classifier(), processing_class=tokenizer)
    tokenizer(["a cat"], truncation=True, max_length=8, padding="max_length")
    cut = save_model(trainer, tmp_path / "after-a-cut", max_length=32)
    tokenizer(["a cat"])
    plain = save_model(trainer, tmp_path / "after-a-plain-call", max_length=32)
    spec = json.loads((cut / "tokenizer.json").read_text())
    assert spec["truncation"] is None and spec["padding"] is None
    assert (cut / "tokenizer.json").read_bytes() == (plain / "tokenizer.json").read_bytes()
    tokenizer(["a cat"], truncation=True, max_length=8)  # a cut without padding is left out too
    only_cut = save_model(trainer, tmp_path / "after-a-cut-alone", max_length=32)
    assert (only_cut / "tokenizer.json").read_bytes() == (plain / "tokenizer.json").read_bytes()
    # nor how it was loaded or last called: only model_max_length says where texts are cut
    config = json.loads((cut / "tokenizer_config.json").read_text())
    assert config["model_max_length"] == 32 and not {"max_length", "stride", "local_files_only", "is_local"} & set(config)
    assert (cut / "tokenizer_config.json").read_bytes() == (plain / "tokenizer_config.json").read_bytes()


def test_the_saved_folder_cuts_texts_where_training_did(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    """A 2,000-token text predicts through predict, evaluate and a plain pipeline(truncation=True)."""
    from datasets import Dataset
    from transformers import pipeline

    result = finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1,
                      batch_size=4, max_length=32, output_dir=tmp_path, progress=False)
    saved = json.loads((result.model_dir / "tokenizer_config.json").read_text())
    assert saved["model_max_length"] == 32
    assert tokenizer.model_max_length == 512  # the caller's tokenizer object is left as it was
    saved_test = data.load(str(tmp_path / "splits"))["test"]  # the data as split, beside the model
    assert saved_test["text"] == small_dataset["test"]["text"] and saved_test["label"] == small_dataset["test"]["label"]

    model, tok = load_finetuned(result.model_dir)
    from sft_teach.inference import max_length_of, predict_proba

    assert max_length_of(model, tok) == 32  # the saved training length, not the model's 128 positions
    long_text = " ".join(["The cat slept on the warm windowsill all afternoon."] * 200)
    assert len(tok(long_text)["input_ids"]) > 2000
    # cut at 32 by default, and where the caller says otherwise
    at_32 = predict_proba(model, tok, [long_text])
    assert np.allclose(at_32, predict_proba(model, tok, [long_text], max_length=32))
    assert not np.allclose(at_32, predict_proba(model, tok, [long_text], max_length=8), atol=1e-6)
    assert predict(model, tok, [long_text])[0]["label"] in {"cat", "dog"}
    long_test = Dataset.from_dict({"text": [long_text, "A walk."], "label": [0, 1]},
                                   features=small_dataset["test"].features)
    names = long_test.features["label"].names
    answers = [row["label"] for row in predict(model, tok, long_test["text"])]
    right = [answer == names[label] for answer, label in zip(answers, long_test["label"])]
    assert evaluate(model, tok, long_test)["accuracy"] == pytest.approx(sum(right) / len(right))
    classify = pipeline("text-classification", model=str(result.model_dir), truncation=True, device="cpu")
    assert classify(long_text)[0]["label"] == answers[0]  # the same cut, so the same answer
    # without truncation the text is longer than the model's positions
    with pytest.raises(RuntimeError, match=r"size of tensor a \(\d+\) must match"):
        pipeline("text-classification", model=str(result.model_dir), device="cpu")(long_text)


@pytest.mark.slow
def test_best_epoch_keeps_the_epoch_with_the_best_validation_macro_f1(make_tiny_classifier, tokenizer,
                                                                       small_dataset, tmp_path):
    from sft_teach.inference import predict_proba
    from sft_teach.metrics import scores

    from transformers import TrainerCallback

    weights = {}  # epoch -> the weights validation scored at that epoch

    class Record(TrainerCallback):
        def on_evaluate(self, args, state, control, model=None, **kwargs):
            weights[round(state.epoch)] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    result = finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=4, batch_size=4,
                      learning_rate=3e-3, output_dir=tmp_path, progress=False, best_epoch=True, callbacks=[Record()])
    curve = [row["eval_macro_f1"] for row in result.history["eval"]]
    assert len(curve) == 4 and result.metrics["epochs_run"] == 4
    best = result.metrics["best_epoch"]
    assert best == 1 + curve.index(max(curve))  # the first of the best
    # oracle: the returned weights are those of the best epoch, not the last (training moved them in between)
    kept = result.trainer.model.state_dict()
    assert all(torch.equal(kept[name], value) for name, value in weights[best].items())
    assert best != 4 and not all(torch.equal(kept[name], value) for name, value in weights[4].items())
    # oracle: the returned model scores the validation split as well as the best epoch did
    validation = small_dataset["validation"]
    probs = predict_proba(result.trainer.model, tokenizer, validation["text"])
    assert scores(np.asarray(validation["label"]), probs.argmax(-1))["macro_f1"] == pytest.approx(max(curve))
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow
def test_patience_stops_when_validation_stops_improving(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    # a learning rate too small to change any prediction: epoch 1 is the best, epoch 2 no better
    result = finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=6, batch_size=4,
                      learning_rate=1e-9, progress=False, best_epoch=True, patience=1)
    assert result.metrics["epochs_run"] == 2 and result.metrics["best_epoch"] == 1


@pytest.mark.parametrize("patience", [0, 1.5, "two"])
def test_patience_that_makes_no_sense_is_refused(patience):
    from sft_teach.setting_checks import check_patience

    with pytest.raises(ConfigError, match=re.escape("patience (--patience, patience=) must be a whole number")):
        check_patience(patience, text=True)  # "two": as the command line reads it


def test_the_report_of_load_with_report_comes_back_in_the_result(make_tiny_classifier, tokenizer, tmp_path):
    """A CSV with its own column names: loaded with its options, passed as the pair, cleaning kept; the
    saved splits name each row's line in the file."""
    from support import GOOD, write_csv

    path = write_csv(tmp_path / "tickets.csv", GOOD + GOOD[:2], header=("body", "category"))
    pair = data.load_with_report(path, text_column="body", label_column="category")
    result = finetune(make_tiny_classifier(), pair, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
                      output_dir=tmp_path / "run", progress=False)
    assert result.cleaning is pair[1] and result.cleaning["duplicates_removed"] == 2
    assert (tmp_path / "run" / "splits" / "test.csv").read_text().splitlines()[0] == "text,label,line"
    # recorded by its file, as the path itself would be: name, what sha256sum prints, its columns
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["data"] == "tickets.csv"
    assert record["data_sha256"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert (record["text_column"], record["label_column"]) == ("body", "category")
    assert "encoding" not in record and "read_from" not in record["cleaning"]  # load's default; said once
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert "tickets.csv" in card and "body" in card and "a dataset given in Python" not in card


def test_patience_without_best_epoch_is_refused():
    with pytest.raises(ConfigError, match="needs best_epoch=True"):
        finetune(data="pets", patience=2)


@pytest.mark.parametrize("keywords, message", [
    ({"num_epochs": 1}, "finetune has no setting num_epochs=: did you mean num_train_epochs=?"),
    ({"text_column": "review"}, "text_column= read a CSV file: pass the file's path as data"),
    ({"epochs": 1}, "finetune has no setting epochs=: did you mean num_train_epochs=?"),  # the command's name
    ({"lr": 1e-4}, "finetune has no setting lr=: did you mean learning_rate=?"),
    ({"eval_split": "tset"}, "eval_split 'tset': the data has no such split"),
    ({"patience": 1}, "patience (early stopping) needs best_epoch=True"),
    ({"per_device_train_batch_size": 8}, "per_device_train_batch_size= is set by finetune's own keywords, which "
                                          "the run's record and card report: pass batch_size=8"),
    ({"warmup_ratio": 0.2}, "warmup_ratio= is set by finetune's own keywords, which the run's record and card "
                            "report: pass warmup=0.2"),
    ({"disable_tqdm": True}, "pass progress=False"),
    ({"warmup_steps": 500}, "pass warmup=, a fraction of the steps (0.1: the first 10 %)"),
    ({"metric_for_best_model": "accuracy"}, "the only measure finetune chooses by"),
    ({"best_epoch": True, "patience": 0}, "patience (--patience, patience=) must be a whole number of epochs"),
    # a misspelling of a setting finetune's own keyword sets is pointed to that keyword, not to the setting
    ({"warmup_ratioo": 0.1}, "finetune has no setting warmup_ratioo=: did you mean warmup=?"),
    ({"per_device_train_batch_sze": 8}, "finetune has no setting per_device_train_batch_sze=: did you mean batch_size=?"),
    # what TrainingArguments, Trainer or a reporting library would refuse only once the model had loaded
    ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps= must be a whole number of at least 1, got 0"),
    ({"optim": "adamw_fast"}, "finetune: TrainingArguments refuses these settings: adamw_fast is not a valid OptimizerNames"),
    ({"lr_scheduler_type": "cosinus"}, "TrainingArguments refuses these settings: cosinus is not a valid SchedulerType"),
    ({"logging_steps": 0}, "TrainingArguments refuses these settings: logging strategy IntervalStrategy.STEPS requires "
                           "non-zero --logging_steps"),
    ({"best_epoch": True, "eval_strategy": "steps", "eval_steps": 5}, "eval_strategy='steps': best_epoch=True "
                                                                      "evaluates and saves after every epoch"),
    ({"report_to": "no-such-tracker"}, "report_to='no-such-tracker': transformers has no such reporting integration: "
                                       "one of azure_ml, comet_ml"),
    # every N steps with a strategy that is not "steps" would be accepted and do nothing
    ({"best_epoch": True, "eval_steps": 5}, "eval_steps=5 does nothing: this run's eval_strategy is 'epoch': drop it, "
                                           "or pass best_epoch=False and eval_strategy='steps'"),
    ({"best_epoch": False, "save_steps": 50}, "save_steps=50 does nothing: this run's save_strategy is 'no': drop it, "
                                              "or pass save_strategy='steps'"),

])
def test_finetune_refuses_unknown_keywords_before_any_work(keywords, message, small_dataset, make_tiny_classifier,
                                                           tokenizer, monkeypatch):
    from sft_teach import head_first, training

    monkeypatch.setattr(head_first, "train_head", lambda *a, **k: pytest.fail("trained before the check"))
    with pytest.raises(ConfigError, match=re.escape(message)):
        training.finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, head_epochs=1, progress=False,
                          **keywords)


def test_half_precision_is_left_to_trainingarguments_and_refused_before_any_loading(monkeypatch):
    """bf16 trains on a CPU with use_cpu=True (and fp16 on a CPU too): only what TrainingArguments
    itself refuses is refused, in one line, before the model loads."""
    import torch

    from sft_teach import finetune_plan, models, training

    if torch.cuda.is_available():
        pytest.skip("TrainingArguments accepts bf16 on a CUDA GPU")
    monkeypatch.setattr(models, "load_classifier", lambda *a, **k: pytest.fail("loaded before the check"))
    with pytest.raises(ConfigError, match=re.escape("finetune: TrainingArguments refuses these settings: Your setup "
                                                    "doesn't support bf16/gpu")):
        training.finetune("default", "pets", save=False, bf16=True)
    recipe = dict(num_train_epochs=1, learning_rate=1e-4, batch_size=16, seed=42, warmup=0.1, weight_decay=0.01)
    for accepted in ({"bf16": True, "use_cpu": True}, {"fp16": True}, {"eval_strategy": "epoch"}, {"report_to": "flyte"}):
        finetune_plan._settings_accepted(finetune_plan.main_phase(accepted, True)[0], True, **recipe)
    finetune_plan._settings_accepted({"eval_strategy": "steps", "eval_steps": 5}, False, **recipe)
    monkeypatch.setattr("transformers.integrations.integration_utils.get_available_reporting_integrations", lambda: [])
    with pytest.raises(ConfigError, match=re.escape("report_to='wandb': that reporting library is not installed: pip "
                                                    "install wandb, or drop report_to=")):
        finetune_plan._settings_accepted({"report_to": "wandb"}, False, **recipe)


def test_a_tokenizer_with_a_model_name_is_refused_not_ignored(tokenizer, monkeypatch):
    """A name loads its own tokenizer, which would silently replace the one passed."""
    from sft_teach import models

    monkeypatch.setattr(models, "load_classifier", lambda *a, **k: pytest.fail("loaded before the check"))
    with pytest.raises(ConfigError, match=re.escape("tokenizer= goes with a model object; a model name or folder "
                                                    "loads its own tokenizer: drop tokenizer=")):
        finetune("default", "pets", tokenizer=tokenizer, progress=False)
    with pytest.raises(ConfigError, match=re.escape("tokenizer= goes with a model object")):  # a folder as a Path
        finetune(Path("some") / "model", "pets", tokenizer=tokenizer, progress=False)


def test_finetune_on_a_csv_writes_the_commands_folder_with_its_card(tiny_model_dir, small_csv, tmp_path):
    """Python's finetune(output_dir=...) writes what `sft-teach finetune` writes (the model with its card,
    the splits, metrics.json and both plots) and nothing else: no empty working folder, no head.json.
    The record names the file and hashes its bytes; settings that are no recipe name none."""
    from sft_teach.model_card import data_fingerprint
    from sft_teach.run_record import RUN_OUTPUTS
    from sft_teach.training import finetune

    result = finetune(str(tiny_model_dir), str(small_csv), num_train_epochs=1, batch_size=4, progress=False,
                      output_dir=tmp_path / "run", data_warnings=["a warning about the data"])
    assert result.cleaning["rows"] == 16 and result.cleaning["duplicates_removed"] == 0
    assert {p.name for p in (tmp_path / "run").iterdir()} == RUN_OUTPUTS
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["data"] == small_csv.name and record["data_sha256"] == data_fingerprint(small_csv)
    assert record["model"] == tiny_model_dir.name and "recipe" not in record
    assert record["head_epochs"] == 0 and "head_learning_rate" not in record  # no head-only phase, no rate of one
    # record= is recorded over finetune's own settings (the command names its recipe and its data so)
    finetune(str(tiny_model_dir), str(small_csv), num_train_epochs=1, batch_size=4, progress=False,
             output_dir=tmp_path / "named", record={"data": "notes of May", "recipe": "mine"})
    named = json.loads((tmp_path / "named" / "metrics.json").read_text())
    assert named["data"] == "notes of May" and named["recipe"] == "mine"
    assert record["epochs"] == 1 and record["batch_size"] == 4 and record["cleaning"] == {k: v for k, v in result.cleaning.items() if k != "read_from"}
    assert record["warnings"][0] == "a warning about the data"
    assert record["accuracy"] == round(result.metrics["accuracy"], 4)
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert f"- source: `{small_csv.name}` ({data_fingerprint(small_csv)})" in card
    assert "- a warning about the data" in card and "| recipe |" not in card


def test_the_saved_model_keeps_how_its_training_file_was_read(tiny_model_dir, tmp_path):
    """merge_case=True, a text column of another name and cp1252 travel in the model's config.json, so that
    evaluate and predict read a file the way training did, wherever the folder goes."""
    from support import GOOD

    from sft_teach.training import finetune

    path = write_csv(tmp_path / "notes.csv", GOOD + [("Purred on the mat.", "Cat")], header=("note", "animal"))
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    finetune(str(tiny_model_dir), str(path), num_train_epochs=1, batch_size=4, progress=False, output_dir=tmp_path / "run",
             merge_case=True, text_column="note", label_column="animal", encoding="cp1252")
    kept = json.loads((tmp_path / "run" / "model" / "config.json").read_text())["sft_teach"]
    assert {k: kept[k] for k in ("text_column", "label_column", "encoding", "merge_case")} == {
        "text_column": "note", "label_column": "animal", "encoding": "cp1252", "merge_case": True}


def test_a_dataset_object_is_recorded_by_its_content_and_a_recipe_by_its_name(tiny_model_dir, tmp_path):
    """Data given as a DatasetDict has no file to hash: the record hashes its texts and labels, so
    the same data gives the same hash and one changed label another. Settings equal to one of
    RECIPES are recorded under that recipe's name, others under none."""
    from datasets import DatasetDict

    from sft_teach import run_record
    from sft_teach.data import load
    from sft_teach.run_record import dataset_fingerprint
    from sft_teach.training import RECIPES

    def first_eight():
        return DatasetDict({name: part.select(range(8)) for name, part in load("pets").items()})

    small = first_eight()
    finetune(str(tiny_model_dir), small, num_train_epochs=1, batch_size=4, progress=False, output_dir=tmp_path / "run",
             warmup=0.0, head_epochs=1, head_learning_rate=5e-4, lr_scheduler_type="constant")
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["data"] == "a dataset given in Python" and "recipe" not in record
    # every setting that changes the run is recorded, so that it can be run again; and the card says them
    assert record["warmup"] == 0.0 and record["weight_decay"] == 0.01 and record["head_learning_rate"] == 5e-4
    assert record["trainer_settings"] == {"lr_scheduler_type": "constant"} and record["versions"]["torch"]
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert "| head_learning_rate | 0.0005 |" in card and "| lr_scheduler_type | constant |" in card
    absent = [name for name, row in record["per_class"].items() if row["support"] == 0]  # as the card: not measured
    assert all(record["per_class"][name] in ({"precision": None, "recall": None, "f1": None, "support": 0},
                                              {"precision": 0.0, "recall": None, "f1": 0.0, "support": 0})
               for name in absent)  # never predicted; or predicted, wrongly each time
    assert all(row["f1"] is not None for row in record["per_class"].values() if row["support"])
    assert record["data_sha256"] == dataset_fingerprint(small) == dataset_fingerprint(first_eight())
    relabelled = small["test"].map(lambda row, i: {"label": 1 - row["label"] if i == 0 else row["label"]},
                                   with_indices=True)
    assert dataset_fingerprint(DatasetDict({**small, "test": relabelled})) != record["data_sha256"]

    def recipe(**chosen):
        settings = dict(epochs=3, learning_rate=1e-4, head_epochs=3.0, batch_size=16, best_epoch=True)
        return run_record.settings("default", small, dataset_fingerprint(small), **{**settings, **chosen}).get("recipe")

    assert recipe() == "best" and RECIPES["best"]["learning_rate"] == 1e-4
    assert recipe(head_epochs=0.0, learning_rate=5e-4, best_epoch=False) == "plain"
    assert recipe(epochs=4) is None and recipe(best_epoch=False) is None


@pytest.mark.slow
def test_progress_false_shows_no_bar_at_all_and_leaves_the_libraries_as_found(tiny_model_dir, tmp_path, capfd):
    """A script's finetune(progress=False): no training bar, and no "Map" or weight-loading bar of the
    libraries either (the file is read, split and tokenised, the model loaded from a folder), while
    with progress=True those bars do show; afterwards both libraries' bars are as they were."""
    import datasets
    from transformers.utils import logging as hf_logging

    from support import write_csv
    from conftest import CAT, DOG

    csv = write_csv(tmp_path / "notes.csv", [(t, "cat") for t in CAT] * 2 + [(t, "dog") for t in DOG] * 2)
    datasets.enable_progress_bars()
    hf_logging.enable_progress_bar()
    settings = dict(num_train_epochs=1, batch_size=4, save=False)
    capfd.readouterr()
    finetune(str(tiny_model_dir), str(csv), progress=True, **settings)
    shown = capfd.readouterr().err
    assert "Map" in shown and "%|" in shown  # the check below could not pass by a library's silence
    finetune(str(tiny_model_dir), str(csv), progress=False, **settings)
    shown = capfd.readouterr()
    assert "%|" not in shown.err + shown.out and "Map" not in shown.err + shown.out
    assert datasets.is_progress_bar_enabled() and hf_logging.is_progress_bar_enabled()
    # a saved run with a checkpoint each epoch: the training bars, and no saving bar between them
    finetune(str(tiny_model_dir), str(csv), progress=True, num_train_epochs=2, batch_size=4, best_epoch=True,
             output_dir=tmp_path / "run")
    shown = capfd.readouterr().err
    assert "%|" in shown and "Writing model shards" not in shown
    assert datasets.is_progress_bar_enabled() and hf_logging.is_progress_bar_enabled()


def test_splits_whose_classes_are_listed_differently_are_matched_by_name(small_dataset, make_tiny_classifier,
                                                                         tokenizer):
    """A test split encoded on its own (class_encode_column on a file lacking a class) lists its classes
    in another order: finetune matches them to train's by name, so its labels mean the same classes."""
    from datasets import ClassLabel, DatasetDict

    test = small_dataset["test"]
    names = test.features["label"].names  # cat, dog
    flipped = test.cast_column("label", ClassLabel(names=names[::-1]))  # same ids, names swapped: dog, cat
    flipped = flipped.map(lambda row: {"label": 1 - row["label"]})  # ids swapped too: the same texts' classes
    assert [flipped.features["label"].names[i] for i in flipped["label"]] == [names[i] for i in test["label"]]
    mixed = DatasetDict({**small_dataset, "test": flipped})
    aligned = data.by_name(mixed)
    assert aligned["test"].features["label"].names == names and aligned["test"]["label"] == test["label"]
    result = finetune(make_tiny_classifier(), mixed, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
                      progress=False, save=False)
    assert list(result.label_ids) == list(test["label"])  # scored against the right classes


@pytest.mark.parametrize("build, message", [
    (lambda d: d["train"], "the data is a Dataset, not a DatasetDict of splits"),
    (lambda d: {"train": d["train"], "test": d["test"]}, "the data has no 'validation' split (it has 'train', 'test')"),
    (lambda d: {**d, "train": d["train"].rename_column("text", "body")}, "the train split has no column 'text' (its columns: body, label)"),
    (lambda d: {**d, "test": d["test"].cast_column("label", ClassLabel(names=["cat", "rabbit"]))},
     "the test split has label 'rabbit', which no train row has (train's: 'cat', 'dog')"),
])
def test_data_training_cannot_use_is_one_line_before_any_work(build, message, small_dataset, make_tiny_classifier,
                                                               tokenizer, monkeypatch):
    from datasets import DatasetDict

    from sft_teach import head_first, training
    from sft_teach.errors import DataError

    monkeypatch.setattr(head_first, "train_head", lambda *a, **k: pytest.fail("trained before the check"))
    built = build(small_dataset)
    built = DatasetDict(built) if isinstance(built, dict) else built
    if "rabbit" in message:  # a test split whose rows of class 1 are now 'rabbit'
        assert 1 in built["test"]["label"]
    with pytest.raises(DataError, match=re.escape(message)):
        training.finetune(make_tiny_classifier(), built, tokenizer=tokenizer, head_epochs=1, progress=False)


def test_string_labels_become_classes_in_every_split(small_dataset):
    from datasets import DatasetDict, Value

    from sft_teach import checks

    def as_names(part):
        names = part.features["label"].names
        return part.cast_column("label", Value("string")).map(lambda row: {"label": names[int(row["label"])]})

    as_text = DatasetDict({name: as_names(part) for name, part in small_dataset.items()})
    assert as_text["train"][0]["label"] in ("cat", "dog")
    classes = data.by_name(as_text)
    for name, part in classes.items():
        assert part.features["label"].names == ["cat", "dog"] and part["label"] == small_dataset[name]["label"]
    assert checks.check(as_text) == checks.check(small_dataset)  # checks read string labels too


def test_a_dataset_made_with_pandas_has_its_labels_read_by_name(small_dataset):
    """Dataset.from_pandas types a column of strings as Arrow's large_string, not string."""
    import pandas as pd
    from datasets import Dataset, DatasetDict

    from sft_teach import checks

    def from_pandas(part):
        names = part.features["label"].names
        return Dataset.from_pandas(pd.DataFrame({"text": part["text"], "label": [names[i] for i in part["label"]]}))

    frames = DatasetDict({name: from_pandas(part) for name, part in small_dataset.items()})
    assert str(frames["train"].features["label"].dtype) == "large_string"
    classes = data.by_name(frames)
    assert all(part["label"] == small_dataset[name]["label"] for name, part in classes.items())
    assert checks.check(frames) == checks.check(small_dataset)


def test_a_model_object_gets_the_data_s_class_names_or_a_one_line_refusal(small_dataset, tokenizer, tmp_path):
    """A model built with num_labels only (LABEL_0, LABEL_1) is saved with the data's class names, so
    the folder answers 'cat'/'dog'; a model with another number of outputs, or other names, is refused."""
    from transformers import BertConfig, BertForSequenceClassification

    from sft_teach.inference import label_names, load_finetuned

    def bare(num_labels, **names):
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                            num_attention_heads=2, intermediate_size=64, num_labels=num_labels, **names)
        return BertForSequenceClassification(config)

    result = finetune(bare(2), small_dataset, tokenizer=tokenizer, num_train_epochs=1, batch_size=4, progress=False,
                      output_dir=tmp_path / "run")
    model, _ = load_finetuned(result.model_dir)
    assert label_names(model) == ["cat", "dog"]
    with pytest.raises(ConfigError, match=re.escape("the model has 3 outputs but the data 2 classes (cat, dog)")):
        finetune(bare(3), small_dataset, tokenizer=tokenizer, progress=False, save=False)
    with pytest.raises(ConfigError, match=re.escape("the model's classes are dog, cat, in that order")):
        finetune(bare(2, id2label={0: "dog", 1: "cat"}, label2id={"dog": 0, "cat": 1}), small_dataset,
                 tokenizer=tokenizer, progress=False, save=False)


def test_a_folder_holding_a_run_is_refused_unless_overwrite_which_leaves_no_stale_file(
        tiny_model_dir, small_dataset, tmp_path, monkeypatch):
    """As the command without --overwrite: a second run into the same folder is refused before any work.
    overwrite=True replaces the run's own files, a stale splits/ file included (an old test.csv would be
    scored as the new run's), and leaves the user's own files alone."""
    from sft_teach import trainer_arguments
    from sft_teach.errors import OutputExistsError

    out = tmp_path / "run"
    settings = dict(num_train_epochs=1, batch_size=4, progress=False, output_dir=out)
    finetune(str(tiny_model_dir), small_dataset, **settings)
    (out / "notes.txt").write_text("mine")
    (out / "splits" / "extra.csv").write_text("text,label\n")
    before = (out / "metrics.json").read_text()
    with monkeypatch.context() as patched:
        patched.setattr(trainer_arguments, "training_arguments", lambda *a, **k: pytest.fail("trained before the check"))
        with pytest.raises(OutputExistsError, match=re.escape(
                f"output_dir '{out}' already holds a run (confusion.png, loss.png, metrics.json, model, splits): "
                f"pass overwrite=True to replace it, or choose another output_dir")):
            finetune(str(tiny_model_dir), small_dataset, **settings)
    assert (out / "metrics.json").read_text() == before
    finetune(str(tiny_model_dir), small_dataset, **settings, overwrite=True, seed=1)
    assert json.loads((out / "metrics.json").read_text())["seed"] == 1
    assert not (out / "splits" / "extra.csv").exists() and (out / "notes.txt").read_text() == "mine"
    # model/ and splits/ with no metrics.json: the user's own, or a run interrupted while saving (metrics.json
    # is written last): not called a run, refused without overwrite=True, replaced with it
    from sft_teach import run_record

    half = tmp_path / "half"
    with monkeypatch.context() as patched:
        patched.setattr(run_record, "write_run", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            finetune(str(tiny_model_dir), small_dataset, **{**settings, "output_dir": half})
    assert sorted(p.name for p in half.iterdir()) == ["model", "splits"]
    (half / "model" / "mine.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=re.escape(
            f"output_dir '{half}' holds model/, splits/ but no metrics.json: your own, or a run interrupted while "
            f"saving: overwrite=True replaces them, or choose another output_dir")):
        finetune(str(tiny_model_dir), small_dataset, **{**settings, "output_dir": half})
    assert (half / "model" / "mine.txt").read_text() == "mine"
    finetune(str(tiny_model_dir), small_dataset, **{**settings, "output_dir": half}, overwrite=True)
    assert (half / "metrics.json").is_file() and not (half / "model" / "mine.txt").exists()


def test_python_records_the_data_s_warnings_and_reads_a_csv_with_its_columns(tiny_model_dir, tmp_path):
    """Without data_warnings=, finetune checks the data as `sft-teach check` does, so the card's warnings
    are the data's too, and says each as a Python warning pointing at the caller's line; a CSV with other
    columns is read with text_column=/label_column=, and the record names the file, its columns, and the
    file's SHA-256 (what sha256sum prints)."""
    import hashlib

    from support import CATS, DOGS

    from sft_teach import checks
    from sft_teach.errors import SftTeachWarning
    from sft_teach.models import load_tokenizer

    rows = [(t, "cat") for t in CATS] + [(t, "dog") for t in DOGS]
    path = tmp_path / "export.csv"
    path.write_text("id,body,kind\n" + "".join(f'{i},"{t}",{y}\n' for i, (t, y) in enumerate(rows)))
    with pytest.warns(SftTeachWarning) as caught:
        result = finetune(str(tiny_model_dir), str(path), text_column="body", label_column="kind", num_train_epochs=1,
                          batch_size=4, progress=False, output_dir=tmp_path / "run")
    said = [w for w in caught if w.category is SftTeachWarning]
    assert [str(w.message) for w in said] == [str(w) for w in result.warnings]
    assert {w.filename for w in said} == {__file__}  # the caller's line, not finetune's
    dataset = data.load(str(path), text_column="body", label_column="kind")
    expected = [str(f) for f in checks.check(dataset, load_tokenizer(str(tiny_model_dir)), 128)]
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert expected and record["warnings"][:len(expected)] == expected
    assert [str(w) for w in result.warnings] == record["warnings"]
    assert record["text_column"] == "body" and record["label_column"] == "kind" and record["data"] == "export.csv"
    assert record["data_sha256"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert "- columns: texts in `body`, labels in `kind`" in card and f"- {expected[0]}" in card


def test_a_folder_without_a_classifier_is_said_in_one_line_without_the_library_s_report(tiny_model_dir, tmp_path):
    """transformers printed its table of MISSING weights before load_finetuned's own one-line error."""
    import shutil

    from safetensors.torch import load_file, save_file
    from transformers.utils import logging as hf_logging

    from sft_teach.errors import ModelNotFoundError

    body = tmp_path / "body"
    shutil.copytree(tiny_model_dir, body)
    weights = load_file(body / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("classifier.")}, body / "model.safetensors",
              metadata={"format": "pt"})
    import logging

    said = []
    seen = logging.Handler()
    seen.emit = lambda record: said.append(record.getMessage())
    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()  # as in a script that never called quiet_libraries
    logging.getLogger("transformers").addHandler(seen)
    try:
        with pytest.raises(ModelNotFoundError, match="has no weights for classifier.bias, classifier.weight"):
            load_finetuned(body)
        assert not [message for message in said if "MISSING" in message]
        assert hf_logging.get_verbosity() == hf_logging.WARNING  # given back as it was
    finally:
        logging.getLogger("transformers").removeHandler(seen)
        hf_logging.set_verbosity(before)


def test_predict_takes_one_string_as_one_text(tiny_model_dir):
    from sft_teach.inference import predict, predict_proba

    model, tokenizer = load_finetuned(tiny_model_dir)
    one = predict(model, tokenizer, "Purred on the sofa.")
    assert len(one) == 1 and one[0]["text"] == "Purred on the sofa."
    assert predict_proba(model, tokenizer, "Purred on the sofa.").shape == (1, 2)
    assert one == predict(model, tokenizer, ["Purred on the sofa."])
    probs = predict_proba(model, tokenizer, "Purred on the sofa.")[0]
    assert one[0]["score"] == pytest.approx(probs.max()) and one[0]["score"] >= 0.5  # the chosen class's probability


def test_probabilities_come_back_in_the_order_of_the_texts(tiny_model_dir):
    # batches are formed by length (long texts apart from short ones): the answers must be put back
    from sft_teach.inference import predict_proba

    model, tokenizer = load_finetuned(tiny_model_dir)
    texts = ["A long note about a dog who waited by the door every evening for the walk.", "Purred.",
             "Barked at the postman twice.", "Slept."]
    together = predict_proba(model, tokenizer, texts, batch_size=2)
    alone = np.vstack([predict_proba(model, tokenizer, [text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert not np.allclose(together, together[::-1], atol=1e-5)  # the texts do get different answers


def test_evaluate_names_a_label_the_model_does_not_know(tiny_model_dir, tmp_path):
    from support import write_csv

    from sft_teach.errors import DataError

    model, tokenizer = load_finetuned(tiny_model_dir)
    held_out = data.from_csv(write_csv(tmp_path / "h.csv", [("Purred.", "cat"), ("Hopped.", "rabbit")]))
    with pytest.raises(DataError, match=re.escape("evaluate: label 'rabbit' is not known to the model, which knows "
                                                  "'cat', 'dog'")):
        evaluate(model, tokenizer, held_out)


def test_evaluate_takes_what_a_python_user_has_and_the_command_s_options(tiny_model_dir, small_dataset):
    """String labels (from_dict or pandas) score like class ids; skip_unknown and merge_case do what
    `sft-teach evaluate --skip-unknown --merge-case` does; a DatasetDict or a list is one line."""
    from datasets import Dataset

    from sft_teach.errors import DataError, SftTeachWarning
    from sft_teach.inference import label_names, predict

    model, tokenizer = load_finetuned(tiny_model_dir)
    texts = ["Purred on the sofa.", "Fetched the ball.", "Hopped in the hutch.", "Scratched the post."]
    guesses = [row["label"] for row in predict(model, tokenizer, texts)]
    written = ["cat", "dog", "rabbit", "Cat"]
    as_text = Dataset.from_dict({"text": texts, "label": written})
    with pytest.raises(DataError, match=re.escape("evaluate: labels 'rabbit', 'Cat' are not known to the model")):
        evaluate(model, tokenizer, as_text)
    with pytest.warns(SftTeachWarning, match=re.escape("evaluate: skipped 1 row whose label the model does not know "
                                                       "('rabbit' 1): the scores are on the other 3 rows")):
        scores = evaluate(model, tokenizer, as_text, skip_unknown=True, merge_case=True)
    right = sum(g == y for g, y in zip(guesses, ["cat", "dog", None, "cat"]))
    assert scores["n"] == 3 and scores["skipped"] == {"rabbit": 1} and scores["accuracy"] == pytest.approx(right / 3)
    ids = Dataset.from_dict({"text": texts[:2], "label": [0, 1]}).cast_column(
        "label", small_dataset["train"].features["label"])
    assert evaluate(model, tokenizer, ids) == evaluate(model, tokenizer, as_text.select([0, 1]))
    with pytest.raises(DataError, match=re.escape("evaluate scores one split, and this data has 3 (train, "
                                                  "validation, test): pass one, e.g. data['test']")):
        evaluate(model, tokenizer, small_dataset)
    for not_a_dataset in (texts, {"text": texts, "label": written}):
        with pytest.raises(DataError, match="evaluate needs a datasets.Dataset with columns 'text' and 'label' "
                                            r"\(got (list|dict)\).*Dataset.from_dict"):
            evaluate(model, tokenizer, not_a_dataset)
    numbers = Dataset.from_dict({"text": texts[:2], "label": [0, 1]})
    with pytest.raises(DataError, match=re.escape("the label column holds int64 values without class names: give "
                                                  f"the labels as names ({', '.join(map(repr, label_names(model)))})")):
        evaluate(model, tokenizer, numbers)


def test_gradient_accumulation_averages_the_batches_in_both_phases(make_tiny_classifier, tokenizer, small_dataset):
    """With gradient_accumulation_steps=4 the loss Trainer logs (and backpropagates) is the mean over
    the 4 batches of a step, not their sum: a classifier's loss is each batch's mean, though its
    forward takes **kwargs (Trainer then assumed it was scaled for accumulation). At a learning rate
    too small to learn, the logged loss stays at the untrained model's. The head-only phase takes
    the same 4 batches a step."""
    from sft_teach.inference import predict_proba

    model = make_tiny_classifier()
    texts, labels = small_dataset["train"]["text"], np.asarray(small_dataset["train"]["label"])
    probs = predict_proba(model, tokenizer, texts)
    untrained = float(-np.log(probs[np.arange(len(labels)), labels]).mean())  # cross-entropy before training
    result = finetune(model, small_dataset, tokenizer=tokenizer, num_train_epochs=1, learning_rate=1e-9,
                      batch_size=2, gradient_accumulation_steps=4, logging_steps=1, head_epochs=1,
                      head_learning_rate=1e-9, progress=False)
    steps = math.ceil(len(labels) / 8)  # 8 texts a step
    assert result.metrics["train_steps"] == steps and result.metrics["head_steps"] == steps
    logged = [row["loss"] for row in result.history["train"]]
    assert len(logged) == steps
    # dropout makes each batch's loss differ a little from the eval-mode loss above; a sum would be 4x it
    assert abs(np.mean(logged) - untrained) < 0.25 * untrained, (logged, untrained)


def test_another_architectures_head_alone_also_averages_accumulated_batches(tokenizer, small_dataset, tmp_path):
    """A head other than BERT's trains through the frozen body (no stored features), with Trainer's
    own loss: there too 4 accumulated batches give their mean loss, not 4 times it."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from sft_teach.head_first import has_bert_head
    from sft_teach.inference import predict_proba

    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(DistilBertConfig(
        vocab_size=len(tokenizer), dim=16, n_layers=1, n_heads=2, hidden_dim=32, num_labels=2))
    assert not has_bert_head(model)
    texts, labels = small_dataset["train"]["text"], np.asarray(small_dataset["train"]["label"])
    probs = predict_proba(model, tokenizer, texts)
    untrained = float(-np.log(probs[np.arange(len(labels)), labels]).mean())
    out = train_head(model, data.tokenize(small_dataset, tokenizer), tokenizer, tmp_path, num_train_epochs=1,
                     learning_rate=1e-9, batch_size=2, gradient_accumulation_steps=4, logging_steps=1, progress=False)
    logged = [row["loss"] for row in out["train"]]
    assert out["steps"] == len(logged) == math.ceil(len(labels) / 8)
    assert abs(np.mean(logged) - untrained) < 0.25 * untrained, (logged, untrained)


def test_finetune_s_never_predicted_warning_counts_the_training_rows():
    """The advice rests on how many *training* rows the missed class had (here as many as the others:
    train longer), not on its rows in the split scored (here one)."""
    from datasets import ClassLabel, Dataset, DatasetDict

    from sft_teach.finetune_steps import training_findings

    names = ["cat", "dog", "fish"]

    def part(labels):
        texts = [f"note {i}" for i in range(len(labels))]
        return Dataset.from_dict({"text": texts, "label": labels}).cast_column("label", ClassLabel(names=names))

    dataset = DatasetDict(train=part([0] * 20 + [1] * 20 + [2] * 20), test=part([0, 1, 1, 2]))
    [found] = training_findings(np.array([0, 1, 1, 1]), np.array([0, 1, 1, 2]), names, "test", dataset)
    assert "never predicts 'fish' on the 4 test texts" in found.message and "it had 20 training rows" in found.message


def test_push_to_hub_uploads_the_model_folder_with_its_card_or_is_refused_before_training(
        tiny_model_dir, small_dataset, tmp_path, monkeypatch):
    """Trainer's own push would upload its checkpoints, and offline fail deep in huggingface_hub."""
    from sft_teach import models, run_record
    from sft_teach.errors import ConfigError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run = dict(model=str(tiny_model_dir), data=small_dataset, num_train_epochs=1, batch_size=4, progress=False)
    with pytest.raises(ConfigError, match="cannot be reached from here: .* hf upload me/pets .*/out/model"):
        finetune(**run, output_dir=tmp_path / "out", push_to_hub=True, hub_model_id="me/pets")
    with pytest.raises(ConfigError, match="needs hub_model_id='owner/name'"):
        finetune(**run, output_dir=tmp_path / "out", push_to_hub=True)
    with pytest.raises(ConfigError, match=r"uploads the saved model folder: pass output_dir= \(and save=True\)"):
        finetune(**run, push_to_hub=True, hub_model_id="me/pets")
    assert not (tmp_path / "out").exists()  # refused before anything was written
    with pytest.raises(ConfigError, match="hub_strategy= sets how Trainer pushes checkpoints"):
        finetune(**run, output_dir=tmp_path / "out", push_to_hub=True, hub_model_id="me/pets", hub_strategy="end")
    with pytest.raises(ConfigError, match="hub_private_repo= uploads nothing without push_to_hub=True"):
        finetune(**run, output_dir=tmp_path / "out", hub_private_repo=True)
    assert not (tmp_path / "out").exists()  # refused before anything was written
    uploads = []
    monkeypatch.setattr(models, "hub_available", lambda: True)
    monkeypatch.setattr(run_record, "push_model", lambda folder, **where: uploads.append((folder, where)))
    finetune(**run, output_dir=tmp_path / "out", push_to_hub=True, hub_model_id="me/pets", hub_private_repo=True,
             hub_token="hf_SECRET")
    assert uploads == [(tmp_path / "out" / "model", {"repo": "me/pets", "private": True, "token": "hf_SECRET",
                                                     "revision": None})]
    written = (tmp_path / "out" / "model" / "README.md").read_text() + (tmp_path / "out" / "metrics.json").read_text()
    assert "hf_SECRET" not in written and "hub_" not in written  # a token is never written out


def test_a_training_argument_json_cannot_hold_is_recorded_by_its_repr(tiny_model_dir, small_dataset, tmp_path):
    from transformers.trainer_pt_utils import AcceleratorConfig

    finetune(str(tiny_model_dir), small_dataset, num_train_epochs=1, batch_size=4, progress=False,
             output_dir=tmp_path / "out", accelerator_config=AcceleratorConfig())
    record = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert record["trainer_settings"]["accelerator_config"].startswith("AcceleratorConfig(")


def test_the_data_is_checked_before_training_without_an_output_dir_too(make_tiny_classifier, tokenizer, small_dataset,
                                                                        monkeypatch):
    """Labels that differ only in case would train as two classes: said before the minutes of training,
    whether or not the run is saved; a sweep's runs (finetune_quietly) keep it in result.warnings only."""
    import warnings

    from datasets import Dataset, DatasetDict

    from sft_teach import finetune_steps, training
    from sft_teach.errors import SftTeachWarning

    def respelt(part):  # its first 'cat' row written 'Cat'
        labels = [part.features["label"].names[i] for i in part["label"]]
        labels[labels.index("cat")] = "Cat"
        return Dataset.from_dict({"text": part["text"], "label": labels})

    cased = DatasetDict({name: respelt(part) for name, part in small_dataset.items()})

    class Stop(Exception):
        pass

    monkeypatch.setattr(finetune_steps, "build_trainer", lambda *a, **k: (_ for _ in ()).throw(Stop()))
    with warnings.catch_warnings(record=True) as caught, pytest.raises(Stop):
        warnings.simplefilter("always")
        training.finetune(make_tiny_classifier(("Cat", "cat", "dog")), cased, tokenizer=tokenizer, batch_size=4,
                          progress=False)
    said = [str(w.message) for w in caught if w.category is SftTeachWarning]
    assert said and said[0].startswith("labels 'Cat' and 'cat' differ only in case")  # then the fixture's own
    monkeypatch.undo()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = training.finetune_quietly(make_tiny_classifier(("Cat", "cat", "dog")), cased, tokenizer=tokenizer, num_train_epochs=1,
                                           batch_size=4, progress=False)
    assert not [w for w in caught if w.category is SftTeachWarning]
    assert [str(f) for f in result.warnings[:len(said)]] == said


def test_warnings_made_errors_stop_a_script_only_once_the_run_is_saved(tiny_model_dir, small_dataset, tmp_path,
                                                                       monkeypatch):
    """simplefilter("error", SftTeachWarning) stops the caller at what training showed, but after the
    run is written: the minutes of training are not lost with it."""
    import warnings

    from sft_teach import checks
    from sft_teach.errors import SftTeachWarning
    from sft_teach.run_record import RUN_OUTPUTS

    monkeypatch.setattr(checks, "one_class_predicted", lambda *a: checks.Finding("one_class_predicted", "collapsed"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SftTeachWarning)
        with pytest.raises(SftTeachWarning, match="collapsed"):
            finetune(str(tiny_model_dir), small_dataset, num_train_epochs=1, batch_size=4, progress=False,
                     output_dir=tmp_path / "run", data_warnings=())
    assert {p.name for p in (tmp_path / "run").iterdir()} == RUN_OUTPUTS
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["warnings"] == ["collapsed"]


def test_in_a_notebook_a_warning_names_the_cell_not_the_kernel_s_temporary_file(monkeypatch):
    """IPython runs a cell from /tmp/ipykernel_<pid>/<hash>.py; its tracebacks call it "Cell In[5]",
    and so does a finding said from finetune (a path of the machine would be saved in the notebook)."""
    import warnings
    from types import SimpleNamespace

    import IPython

    from sft_teach.checks import Finding
    from sft_teach.errors import SftTeachWarning
    from sft_teach.finetune_steps import say

    cells = {__file__: ("Cell", "In[5]")}
    shell = SimpleNamespace(compile=SimpleNamespace(format_code_name=cells.get))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)

    def finetune_stand_in():  # say <- finetune <- its wrapper <- the caller: two frames here
        def wrapper():
            say([Finding("k", "something worth knowing")])
        wrapper()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finetune_stand_in()
    (said,) = [w for w in caught if w.category is SftTeachWarning]
    assert (said.filename, str(said.message)) == ("Cell In[5]", "something worth knowing")


def test_warnings_the_caller_passed_are_not_said_again(tiny_model_dir, small_dataset, tmp_path):
    """The command passes the findings it printed before training as data_warnings=: finetune records them
    but raises only what training itself showed (here: nothing, or a class never predicted)."""
    import warnings

    from sft_teach.checks import Finding
    from sft_teach.errors import SftTeachWarning

    mine = Finding("mine", "a finding the caller already said")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = finetune(str(tiny_model_dir), small_dataset, num_train_epochs=1, batch_size=4, progress=False,
                          output_dir=tmp_path / "run", data_warnings=[mine])
    said = [str(w.message) for w in caught if w.category is SftTeachWarning]
    assert result.warnings[0] is mine and said == [str(f) for f in result.warnings[1:]]


def test_evaluate_in_python_warns_as_the_command_does(tiny_model_dir, tmp_path, capsys):
    """Python's evaluate says every reason its score may mislead, as `sft-teach evaluate` does: texts
    of the run's training split, repeated texts, texts cut at max_length (before scoring), and a class
    of the model with no rows (after); the command prints the same lines."""
    import json
    import shutil
    import warnings

    from datasets import Dataset

    from sft_teach.cli import main
    from sft_teach.errors import SftTeachWarning

    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "model")
    (run / "splits").mkdir()
    write_csv(run / "splits" / "train.csv", [("Purred on the sofa.", "cat"), ("Fetched the ball.", "dog")])
    long_text = "Slept on the warm laptop keyboard all afternoon long."
    rows = [("purred on  the sofa.", "cat"), ("Hid under the bed.", "cat"), ("Hid under the bed.", "cat"), (long_text, "cat")]
    model, tokenizer = load_finetuned(run / "model")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluate(model, tokenizer, Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}),
                 max_length=8)
    said = [str(w.message) for w in caught if issubclass(w.category, SftTeachWarning)]
    assert [line.split(":")[0] for line in said] == ["evaluate"] * 4
    assert "1 of the 4 texts scored also occurs in the model's training split" in said[0]
    assert "1 text occurs more than once among the 4 rows scored (1 extra copy)" in said[1]
    assert "1 of the 4 texts is longer than 8 tokens" in said[2] and "max_length= reads more" in said[2]
    assert said[3].startswith("evaluate: class 'dog' of the model has no rows among the 4 scored")

    write_csv(tmp_path / "scored.csv", rows)
    assert main(["evaluate", "--model", str(run / "model"), "--data", str(tmp_path / "scored.csv"),
                 "--max-length", "8"]) == 0
    out, err = capsys.readouterr()
    printed = [line.removeprefix("sft-teach: warning: ") for line in err.splitlines()
               if line.startswith("sft-teach: warning: ")]
    assert printed == json.loads(out.splitlines()[-1])["warnings"]
    assert printed == [line.removeprefix("evaluate: ").replace("max_length=", "--max-length") for line in said]


def test_evaluate_and_predict_name_a_keyword_they_do_not_know(tiny_model_dir):
    from datasets import Dataset

    from sft_teach.errors import DataError

    model, tokenizer = load_finetuned(tiny_model_dir)
    scored = Dataset.from_dict({"text": ["Purred."], "label": ["cat"]})
    with pytest.raises(ConfigError, match=re.escape("evaluate has no setting skip_unkown=: did you mean skip_unknown=?")):
        evaluate(model, tokenizer, scored, skip_unkown=True)
    with pytest.raises(ConfigError, match=re.escape("predict has no setting batch=: did you mean batch_size=?")):
        predict(model, tokenizer, ["Purred."], batch=8)
    for size in (0, 2.5, True):
        with pytest.raises(ConfigError, match=re.escape(f"batch_size= must be a whole number of at least 1, got {size!r}")):
            predict_proba(model, tokenizer, ["Purred."], batch_size=size)
    with pytest.raises(DataError, match=re.escape("evaluate: the dataset has no rows")):
        evaluate(model, tokenizer, scored.select([]))


def test_an_output_dir_that_cannot_be_written_is_refused_before_training(small_dataset, make_tiny_classifier,
                                                                         tokenizer, tmp_path, monkeypatch):
    """A read-only disk or a folder without write permission: one line before any work, not a
    PermissionError after minutes of training. Probed in the nearest folder that exists."""
    import errno
    import tempfile

    from sft_teach import trainer_arguments
    from sft_teach.errors import OutputExistsError

    probed = []
    mkdtemp = tempfile.mkdtemp

    def read_only(*args, dir=None, **kwargs):
        probed.append(dir)
        if str(dir).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, "Read-only file system")
        return mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    monkeypatch.setattr(trainer_arguments, "training_arguments", lambda *a, **k: pytest.fail("trained before the check"))
    out = tmp_path / "runs" / "first"
    with pytest.raises(OutputExistsError, match=re.escape(f"output_dir '{out}' cannot be written (Read-only file "
                                                          f"system): choose another output_dir")):
        finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, output_dir=out, progress=False)
    assert probed == [tmp_path] and not (tmp_path / "runs").exists()


def test_a_model_whose_classes_are_spelt_with_doubled_spaces_still_scores_its_own_files(make_tiny_classifier,
                                                                                       tokenizer, tmp_path, capsys):
    """Labels are read in one form ('tech  support' as 'tech support'); a model saved before, or built from a
    Python dataset, keeps 'tech  support': its files, written either way, still score against it."""
    from datasets import Dataset

    from sft_teach.cli import main

    model = make_tiny_classifier(labels=("billing", "tech  support"))
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    rows = [("Charged twice for one visit.", "billing"), ("The app will not open.", "tech  support"),
            ("Login fails every time.", "tech support")]
    path = write_csv(tmp_path / "held.csv", rows)
    assert main(["evaluate", "--model", str(tmp_path / "model"), "--data", str(path)]) == 0
    assert '"n": 3' in capsys.readouterr().out
    held = data.from_csv(path, labels=["billing", "tech  support"])
    assert [held.features["label"].names[i] for i in held["label"]] == ["billing", "tech  support", "tech  support"]
    model, tokenizer = load_finetuned(tmp_path / "model")
    scored = evaluate(model, tokenizer, Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}))
    assert scored["n"] == 3


def test_a_row_without_a_label_is_named_not_made_a_class(small_dataset):
    """pandas reads an empty cell as None: it became a class named 'None', trained on in silence."""
    from datasets import Dataset, DatasetDict

    from sft_teach.errors import DataError
    from sft_teach.splits import split

    texts = small_dataset["train"]["text"]
    labels = [("cat", "dog")[i % 2] for i in range(len(texts))]
    labels[3] = None
    with pytest.raises(DataError, match=re.escape("the label column: row 3 (0-based) has no label: give every row one, "
                                                  "or drop those rows first (pandas: df.dropna(subset=['label']))")):
        split(Dataset.from_dict({"text": texts, "label": labels}))
    with pytest.raises(DataError, match=re.escape("the train split's label column: row 3 (0-based) has no label")):
        data.by_name(DatasetDict(train=Dataset.from_dict({"text": texts, "label": labels}),
                                 validation=small_dataset["validation"]))
    spaced = [("spam ", "spam", "ham")[i % 3] for i in range(len(texts))]
    assert split(Dataset.from_dict({"text": texts, "label": spaced}), validation=0.25, test=0.25, seed=0
                 )["train"].features["label"].names == ["ham", "spam"]  # 'spam ' and 'spam': one class


def test_a_hub_model_s_name_is_no_folder_whose_run_trained_it(tmp_path, monkeypatch):
    """model.name_or_path 'bert-base-uncased' has the current folder as its 'parent': its splits/train.csv
    there is no training split of that model."""
    from sft_teach import score_warnings

    monkeypatch.chdir(tmp_path)
    (tmp_path / "splits").mkdir()
    write_csv(tmp_path / "splits" / "train.csv", [("Purred on the sofa.", "cat")])
    assert score_warnings.seen_in_training("bert-base-uncased", ["Purred on the sofa."]) == []
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    assert score_warnings.seen_in_training(tmp_path / "model", ["Purred on the sofa."])  # a run's own model folder


def test_an_output_dir_through_a_dangling_link_or_under_a_file_is_one_line(small_dataset, make_tiny_classifier,
                                                                          tokenizer, tmp_path):
    from sft_teach.errors import OutputExistsError

    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputExistsError, match=re.escape(f"output_dir '{tmp_path / 'link'}' is a link to "
                                                          f"{tmp_path / 'gone'}, which does not exist")):
        finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, output_dir=tmp_path / "link")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputExistsError, match=re.escape(f"output_dir '{tmp_path / 'afile' / 'run'}': "
                                                          f"{tmp_path / 'afile'} is a file, not a folder")):
        finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, output_dir=tmp_path / "afile" / "run")


def test_evaluate_leaves_the_texts_warnings_to_a_caller_that_says_them(tiny_model_dir):
    import warnings

    from datasets import Dataset

    from sft_teach.errors import SftTeachWarning

    model, tokenizer = load_finetuned(tiny_model_dir)
    twice = Dataset.from_dict({"text": ["Purred.", "Purred.", "Barked."], "label": ["cat", "cat", "dog"]})
    with pytest.warns(SftTeachWarning, match="occurs more than once"):
        evaluate(model, tokenizer, twice)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SftTeachWarning)
        evaluate(model, tokenizer, twice, warn_about_texts=False)


def test_a_run_without_an_output_dir_removes_its_scratch_folder_also_when_interrupted(
        make_tiny_classifier, tokenizer, small_dataset, tmp_path, monkeypatch):
    import tempfile

    from transformers import TrainerCallback

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the scratch folder goes
    seen = []

    class Interrupt(TrainerCallback):  # a learner pressing stop after the first epoch's checkpoint
        def on_save(self, args, state, control, **kwargs):
            seen.extend(p.name for p in scratch.iterdir())
            raise KeyboardInterrupt

    settings = dict(tokenizer=tokenizer, num_train_epochs=2, batch_size=4, progress=False, best_epoch=True)
    with pytest.raises(KeyboardInterrupt):
        finetune(make_tiny_classifier(), small_dataset, **settings, callbacks=[Interrupt()])
    assert len(seen) == 1 and seen[0].startswith("sft-teach-")  # the run had its folder, with a checkpoint in it
    assert list(scratch.iterdir()) == []
    finetune(make_tiny_classifier(), small_dataset, **settings)  # and after a run that ends as it should
    assert list(scratch.iterdir()) == []


def test_finetune_warns_when_the_batch_is_larger_than_the_training_split(tiny_model_dir, small_csv, tmp_path):
    from sft_teach.errors import SftTeachWarning

    with pytest.warns(SftTeachWarning, match="batch size 64 is more than its .* texts, so each epoch is one optimiser"):
        result = finetune(str(tiny_model_dir), str(small_csv), num_train_epochs=1, batch_size=64, progress=False)
    assert [w.kind for w in result.warnings].count("batch_over_train") == 1
    # 8 texts a batch, 4 batches a step: a step is 32 texts, more than the split's 12
    with pytest.warns(SftTeachWarning, match="is more than its .* texts"):
        accumulated = finetune(str(tiny_model_dir), str(small_csv), num_train_epochs=1, batch_size=8,
                               gradient_accumulation_steps=4, progress=False)
    assert [w.kind for w in accumulated.warnings].count("batch_over_train") == 1


@pytest.mark.slow
def test_a_best_evaluation_part_way_into_an_epoch_is_recorded_as_such(make_tiny_classifier, tokenizer, small_dataset,
                                                                       tmp_path, monkeypatch):
    """num_train_epochs=1.5 ends with an evaluation part-way into epoch 2; when that one is the best, the
    record names its epoch as Trainer counted it (not rounded to 2 or 1), and the epochs run end there
    too (Trainer rounds the steps up: the kept epoch is never after the run's end)."""
    from sft_teach import metrics
    from sft_teach.model_card import epoch_number

    calls = []

    def better_each_time(eval_pred):  # validation improves at every evaluation: the last one is kept
        calls.append(1)
        return {"accuracy": 0.5, "macro_f1": 0.1 * len(calls)}

    monkeypatch.setattr(metrics, "compute_metrics", better_each_time)
    result = finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1.5, batch_size=4,
                      output_dir=tmp_path / "run", progress=False, best_epoch=True)
    last = result.history["eval"][-1]
    assert len(result.history["eval"]) == 2 and 1 < last["epoch"] < 2
    assert result.metrics["best_epoch"] == epoch_number(last["epoch"]) != 1
    assert result.metrics["epochs_run"] == result.metrics["best_epoch"]  # the last evaluation ends the run
    steps_per_epoch = math.ceil(len(small_dataset["train"]) / 4)
    assert result.metrics["train_steps"] == math.ceil(1.5 * steps_per_epoch)  # Trainer's count, rounded up
    assert result.metrics["epochs_run"] == epoch_number(result.metrics["train_steps"] / steps_per_epoch)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["best_epoch"] == record["epochs_run"] == result.metrics["best_epoch"]
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    kept = result.metrics["best_epoch"]
    assert f"(epoch {kept:g} kept: the best macro-F1)" in card  # the same number as the table's row
    assert f"| {last['epoch']:g} | 0.500 | 0.200 |" in card and f"| epochs run | {kept:g} |" in card


def test_eval_split_train_is_refused_before_any_work():
    with pytest.raises(ConfigError, match=re.escape("eval_split 'train' would score the texts the model is trained "
                                                    "on, which measures memory")):
        finetune("no-such-model", "pets", eval_split="train", progress=False)


@pytest.mark.parametrize("callbacks, said", [
    ("instance", "callbacks= takes a list, got Spy object: callbacks=[Spy()]"),
    ("class", "callbacks= takes a list, got Spy: callbacks=[Spy]"),
])
def test_one_callback_not_in_a_list_is_refused_before_any_work(callbacks, said):
    from transformers import TrainerCallback

    class Spy(TrainerCallback):
        pass

    with pytest.raises(ConfigError, match=re.escape(said)):
        finetune("no-such-model", "pets", callbacks=Spy() if callbacks == "instance" else Spy, progress=False)


def test_the_record_says_no_warmup_under_a_schedule_that_takes_none(make_tiny_classifier, tokenizer, small_dataset,
                                                                   tmp_path):
    """lr_scheduler_type="constant" never warms up (the rate is the peak from step 1): the record says
    warmup 0, not the 0.1 that was passed and ignored; the linear schedule's record keeps 0.1."""
    result = finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
                      output_dir=tmp_path / "constant", progress=False, logging_steps=1, lr_scheduler_type="constant")
    assert {row["learning_rate"] for row in result.history["train"]} == {1e-4}  # no warmup happened
    record = json.loads((tmp_path / "constant" / "metrics.json").read_text())
    assert record["warmup"] == 0 and record["trainer_settings"]["lr_scheduler_type"] == "constant"
    assert "| warmup | 0 |" in (tmp_path / "constant" / "model" / "README.md").read_text()
    finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
             output_dir=tmp_path / "linear", progress=False)
    assert json.loads((tmp_path / "linear" / "metrics.json").read_text())["warmup"] == 0.1


def test_save_false_leaves_no_empty_output_folder(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
             output_dir=tmp_path / "unsaved", save=False, progress=False)
    assert not (tmp_path / "unsaved").exists()
    (tmp_path / "mine").mkdir()  # a folder that was there before stays, empty or not
    finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
             output_dir=tmp_path / "mine", save=False, progress=False)
    assert (tmp_path / "mine").is_dir()


def test_callbacks_none_or_a_generator_are_taken(make_tiny_classifier, tokenizer, small_dataset):
    from transformers import TrainerCallback

    seen = []

    class Spy(TrainerCallback):
        def on_train_end(self, args, state, control, **kwargs):
            seen.append(state.global_step)

    for callbacks in (None, (Spy() for _ in range(1))):
        finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
                 progress=False, callbacks=callbacks)
    assert len(seen) == 1 and seen[0] > 0  # the generator's callback ran


def test_training_stopped_by_ctrl_c_leaves_no_progress_bar_open(make_tiny_classifier, tokenizer, small_dataset):
    """finetune's training closes its bar however it ends: an open one was drawn again when Python
    collected it, after the command's message about what the interruption kept."""
    from tqdm import tqdm
    from transformers import TrainerCallback

    class CtrlC(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    before = set(tqdm._instances)  # bars other tests left for the collector
    with pytest.raises(KeyboardInterrupt):
        finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1, batch_size=4,
                 progress=True, save=False, callbacks=[CtrlC()])
    assert [bar.desc for bar in list(tqdm._instances) if bar not in before and not bar.disable] == []


def test_head_alone_stopped_by_ctrl_c_leaves_no_progress_bar_open(make_tiny_classifier, tokenizer, small_dataset,
                                                                  tmp_path, monkeypatch):
    """The head-alone phase closes its bar however it ends, as finetune's training does (the bar of
    an interrupted ``--recipe best`` run was drawn again below the command's last message)."""
    from sft_teach.callbacks import HistoryCallback, ProgressBar

    def ctrl_c(self, args, state, control, **kwargs):
        raise KeyboardInterrupt

    bars, opened = [], ProgressBar.on_train_begin

    def keep(self, *args, **kwargs):  # a reference of the test's own: the collector cannot close the bar
        opened(self, *args, **kwargs)
        bars.append(self.bar)

    monkeypatch.setattr(ProgressBar, "on_train_begin", keep)
    monkeypatch.setattr(HistoryCallback, "on_step_end", ctrl_c, raising=False)  # the phase takes no callbacks
    with pytest.raises(KeyboardInterrupt):
        train_head(make_tiny_classifier(), data.tokenize(small_dataset, tokenizer), tokenizer, tmp_path,
                   num_train_epochs=1, batch_size=4, progress=True)
    assert [bar.desc for bar in bars] == ["head alone"]
    assert bars[0].disable  # tqdm's close() sets it
