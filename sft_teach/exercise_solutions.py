"""Reference solutions of the course's coding exercises (see :mod:`sft_teach.exercises`).

Kept apart from the exercises so that the student edition of the notebooks never shows
them. Each function is written the way a learner could write it in the notebook: the
teacher edition of an exercise cell is that function's source, preceded by the same
imports as the student's cell (numpy as ``np``, ``math``). The tests check every function
here against an independent oracle (``sklearn.metrics``, ``sft_teach.schedules``,
``sft_teach.masking``, ``sft_teach.lora``, ``sft_teach.chat``, ...).

Taught in notebooks/01_beginner_cats_and_dogs.ipynb to notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

import math
import random

import numpy as np


# ---- 01: embeddings of a frozen model ---------------------------------------------------------

def note_embedding(per_token):
    average = per_token.mean(axis=0)  # (hidden,): one row for the whole note
    return average / np.linalg.norm(average)  # length 1: only the direction counts


def nearest_neighbour_labels(test_vectors, train_vectors, train_labels):
    # (test, train) cosine similarities: all the vectors have length 1
    similarity = test_vectors @ train_vectors.T
    nearest = similarity.argmax(axis=1)  # the most similar training note, per test note
    return np.asarray(train_labels)[nearest]


# ---- 02: the recipe's arguments, and evaluation -----------------------------------------------

def training_steps(num_examples, batch_size, num_train_epochs, grad_accum=1):
    batches = math.ceil(num_examples / batch_size)  # an epoch's last, smaller batch is a batch too
    steps_per_epoch = math.ceil(batches / grad_accum)  # and its last, smaller group a step
    # half an epoch: half its steps, rounded up
    return math.ceil(num_train_epochs * steps_per_epoch)


def peak_fraction(total_steps, warmup_steps):
    # what Trainer does with warmup_steps: a whole number as it is, a fraction of the run rounded up
    warmup = int(warmup_steps) if warmup_steps >= 1 else math.ceil(total_steps * warmup_steps)
    if warmup < total_steps:
        return 1.0  # step `warmup` is at the peak; the rate falls after it
    return (total_steps - 1) / warmup  # still rising at the last step, total_steps - 1


def macro_f1(labels, predictions):
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    f1s = []
    for c in np.union1d(labels, predictions):  # every class that occurs, true or predicted
        tp = np.sum((predictions == c) & (labels == c))
        fp = np.sum((predictions == c) & (labels != c))
        fn = np.sum((predictions != c) & (labels == c))
        f1s.append(2 * tp / (2 * tp + fp + fn))  # = 2PR / (P + R), and 0 when tp = 0
    return float(np.mean(f1s))  # every class counts the same, however rare


# ---- 03: transfer, layer by layer --------------------------------------------------------------

def layer_plan(n, variant, num_blocks=6):
    trains_kept = variant == "AnB+"  # AnB freezes what it keeps, AnB+ fine-tunes it
    kept = "pretrained, trained" if trains_kept else "pretrained, frozen"
    plan = {"embeddings": kept}
    for i in range(num_blocks):
        plan[f"layer.{i}"] = kept if i < n else "random, trained"
    # the pooler trains with the head; it sat on the top block, so it is re-drawn with any
    # block above n
    plan["pooler"] = "pretrained, trained" if n == num_blocks else "random, trained"
    plan["classifier"] = "random, trained"
    return plan


def relative_change(before, after):
    return float(np.linalg.norm(after - before) / np.linalg.norm(before))  # Frobenius norms


# ---- 04: ULMFiT's techniques ---------------------------------------------------------------------

def discriminative_rates(layers, top_lr, factor=2.6):
    rates = {}
    for depth, name in enumerate(reversed(layers)):  # depth 0 is the top layer
        rates[name] = top_lr / factor ** depth  # eta^(l-1) = eta^l / 2.6
    return rates


def stlr_multiplier(t, T, cut_frac=0.1, ratio=32):
    # a run shorter than 1 / cut_frac steps still rises for a step
    cut = max(1, math.floor(T * cut_frac))
    if t < cut:
        p = t / cut  # rising
    else:
        # falling; a cut rounded down would overshoot 0
        p = max(0.0, 1 - (t - cut) / (cut * (1 / cut_frac - 1)))
    return (1 + p * (ratio - 1)) / ratio


def unfrozen_groups(epoch, groups, per_epoch=1):
    top_first = list(reversed(groups))
    return top_first[:min(len(groups), (epoch + 1) * per_epoch)]


# ---- 05: your own data -------------------------------------------------------------------------

def extra_rows(texts):
    normal = [" ".join(text.lower().split()) for text in texts]  # case and spaces do not count
    return len(normal) - len(set(normal))  # rows beyond the first of each text


def deduplicated_split(texts, test_fraction=0.2, seed=0):
    first = {}
    for text in texts:  # deduplicate first ...
        first.setdefault(" ".join(text.lower().split()), text)
    unique = list(first.values())
    random.Random(seed).shuffle(unique)  # ... then split
    n_test = round(len(unique) * test_fraction)
    return unique[n_test:], unique[:n_test]


# ---- 06: LoRA ---------------------------------------------------------------------------------

def lora_forward(x, W0, A, B, alpha):
    r = A.shape[0]  # the rank: A is (r, d_in), B is (d_out, r)
    return x @ W0.T + (alpha / r) * (x @ A.T @ B.T)  # (batch, d_out): W0 x + (alpha/r) B A x


def lora_parameters(shapes, r):
    return sum(r * (d_out + d_in) for d_out, d_in in shapes)  # B: (d_out, r) + A: (r, d_in)


def merged_weight(W0, A, B, alpha):
    r = A.shape[0]
    return W0 + (alpha / r) * (B @ A)  # (d_out, d_in): the same shape as W0


# ---- 07: instruction SFT -----------------------------------------------------------------------

def render_chatml(messages, add_generation_prompt=False):
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    if add_generation_prompt:
        text += "<|im_start|>assistant\n"  # the model writes from here
    return text


def mask_turns(input_ids, answers):
    labels = [-100] * len(input_ids)  # no loss anywhere, to begin with
    for start, end in answers:
        labels[start:end] = input_ids[start:end]  # each answer is a target, token by token
    return labels


def accumulated_loss(micro_batches):
    total, count = 0.0, 0
    for logits, labels in micro_batches:  # logits (batch, seq_len, vocab), labels (batch, seq_len)
        predicted, target = logits[:, :-1, :], labels[:, 1:]  # logits at t predict token t + 1
        shifted = predicted - predicted.max(axis=-1, keepdims=True)  # for numerical safety
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # log-softmax
        keep = target != -100
        picked = np.take_along_axis(log_probs, np.where(keep, target, 0)[..., None],
                                    axis=-1)[..., 0]
        # a sum, not a mean: micro-batches hold different numbers of answers
        total += float(-picked[keep].sum())
        count += int(keep.sum())
    return total / count  # the mean over every answer token of the step
