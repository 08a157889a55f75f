"""Learning rates: schedules over the steps, the range test, a score against the rate.

Part of :mod:`sft_teach.plots` (which lists every figure): data in, a
:class:`sft_teach.course_figure.CourseFigure` out, no global state. Taught in notebooks 02 and 04.
"""

from __future__ import annotations

from itertools import cycle

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from sft_teach.course_figure import OKABE_ITO, new_figure, styled


@styled
def lr_schedule(curves: dict, total_steps: int, title: str = "") -> Figure:
    """Learning rate against step for one or more schedules ``{name: [lr per step]}``.

    Taught in notebooks/02_technical_recipe.ipynb; used again in 04 (STLR against linear decay).
    """
    fig = new_figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    for (name, values), style in zip(curves.items(), cycle(("-", "--", "-.", ":"))):
        ax.plot(range(len(values)), values, linestyle=style, linewidth=2, label=name)
    ax.axvline(total_steps, color="grey", linestyle=":", label=f"end of training ({total_steps} steps)")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("learning rate")
    fig.legend(loc="outside lower center", ncol=2, fontsize="small")  # covers neither a curve nor the end line
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


@styled
def lr_finder(result: dict, title: str = "", marks: dict | None = None) -> Figure:
    """Smoothed loss against learning rate (log scale) from ``schedules.lr_find``, with the rates
    two rules read off it: the steepest fall (its ``suggestion``) and fastai's minimum / 10.

    The y axis stops two and a half dips above the starting loss (the dip: from it to the lowest), so
    that a shallow dip is visible rather than flattened by the blow-up at the largest rates (which leaves
    the top). ``marks``: more rates to
    draw, ``{label: rate}`` (the rate a run used, say).
    Taught in notebooks/04_ulmfit_techniques.ipynb.
    """
    lrs, losses = np.asarray(result["lrs"], dtype=float), np.asarray(result["losses"], dtype=float)
    finite = np.isfinite(losses)  # a diverged run ends in inf
    if not finite.any():
        from sft_teach.errors import ConfigError

        raise ConfigError("lr_finder: every loss is inf or nan, so the run diverged at its first rates: run "
                          "schedules.lr_find again with a lower start_lr")
    lowest = int(np.nanargmin(np.where(finite, losses, np.nan)))
    fig = new_figure(figsize=(6, 3.9))
    ax = fig.add_subplot()
    ax.plot(lrs, losses, color=OKABE_ITO[0], label="smoothed loss")
    ax.plot([lrs[lowest]], [losses[lowest]], "o", color=OKABE_ITO[0], label=f"lowest: {lrs[lowest]:.1e}")
    ax.axvline(result["suggestion"], color=OKABE_ITO[3], linestyle="--", label=f"steepest fall: {result['suggestion']:.1e}")
    ax.axvline(lrs[lowest] / 10, color=OKABE_ITO[2], linestyle="-.", label=f"lowest / 10: {lrs[lowest] / 10:.1e}")
    for (label, rate), style in zip((marks or {}).items(), cycle((":", (0, (5, 1)), (0, (1, 3))))):
        ax.axvline(rate, color="grey", linestyle=style, label=label)
    start, low = losses[finite][0], losses[lowest]  # the first finite loss: one at inf has no height
    dip = max(start - low, 0.05 * abs(start) or 0.05)
    ax.set_ylim(low - 0.5 * dip, max(low, start) + 2.5 * dip)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (smoothed, nats)")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=3, fontsize="small")
    if title:
        ax.set_title(title)
    return fig


@styled
def learning_rate_sweep(curves: dict, chosen: dict | None = None, ylabel: str = "validation accuracy",
                        title: str = "") -> Figure:
    """A score against the peak learning rate (log scale), one line per configuration.

    ``curves``: name -> {rate: (mean, sd)} over seeds (``sd`` NaN for one seed: no bar);
    ``chosen``: name -> the rate chosen for it, ringed. Taught in notebooks/02_technical_recipe.ipynb.
    """
    fig = new_figure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    from sft_teach.training import rate_text

    for i, (name, points) in enumerate(curves.items()):
        rates = sorted(points)
        means = [points[r][0] for r in rates]
        sds = [0.0 if np.isnan(points[r][1]) else points[r][1] for r in rates]
        colour = OKABE_ITO[i % 7] if len(curves) > 1 else OKABE_ITO[0]
        ax.errorbar(rates, means, yerr=sds, marker="o", capsize=4, color=colour, label=name, zorder=3)
        if chosen and name in chosen:  # behind the error bar (zorder), which it would otherwise hide
            ax.plot([chosen[name]], [points[chosen[name]][0]], "o", markersize=16, markerfacecolor="none",
                    markeredgecolor=OKABE_ITO[3], markeredgewidth=1.5, zorder=2, label=f"chosen: {rate_text(chosen[name])}")
    ax.set_xscale("log")
    every = sorted({rate for swept in curves.values() for rate in swept})
    ax.set_xticks(every, [rate_text(r) for r in every])  # every rate swept, written as the code writes it
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("peak learning rate (log scale)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig
