"""Benchmark profiles: which experiments, which rows, which settings.

``quick``
    Bundled data only (scikit-learn's), minutes on 2 cores: Khan et al.'s
    Table 5 protocol on digits, and a small cross-validated tabular suite.
``full``
    The real data: Table 5 on EfficientNet-Lite0 features of Fashion-MNIST
    (the stand-in for CIFAR-10) and MNIST, and the KEEL suite (19 binary and
    5 multi-class sets, stratified 5-fold CV). Sized for about two hours on
    this project's 2-core machine (2 seeds / CV repeats, 10 epochs on the
    features, 300 updates per KEEL fit, 2 runs in parallel); the measurements
    behind it are in :data:`FULL_SIZING`.
"""

from dataclasses import dataclass, field

from .experiments import CVExperiment, HoldoutExperiment
from .keel import BUNDLED, KEEL_BINARY, KEEL_MULTICLASS, load_bundled, load_keel
from .methods import METHODS
from .table5 import FeatureTable5, load_digits_table5

# Khan et al.'s Table 5 rows in the paper's order, then the two cross-entropy
# networks (the like-for-like baselines) and the library's methods.
PAPER_BASELINES = (
    "Cost-sensitive SVM",
    "NearMiss + CE",
    "SMOTE + CE",
    "ADASYN + CE",
    "ClusterCentroids + CE",
    "NCR + CE",
    "IHT + CE",
)
NETWORK_BASELINES = ("CE", "CE (cost-sensitive)")
#: The strong non-neural reference of the tabular suite.
TABULAR_REFERENCE = ("Gradient boosting (balanced)",)


def table5_rows(svm="Cost-sensitive SVM"):
    """Rows of the Table 5 experiments (the methods as registered now).

    ``svm`` names the SVM row: the kernel SVM, or for training sets of tens of
    thousands of samples the linear one.
    """
    return (svm, *PAPER_BASELINES[1:], *NETWORK_BASELINES, *METHODS)


def tabular_rows():
    """Rows of the tabular suite: Table 5's plus gradient boosting."""
    return (*table5_rows(), *TABULAR_REFERENCE)


@dataclass
class Profile:
    """One benchmark configuration.

    Attributes
    ----------
    name : str
    description : str
    experiments : callable
        ``experiments() -> list`` of :class:`~benchmarks.experiments.HoldoutExperiment`
        and :class:`~benchmarks.experiments.CVExperiment` (built on demand, so
        the rows include the methods registered at run time).
    seeds : int
        Default number of seeds (holdout) or of repeats (cross-validation).
    seeds_by_suite : dict
        Overrides of ``seeds`` per suite.
    jobs : int
        Default number of runs in parallel processes.
    net : dict
        Settings shared by every neural row.
    net_by_suite : dict
        Overrides of ``net`` per suite (e.g. fewer epochs for the tabular sets).
    reporters : dict
        Per suite, a ``reporter(records, experiments, out, n_seeds)`` returning
        ``(markdown, figure_paths)`` that writes the suite's section of
        ``summary.md`` in place of the default layouts (Table 5 for holdout
        experiments, ranks and Friedman test for cross-validation).
    backbones : dict
        Variants of the profile under another network, ``{name: Profile}``,
        picked on the command line with ``--backbone NAME`` (e.g. ``"cnn"``:
        the same protocol with a small CNN trained end to end on the images
        instead of a network on pretrained features). Empty: the profile has
        no variant.
    """

    name: str
    description: str
    experiments: callable
    seeds: int
    seeds_by_suite: dict = field(default_factory=dict)
    jobs: int = 1
    net: dict = field(default_factory=dict)
    net_by_suite: dict = field(default_factory=dict)
    reporters: dict = field(default_factory=dict)
    backbones: dict = field(default_factory=dict)

    def seeds_for(self, suite):
        return self.seeds_by_suite.get(suite, self.seeds)

    def net_for(self, suite):
        return {**self.net, **self.net_by_suite.get(suite, {})}


def quick_experiments():
    rows = table5_rows()
    experiments = [
        HoldoutExperiment(
            name="digits",
            title="digits (scikit-learn), Table 5 protocol on raw pixels",
            load=load_digits_table5,
            rows=rows,
            settings={"data": "digits", "fraction": 0.1, "reduced": "5-9"},
            suite="table5",
            paper="khan2019_table5",
        )
    ]
    for name in ("breast_cancer", "digits_0_vs_rest", "digits_power_law"):
        experiments.append(
            CVExperiment(
                name=name,
                title=BUNDLED[name][0],
                load=lambda name=name: load_bundled(name),
                rows=tabular_rows(),
                settings={"data": name, "cv": "stratified 3-fold"},
                suite="tabular",
                n_splits=3,
            )
        )
    return experiments


def full_experiments():
    rows = table5_rows(svm="Cost-sensitive linear SVM")
    experiments = [
        HoldoutExperiment(
            name=name,
            title=f"{title}, EfficientNet-Lite0 features (64 px), Table 5 protocol",
            load=FeatureTable5(name, image_size=64),
            rows=rows,
            settings={
                "data": name,
                "features": "efficientnet-lite0@64",
                "fraction": 0.1,
            },
            suite="table5",
            paper="khan2019_table5",
        )
        for name, title in (("fashion_mnist", "Fashion-MNIST"), ("mnist", "MNIST"))
    ]
    experiments += [
        CVExperiment(
            name=name,
            title=f"KEEL {name}",
            load=lambda name=name: load_keel(name),
            rows=tabular_rows(),
            settings={"data": f"keel:{name}", "cv": "stratified 5-fold"},
            suite="keel",
            n_splits=5,
        )
        for name in (*KEEL_BINARY, *KEEL_MULTICLASS)
    ]
    return experiments


#: Why ``full`` has the settings it has (also in docs/benchmarks.rst).
FULL_SIZING = """\
Measured on this project's 2-core machine, one thread per run, in CPU seconds
(the wall time of a run that has a core to itself):

- features: EfficientNet-Lite0 at 64 px, 70,000 images, 9 min per data set
  on one core, once (cached on disk; 10 s on an H100);
- Table 5, one seed of one data set (33,000 training samples x 1280), 20
  epochs of batch 128: CE 85 s, CE cost-sensitive 78, NearMiss 16,
  ClusterCentroids 69, NCR 134, SMOTE 137, ADASYN 151, IHT 208, uncertainty
  margin 113, CRL 95, CLMLE 105; the kernel SVM would take 11 min (fit
  scales as n^2.2), LinearSVC 8 min, the SGD linear SVM 76 s;
- KEEL, one fold: about 7 ms per mini-batch of 64 for every network, so a
  fit costs its number of updates; a fixed 30 epochs gave 72,000 updates per
  row and repeat over the 24 sets (14 neural rows: 2 CPU-hours per repeat),
  dominated by the largest sets.

Hence: Table 5 with 10 epochs (pretrained features converge fast; about 15
CPU-min per data set and seed for the 16 rows, the linear SVM standing in for
the kernel one) and 2 seeds; KEEL with a budget of 300 updates per fit (5 to
100 epochs: small sets train as much as large ones) and 2 repeats of 5-fold
CV (about 65 CPU-min per repeat); 2 runs in parallel, one per core. About
30 + 65 min of wall time, plus 20 min of features on a first run: about two
hours on the 2 cores. Every training set is used whole: fewer seeds and
epochs, not less data. A GPU (``--device cuda``) makes the networks and the
features faster; the samplers and the SVM stay on the CPU."""

PROFILES = {
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
        net=dict(
            hidden_layer_sizes=(512, 512),
            dropout=0.5,
            max_epochs=30,
            batch_size=64,
            lr=1e-3,
        ),
        net_by_suite={"tabular": dict(target_steps=150, min_epochs=5, max_epochs=50)},
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
        net=dict(
            hidden_layer_sizes=(512, 512),
            dropout=0.5,
            max_epochs=10,
            batch_size=128,
            lr=1e-3,
        ),
        net_by_suite={
            "keel": dict(batch_size=64, target_steps=300, min_epochs=5, max_epochs=100)
        },
    ),
}


#: Modules that define further profiles, each in a ``PROFILES`` dict. They
#: import :class:`Profile` from this module, so :func:`all_profiles` imports
#: them on demand, never while this module loads.
PROFILE_MODULES = (
    "table8",
    "attributes",
    "crl_ablation",
    "clmle_ablation",
    "margin_ablation",
)


def all_profiles():
    """:data:`PROFILES` and the profiles of :data:`PROFILE_MODULES`, by name."""
    import importlib

    found = dict(PROFILES)
    for name in PROFILE_MODULES:
        found.update(importlib.import_module(f"{__package__}.{name}").PROFILES)
    return found
