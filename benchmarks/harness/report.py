"""Turn per-run results into tables: terminal, CSV and Markdown.

- :func:`summarise` / :func:`format_table`: mean ± std over runs of the scalar
  metrics, per row (the terminal table).
- :func:`table5_markdown`: Khan et al.'s Table 5 layout (accuracy, precision,
  F1, recall, G-mean, IBA, each mean ± std over classes), with the paper's
  numbers beside ours.
- :func:`cv_scores`, :func:`average_ranks`, :func:`friedman_test` and
  :func:`suite_markdown`: the tabular suite (per-data-set means, average
  ranks, Friedman and Iman-Davenport tests, Nemenyi critical difference).
"""

import csv
import math
from pathlib import Path

import numpy as np
from scipy import stats

from .files import atomic_open
from .metrics import PER_CLASS

#: Metrics of the tabular suite, in table order.
SUITE_METRICS = ("balanced_accuracy", "g_mean", "macro_f1")

#: One name per metric, in every table and on the console. The scalar G-mean
#: and IBA of a run (the geometric mean of the class recalls) and Khan et al.'s
#: per-class one-vs-rest G-mean and IBA (then averaged over classes) are
#: different numbers, so they carry different names.
LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "macro_f1": "Macro F1",
    "g_mean": "G-mean (multi-class)",
    "iba": "IBA (multi-class)",
    "precision": "Precision",
    "f1": "F1",
    "recall": "Recall",
    "g_mean_ovr": "G-mean (one-vs-rest)",
    "iba_ovr": "IBA (one-vs-rest)",
}

#: Fewer data sets than this: no Friedman / Nemenyi statistics. Their
#: chi-square and studentized-range approximations need about ten data sets
#: (Demšar, JMLR 2006, Sec. 3.2.2); over three they print numbers that mean
#: nothing.
MIN_DATASETS_FOR_RANK_TESTS = 10


# --------------------------------------------------------------- generic
def summarise(runs, metrics):
    """Mean and standard deviation over seeds of each metric, per method.

    ``runs`` is a list of dicts with keys ``method``, ``seed``, ``error`` (empty
    when the run succeeded), ``fit_seconds`` and one per metric. Failed runs are
    counted in ``errors`` and left out of the means, as are runs without a
    metric (NaN when no run has it). Rows keep the order in which methods
    first appear.
    """
    methods = list(dict.fromkeys(run["method"] for run in runs))
    table = []
    for method in methods:
        rows = [run for run in runs if run["method"] == method]
        errors = [row["error"] for row in rows if row.get("error")]
        entry = {"method": method, "runs": len(rows), "errors": len(errors)}
        entry["error"] = errors[0] if errors else ""
        ok = [row for row in rows if not row.get("error")]
        for key in [*metrics, "fit_seconds"]:
            # A run that did not record ``key`` (a measure that does not apply
            # to its row) is left out of its mean.
            values = np.array([row[key] for row in ok if key in row], dtype=float)
            entry[key] = float(values.mean()) if values.size else float("nan")
            entry[key + "_std"] = float(values.std()) if values.size else float("nan")
        table.append(entry)
    return table


def write_csv(rows, path, fieldnames=None):
    """Write dicts as CSV (columns: ``fieldnames`` or the union of the keys)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fieldnames is None:
        fieldnames = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_open(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _cell(row, metric):
    if np.isnan(row[metric]):
        return "failed"
    cell = f"{100 * row[metric]:.1f} ± {100 * row[metric + '_std']:.1f}"
    if row.get("errors"):
        cell += f" ({row['errors']}/{row['runs']} failed)"
    return cell


def markdown_table(header, body):
    """A Markdown table from a header and rows of strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def format_table(summary, metrics, markdown=False):
    """The summary as text: ``mean ± std`` per metric (in %), fit time in seconds."""
    header = ["method", *(LABELS.get(m, m) for m in metrics), "fit s"]
    body = [
        [
            row["method"],
            *(_cell(row, m) for m in metrics),
            "—" if np.isnan(row["fit_seconds"]) else f"{row['fit_seconds']:.1f}",
        ]
        for row in summary
    ]
    if markdown:
        return markdown_table(header, body)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(
        f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths)
    )
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*cells) for cells in body]
    return "\n".join(lines)


def flat_runs(records):
    """Records without their per-class lists (for ``runs.csv``)."""
    skip = {"per_class", "classes", "train_counts", "test_counts", "measured"}
    return [{k: v for k, v in r.items() if k not in skip} for r in records]


def per_class_rows(records):
    """One row per (run, class): class size in training and test, per-class scores."""
    rows = []
    for r in records:
        if r.get("error") or "per_class" not in r or "classes" not in r:
            continue
        for i, label in enumerate(r["classes"]):
            row = {k: r[k] for k in ("profile", "experiment", "method", "seed", "fold")}
            row |= {
                "class": label,
                "train_count": r["train_counts"][i],
                "test_count": r["test_counts"][i],
            }
            row |= {m: r["per_class"][m][i] for m in PER_CLASS}
            rows.append(row)
    return rows


# ---------------------------------------------------------------- Table 5
def percent(value, sign=False):
    """A fraction as a percentage with one decimal (``sign``: always signed).

    NaN (no successful run) reads ``"—"``.

    Examples
    --------
    >>> from benchmarks.harness.report import percent
    >>> percent(0.8774), percent(0.012, sign=True), percent(float("nan"))
    ('87.7', '+1.2', '—')
    """
    if np.isnan(value):
        return "—"
    return f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}"


def table5_cells(runs):
    """Table 5 cells of one row from its runs (all seeds).

    Each per-class metric: the mean over classes ± the std over classes (both
    averaged over seeds), then in brackets the std over seeds of the class
    mean. Accuracy: the mean over seeds [std over seeds].
    """
    ok = [r for r in runs if not r.get("error")]
    if not ok:
        return [f"failed ({len(runs)}/{len(runs)})"] + ["—"] * len(PER_CLASS)
    accuracy = np.array([r["accuracy"] for r in ok])
    cells = [f"{percent(accuracy.mean())} [{percent(accuracy.std())}]"]
    for metric in PER_CLASS:
        per_class = [np.asarray(r["per_class"][metric], dtype=float) for r in ok]
        means = np.array([v.mean() for v in per_class])
        spreads = np.array([v.std() for v in per_class])
        cells.append(
            f"{percent(means.mean())} ± {percent(spreads.mean())} [{percent(means.std())}]"
        )
    failed = len(runs) - len(ok)
    if failed:
        cells[0] += f" ({failed} failed)"
    return cells


def table5_markdown(records, rows, paper=None, paper_label=None):
    """Khan et al.'s Table 5 layout for one experiment.

    Parameters
    ----------
    records : list of dict
        The runs of the experiment.
    rows : list of str
        Rows in table order.
    paper : dict or None
        ``{our row: (paper row name, numbers)}`` (see ``benchmarks.harness.paper``);
        each paper row is printed, in italics and labelled, under ours.
    paper_label : str or None
        What the paper rows are called.
    """
    header = ["Method", *(LABELS[m] for m in ("accuracy", *PER_CLASS)), "fit s"]
    body, notes = [], []
    for row in rows:
        runs = [r for r in records if r["method"] == row]
        if not runs:
            continue
        fit = [r["fit_seconds"] for r in runs if not r.get("error")]
        body.append([row, *table5_cells(runs), f"{np.mean(fit):.1f}" if fit else "—"])
        note = failure_note(row, runs)
        if note:
            notes.append(note)
        if paper and row in paper:
            name, (acc, *spreads) = paper[row]
            body.append(
                [f'*↳ the paper\'s "{name}" ({paper_label})*', f"*{acc:.1f}*"]
                + [f"*{m:.1f} ± {s:.1f}*" for m, s in spreads]
                + [""]
            )
    table = markdown_table(header, body)
    if notes:
        table += "\n\n" + "\n".join(notes)
    return table


#: What some errors of the samplers mean, printed with them (fragment: why).
FAILURE_EXPLANATIONS = {
    "No samples will be generated with the provided ratio settings": (
        "ADASYN spreads the samples a class needs over that class's samples in "
        "proportion to their other-class neighbours and rounds each share; a "
        "class that needs only one or two samples (a class almost as large as "
        "the largest, as in the digits protocol, where classes of 89 and 90 are "
        "brought to 91) rounds to none, and imbalanced-learn raises rather than "
        "generate nothing"
    ),
}


def failure_note(row, runs):
    """``"- row: failed in k of n runs: first error"``, or "" when none failed.

    Printed under the table that shows the row, so that a "failed" cell says
    why where it is read.
    """
    errors = [r["error"] for r in runs if r.get("error")]
    if not errors:
        return ""
    note = f"- {row}: failed in {len(errors)} of {len(runs)} run(s): {errors[0]}"
    for fragment, why in FAILURE_EXPLANATIONS.items():
        if fragment in errors[0]:
            note += f" ({why})."
    return note


# ------------------------------------------------------------ CV suites
def cv_failures(records, experiments, rows):
    """Failed and total runs of each (data set, row): two int arrays."""
    failed = np.zeros((len(experiments), len(rows)), dtype=int)
    total = np.zeros_like(failed)
    index = {e: i for i, e in enumerate(experiments)}
    column = {r: j for j, r in enumerate(rows)}
    for r in records:
        i, j = index.get(r["experiment"]), column.get(r["method"])
        if i is None or j is None:
            continue
        total[i, j] += 1
        failed[i, j] += bool(r.get("error"))
    return failed, total


def cv_scores(records, experiments, rows, metric):
    """Mean of ``metric`` over the runs of each (data set, row).

    Returns an array of shape (n_experiments, n_rows), NaN where a row has no
    successful run on a data set (a row that failed in some runs only is the
    mean of the others; :func:`cv_failures` counts them).
    """
    scores = np.full((len(experiments), len(rows)), np.nan)
    for i, exp in enumerate(experiments):
        for j, row in enumerate(rows):
            values = [
                r[metric]
                for r in records
                if r["experiment"] == exp and r["method"] == row and not r.get("error")
            ]
            if values:
                scores[i, j] = float(np.mean(values))
    return scores


def average_ranks(scores):
    """Rank of each row per data set (1 = best, ties averaged), and the mean rank.

    A row with no score on a data set (it failed there) ranks below every row
    that has one: a method that cannot run gives the user nothing.
    """
    scores = np.asarray(scores, dtype=float)
    filled = np.where(np.isnan(scores), -np.inf, scores)
    ranks = np.vstack([stats.rankdata(-row) for row in filled])
    return ranks, ranks.mean(axis=0)


def friedman_test(ranks, alpha=0.05):
    """Friedman's test on a (n_datasets, k) rank matrix, after Demšar (2006).

    Returns a dict: ``chi2`` and ``p_chi2`` (Friedman), ``F`` and ``p_F``
    (Iman and Davenport's less conservative F form), and ``cd`` (Nemenyi's
    critical difference of average ranks at ``alpha``).
    """
    ranks = np.asarray(ranks, dtype=float)
    n, k = ranks.shape
    mean_ranks = ranks.mean(axis=0)
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(mean_ranks**2) - k * (k + 1) ** 2 / 4)
    result = {"n_datasets": n, "k": k, "chi2": float(chi2)}
    result["p_chi2"] = float(stats.chi2.sf(chi2, k - 1))
    denominator = n * (k - 1) - chi2
    if denominator > 0 and n > 1:
        f_stat = (n - 1) * chi2 / denominator
        result["F"] = float(f_stat)
        result["p_F"] = float(stats.f.sf(f_stat, k - 1, (k - 1) * (n - 1)))
    else:  # every data set ranks the rows identically
        result["F"], result["p_F"] = math.inf, 0.0
    q_alpha = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    result["cd"] = float(q_alpha * math.sqrt(k * (k + 1) / (6 * n)))
    return result


def _fmt_p(p):
    return f"{p:.2g}" if p >= 1e-4 else "< 1e-4"


def suite_markdown(records, experiments, rows, descriptions):
    """Per-data-set tables and the rank analysis of a cross-validated suite.

    ``experiments`` are the names of the suite's data sets, ``descriptions``
    maps each to its ``describe()`` dict (size, classes, imbalance ratio).
    """
    order = sorted(experiments, key=lambda e: descriptions[e]["imbalance_ratio"])
    parts = []
    rank_rows = {}
    tests = {}
    failed, total = cv_failures(records, order, rows)
    for metric in SUITE_METRICS:
        scores = cv_scores(records, order, rows, metric)
        ranks, mean_ranks = average_ranks(scores)
        rank_rows[metric] = mean_ranks
        if len(order) >= MIN_DATASETS_FOR_RANK_TESTS and len(rows) >= 3:
            tests[metric] = friedman_test(ranks)
        header = ["data set", "IR", *rows]
        body = []
        for i, name in enumerate(order):
            best = np.nanmax(scores[i]) if not np.all(np.isnan(scores[i])) else None
            cells = [
                "failed"
                if np.isnan(v)
                else (
                    f"**{percent(v)}**"
                    if best is not None and v == best
                    else percent(v)
                )
                + (f" ({failed[i, j]}/{total[i, j]} failed)" if failed[i, j] else "")
                for j, v in enumerate(scores[i])
            ]
            body.append([name, f"{descriptions[name]['imbalance_ratio']:.1f}", *cells])
        body.append(["**average rank**", "", *(f"{r:.2f}" for r in mean_ranks)])
        parts.append(
            f"#### {LABELS[metric]} (%), mean over the cross-validation runs\n\n"
            + markdown_table(header, body)
        )
    header = ["Method", *(f"rank: {LABELS[m]}" for m in SUITE_METRICS)]
    ranked = sorted(range(len(rows)), key=lambda j: rank_rows[SUITE_METRICS[0]][j])
    body = [
        [rows[j], *(f"{rank_rows[m][j]:.2f}" for m in SUITE_METRICS)] for j in ranked
    ]
    ranks_md = markdown_table(header, body)
    lines = []
    for metric, t in tests.items():
        lines.append(
            f"- {LABELS[metric]}: Friedman χ²({t['k'] - 1}) = {t['chi2']:.1f}, "
            f"p = {_fmt_p(t['p_chi2'])}; Iman-Davenport F = {t['F']:.2f}, "
            f"p = {_fmt_p(t['p_F'])}; Nemenyi critical difference (α = 0.05) = "
            f"{t['cd']:.2f} ranks over {t['n_datasets']} data sets."
        )
    summary = (
        f"#### Average rank over {len(order)} data sets (1 = best; a row that "
        "failed on a data set ranks last there)\n\n" + ranks_md
    )
    if lines:
        summary += "\n\n" + "\n".join(lines)
    elif len(order) < MIN_DATASETS_FOR_RANK_TESTS:
        summary += (
            f"\n\nNo Friedman or Nemenyi test: {len(order)} data set(s) are too few "
            f"for them (at least {MIN_DATASETS_FOR_RANK_TESTS}; Demšar, 2006); "
            "the ranks are descriptive only."
        )
    if failed.any():
        summary += (
            "\n\nA cell marked (k/n failed) is the mean of the runs that did not "
            "fail; the errors are listed under Failed runs."
        )
    return summary, "\n\n".join(parts), {"ranks": rank_rows, "tests": tests}
