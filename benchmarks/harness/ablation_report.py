"""What the ablation tables share: per-seed values, cells, and their figures.

The ablation profiles (:mod:`benchmarks.huang2019.clmle_ablation`,
:mod:`benchmarks.khan2019.margin_ablation`) lay their tables out like the papers'
(rows = variants, columns = data sets or settings), each cell the mean ± std
over seeds of one metric. This module turns run records into those cells and
draws the grouped-bar and line figures; the tables themselves are in the
profiles' reporters.
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .files import save_figure


def tail_recall(record):
    """Mean recall of the smaller half of the classes (by training-set size).

    The classes are sorted by their training count and the ``floor(C / 2)``
    smallest kept (at least one): under Khan et al.'s Table 5 protocol these
    are exactly the five reduced classes, under power-law sizes the five
    rarest. NaN for a failed run.
    """
    if record.get("error") or "per_class" not in record:
        return float("nan")
    counts = np.asarray(record["train_counts"], dtype=float)
    recall = np.asarray(record["per_class"]["recall"], dtype=float)
    smallest = np.argsort(counts, kind="stable")[: max(1, len(counts) // 2)]
    return float(recall[smallest].mean())


def run_values(records, method, metric, experiment=None):
    """``metric`` of every successful run of ``method`` (of ``experiment``).

    ``metric`` is a record key (e.g. ``"accuracy"``) or a callable of a record
    (e.g. :func:`tail_recall`).
    """
    values = []
    for r in records:
        if r["method"] != method or r.get("error"):
            continue
        if experiment is not None and r["experiment"] != experiment:
            continue
        values.append(float(metric(r) if callable(metric) else r[metric]))
    return values


def n_failed(records, method, experiment=None):
    """Number of runs of ``method`` (of ``experiment``) that recorded an error."""
    return sum(
        1
        for r in records
        if r["method"] == method
        and r.get("error")
        and (experiment is None or r["experiment"] == experiment)
    )


def mean_std(values):
    """``(mean, std)`` over seeds (population std, as the other tables), NaN if empty."""
    if not values:
        return float("nan"), float("nan")
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std())


def cell(values, failed=0):
    """``"mean ± std"`` in % over the seeds; ``"—"`` without runs.

    A row whose runs all failed reads ``"failed"``; failed runs beside
    successful ones are counted in brackets.
    """
    if not values:
        return "failed" if failed else "—"
    mean, std = mean_std(values)
    text = f"{100 * mean:.1f} ± {100 * std:.1f}"
    return text + (f" ({failed} failed)" if failed else "")


def fit_seconds_cell(records, method, experiment=None):
    """Mean fit time in seconds of the successful runs, ``"—"`` without any."""
    values = run_values(records, method, "fit_seconds", experiment)
    return f"{np.mean(values):.0f}" if values else "—"


def paper_cell(value, digits=1):
    """A published number, in italics (the tables' mark of the paper's numbers)."""
    return "*—*" if value is None else f"*{value:.{digits}f}*"


def grouped_bars(groups, series, means, stds, path, title, ylabel, reference=None):
    """Grouped bar chart with error bars (one group per x position).

    Parameters
    ----------
    groups : list of str
        x-axis groups.
    series : list of str
        Bars within a group (legend entries).
    means, stds : array-like of shape (n_groups, n_series)
        In %; NaN bars are left out.
    path : path-like
    title, ylabel : str
    reference : tuple (label, value) or None
        A horizontal line across the plot (e.g. the softmax baseline).

    Returns
    -------
    path or None
        ``None`` when every bar is NaN (nothing to draw).
    """
    means = np.asarray(means, dtype=float)
    stds = np.nan_to_num(np.asarray(stds, dtype=float))
    if np.all(np.isnan(means)):
        return None
    n_groups, n_series = means.shape
    width = 0.8 / n_series
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * n_groups * max(2, n_series)), 3.8))
    x = np.arange(n_groups)
    for j, name in enumerate(series):
        offset = (j - (n_series - 1) / 2) * width
        ax.bar(
            x + offset,
            means[:, j],
            width,
            yerr=stds[:, j],
            capsize=3,
            label=name,
            color=plt.get_cmap("tab10")(j % 10),
        )
    if reference is not None and not math.isnan(reference[1]):
        ax.axhline(reference[1], color="k", lw=1.0, ls="--", label=reference[0])
    finite = means[~np.isnan(means)]
    low = min(finite.min(), reference[1] if reference else np.inf)
    ax.set_ylim(
        max(0.0, low - 5 - stds.max()), min(100.0, finite.max() + 3 + stds.max())
    )
    ax.set_xticks(x)
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def lines(xs, series, means, stds, path, title, xlabel, ylabel):
    """One line with error bars per series against ``xs``.

    ``means`` and ``stds`` have shape (n_series, n_x), in %; returns ``None``
    when every point is NaN.
    """
    means = np.asarray(means, dtype=float)
    stds = np.nan_to_num(np.asarray(stds, dtype=float))
    if np.all(np.isnan(means)):
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for i, name in enumerate(series):
        ax.errorbar(xs, means[i], yerr=stds[i], marker="o", capsize=3, label=name)
    ax.set_xticks(xs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def paired_deltas(records, method, reference, metric, experiment=None):
    """Per-seed differences ``method - reference`` of ``metric``, paired by run.

    Runs are paired on (experiment, seed, fold): both rows saw the same
    training set, so the spread of the differences is free of the data's
    seed-to-seed variation. Pairs where either run failed are left out.
    """

    def by_key(row):
        return {
            (r["experiment"], r["seed"], r["fold"]): float(
                metric(r) if callable(metric) else r[metric]
            )
            for r in records
            if r["method"] == row
            and not r.get("error")
            and (experiment is None or r["experiment"] == experiment)
        }

    ours, base = by_key(method), by_key(reference)
    return [ours[k] - base[k] for k in ours if k in base]


def delta_cell(deltas):
    """``"Δ +0.4 ± 0.3"`` in points (mean ± std over seeds), ``""`` without pairs."""
    if not deltas:
        return ""
    mean, std = mean_std(deltas)
    return f"Δ {100 * mean:+.1f} ± {100 * std:.1f}"
