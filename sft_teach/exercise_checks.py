"""How an exercise answer is compared with the reference, and how a difference is put into words.

:func:`run` calls the learner's function on each test case of an exercise, compares what it
returned with the reference solution's value, and stops at the first case that differs,
with one sentence that names the call, what came back and what was expected
(``training_steps(num_examples=714, batch_size=16, num_train_epochs=3) returned 133;
expected 135.``). A wrong answer never raises: ``None``, a wrong type or shape, ``NaN`` and
an exception inside the learner's function all become that sentence.

A *comparator* takes ``(got, expected)`` and returns ``None`` when they agree, or the words
that follow the call (``"returned 133; expected 135."``).

Taught in notebooks/01_beginner_cats_and_dogs.ipynb to notebooks/07_instruction_sft.ipynb
(through :func:`sft_teach.exercises.check`).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import numbers
import signal
import threading
import warnings

import numpy as np


def show(value, limit: int = 60) -> str:
    """A short, readable rendering of an argument or a result, for a feedback line."""
    if isinstance(value, np.ndarray) or hasattr(value, "detach"):
        array = to_array(value)
        if array is not None and array.size <= 8:  # named as what it is: a torch tensor is not np.array
            shown = np.round(array, 4) if array.dtype.kind == "f" else array  # a mask of booleans has no digits to round
            return f"{'tensor' if hasattr(value, 'detach') else 'np.array'}({shown.tolist()})"
        return f"<array of shape {tuple(array.shape) if array is not None else '?'}>"
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.6g}"
        if any(c in text for c in ".en"):
            return text
        # rounded to a whole number: 1.0, not 1, so the type shows; 100000.5 as it is, not called whole
        return text + ".0" if float(text) == value else repr(float(value))
    if isinstance(value, (list, tuple)) and len(value) <= 8 and any(_holds_array(v) for v in value):
        inner = ", ".join(show(v) for v in value)  # arrays inside a list: each by its shape, not its digits
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"[{', '.join(show(v, 20) for v in value[:4])}, ... ({len(value)} items)]"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _holds_array(value) -> bool:
    """Whether ``value`` is an array or tensor, or a list or tuple with one inside."""
    if isinstance(value, np.ndarray) or hasattr(value, "detach"):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_array(v) for v in value)


def _around(values: list, at: int) -> str:
    """A list for a feedback line: whole when short, else the items around position ``at``, where it
    goes wrong (the first items of a long list may be the same in the answer and the expected one)."""
    if len(values) <= 8:
        return show(values)
    low, high = max(0, at - 2), min(len(values), at + 3)
    return (("[..., " if low else "[") + ", ".join(show(v, 20) for v in values[low:high])
            + (", ...]" if high < len(values) else "]") + f" ({len(values)} items)")


def _apart(got, expected) -> tuple[str, str]:
    """Two numbers shown with as many digits as it takes to tell them apart: a near miss outside
    the tolerance would otherwise read "returned 1.84336; expected 1.84336"."""
    shown = show(got), show(expected)
    return shown if shown[0] != shown[1] else (repr(got), repr(float(expected)))  # every digit


def to_array(value):
    """``value`` as a NumPy array (a torch tensor, a list of numbers...), or ``None`` if it is not one."""
    if hasattr(value, "detach"):  # a torch tensor: the same numbers, without torch
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception:
        return None
    return array if array.dtype.kind in "biuf" else None


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) or (
        isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf")


def number(tol: float = 1e-9):
    """A real number within ``tol`` (relative and absolute) of the expected one."""
    def compare(got, expected):
        if hasattr(got, "detach") and getattr(got, "ndim", None) == 0:
            got = got.item()
        if got is None:
            return f"returned None; expected {show(expected)}."
        if not _is_number(got):
            return f"returned {show(got)} ({type(got).__name__}); expected a number, {show(expected)}."
        if math.isnan(float(got)):
            return f"returned NaN (not a number); expected {show(expected)}."
        if not math.isclose(float(got), expected, rel_tol=tol, abs_tol=tol):
            shown = got if isinstance(got, numbers.Integral) else float(got)
            return "returned {}; expected {}.".format(*_apart(shown, expected))
        return None
    return compare


def array(tol: float = 1e-6):
    """An array (NumPy, torch or nested lists) of the expected shape and values."""
    def compare(got, expected):
        expected = np.asarray(expected)
        if got is None:
            return f"returned None; expected an array of shape {expected.shape}."
        got_array = None if got is None or isinstance(got, (str, dict)) else to_array(got)
        if got_array is None:
            return f"returned {show(got)}; expected an array of shape {expected.shape}."
        if got_array.shape != expected.shape:
            return f"returned an array of shape {got_array.shape}; expected shape {expected.shape}."
        if np.isnan(got_array).any():
            return f"returned an array with NaN (not a number) in it; expected {show(expected)}."
        if not np.allclose(got_array, expected, rtol=tol, atol=tol):
            differ = np.abs(got_array - expected)
            at = np.unravel_index(int(np.argmax(differ)), differ.shape) if differ.ndim else ()
            where = f" at index {tuple(int(i) for i in at)}" if at else ""
            return (f"returned {show(got_array)}, which differs from the expected {show(expected)}{where}: "
                    "got {}, expected {}.".format(*_apart(float(got_array[at]), float(expected[at]))))
        return None
    return compare


def exact():
    """Equal to the expected value (a list, a string...); strings are compared character by character."""
    def compare(got, expected):
        if (isinstance(expected, str) and isinstance(got, str) and got != expected
                and max(len(repr(got)), len(repr(expected))) > 60):  # too long to show whole: from where they differ
            at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
            return (f"returned a string that first differs at character {at}: got {got[at:at + 25]!r}, "
                    f"expected {expected[at:at + 25]!r}.")
        if isinstance(expected, list) and (isinstance(got, (tuple, np.ndarray)) or hasattr(got, "detach")):
            # a tuple, a NumPy array or a torch tensor of the right values is a right answer
            got = list(got) if isinstance(got, tuple) else np.asarray(to_array(got) if hasattr(got, "detach") else got).tolist()
        if isinstance(expected, list) and isinstance(got, list) and len(got) == len(expected) and got != expected:
            at = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
            return (f"returned {_around(got, at)}; expected {_around(expected, at)}: they first differ at position "
                    f"{at} (got {show(got[at], 20)}, expected {show(expected[at], 20)}).")
        if type(got) is not type(expected) or got != expected:
            shown = show(got), show(expected)
            if type(got) is type(expected) and shown[0] == shown[1]:  # rounded alike: every digit
                shown = repr(got), repr(expected)
            elif shown[0] == shown[1] or _equal(got, expected):  # 1.0 for 1, True for 1: the types tell them apart
                shown = f"{shown[0]} ({type(got).__name__})", f"{shown[1]} ({type(expected).__name__})"
            return "returned {}; expected {}.".format(*shown)
        return None
    return compare


def _equal(got, expected) -> bool:
    """Whether two values of different types are equal as Python compares them (``1.0 == 1``)."""
    try:
        return bool(got == expected)
    except Exception:  # an array against a number has no one truth value
        return False


def mapping(values=None):
    """A dict with the expected keys; each value compared by ``values`` (default: equal)."""
    values = values or exact()

    def compare(got, expected):
        if not isinstance(got, dict):
            return f"returned {show(got)}; expected a dict with keys {list(expected)}."
        missing, extra = [k for k in expected if k not in got], [k for k in got if k not in expected]
        if missing or extra:
            return (f"returned a dict with keys {list(got)}; expected the keys {list(expected)}"
                    f"{f' (missing {missing})' if missing else ''}{f' (not expected: {extra})' if extra else ''}.")
        for key, value in expected.items():
            problem = values(got[key], value)
            if problem:
                return f"gave {key!r} the wrong value: it {problem}"
        return None
    return compare


def same_items():
    """The same items as the expected list, in any order."""
    def compare(got, expected):
        if not isinstance(got, (list, tuple, set)):
            return f"returned {show(got)}; expected a list of {len(expected)} names."
        missing, extra = [x for x in expected if x not in got], [x for x in got if x not in expected]
        if missing or extra or len(got) != len(expected):
            parts = ([f"missing {missing}"] if missing else []) + ([f"not expected: {extra}"] if extra else [])
            return f"returned {show(list(got))}; expected {show(expected)} ({'; '.join(parts) or 'repeats'})."
        return None
    return compare


TIME_LIMIT = 10  # seconds a call of the learner's function may take; every reference takes far less than 1


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Stop the learner's function after ``seconds``: a loop that never ends is a common first mistake,
    and would otherwise leave the cell running with no word. Only in a Unix process's main thread,
    where a notebook runs its cells (a timer signal needs both); elsewhere there is no limit."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _makes_mistake(answer, wrong, cases, compare, failed) -> bool:
    """Whether ``answer`` makes the known mistake ``wrong``: it gives what ``wrong`` gives on the case
    that ``failed``, and on every other case where both return. One case alone could agree by chance
    (a function that returns 0 agrees, at t = 0, with one that returns t / cut); an answer that also
    raises on an edge case (a division by zero the mistake guards against) still makes the mistake."""
    def both(args):
        try:
            with _quiet():  # the learner's prints were shown once, by the first call
                return answer(*copy.deepcopy(args)), wrong(*copy.deepcopy(args))
        except _TooSlow:
            raise
        except Exception:  # either raised here: this case says nothing about the mistake
            return None

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), _time_limit(TIME_LIMIT):
            warnings.simplefilter("ignore")
            first = both(failed)
            if first is None or compare(*first) is not None:
                return False
            return all(pair is None or compare(*pair) is None for pair in map(both, cases))
    except Exception:  # too slow (_TooSlow), or an answer the comparison cannot take: no hint, the feedback stands
        return False


def _where(error: BaseException, answer) -> str:
    """Where in the learner's own function ``error`` was raised, as their cell numbers its lines (the
    error itself may come from deep inside NumPy: ``matmul: Input operand 1 has a mismatch``)."""
    import traceback

    own = getattr(getattr(answer, "__code__", None), "co_filename", None)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == own]
    if not frames:
        return ""
    line = (frames[-1].line or "").strip()
    return f" (in your code, line {frames[-1].lineno}" + (f": `{line[:80]}`)" if line else ")")


def run(name: str, answer, reference, cases, compare, params, mistakes=(), unchanged=False, seed=None):
    """``(passed, message)`` for ``answer`` on every case; see the module docstring.

    ``cases``: tuples of positional arguments; ``params``: their names, for the message;
    ``mistakes``: ``(wrong_function, hint)`` pairs, a hint added when the answer matches a
    known mistake; ``unchanged``: the answer must leave its arguments as they were;
    ``seed``: the parameter that seeds a shuffle: called twice with the same arguments, the answer
    must return the same, and on the first case another seed must change its result (an answer
    that never shuffles, or shuffles with a seed of its own, gives one split whatever is passed).
    """
    if answer is None:
        return False, f"`{name}` is still None: write it in this cell, then run the cell again."
    if not callable(answer):
        kind = type(answer).__name__
        return False, f"`{name}` should be a function; it is {'an' if kind[0] in 'aeiou' else 'a'} {kind}, {show(answer)}."
    for args in cases:
        call = _call(name, params, args)
        expected, given = reference(*copy.deepcopy(args)), copy.deepcopy(args)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"), _time_limit(TIME_LIMIT):
                warnings.simplefilter("ignore")
                got = answer(*given)
                with _quiet():  # its prints are shown once, by the call above
                    again = answer(*copy.deepcopy(args)) if seed else got
        except _TooSlow:
            return False, f"{call} had not returned after {TIME_LIMIT} s: is there a loop that never ends?"
        except Exception as error:  # the learner's code: any error is feedback, not a crash
            return False, f"{call} raised {type(error).__name__}: {error}{_where(error, answer)}"
        try:
            problem = compare(got, expected)
        except Exception:  # an answer of a kind the comparison never meets (10 ** 400, arrays in a list): feedback too
            problem = f"returned {show(got)} ({type(got).__name__}); expected {show(expected)}."
        if problem is None and seed and repr(again) != repr(got):
            problem = "returned a different result when called again with the same arguments (the same seed)."
        if problem is None and unchanged and repr(given) != repr(args):
            problem = f"changed its argument (now {show(given[0])}); build a new list instead."
        if problem:
            for wrong, hint in mistakes:
                if _makes_mistake(answer, wrong, cases, compare, args):
                    problem += f" Hint: {hint}"
                    break
            return False, f"{call} {problem}"
    if seed:
        problem = _ignores_seed(name, answer, cases[0], params, seed)
        if problem:
            return False, problem
    return True, f"`{name}` gives the expected result in all {len(cases)} test cases."


def _call(name: str, params, args) -> str:
    """The call as a feedback line shows it, arguments named: enough of each to see the case."""
    return f"{name}({', '.join(f'{p}={show(a, 100)}' for p, a in zip(params, args))})"


def _ignores_seed(name, answer, args, params, seed) -> str | None:
    """A message when ``answer`` gives the same result on ``args`` with the seed and the seed + 1. The
    first case is large enough that two seeds give the same shuffle by chance almost never."""
    at = params.index(seed)  # the catalogue's tests check that the seed is a parameter, an int in every case
    other = (*args[:at], args[at] + 1, *args[at + 1:])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), _time_limit(TIME_LIMIT), _quiet():
            warnings.simplefilter("ignore")
            same = repr(answer(*copy.deepcopy(args))) == repr(answer(*copy.deepcopy(other)))
    except _TooSlow:
        return f"{_call(name, params, other)} had not returned after {TIME_LIMIT} s: is there a loop that never ends?"
    except Exception as error:  # the learner's code, on another seed: feedback, as in run()
        return f"{_call(name, params, other)} raised {type(error).__name__}: {error}{_where(error, answer)}"
    if same:
        return (f"`{name}` gives the same result with {seed}={args[at]} and {seed}={other[at]}: shuffle with "
                f"random.Random({seed}) before you split, so that the seed chooses the split.")
    return None


@contextlib.contextmanager
def _quiet():
    """The learner's prints silenced while their function is called again: once is enough to read."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield
