"""The options of the uncertainty-margin estimator on the digits Table 5 protocol (issue 19).

``python -m benchmarks um_options [--methods "CE" "UM default" ...]`` (output
``benchmarks/results/um_options``; 5 seeds, about 3 s a fit on one core).

Each row (:data:`ROWS`) is :class:`~skimbalance.UncertaintyMarginClassifier`
(or the cross-entropy network) on the quick profile's network (512-512,
dropout 0.5, 30 epochs, batch 64, Adam 1e-3, a standard scaler in front) and
the benchmarks' curriculum (a third of the epochs each of softmax,
class-margin and sample-level training: 10 / 10 / 10), trained on digits
under Khan et al.'s Table 5 protocol
(:func:`benchmarks.harness.data.protocols.load_digits_table5`: classes 5-9
keep 10 % of their training samples, balanced test half). Each fit records
its training accuracy and, for the uncertainty margin, its fitted class
margins (:func:`margin_summary`). The report (:func:`report`), per row: test
accuracy and the mean recall of the reduced classes (mean ± sd over the
seeds), the paired per-seed difference to CE (and of the accuracy to the
cost-sensitive CE), the training accuracy, the mean margin of the reduced
and of the other classes, the Spearman correlation of the margins with the
class counts (negative: larger margins on rarer classes), and the mean
misclassification probability the curriculum estimated.
"""

import numpy as np
from imblearn.pipeline import make_pipeline
from scipy.stats import spearmanr
from sklearn.preprocessing import StandardScaler

from skimbalance import UncertaintyMarginClassifier

from ..harness import methods
from ..harness.ablation_report import Column, Line, paired_table, tail_recall
from ..harness.data.protocols import load_digits_table5
from ..harness.experiments import HoldoutExperiment
from ..harness.measures import final_step, train_accuracy
from ..harness.profile import Profile

#: The quick profile's network.
NET = dict(
    hidden_layer_sizes=(512, 512),
    dropout=0.5,
    max_epochs=30,
    batch_size=64,
    lr=1e-3,
)


def _deferred(**options):
    """Class weights switched on after the softmax stage (``stage`` epochs),
    with ``options``."""
    return lambda stage: dict(
        class_weight="balanced", class_weight_start_epoch=stage, **options
    )


#: Row -> the options of the uncertainty margin: a dict, or a function of the
#: stage length (a third of the epochs) for the options that depend on it.
UM_OPTIONS = {
    "UM default": {},
    "UM no sample term": dict(sample_level_epochs=0),
    "UM margin_map=linear": dict(margin_map="linear"),
    "UM margin_map=rank": dict(margin_map="rank"),
    "UM softmax_weight=0": dict(softmax_weight=0.0),
    "UM anneal 100->0": dict(softmax_weight_start=100.0, softmax_weight=0.0),
    "UM anneal 100->1": dict(softmax_weight_start=100.0, softmax_weight=1.0),
    "UM sample_covariance=full": dict(sample_covariance="full"),
    "UM balanced": dict(class_weight="balanced"),
    "UM balanced, frozen": dict(class_weight="balanced", freeze_margins=True),
    "UM balanced from warmup": _deferred(),
    "UM balanced from warmup, frozen": _deferred(freeze_margins=True),
    "UM balanced from warmup, frozen, linear": _deferred(
        freeze_margins=True, margin_map="linear"
    ),
    "UM balanced from warmup, frozen, anneal 100->1": _deferred(
        freeze_margins=True, softmax_weight_start=100.0
    ),
}
#: Our row -> the harness's row it is.
HARNESS_ROWS = {"CE": "CE", "CE balanced": "CE (cost-sensitive)"}
ROWS = (*HARNESS_ROWS, *UM_OPTIONS)


def make_row(name, random_state, **net):
    """A row of :data:`ROWS`: CE from the harness, or the uncertainty margin
    with its options on the curriculum of a third of the epochs per stage."""
    if name in HARNESS_ROWS:
        return methods.make_row(HARNESS_ROWS[name], random_state, **net)
    stage = net.get("max_epochs", 30) // 3
    options = UM_OPTIONS[name]
    options = options(stage) if callable(options) else options
    settings = dict(warmup_epochs=stage, sample_level_epochs=stage) | options
    return make_pipeline(
        StandardScaler(),
        UncertaintyMarginClassifier(random_state=random_state, **net, **settings),
    )


def margin_summary(estimator, X_train, y_train, X_test, y_test):
    """The fitted class margins of an uncertainty-margin row (``{}`` otherwise).

    ``margin_rare`` and ``margin_others``: the mean margin of the smaller half
    of the classes by training count (classes 5-9 under the protocol) and of
    the others; ``margin_count_rho``: the Spearman correlation of the margins
    with the class counts (left out when the margins are all equal);
    ``misclassification_probability``: its mean over the epochs that
    estimated it.
    """
    clf = final_step(estimator)
    if not hasattr(clf, "class_margins_"):
        return {}
    margins = np.asarray(clf.class_margins_, dtype=float)
    counts = np.bincount(np.asarray(y_train), minlength=len(margins))
    rare = np.zeros(len(margins), dtype=bool)
    rare[np.argsort(counts, kind="stable")[: max(1, len(counts) // 2)]] = True
    values = {
        "margin_rare": float(margins[rare].mean()),
        "margin_others": float(margins[~rare].mean()),
    }
    if margins.std() > 0:
        values["margin_count_rho"] = float(spearmanr(margins, counts).statistic)
    probs = [
        h["misclassification_probability"]
        for h in clf.net_.history
        if "misclassification_probability" in h
    ]
    if probs:
        values["misclassification_probability"] = float(np.mean(probs))
    return values


def experiments():
    """The one experiment: digits under the Table 5 protocol, every row."""
    return [
        HoldoutExperiment(
            name="digits",
            title="digits (scikit-learn), Table 5 protocol on raw pixels",
            load=load_digits_table5,
            rows=ROWS,
            settings={"data": "digits", "fraction": 0.1, "reduced": "5-9"},
            suite="um_options",
            make_row=make_row,
            measures=(train_accuracy, margin_summary),
        )
    ]


COLUMNS = (
    Column("accuracy", "accuracy"),
    Column("Δ vs CE", "accuracy", reference="CE"),
    Column("Δ vs CE balanced", "accuracy", reference="CE balanced"),
    Column("rare recall", tail_recall),
    Column("Δ rare vs CE", tail_recall, reference="CE"),
    Column("train acc", "train_accuracy"),
    Column("m rare", "margin_rare", scale=1.0, digits=2),
    Column("m others", "margin_others", scale=1.0, digits=2),
    Column("ρ(m, count)", "margin_count_rho", scale=1.0, digits=2, signed=True),
    Column("mean F", "misclassification_probability", scale=1.0, digits=4),
)


def report(records, experiments, out, n_seeds):
    """The suite's section: every row against CE and the cost-sensitive CE."""
    (exp,) = experiments
    lines = [Line(row, row) for row in exp.rows]
    return (
        "## The uncertainty margin's options (issue 19)\n\n"
        f"{exp.title}, {n_seeds[exp.name]} seed(s); in %, mean ± sd over the "
        "seeds (the sample sd); Δ: the paired difference to that row on the "
        "same training set, in points; rare recall: the mean recall of the five "
        "reduced classes; m: the fitted class margins (rare: the reduced "
        "classes); ρ: their Spearman correlation with the class counts; F: the "
        "mean misclassification probability of the curriculum's estimates.\n\n"
        + paired_table(records, lines, COLUMNS)
    ), []


PROFILES = {
    "um_options": Profile(
        name="um_options",
        description=(
            "the options of the uncertainty-margin estimator (issue 19: margin "
            "maps, softmax weights, the sample term, class weights and their "
            "schedule, frozen margins) against CE, on digits under Khan et al.'s "
            "Table 5 protocol"
        ),
        experiments=experiments,
        seeds=5,
        net=NET,
        reporters={"um_options": report},
    )
}
