"""How often CRL's minority rule fires on the KEEL suite (issue 13).

Dong et al.'s Class Rectification Loss is built, in each training batch, from
the batch's minority classes with at least two samples there (an anchor and a
positive; Eq. 3 and footnote 1). On a small, highly imbalanced tabular set a
batch of 64 often holds none or one sample of the rare class, and the term is
then absent from that batch: CRL is plain cross-entropy there. This script
measures it, per KEEL set, on the first training fold of ``full``'s
cross-validation (stratified 5-fold, seed 0), with the network and budget of
``full``'s KEEL suite (a (512, 512) MLP, 300 updates of batch 64) and the
library's default CRL (instance-level mining):

- ``minority_frequency_`` of the fitted :class:`~skimbalance.CRLClassifier`
  for the set's smallest class: the fraction of the training batches in which
  it took part in the term;
- the same fraction as expected for a batch drawn at random without
  replacement (a hypergeometric law): ``P(at least 2 of the batch are of the
  class)``, the ceiling of the measured fraction (the class must also be a
  minority class of the batch, Eq. 3: on the binary sets it nearly always
  is; on a multi-class set a batch can hold two of the smallest class and
  still have no minority class, when the small classes together make half
  the batch).

Run ``python -m benchmarks.tabular.minority_batches`` (``--out`` for the
folder, default ``benchmarks/results/crl_minority_batches``); it writes
``summary.md`` and ``summary.csv``. About a minute on one core.
"""

import argparse
import csv
from pathlib import Path

import numpy as np
from scipy.stats import hypergeom
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier

from ..harness.files import write_text
from ..harness.report import markdown_table
from ..harness.runner import RESULTS, resolve_epochs
from .keel import KEEL_BINARY, KEEL_MULTICLASS, KEEL_NET, keel_experiments


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


def measure(experiment, random_state=0):
    """One KEEL experiment of ``full``: its smallest class on the first
    training fold, measured and expected participation."""
    _, X_train, y_train, _, _ = next(experiment.splits(0))
    X_train = StandardScaler().fit_transform(X_train)
    classes, counts = np.unique(y_train, return_counts=True)
    n_train = len(y_train)
    net = resolve_epochs(KEEL_NET, n_train)
    clf = CRLClassifier(
        hidden_layer_sizes=(512, 512),
        dropout=0.5,
        batch_size=net["batch_size"],
        max_epochs=net["max_epochs"],
        random_state=random_state,
    ).fit(X_train, y_train)
    smallest = int(np.argmin(counts))
    measured = np.asarray(clf.minority_frequency_, dtype=float).ravel()
    return {
        "data set": experiment.name,
        "n_train": n_train,
        "classes": len(classes),
        "smallest class": int(counts[smallest]),
        "imbalance ratio": float(counts.max() / counts.min()),
        "expected": expected_participation(
            n_train, int(counts[smallest]), net["batch_size"]
        ),
        "measured": float(measured[smallest]),
    }


def summary_markdown(rows):
    """The report: one line per set, and how many sets fall under 50 %."""
    body = [
        [
            r["data set"],
            str(r["n_train"]),
            str(r["classes"]),
            str(r["smallest class"]),
            f"{r['imbalance ratio']:.1f}",
            f"{100 * r['expected']:.0f}",
            f"{100 * r['measured']:.0f}",
        ]
        for r in rows
    ]
    under = sum(r["measured"] < 0.5 for r in rows)
    header = [
        "data set",
        "training rows",
        "classes",
        "smallest class (rows)",
        "imbalance ratio",
        "expected (%)",
        "measured (%)",
    ]
    return (
        "# CRL's minority rule on the KEEL suite\n\n"
        "Fraction of the training batches (batch 64, the budget of `full`'s KEEL "
        "suite) in which each set's smallest class takes part in the CRL term "
        "(at least two of its samples in the batch): `expected` for a random "
        "batch (hypergeometric), `measured` from the fitted "
        "`CRLClassifier.minority_frequency_` (first training fold of `full`'s "
        f"CV). On {under} of the {len(rows)} sets the rarest class is in the "
        "term in fewer than half of the batches.\n\n" + markdown_table(header, body)
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "crl_minority_batches")
    parser.add_argument("--sets", nargs="+", default=[*KEEL_BINARY, *KEEL_MULTICLASS])
    args = parser.parse_args(argv)
    experiments = {e.name: e for e in keel_experiments()}
    rows = []
    for name in args.sets:
        rows.append(measure(experiments[name]))
        r = rows[-1]
        print(
            f"{name:>28}  smallest {r['smallest class']:>4}  expected "
            f"{100 * r['expected']:5.1f} %  measured {100 * r['measured']:5.1f} %",
            flush=True,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "summary.md", summary_markdown(rows) + "\n")
    with open(args.out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out / 'summary.md'}")


if __name__ == "__main__":
    main()
