"""What the ablation tables share: per-seed values, cells, and their figures.

The ablation profiles (:mod:`benchmarks.huang2019.clmle_ablation`,
:mod:`benchmarks.khan2019.margin_ablation`) lay their tables out like the papers'
(rows = variants, columns = data sets or settings), each cell the mean ± std
over seeds of one metric. This module turns run records into those cells and
draws the grouped-bar and line figures; the tables themselves are in the
profiles' reporters.

:func:`paired_table` is the general table of the studies (and of the
measurement suites): lines of runs (:class:`Line`) against columns of one
recorded value each (:class:`Column`), a score or a measured value, as its
mean ± sd over seeds, each seed's value, or its paired difference to a
reference row.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .files import save_figure
from .report import markdown_table


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


@dataclass(frozen=True)
class Line:
    """One line of :func:`paired_table`: the runs of ``row`` (of ``experiment``).

    Attributes
    ----------
    label : str
        What the line is called.
    row : str
        The row (``method``) whose runs it reads.
    experiment : str or None, default=None
        Only the runs of this experiment (``None``: every experiment's, or the
        column's experiment).
    prefix : str, default=""
        Read the value ``prefix + metric`` of each column whose metric is a
        record key: a second set of values the same runs recorded (e.g. the
        scores of another decision rule on the same fit).
    """

    label: str
    row: str
    experiment: str | None = None
    prefix: str = ""


@dataclass(frozen=True)
class Column:
    """One column of :func:`paired_table`: one recorded value of each run.

    Attributes
    ----------
    header : str
    metric : str or callable
        A record key (e.g. ``"balanced_accuracy"``, a measured value) or a
        function of a record returning a number or ``None`` (not recorded).
    scale : float, default=100.0
        Factor of the printed values (100: in %, or points for a difference).
    digits : int, default=1
        Decimals.
    reference : str or None, default=None
        A row: the cell is then the difference line − ``reference``, paired on
        (experiment, seed, fold), the reference read without the line's
        prefix.
    each : bool, default=False
        Also list each run's value, in brackets.
    signed : bool, default=False
        Print the mean with its sign (always for a ``reference`` column).
    experiment : str or None, default=None
        Only the runs of this experiment (over the line's).
    text : callable or None, default=None
        ``text(values) -> str``, the cell from the (unscaled) values instead
        of the mean ± sd.
    """

    header: str
    metric: str | Callable
    scale: float = 100.0
    digits: int = 1
    reference: str | None = None
    each: bool = False
    signed: bool = False
    experiment: str | None = None
    text: Callable | None = None


def recorded_values(records, row, metric, experiment=None, prefix=""):
    """``{(experiment, seed, fold): value}`` of the successful runs of ``row``
    that recorded ``metric`` (``prefix + metric`` for a key); NaN is not a
    value."""
    values = {}
    for r in records:
        if r["method"] != row or r.get("error"):
            continue
        if experiment is not None and r["experiment"] != experiment:
            continue
        if callable(metric):
            value = metric(r)
        else:
            value = r.get(prefix + metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        values[r["experiment"], r["seed"], r["fold"]] = float(value)
    return values


def spread_cell(values, scale=100.0, digits=1, signed=False, each=False, ddof=1):
    """``"mean ± sd"`` of ``values`` times ``scale``, the sd with ``ddof``
    (the mean alone for too few values), each value in brackets with
    ``each``; ``"—"`` without values.

    Examples
    --------
    >>> from benchmarks.harness.ablation_report import spread_cell
    >>> spread_cell([0.81, 0.83]), spread_cell([0.5], each=True)
    ('82.0 ± 1.4', '50.0 [50.0]')
    >>> spread_cell([0.01, 0.03], signed=True), spread_cell([])
    ('+2.0 ± 1.4', '—')
    """
    if len(values) == 0:
        return "—"
    v = scale * np.asarray(values, dtype=float)
    text = f"{v.mean():{'+' if signed else ''}.{digits}f}"
    if len(v) > ddof:
        text += f" ± {v.std(ddof=ddof):.{digits}f}"
    if each:
        text += " [" + ", ".join(f"{x:.{digits}f}" for x in v) + "]"
    return text


def paired_table(records, lines, columns, first="row", ddof=1):
    """A Markdown table of ``lines`` (:class:`Line`) by ``columns``
    (:class:`Column`): each cell the mean ± sd over the runs (seeds, folds)
    of one value, sd with ``ddof`` (1: the sample sd), or the paired
    difference to a reference row. A line whose row failed in some runs says
    so in its label; a cell without values reads ``"—"``.
    """
    header = [first, *(c.header for c in columns)]
    body = []
    for line in lines:
        label = line.label
        failed = n_failed(records, line.row, line.experiment)
        if failed:
            label += f" ({failed} failed)"
        cells = [label]
        for c in columns:
            experiment = c.experiment or line.experiment
            ours = recorded_values(records, line.row, c.metric, experiment, line.prefix)
            if c.reference is not None:
                base = recorded_values(records, c.reference, c.metric, experiment)
                values = [ours[k] - base[k] for k in ours if k in base]
                if c.reference == line.row and not line.prefix:
                    values = []  # a row against itself
            else:
                values = list(ours.values())
            if c.text is not None:
                cells.append(c.text(values) if values else "—")
                continue
            cells.append(
                spread_cell(
                    values,
                    c.scale,
                    c.digits,
                    signed=c.signed or c.reference is not None,
                    each=c.each,
                    ddof=ddof,
                )
            )
        body.append(cells)
    return markdown_table(header, body)
