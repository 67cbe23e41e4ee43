"""Choosing each method's default among candidate configurations (issue 13).

The ``defaults`` profile runs, for each of the library's methods, a few
candidate configurations (the paper's method, and the same method with its
classifier head rebalanced in each documented way) beside the baselines they
must beat, on data sets that are not the reported test sets. This module
turns those runs into the choice: per method, the candidate with the best
average rank of balanced accuracy over every data set of the profile (ties:
the better G-mean rank), and how each candidate stands against the better of
the cost-sensitive network and SMOTE + network, data set by data set.
"""

import json

import numpy as np

from .files import write_text
from .report import (
    LABELS,
    MIN_DATASETS_FOR_RANK_TESTS,
    _fmt_p,
    average_ranks,
    cv_scores,
    friedman_test,
    markdown_table,
)

#: What the choice ranks on, first metric first.
CHOICE_METRICS = ("balanced_accuracy", "g_mean")

#: The target of issue 13: each method at or above the better of these two.
TARGET_ROWS = ("CE (cost-sensitive)", "SMOTE + CE")


def rank_table(records, experiments, rows, metric):
    """Scores (n_experiments, n_rows), per-data-set ranks and mean ranks."""
    scores = cv_scores(records, experiments, rows, metric)
    ranks, mean_ranks = average_ranks(scores)
    return scores, ranks, mean_ranks


def choose(mean_ranks, rows, candidates):
    """The candidate with the lowest mean rank of the first metric; ties go to
    the next metric. ``mean_ranks`` maps metric to an array over ``rows``."""
    index = {row: j for j, row in enumerate(rows)}
    return min(
        candidates,
        key=lambda row: tuple(mean_ranks[m][index[row]] for m in CHOICE_METRICS),
    )


def target_margin(scores, rows, row, targets=TARGET_ROWS):
    """Per data set, ``row``'s score minus the better of ``targets`` (NaN where
    one of them failed)."""
    index = {r: j for j, r in enumerate(rows)}
    best = np.max(np.stack([scores[:, index[t]] for t in targets]), axis=0)
    return scores[:, index[row]] - best


def selection_markdown(records, experiments, candidates, references, out=None):
    """The report of the choice, and ``{method: chosen row}``.

    Parameters
    ----------
    records : list of dict
        Every run of the profile.
    experiments : list of str
        The data sets the choice is made on (all of the profile's).
    candidates : dict
        ``{method: [candidate rows]}``.
    references : sequence of str
        Baseline rows run beside the candidates.
    out : path or None
        Where ``choice.json`` is written (nothing when ``None``).
    """
    rows = [*references, *(row for group in candidates.values() for row in group)]
    tables = {m: rank_table(records, experiments, rows, m) for m in CHOICE_METRICS}
    mean_ranks = {m: tables[m][2] for m in CHOICE_METRICS}
    index = {row: j for j, row in enumerate(rows)}
    n_sets = len(experiments)
    parts = [
        "## The choice of defaults\n\n"
        f"Every row ranked on each of the {n_sets} data sets (1 = best; a row "
        "that failed on a data set ranks last there), then averaged. Per method, "
        "the candidate with the best average rank of balanced accuracy is chosen "
        '(ties: G-mean). "vs target" is the candidate\'s score minus the better '
        f"of {' and '.join(TARGET_ROWS)} on each data set: mean in points, and "
        "on how many data sets the candidate is at or above it."
    ]
    header = [
        "row",
        *(f"rank: {LABELS[m]}" for m in CHOICE_METRICS),
        *(f"mean {LABELS[m]} (%)" for m in CHOICE_METRICS),
        *(f"vs target, {LABELS[m]}" for m in CHOICE_METRICS),
    ]

    def line(row, chosen=False):
        cells = []
        for m in CHOICE_METRICS:
            cells.append(f"{mean_ranks[m][index[row]]:.2f}")
        for m in CHOICE_METRICS:
            cells.append(f"{100 * np.nanmean(tables[m][0][:, index[row]]):.1f}")
        for m in CHOICE_METRICS:
            margin = target_margin(tables[m][0], rows, row)
            ok = int(np.sum(margin >= 0))
            cells.append(f"{100 * np.nanmean(margin):+.2f} ({ok}/{n_sets})")
        name = f"**{row}** (chosen)" if chosen else row
        return [name, *cells]

    parts.append(
        "### Baselines\n\n" + markdown_table(header, [line(r) for r in references])
    )
    choices = {}
    for method, group in candidates.items():
        chosen = choose(mean_ranks, rows, group)
        choices[method] = chosen
        body = [line(row, row == chosen) for row in group]
        parts.append(f"### {method}\n\n" + markdown_table(header, body))
    if n_sets >= MIN_DATASETS_FOR_RANK_TESTS and len(rows) >= 3:
        lines = []
        for m in CHOICE_METRICS:
            t = friedman_test(tables[m][1])
            lines.append(
                f"- {LABELS[m]}: Friedman χ²({t['k'] - 1}) = {t['chi2']:.1f}, "
                f"p = {_fmt_p(t['p_chi2'])}; Nemenyi critical difference "
                f"(α = 0.05) = {t['cd']:.2f} ranks over {t['n_datasets']} data "
                f"sets and {t['k']} rows."
            )
        parts.append("\n".join(lines))
    if out is not None:
        write_text(
            out / "choice.json",
            json.dumps(
                {
                    "choices": choices,
                    "data_sets": list(experiments),
                    "mean_ranks": {
                        m: {row: float(mean_ranks[m][index[row]]) for row in rows}
                        for m in CHOICE_METRICS
                    },
                },
                indent=2,
            )
            + "\n",
        )
    return "\n\n".join(parts), choices


def probe_markdown(records, experiments, probes):
    """Head against representation: each network's own prediction beside a
    class-balanced linear probe on its embedding.

    ``probes`` maps ``(network row, probe row)`` pairs in table order; the
    first pair is the reference network (cross-entropy), against whose probe
    each other probe is compared (what the method's term did to the embedding).
    """
    pairs = list(probes)
    rows = [r for pair in pairs for r in pair]
    scores = cv_scores(records, experiments, rows, "balanced_accuracy")
    column = {r: j for j, r in enumerate(rows)}
    reference_probe = scores[:, column[pairs[0][1]]]

    def paired(a, b):
        d = a - b
        return f"{100 * np.nanmean(d):+.2f} ({int(np.sum(d > 0))}/{len(d)})"

    body = []
    for net_row, probe_row in pairs:
        own, probe = scores[:, column[net_row]], scores[:, column[probe_row]]
        body.append(
            [
                net_row,
                f"{100 * np.nanmean(own):.1f}",
                f"{100 * np.nanmean(probe):.1f}",
                paired(probe, own),
                "—" if probe_row == pairs[0][1] else paired(probe, reference_probe),
            ]
        )
    header = [
        "network",
        "own head: balanced accuracy (%)",
        "balanced probe (%)",
        "probe − own head (sets where > 0)",
        f"probe − {pairs[0][1]} (sets where > 0)",
    ]
    return (
        "## Head or representation: a balanced probe on each embedding\n\n"
        "Each network refitted as it is, then a logistic regression with "
        "balanced class weights fitted on its training embedding (the layer "
        "under its classifier) and scored on the held-out fold; means over the "
        f"{len(experiments)} data sets, paired differences in points. "
        '"probe − own head" is what rebalancing the decision alone gives; the '
        "last column is what the method's term did to the embedding, read "
        "through the same balanced probe.\n\n" + markdown_table(header, body)
    )
