"""The course's exercises as data: the task in words, the test cases, how answers are compared,
and the mistakes worth a hint. :mod:`sft_teach.exercises` turns each entry into an ``Exercise``.

Test cases are built when an answer is checked (not on import) from fixed seeds, so every
check sees the same numbers. Each list ends with an edge case: one token, one layer, an empty
list, a split with nothing to put aside.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb to notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from sft_teach import exercise_solutions as reference
from sft_teach.exercise_checks import array, exact, mapping, number, same_items, show


def _unit(rows):
    rows = np.asarray(rows, dtype=float)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def _normal(text):
    return " ".join(text.lower().split())


def _split_compare(got, expected):
    """A (train, test) pair with every distinct text once, on one side only, and about the expected test size."""
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(p, (list, tuple)) for p in got)):
        return f"returned {show(got)}; expected a pair of lists: (train_texts, test_texts)."
    train, test = [_normal(t) for t in got[0]], [_normal(t) for t in got[1]]
    both = sorted(set(train) & set(test))
    if both:
        return f"puts {both[0]!r} in both train and test: that is leakage. Deduplicate before you split."
    for side, texts in (("train", train), ("test", test)):
        repeated = next((t for t in texts if texts.count(t) > 1), None)
        if repeated:
            return f"keeps {repeated!r} twice in {side}: compare texts after lower-casing and collapsing spaces."
    wanted = {_normal(t) for t in [*expected[0], *expected[1]]}
    lost, extra = sorted(wanted - set(train + test)), sorted(set(train + test) - wanted)
    if lost or extra:
        change = f"lost {lost[0]!r}" if lost else f"added {extra[0]!r}"
        return f"{change}: every distinct text belongs in one split."
    if abs(len(test) - len(expected[1])) > 1:
        return f"puts {len(test)} of the {len(wanted)} distinct texts in test; expected {len(expected[1])}."
    return None


def _embedding_cases():
    rng = np.random.default_rng(0)
    return [(rng.normal(size=(3, 4)),), (rng.normal(size=(14, 384)),), (np.array([[3.0, 4.0]]),)]


def _nearest_cases():
    rng = np.random.default_rng(1)
    train = _unit([[1, 0], [0, 1], [0.6, 0.8]])
    return [(_unit([[0.8, 0.6], [0.96, -0.28]]), train, np.array([0, 1, 1])),
            (_unit(rng.normal(size=(6, 8))), _unit(rng.normal(size=(12, 8))), rng.integers(0, 2, 12)),
            (_unit(rng.normal(size=(1, 8))), _unit(rng.normal(size=(5, 8))), np.array([0, 1, 0, 1, 1]))]


def _drift_cases():
    w = np.random.default_rng(3).normal(size=(4, 3))
    noise = np.random.default_rng(4).normal(0, 0.05, w.shape)
    return [(w, w * 1.1), (w, w + noise), (w, w.copy()), (np.array([1.0, -2.0, 2.0]), np.array([1.0, -2.0, 2.3]))]


def _lora_cases(merged=False):
    rng = np.random.default_rng(6)
    x, w0 = rng.normal(size=(4, 5)), rng.normal(size=(3, 5))
    a, b = rng.normal(size=(2, 5)), rng.normal(size=(3, 2))
    a1, b1 = rng.normal(size=(1, 5)), rng.normal(size=(3, 1))
    square = [rng.normal(size=s) for s in ((2, 4), (4, 4), (2, 4), (4, 2))]
    # alpha / r whole in the first cases, 1.5 in the last: alpha // r would pass the others
    cases = [(x, w0, a, b, 4.0), (x, w0, a1, b1, 1.0), (*square, 16.0), (x, w0, a, np.zeros((3, 2)), 8.0),
             (x, w0, a, b, 3.0)]
    return [c[1:] for c in cases] if merged else cases


def _micro_batch_cases():
    """Optimiser steps of gradient accumulation: lists of ``(logits, labels)`` micro-batches of
    different lengths and numbers of answer tokens (then the mean of their means is not the step's)."""
    rng = np.random.default_rng(7)

    def micro_batch(rows, length, prompt, vocab=7):
        logits = rng.normal(size=(rows, length, vocab))  # (rows, length, vocab)
        labels = rng.integers(0, vocab, size=(rows, length))  # (rows, length)
        labels[:, :prompt] = -100  # the prompt
        return logits, labels

    one = micro_batch(2, 6, 3)
    one[1][1, 5] = -100  # padding
    short, long = micro_batch(2, 9, 7), micro_batch(1, 14, 2)  # 2 x 2 answer tokens, then 12
    cut = micro_batch(2, 5, 3)
    cut[1][:] = -100  # a micro-batch whose answers were all cut off: it adds nothing to the step
    with_cut = [micro_batch(1, 8, 6), cut, micro_batch(3, 7, 2)]
    # rows whose first label is a token: no position predicts it, and flattening the rows before the
    # shift would let the row above's last logit predict it
    unmasked_start = micro_batch(3, 5, 0)
    return [([one],), ([short, long],), ([unmasked_start, short],), (with_cut,)]


def _answer_tokens(micro_batches) -> int:
    return sum(int((labels[:, 1:] != -100).sum()) for _, labels in micro_batches)


PETS_GROUPS = ["embeddings", *[f"layer.{i}" for i in range(6)], "head"]
MESSAGES = [{"role": "user", "content": "Is this note about a cat or a dog?\n\nKneads the blanket."},
            {"role": "assistant", "content": "cat"}]
DESK_TEXTS = ["Can I pay in two parts?", "can i pay in  two parts?", "Is the vet in on Sunday?", "My dog ate a sock.",
              "my dog ate a sock.", "Nail trim on Friday?", "Bramble needs a groom.", "Where do I park?",
              "The cat is sneezing.", "Do you sell flea spray?", "Is the vet in on Sunday?", "What are your hours?"]

def _stlr_p_unguarded(t, T, cut_frac=0.1, ratio=32):
    """The known mistake of 04-stlr: cut kept at least 1, but p left to fall below 0 (Eq. 3 as printed)."""
    cut = max(1, math.floor(T * cut_frac))
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return (1 + p * (ratio - 1)) / ratio


CATALOGUE = [
    dict(id="01-sentence-embedding", notebook="01_beginner_cats_and_dogs.ipynb", name="note_embedding",
         title="One embedding for a whole note",
         task="Write `note_embedding(per_token)`. It takes the model's output for one note, a NumPy array of shape "
              "`(tokens, hidden)` with one row per token, and returns the note's embedding: the average of the rows, "
              "scaled to length 1, an array of shape `(hidden,)`.",
         hint="`per_token.mean(axis=0)` averages the rows; `np.linalg.norm(v)` is the length of `v`.",
         imports="import numpy as np", cases=_embedding_cases, compare=array(1e-6),
         mistakes=((lambda x: x.mean(axis=0), "the average is right; now divide it by its length."),)),
    dict(id="01-nearest-label", notebook="01_beginner_cats_and_dogs.ipynb", name="nearest_neighbour_labels",
         title="A head that needs no training: the nearest note's label",
         task="Before training any head, section 2 guessed each test note's label from the most similar training "
              "note. Write `nearest_neighbour_labels(test_vectors, train_vectors, train_labels)`: embeddings of "
              "length 1 in the rows of `test_vectors` `(n_test, hidden)` and `train_vectors` `(n_train, hidden)`, "
              "and the training labels `(n_train,)`. Return an array `(n_test,)`: for each test note, the label of "
              "the training note with the highest cosine similarity.",
         hint="For vectors of length 1, all cosine similarities at once are `test_vectors @ train_vectors.T`.",
         imports="import numpy as np", cases=_nearest_cases, compare=array(0),
         mistakes=((lambda t, v, y: np.asarray(y)[(t @ v.T).argmin(axis=1)],
                    "that is the *least* similar training note: the highest similarity, `test_vectors @ "
                    "train_vectors.T`, is its `argmax`; the smallest distance is its `argmin`."),
                   (lambda t, v, y: (t @ v.T).argmax(axis=1),
                    "those are the positions of the nearest training notes: return their labels, "
                    "`train_labels[positions]`."))),
    dict(id="02-training-steps", notebook="02_technical_recipe.ipynb", name="training_steps",
         title="How many optimiser steps, with gradient accumulation?",
         task="`steps_per_epoch` above counted one optimiser step per batch. With `gradient_accumulation_steps=N` "
              "(`--grad-accum N` on the command line), `Trainer` adds up the gradients of N batches before each "
              "step, so 16 notes a batch with N = 4 update the weights much as a batch of 64 would, in the memory of 16. "
              "Write `training_steps(num_examples, batch_size, num_train_epochs, grad_accum=1)`: the optimiser "
              "steps `Trainer` takes on one device. An epoch's last batch may hold fewer than `batch_size` "
              "examples, and its last group fewer than `grad_accum` batches: each is still a batch, and a step. "
              "`num_train_epochs` may be a fraction (0.5: half an epoch's steps, rounded up, as `Trainer` does).",
         hint="Count an epoch's batches first, as `steps_per_epoch` does; then its groups of `grad_accum` batches.",
         imports="import math",
         cases=lambda: [(714, 16, 3), (714, 16, 3, 4), (704, 16, 1, 4), (160, 16, 4, 3), (17, 16, 1, 4),
                        (10, 32, 2, 8), (100, 8, 2, 5), (714, 16, 0.5), (714, 16, 2.5, 4)],
         compare=number(0),
         mistakes=((lambda n, b, e, a=1: math.ceil(n / b) * e,
                    "that counts every batch as a step: divide an epoch's batches by `grad_accum`."),
                   (lambda n, b, e, a=1: math.ceil(math.ceil(n / b) * e),
                    "that counts every batch as a step: divide an epoch's batches by `grad_accum`."),
                   (lambda n, b, e, a=1: n // b // a * e,
                    "an epoch's last, smaller batch is a batch too: round *up* (`math.ceil`)."),
                   (lambda n, b, e, a=1: math.ceil(n / b) // a * e,
                    "an epoch's last, smaller group of batches is a step too: round *up* (`math.ceil`)."),
                   (lambda n, b, e, a=1: max(1, math.ceil(n / b) // a) * e,
                    "an epoch's last, smaller group of batches is a step too: round *up* (`math.ceil`)."),
                   (lambda n, b, e, a=1: math.ceil(math.ceil(n / b) * e / a),
                    "every epoch ends with its own group: round up per epoch, then multiply by the epochs."),
                   (lambda n, b, e, a=1: math.ceil(n * e / (b * a)),
                    "every epoch ends with its own smaller batch: count an epoch's batches and groups, rounding "
                    "up, then multiply by the epochs."))),
    dict(id="02-peak-reached", notebook="02_technical_recipe.ipynb", name="peak_fraction",
         title="Does the learning rate reach its peak?",
         task="Write `peak_fraction(total_steps, warmup_steps)`: the highest learning rate the `\"linear\"` "
              "schedule reaches in a run of `total_steps` optimiser steps (numbered 0 to `total_steps` − 1), as a "
              "fraction of the peak rate you asked for. `warmup_steps` is what you would pass to "
              "`TrainingArguments`: a number of steps (`Trainer` cuts 1.5 down to 1, `int`), or a float in "
              "[0, 1), a fraction of the run that `Trainer` rounds up to whole steps (`math.ceil`). For "
              "`warmup_steps=500` on this notebook's 135 steps, the schedule cell above printed 27 %.",
         hint="The rate at step t is t / warmup of the peak while t < warmup; from step `warmup` on it falls. "
              "Which step of the run is the highest?",
         imports="import math",
         cases=lambda: [(135, 500), (135, 0.1), (10, 10), (10, 11), (7, 0.5), (50, 0), (1, 5), (200, 0.0),
                        (10, 0.92), (3, 0.7), (10, 10.5)],
         compare=number(1e-6),
         mistakes=((lambda t, w: 1.0, "a warmup longer than the run never gets there: the last step is the highest."),
                   (lambda t, w: min(1.0, t / (w if w >= 1 else math.ceil(t * w) or 1)),
                    "the run's last step is `total_steps` − 1: the rate there is (`total_steps` − 1) / warmup of "
                    "the peak."))),
    dict(id="02-macro-f1", notebook="02_technical_recipe.ipynb", name="macro_f1", title="Macro-F1 by hand",
         task="Write `macro_f1(labels, predictions)` for two equally long sequences of class ids, without sklearn. "
              "For every class that occurs in either, F1 = 2 TP / (2 TP + FP + FN) (the same as 2PR / (P + R), and "
              "0 when the class is never predicted right); return the plain mean of these F1 scores as a float.",
         hint="`np.asarray(labels) == c` marks the examples of class `c`; combine such masks with `&`.",
         imports="import numpy as np",
         cases=lambda: [([0, 1, 0, 1], [0, 1, 0, 1]), ([0] * 8 + [1] * 2, [0] * 10),
                        ([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]), ([0, 0, 1, 1], [0, 2, 1, 1])],
         compare=number(1e-6),
         mistakes=((lambda y, p: float(np.mean(np.asarray(y) == np.asarray(p))),
                    "that is the accuracy (micro-F1); average the per-class F1 scores instead."),)),
    dict(id="03-layer-plan", notebook="03_transfer_learning.ipynb", name="layer_plan",
         title="Yosinski's AnB and AnB+, layer by layer",
         task="Write `layer_plan(n, variant, num_blocks=6)` for a network that keeps the first `n` pretrained "
              "blocks; `variant` is `\"AnB\"` or `\"AnB+\"`. Return a dict that maps each of `\"embeddings\"`, "
              "`\"layer.0\"` ... `\"layer.{num_blocks - 1}\"`, `\"pooler\"` and `\"classifier\"` to one of "
              "`\"pretrained, frozen\"`, `\"pretrained, trained\"` or `\"random, trained\"` (\"pretrained\": the "
              "checkpoint's weights, kept):\n\n"
              "- the kept blocks are frozen in AnB and trained in AnB+; the blocks above them are random and trained;\n"
              "- the embeddings are always kept, like the kept blocks (even at `n = 0`, as the course does);\n"
              "- the pooler (the dense layer between the top block's first token and the classifier) always trains; "
              "it keeps the checkpoint's weights only when every block is kept, as "
              "`sft_teach.layers.reinitialise_above` does;\n"
              "- the classifier is always new.",
         cases=lambda: [(3, "AnB"), (3, "AnB+"), (0, "AnB"), (6, "AnB"), (6, "AnB+"), (2, "AnB", 4)], compare=mapping(),
         mistakes=((lambda n, v, b=6: reference.layer_plan(
             n, "AnB" if v == "AnB+" else "AnB+", b), "AnB freezes the kept blocks; AnB+ fine-tunes them too."),)),
    dict(id="03-relative-change", notebook="03_transfer_learning.ipynb", name="relative_change",
         title="How far did a weight matrix move?",
         task="Write `relative_change(before, after)` for two NumPy arrays of the same shape (a weight matrix "
              "before and after fine-tuning): the Frobenius norm of the change divided by the norm of the weights "
              "before, ‖after − before‖ / ‖before‖, as a float.",
         hint="`np.linalg.norm(m)` is the Frobenius norm of a matrix (and the length of a vector).",
         imports="import numpy as np",
         cases=_drift_cases,
         compare=number(1e-6),
         mistakes=((lambda b, a: abs(np.linalg.norm(a) - np.linalg.norm(b)) / np.linalg.norm(b),
                    "that compares the two sizes; take the norm of the *difference* instead."),
                   (lambda b, a: np.linalg.norm(a - b), "divide by the norm of the weights before."))),
    dict(id="04-discriminative-rates", notebook="04_ulmfit_techniques.ipynb", name="discriminative_rates",
         title="Discriminative learning rates (Eq. 2)",
         task="Write `discriminative_rates(layers, top_lr, factor=2.6)`. `layers` lists layer names from the "
              "bottom (nearest the input) to the top. Return a dict name → learning rate: the top layer (the last "
              "name) gets `top_lr`, and each layer below gets the rate of the layer above divided by `factor`.",
         cases=lambda: [(["a", "b", "c"], 0.01), (PETS_GROUPS[:-1], 3e-4), (["x", "y"], 1.0, 2.0), (["only"], 1e-3)],
         compare=mapping(number(1e-6)),
         mistakes=((lambda ls, lr, f=2.6: {n: lr / f ** d for d, n in enumerate(ls)},
                    "the *top* layer (the last name) gets `top_lr`; the rates shrink going down."),
                   (lambda ls, lr, f=2.6: {n: lr / f ** (d + 1) for d, n in enumerate(reversed(ls))},
                    "the top layer itself gets `top_lr`, undivided."),
                   (lambda ls, lr, f=2.6: {n: lr * f ** d for d, n in enumerate(reversed(ls))},
                    "lower layers learn more *slowly*: divide by the factor."))),
    dict(id="04-stlr", notebook="04_ulmfit_techniques.ipynb", name="stlr_multiplier",
         title="Slanted triangular learning rates on any run (Eq. 3)",
         task="The cell above builds Eq. 3 as printed, for a run of 40 steps. On other runs it breaks at both "
              "ends. When T · cut_frac < 1, cut is 0: no step rises, and the fall divides by zero. When T is not a "
              "multiple of 1 / cut_frac, the floor can make cut too small, so the fall is too steep: p drops below "
              "0 in the last steps, taking the multiplier below 1 / ratio (at T = 45 the last step's is −0.076: a negative "
              "learning rate, which climbs the loss). Write `stlr_multiplier(t, T, cut_frac=0.1, ratio=32)`: "
              "η_t / η_max at step `t` (0-based) of `T` steps, by Eq. 3, but with cut at least 1 and p at least 0 "
              "(keep Eq. 3's fall, over cut · (1 / cut_frac − 1) steps: the two guards are the whole fix).",
         hint="Start from `stlr_inline` above: a guard on cut and one on p are all it needs.",
         imports="import math",
         cases=lambda: [(0, 40), (4, 40), (39, 40), (44, 45), (40, 45), (3, 45), (98, 99), (0, 5), (4, 5),
                        (100, 1000), (60, 100, 0.2, 8), (5, 7, 0.2, 8)],
         compare=number(1e-6),
         mistakes=((_stlr_p_unguarded,
                    "p falls below 0 at the end of this run: keep it at least 0 (`max(0.0, ...)`), so the rate "
                    "never goes below η_max / ratio."),
                   (lambda t, T, c=0.1, r=32: reference.stlr_multiplier(t, T, c, r) * r,
                    "that is 1 + p (ratio − 1); divide by `ratio`: at the peak the multiplier is 1."),
                   (lambda t, T, c=0.1, r=32: (reference.stlr_multiplier(t, T, c, r) * r - 1) / (r - 1),  # p itself
                    "that is p; the multiplier is (1 + p (ratio − 1)) / ratio, never below 1/ratio."))),
    dict(id="04-gradual-unfreezing", notebook="04_ulmfit_techniques.ipynb", name="unfrozen_groups",
         title="Gradual unfreezing: which groups train in an epoch?",
         task="Write `unfrozen_groups(epoch, groups, per_epoch=1)`. `groups` lists the layer groups from the "
              "bottom to the top (the head last); `epoch` counts from 0. In the first epoch only the top "
              "`per_epoch` groups train, and each later epoch thaws `per_epoch` more, going down, until all train. "
              "Return the list of the groups that train in `epoch` (in any order).",
         cases=lambda: [(0, PETS_GROUPS), (2, PETS_GROUPS), (1, PETS_GROUPS, 2), (10, PETS_GROUPS), (0, ["only"])],
         compare=same_items(),
         mistakes=((lambda e, g, k=1: g[:min(len(g), (e + 1) * k)], "thaw from the *top*: the head first."),
                   (lambda e, g, k=1: list(reversed(g))[:e * k], "epoch 0 is the first epoch: the top group already "
                                                                  "trains in it."))),
    dict(id="05-extra-rows", notebook="05_your_own_data.ipynb", name="extra_rows",
         title="How many rows would deduplication remove?",
         task="Write `extra_rows(texts)` for a list of strings: how many rows deduplication removes, keeping the "
              "first of each text. Two texts are the same when they are equal after lower-casing and collapsing "
              "runs of spaces, as `same` compares them above (these cases are plain text, which `printed` "
              "leaves as it is). A text that occurs three times is two extra rows.",
         cases=lambda: [(["a cat", "A  cat", "a dog"],), (["x", "x", "x"],),
                        (["Hello there.", "hello there. ", "Hello there!", "Bye", "bye", "BYE "],), ([],)],
         compare=number(0),
         mistakes=((lambda t: len(t) - len(set(t)), "compare texts after `\" \".join(text.lower().split())`."),
                   (lambda t: sum(1 for s in {_normal(x) for x in t} if [_normal(x) for x in t].count(s) > 1),
                    "count the extra rows, not the texts that repeat."))),
    dict(id="05-dedup-split", notebook="05_your_own_data.ipynb", name="deduplicated_split",
         title="A split without leakage",
         task="Write `deduplicated_split(texts, test_fraction=0.2, seed=0)`: return `(train_texts, test_texts)`, "
              "two lists in which every distinct text (compared after lower-casing and collapsing spaces) appears "
              "exactly once, on one side only, with `round(test_fraction × number of distinct texts)` of them in "
              "test, shuffled with `random.Random(seed)` so that the same seed gives the same split.",
         hint="The order is the lesson: deduplicate first, then split.", imports="import random",
         cases=lambda: [(DESK_TEXTS, 0.2, 0), (DESK_TEXTS, 0.5, 1),
                        ([f"Note {i}" if i % 2 else f"NOTE  {i - 1}" for i in range(40)], 0.25, 2),
                        (["Same text", "same text", "SAME  text"], 0.0, 0)],
         compare=_split_compare, seed="seed", unchanged=True),
    dict(id="06-lora-forward", notebook="06_lora.ipynb", name="lora_forward", title="A LoRA layer's forward pass",
         task="Write `lora_forward(x, W0, A, B, alpha)`: h = W0 x + (alpha / r) B A x for a batch. `x` is "
              "`(batch, d_in)`, `W0` `(d_out, d_in)`, `A` `(r, d_in)`, `B` `(d_out, r)`; the rank r is not "
              "passed, read it from `A`. Return `(batch, d_out)`. NumPy arrays here; the same code works on "
              "torch tensors.",
         hint="With the examples in rows, W0 x becomes `x @ W0.T`.", imports="import numpy as np",
         cases=_lora_cases, compare=array(1e-6),
         mistakes=((lambda x, w, a, b, al: x @ w.T + x @ a.T @ b.T, "scale the update by alpha / r."),
                   (lambda x, w, a, b, al: x @ w.T + al * a.shape[0] * (x @ a.T @ b.T), "the scale is alpha / r."))),
    dict(id="06-lora-parameters", notebook="06_lora.ipynb", name="lora_parameters",
         title="How many numbers does LoRA train?",
         task="Write `lora_parameters(shapes, r)`: `shapes` lists the `(d_out, d_in)` of every adapted weight "
              "matrix; return how many numbers the rank-`r` adapters on them train (A and B, nothing else).",
         cases=lambda: [([(384, 384)] * 12, 4), ([(1536, 384)], 8), ([(384, 384), (1536, 384)], 2), ([(2, 3)], 1),
                        ([], 16)],
         compare=number(0),
         mistakes=((lambda s, r: sum(r * o * i for o, i in s), "A is (r, d_in) and B is (d_out, r): "
                                                                "r (d_in + d_out) numbers, not r d_in d_out."),
                   (lambda s, r: sum(2 * r * i for o, i in s), "B has d_out rows: it differs from d_in when the "
                                                               "matrix is not square."))),
    dict(id="06-merge", notebook="06_lora.ipynb", name="merged_weight", title="Merge the adapter into the weight",
         task="Write `merged_weight(W0, A, B, alpha)`: the `(d_out, d_in)` weight W0 + (alpha / r) B A that "
              "computes in one matrix what the frozen weight and the adapter compute together (r from `A`).",
         imports="import numpy as np", cases=lambda: _lora_cases(merged=True), compare=array(1e-6),
         mistakes=((lambda w, a, b, al: w + b @ a, "scale B A by alpha / r."),)),
    dict(id="07-chat-template", notebook="07_instruction_sft.ipynb", name="render_chatml",
         title="The chat template in plain Python",
         task="Write `render_chatml(messages, add_generation_prompt=False)`: the ChatML string of a list of "
              "`{\"role\", \"content\"}` messages, as the template above renders it: every message is "
              "`<|im_start|>` + role + a newline + content + `<|im_end|>` + a newline; with "
              "`add_generation_prompt=True`, `<|im_start|>assistant` and a newline follow.",
         cases=lambda: [(MESSAGES,), (MESSAGES[:1], True), ([{"role": "system", "content": "Answer briefly."},
                                                             *MESSAGES],), ([], True)],
         compare=exact(),
         mistakes=((lambda m, g=False: "".join(f"<|im_start|>{x['role']}\n{x['content']}<|im_end|>" for x in m)
                    + ("<|im_start|>assistant\n" if g else ""),
                    "each message ends with `<|im_end|>` and a newline."),)),
    dict(id="07-mask-labels", notebook="07_instruction_sft.ipynb", name="mask_turns",
         title="The labels of a conversation with several answers",
         task="Section 4 masked a conversation with one answer: every token before it got -100. A conversation "
              "of several turns has several answers. SFT labels each of them (with the `<|im_end|>` that closes "
              "it) and masks everything else: the system prompt, the user turns, the markers that open each turn "
              "(what `trl`'s `assistant_only_loss=True` does, reading where each answer is from the template's "
              "`{% generation %}` markers). Write "
              "`mask_turns(input_ids, answers)`: `answers` lists the `(start, end)` positions of each answer's "
              "tokens, half-open like a slice (`input_ids[start:end]` is the answer, its closing `<|im_end|>` "
              "included). Return a new list, as long "
              "as `input_ids`: the token id itself inside every answer, -100 everywhere else. Leave `input_ids` "
              "unchanged.",
         hint="Start from a list of -100s as long as `input_ids`, then copy each answer's slice into it.",
         cases=lambda: [([5, 6, 7, 8, 9], [(3, 5)]), ([11, 12, 13, 14, 15, 16, 17, 18, 19, 20], [(2, 4), (7, 9)]),
                        ([1, 2, 3], []), ([1, 2, 3], [(0, 3)]), ([4, 5, 6, 7], [(1, 2), (3, 4)])],
         compare=exact(), unchanged=True,
         mistakes=((lambda ids, spans: [-100 if any(s <= i < e for s, e in spans) else t for i, t in enumerate(ids)],
                    "the *answers* keep their ids; everything else gets -100."),
                   (lambda ids, spans: [t if any(s <= i <= e for s, e in spans) else -100 for i, t in enumerate(ids)],
                    "each range is half-open, like a slice: position `end` is not in the answer."),
                   (lambda ids, spans: [t if spans and spans[0][0] <= i < spans[0][1] else -100
                                        for i, t in enumerate(ids)],
                    "every answer keeps its ids, not only the first."))),
    dict(id="07-masked-loss", notebook="07_instruction_sft.ipynb", name="accumulated_loss",
         title="The loss of an accumulated step",
         task="Section 4's loss is a mean over one batch's answer tokens. With gradient accumulation "
              "(`gradient_accumulation_steps`, notebook 02), one optimiser step adds up the gradients of "
              "several micro-batches, and each holds its own number of answer tokens. Write "
              "`accumulated_loss(micro_batches)` in NumPy: `micro_batches` is a list of `(logits, labels)` "
              "pairs, each shaped as in section 4 (`logits` `(batch, seq_len, vocab)`, `labels` `(batch, seq_len)` "
              "aligned with the inputs, -100 where there is no target; the logits at t predict the token at "
              "t + 1), and `seq_len` differs from one micro-batch to the next. Return, as a float, the step's "
              "loss as one batch holding all of them would give it: the mean of −log softmax(logits)[target] "
              "over every answer token of every micro-batch. transformers' `Trainer` has done this since "
              "version 4.46 (October 2024; the releases after it corrected details): it counts the step's "
              "answer tokens first (`num_items_in_batch`).",
         hint="For each micro-batch, add up −log p of its answer tokens and count them; divide the total of "
              "the sums by the total of the counts. log softmax(z) = z − log Σ exp(z) along the last axis; "
              "`np.take_along_axis` picks one entry per row.",
         imports="import numpy as np", cases=_micro_batch_cases, compare=number(1e-6),
         mistakes=((lambda mbs: float(np.mean([reference.accumulated_loss([mb]) for mb in mbs])),
                    "the mean of the micro-batches' means weighs a micro-batch with few answer tokens as much "
                    "as one with many (`Trainer` did so before transformers 4.46): add up the sums, then divide by the "
                    "step's number of answer tokens."),
                   (lambda mbs: reference.accumulated_loss(mbs) * _answer_tokens(mbs)
                    / sum(labels[:, 1:].size for _, labels in mbs),
                    "divide by the number of answer tokens (targets that are not -100), not by every position."),
                   (lambda mbs: reference.accumulated_loss(
                       [(np.concatenate([z, z[:, :1]], axis=1), np.concatenate([np.full_like(y[:, :1], -100), y], axis=1))
                        for z, y in mbs]),
                    "the logits at position t predict the token at t + 1: shift by one."))),
]
