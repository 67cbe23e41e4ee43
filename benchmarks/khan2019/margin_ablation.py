"""Khan et al.'s ablations (Tables 6 and 7) of the uncertainty margins, on the data here.

Two profiles, one per table, both on the Table 5 protocol
(:class:`benchmarks.harness.data.protocols.FeatureTable5`: EfficientNet-Lite0 features, 10 % of
the training samples of classes 5-9 kept, official test set untouched) and on
:class:`~skimbalance.UncertaintyMarginClassifier` with the shared 2-layer
network (512-512) of the benchmarks, a standard scaler in front, at the
paper's setting (:data:`PAPER_SETTING`: no class weights, where the library's
default adds them after the warm-up).

``margin_stages`` (Table 6, imbalanced MNIST)
    The curriculum stopped after each of its stages, at dropout 0.3, 0.5 and
    0.7 (rows of :data:`STAGE_ROWS`). With ``E`` epochs and ``t = E // 3``:

    - *softmax*: ``warmup_epochs = E`` (the softmax stage fills the fit; the
      estimator warns that no margin is applied, which is the point);
    - *class margins* (the paper's "UMM"): ``warmup_epochs = t``,
      ``sample_level_epochs = 0``: softmax, then class-level uncertainty
      margins to the end;
    - *class + sample margins* ("UMM + SUM", the full method):
      ``warmup_epochs = t``, ``sample_level_epochs = t``: the same, with the
      sample-level term in the last ``t`` epochs (the benchmarks' row of the
      method, :mod:`benchmarks.harness.methods`).

    Every stage is expressed with the estimator's parameters. The paper
    prints a single softmax number (no dropout column); we run the softmax
    network at each rate, so that every column has its own baseline. Metric:
    accuracy (the paper's), with the per-seed difference to the softmax row
    of the same rate.
``margin_types`` (Table 7, imbalanced CIFAR-10 in the paper; Fashion-MNIST here)
    Each ``margin_type`` with its fixed margin against uncertainty-derived
    class margins (rows of :data:`TYPE_ROWS`), and the softmax baseline. The
    fixed margins are the paper's Table 7 settings: ``m = 4`` for
    ``"large_margin"`` and ``"sphereface"``, CosFace's 0.35 and ArcFace's 0.4
    (the estimator's ``m = 3``), scale 30 for the two additive families. The
    uncertainty variant uses the same value as ``max_margin`` (the most
    uncertain class gets the paper's fixed margin, the others less). Both
    variants run the same schedule: softmax for ``t`` epochs, then margins to
    the end, no sample-level term (the table swaps the margin source only).

    The fixed rows are the estimator with ``margin_source="fixed"``: every
    class margin is ``max_margin`` at each refresh (the MC-dropout passes
    still run, so the two variants cost the same and ``class_uncertainty_``
    is still reported).

Sizing (the measured runs: ``docs/results/margin_stages/runs.jsonl`` and
``docs/results/margin_types/runs.jsonl``; the reasons in ``docs/benchmarks.rst``)
    30 epochs (the curriculum's 10 / 10 / 10 of the estimator's defaults and
    the paper's "last 10 epochs"), 4 seeds, 2 runs in parallel: about an hour
    per profile on this project's 2-core machine.
"""

from pathlib import Path

import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance import UncertaintyMarginClassifier

from ..harness.ablation_report import (
    cell,
    delta_cell,
    fit_seconds_cell,
    grouped_bars,
    lines,
    mean_std,
    n_failed,
    paired_deltas,
    paper_cell,
    run_values,
    tail_recall,
)
from ..harness.data.protocols import FeatureTable5
from ..harness.experiments import HoldoutExperiment
from ..harness.profile import Profile
from ..harness.report import markdown_table

# --------------------------------------------------------------- the rows
#: Khan et al.'s method as they ablate it: no class weights (the library's
#: default switches ``class_weight="balanced"`` on after the warm-up and then
#: freezes the margins), the setting these runs had before that default.
#: Without it the softmax row (whose warm-up fills the fit) would never be
#: weighted and the margin rows would be, so a row's difference to its
#: reference would mix the margins with the class weights.
PAPER_SETTING = {"class_weight": None}


def _third(net):
    return max(1, int(net.get("max_epochs", 30)) // 3)


def curriculum(stage, max_epochs):
    """``warmup_epochs`` and ``sample_level_epochs`` that end the curriculum at ``stage``.

    ``stage`` is ``"softmax"``, ``"class"`` or ``"sample"`` (see the module
    docstring); ``t = max(1, max_epochs // 3)``.

    Examples
    --------
    >>> from benchmarks.khan2019.margin_ablation import curriculum
    >>> [curriculum(s, 30) for s in ("softmax", "class", "sample")]
    [(30, 0), (10, 0), (10, 10)]
    """
    third = _third({"max_epochs": max_epochs})
    if stage == "softmax":
        return int(max_epochs), 0
    if stage == "class":
        return third, 0
    if stage == "sample":
        return third, third
    raise ValueError(f"stage must be softmax, class or sample, got {stage!r}.")


def _stage_row(stage, dropout):
    def factory(random_state, **net):
        warmup, sample = curriculum(stage, net.get("max_epochs", 30))
        net = {**net, "dropout": dropout}
        return UncertaintyMarginClassifier(
            **PAPER_SETTING,
            warmup_epochs=warmup,
            sample_level_epochs=sample,
            random_state=random_state,
            **net,
        )

    return factory


#: Stages of Table 6: key -> (our label, the paper's row).
STAGES = {
    "softmax": ("softmax", "CNN + Softmax loss"),
    "class": ("class margins", "CNN + UMM loss"),
    "sample": ("class + sample margins", "CNN + UMM + SUM (Ours)"),
}
#: Dropout rates of Table 6.
DROPOUTS = (0.3, 0.5, 0.7)


def stage_row_name(stage, dropout):
    """Row name of ``stage`` at ``dropout``, e.g. ``"class margins, dropout 0.5"``."""
    return f"{STAGES[stage][0]}, dropout {dropout:g}"


#: Table 6 rows: name -> factory ``(random_state, **net)``, stage-major order.
STAGE_ROWS = {
    stage_row_name(stage, p): _stage_row(stage, p) for stage in STAGES for p in DROPOUTS
}

#: Table 7: margin type -> (the paper's row, fixed margin m of the estimator,
#: the paper's n, the paper's m as printed).
MARGIN_SETTINGS = {
    "cosface": ("Additive Margin [54]", 3, "30", "0.35"),
    "arcface": ("Arc Margin [12]", 3, "30", "0.4"),
    "large_margin": ("Large Margin [32]", 4, "-", "4"),
    "sphereface": ("Sphere Product [31]", 4, "-", "4"),
}
SOFTMAX_ROW = "softmax"


def type_row_name(margin_type, variant):
    """Row name of ``margin_type`` with ``variant`` ``"fixed"`` or ``"uncertainty"``."""
    m = MARGIN_SETTINGS[margin_type][1]
    if variant == "fixed":
        return f"{margin_type}, fixed m = {m}"
    return f"{margin_type}, uncertainty margins (m ≤ {m})"


def _softmax(random_state, **net):
    return UncertaintyMarginClassifier(
        **PAPER_SETTING,
        margin_type="large_margin",
        warmup_epochs=int(net.get("max_epochs", 30)),
        sample_level_epochs=0,
        random_state=random_state,
        **net,
    )


def _type_row(margin_type, variant):
    def factory(random_state, **net):
        return UncertaintyMarginClassifier(
            **PAPER_SETTING,
            margin_type=margin_type,
            max_margin=MARGIN_SETTINGS[margin_type][1],
            margin_source=variant,
            warmup_epochs=_third(net),
            sample_level_epochs=0,
            random_state=random_state,
            **net,
        )

    return factory


#: Table 7 rows: name -> factory; the softmax baseline, then each margin type
#: fixed and with uncertainty.
TYPE_ROWS = {SOFTMAX_ROW: _softmax} | {
    type_row_name(mt, variant): _type_row(mt, variant)
    for mt in MARGIN_SETTINGS
    for variant in ("fixed", "uncertainty")
}


def make_row(row, random_state, **net):
    """A fresh estimator for a row of :data:`STAGE_ROWS` or :data:`TYPE_ROWS`.

    A standard scaler is put in front, as in :func:`benchmarks.harness.methods.make_row`.
    """
    factory = STAGE_ROWS.get(row) or TYPE_ROWS[row]
    return make_pipeline(StandardScaler(), factory(random_state, **net))


# ----------------------------------------------------------- experiments
def margin_stages_experiments():
    """Table 6: every stage × dropout row on MNIST features (Table 5 protocol)."""
    return [
        HoldoutExperiment(
            name="mnist",
            title="MNIST, EfficientNet-Lite0 features (64 px), Table 5 protocol",
            load=FeatureTable5("mnist", image_size=64),
            rows=tuple(STAGE_ROWS),
            settings={
                "data": "mnist",
                "features": "efficientnet-lite0@64",
                "fraction": 0.1,
            },
            suite="margin_stages",
            make_row=make_row,
        )
    ]


def margin_types_experiments():
    """Table 7: every margin type, fixed and with uncertainty, on Fashion-MNIST."""
    return [
        HoldoutExperiment(
            name="fashion_mnist",
            title="Fashion-MNIST, EfficientNet-Lite0 features (64 px), Table 5 protocol",
            load=FeatureTable5("fashion_mnist", image_size=64),
            rows=tuple(TYPE_ROWS),
            settings={
                "data": "fashion_mnist",
                "features": "efficientnet-lite0@64",
                "fraction": 0.1,
            },
            suite="margin_types",
            make_row=make_row,
        )
    ]


# ------------------------------------------------------ the paper's numbers
#: Khan et al., Table 6 (imbalanced MNIST, their CNN): accuracy in % of each
#: stage per dropout rate; the softmax row is one number for every rate. The
#: extracted text lists the table column by column (98.0 98.3 | 98.3 98.7 |
#: 98.2 98.7); read so, UMM + SUM at 0.5 gives the 98.7 of their Table 3 and
#: the text's "beyond 0.5 does not help, 0.3 drops" holds.
KHAN2019_TABLE6 = {
    "softmax": {0.3: 97.2, 0.5: 97.2, 0.7: 97.2},
    "class": {0.3: 98.0, 0.5: 98.3, 0.7: 98.2},
    "sample": {0.3: 98.3, 0.5: 98.7, 0.7: 98.7},
}
#: Khan et al., Table 7 (imbalanced CIFAR-10, VGG16 features): accuracy in %,
#: (original fixed margin, with uncertainty); the softmax baseline 76.8.
KHAN2019_TABLE7 = {
    SOFTMAX_ROW: (76.8, None),
    "cosface": (78.3, 78.9),
    "arcface": (78.1, 78.4),
    "large_margin": (79.4, 79.9),
    "sphereface": (76.2, 77.5),
}
TABLE6_LABEL = "Khan et al. 2019, Table 6: imbalanced MNIST, their CNN"
TABLE7_LABEL = "Khan et al. 2019, Table 7: imbalanced CIFAR-10, VGG16 features"


# -------------------------------------------------------------- reporters
def _values(records, row, metric, experiment):
    return run_values(records, row, metric, experiment)


def report_margin_stages(records, experiments, out, n_seeds):
    """Table 6 layout: rows = stage, columns = dropout rate; the paper's rows under ours.

    Accuracy cells are mean ± std over seeds, with the paired per-seed
    difference to the softmax network of the same rate; a second table gives
    the mean recall of the reduced classes; the figure plots accuracy against
    the dropout rate, one line per stage.
    """
    exp = experiments[0]
    rates = [
        p for p in DROPOUTS if any(stage_row_name(s, p) in exp.rows for s in STAGES)
    ]
    stages = [s for s in STAGES if any(stage_row_name(s, p) in exp.rows for p in rates)]

    def table(metric, main):
        """``main``: with the fit times and the paper's rows."""
        header = ["Stage", *(f"dropout {p:g}" for p in rates)]
        header += ["fit s"] if main else []
        body = []
        for stage in stages:
            cells = [STAGES[stage][0]]
            fits = []
            for p in rates:
                row = stage_row_name(stage, p)
                text = cell(
                    _values(records, row, metric, exp.name),
                    n_failed(records, row, exp.name),
                )
                if stage != "softmax":
                    delta = delta_cell(
                        paired_deltas(
                            records, row, stage_row_name("softmax", p), metric, exp.name
                        )
                    )
                    text += f" ({delta})" if delta else ""
                cells.append(text)
                fits += _values(records, row, "fit_seconds", exp.name)
            if main:
                cells.append(f"{np.mean(fits):.0f}" if fits else "—")
            body.append(cells)
            if main:
                body.append(
                    [f'*↳ the paper\'s "{STAGES[stage][1]}" ({TABLE6_LABEL})*']
                    + [paper_cell(KHAN2019_TABLE6[stage][p]) for p in rates]
                    + [""]
                )
        return markdown_table(header, body)

    text = (
        "## Khan et al. Table 6 ablation: curriculum stages × dropout rate\n\n"
        f"Data: {exp.title}; {n_seeds[exp.name]} seed(s). Each cell: accuracy "
        "(the paper's metric), mean ± std over seeds in %, then (Δ) the mean ± std "
        "over seeds of the difference to the softmax network at the same dropout "
        "rate on the same training set, in points. Rows in italics are the paper's "
        f"own numbers on its data ({TABLE6_LABEL}; it prints one softmax number, "
        "repeated here under every rate), not ours.\n\n"
        + table("accuracy", True)
        + "\n\nMean recall of the five reduced classes (5-9), same layout:\n\n"
        + table(tail_recall, False)
    )
    means = [
        [
            mean_std(_values(records, stage_row_name(s, p), "accuracy", exp.name))[0]
            for p in rates
        ]
        for s in stages
    ]
    stds = [
        [
            mean_std(_values(records, stage_row_name(s, p), "accuracy", exp.name))[1]
            for p in rates
        ]
        for s in stages
    ]
    path = lines(
        list(rates),
        [STAGES[s][0] for s in stages],
        100 * np.array(means),
        100 * np.array(stds),
        Path(out) / "margin_stages.png",
        "Curriculum stages by dropout rate (as Khan et al. Table 6)",
        "dropout rate",
        "accuracy (%)",
    )
    return text, [path] if path else []


def report_margin_types(records, experiments, out, n_seeds):
    """Table 7 layout: one row per margin type, fixed margin beside uncertainty margins.

    Columns: the paper's settings (n, m), our accuracy with the fixed margin
    and with uncertainty margins (mean ± std over seeds), the paired per-seed
    difference uncertainty − fixed, and the paper's two accuracies in italics.
    A second table gives the mean recall of the reduced classes; the figure
    draws fixed against uncertainty per type, the softmax baseline as a line.
    """
    exp = experiments[0]
    types = [
        mt
        for mt in MARGIN_SETTINGS
        if any(type_row_name(mt, v) in exp.rows for v in ("fixed", "uncertainty"))
    ]

    def ours(row, metric):
        if row not in exp.rows:
            return "—"
        return cell(
            _values(records, row, metric, exp.name), n_failed(records, row, exp.name)
        )

    def table(metric, main):
        """``main``: with the fit times and the paper's columns."""
        header = [
            "Loss type",
            "n",
            "m",
            "fixed m (ours)",
            "uncertainty (ours)",
            "Δ uncertainty − fixed",
        ]
        if main:
            header += [
                "fit s (fixed / uncertainty)",
                "*paper: original*",
                "*paper: with uncer.*",
            ]
        body = []
        if SOFTMAX_ROW in exp.rows:
            cells = ["softmax", "-", "-", ours(SOFTMAX_ROW, metric), "—", ""]
            if main:
                cells += [
                    fit_seconds_cell(records, SOFTMAX_ROW, exp.name),
                    paper_cell(KHAN2019_TABLE7[SOFTMAX_ROW][0]),
                    "*—*",
                ]
            body.append(cells)
        for mt in types:
            paper_name, _, n, m = MARGIN_SETTINGS[mt]
            fixed, uncertain = (
                type_row_name(mt, "fixed"),
                type_row_name(mt, "uncertainty"),
            )
            cells = [f"{mt} (the paper's {paper_name})", n, m]
            cells += [ours(fixed, metric), ours(uncertain, metric)]
            cells.append(
                delta_cell(paired_deltas(records, uncertain, fixed, metric, exp.name))
            )
            if main:
                original, uncer = KHAN2019_TABLE7[mt]
                cells += [
                    f"{fit_seconds_cell(records, fixed, exp.name)} / "
                    f"{fit_seconds_cell(records, uncertain, exp.name)}",
                    paper_cell(original),
                    paper_cell(uncer),
                ]
            body.append(cells)
        return markdown_table(header, body)

    text = (
        "## Khan et al. Table 7 ablation: each margin type, fixed against uncertainty margins\n\n"
        f"Data: {exp.title}; {n_seeds[exp.name]} seed(s). Each cell: accuracy (the "
        "paper's metric), mean ± std over seeds in %; Δ: mean ± std over seeds of "
        "the per-seed difference on the same training set, in points. n and m are "
        "the paper's settings (our fixed margin: m = 4 for large_margin and "
        "sphereface, m = 3 for cosface = 0.35 and arcface = 0.4, scale 30 for both); "
        "the uncertainty variant caps its class margins at the same m. Columns in "
        f"italics are the paper's own numbers on its data ({TABLE7_LABEL}), not ours.\n\n"
        + table("accuracy", True)
        + "\n\nMean recall of the five reduced classes (5-9), same layout:\n\n"
        + table(tail_recall, False)
    )
    stats = np.array(
        [
            [
                mean_std(_values(records, type_row_name(mt, v), "accuracy", exp.name))
                for v in ("fixed", "uncertainty")
            ]
            for mt in types
        ]
    ).reshape(len(types), 2, 2)
    softmax = mean_std(_values(records, SOFTMAX_ROW, "accuracy", exp.name))[0]
    path = (
        grouped_bars(
            types,
            ["fixed margin", "uncertainty margins"],
            100 * stats[..., 0],
            100 * stats[..., 1],
            Path(out) / "margin_types.png",
            "Margin types, fixed against uncertainty margins (as Khan et al. Table 7)",
            "accuracy (%)",
            reference=("softmax", 100 * softmax),
        )
        if types
        else None
    )
    return text, [path] if path else []


# ---------------------------------------------------------------- profiles
_NET = dict(
    hidden_layer_sizes=(512, 512), dropout=0.5, max_epochs=30, batch_size=128, lr=1e-3
)

PROFILES = {
    "margin_stages": Profile(
        name="margin_stages",
        description=(
            "Khan et al.'s Table 6 ablation: the uncertainty-margin curriculum "
            "stopped after softmax, class margins, or class + sample margins, at "
            "dropout 0.3 / 0.5 / 0.7, on EfficientNet-Lite0 features of MNIST "
            "(Table 5 protocol)"
        ),
        experiments=margin_stages_experiments,
        seeds=4,
        jobs=2,
        net=dict(_NET),
        reporters={"margin_stages": report_margin_stages},
        sizing_records=("docs/results/margin_stages/runs.jsonl",),
    ),
    "margin_types": Profile(
        name="margin_types",
        description=(
            "Khan et al.'s Table 7 ablation: each margin type with its fixed margin "
            "against uncertainty-derived class margins, on EfficientNet-Lite0 "
            "features of Fashion-MNIST (Table 5 protocol)"
        ),
        experiments=margin_types_experiments,
        seeds=4,
        jobs=2,
        net=dict(_NET),
        reporters={"margin_types": report_margin_types},
        sizing_records=("docs/results/margin_types/runs.jsonl",),
    ),
}
