"""The coding exercises: every reference solution passes, wrong answers fail with a useful line,
every notebook cell is the student edition, and every cell runs on its own in both editions.

The reference solutions are checked against independent oracles (sklearn, the package's
schedules, masking, LoRA and chat modules), so a passing check means a correct answer.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sft_teach import exercise_solutions as ref
from sft_teach.exercises import CheckResult, catalogue, cell_source, check, solution, task_markdown

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = catalogue()
IDS = [e.id for e in EXERCISES]
COURSE = [f"0{n}" for n in range(1, 8)]

# A plausible wrong answer for every exercise, written here independently of the package's hints.
WRONG = {
    "01-sentence-embedding": lambda x: x.mean(axis=0),  # forgot to scale to length 1
    "01-nearest-label": lambda t, v, y: np.asarray(y)[(t @ v.T).argmin(axis=1)],  # least similar
    "02-training-steps": lambda n, b, e, a=1: n // b // a * e,  # dropped the last, smaller batch and group
    "02-peak-reached": lambda t, w: min(1.0, t / max(1, int(w) if w >= 1 else int(t * w))),  # off by a step
    "02-macro-f1": lambda y, p: float(np.mean(np.asarray(y) == np.asarray(p))),  # accuracy
    "03-layer-plan": lambda n, v, b=6: ref.layer_plan(n, "AnB" if v == "AnB+" else "AnB+", b),  # variants swapped
    "03-relative-change": lambda b, a: float(np.linalg.norm(a - b)),  # not relative
    "04-discriminative-rates": lambda ls, lr, f=2.6: {n: lr / f ** (d + 1) for d, n in enumerate(reversed(ls))},
    "04-stlr": lambda t, T, c=0.1, r=32: ref.stlr_multiplier(t, T, c, r) * r,  # forgot to divide by ratio
    "04-gradual-unfreezing": lambda e, g, k=1: g[:min(len(g), (e + 1) * k)],  # from the bottom
    "05-extra-rows": lambda t: len(t) - len(set(t)),  # no normalisation
    "05-dedup-split": lambda texts, f=0.2, s=0: _split_then_deduplicate(texts, f),  # leakage
    "06-lora-forward": lambda x, w, a, b, al: x @ w.T + x @ a.T @ b.T,  # forgot alpha / r
    "06-lora-parameters": lambda s, r: sum(r * o * i for o, i in s),  # the full matrix
    "06-merge": lambda w, a, b, al: w + b @ a,  # forgot alpha / r
    "07-chat-template": lambda m, g=False: "".join(f"<|im_start|>{x['role']}\n{x['content']}<|im_end|>" for x in m),
    "07-mask-labels": lambda ids, spans: [-100 if any(s <= i < e for s, e in spans) else t  # masked the answers
                                          for i, t in enumerate(ids)],
    "07-masked-loss": lambda batches: sum(ref.accumulated_loss([b]) for b in batches) / len(batches),  # mean of means
}


def _split_then_deduplicate(texts, fraction):
    n = round(len(texts) * fraction)
    return tuple(list(dict.fromkeys(" ".join(t.lower().split()) for t in part)) for part in (texts[n:], texts[:n]))


def test_catalogue_covers_every_notebook():
    assert len(EXERCISES) >= 14 and len(set(IDS)) == len(IDS)
    for number in COURSE:
        mine = [e for e in EXERCISES if e.id.startswith(number + "-")]
        assert len(mine) >= 2, f"notebook {number} has {len(mine)} exercises"
        assert all(e.notebook.startswith(number + "_") and (ROOT / "notebooks" / e.notebook).exists() for e in mine)
    assert all(e.title and e.task and e.name.isidentifier() for e in EXERCISES)
    assert set(WRONG) == set(IDS)


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_passes_and_none_fails(exercise_id):
    result = check(exercise_id, solution(exercise_id))
    assert result.passed, result.message
    assert str(result).startswith("✓") and "✓" in result._repr_html_()
    empty = check(exercise_id, None)
    assert not empty.passed and empty.message and str(empty).startswith("✗ Not yet")
    assert not check(exercise_id, 42).passed  # a value where a function belongs


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_plausible_mistake_fails_naming_the_case(exercise_id):
    name = next(e.name for e in EXERCISES if e.id == exercise_id)
    result = check(exercise_id, WRONG[exercise_id])
    assert not result.passed
    assert result.message.startswith(f"{name}(") and ("expected" in result.message or "leakage" in result.message), \
        result.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_stub_gets_a_specific_message(exercise_id):
    result = check(exercise_id, lambda *args: None)  # what the student edition's stub does
    assert not result.passed and "returned None" in result.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_an_answer_of_an_unexpected_kind_is_feedback_not_a_traceback(exercise_id):
    """Whatever a learner's function returns, check() answers with a line: a number too large for a float,
    arrays in a tuple, a ragged list, booleans where numbers were expected."""
    import torch

    name = next(e.name for e in EXERCISES if e.id == exercise_id)
    for odd in (10 ** 400, (np.zeros(2), np.zeros(3)), [[1, 2], [3]], torch.tensor([True, False]), {"a": 1}, "42"):
        result = check(exercise_id, lambda *args, odd=odd: odd)
        assert not result.passed and result.message.startswith(f"{name}(") and "expected" in result.message, \
            (odd, result.message)


def test_an_exception_is_reported_with_its_type_and_the_input():
    def broken(total_steps, warmup_steps):
        return total_steps / 0

    result = check("02-peak-reached", broken)
    assert not result.passed
    # with the line of the learner's own code it came from, as their cell numbers it
    line = broken.__code__.co_firstlineno + 1
    assert result.message == ("peak_fraction(total_steps=135, warmup_steps=500) raised ZeroDivisionError: "
                              f"division by zero (in your code, line {line}: `return total_steps / 0`)")


def test_nan_wrong_shape_and_mutation_are_named():
    assert "NaN" in check("02-macro-f1", lambda y, p: float("nan")).message
    assert "shape (3,); expected shape (4,)" in check("01-sentence-embedding", lambda x: x.mean(axis=1)).message

    def in_place(input_ids, answers):
        kept = {i for start, end in answers for i in range(start, end)}
        for i in range(len(input_ids)):
            if i not in kept:
                input_ids[i] = -100
        return input_ids

    assert "changed its argument" in check("07-mask-labels", in_place).message
    assert "different result" in check("05-dedup-split", lambda t, f=0.2, s=0: ref.deduplicated_split(
        t, f, np.random.randint(1 << 30))).message
    # a split that ignores the seed (its own fixed shuffle, or none) gives one split whatever is passed
    fixed = check("05-dedup-split", lambda t, f=0.2, s=0: ref.deduplicated_split(t, f, 7))
    assert not fixed.passed and "the same result with seed=0 and seed=1" in fixed.message
    assert "`deduplicated_split` gives the same result with seed=0 and seed=1" in check(
        "05-dedup-split", lambda t, f=0.2, s=0: ref.deduplicated_split(t, f, 0)).message

    def fails_on_another_seed(texts, test_fraction=0.2, seed=0):  # only where the seed check calls it
        if (test_fraction, seed) == (0.2, 1):
            raise ValueError("boom")
        return ref.deduplicated_split(texts, test_fraction, seed)

    message = str(check("05-dedup-split", fails_on_another_seed))
    assert message.startswith("✗ Not yet: deduplicated_split(texts=") and "test_fraction=0.2, seed=1) raised " \
        "ValueError: boom (in your code, line" in message


def test_every_seeded_exercise_passes_its_seed_by_name_as_a_whole_number():
    """run() adds 1 to the seed of the first case: a catalogue entry must make that possible."""
    from sft_teach.exercises import _find

    seeded = [e for e in catalogue() if _find(e.id).seed]
    assert seeded
    for exercise in seeded:
        params = list(inspect.signature(solution(exercise.id)).parameters)
        assert exercise.seed in params, exercise.id
        for case in exercise.cases():
            assert isinstance(case[params.index(exercise.seed)], int), (exercise.id, case)


def test_a_learner_s_prints_show_once_and_long_strings_from_where_they_differ(capsys):
    """The checker calls an answer again (the same seed, a known mistake): its prints must not repeat."""
    def noisy_split(texts, test_fraction=0.2, seed=0):
        print("splitting")
        return ref.deduplicated_split(texts, test_fraction, seed)

    assert check("05-dedup-split", noisy_split).passed
    assert capsys.readouterr().out.count("splitting") == 4  # once per case, as the learner wrote it

    def noisy_forward(x, W0, A, B, alpha):
        print("forward")
        return x @ W0.T + x @ A.T @ B.T  # a known mistake: compared on every case, silently

    assert "Hint" in check("06-lora-forward", noisy_forward).message
    assert capsys.readouterr().out.count("forward") == 1  # the case that failed, once
    from sft_teach.exercise_checks import exact

    long = "a" * 70
    assert exact()(long + "b", long + "c") == "returned a string that first differs at character 70: got 'b', expected 'c'."
    lines = "a\n" * 19  # 38 characters, a repr of 59: escapes count in what is shown
    assert "first differs at character 38" in exact()(lines + "a\n", lines + "b\n")
    assert exact()(2.0000001, 2.0) == "returned 2.0000001; expected 2.0."  # rounded alike: every digit
    from sft_teach.exercise_checks import show

    assert show(100000.5) == "100000.5" and show(1.0) == "1.0" and show(np.float32(1.0)) == "1.0"


def test_known_mistakes_get_a_hint_and_the_result_displays():
    result = check("06-lora-forward", WRONG["06-lora-forward"])
    assert "Hint: scale the update by alpha / r." in result.message
    assert isinstance(result, CheckResult) and not result and "✗" in result._repr_html_()
    assert result._repr_markdown_().startswith("**✗ Not yet**")


def test_a_result_shows_its_verdict_its_exercise_and_its_message_in_every_form():
    passed = check("04-stlr", solution("04-stlr"))
    failed = check("06-lora-forward", WRONG["06-lora-forward"])
    assert str(passed).startswith("✓ Correct: ") and str(failed) == f"✗ Not yet: {failed.message}"
    assert len(failed.message) > 20  # the line says what went wrong, not only the verdict
    page_passed, page_failed = passed._repr_html_(), failed._repr_html_()
    assert 'color:#1a7f37"><b>✓ Correct</b>' in page_passed and 'color:#b35900"><b>✗ Not yet</b>' in page_failed
    assert "[06-lora-forward]" in page_failed and "[04-stlr]" in page_passed


def test_an_exercise_is_found_by_its_whole_id_not_a_prefix_and_an_edition_is_checked():
    with pytest.raises(KeyError, match="no exercise '04'"):
        check("04", None)  # the start of an id names no exercise, however many start with it
    with pytest.raises(ValueError, match="edition must be 'student' or 'teacher', got 'solution'"):
        cell_source("04-stlr", "solution")


@pytest.mark.parametrize("exercise_id", [e.id for e in EXERCISES if e.mistakes])
def test_each_known_mistake_gets_its_own_hint_once(exercise_id):
    exercise = next(e for e in EXERCISES if e.id == exercise_id)
    for wrong, hint in exercise.mistakes:
        message = check(exercise_id, wrong).message
        assert message.count("Hint:") == 1 and message.endswith(f"Hint: {hint}"), (hint, message)


def test_a_hint_needs_the_mistake_on_every_case_not_one_that_agrees_by_chance():
    import math

    def p_alone(t, T, cut_frac=0.1, ratio=32):  # the known mistake: p, not the multiplier
        cut = max(1, math.floor(T * cut_frac))
        return t / cut if t < cut else max(0.0, 1 - (t - cut) / (cut * (1 / cut_frac - 1)))

    assert "Hint: that is p" in check("04-stlr", p_alone).message
    zero = check("04-stlr", lambda t, T, cut_frac=0.1, ratio=32: 0.0).message  # p is 0 too at t = 0
    assert "returned 0.0;" in zero and "Hint" not in zero
    assert "it is an int, 5." in check("05-extra-rows", 5).message
    assert "it is a str, 'x'." in check("05-extra-rows", "x").message


def test_a_tensor_is_named_a_tensor_and_a_near_miss_shows_the_digits_that_differ():
    import torch

    answer = solution("07-mask-labels")  # its values, as a tensor: right, as an array is
    assert check("07-mask-labels", lambda ids, spans: torch.tensor(answer(list(ids), spans)))
    off_by_one = check("07-mask-labels", lambda ids, spans: torch.tensor(
        answer(list(ids), [(start + 1, end) for start, end in spans]))).message
    assert "[-100, -100, -100, -100, 9]; expected [-100, -100, -100, 8, 9]: they first differ at position 3" in off_by_one
    # a list too long to show whole still says where it goes wrong
    inclusive = check("07-mask-labels", lambda ids, spans: answer(list(ids), [(s, e + 1) for s, e in spans])).message
    assert "first differ at position 4 (got 15, expected -100)" in inclusive
    from sft_teach.exercise_checks import show

    assert show(torch.tensor([1, 2])) == "tensor([1, 2])" and show(np.array([1, 2])) == "np.array([1, 2])"
    loss = solution("07-masked-loss")
    rounded = check("07-masked-loss", lambda batches: round(float(loss(batches)), 5)).message
    got, expected = rounded.split("returned ")[1].rstrip(".").split("; expected ")
    assert got != expected and len(expected) > len(got)  # not "returned 1.84336; expected 1.84336"


def test_feedback_shows_short_values_whole_and_long_ones_around_where_they_differ():
    import torch

    from sft_teach.exercise_checks import _around, show

    assert show(np.arange(8)) == "np.array([0, 1, 2, 3, 4, 5, 6, 7])" and show(np.arange(9)) == "<array of shape (9,)>"
    assert show(torch.tensor([True, False])) == "tensor([True, False])"
    assert show("x" * 100) == "'" + "x" * 56 + "..."  # 60 characters in all, the dots among them
    assert _around(list(range(20)), 10) == "[..., 8, 9, 10, 11, 12, ...] (20 items)"  # two each side
    assert _around(list(range(20)), 0) == "[0, 1, 2, ...] (20 items)"
    assert _around(list(range(20)), 19) == "[..., 17, 18, 19] (20 items)"


def test_the_comparisons_at_their_edges():
    from sft_teach.exercise_checks import array, number

    assert number()(1e-17, 0.0) is None and number()(1e-6, 0.0)  # rounding error around 0 is 0; a miss is not
    assert array()(np.zeros((1, 3)), np.zeros(3)) == "returned an array of shape (1, 3); expected shape (3,)."
    assert array()(np.array([True, False, True]), [1, 0, 1]) is None  # a mask as booleans is a mask
    from sft_teach.exercise_checks import exact, mapping, same_items

    assert mapping()({"a": 1, "b": 2}, {"a": 1}) == "returned a dict with keys ['a', 'b']; expected the keys ['a'] (not expected: ['b'])."
    assert same_items()(["x", "y", "y"], ["y", "x"]) == "returned ['x', 'y', 'y']; expected ['y', 'x'] (repeats)."
    assert same_items()(("y", "x"), ["x", "y"]) is None
    assert exact()(True, 1) == "returned True (bool); expected 1 (int)."
    assert exact()(1.0, 1) == "returned 1.0 (float); expected 1 (int)." and exact()(2.0, 1) == "returned 2.0; expected 1."
    assert exact()("random, trained", "pretrained, trained") == (  # a short string shown whole, not from an offset
        "returned 'random, trained'; expected 'pretrained, trained'.")
    # a wrong answer as booleans ("is the nearest label 1?") is feedback, not a traceback from rounding them
    wrong = check("01-nearest-label", lambda t, v, y: np.asarray(y)[(t @ v.T).argmin(axis=1)] == 1)
    assert not wrong and "returned np.array([True, True]), which differs from the expected" in wrong.message


def test_a_function_that_never_returns_is_stopped_with_a_line(monkeypatch):
    from sft_teach import exercise_checks

    monkeypatch.setattr(exercise_checks, "TIME_LIMIT", 0.2)

    def endless(total_steps, warmup_steps):
        while True:
            pass

    result = check("02-peak-reached", endless)
    assert not result and result.message.endswith("had not returned after 0.2 s: is there a loop that never ends?")
    assert check("02-peak-reached", solution("02-peak-reached"))  # the timer is off again


def test_the_time_limit_is_switched_off_after_the_check():
    """A timer left running would end the learner's kernel (SIGALRM) once the limit passed, a cell or two later."""
    import subprocess
    import sys

    script = ("import time; from sft_teach import exercise_checks; from sft_teach.exercises import check, solution\n"
              "exercise_checks.TIME_LIMIT = 0.2\n"
              "assert check('02-peak-reached', solution('02-peak-reached'))\n"
              "time.sleep(0.6); print('still running')")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "still running", (done.returncode, done.stderr[-500:])


def test_eq_3_as_printed_is_told_where_it_breaks():
    """The lesson's inline STLR is Eq. 3 as printed: right on its 40 steps, a negative rate at the end
    of 45, a division by zero on 5. The check names the first; a cut guarded but not p gets the hint."""
    import math

    def eq_3(t, T, cut_frac=0.1, ratio=32, least=0):
        cut = max(least, math.floor(T * cut_frac))
        p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
        return (1 + p * (ratio - 1)) / ratio

    # as printed, it also divides by zero on a run of 5: the hint is about the first case that failed
    with pytest.raises(ZeroDivisionError):
        eq_3(0, 5)
    for least in (0, 1):  # cut unguarded, or guarded: p's overshoot gets its hint either way
        message = check("04-stlr", lambda t, T, cut_frac=0.1, ratio=32: eq_3(t, T, cut_frac, ratio, least)).message
        assert message.startswith("stlr_multiplier(t=44, T=45) returned -0.0763889; expected 0.03125. Hint: p falls below 0")
    guarded_p_only = check("04-stlr", lambda t, T, cut_frac=0.1, ratio=32: max(1 / ratio, eq_3(t, T, cut_frac, ratio))).message
    assert guarded_p_only.startswith("stlr_multiplier(t=0, T=5) raised ZeroDivisionError: float division by zero "
                                     "(in your code, line ")
    assert guarded_p_only.endswith("`p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))`)")


def test_a_solution_shows_its_source_and_computes_the_answer():
    answer = solution("04-stlr")
    assert repr(answer).startswith("import math\n\n\ndef stlr_multiplier(t, T, cut_frac=0.1, ratio=32):")
    assert answer._repr_markdown_().startswith("```python\nimport math\n\n\ndef stlr_multiplier(")
    assert answer(0, 100) == ref.stlr_multiplier(0, 100) and check("04-stlr", answer)


def test_unknown_id_raises_key_error_listing_the_ids():
    with pytest.raises(KeyError, match="02-peak-reached"):
        check("02-no-such-exercise", None)


# ---- the references against independent oracles -------------------------------------------------

def test_the_step_counts_are_trainers_own(tmp_path):
    """02's references against transformers: the steps a real Trainer plans for a run (with gradient
    accumulation), and the highest rate of its linear schedule with its reading of warmup_steps."""
    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup

    model = torch.nn.Linear(2, 2)
    for n, batch, epochs, accum in [(714, 16, 3, 1), (714, 16, 3, 4), (17, 16, 1, 4), (100, 8, 2, 5), (160, 16, 4, 3),
                                    (714, 16, 0.5, 1), (714, 16, 2.5, 4)]:
        args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=batch, num_train_epochs=epochs,
                                 gradient_accumulation_steps=accum, report_to="none", use_cpu=True,
                                 remove_unused_columns=False)
        trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_dict({"x": list(range(n))}))
        planned = trainer.set_initial_training_values(args, trainer.get_train_dataloader())[-1]  # max_steps
        assert ref.training_steps(n, batch, epochs, accum) == planned, (n, batch, epochs, accum)
    for total, warmup in [(135, 500), (135, 0.1), (10, 10), (10, 11), (7, 0.5), (50, 0), (1, 5), (40, 3), (10, 0.92),
                          (3, 0.7), (10, 10.5)]:
        steps = TrainingArguments(output_dir=str(tmp_path), warmup_steps=warmup, report_to="none").get_warmup_steps(total)
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        schedule = get_linear_schedule_with_warmup(optimizer, steps, total)
        rates = []
        for _ in range(total):
            rates.append(schedule.get_last_lr()[0])
            optimizer.step()
            schedule.step()
        assert math.isclose(ref.peak_fraction(total, warmup), max(rates), rel_tol=1e-12), (total, warmup)


def test_the_accumulated_loss_is_trainers_own():
    """07-masked-loss against transformers: the loss Trainer backpropagates for each micro-batch of a
    step (ForCausalLMLoss with the step's num_items_in_batch, counted as Trainer counts it), summed
    over the step, and the loss of one batch that holds every row, right-padded with -100."""
    import torch
    import torch.nn.functional as F
    from transformers.loss.loss_utils import ForCausalLMLoss

    torch.manual_seed(0)
    vocab, batches = 11, []
    for rows, length, prompt in [(2, 9, 7), (1, 14, 2), (3, 5, 1), (2, 6, 6)]:  # the last: no answer at all
        logits, labels = torch.randn(rows, length, vocab), torch.randint(0, vocab, (rows, length))
        labels[:, :prompt] = -100
        labels[0, -1] = -100  # padding
        batches.append((logits, labels))
    items = sum(labels[..., 1:].ne(-100).sum() for _, labels in batches)  # Trainer._get_num_items_in_batch
    step = sum(ForCausalLMLoss(logits, labels, vocab, num_items_in_batch=items) for logits, labels in batches)
    answer = ref.accumulated_loss([(logits.numpy(), labels.numpy()) for logits, labels in batches])
    assert math.isclose(answer, step.item(), rel_tol=1e-5)
    longest = max(logits.shape[1] for logits, _ in batches)
    one_batch = [(F.pad(logits, (0, 0, 0, longest - logits.shape[1])), F.pad(labels, (0, longest - labels.shape[1]), value=-100))
                 for logits, labels in batches]
    logits, labels = (torch.cat(part) for part in zip(*one_batch))
    whole = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), labels[:, 1:].reshape(-1), ignore_index=-100)
    assert math.isclose(answer, whole.item(), rel_tol=1e-5)
    means = [ForCausalLMLoss(logits, labels, vocab).item() for logits, labels in batches[:2]]
    assert not math.isclose(ref.accumulated_loss([(z.numpy(), y.numpy()) for z, y in batches[:2]]), sum(means) / 2,
                            rel_tol=1e-3)  # the mean of the means is another number


def test_references_agree_with_independent_oracles():
    import torch
    from sklearn.metrics import f1_score

    from sft_teach import chat, masking
    from sft_teach.lora import LoRALinear
    from sft_teach.callbacks import GradualUnfreezing
    from sft_teach.schedules import slanted_triangular

    for labels, predictions in [([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]), ([0, 0, 1, 1], [0, 2, 1, 1]),
                                ([0] * 8 + [1] * 2, [0] * 10)]:
        assert math.isclose(ref.macro_f1(labels, predictions),
                            f1_score(labels, predictions, average="macro", zero_division=0))
    for total in (40, 45, 99, 100, 1000, 5, 1):  # multiples of 1 / cut_frac or not, and runs shorter than it
        for t in range(total):
            assert math.isclose(ref.stlr_multiplier(t, total), slanted_triangular(t, total), rel_tol=1e-12)
    groups = ["embeddings", *[f"layer.{i}" for i in range(6)], "head"]
    unfreezing = GradualUnfreezing.__new__(GradualUnfreezing)
    unfreezing.order, unfreezing.groups_per_epoch = list(reversed(groups)), 2
    assert all(ref.unfrozen_groups(e, groups, 2) == unfreezing.trainable(e) for e in range(5))

    torch.manual_seed(0)
    layer = LoRALinear(torch.nn.Linear(5, 3, bias=False), r=2, alpha=4)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(4, 5)
    args = [t.detach().numpy() for t in (layer.base.weight, layer.A, layer.B)]
    assert np.allclose(ref.lora_forward(x.numpy(), *args, 4), layer(x).detach().numpy(), atol=1e-5)
    assert np.allclose(ref.merged_weight(*args, 4), layer.merged().weight.detach().numpy(), atol=1e-6)

    ids = list(range(100, 112))
    for spans in ([(5, 12)], [(2, 4), (7, 9)], [], [(0, 12)]):
        inside = np.zeros(len(ids), bool)
        for start, end in spans:
            inside[start:end] = True
        assert ref.mask_turns(ids, spans) == np.where(inside, ids, -100).tolist()

    logits, labels = torch.randn(2, 6, 7), torch.randint(0, 7, (2, 6))
    labels[:, :3] = -100
    assert math.isclose(ref.accumulated_loss([(logits.numpy(), labels.numpy())]),
                        masking.masked_loss(logits, labels).item(), rel_tol=1e-5)
    messages = chat.to_messages("Cat or dog?", "Kneads the blanket.", "cat")
    assert ref.render_chatml(messages) == chat.render(messages)
    assert ref.render_chatml(messages[:1], True) == chat.render(messages[:1], add_generation_prompt=True)


def test_the_other_references_agree_with_independent_oracles(make_tiny_classifier):
    """The five references the test above leaves out, each against another computation: the course's
    mean pooling and torch's normalisation, sklearn's nearest neighbour, a plain sum of squares,
    the package's discriminative parameter groups on a real BERT model, and peft's own adapters."""
    import torch
    from peft import LoraConfig, inject_adapter_in_model
    from sklearn.neighbors import KNeighborsClassifier

    from sft_teach.embeddings import mean_pool
    from sft_teach.schedules import discriminative_param_groups

    rng = np.random.default_rng(3)
    for tokens in (rng.normal(size=(7, 16)), rng.normal(size=(1, 5))):
        hidden = torch.tensor(tokens)[None]  # (1, seq_len, hidden)
        pooled = torch.nn.functional.normalize(mean_pool(hidden, torch.ones(hidden.shape[:2])), dim=-1)[0]
        assert np.allclose(ref.note_embedding(tokens), pooled.numpy(), atol=1e-12)

    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)
    train, test, labels = unit(rng.normal(size=(30, 8))), unit(rng.normal(size=(12, 8))), rng.integers(0, 3, 30)
    knn = KNeighborsClassifier(n_neighbors=1, metric="cosine").fit(train, labels)
    assert (ref.nearest_neighbour_labels(test, train, labels) == knn.predict(test)).all()

    before = rng.normal(size=(4, 3))
    after = before + rng.normal(scale=0.1, size=(4, 3))
    squares = lambda m: sum(float(x) ** 2 for x in m.ravel())
    assert math.isclose(ref.relative_change(before, after), math.sqrt(squares(after - before) / squares(before)))

    model = make_tiny_classifier()  # groups embeddings, layer.0, layer.1, head
    groups = discriminative_param_groups(model, 1e-3)
    rates = ref.discriminative_rates([g["name"] for g in groups], 1e-3)
    assert rates == pytest.approx({g["name"]: g["lr"] for g in groups}, rel=1e-12)

    for shapes, r in [([(6, 5), (6, 5)], 2), ([(7, 3), (4, 9), (2, 2)], 3)]:
        layers = torch.nn.Sequential(*(torch.nn.Linear(d_in, d_out) for d_out, d_in in shapes))
        inject_adapter_in_model(LoraConfig(r=r, target_modules=[str(i) for i in range(len(shapes))]), layers)
        adapters = sum(p.numel() for name, p in layers.named_parameters() if "lora_" in name)
        assert ref.lora_parameters(shapes, r) == adapters


def test_reference_split_matches_the_package_deduplication():
    from sft_teach.checks import duplicates, overlap

    texts = ["Can I pay?", "can i  pay?", "Is the vet in?", "My dog ate a sock.", "MY DOG ATE A SOCK.", "Nail trim?"]
    train, test = ref.deduplicated_split(texts, 0.5, seed=0)
    assert overlap(train, test) == 0 and not duplicates(train + test) and len(train + test) == 4
    assert ref.extra_rows(texts) == sum(n - 1 for n in duplicates(texts).values())


# ---- the notebooks and the cells ----------------------------------------------------------------

def _exercise_cells(notebook: str) -> list[dict]:
    nb = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "exercise" in c["metadata"].get("sft_teach", {})]


def test_every_exercise_is_in_its_notebook_once_as_the_student_edition():
    for notebook in sorted({e.notebook for e in EXERCISES}):
        cells = _exercise_cells(notebook)
        found = [c["metadata"]["sft_teach"]["exercise"] for c in cells]
        assert sorted(found) == sorted(e.id for e in EXERCISES if e.notebook == notebook), notebook
        for cell in cells:
            exercise_id = cell["metadata"]["sft_teach"]["exercise"]
            assert "".join(cell["source"]) == cell_source(exercise_id, "student"), exercise_id
            assert cell["metadata"]["tags"] == ["exercise"] and cell["id"]
            # the committed (student) notebook shows the stub's feedback, as a learner first sees it
            shown = json.dumps(cell["outputs"], ensure_ascii=False)
            assert "Not yet" in shown and "Correct" not in shown, exercise_id
            assert "NBVAL_CHECK_OUTPUT" not in "".join(cell["source"])
        # the task above each exercise is the catalogue's, word for word (an edited task reaches the notebook)
        nb = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))
        tasks = {c["id"]: "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"}
        for exercise_id in found:
            assert tasks.get(f"exercise-{exercise_id}-task") == task_markdown(exercise_id), exercise_id


@pytest.mark.parametrize("exercise_id", IDS)
def test_cells_run_on_their_own_in_both_editions(exercise_id):
    student = cell_source(exercise_id, "student")
    teacher = cell_source(exercise_id, "teacher")
    assert student.startswith(f"# Exercise {exercise_id}:") and "return None" in student
    assert teacher.splitlines()[0] == student.splitlines()[0] and teacher.endswith(student.splitlines()[-1])
    assert "# your code here" not in teacher
    for source, passed in ((student, False), (teacher, True)):
        namespace: dict = {}
        *body, last = source.splitlines()
        exec(compile("\n".join(body), f"<{exercise_id}>", "exec"), namespace)  # a fresh namespace, like a new kernel
        result = eval(last, namespace)
        assert isinstance(result, CheckResult) and result.passed is passed, result.message
    assert task_markdown(exercise_id).startswith("### Exercise: ")
    with pytest.raises(ValueError):
        cell_source(exercise_id, "answers")


# ---- each case list still separates the wrong answers its edge cases are there for ---------------
# (a seventh mutation run dropped such cases without a test failing: each answer below then passed)

def _f1_over(classes, labels, predictions) -> float:
    """Macro-F1 over ``classes`` only, F1 = 2 TP / (2 TP + FP + FN) per class."""
    pairs = list(zip(labels, predictions))
    f1 = [2 * sum(a == b == c for a, b in pairs)
          / max(1, 2 * sum(a == b == c for a, b in pairs) + sum(a != c == b for a, b in pairs)
                + sum(b != c == a for a, b in pairs)) for c in classes]
    return float(np.mean(f1))


@pytest.mark.parametrize("exercise_id, wrong", [
    # fractional epochs read as whole ones
    ("02-training-steps", lambda n, b, e, a=1: math.ceil(math.ceil(n / b) / a) * int(e)),
    # warmup of 0 steps divided by zero; a result off by half a percent
    ("02-peak-reached", lambda t, w: min(1.0, (t - 1) / (int(w) if w >= 1 else math.ceil(t * w)))),
    ("02-peak-reached", lambda t, w: ref.peak_fraction(t, w) + 0.005),
    # averaged over the true labels' classes only: a class that is only predicted is left out
    ("02-macro-f1", lambda y, p: _f1_over(np.unique(y), y, p)),
    ("03-layer-plan", lambda n, v, b=6: ref.layer_plan(n, v, 6)),  # num_blocks ignored
    ("03-layer-plan", lambda n, v, b=6: ref.layer_plan(n, "AnB" if n == b else v, b)),  # AnB+ with every block kept
    ("04-discriminative-rates", lambda ls, lr, f=2.6: {n: lr / 2.6 ** d for d, n in enumerate(reversed(ls))}),
    ("04-stlr", lambda t, T, c=0.1, r=32: ref.stlr_multiplier(t, T)),  # cut_frac and ratio ignored
    ("04-gradual-unfreezing", lambda e, g, k=1: ref.unfrozen_groups(e, g)),  # per_epoch ignored
    ("07-chat-template", lambda m, g=False: ref.render_chatml(m, g) if m else ""),  # no prompt for no messages
])
def test_a_case_list_catches_the_answer_its_edge_case_is_there_for(exercise_id, wrong):
    assert check(exercise_id, wrong).passed is False


def test_the_split_check_and_the_cases_keep_their_promises():
    from sft_teach import exercise_cases as cases

    compare = cases._split_compare
    assert "expected a pair of lists" in compare((["a", "b"], ["c"], []), (["a", "b"], ["c"]))
    assert "keeps 'a' twice in train" in compare((["a", "A "], ["b"]), (["a"], ["b"]))
    assert "added 'zzz'" in compare((["a", "b", "zzz"], ["c"]), (["a", "b"], ["c"]))
    assert "puts 3 of the 4 distinct texts in test; expected 1" in compare((["a"], ["b", "c", "d"]), (["a", "b", "c"], ["d"]))
    for test_vectors, train_vectors, _ in cases._nearest_cases():  # the task's embeddings have length 1
        assert np.allclose(np.linalg.norm(test_vectors, axis=1), 1) and np.allclose(np.linalg.norm(train_vectors, axis=1), 1)
    # the accumulated loss's last step holds a micro-batch whose answers were all cut off
    (last,) = cases._micro_batch_cases()[-1]
    assert any(int((labels[:, 1:] != -100).sum()) == 0 for _, labels in last)
    # the tokens counted are the targets the shifted loss reads: labels from position 1 on
    assert cases._answer_tokens(last) == sum(int((labels[:, 1:] != -100).sum()) for _, labels in last)
    ones = [(np.zeros((1, 3, 2)), np.array([[5, 6, -100]]))]
    assert cases._answer_tokens(ones) == 1


def test_the_cases_catch_what_a_learner_really_writes():
    """alpha // r passed when every case's alpha / r was whole; a split that shuffles the caller's own
    list passed; a float32 answer was refused at 1e-9; returning the nearest note's position got no hint."""
    import random

    import numpy as np

    floored = check("06-lora-forward", lambda x, W0, A, B, alpha: x @ W0.T + (alpha // A.shape[0]) * (x @ A.T @ B.T))
    assert not floored.passed and "alpha=3" in floored.message
    assert not check("06-merge", lambda W0, A, B, alpha: W0 + (alpha // A.shape[0]) * (B @ A)).passed

    def in_place(texts, test_fraction=0.2, seed=0):
        distinct = list(dict.fromkeys(" ".join(t.lower().split()) for t in texts))
        random.Random(seed).shuffle(texts)  # the caller's list, shuffled
        k = round(test_fraction * len(distinct))
        return distinct[k:], distinct[:k]

    assert "changed its argument" in check("05-dedup-split", in_place).message

    def float32_change(before, after):
        before, after = np.asarray(before, np.float32), np.asarray(after, np.float32)
        return np.linalg.norm(after - before) / np.linalg.norm(before)

    assert check("03-relative-change", float32_change).passed
    positions = check("01-nearest-label", lambda t, v, y: (t @ v.T).argmax(axis=1)).message
    assert "Hint: those are the positions of the nearest training notes: return their labels" in positions


def test_flattening_the_rows_before_the_shift_is_caught():
    """Every case's rows started with the prompt's -100, so a loss that joined the rows before shifting
    them (the last logit of a row predicting the next row's first token) passed."""
    import numpy as np

    def flattened(micro_batches):
        total, count = 0.0, 0
        for logits, labels in micro_batches:
            flat_logits, flat_labels = logits.reshape(-1, logits.shape[-1])[:-1], labels.reshape(-1)[1:]
            keep = flat_labels != -100
            z = flat_logits[keep] - flat_logits[keep].max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            total -= log_p[np.arange(int(keep.sum())), flat_labels[keep]].sum()
            count += int(keep.sum())
        return total / count

    assert not check("07-masked-loss", flattened).passed
