"""Command-line entry of the benchmark harness: ``python -m benchmarks PROFILE``.

Examples::

    python -m benchmarks quick                      # bundled data, minutes
    python -m benchmarks full                       # real data, about 2 hours
    python -m benchmarks full --device cuda --jobs 2
    python -m benchmarks full --experiments yeast4 abalone19 --methods CE "SMOTE + CE"
    python -m benchmarks PROFILE --backbone cnn     # a profile's variant (if it has one)

An interrupted run resumes where it stopped: finished runs are cached in
``<out>/runs.jsonl`` (``--fresh`` ignores them).
"""

import argparse
import sys

from .profiles import all_profiles
from .runner import run_profile

PROFILES = all_profiles()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Reproduce the papers' comparative tables on real data.",
    )
    parser.add_argument(
        "profile",
        choices=sorted(PROFILES),
        help="quick: bundled data, minutes; full: real data, about two hours",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds / CV repeats (default: profile's)",
    )
    parser.add_argument(
        "--methods", nargs="+", default=None, help="rows to run (default: all)"
    )
    parser.add_argument(
        "--experiments",
        nargs="+",
        default=None,
        help="data sets to run (default: all of the profile)",
    )
    parser.add_argument(
        "--device", default="auto", help="torch device: auto, cpu, cuda (default: auto)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per run")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="runs in parallel processes (default: the profile's: quick 1, full 2)",
    )
    parser.add_argument("--max-epochs", type=int, default=None, help="override epochs")
    parser.add_argument(
        "--out",
        default=None,
        help="output folder (default: benchmarks/results/PROFILE)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="ignore the cache of finished runs"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--backbone",
        default=None,
        metavar="NAME",
        help="run the profile's variant under another network, e.g. cnn (default: "
        "the profile as it is; see each profile's `backbones`)",
    )
    return parser.parse_args(argv)


def chosen_profile(name, backbone=None):
    """The profile ``name``, or its variant ``backbone`` when one is asked for.

    Raises ``SystemExit`` naming the available variants when the profile has
    no variant of that name.
    """
    profile = PROFILES[name]
    if backbone is None:
        return profile
    variants = getattr(profile, "backbones", {}) or {}
    if backbone not in variants:
        available = ", ".join(sorted(variants)) or "none"
        raise SystemExit(
            f"profile {name!r} has no backbone {backbone!r}; available backbones: "
            f"{available} (or leave out --backbone for the profile as it is)"
        )
    return variants[backbone]


def run(args):
    profile = chosen_profile(args.profile, getattr(args, "backbone", None))
    return run_profile(
        profile,
        seeds=args.seeds,
        methods=args.methods,
        experiments=args.experiments,
        device=args.device,
        n_threads=args.threads,
        max_epochs=args.max_epochs,
        out=args.out,
        resume=not args.fresh,
        jobs=args.jobs or profile.jobs,
        progress=not args.no_progress,
    )


def main(argv=None):
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
