"""CRL's multi-label settings on yeast, paired against CE (issue 19, CRL items 1-4).

``python -m benchmarks crl_multilabel`` (output
``benchmarks/results/crl_multilabel``; ``--methods`` runs some rows only).

A small version of the :mod:`benchmarks.dong2017.attributes` protocol: the
multi-label yeast set (14 labels, positive rates 1.4-75 %), one iteratively
stratified 80/20 split per seed (fold 0 of the 5 folds of
:func:`~benchmarks.dong2017.attributes.iterative_stratification` with that
seed is the test set, :func:`yeast_split`), a standard scaler fitted on the
training part, the attribute profile's network ((512, 512) MLP, dropout 0.5,
embedding 64, 30 epochs of batch 128, Adam 1e-3). Every row is fitted on the
same split as ``CE`` for each seed, and scored per label
(:func:`~benchmarks.dong2017.attributes.fit_and_score`). The report
(:func:`report`) gives, per group of rows, the mean over the labels of each
label's balanced accuracy (Dong et al.'s "average accuracy"), mean ± sd over
the seeds, the paired difference row − CE, and the measures of each run
(:data:`MEASURES`): the number of labels whose test predictions are a single
class, the fraction of hard triplets whose hinge is active in the last epoch
(the relative form), and the mean norm of the test embeddings.

Row groups (:data:`GROUPS`)

``balance``
    ``CE``, ``CRL(C+R)``, ``CRL(I+R)``, ``CRL(I+A)`` with the library's
    defaults (item 1: the CE:CRL balance of Eq. 2 + Eq. 9).
``margin``
    ``CRL(I+R)`` and ``CRL(C+R)`` with margins 0.1 to pi (item 2).
``normalize``
    ``CE``, ``CRL(I+R)`` and ``CRL(I+R)`` on raw distances (item 3).
``imbalance``
    ``crl_weight="imbalance"`` with ``crl_eta`` 0.5, 1 and 2 (item 4).

A row of two groups (``CE``, ``CRL(I+R)``) is one row, fitted once a seed.
3 seeds; 10-30 s a fit on one thread of this project's busy 2-core machine.
"""

import math

import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier, CrossEntropyClassifier

from ..harness.ablation_report import Column, Line, paired_table
from ..harness.experiments import HoldoutExperiment
from ..harness.measures import final_input, final_step
from ..harness.profile import Profile
from . import attributes
from .attributes import fit_and_score, iterative_stratification

BASELINE = "CE"

#: Group -> {row: parameters of :class:`~skimbalance.CRLClassifier`, None: CE}.
GROUPS = {
    "balance": {
        "CE": None,
        "CRL(C+R)": dict(mining="class"),
        "CRL(I+R)": dict(mining="instance"),
        "CRL(I+A)": dict(mining="instance", crl_loss="absolute"),
    },
    "margin": {
        **{
            f"CRL(I+R) m={m:g}": dict(mining="instance", margin=m)
            for m in (0.1, 0.25, 0.5, 1.0, round(math.pi, 4))
        },
        **{
            f"CRL(C+R) m={m:g}": dict(mining="class", margin=m)
            for m in (0.25, 0.5, round(math.pi, 4))
        },
    },
    "normalize": {
        "CE": None,
        "CRL(I+R)": dict(mining="instance"),
        "CRL(I+R) raw distances": dict(mining="instance", normalize=False),
    },
    "imbalance": {
        **{
            f"CRL(I+R) alpha eta={eta:g}": dict(
                mining="instance", crl_weight="imbalance", crl_eta=eta
            )
            for eta in (0.5, 1.0, 2.0)
        },
        "CRL(C+R) alpha eta=1": dict(
            mining="class", crl_weight="imbalance", crl_eta=1.0
        ),
    },
}
#: Every row once, in the order of the groups.
ROWS = {row: params for group in GROUPS.values() for row, params in group.items()}


def make_row(name, random_state, **net):
    """CE for a row without parameters, else a CRLClassifier with them; a
    standard scaler in front."""
    params = ROWS[name]
    if params is None:
        estimator = CrossEntropyClassifier(random_state=random_state, **net)
    else:
        estimator = CRLClassifier(random_state=random_state, **net, **params)
    return make_pipeline(StandardScaler(), estimator)


def yeast_split(seed, device="cpu"):
    """The 80/20 split of yeast for ``seed``: fold 0 of its iteratively
    stratified 5 folds is the test set (unscaled; ``device`` is not used)."""
    X, Y = attributes.load_yeast()
    Y = np.asarray(Y).astype(np.int64)
    folds = iterative_stratification(Y, 5, random_state=seed)
    train, test = folds != 0, folds == 0
    return X[train], Y[train], X[test], Y[test]


# -------------------------------------------------------------- measures
def single_class_labels(estimator, X_train, Y_train, X_test, Y_test):
    """``single_class_labels``: the labels whose test predictions are one class."""
    Y_pred = np.asarray(estimator.predict(X_test))
    return {
        "single_class_labels": float(
            sum(len(np.unique(Y_pred[:, j])) == 1 for j in range(Y_pred.shape[1]))
        )
    }


def active_fraction(estimator, X_train, Y_train, X_test, Y_test):
    """``active_fraction``: the share of hard triplets whose hinge is active in
    the last epoch (CRL's relative form; ``{}`` where the history has none)."""
    net = getattr(final_step(estimator), "net_", None)
    last = net.history[-1] if net is not None else {}
    if "crl_active_fraction" not in last:
        return {}
    return {"active_fraction": float(last["crl_active_fraction"])}


def embedding_norm(estimator, X_train, Y_train, X_test, Y_test):
    """``embedding_norm``: the mean L2 norm of the test embeddings (the
    network's second output)."""
    model = final_step(estimator)
    X = model._validate_X_predict(final_input(estimator, X_test))
    embedding = model._forward(X)[1]
    return {"embedding_norm": float(embedding.double().norm(dim=-1).mean())}


MEASURES = (single_class_labels, active_fraction, embedding_norm)


def experiments():
    """The one experiment: the yeast split of each seed, every row."""
    return [
        HoldoutExperiment(
            name="yeast_split",
            title=(
                "yeast (multi-label, 14 labels), 80/20 split: fold 0 of the "
                "iteratively stratified 5 folds of each seed"
            ),
            load=yeast_split,
            rows=tuple(ROWS),
            settings={
                "data": "yeast-multilabel",
                "split": "fold 0 of iterative-stratified 5-fold",
            },
            suite="crl_multilabel",
            make_row=make_row,
            fit_and_score=fit_and_score,
            measures=MEASURES,
        )
    ]


COLUMNS = (
    Column("balanced accuracy (%)", "balanced_accuracy"),
    Column("Δ vs CE (points)", "balanced_accuracy", reference=BASELINE),
    Column("one-class labels", "single_class_labels", scale=1.0),
    Column("active triplets", "active_fraction", scale=1.0, digits=2),
    Column("embedding norm", "embedding_norm", scale=1.0, digits=3),
)


def report(records, experiments, out, n_seeds):
    """The suite's section: one table per group of :data:`GROUPS` (the rows
    that ran), mean ± sd over seeds and the paired difference to CE."""
    ran = {r["method"] for r in records}
    seeds = sorted({n_seeds[e.name] for e in experiments})
    parts = [
        "## CRL's multi-label settings on yeast (issue 19)\n\n"
        "Mean over the 14 labels of each label's balanced accuracy on the test "
        "fifth, mean ± sd over "
        f"{'/'.join(map(str, seeds))} seed(s) (the sample sd); Δ: the paired "
        "difference row − CE on the same split; one-class labels: labels whose "
        "test predictions are all one class; active triplets: the share of hard "
        "triplets with an active hinge in the last epoch; embedding norm: the "
        "mean L2 norm of the test embeddings."
    ]
    for group, rows in GROUPS.items():
        lines = [Line(row, row) for row in rows if row in ran]
        if lines:
            parts.append(f"### {group}\n\n" + paired_table(records, lines, COLUMNS))
    return "\n\n".join(parts), []


#: The attribute profile's network
#: (:data:`benchmarks.dong2017.attributes.PROFILES`).
NET = dict(
    hidden_layer_sizes=(512, 512), dropout=0.5, max_epochs=30, batch_size=128, lr=1e-3
)

PROFILES = {
    "crl_multilabel": Profile(
        name="crl_multilabel",
        description=(
            "CRL's multi-label settings (issue 19: the CE:CRL balance, the margin, "
            "normalised distances, imbalance-weighted CRL) on the multi-label "
            "yeast set, an iteratively stratified 80/20 split per seed, paired "
            "against CE"
        ),
        experiments=experiments,
        seeds=3,
        jobs=1,
        net=NET,
        reporters={"crl_multilabel": report},
    )
}
