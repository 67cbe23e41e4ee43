"""The figures of a benchmark run (matplotlib, Agg backend: no display needed).

- :func:`plot_recall_vs_class_size`: per-class recall against the class's
  training-set size, one panel per row, the plain cross-entropy network in
  grey in every panel for reference.
- :func:`plot_gain_vs_imbalance`: gain in balanced accuracy over the
  cross-entropy baseline per data set, data sets sorted by imbalance ratio (as
  Dong et al., ICCV 2017, Fig. 5).
"""

import math

import matplotlib
import matplotlib.lines
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .files import save_figure
from .methods import METHODS
from .report import cv_scores

BASELINE = "CE"


def class_points(records, method):
    """(training size, recall) of each class, averaged over the runs of a row.

    A class is identified by its experiment and label; its size and recall are
    means over the seeds and folds where the row ran without error.
    """
    groups = {}
    for r in records:
        if r["method"] != method or r.get("error"):
            continue
        for label, size, recall in zip(
            r["classes"], r["train_counts"], r["per_class"]["recall"], strict=True
        ):
            groups.setdefault((r["experiment"], label), []).append((size, recall))
    if not groups:
        return np.empty((0, 2))
    return np.array([np.mean(v, axis=0) for v in groups.values()])


#: Colours of the recall panels: the CE reference, the library's methods, the
#: other baselines.
COLOURS = {"reference": "0.75", "method": "C3", "baseline": "C0"}


def recall_limits(point_sets):
    """The y range of the recall panels: the data's, padded, never past [0, 1].

    A fixed 0-1 axis squeezes recalls that all lie in 0.35-1 into the top
    two thirds of every panel.
    """
    values = np.concatenate([p[:, 1] for p in point_sets if len(p)] or [[0.0, 1.0]])
    low, high = float(values.min()), float(values.max())
    pad = max(0.03, 0.05 * (high - low))
    return max(-0.03, low - pad), min(1.03, high + pad)


def plot_recall_vs_class_size(records, rows, path, title):
    """One panel per row: recall of each class against its training-set size.

    The y axis spans the recalls drawn (see :func:`recall_limits`); a legend
    says what the colours are.
    """
    rows = [row for row in rows if any(r["method"] == row for r in records)]
    if not rows:
        return None
    n_cols = min(4, len(rows))
    n_rows = math.ceil(len(rows) / n_cols)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(3.2 * n_cols, 2.6 * n_rows),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    reference = class_points(records, BASELINE)
    points_of = {row: class_points(records, row) for row in rows}
    limits = recall_limits([reference, *points_of.values()])
    for ax, row in zip(axes.flat, rows, strict=False):
        if len(reference) and row != BASELINE:
            ax.scatter(*reference.T, s=12, color=COLOURS["reference"])
        points = points_of[row]
        if len(points):
            kind = "method" if row in METHODS else "baseline"
            ax.scatter(*points.T, s=14, color=COLOURS[kind])
        else:
            ax.text(0.5, 0.5, "failed", ha="center", transform=ax.transAxes)
        ax.set_title(row, fontsize=9)
        ax.set_xscale("log")
        # Minor log ticks ("2x10^3 3x10^3 ...") overlap in small panels.
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylim(*limits)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(rows) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("training samples of the class")
    for ax in axes[:, 0]:
        ax.set_ylabel("recall")
    fig.suptitle(title, fontsize=10)
    handles = [
        matplotlib.lines.Line2D(
            [], [], ls="", marker="o", ms=5, color=COLOURS[kind], label=label
        )
        for kind, label in (
            ("method", "a method of the library"),
            ("baseline", "a baseline"),
            ("reference", f"{BASELINE} (in every panel, for reference)"),
        )
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if n_rows > 1 else 0.1, 1, 1))
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_gain_vs_imbalance(records, experiments, rows, ratios, path, title):
    """Balanced-accuracy gain over ``CE`` per data set, sorted by imbalance ratio.

    ``ratios`` maps each experiment to its imbalance ratio. Methods of the
    library are drawn in thick lines, baselines in thin dashed ones.
    """
    if BASELINE not in rows:
        return None
    order = sorted(experiments, key=lambda e: ratios[e])
    scores = cv_scores(records, order, rows, "balanced_accuracy")
    base = scores[:, rows.index(BASELINE)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(order) + 3), 4.2))
    x = np.arange(len(order))
    colours = plt.get_cmap("tab20").colors
    for j, row in enumerate(rows):
        if row == BASELINE:
            continue
        gain = 100 * (scores[:, j] - base)
        if np.all(np.isnan(gain)):
            continue
        method = row in METHODS
        ax.plot(
            x,
            gain,
            marker="o" if method else ".",
            lw=2.0 if method else 0.9,
            ls="-" if method else "--",
            ms=5 if method else 4,
            color=colours[j % len(colours)],
            label=row,
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(
        [f"{e} (1:{ratios[e]:.{0 if ratios[e] >= 10 else 1}f})" for e in order],
        rotation=60,
        ha="right",
        fontsize=7,
    )
    ax.set_ylabel(f"balanced accuracy − {BASELINE} (points)")
    ax.set_xlabel("data set (imbalance ratio), sorted by imbalance")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
