"""The course's statistics against their definitions, scipy and the standard library."""

import math
import random
import re
import statistics

import numpy as np
import pytest

from sft_teach import stats
from sft_teach.errors import ConfigError
from sft_teach.stats import (mcnemar_exact, mean_sd, mean_sd_of_a_table, paired_bootstrap, paired_over_seeds,
                             paired_summary, wilson_interval)


def closed_form(k, n, z):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (52, 100), (139, 180), (180, 180), (1, 1)])
def test_wilson_matches_the_closed_form(k, n):
    low, high = wilson_interval(k, n)
    expected = closed_form(k, n, 1.959963984540054)
    assert low == pytest.approx(max(0.0, expected[0]), abs=1e-12)
    assert high == pytest.approx(min(1.0, expected[1]), abs=1e-12)
    assert 0 <= low <= k / n <= high <= 1


def test_wilson_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k, n in [(0, 180), (93, 180), (139, 180), (180, 180), (7, 71), (50, 71)]:
        for c in (0.9, 0.95, 0.99):
            ci = stats.binomtest(k, n).proportion_ci(confidence_level=c, method="wilson")
            assert wilson_interval(k, n, c) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_wilson_narrows_with_more_notes_and_widens_with_confidence():
    assert wilson_interval(90, 180)[1] - wilson_interval(90, 180)[0] < wilson_interval(9, 18)[1] - wilson_interval(9, 18)[0]
    assert wilson_interval(90, 180, 0.99)[0] < wilson_interval(90, 180, 0.9)[0]
    # 180 of 180 is not certainty: the interval still allows a true accuracy near 98 %
    assert wilson_interval(180, 180)[0] == pytest.approx(0.979, abs=1e-3)


@pytest.mark.parametrize("k,n,c", [(1, 0, 0.95), (-1, 5, 0.95), (6, 5, 0.95), (1, 5, 1.0), (1, 5, 0)])
def test_wilson_rejects_impossible_counts(k, n, c):
    with pytest.raises(ValueError):
        wilson_interval(k, n, c)


def pairs(b, c, both_right=0, both_wrong=0):
    """Right/wrong lists for A and B with b items only A right and c only B right."""
    a = [1] * b + [0] * c + [1] * both_right + [0] * both_wrong
    b_ = [0] * b + [1] * c + [1] * both_right + [0] * both_wrong
    return a, b_


def test_mcnemar_matches_scipy_binomtest_on_random_cases():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 250))
        a, b = rng.random(n) < rng.random(), rng.random(n) < rng.random()
        only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
        expected = 1.0 if only_a + only_b == 0 else stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
        assert mcnemar_exact(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("b,c", [(0, 0), (5, 5), (12, 12), (7, 0), (0, 7), (30, 0), (12, 3), (3, 12), (1, 0)])
def test_mcnemar_edge_cases(b, c):
    stats = pytest.importorskip("scipy.stats")
    a, b_ = pairs(b, c, both_right=40, both_wrong=9)
    expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(a, b_) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_by_hand():
    assert mcnemar_exact(*pairs(0, 0, both_right=10)) == 1.0  # no discordant item: no evidence at all
    assert mcnemar_exact(*pairs(6, 6)) == 1.0  # an even split is the most likely one
    assert mcnemar_exact(*pairs(7, 0)) == pytest.approx(2 / 2**7)  # all discordant one way
    assert mcnemar_exact(*pairs(12, 3)) == pytest.approx(2 * sum(math.comb(15, k) for k in range(4)) / 2**15)
    assert mcnemar_exact(*pairs(12, 3)) == mcnemar_exact(*pairs(3, 12))  # two-sided: symmetric in A and B
    assert mcnemar_exact([True, False], [1, 0]) == 1.0  # bools and 0/1 alike
    # agreement on other items changes nothing: only the discordant pairs count
    assert mcnemar_exact(*pairs(12, 3, both_right=100, both_wrong=50)) == mcnemar_exact(*pairs(12, 3))


def test_mcnemar_stays_exact_for_many_items():
    stats = pytest.importorskip("scipy.stats")
    assert mcnemar_exact(*pairs(1500, 1400)) == pytest.approx(stats.binomtest(1500, 2900, 0.5).pvalue, rel=1e-9)
    assert mcnemar_exact(*pairs(3000, 0)) == 0.0  # 2 / 2**3000 is below the smallest float: no overflow error


@pytest.mark.parametrize("fn", [mcnemar_exact, paired_bootstrap, paired_summary])
def test_paired_functions_reject_mismatched_or_non_binary_inputs(fn):
    with pytest.raises(ValueError, match="same items"):
        fn([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="True/False or 1/0"):
        fn([1, 2, 0], [1, 0, 0])


def test_paired_bootstrap_mean_is_the_plain_difference_and_the_interval_brackets_it():
    rng = np.random.default_rng(2)
    a, b = rng.random(180) < 0.8, rng.random(180) < 0.75
    difference, low, high = paired_bootstrap(a, b)
    assert difference == pytest.approx(a.mean() - b.mean(), abs=1e-12)
    assert low < difference < high
    assert -1 <= low and high <= 1


def test_paired_bootstrap_is_deterministic_with_the_seed():
    a, b = pairs(12, 3, both_right=140, both_wrong=25)
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)
    assert paired_bootstrap(a, b, seed=3)[1:] != paired_bootstrap(a, b, seed=4)[1:]


def test_paired_bootstrap_interval_shrinks_with_more_items():
    small = paired_bootstrap(*pairs(6, 3, both_right=70, both_wrong=11))
    large = paired_bootstrap(*pairs(60, 30, both_right=700, both_wrong=110))  # the same proportions, 10x the items
    assert small[0] == pytest.approx(large[0])
    assert large[2] - large[1] < 0.5 * (small[2] - small[1])  # about 1/sqrt(10) as wide


def test_paired_bootstrap_agrees_with_a_slow_loop():
    a, b = pairs(9, 4, both_right=20, both_wrong=7)  # 40 items
    n, n_resamples = len(a), 20_000
    draw = random.Random(0)
    means = []
    for _ in range(n_resamples):  # the definition, one resample at a time: the same items for A and B
        items = [draw.randrange(n) for _ in range(n)]
        means.append(sum(a[i] - b[i] for i in items) / n)
    expected = np.quantile(means, [0.025, 0.975])
    _, low, high = paired_bootstrap(a, b, n_resamples=n_resamples)
    # independent random draws: the quantiles agree to within one step of the grid of possible means (1/n)
    assert low == pytest.approx(expected[0], abs=1 / n)
    assert high == pytest.approx(expected[1], abs=1 / n)


def test_paired_pooled_bootstrap_against_the_definition_and_a_slow_loop():
    """Pooled means per token: items weigh by their size, and are resampled whole (notebook 07's answer loss)."""
    from sft_teach.stats import paired_pooled_bootstrap

    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 12, size=30)  # (items,): tokens per answer
    a = rng.gamma(2.0, 1.0, size=30) * sizes  # (items,): each answer's summed loss
    b = a + rng.normal(0.3, 1.0, size=30) * sizes
    difference, low, high = paired_pooled_bootstrap(a, b, sizes, n_resamples=20_000)
    assert difference == pytest.approx(a.sum() / sizes.sum() - b.sum() / sizes.sum())  # pooled, not the mean of means
    assert difference != pytest.approx(np.mean((a - b) / sizes), abs=1e-3)
    draw, ratios = random.Random(0), []
    for _ in range(20_000):  # the definition, one resample at a time: the same items, whole, for A and B
        items = [draw.randrange(30) for _ in range(30)]
        ratios.append(sum(a[i] - b[i] for i in items) / sum(sizes[i] for i in items))
    expected = np.quantile(ratios, [0.025, 0.975])
    assert low == pytest.approx(expected[0], abs=0.02) and high == pytest.approx(expected[1], abs=0.02)
    assert low < difference < high
    # equal sizes: the plain paired bootstrap of the per-item means, resampled alike
    ones = np.ones(30)
    same = paired_pooled_bootstrap(a / sizes, b / sizes, ones, seed=5)
    plain = stats._percentile_interval((a - b) / sizes, 10_000, 5, 0.95)
    assert same[1:] == pytest.approx(plain)
    wider = paired_pooled_bootstrap(a, b, sizes, confidence=0.99)
    assert wider[1] < low and wider[2] > high


@pytest.mark.parametrize("a, b, sizes, said", [
    ([1.0, 2.0], [1.0], [1, 1], "three lists of the same, non-zero length"),
    ([], [], [], "three lists of the same, non-zero length"),
    ([1.0, 2.0], [1.0, 2.0], [1, 0], "sizes must all be finite and above 0"),
    ([1.0, float("nan")], [1.0, 2.0], [1, 1], "totals finite numbers"),
])
def test_paired_pooled_bootstrap_refuses_what_it_cannot_pool(a, b, sizes, said):
    from sft_teach.stats import paired_pooled_bootstrap

    with pytest.raises(ConfigError, match=said):
        paired_pooled_bootstrap(a, b, sizes)


def test_paired_bootstrap_rejects_bad_settings():
    with pytest.raises(ValueError):
        paired_bootstrap([1, 0], [0, 1], n_resamples=0)
    with pytest.raises(ValueError):
        paired_bootstrap([1, 0], [0, 1], confidence=1.0)


@pytest.mark.parametrize("values", [[0.8, 0.77], [0.80, 0.7722, 0.7944], [1, 2, 3, 4, 5], [0.5] * 4, (0.91, 0.88, 0.93)])
def test_mean_sd_matches_the_standard_library(values):
    mean, sd = mean_sd(values)
    assert mean == pytest.approx(statistics.mean(values), abs=1e-15)
    assert sd == pytest.approx(statistics.stdev(values), abs=1e-15)


def test_mean_sd_uses_the_sample_sd_and_needs_two_runs():
    assert mean_sd(np.array([1.0, 3.0])) == (2.0, pytest.approx(math.sqrt(2)))  # ddof=1: sqrt(2), not 1
    for values in ([0.8], []):
        with pytest.raises(ValueError, match="at least two runs"):
            mean_sd(values)


def test_a_table_row_of_one_run_has_no_spread():
    mean, sd = mean_sd_of_a_table([0.8])
    assert mean == 0.8 and math.isnan(sd)
    assert mean_sd_of_a_table([0.8, 0.7]) == (0.75, pytest.approx(statistics.stdev([0.8, 0.7])))


def test_paired_summary_gathers_the_paired_statistics():
    a, b = pairs(12, 3, both_right=140, both_wrong=25)
    summary = paired_summary(a, b, names=("sft-teach", "classic"))
    assert (summary.n, summary.only_a, summary.only_b) == (180, 12, 3)
    assert summary.accuracy_a == pytest.approx(152 / 180) and summary.accuracy_b == pytest.approx(143 / 180)
    assert summary.p_value == mcnemar_exact(a, b)
    assert (summary.difference, summary.low, summary.high) == paired_bootstrap(a, b)
    line = str(summary)
    assert "sft-teach 0.844 vs classic 0.794 on 180 items" in line
    assert "right only by sft-teach: 12, only by classic: 3" in line and "p = 0.0352" in line
    assert f"difference +0.050 (95 % bootstrap interval {summary.low:+.3f} to {summary.high:+.3f})" in line
    # the bootstrap's settings reach it: other resamples, seed and level give that bootstrap's interval
    other = paired_summary(a, b, n_resamples=500, seed=5, confidence=0.9)
    assert (other.difference, other.low, other.high) == paired_bootstrap(a, b, 500, 5, 0.9)
    assert (other.low, other.high) != (summary.low, summary.high) and "(90 % bootstrap interval" in str(other)


def test_paired_over_seeds_against_statistics_and_a_slow_bootstrap():
    rng = np.random.default_rng(3)
    a = rng.random((5, 40)) < 0.7
    b = rng.random((5, 40)) < 0.5
    out = paired_over_seeds(a, b, names=("x", "y"), n_resamples=2000, seed=1)
    acc_a, acc_b = a.mean(axis=1), b.mean(axis=1)
    assert out.mean_a == pytest.approx(statistics.mean(acc_a)) and out.sd_a == pytest.approx(statistics.stdev(acc_a))
    assert out.sd_b == pytest.approx(statistics.stdev(acc_b))
    assert out.difference == pytest.approx(statistics.mean(acc_a - acc_b))
    assert out.sd_difference == pytest.approx(statistics.stdev(acc_a - acc_b))
    assert out.a_ahead == int((acc_a > acc_b).sum()) and out.b_ahead == int((acc_b > acc_a).sum())
    # slow oracle: resample items with Python's random, seed-averaged differences per item
    d = (a.astype(int) - b.astype(int)).mean(axis=0)
    r = random.Random(0)
    slow = sorted(statistics.mean(d[r.randrange(40)] for _ in range(40)) for _ in range(2000))
    assert out.low == pytest.approx(slow[50], abs=0.03) and out.high == pytest.approx(slow[1949], abs=0.03)
    assert out.low < out.difference < out.high
    assert "x 0." in str(out) and "5 seeds" in str(out) and "40 items" in str(out)


def test_the_seed_interval_is_students_t_over_the_per_seed_differences():
    """Oracle: scipy's one-sample t test on the per-seed differences, and a textbook quantile."""
    from scipy.stats import ttest_1samp

    rng = np.random.default_rng(5)
    a = rng.random((5, 60)) < 0.7
    b = rng.random((5, 60)) < 0.6
    out = paired_over_seeds(a, b, n_resamples=500)
    differences = a.mean(axis=1) - b.mean(axis=1)
    expected = ttest_1samp(differences, 0.0).confidence_interval(0.95)
    assert (out.seed_low, out.seed_high) == pytest.approx((expected.low, expected.high))
    half = 2.776445 * statistics.stdev(differences) / 5 ** 0.5  # t(0.975, 4 degrees of freedom), from a table
    assert out.seed_high - out.seed_low == pytest.approx(2 * half, rel=1e-5)
    assert f"over the seeds {out.seed_low:+.3f} to {out.seed_high:+.3f}" in str(out)


def test_established_needs_both_intervals_clear_of_zero_on_one_side():
    """Four seeds well ahead and one behind: the items agree, the seeds do not, so nothing is established."""
    items = 200
    a, b = np.zeros((5, items), bool), np.zeros((5, items), bool)
    for s, lead in enumerate([30, 25, 35, 28, -40]):  # per-seed lead of A, in items
        a[s, : 100 + max(lead, 0)] = True
        b[s, : 100 + max(-lead, 0)] = True
    out = paired_over_seeds(a, b, n_resamples=2000)
    assert out.a_ahead == 4 and out.b_ahead == 1 and out.low > 0 and out.seed_low < 0
    assert not out.established
    assert out.brief().startswith(f"{out.difference:+.2f} (items {out.low:+.2f} to {out.high:+.2f}, seeds ")
    assert out.brief().endswith("ahead in 4 of 5, behind in 1: no conclusion")
    steady = paired_over_seeds(a[:4], b[:4], n_resamples=2000)  # the four leading seeds alone
    assert steady.low > 0 and steady.seed_low > 0 and steady.established
    behind = paired_over_seeds(b[:4], a[:4], n_resamples=2000)
    assert behind.high < 0 and behind.seed_high < 0 and behind.established
    assert behind.brief().endswith("ahead in 0 of 4, behind in 4: established")


def test_paired_over_seeds_refuses_what_it_cannot_pair():
    with pytest.raises(ValueError, match="shape"):
        paired_over_seeds(np.ones((2, 5)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="two seeds"):
        paired_over_seeds(np.ones((1, 5)), np.ones((1, 5)))
    with pytest.raises(ValueError, match="True/False"):
        paired_over_seeds(np.full((2, 3), 0.5), np.ones((2, 3)))


def test_paired_over_seeds_identical_methods_give_zero_everywhere():
    a = np.random.default_rng(0).random((3, 30)) < 0.6
    out = paired_over_seeds(a, a)
    assert (out.difference, out.low, out.high, out.a_ahead, out.b_ahead) == (0.0, 0.0, 0.0, 0, 0)


def test_wilson_interval_wants_counts_not_an_accuracy():
    """result.metrics holds an accuracy (0.85), not a count: passed as successes, it would have been
    read as 0.85 right answers and given an interval near 0, silently."""
    import numpy as np

    from sft_teach.errors import ConfigError
    from sft_teach.stats import wilson_interval

    with pytest.raises(ConfigError, match=re.escape("successes must be a whole count, got 0.85: from an accuracy, "
                                                    "pass round(accuracy * n) right answers of n")):
        wilson_interval(0.85, 180)
    with pytest.raises(ConfigError, match=re.escape("n must be a whole count, got 10.5")):
        wilson_interval(3, 10.5)
    with pytest.raises(ConfigError, match="whole count, got True"):
        wilson_interval(True, 10)
    assert wilson_interval(np.int64(153), np.int64(180)) == wilson_interval(153, 180)  # numpy's counts are counts


def test_the_verdict_for_each_combination_of_the_two_intervals():
    import dataclasses

    out = paired_over_seeds(np.ones((3, 10), bool), np.zeros((3, 10), bool))
    verdict = {}
    for name, (low, high, seed_low, seed_high) in {
            "ahead, both": (0.02, 0.10, 0.01, 0.12), "ahead, items only": (0.02, 0.10, -0.01, 0.12),
            "behind, both": (-0.10, -0.02, -0.12, -0.01), "behind, items only": (-0.10, -0.02, -0.12, 0.01),
            "behind on items, ahead on seeds": (-0.10, -0.02, 0.01, 0.12)}.items():
        summary = dataclasses.replace(out, low=low, high=high, seed_low=seed_low, seed_high=seed_high)
        verdict[name] = summary.established
        assert summary.brief().endswith("established" if summary.established else "no conclusion")
    assert verdict == {"ahead, both": True, "ahead, items only": False, "behind, both": True,
                       "behind, items only": False, "behind on items, ahead on seeds": False}


def test_wilson_interval_of_no_items_says_what_to_do():
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match="n must be a positive count, got 0: score at least one item"):
        wilson_interval(0, 0)


def test_paired_over_seeds_names_runs_that_scored_different_numbers_of_items():
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=r"their rows \(runs\) score different numbers of items"):
        paired_over_seeds([[1, 0, 1], [1, 1]], [[1, 0, 0], [0, 1]])  # NumPy's inhomogeneous-shape error before


def test_an_interval_end_at_zero_up_to_rounding_residue_is_zero_not_minus_zero():
    """Interpolating between two resampled means left -3e-19 as the lower end of 5e-4 against 1e-4 in
    notebook 02's sweep, printed "-0.000": a side of 0 the interval is not on."""
    from sft_teach import experiments as ex

    sweep = ex.load_sweep("recipe_lr")
    rows = [{**r, "method": f"{r['learning_rate']:.0e}", "correct": r["validation_correct"]} for r in sweep["rows"]]
    versus = ex.paired(rows, "5e-04", "1e-04")
    assert versus.low == 0.0 and "items +0.000 to" in versus.brief(3) and not versus.established


@pytest.mark.parametrize("confidence", [0.9875, 0.995])
def test_bootstrap_intervals_at_a_bonferroni_level_have_the_normal_width(confidence):
    """Oracle at the levels notebooks 02 (0.9875) and 06 (0.995) print: on 4,000 items the percentile
    interval of a mean is close to mean ± z se, with z from the normal distribution. Taking alpha
    for alpha / 2 (or 95 % whatever is asked) misses this by 10 % or more."""
    from statistics import NormalDist

    rng = np.random.default_rng(7)
    a, b = rng.random(4000) < 0.8, rng.random(4000) < 0.7
    d = a.astype(float) - b.astype(float)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    half = z * d.std(ddof=1) / math.sqrt(len(d))
    _, low, high = paired_bootstrap(a, b, n_resamples=40_000, confidence=confidence)
    assert (high - low) / 2 == pytest.approx(half, rel=0.03)
    sizes = rng.integers(1, 4, len(d)).astype(float)  # the pooled form: a ratio of sums, items of 1 to 3 tokens
    pooled = (d * sizes).sum() / sizes.sum()
    se = math.sqrt((sizes ** 2 * (d - pooled) ** 2).sum()) / sizes.sum()  # the ratio estimator's (delta method)
    _, low, high = stats.paired_pooled_bootstrap(d * sizes, np.zeros(len(d)), sizes, n_resamples=40_000,
                                                 confidence=confidence)
    assert (high - low) / 2 == pytest.approx(z * se, rel=0.03)


def test_the_seed_interval_of_two_seeds_is_students_at_any_level():
    """Two seeds: one degree of freedom, whose t quantile at 98.75 % is 50.9 (scipy gives the same)."""
    a = np.array([[1, 1, 1, 0, 1, 0, 1, 1], [1, 1, 0, 1, 1, 1, 0, 1]], dtype=bool)
    b = np.array([[1, 0, 1, 0, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1, 0, 1]], dtype=bool)
    result = paired_over_seeds(a, b, confidence=0.9875)
    deltas = a.mean(axis=1) - b.mean(axis=1)  # (seeds,): 0.25 and 0.375
    t = 1 / math.tan(math.pi * (1 - 0.9875) / 2)  # t with one degree of freedom is Cauchy: closed form
    half = t * np.std(deltas, ddof=1) / math.sqrt(2)
    assert result.seed_low == pytest.approx(deltas.mean() - half, abs=1e-9)
    assert result.seed_high == pytest.approx(deltas.mean() + half, abs=1e-9)


def test_the_auc_interval_honours_its_confidence_and_refuses_nan_scores():
    from statistics import NormalDist

    from sft_teach.forgetting import auc, auc_interval

    rng = np.random.default_rng(3)
    labels = np.r_[np.ones(400), np.zeros(400)]
    scores = np.r_[rng.normal(0.6, 1, 400), rng.normal(0, 1, 400)]
    wide, narrow = auc_interval(scores, labels, confidence=0.95), auc_interval(scores, labels, confidence=0.5)
    ratio = NormalDist().inv_cdf(0.75) / NormalDist().inv_cdf(0.975)  # 0.34: the widths of a normal
    assert (narrow[1] - narrow[0]) / (wide[1] - wide[0]) == pytest.approx(ratio, rel=0.15)
    with pytest.raises(ConfigError, match="confidence"):
        auc_interval(scores, labels, confidence=1.5)
    with pytest.raises(ConfigError, match="finite"):
        auc([0.9, float("nan"), 0.1], [1, 1, 0])  # nan compares false both ways: it was a silent tie


def test_pooled_sizes_and_scores_must_be_finite_numbers():
    with pytest.raises(ConfigError, match="finite"):
        stats.paired_pooled_bootstrap([1.0, 2.0], [0.5, 1.0], [1, float("nan")])
    with pytest.raises(ConfigError, match="finite"):
        stats.paired_pooled_bootstrap([1.0, 2.0], [0.5, 1.0], [1, float("inf")])
    with pytest.raises(ConfigError, match="as numbers"):
        mean_sd([0.8, float("nan"), 0.7])  # a missed run: the mean and SD were nan, said nowhere
    with pytest.raises(ConfigError, match="as numbers"):
        mean_sd(["0.8", "0.7"])
    with pytest.raises(ConfigError, match="no runs"):
        mean_sd_of_a_table([])
    assert mean_sd([np.float32(0.5), 1]) == (0.75, pytest.approx(0.3535533905932738))
