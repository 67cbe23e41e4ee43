"""Per-epoch cost of UncertaintyMarginClassifier relative to the cross-entropy baseline.

Both estimators train the same network (default (512, 512) MLP, dropout 0.5) on
the same imbalanced synthetic data for the same number of epochs; the method runs
its default schedule (10 softmax epochs, 10 class-level, 10 sample-level, MC
refreshes every 5 epochs with 10 passes each), so the MC-dropout passes are
included in its time. Reported: seconds per epoch of each (median over repeats of
the whole fit divided by its epochs), their ratio, and the method's time split by
curriculum stage (skorch's per-epoch ``dur``, which includes the refreshes run at
the start of an epoch).

Run ``python -m benchmarks.speed.uncertainty_margin`` (``--help`` for options).
Results go to ``benchmarks/results/speed_uncertainty_margin.{csv,md}``.
"""

import argparse
import platform
import statistics
from pathlib import Path

import numpy as np
import torch

from skimbalance import CrossEntropyClassifier, UncertaintyMarginClassifier
from skimbalance.training.uncertainty_margin import curriculum_stage

from ..harness.files import atomic_open
from .common import imbalanced_data, time_fit


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent.parent / "results"),
        help="output folder (default: benchmarks/results)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    X, y = imbalanced_data(args.n_samples, args.n_features, args.n_classes)
    shared = dict(
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        device=args.device,
        n_threads=args.threads,
        random_state=0,
    )
    # One throw-away fit pays the one-off imports (torch._dynamo etc.).
    CrossEntropyClassifier(**{**shared, "max_epochs": 1}).fit(X[:256], y[:256])
    ce_times, um_times, stage_times = [], [], {"softmax": [], "class": [], "sample": []}
    for _ in range(args.repeats):
        ce_times.append(time_fit(CrossEntropyClassifier(**shared), X, y))
        um = UncertaintyMarginClassifier(**shared)
        um_times.append(time_fit(um, X, y))
        for row in um.net_.history:
            stage = curriculum_stage(
                row["epoch"], args.max_epochs, um.warmup_epochs, um.sample_level_epochs
            )
            stage_times[stage].append(row["dur"])
    ce_epoch = statistics.median(ce_times) / args.max_epochs
    um_epoch = statistics.median(um_times) / args.max_epochs
    ratio = um_epoch / ce_epoch
    rows = [
        ("CE s/epoch", ce_epoch),
        ("UncertaintyMargin s/epoch (all epochs, MC passes included)", um_epoch),
        ("ratio UncertaintyMargin / CE", ratio),
    ]
    for stage, durs in stage_times.items():
        if durs:
            rows.append((f"UncertaintyMargin {stage} stage s/epoch", np.median(durs)))
    machine = (
        f"{platform.machine()}, torch {torch.__version__}, device {args.device}, "
        f"{args.threads} thread(s)"
    )
    setting = (
        f"{args.n_samples} samples x {args.n_features} features, {args.n_classes} "
        f"classes (half at 10 %), {args.max_epochs} epochs, batch {args.batch_size}, "
        f"default (512, 512) MLP, median of {args.repeats} fits"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(out / "speed_uncertainty_margin.csv") as fh:
        fh.write("quantity,value\n")
        for name, value in rows:
            fh.write(f'"{name}",{value:.6g}\n')
    with atomic_open(out / "speed_uncertainty_margin.md") as fh:
        fh.write("# UncertaintyMarginClassifier: per-epoch time vs. cross-entropy\n\n")
        fh.write(f"{setting}; {machine}.\n\n")
        fh.write("| quantity | value |\n|---|---|\n")
        for name, value in rows:
            fh.write(f"| {name} | {value:.3f} |\n")
        verdict = "meets" if ratio <= 2.0 else "misses"
        fh.write(f"\nThe ratio {ratio:.2f}x {verdict} the 2x target.\n")
    for name, value in rows:
        print(f"{name:62s} {value:.4f}")
    return ratio


if __name__ == "__main__":
    main()
