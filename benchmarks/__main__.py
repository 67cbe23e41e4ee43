"""Command-line entry of the benchmark harness: ``python -m benchmarks PROFILE``."""

import argparse
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .methods import all_rows, make_row
from .metrics import METRICS, score_all
from .profiles import PROFILES
from .report import format_table, summarise, write_csv


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Reproduce the papers' comparative tables on real data.",
    )
    parser.add_argument("profile", choices=sorted(PROFILES), help="what to run")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    parser.add_argument(
        "--methods", nargs="+", default=None, help="rows to run (default: all)"
    )
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    parser.add_argument("--max-epochs", type=int, default=None, help="override epochs")
    parser.add_argument(
        "--out",
        default=None,
        help="output folder (default: benchmarks/results/PROFILE)",
    )
    return parser.parse_args(argv)


def fit_and_score(name, seed, estimator, X_train, y_train, X_test, y_test):
    """One run: fit, predict the test set, score. A baseline that cannot run on
    the data (e.g. ADASYN finding no majority neighbours) is recorded with its
    error instead of stopping the benchmark."""
    run = {"method": name, "seed": seed, "error": ""}
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            estimator.fit(X_train, y_train)
    except (ValueError, RuntimeError) as error:
        run["error"] = f"{type(error).__name__}: {error}"
        return (
            run | {"fit_seconds": float("nan")} | dict.fromkeys(METRICS, float("nan"))
        )
    run["fit_seconds"] = time.perf_counter() - tic
    return run | score_all(y_test, estimator.predict(X_test))


def run(args):
    profile = PROFILES[args.profile]
    rows = args.methods or list(all_rows())
    unknown = sorted(set(rows) - set(all_rows()))
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {list(all_rows())}")
    seeds = range(args.seeds or profile.seeds)
    net = dict(profile.net, device=args.device, n_threads=args.threads)
    if args.max_epochs:
        net["max_epochs"] = args.max_epochs
    out = Path(args.out or Path(__file__).parent / "results" / profile.name)

    print(f"profile {profile.name}: {profile.description}")
    runs = []
    started = time.perf_counter()
    progress = tqdm(total=len(rows) * len(seeds), desc="runs", unit="fit")
    for seed in seeds:
        X_train, y_train, X_test, y_test = profile.load(seed)
        for name in rows:
            progress.set_postfix_str(f"{name}, seed {seed}")
            estimator = make_row(name, seed, **net)
            runs.append(
                fit_and_score(name, seed, estimator, X_train, y_train, X_test, y_test)
            )
            progress.update()
    progress.close()
    wall = time.perf_counter() - started

    summary = summarise(runs, list(METRICS))
    write_csv(runs, out / "runs.csv")
    write_csv(summary, out / "summary.csv")
    header = (
        f"Profile `{profile.name}`: {profile.description}. "
        f"{len(seeds)} seeds; mean ± std over seeds, in %. "
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"device {args.device}), wall time {wall:.0f} s."
    )
    markdown = header + "\n\n" + format_table(summary, list(METRICS), markdown=True)
    failures = [
        f"- {r['method']}: failed in {r['errors']} of {r['runs']} runs: {r['error']}"
        for r in summary
        if r["errors"]
    ]
    if failures:
        markdown += "\n\n" + "\n".join(failures)
    (out / "summary.md").write_text(markdown + "\n")
    print()
    print(format_table(summary, list(METRICS)))
    for row in summary:
        if row["errors"]:
            print(
                f"{row['method']}: failed in {row['errors']} of {row['runs']} runs: {row['error']}"
            )
    print(
        f"\nwall time {wall:.0f} s; results in {out}/ (runs.csv, summary.csv, summary.md)"
    )
    return summary


def main(argv=None):
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
