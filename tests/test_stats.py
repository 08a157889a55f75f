"""The Wilson interval against its closed form and against scipy."""

import math

import pytest

from sft_teach.stats import wilson_interval


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
