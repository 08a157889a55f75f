"""Uncertainty for the course's accuracies: how far a score on a few hundred notes can be trusted.

An accuracy measured on 180 test notes is a proportion from a sample, and another 180 notes of
the same kind would give a somewhat different number. :func:`wilson_interval` says how
different: the 95 % Wilson score interval (Wilson 1927) is the range of true accuracies that
would make the observed count unsurprising. Two methods whose intervals overlap widely may well
be equally good; the notebooks then say "inside the noise" and conclude nothing.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations

import math
from statistics import NormalDist


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
    """
    if n <= 0:
        raise ValueError(f"n must be a positive count, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    low = 0.0 if successes == 0 else (centre - spread) / denominator  # exactly 0 at 0/n (no rounding residue)
    high = 1.0 if successes == n else (centre + spread) / denominator  # exactly 1 at n/n
    return low, high
