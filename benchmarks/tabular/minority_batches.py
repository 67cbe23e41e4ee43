"""How often CRL's minority rule fires on the KEEL suite (issue 13).

``python -m benchmarks crl_minority_batches`` (output
``benchmarks/results/crl_minority_batches``; about a minute on one core).

Dong et al.'s Class Rectification Loss is built, in each training batch, from
the batch's minority classes with at least two samples there (an anchor and a
positive; Eq. 3 and footnote 1). On a small, highly imbalanced tabular set a
batch of 64 often holds none or one sample of the rare class, and the term is
then absent from that batch: CRL is plain cross-entropy there. This profile
measures it, per KEEL set, on the first training fold of ``full``'s
cross-validation (stratified 5-fold shuffled with the seed: seed 0 is
``full``'s first repeat; :class:`FirstFold`), with the network and budget of
``full``'s KEEL suite (a (512, 512) MLP, 300 updates of batch 64, a standard
scaler in front) and the library's default CRL (instance-level mining). Each
fit records (:func:`minority_participation`):

- ``minority_participation``: ``minority_frequency_`` of the fitted
  :class:`~skimbalance.CRLClassifier` for the set's smallest class, the
  fraction of the training batches in which it took part in the term;
- ``expected_participation``: the same fraction as expected for a batch drawn
  at random without replacement (a hypergeometric law,
  :func:`expected_participation`): ``P(at least 2 of the batch are of the
  class)``, the ceiling of the measured fraction (the class must also be a
  minority class of the batch, Eq. 3: on the binary sets it nearly always
  is; on a multi-class set a batch can hold two of the smallest class and
  still have no minority class, when the small classes together make half
  the batch).
"""

from dataclasses import dataclass

import numpy as np
from imblearn.pipeline import make_pipeline
from scipy.stats import hypergeom
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier

from ..harness.ablation_report import Column, Line, paired_table
from ..harness.experiments import HoldoutExperiment
from ..harness.measures import final_step
from ..harness.profile import Profile
from . import keel
from .keel import KEEL_BINARY, KEEL_MULTICLASS, KEEL_NET

ROW = "CRL"


def expected_participation(n_train, n_class, batch_size):
    """``P(a random batch holds at least two samples of the class)``.

    A batch of ``batch_size`` drawn without replacement from ``n_train`` rows
    of which ``n_class`` are of the class (the last, smaller batch of an epoch
    aside).

    Examples
    --------
    >>> round(expected_participation(100, 50, 2), 4)  # both of 2 from half
    0.2475
    >>> expected_participation(100, 1, 64)  # one sample cannot make a pair
    0.0
    """
    batch = min(batch_size, n_train)
    return float(hypergeom(n_train, n_class, batch).sf(1))


def make_row(name, random_state, **net):
    """The library's default CRL (the one row), a standard scaler in front."""
    if name != ROW:
        raise KeyError(name)
    return make_pipeline(
        StandardScaler(), CRLClassifier(random_state=random_state, **net)
    )


@dataclass(frozen=True)
class FirstFold:
    """``load(seed, device)``: the first fold of the stratified 5-fold CV of
    the KEEL set ``name`` shuffled with ``seed`` (``full``'s repeat ``seed``):
    its training part and its held-out fifth."""

    name: str
    n_splits: int = 5

    def __call__(self, seed, device="cpu"):
        X, y = keel.load_keel(self.name)
        folds = StratifiedKFold(self.n_splits, shuffle=True, random_state=seed)
        train, test = next(folds.split(X, y))
        return X[train], y[train], X[test], y[test]


def minority_participation(estimator, X_train, y_train, X_test, y_test):
    """The smallest class's share of the training batches, measured and expected.

    ``smallest_class``: its training rows; ``minority_participation``: the
    fitted CRL's ``minority_frequency_`` of it; ``expected_participation``:
    :func:`expected_participation` at the fit's batch size.
    """
    clf = final_step(estimator)
    classes, counts = np.unique(y_train, return_counts=True)
    smallest = int(np.argmin(counts))
    position = int(np.searchsorted(clf.classes_, classes[smallest]))
    measured = np.asarray(clf.minority_frequency_, dtype=float).ravel()
    return {
        "smallest_class": float(counts[smallest]),
        "minority_participation": float(measured[position]),
        "expected_participation": expected_participation(
            len(y_train), int(counts[smallest]), clf.get_params()["batch_size"]
        ),
    }


def experiments():
    """One experiment per KEEL set of ``full`` (binary, then multi-class)."""
    return [
        HoldoutExperiment(
            name=name,
            title=f"KEEL {name}, first training fold of the stratified 5-fold CV",
            load=FirstFold(name),
            rows=(ROW,),
            settings={"data": f"keel:{name}", "cv": "stratified 5-fold", "fold": 0},
            suite="crl_minority_batches",
            make_row=make_row,
            measures=(minority_participation,),
        )
        for name in (*KEEL_BINARY, *KEEL_MULTICLASS)
    ]


def _ratio(record):
    counts = record.get("train_counts")
    return max(counts) / min(counts) if counts else None


COLUMNS = (
    Column("training rows", "n_train", scale=1.0, digits=0),
    Column("classes", lambda r: len(r["classes"]), scale=1.0, digits=0),
    Column("smallest class (rows)", "smallest_class", scale=1.0, digits=0),
    Column("imbalance ratio", _ratio, scale=1.0, digits=1),
    Column("expected (%)", "expected_participation", digits=0),
    Column("measured (%)", "minority_participation", digits=0),
)


def report(records, experiments, out, n_seeds):
    """The suite's section: one line per set, and how many fall under 50 %."""
    lines = [Line(e.name, ROW, e.name) for e in experiments]
    measured = {}
    for r in records:
        if not r.get("error"):
            measured.setdefault(r["experiment"], []).append(r["minority_participation"])
    under = sum(np.mean(v) < 0.5 for v in measured.values())
    seeds = sorted({n_seeds[e.name] for e in experiments})
    return (
        "## CRL's minority rule on the KEEL suite\n\n"
        "Fraction of the training batches (batch 64, the budget of `full`'s KEEL "
        "suite) in which each set's smallest class takes part in the CRL term "
        "(at least two of its samples in the batch): `expected` for a random "
        "batch (hypergeometric), `measured` from the fitted "
        "`CRLClassifier.minority_frequency_` (first training fold of `full`'s "
        f"CV; {'/'.join(map(str, seeds))} shuffle(s), mean ± sd over them). On "
        f"{under} of the {len(measured)} sets the rarest class is in the term in "
        "fewer than half of the batches.\n\n"
        + paired_table(records, lines, COLUMNS, first="data set")
    ), []


PROFILES = {
    "crl_minority_batches": Profile(
        name="crl_minority_batches",
        description=(
            "how often CRL's minority rule fires (issue 13): the share of the "
            "training batches in which each KEEL set's smallest class takes part "
            "in the CRL term, measured and expected, on the first training fold "
            "of full's cross-validation"
        ),
        experiments=experiments,
        seeds=1,
        net=dict(hidden_layer_sizes=(512, 512), dropout=0.5, **KEEL_NET),
        reporters={"crl_minority_batches": report},
    )
}
