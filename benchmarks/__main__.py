"""Command-line entry of the benchmark harness: ``python -m benchmarks PROFILE``.

Examples::

    python -m benchmarks quick                      # bundled data, minutes
    python -m benchmarks full                       # real data, about 2 hours
    python -m benchmarks full --device cuda --jobs 2
    python -m benchmarks full --experiments yeast4 abalone19 --methods CE "SMOTE + CE"
    python -m benchmarks PROFILE --backbone cnn     # a profile's variant (if it has one)
    python -m benchmarks full --backbone cnn --scale gpu --device cuda
    python -m benchmarks table8 --backbone cnn --size   # measure, project the wall time
    python -m benchmarks summary                    # README table from the reports
    python -m benchmarks scale --max-n 100000       # time and memory against n

An interrupted run resumes where it stopped: finished runs are cached in
``<out>/runs.jsonl`` (``--fresh`` ignores them).

This module is also the registry of profiles, the one place that imports every
wing: each wing's module lists its profiles in a ``PROFILES`` dict, and the two
profiles that combine wings are assembled here:

``quick``
    Bundled data only (scikit-learn's), minutes on 2 cores: Khan et al.'s
    Table 5 protocol on digits (:func:`benchmarks.khan2019.table5.digits_experiments`),
    and a small cross-validated tabular suite
    (:func:`benchmarks.tabular.keel.bundled_experiments`).
``full``
    The real data: Table 5 on EfficientNet-Lite0 features of Fashion-MNIST
    (the stand-in for CIFAR-10) and MNIST
    (:func:`benchmarks.khan2019.table5.feature_experiments`), and the KEEL
    suite (19 binary and 5 multi-class sets, stratified 5-fold CV;
    :func:`benchmarks.tabular.keel.keel_experiments`). Sized for about two
    hours on this project's 2-core machine (2 seeds / CV repeats, 10 epochs on
    the features, 300 updates per KEEL fit, 2 runs in parallel); the
    measurements behind it are in docs/benchmarks.rst. Its ``cnn`` variant
    (``--backbone cnn``, :data:`benchmarks.khan2019.table5.CNN_PROFILE`) is
    the Table 5 half trained end to end on the 28 x 28 images.

``scale`` measures fit and predict time and peak memory of every estimator
against the number of training rows, each measurement in a fresh process
(:mod:`benchmarks.scale.profile`; ``scale --help`` for its options).

``summary`` runs nothing: it rewrites the README's recommendation table and
the results page's summary table and figure from the reports committed under
``docs/results/`` (:mod:`benchmarks.harness.front_door`; ``summary --check``
fails when they are stale).

``--size`` measures a profile's rows on this machine and projects its wall
time instead of running it (:func:`benchmarks.harness.sizing.size_profile`);
``--size-from`` projects it from the fit seconds of recorded runs, fitting
nothing (:func:`benchmarks.harness.sizing.recorded_projection`);
``--scale gpu`` picks a profile's larger setting for a GPU, where it has one
(:meth:`benchmarks.harness.profile.Profile.at_scale`).
"""

import argparse
import sys

from .dong2017 import attributes, crl_ablation, mining_cost, multilabel_balance
from .harness import front_door
from .harness.data.features import DEFAULT_IMAGE_SIZE
from .harness.methods import (
    DEFAULT_CANDIDATES,
    DEFAULT_REFERENCES,
    PROBES,
    decoupled_rows,
    defaults_rows,
)
from .harness.profile import Profile
from .harness.runner import run_profile, select
from .harness.selection import probe_markdown, selection_markdown
from .harness.sizing import DEFAULT_SAMPLES, recorded_projection, size_profile
from .huang2019 import (
    clmle_ablation,
    clmle_open_choices,
    clmle_scores,
    clmle_settings,
    table8,
)
from .khan2019 import margin_ablation, um_options
from .khan2019.table5 import CNN_PROFILE as TABLE5_CNN
from .khan2019.table5 import digits_experiments, feature_experiments
from .scale import profile as scale_profile
from .tabular import minority_batches, sensitivity
from .tabular.keel import (
    KEEL_NET,
    SELECTION_FIRST_SEED,
    bundled_experiments,
    keel_experiments,
)


def quick_experiments():
    """Table 5 on digits, then the bundled tabular suite."""
    return [*digits_experiments(), *bundled_experiments()]


def full_experiments():
    """Table 5 on Fashion-MNIST and MNIST features, then the KEEL suite."""
    return [*feature_experiments(), *keel_experiments()]


def defaults_experiments():
    """The KEEL suite on other folds than ``full``'s, then Table 5 on the
    features scored on a validation split of the training set (the test sets
    are not looked at), each with the candidates of every method."""
    rows = defaults_rows()
    return [
        *keel_experiments(
            rows=rows, first_seed=SELECTION_FIRST_SEED, suite="defaults_keel"
        ),
        *feature_experiments(rows=rows, split="validation", suite="defaults_features"),
    ]


def decoupled_experiments():
    """Each method's embedding under the same class-balanced linear head, beside
    its own prediction and plain CE's: Table 5 on digits and on the features,
    and Table 8 (power-law training sets) on the features."""
    rows = decoupled_rows()
    return [
        *digits_experiments(rows=rows, suite="decoupled_digits"),
        *feature_experiments(rows=rows, suite="decoupled_table5"),
        *table8.table8_experiments(
            {name: table8.FeaturePool(name) for name in table8.DATASETS},
            rows=rows,
            balanced_rows=(),
            settings={"features": f"efficientnet-lite0@{DEFAULT_IMAGE_SIZE}"},
        ),
    ]


def defaults_choice(records, experiments, out, n_seeds):
    """The ``defaults`` profile's closing section: the choice per method."""
    ran = {r["method"] for r in records}  # --methods may have run fewer rows
    candidates = {
        m: [row for row in group if row in ran]
        for m, group in DEFAULT_CANDIDATES.items()
    }
    markdown, _ = selection_markdown(
        records,
        [e.name for e in experiments],
        {m: group for m, group in candidates.items() if group},
        [row for row in DEFAULT_REFERENCES if row in ran],
        out=out,
    )
    networks = [
        "CE",
        *(row.replace(", balanced probe]", "]") for row in list(PROBES)[1:]),
    ]
    pairs = {
        (net, probe): None
        for net, probe in zip(networks, PROBES, strict=True)
        if net in ran and probe in ran
    }
    if len(pairs) > 1 and ("CE", "CE [balanced probe]") in pairs:
        markdown += "\n\n" + probe_markdown(
            records, [e.name for e in experiments], pairs
        )
    return markdown


#: The network settings of ``full`` (sized in docs/benchmarks.rst, "Sizing of
#: the full profile"; its KEEL suite adds
#: :data:`benchmarks.tabular.keel.KEEL_NET`); the ``defaults`` profile uses the
#: same.
FULL_NET = dict(
    hidden_layer_sizes=(512, 512), dropout=0.5, max_epochs=10, batch_size=128, lr=1e-3
)

#: The network settings of ``quick``'s Table 5 on digits.
QUICK_NET = dict(
    hidden_layer_sizes=(512, 512), dropout=0.5, max_epochs=30, batch_size=64, lr=1e-3
)

#: The profiles that combine two wings (defined here, at the top).
COMBINED = {
    "quick": Profile(
        name="quick",
        description=(
            "bundled data (scikit-learn): digits under Khan et al.'s Table 5 "
            "protocol (10 % of the training samples of classes 5-9 kept; balanced "
            "test half), and breast cancer, digits 0-vs-rest and power-law digits "
            "in stratified 3-fold CV"
        ),
        experiments=quick_experiments,
        seeds=3,
        seeds_by_suite={"tabular": 1},
        net=QUICK_NET,
        net_by_suite={"tabular": dict(target_steps=150, min_epochs=5, max_epochs=50)},
        sizing_records=("docs/results/quick/runs.jsonl",),
    ),
    "full": Profile(
        name="full",
        description=(
            "Table 5 protocol on EfficientNet-Lite0 features of Fashion-MNIST and "
            "MNIST (official test sets untouched), and 24 KEEL sets in "
            "stratified 5-fold CV"
        ),
        experiments=full_experiments,
        seeds=2,
        jobs=2,
        net=FULL_NET,
        net_by_suite={"keel": KEEL_NET},
        # Its committed re-runs (the rows of issue 13's defaults; the other
        # rows are listed as unmeasured by the projection).
        sizing_records=(
            "docs/results/full_defaults/table5/runs.jsonl",
            "docs/results/full_defaults/keel/runs.jsonl",
        ),
        backbones={"cnn": TABLE5_CNN},
    ),
    "decoupled": Profile(
        name="decoupled",
        description=(
            "the decoupled test of the methods' representations (Kang et al., "
            "ICLR 2020): each method trained as usual, then its frozen "
            "embedding under one class-balanced linear head (cRT), beside plain "
            "CE's embedding under the same head; Table 5 on digits and on "
            "EfficientNet-Lite0 features of Fashion-MNIST and MNIST, Table 8's "
            "power-law training sets on the features"
        ),
        experiments=decoupled_experiments,
        seeds=2,
        seeds_by_suite={"decoupled_digits": 3},
        jobs=2,
        net=FULL_NET,
        net_by_suite={
            "decoupled_digits": QUICK_NET,
            table8.SUITE: dict(table8.NET, max_epochs=20),
        },
    ),
    "defaults": Profile(
        name="defaults",
        description=(
            "the choice of each method's default (issue 13): the paper's method "
            "and its rebalanced-head candidates beside CE, cost-sensitive CE, "
            "SMOTE + CE and logit adjustment, on the 24 KEEL sets (5-fold CV, "
            "other folds than full's) and on Table 5 of the Fashion-MNIST and "
            "MNIST features scored on a validation fifth of the training set"
        ),
        experiments=defaults_experiments,
        seeds=1,
        jobs=2,
        # The network and budget of ``full``: the defaults are chosen for it.
        net=FULL_NET,
        net_by_suite={"defaults_keel": KEEL_NET},
        closing=defaults_choice,
    ),
}

#: The wings' modules that define further profiles, each in a ``PROFILES`` dict.
PROFILE_MODULES = (
    table8,
    attributes,
    crl_ablation,
    clmle_ablation,
    margin_ablation,
    sensitivity,
    # The studies of single settings (issues 13, 16 and 19).
    multilabel_balance,
    mining_cost,
    clmle_open_choices,
    clmle_scores,
    clmle_settings,
    um_options,
    minority_batches,
)


def all_profiles():
    """:data:`COMBINED` and the profiles of :data:`PROFILE_MODULES`, by name."""
    found = dict(COMBINED)
    for module in PROFILE_MODULES:
        found.update(module.PROFILES)
    return found


#: Every profile, by name (what ``python -m benchmarks PROFILE`` can run).
PROFILES = all_profiles()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Reproduce the papers' comparative tables on real data.",
        epilog="python -m benchmarks summary [--check]: write the README's "
        "recommendation table and the results page's summary from the committed "
        "reports (no run). python -m benchmarks scale [--max-n N]: time and "
        "memory of every estimator against n (scale --help for its options).",
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
    parser.add_argument(
        "--scale",
        default=None,
        metavar="NAME",
        help="run the profile (or its variant) at another size, e.g. gpu: a larger "
        "network, more epochs and seeds (default: the profile as it is, sized for "
        "the project's 2-core CPU; see each profile's `scales`)",
    )
    parser.add_argument(
        "--size",
        action="store_true",
        help="do not run: fit every row once on a subsample, print the measured "
        "costs and the projected wall time of the profile with these options",
    )
    parser.add_argument(
        "--size-samples",
        type=int,
        default=DEFAULT_SAMPLES,
        metavar="N",
        help=f"training rows of each measuring fit of --size (default "
        f"{DEFAULT_SAMPLES})",
    )
    parser.add_argument(
        "--size-from",
        nargs="*",
        default=None,
        metavar="RUNS",
        help="do not run: project the wall time of the profile with these options "
        "from the fit seconds recorded in RUNS (runs.jsonl files; none given: the "
        "profile's committed records), fitting nothing",
    )
    return parser.parse_args(argv)


def chosen_profile(name, backbone=None, scale=None):
    """The profile ``name``, or its variant ``backbone``, at the scale ``scale``.

    Raises ``SystemExit`` naming the available variants (or scales) when the
    profile has no variant (or scale) of that name.
    """
    profile = PROFILES[name]
    if backbone is not None:
        variants = getattr(profile, "backbones", {}) or {}
        if backbone not in variants:
            available = ", ".join(sorted(variants)) or "none"
            raise SystemExit(
                f"profile {name!r} has no backbone {backbone!r}; available "
                f"backbones: {available} (or leave out --backbone for the profile "
                "as it is)"
            )
        profile = variants[backbone]
    try:
        return profile.at_scale(scale)
    except ValueError as error:
        raise SystemExit(str(error)) from None


def run(args):
    profile = chosen_profile(
        args.profile, getattr(args, "backbone", None), getattr(args, "scale", None)
    )
    if getattr(args, "size_from", None) is not None:
        paths = args.size_from or profile.sizing_records
        if not paths:
            raise SystemExit(
                f"profile {profile.name!r} has no sizing records; name a runs.jsonl "
                "after --size-from, or measure with --size"
            )
        exps = select(profile, args.methods, args.experiments)
        seeds = {e.name: args.seeds or profile.seeds_for(e.suite) for e in exps}
        result = recorded_projection(
            profile,
            exps,
            seeds,
            jobs=args.jobs,
            max_epochs=args.max_epochs,
            paths=paths,
        )
        print(result["markdown"])
        return result
    if getattr(args, "size", False):
        return size_profile(
            profile,
            seeds=args.seeds,
            methods=args.methods,
            experiments=args.experiments,
            device=args.device,
            n_threads=args.threads,
            max_epochs=args.max_epochs,
            jobs=args.jobs,
            n_samples=args.size_samples,
        )
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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["summary"]:
        return front_door.main(argv[1:])
    if argv[:1] == ["scale"]:
        scale_profile.main(argv[1:])
        return 0
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
