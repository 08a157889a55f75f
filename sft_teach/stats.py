"""Uncertainty for the course's accuracies: how far a score on a few hundred notes can be trusted.

An accuracy measured on 180 test notes is a proportion from a sample, and another 180 notes of
the same kind would give a somewhat different number. :func:`wilson_interval` says how
different: the 95 % Wilson score interval (Wilson 1927) is the range of true accuracies that
would make the observed count unsurprising. Two methods whose intervals overlap widely may well
be equally good; the notebooks then say "inside the noise" and conclude nothing.

Two methods scored on the *same* notes are compared more sharply by looking at the notes on
which they disagree: :func:`mcnemar_exact` (is the split of those notes more lopsided than a
coin would give?) and :func:`paired_bootstrap` (an interval for the difference in accuracy).
:func:`mean_sd` summarises a few seeds' runs with the sample standard deviation,
:func:`paired_summary` puts a paired comparison in three short printable lines, and
:func:`paired_over_seeds` compares two methods run with the same seeds on the same items, with one
interval over the items and one over the seeds (a difference counts only when both are clear of 0).

The Wilson interval is taught in notebooks/01_beginner_cats_and_dogs.ipynb; the paired tests
and the spread over seeds are used by the comparisons of notebooks 01-04, 06 and 07.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from sft_teach.errors import ConfigError  # a ValueError too: what the learner passed, with the fix
from sft_teach.setting_checks import whole


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    r"""``(low, high)``: the Wilson score interval for a proportion ``successes / n``.

    With :math:`\hat p = k/n` and :math:`z` the standard normal quantile for ``confidence``
    (1.96 for 95 %), Wilson (1927):

    .. math::

        \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}}

    Unlike the textbook :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}`, it stays inside [0, 1]
    and is not zero wide at 0/n or n/n (180 of 180 right still leaves room for a few mistakes
    on other notes). Equals ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.

    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. Journal of the American Statistical Association, 22(158), 209-212.

    Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
    """
    for name, value in (("successes", successes), ("n", n)):  # an accuracy (0.85) is no count of right answers
        if not whole(value):
            raise ConfigError(f"{name} must be a whole count, got {value!r}: from an accuracy, pass "
                              f"round(accuracy * n) right answers of n")
    if n <= 0:
        raise ConfigError(f"n must be a positive count, got {n}: score at least one item")
    if not 0 <= successes <= n:
        raise ConfigError(f"successes must be between 0 and n={n}, got {successes}: the number of right answers")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1, got {confidence}: e.g. 0.95 for 95 %")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    low = 0.0 if successes == 0 else (centre - spread) / denominator  # exactly 0 at 0/n (no rounding residue)
    high = 1.0 if successes == n else (centre + spread) / denominator  # exactly 1 at n/n
    return low, high


def _paired(a_correct, b_correct) -> tuple[np.ndarray, np.ndarray]:
    """Two classifiers' right/wrong per item as boolean arrays of one length, or a ConfigError."""
    a, b = np.asarray(a_correct), np.asarray(b_correct)
    if a.ndim != 1 or b.ndim != 1 or len(a) != len(b):
        raise ConfigError(f"a_correct and b_correct must score the same items, one value per item: got "
                         f"{a.shape[0] if a.ndim else 'a scalar'} and {b.shape[0] if b.ndim else 'a scalar'} values")
    if len(a) == 0:
        raise ConfigError("a_correct and b_correct are empty: score at least one item")
    for name, values in (("a_correct", a), ("b_correct", b)):
        if not np.isin(values, (0, 1)).all():
            raise ConfigError(f"{name} must hold True/False or 1/0 per item (right or wrong), "
                             f"got {values[~np.isin(values, (0, 1))][0]!r}")
    return a.astype(bool), b.astype(bool)


def mcnemar_exact(a_correct, b_correct) -> float:
    r"""Two-sided p-value of the exact McNemar test: do A and B differ in accuracy on the same items?

    Items both classifiers get right, or both wrong, say nothing about which one is better; only
    the discordant items do: :math:`b` items that A gets right and B wrong, :math:`c` the reverse.
    If A and B were equally good, each discordant item would fall either way with probability
    1/2, so :math:`b \sim \mathrm{Bin}(b + c, \tfrac12)` (McNemar 1947; the exact binomial form):

    .. math::

        p = \min\Bigl(1,\; 2\,P\bigl(X \le \min(b, c)\bigr)\Bigr)
          = \min\Bigl(1,\; 2^{\,1-(b+c)} \sum_{k=0}^{\min(b,c)} \binom{b+c}{k}\Bigr),
        \qquad X \sim \mathrm{Bin}(b + c, \tfrac12)

    and :math:`p = 1` when no item is discordant. Equals
    ``scipy.stats.binomtest(b, b + c, 0.5).pvalue``. Pairing is what makes it sharper than
    comparing two Wilson intervals: 152 and 143 of 180 notes right, with 12 notes right only by
    A and 3 only by B, gives p = 0.035, although the two Wilson intervals overlap.

    McNemar, Q. (1947). Note on the sampling error of the difference between correlated
    proportions or percentages. Psychometrika, 12(2), 153-157.

    Used in notebook 01, and through :func:`paired_summary` in notebooks 03, 04, 06 and 07.
    """
    a, b_ = _paired(a_correct, b_correct)
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))  # exact integers: no underflow at large n
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap(a_correct, b_correct, n_resamples: int = 10_000, seed: int = 0,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    r"""``(difference, low, high)``: accuracy of A minus accuracy of B, with a paired bootstrap interval.

    With :math:`d_i = a_i - b_i \in \{-1, 0, 1\}` per item, the difference is
    :math:`\bar d = \frac1n \sum_i d_i`. Each of ``n_resamples`` resamples draws :math:`n` items
    with replacement (the *same* items for A and B: that is the pairing, which cancels the
    items that are easy or hard for both) and takes :math:`\bar d^*`; the interval is the
    :math:`\alpha/2` and :math:`1-\alpha/2` quantiles of the :math:`\bar d^*`, with
    :math:`\alpha = 1 -` ``confidence`` (the percentile bootstrap, Efron & Tibshirani 1993,
    ch. 13). An interval that contains 0 means the data cannot tell which is better.
    Deterministic for a given ``seed``; memory grows as ``n_resamples`` x items.

    Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.

    Used through :func:`paired_summary` in notebooks 03, 04, 06 and 07.
    """
    a, b = _paired(a_correct, b_correct)
    d = a.astype(np.int8) - b.astype(np.int8)  # (items,): +1 only A right, -1 only B right, 0 both alike
    low, high = _percentile_interval(d, n_resamples, seed, confidence)
    return float(d.mean()), low, high


def paired_pooled_bootstrap(a_totals, b_totals, sizes, n_resamples: int = 10_000, seed: int = 0,
                            confidence: float = 0.95) -> tuple[float, float, float]:
    r"""``(difference, low, high)``: two pooled means over the same items, A minus B, with a paired
    bootstrap interval; for a mean per token over prompts of different lengths (notebook 07's answer
    loss, :func:`sft_teach.instruct.answer_losses`).

    Item :math:`i` has size :math:`n_i` (its answer tokens, the same for A and B) and totals
    :math:`a_i`, :math:`b_i` (summed over its tokens). A pooled mean weighs each item by its size,
    :math:`\bar a = \sum_i a_i / \sum_i n_i`, so the difference is
    :math:`\sum_i (a_i - b_i) / \sum_i n_i`. Each resample draws the *same* items, whole, for A and
    B and recomputes that ratio; the interval is the percentile interval of the resampled
    differences, as :func:`paired_bootstrap` takes it. It answers: would other prompts of the same
    kind show the gap? It holds the two trained models fixed, so it says nothing about another seed.
    """
    a, b, n = (np.asarray(x, dtype=float) for x in (a_totals, b_totals, sizes))
    if not (a.ndim == b.ndim == n.ndim == 1 and len(a) == len(b) == len(n)) or not len(a):
        raise ConfigError(f"a_totals, b_totals and sizes must be three lists of the same, non-zero length "
                          f"(one value an item), got shapes {a.shape}, {b.shape} and {n.shape}")
    if not (np.isfinite(n).all() and (n > 0).all()) or not np.isfinite(np.concatenate([a, b])).all():
        raise ConfigError("sizes must all be finite and above 0 and the totals finite numbers: an item with no "
                          "tokens has no mean; leave it out")
    d = (a - b) / n  # (items,): each item's difference per token; weighted by n_i, their mean is the pooled one
    low, high = _percentile_interval(d, n_resamples, seed, confidence, weights=n)
    return float((a - b).sum() / n.sum()), low, high


def _percentile_interval(d, n_resamples: int, seed: int, confidence: float, weights=None) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of the per-item values ``d`` (items resampled),
    weighted by ``weights`` when given (each item's size, resampled with it)."""
    if n_resamples < 1:
        raise ConfigError(f"n_resamples must be at least 1, got {n_resamples}: e.g. 10_000")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1, got {confidence}: e.g. 0.95 for 95 %")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(d), size=(n_resamples, len(d)))  # (n_resamples, items): item indices
    if weights is None:
        resampled = d[rows].mean(axis=1)  # (n_resamples,)
    else:
        w = weights[rows]  # (n_resamples, items)
        resampled = (w * d[rows]).sum(axis=1) / w.sum(axis=1)  # (n_resamples,)
    alpha = 1 - confidence
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2])
    # an end that is 0 up to rounding residue (-3e-19 from interpolating between means) is 0: it
    # would print as -0.000, a side of 0 it is not on; residue relative to the values' own scale
    residue = 1e-9 * float(np.abs(d).max() or 1.0)
    return tuple(0.0 if abs(end) < residue else float(end) for end in (low, high))


def mean_sd(values) -> tuple[float, float]:
    r"""``(mean, sd)`` of a few runs' scores, with the *sample* standard deviation (ddof = 1).

    .. math::

        \bar x = \frac1n \sum_{i=1}^{n} x_i, \qquad
        s = \sqrt{\frac{1}{n-1} \sum_{i=1}^{n} (x_i - \bar x)^2}

    The :math:`n - 1` (Bessel's correction) is what a spread over three seeds needs: the mean
    was estimated from the same runs, so dividing by :math:`n` would understate the spread.
    Equals ``statistics.mean`` and ``statistics.stdev`` up to float rounding (``math.fsum`` sums).

    Used for every spread over seeds the course reports (notebooks 01-04 and 06).
    """
    values = _scores(values)
    if len(values) < 2:
        raise ConfigError(f"a sample standard deviation needs at least two runs, got {len(values)}: run another "
                          f"seed, or report the one score without a spread")
    mean = math.fsum(values) / len(values)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, sd


def _scores(values) -> list[float]:
    """Runs' scores as floats (numpy's and torch's numbers too), each finite: a missed run's nan made
    a mean and SD nan, and a score read from a file as text was taken as a number."""
    values = [v if isinstance(v, str) else float(v) for v in values]
    bad = [v for v in values if isinstance(v, str) or not math.isfinite(v)]
    if bad:
        raise ConfigError(f"mean_sd takes scores as numbers, got {bad[0]!r}: leave a run without a score out, "
                          f"and convert scores read as text with float()")
    return values


def check_keys(row: dict, keys, where: str) -> None:
    """A row (of a results table, of a data file) holds every key asked for: a misspelt or missing
    key is named with the keys the row has, not a bare ``KeyError``."""
    missing = [k for k in keys if k not in row]
    if missing:
        raise ConfigError(f"{where}: a row has no {', '.join(map(repr, missing))}; its keys are {', '.join(map(repr, row))}")


def mean_sd_of_a_table(values) -> tuple[float, float]:
    """:func:`mean_sd` for a row of a results table, where one run is allowed: ``(its score, nan)``
    (no spread to show; a plot draws no band for it) instead of an error."""
    values = list(values)
    if not values:
        raise ConfigError("mean_sd_of_a_table: a row of no runs has no score to report: leave the row out")
    return mean_sd(values) if len(values) > 1 else (_scores(values)[0], float("nan"))


@dataclass(frozen=True)
class PairedSummary:
    """Two classifiers on the same items: accuracies, discordant counts, McNemar, bootstrap interval.

    ``print`` it for three lines (the two accuracies, the difference, the items that make it), each
    short enough not to wrap in a notebook; read the fields for asserts.
    """

    n: int
    accuracy_a: float
    accuracy_b: float
    only_a: int  # b: items A gets right and B wrong
    only_b: int  # c: items B gets right and A wrong
    p_value: float  # exact McNemar
    difference: float  # accuracy_a - accuracy_b
    low: float
    high: float
    confidence: float
    names: tuple[str, str]

    def __str__(self) -> str:
        a, b = self.names
        return (f"{a} {self.accuracy_a:.3f} vs {b} {self.accuracy_b:.3f} on {self.n} items:\n"
                f"  difference {self.difference:+.3f} ({self.confidence * 100:g} % bootstrap interval "
                f"{self.low:+.3f} to {self.high:+.3f})\n  right only by {a}: {self.only_a}, only by {b}: "
                f"{self.only_b}; exact McNemar p = {self.p_value:.3g}")


def paired_summary(a_correct, b_correct, names=("A", "B"), n_resamples: int = 10_000, seed: int = 0,
                   confidence: float = 0.95) -> PairedSummary:
    """:func:`mcnemar_exact` and :func:`paired_bootstrap` together, printed as three short lines.

    Used by the paired comparisons of notebooks 03, 04, 06 and 07.
    """
    a, b = _paired(a_correct, b_correct)
    difference, low, high = paired_bootstrap(a, b, n_resamples, seed, confidence)
    return PairedSummary(n=len(a), accuracy_a=float(a.mean()), accuracy_b=float(b.mean()),
                         only_a=int((a & ~b).sum()), only_b=int((~a & b).sum()), p_value=mcnemar_exact(a, b),
                         difference=difference, low=low, high=high, confidence=confidence, names=tuple(names))


@dataclass(frozen=True)
class SeedsSummary:
    """Two methods run with the same seeds and scored on the same items: spread and paired interval.

    ``print`` it for one line; read the fields for asserts.
    """

    seeds: int
    items: int
    mean_a: float
    sd_a: float  # sample SD over seeds (ddof = 1)
    mean_b: float
    sd_b: float
    difference: float  # mean over seeds of (accuracy A - accuracy B)
    sd_difference: float  # sample SD over seeds of the per-seed differences
    a_ahead: int  # seeds in which A scored higher
    b_ahead: int
    low: float  # paired bootstrap interval over items of the seed-averaged difference
    high: float
    confidence: float
    names: tuple[str, str]
    seed_low: float  # t interval over seeds of the per-seed differences
    seed_high: float

    @property
    def established(self) -> bool:
        """True when neither noise explains the difference: both intervals exclude 0, on the same side."""
        return (self.low > 0 and self.seed_low > 0) or (self.high < 0 and self.seed_high < 0)

    def brief(self, digits: int = 2) -> str:
        """The difference, both intervals, the seeds' count and the verdict, for a row of a table."""
        f = f"+.{digits}f"
        return (f"{self.difference:{f}} (items {self.low:{f}} to {self.high:{f}}, seeds {self.seed_low:{f}} to "
                f"{self.seed_high:{f}}), ahead in {self.a_ahead} of {self.seeds}, behind in {self.b_ahead}: "
                + ("established" if self.established else "no conclusion"))

    def __str__(self) -> str:
        a, b = self.names
        return (f"{a} {self.mean_a:.3f} ± {self.sd_a:.3f} vs {b} {self.mean_b:.3f} ± {self.sd_b:.3f} "
                f"(mean ± sample SD, {self.seeds} seeds): difference {self.difference:+.3f} "
                f"({self.confidence * 100:g} % intervals: over the {self.items} items {self.low:+.3f} to "
                f"{self.high:+.3f}, over the seeds {self.seed_low:+.3f} to {self.seed_high:+.3f}); "
                f"{a} ahead in {self.a_ahead} of {self.seeds} seeds, {b} in {self.b_ahead}")


def paired_over_seeds(a_correct, b_correct, names=("A", "B"), n_resamples: int = 10_000, seed: int = 0,
                      confidence: float = 0.95) -> SeedsSummary:
    r"""Two methods, each run once per seed (the same seeds), scored right/wrong on the same items.

    ``a_correct`` and ``b_correct`` have shape ``(seeds, items)``: row :math:`s` is the run with
    seed :math:`s` (the same seed draws the same training examples for both methods). Two kinds
    of noise, two summaries:

    * **seeds**: each method's accuracy per seed, its mean and sample SD (:func:`mean_sd`); the
      per-seed differences :math:`\Delta_s = \mathrm{acc}_{A,s} - \mathrm{acc}_{B,s}`, their
      mean and sample SD, and in how many seeds each method was ahead;
    * **items**: with :math:`d_i = \frac1S \sum_s (a_{s,i} - b_{s,i})`, the seed-averaged
      difference on item :math:`i`, the percentile bootstrap over items (resampling the same
      items for A and B, as :func:`paired_bootstrap` does) gives an interval for
      :math:`\bar d`, which equals the mean of the :math:`\Delta_s`. It answers: would another
      test set of this size, drawn the same way, still show the difference? It holds the runs
      fixed, so it says nothing about another seed;
    * **seeds**: the Student *t* interval over the per-seed differences,
      :math:`\bar\Delta \pm t_{S-1,\,(1+c)/2}\, s_\Delta / \sqrt{S}`. It answers: would
      other seeds (another initialisation, data order, and, where the seed draws the training
      examples, other examples) still show it? It treats the test items as fixed, and assumes the
      :math:`\Delta_s` roughly normal, which a handful of seeds cannot check. Where every seed
      shows the same difference, :math:`s_\Delta = 0` and the interval is a single point: the
      seeds agreed, which two or three seeds can do by chance, so read such a verdict with the
      items interval and the count of seeds.

    A conclusion needs both intervals clear of 0 on the same side (``established``); either
    containing 0 means no conclusion from these runs.

    Used by the multi-seed comparisons of notebooks 02, 03, 04 and 06.
    """
    try:
        a, b = np.asarray(a_correct), np.asarray(b_correct)
    except ValueError:  # NumPy's "inhomogeneous shape": runs that scored different numbers of items
        raise ConfigError("a_correct and b_correct must have shape (seeds, items): their rows (runs) score "
                          "different numbers of items; every run must score the same items") from None
    if a.ndim != 2 or a.shape != b.shape:
        raise ConfigError(f"a_correct and b_correct must both have shape (seeds, items), got {a.shape} and {b.shape}")
    if a.shape[0] < 2:
        raise ConfigError(f"a spread over seeds needs at least two seeds, got {a.shape[0]}")
    rows = [_paired(x, y) for x, y in zip(a, b)]  # validates every seed's pair of rows
    a = np.array([x for x, _ in rows], dtype=np.int8)  # (seeds, items)
    b = np.array([y for _, y in rows], dtype=np.int8)
    acc_a, acc_b = a.mean(axis=1), b.mean(axis=1)  # (seeds,)
    mean_a, sd_a = mean_sd(acc_a)
    mean_b, sd_b = mean_sd(acc_b)
    difference, sd_difference = mean_sd(acc_a - acc_b)
    d = (a - b).mean(axis=0)  # (items,): seed-averaged difference per item
    low, high = _percentile_interval(d, n_resamples, seed, confidence)
    seed_low, seed_high = _t_interval(difference, sd_difference, a.shape[0], confidence)
    return SeedsSummary(seeds=a.shape[0], items=a.shape[1], mean_a=mean_a, sd_a=sd_a, mean_b=mean_b, sd_b=sd_b,
                        difference=difference, sd_difference=sd_difference,
                        a_ahead=int((acc_a > acc_b).sum()), b_ahead=int((acc_b > acc_a).sum()),
                        low=low, high=high, confidence=confidence, names=tuple(names),
                        seed_low=seed_low, seed_high=seed_high)


def _t_interval(mean: float, sd: float, n: int, confidence: float) -> tuple[float, float]:
    """``mean ± t * sd / sqrt(n)``, the Student t interval for a mean of ``n`` values (n - 1 degrees of freedom)."""
    from scipy.stats import t

    half = float(t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half
