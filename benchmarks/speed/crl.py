"""Training speed of CRL against the cross-entropy baseline.

Measures the per-epoch training time of the six CRL variants (class- or
instance-level mining x relative, absolute or distribution loss) as a ratio to
:class:`~skimbalance.CrossEntropyClassifier` with the same backbone, embedding,
batch size and data, in one run. Fits are interleaved (every round fits all
rows once) so that a slow phase of a shared machine affects all rows alike; the
first epoch of every fit is left out (one-off costs), and the time of a row is
the median of its remaining epochs.

Run ``python -m benchmarks.speed.crl`` (``--help`` for the options). Prints a
table and writes ``speed_crl.csv`` and ``speed_crl.md`` under
``benchmarks/results/``.
"""

import argparse
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier, CrossEntropyClassifier

from ..harness.files import write_text
from ..harness.report import write_csv

VARIANTS = [
    (mining, loss)
    for mining in ("class", "instance")
    for loss in ("relative", "absolute", "distribution")
]


def make_data(n_samples, n_features, n_classes, seed):
    """Imbalanced synthetic data: class sizes falling as ``1 / (rank + 1)``."""
    weights = 1.0 / np.arange(1, n_classes + 1)
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_features // 2,
        n_classes=n_classes,
        n_clusters_per_class=1,
        weights=weights / weights.sum(),
        random_state=seed,
    )
    return StandardScaler().fit_transform(X).astype(np.float32), y


def rows_for(batch_size, net):
    """The estimators timed for one batch size: the baseline first."""
    rows = [("CE", CrossEntropyClassifier(batch_size=batch_size, **net))]
    for mining, loss in VARIANTS:
        name = f"CRL({mining[0].upper()}+{loss[0].upper()})"
        rows.append(
            (
                name,
                CRLClassifier(
                    mining=mining, crl_loss=loss, batch_size=batch_size, **net
                ),
            )
        )
    return rows


def epoch_times(estimator, X, y):
    """Durations of the epochs of one fit, the first (warm-up) one left out."""
    estimator.fit(X, y)
    return list(estimator.net_.history[1:, "dur"])


def measure(batch_sizes, rounds, X, y, net):
    """Median epoch time of every row and its ratio to the baseline."""
    table = []
    for batch_size in batch_sizes:
        rows = rows_for(batch_size, net)
        durations = {name: [] for name, _ in rows}
        for _ in range(rounds):
            for name, estimator in rows:
                durations[name] += epoch_times(estimator, X, y)
        baseline = float(np.median(durations["CE"]))
        for name, _ in rows:
            median = float(np.median(durations[name]))
            table.append(
                {
                    "batch_size": batch_size,
                    "method": name,
                    "epoch_seconds": median,
                    "ratio_to_ce": median / baseline,
                    "epochs_timed": len(durations[name]),
                }
            )
    return table


def format_table(table, markdown=False):
    """The rows as a text or Markdown table."""
    header = ["batch size", "method", "s / epoch", "ratio to CE"]
    body = [
        [
            str(row["batch_size"]),
            row["method"],
            f"{row['epoch_seconds']:.3f}",
            f"{row['ratio_to_ce']:.2f}",
        ]
        for row in table
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True))
        for r in [header, *body]
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed.crl",
        description="Per-epoch training time of the CRL variants vs cross-entropy.",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--n-samples", type=int, default=4096)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fit")
    parser.add_argument("--rounds", type=int, default=3, help="fits per row")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent.parent / "results")
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    X, y = make_data(args.n_samples, args.n_features, args.n_classes, seed=0)
    net = dict(
        hidden_layer_sizes=(512, 512),
        dropout=0.5,
        embedding_dim=64,
        max_epochs=args.epochs,
        n_threads=args.threads,
        device=args.device,
        random_state=0,
    )
    tic = time.perf_counter()
    table = measure(args.batch_sizes, args.rounds, X, y, net)
    wall = time.perf_counter() - tic
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    context = (
        f"CRL training speed: {args.n_samples} x {args.n_features} synthetic samples, "
        f"{args.n_classes} classes with sizes ~ 1/rank, MLP (512, 512) + 64-d "
        f"embedding, {args.epochs} epochs x {args.rounds} interleaved fits per row "
        f"(first epoch of each fit left out), device {args.device}, "
        f"{args.threads} torch thread(s). Run {when} on {platform.node()} "
        f"({platform.machine()}, torch {torch.__version__}), wall time {wall:.0f} s."
    )
    print(context)
    print(format_table(table))
    out = Path(args.out)
    write_csv(table, out / "speed_crl.csv")
    write_text(
        out / "speed_crl.md",
        context + "\n\n" + format_table(table, markdown=True) + "\n",
    )
    return table


if __name__ == "__main__":
    main()
