"""CRL's multi-label settings on yeast, paired against CE (issue 19, CRL items 1-4).

A small version of the :mod:`benchmarks.dong2017.attributes` protocol: the
multi-label yeast set (14 labels, positive rates 1.4-75 %), one iteratively
stratified 80/20 split per seed (fold 0 of the 5 folds of
:func:`~benchmarks.dong2017.attributes.iterative_stratification` with that
seed is the test set), standardised features, the attribute profile's network
((512, 512) MLP, dropout 0.5, embedding 64, 30 epochs of batch 128, Adam
1e-3), one CPU thread. Every row is fitted on the same split as ``CE`` for
each seed; the report gives, per row, the mean over the labels of each label's
balanced accuracy (Dong et al.'s "average accuracy"), mean ± sd over the
seeds, the paired difference row − CE (mean ± sd over the seeds), the number
of labels whose test predictions are a single class (mean over seeds), and,
for the relative form, the fraction of hard triplets whose hinge is active in
the last epoch.

Row groups (``--group``)

``balance``
    ``CE``, ``CRL(C+R)``, ``CRL(I+R)``, ``CRL(I+A)`` with the library's
    defaults (item 1: the CE:CRL balance of Eq. 2 + Eq. 9). Run it under an
    older checkout of ``skimbalance`` to measure the previous balance.
``margin``
    ``CRL(I+R)`` and ``CRL(C+R)`` with margins 0.1 to pi (item 2).
``normalize``
    ``CE``, ``CRL(I+R)`` and ``CRL(I+R)`` on raw distances (item 3); the
    records hold the mean norm of the test embeddings (``--epochs`` to train
    longer).
``imbalance``
    ``crl_weight="imbalance"`` with ``crl_eta`` 0.5, 1 and 2 (item 4).

Usage::

    python -m benchmarks.dong2017.multilabel_balance --group balance --seeds 3
    python -m benchmarks.dong2017.multilabel_balance --group margin --json out.json

About 10-30 s per fit on one thread of this project's busy 2-core machine.
"""

import argparse
import json
import math
import time
import warnings

import numpy as np
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier, CrossEntropyClassifier
from skimbalance.datasets import fetch_yeast_multilabel

from .attributes import iterative_stratification

#: The attribute profile's network (:data:`benchmarks.dong2017.attributes.PROFILES`).
NET = dict(
    hidden_layer_sizes=(512, 512),
    dropout=0.5,
    max_epochs=30,
    batch_size=128,
    lr=1e-3,
    device="cpu",
    n_threads=1,
)

BASELINE = "CE"

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


def split(seed):
    """The 80/20 iteratively stratified split of yeast for ``seed``, standardised."""
    X, Y = fetch_yeast_multilabel(return_X_y=True)
    Y = np.asarray(Y).astype(np.int64)
    folds = iterative_stratification(Y, 5, random_state=seed)
    train, test = folds != 0, folds == 0
    scaler = StandardScaler().fit(X[train])
    return (
        scaler.transform(X[train]).astype(np.float32),
        Y[train],
        scaler.transform(X[test]).astype(np.float32),
        Y[test],
    )


def make(params, seed, net=NET):
    """CE for ``params is None``, else a CRLClassifier with ``params``."""
    if params is None:
        return CrossEntropyClassifier(random_state=seed, **net)
    return CRLClassifier(random_state=seed, **net, **params)


def score(estimator, X_test, Y_test):
    """Mean per-label balanced accuracy and the labels predicting one class."""
    Y_pred = np.asarray(estimator.predict(X_test))
    ba = [
        balanced_accuracy_score(Y_test[:, j], Y_pred[:, j])
        for j in range(Y_test.shape[1])
    ]
    single = int(sum(len(np.unique(Y_pred[:, j])) == 1 for j in range(Y_pred.shape[1])))
    return float(np.mean(ba)), single


def run(rows, seeds, net=NET, log=print):
    """Fit every row on every seed's split; a list of run records."""
    records = []
    for seed in seeds:
        X_train, Y_train, X_test, Y_test = split(seed)
        for name, params in rows.items():
            tic = time.perf_counter()
            estimator = make(params, seed, net)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                estimator.fit(X_train, Y_train)
            ba, single = score(estimator, X_test, Y_test)
            # mean L2 norm of the test embeddings (the net's second output)
            embedding = estimator._forward(estimator._validate_X_predict(X_test))[1]
            norm = float(embedding.double().norm(dim=-1).mean())
            history = estimator.net_.history
            active = (
                float(history[-1, "crl_active_fraction"])
                if "crl_active_fraction" in history[-1]
                else float("nan")
            )
            record = {
                "row": name,
                "seed": seed,
                "balanced_accuracy": ba,
                "single_class_labels": single,
                "active_fraction": active,
                "embedding_norm": norm,
                "fit_seconds": time.perf_counter() - tic,
            }
            records.append(record)
            log(json.dumps(record))
    return records


def report(records, baseline_records=()):
    """Markdown table: row, BA mean ± sd, paired Δ vs CE mean ± sd, one-class labels."""
    by = {}
    for r in [*baseline_records, *records]:
        by.setdefault(r["row"], {})[r["seed"]] = r
    base = by.get(BASELINE, {})
    lines = [
        "| row | balanced accuracy (%) | Δ vs CE (points) | one-class labels "
        "| active triplets | embedding norm |",
        "|---|---|---|---|---|---|",
    ]
    for row, runs in by.items():
        seeds = sorted(runs)
        ba = np.array([runs[s]["balanced_accuracy"] for s in seeds]) * 100
        paired = [
            100 * (runs[s]["balanced_accuracy"] - base[s]["balanced_accuracy"])
            for s in seeds
            if s in base
        ]
        delta = (
            f"{np.mean(paired):+.1f} ± {np.std(paired, ddof=1):.1f}"
            if len(paired) > 1 and row != BASELINE
            else ""
        )
        single = np.mean([runs[s]["single_class_labels"] for s in seeds])
        fractions = [runs[s]["active_fraction"] for s in seeds]
        fractions = [f for f in fractions if not np.isnan(f)]
        active = np.mean(fractions) if fractions else np.nan
        norms = [runs[s].get("embedding_norm", np.nan) for s in seeds]
        norms = [n for n in norms if not np.isnan(n)]
        lines.append(
            f"| {row} | {ba.mean():.1f} ± {ba.std(ddof=1) if len(ba) > 1 else 0:.1f} "
            f"| {delta} | {single:.1f} | "
            + ("" if np.isnan(active) else f"{active:.2f}")
            + " | "
            + (f"{np.mean(norms):.3g}" if norms else "")
            + " |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=sorted(GROUPS), action="append")
    parser.add_argument("--rows", nargs="*", help="only these rows of the groups")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=NET["max_epochs"])
    parser.add_argument("--json", help="write the run records here")
    parser.add_argument(
        "--baseline-json", help="records of an earlier run holding the CE rows"
    )
    args = parser.parse_args(argv)
    rows = {}
    for group in args.group or ["balance"]:
        rows.update(GROUPS[group])
    if args.rows:
        rows = {name: rows[name] for name in args.rows}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    records = run(rows, seeds, net={**NET, "max_epochs": args.epochs})
    baseline = []
    if args.baseline_json:
        with open(args.baseline_json) as f:
            baseline = [r for r in json.load(f) if r["row"] == BASELINE]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    print(report(records, baseline))


if __name__ == "__main__":
    main()
