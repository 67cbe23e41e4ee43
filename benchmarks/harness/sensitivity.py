"""How a method's standing moves with training length and network size (issue 13).

The ``sensitivity`` profile fits each of the library's methods and the
cost-sensitive network at their defaults and under a few changed settings
(half and twice the updates, a narrower network). If a method's gap to the
cost-sensitive network came from a setting both share (the method needing
more updates, or a smaller network, than the default gives), that gap would
close under the setting that suits it; if it stays at every setting, it is
the method's. This module turns the runs into that reading: per setting, each
row's mean score over the data sets, its paired gap to the reference row at
the *same* setting, and its change from its own default.
"""

import numpy as np

from .report import cv_scores, markdown_table


def _paired(a, b):
    """Mean of ``a - b`` in points, and on how many sets it is positive."""
    d = np.asarray(a) - np.asarray(b)
    keep = ~np.isnan(d)
    return f"{100 * d[keep].mean():+.2f} ({int(np.sum(d[keep] > 0))}/{int(keep.sum())})"


def sensitivity_markdown(
    records, experiments, bases, settings, reference, metric="balanced_accuracy"
):
    """The ``sensitivity`` profile's closing section.

    Parameters
    ----------
    records : list of dict
        The profile's runs.
    experiments : list of str
        Data sets, in table order.
    bases : sequence of str
        The rows at their defaults; the row of ``base`` under the setting
        ``tag`` is ``f"{base} [{tag}]"``.
    settings : sequence of str
        The tags of the changed settings.
    reference : str
        The row of ``bases`` every other row is compared with, at the same
        setting.
    metric : str, default="balanced_accuracy"

    Returns
    -------
    markdown : str
        Three tables: the mean score of every row at every setting; the gap
        to ``reference`` at the same setting (mean of the per-set differences
        in points, and on how many sets it is positive); each row's change
        from its own default.

    Examples
    --------
    >>> records = [
    ...     {"experiment": e, "method": m, "balanced_accuracy": s, "error": ""}
    ...     for e, scores in {"a": (0.8, 0.7, 0.9, 0.8), "b": (0.6, 0.5, 0.6, 0.7)}.items()
    ...     for m, s in zip(["ref", "m", "ref [long]", "m [long]"], scores)
    ... ]
    >>> md = sensitivity_markdown(records, ["a", "b"], ["ref", "m"], ["long"], "ref")
    >>> [line for line in md.splitlines() if line.startswith("| m ")]
    ['| m | 60.0 | 75.0 |', '| m | -10.00 (0/2) | +0.00 (1/2) |', '| m | +15.00 (2/2) |']
    """
    columns = ("defaults", *settings)

    def row_of(base, column):
        return base if column == "defaults" else f"{base} [{column}]"

    names = [row_of(b, c) for b in bases for c in columns]
    scores = cv_scores(records, experiments, names, metric)
    at = {name: scores[:, j] for j, name in enumerate(names)}

    means = [
        [base, *(f"{100 * np.nanmean(at[row_of(base, c)]):.1f}" for c in columns)]
        for base in bases
    ]
    gaps = [
        [
            base,
            *(_paired(at[row_of(base, c)], at[row_of(reference, c)]) for c in columns),
        ]
        for base in bases
        if base != reference
    ]
    changes = [
        [base, *(_paired(at[row_of(base, c)], at[base]) for c in settings)]
        for base in bases
    ]
    n = len(experiments)
    label = metric.replace("_", " ")
    return "\n\n".join(
        [
            "## Sensitivity to training length and network size",
            f"Mean {label} (%) over the {n} data sets, each row at its defaults "
            "and under each changed setting (the same folds):",
            markdown_table(["row", *columns], means),
            f"Gap to {reference} at the same setting: mean of the per-set "
            "differences in points (sets where the row is ahead). A gap that "
            "closes under a setting was that setting's; one that stays at every "
            "setting is the method's:",
            markdown_table(["row", *columns], gaps),
            "Change from the row's own defaults, in points (sets where it gains):",
            markdown_table(["row", *settings], changes),
        ]
    )
