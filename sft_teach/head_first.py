"""Training the new head first, on the frozen body's features, before fine-tuning everything:
"linear probing, then fine-tuning" (LP-FT; Kumar et al. 2022).

A randomly initialised head sends large, arbitrary gradients into the pretrained body during the
first steps of full fine-tuning; a head trained first on frozen features sends gradients that
already point towards the task, so the first updates to the body are driven by a head that points
the right way. :func:`sft_teach.training.finetune` runs this phase with ``head_epochs``. For BERT's
head, the frozen body's features are computed once and stored (:func:`first_token_features`), so the
phase costs one forward pass through the encoder however many epochs it trains.

Taught in notebooks/02_technical_recipe.ipynb (section 8); :func:`first_token_features` also in
notebooks/04_ulmfit_techniques.ipynb.
"""

from __future__ import annotations

from sft_teach import trainer_arguments
from sft_teach.errors import ConfigError


def head_parameters(model) -> list:
    """The parameters of the new head: above the last encoder layer (pooler and classifier).

    For a BERT-like model this is :func:`sft_teach.models.layer_groups`'s ``"head"``; for other
    architectures, everything outside the pretrained body (``model.base_model``).
    Taught in notebooks/02_technical_recipe.ipynb, section 8.
    """
    from sft_teach.models import layer_groups

    try:
        return layer_groups(model)["head"]
    except TypeError:
        body = {id(p) for p in model.base_model.parameters()}
        return [p for p in model.parameters() if id(p) not in body]


def first_token_features(model, split, tokenizer, batch_size: int = 64):
    """What the frozen body hands the head for each example of ``split``: ``(n_examples, hidden)``.

    A BERT-like classifier reads one vector per text, the last encoder layer's output at the
    first token ([CLS]), through its pooler and classifier. With the body frozen that vector never
    changes, so it is computed once, here, in eval mode (no dropout) and without gradients.
    The texts go through in order of length, so each batch pads only to similar lengths (on pets
    this halves the time of the pass); the rows come back in ``split``'s order.
    ``split``: tokenised (:func:`sft_teach.data.tokenize`).
    Taught in notebooks/02_technical_recipe.ipynb (section 8) and notebooks/04_ulmfit_techniques.ipynb.
    """
    import torch

    from sft_teach import data as data_mod
    from sft_teach.models import check_model, check_tokenizer, evaluation_mode
    from sft_teach.setting_checks import whole

    check_model(model, "first_token_features")
    data_mod.check_tokenised(split, "first_token_features", labels=False)
    check_tokenizer(tokenizer, "first_token_features")
    if not whole(batch_size, least=1):
        raise ConfigError(f"first_token_features: batch_size= must be a whole number of at least 1, got {batch_size!r}")
    collate = data_mod.collator(tokenizer)
    inputs = split.select_columns([c for c in split.column_names if c in tokenizer.model_input_names])
    lengths = [len(ids) for ids in inputs["input_ids"]]
    order = sorted(range(len(inputs)), key=lengths.__getitem__)  # shortest first; ties keep their order
    device = next(model.parameters()).device
    chunks = []
    with torch.no_grad(), evaluation_mode(model):
        for start in range(0, len(order), batch_size):
            batch = collate([inputs[i] for i in order[start:start + batch_size]])
            hidden = model.base_model(**batch.to(device)).last_hidden_state  # (batch, longest, hidden)
            chunks.append(hidden[:, 0].cpu())  # the first token's vector: (batch, hidden)
    features = torch.cat(chunks)  # (n_examples, hidden); check_tokenised refused an empty split
    result = torch.empty_like(features)
    result[torch.as_tensor(order, dtype=torch.long)] = features  # back to split's order
    return result


def has_bert_head(model) -> bool:
    """Whether ``model``'s head is BERT's, trained as a single-label classifier: pooler on the first
    token, dropout, linear classifier, cross-entropy.

    Other classifiers read their body differently (RoBERTa's head has no pooler, ALBERT's pooler is a
    bare linear layer), and BERT itself switches to another loss for regression or several labels
    per text, so only ``BertForSequenceClassification`` (all-MiniLM-L6-v2 is one) with two or more
    classes, one per text, qualifies. Taught in notebooks/02_technical_recipe.ipynb, section 8.
    """
    from transformers import BertForSequenceClassification

    return (type(model) is BertForSequenceClassification and model.base_model.pooler is not None
            and model.num_labels > 1 and model.config.problem_type in (None, "single_label_classification"))


def _head_on_features(model):
    """``model``'s own pooler, dropout and classifier (shared, not copied), fed stored features."""
    import torch

    class HeadOnFeatures(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pooler, self.dropout, self.classifier = model.base_model.pooler, model.dropout, model.classifier
            self.config = model.config  # Trainer reads a few settings from it

        def forward(self, features, labels=None):  # features: (batch, hidden), from first_token_features
            # BertForSequenceClassification's head: the pooler reads position 0 of a (batch, seq, hidden) input
            logits = self.classifier(self.dropout(self.pooler(features[:, None, :])))  # (batch, classes)
            loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
            return {"loss": loss, "logits": logits}

    return HeadOnFeatures()


def train_head(model, encoded, tokenizer, output_dir, *, num_train_epochs=3, learning_rate=1e-3, batch_size=16,
               seed=42, progress=True, **overrides) -> dict:
    """Train only the head of ``model`` on ``encoded["train"]``, the body frozen; return its history.

    The first phase of LP-FT (Kumar et al. 2022, "Fine-tuning can distort pretrained features
    and underperform out-of-distribution"): a randomly initialised head sends large, arbitrary
    gradients into the body during the first steps of full fine-tuning; a head trained first on
    frozen features sends gradients that already point towards the task. Only the head learns,
    so a larger learning rate is safe (default 1e-3, as for the head of notebook 06).

    For BERT's head (:func:`has_bert_head`) the body's features are computed once, for the whole
    training split (:func:`first_token_features`, no dropout in the body), and the head trains on
    them for ``num_train_epochs`` epochs (with its own dropout): one pass through the encoder
    however many epochs, instead of one per epoch. The batches are drawn at random (stored features
    have no padding for length-grouping to save). Any other head trains through the frozen body,
    every epoch. Which parameters were trainable, and whether the model was in training mode, are
    restored afterwards. No evaluation, no checkpoints. Taught in notebook 02, section 8.
    """
    from datasets import Dataset, DatasetDict
    from transformers import Trainer

    from sft_teach import data as data_mod
    from sft_teach.callbacks import HistoryCallback, one_progress_bar, progress_bars_closed
    from sft_teach.models import check_model, check_tokenizer

    check_model(model, "train_head")
    if not (isinstance(encoded, DatasetDict) and "train" in encoded):
        raise ConfigError(f"train_head takes the tokenised splits, a DatasetDict with 'train' "
                          f"(data.tokenize(dataset, tokenizer)), got {type(encoded).__name__}")
    data_mod.check_tokenised(encoded["train"], "train_head")
    check_tokenizer(tokenizer, "train_head")
    if not (num_train_epochs > 0 and learning_rate > 0):  # 0 epochs trained nothing and logged a loss of 0
        raise ConfigError(f"train_head needs num_train_epochs= and learning_rate= above 0, got {num_train_epochs} "
                          f"and {learning_rate}: e.g. 3 and 1e-3")
    history = HistoryCallback()
    settings = dict(num_train_epochs=num_train_epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed,
                    progress=progress, **{"eval_strategy": "no", **overrides})  # saves nothing
    head = {id(p) for p in head_parameters(model)}
    before = [(p, p.requires_grad) for p in model.parameters()]
    was_training = model.training
    for p, _ in before:
        p.requires_grad = id(p) in head
    try:
        if has_bert_head(model):
            # data-parallel: every process computes all the features, and accelerate's seeded random
            # sampler gives every process the same order, so their shares do not overlap
            args = trainer_arguments.training_arguments(output_dir,
                                                        **{**settings, "train_sampling_strategy": "random"})
            model.to(args.device)  # where Trainer would put it: the features are computed there
            train = encoded["train"]
            stored = Dataset.from_dict({"features": first_token_features(model, train, tokenizer).numpy(),
                                        "labels": train["labels"]}).with_format("torch")
            trainer = Trainer(model=_head_on_features(model), args=args, train_dataset=stored, callbacks=[history])
        else:
            args = trainer_arguments.training_arguments(output_dir, **settings)
            trainer = Trainer(model=model, args=args, train_dataset=encoded["train"], processing_class=tokenizer,
                              data_collator=data_mod.collator(tokenizer), callbacks=[history])
            trainer.loss_is_scaled_for_ga = False  # its loss is a batch mean: see finetune
            if args.world_size > 1:
                from sft_teach.callbacks import SameShuffleOnEveryProcess

                trainer.add_callback(SameShuffleOnEveryProcess())
        one_progress_bar(trainer, progress, desc="head alone")
        with progress_bars_closed(trainer):
            trainer.train()
    finally:
        for p, trainable in before:
            p.requires_grad = trainable
        model.train(was_training)
    return {"train": history.train, "steps": trainer.state.global_step}
