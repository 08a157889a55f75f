r"""ULMFiT (Howard & Ruder 2018) on today's stack: its three stages and its three techniques.

Stages: (1) general-domain language-model pretraining, (2) language-model fine-tuning on the
target task's own text, (3) classifier fine-tuning. The bundled model went through (1) (as a
masked LM, then further trained as a sentence encoder); :func:`lm_finetune` is stage (2) as
masked-language-model training on unlabelled text; :func:`sft_teach.training.finetune` is (3).

Techniques for stage (3), each switchable so they can be ablated one at a time:

* ``"discriminative"``: a learning rate per layer, :math:`\eta^{l-1} = \eta^l / 2.6` (Eq. 2 and the rule below it, Sec. 3.2), the
  head at the peak rate and each layer below divided once more by 2.6, from
  :func:`sft_teach.schedules.discriminative_param_groups`;
* ``"stlr"``: slanted triangular learning rates (Eq. 3; ``cut_frac = 0.1``, ``ratio = 32``),
  from :func:`sft_teach.schedules.stlr_scheduler`; without it, the recipe's linear warmup (10 %)
  and linear decay to 0;
* ``"gradual_unfreezing"``: the head alone for one epoch, then one more layer group per epoch
  from the top down, then everything (Sec. 3.3), :class:`sft_teach.callbacks.GradualUnfreezing`
  with :func:`epochs` for the run's length.

With STLR, one slanted triangle spans the whole run, as Eq. 3 defines it over the T training
iterations (the released code starts a new cycle at each unfreezing stage).

Taught in notebooks/04_ulmfit_techniques.ipynb.
"""

from __future__ import annotations

import math

TECHNIQUES = ("discriminative", "stlr", "gradual_unfreezing")
WEIGHT_DECAY = 0.01  # AdamW's decoupled decay in optimizers(): every weight, biases and LayerNorm included


def _checked(techniques) -> tuple:
    """The technique names, each one of :data:`TECHNIQUES`: a misspelt name would otherwise be
    skipped in silence, and a run labelled with a technique would train without it."""
    from sft_teach.errors import ConfigError

    if isinstance(techniques, str) or not hasattr(techniques, "__iter__"):  # "stlr": its letters, otherwise
        raise ConfigError(f"techniques takes a tuple of names, got {techniques!r}: e.g. ({techniques!r},)")
    unknown = sorted(set(techniques) - set(TECHNIQUES))
    if unknown:
        raise ConfigError(f"unknown technique(s) {unknown}: choose from {TECHNIQUES}")
    return tuple(techniques)


def optimizers(techniques, learning_rate: float, weight_decay: float = WEIGHT_DECAY, warmup: float = 0.1,
               factor: float = 2.6, cut_frac: float = 0.1, ratio: float = 32):
    """A ``finetune(optimizers=...)`` factory: ``(model, total_steps) -> (AdamW, scheduler)``."""
    techniques = _checked(techniques)

    def build(model, total_steps):
        import torch
        from transformers import get_linear_schedule_with_warmup

        from sft_teach.schedules import discriminative_param_groups, stlr_scheduler

        if "discriminative" in techniques:
            groups = discriminative_param_groups(model, learning_rate, factor, weight_decay)
        else:
            groups = [{"params": [p for p in model.parameters()], "lr": learning_rate, "weight_decay": weight_decay}]
        optimizer = torch.optim.AdamW([{k: v for k, v in g.items() if k != "name"} for g in groups], lr=learning_rate)
        if "stlr" in techniques:
            return optimizer, stlr_scheduler(optimizer, total_steps, cut_frac, ratio)
        return optimizer, get_linear_schedule_with_warmup(optimizer, math.ceil(warmup * total_steps), total_steps)

    return build


def callbacks(techniques, model) -> list:
    """The ``TrainerCallback`` s a set of techniques needs: gradual unfreezing, one group per epoch."""
    if "gradual_unfreezing" not in _checked(techniques):
        return []
    from sft_teach.callbacks import GradualUnfreezing

    return [GradualUnfreezing(model)]


def epochs(techniques, model, num_train_epochs: int) -> int:
    """Epochs a run with these techniques takes, if the others take ``num_train_epochs``.

    Gradual unfreezing as Sec. 3.3 defines it thaws one layer group per epoch, head first, "until
    we fine-tune all layers until convergence at the last iteration": with G layer groups, G - 1
    epochs pass before every group trains (7 for a 6-layer encoder: head, 6 layers, embeddings),
    then all groups train for the ``num_train_epochs`` the other configurations get. Those first
    epochs are cheaper (no backward pass below the thawed groups) but they are extra training.
    """
    if "gradual_unfreezing" not in _checked(techniques):
        return int(num_train_epochs)
    from sft_teach.models import layer_groups

    return len(layer_groups(model)) - 1 + int(num_train_epochs)


def lm_finetune(texts, output_dir, model: str = "default", num_train_epochs: int = 1, learning_rate: float = 1e-4,
                batch_size: int = 16, mlm_probability: float = 0.15, seed: int = 0, eval_texts=None) -> dict:
    """Stage 2: masked-language-model training of ``model`` on unlabelled ``texts``.

    15 % of the tokens are chosen; of those 80 % become ``[MASK]``, 10 % a random token and 10 %
    stay (Devlin et al. 2019); the loss is cross-entropy on the chosen positions only (labels
    -100 elsewhere). The bundled checkpoint has no masked-LM head (it was saved as a sentence
    encoder), so that head starts untrained. Saves the trained body, with the checkpoint's own
    pooler, and the tokenizer to ``output_dir`` (load it with ``load_classifier(output_dir,
    labels)``: only the new classifier is then untrained, as from ``model``); returns ``{"loss_before", "loss_after",
    "steps", "seconds"}``: the masked-LM loss on ``eval_texts`` (held-out text; default: the
    training texts), with the same masks before and after training.
    """
    import time

    import torch
    from datasets import Dataset
    from transformers import (AutoModel, AutoModelForMaskedLM, DataCollatorForLanguageModeling, PrinterCallback,
                              Trainer, TrainingArguments, set_seed)

    from sft_teach.errors import ConfigError, DataError
    from sft_teach.models import load_tokenizer, resolve_model
    from sft_teach.setting_checks import check_settings
    from sft_teach.trainer_arguments import shared_settings

    texts = [texts] if isinstance(texts, str) else list(texts)  # one text, not one text per letter
    if not texts:  # a ZeroDivisionError after loading the model, otherwise
        raise DataError("lm_finetune: no texts to train on: give the unlabelled texts, e.g. dataset['train']['text']")
    check_settings(num_train_epochs, learning_rate, batch_size, None)
    if not 0 < mlm_probability < 1:
        raise ConfigError(f"mlm_probability= is the share of tokens chosen to predict, between 0 and 1, got "
                          f"{mlm_probability}: BERT's is 0.15")
    set_seed(seed)
    tokenizer = load_tokenizer(model)
    lm = AutoModelForMaskedLM.from_pretrained(resolve_model(model))
    def encode(some):
        return Dataset.from_dict({"text": list(some)}).map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=128), batched=True, remove_columns=["text"])

    encoded = encode(texts)
    held_out = encoded if eval_texts is None else encode(eval_texts)
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability, seed=seed)

    def masked_loss():
        fixed = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability, seed=seed + 1)
        lm.eval()  # a fresh collator with its own seed: the same masks before and after training
        losses = []
        with torch.no_grad():
            for i in range(0, len(held_out), 64):
                batch = fixed([held_out[j] for j in range(i, min(i + 64, len(held_out)))])
                if (batch["labels"] != -100).any():  # a batch with no token chosen has no loss (nan)
                    losses.append(float(lm(**batch).loss))
        if not losses:
            raise DataError(f"lm_finetune: the held-out texts are too short for any of their tokens to be chosen "
                            f"({mlm_probability:.0%} are): give more text")
        return sum(losses) / len(losses)

    before = masked_loss()
    args = TrainingArguments(**shared_settings(output_dir, num_train_epochs=num_train_epochs, learning_rate=learning_rate,
                                               batch_size=batch_size, seed=seed, warmup=0.1, weight_decay=0.01,
                                               logging_strategy="no", data_seed=None))  # data order from seed alone
    trainer = Trainer(model=lm, args=args, train_dataset=encoded, data_collator=collate)
    trainer.remove_callback(PrinterCallback)  # no log dicts printed
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    after = masked_loss()
    # A masked LM has no pooler (BertForMaskedLM builds its body without one), while the classifier
    # reads the [CLS] token through the checkpoint's pooler. Saved as it is, the stage-2
    # model would give that classifier a random pooler, and a comparison with the bundled model
    # would measure the pooler as well as stage 2. So the body trained here is saved together
    # with the checkpoint's own pooler (the masked-LM head, needed only for this stage, is left out).
    body = AutoModel.from_pretrained(resolve_model(model))
    missing, unexpected = body.load_state_dict(lm.base_model.state_dict(), strict=False)
    assert not unexpected and all(name.startswith("pooler.") for name in missing), (missing, unexpected)
    body.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return {"loss_before": before, "loss_after": after, "steps": trainer.state.global_step, "seconds": seconds}
