"""Which CLMLE settings work: cluster size, loss scale and the paper's options.

``python -m benchmarks clmle_settings [--experiments digits] [--device cuda]``
(output ``benchmarks/results/clmle_settings``) fits the plain and
cost-sensitive cross-entropy networks and ``CLMLEClassifier`` under the
settings of :data:`SETTINGS` under Khan et al.'s Table 5 protocol (10 % of
the training samples of classes 5-9 kept, test set untouched) on three data
sets: ``digits`` (raw pixels, the quick profile's setting: 30 epochs,
batches of 64, 3 seeds) and ``fashion_mnist`` / ``mnist`` (EfficientNet-Lite0
features, the full profile's setting: 10 epochs, batches of 128, 2 seeds);
(512, 512) MLP, dropout 0.5, Adam 1e-3, a standard scaler in front. Each
CLMLE run records its number of clusters (:func:`cluster_count`). The
closing section (:func:`settings_table`) is the balanced accuracy of every
setting on every data set, mean ± sd over seeds [each seed].

This study is how the defaults ``cluster_size=200``,
``samples_per_cluster=20`` and ``scale=32`` were chosen (the user guide's
CLMLE page discusses it): with the earlier ``cluster_size=16`` and
``scale=8`` CLMLE lost to the plain network on the pretrained features. Its
first runs, made by the script this profile replaces, are committed in
``docs/results/clmle_settings/``.
"""

from imblearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance import CLMLEClassifier, CrossEntropyClassifier

from ..harness.ablation_report import Column, Line, paired_table
from ..harness.data.protocols import FeatureTable5, load_digits_table5
from ..harness.experiments import HoldoutExperiment
from ..harness.measures import final_step
from ..harness.profile import Profile

#: (name, estimator, parameters beyond the shared network settings).
SETTINGS = (
    ("CE", "ce", {}),
    ("CE (cost-sensitive)", "ce", {"class_weight": "balanced"}),
    ("CLMLE (defaults)", "clmle", {}),
    (
        "CLMLE, earlier defaults (cluster_size=16, samples_per_cluster=10, scale=8)",
        "clmle",
        {"cluster_size": 16, "samples_per_cluster": 10, "scale": 8.0},
    ),
    ("CLMLE, cluster_size=64", "clmle", {"cluster_size": 64}),
    ("CLMLE, cluster_size=400", "clmle", {"cluster_size": 400}),
    ("CLMLE, scale=1 (Eq. 9 as printed)", "clmle", {"scale": 1.0}),
    ("CLMLE, scale=8", "clmle", {"scale": 8.0}),
    ("CLMLE, scale=64", "clmle", {"scale": 64.0}),
    ("CLMLE, uniform cluster sampling", "clmle", {"cluster_sampling": "uniform"}),
    ("CLMLE, no cost-sensitivity", "clmle", {"cost_sensitive": False}),
    ("CLMLE, n_neighbor_clusters=20", "clmle", {"n_neighbor_clusters": 20}),
    ('CLMLE, class_weight="balanced"', "clmle", {"class_weight": "balanced"}),
)
_BY_NAME = {name: (kind, params) for name, kind, params in SETTINGS}

#: The suites: digits on the quick profile's network settings, the features
#: on the full profile's.
DIGITS, FEATURES = "clmle_settings_digits", "clmle_settings_features"


def make_row(name, random_state, **net):
    """The setting ``name`` of :data:`SETTINGS`, a standard scaler in front."""
    kind, params = _BY_NAME[name]
    cls = CLMLEClassifier if kind == "clmle" else CrossEntropyClassifier
    return make_pipeline(
        StandardScaler(), cls(random_state=random_state, **net, **params)
    )


def cluster_count(estimator, X_train, y_train, X_test, y_test):
    """``n_clusters``: the clusters of a CLMLE fit (``{}`` for another row)."""
    clf = final_step(estimator)
    if not isinstance(clf, CLMLEClassifier):
        return {}
    return {"n_clusters": float(len(clf.centroids_))}


def experiments():
    """digits (raw pixels), then the Fashion-MNIST and MNIST features."""
    rows = tuple(name for name, _, _ in SETTINGS)
    common = dict(rows=rows, make_row=make_row, measures=(cluster_count,))
    return [
        HoldoutExperiment(
            name="digits",
            title="digits (scikit-learn), Table 5 protocol on raw pixels",
            load=load_digits_table5,
            settings={"data": "digits", "fraction": 0.1, "reduced": "5-9"},
            suite=DIGITS,
            **common,
        ),
        *(
            HoldoutExperiment(
                name=name,
                title=f"{title}, EfficientNet-Lite0 features (64 px), Table 5 protocol",
                load=FeatureTable5(name, image_size=64),
                settings={
                    "data": name,
                    "features": "efficientnet-lite0@64",
                    "fraction": 0.1,
                },
                suite=FEATURES,
                **common,
            )
            for name, title in (("fashion_mnist", "Fashion-MNIST"), ("mnist", "MNIST"))
        ),
    ]


def settings_table(records, experiments, out, n_seeds):
    """The closing section: rows = settings, columns = data sets."""
    ran = {r["method"] for r in records}
    lines = [Line(name, name) for name, _, _ in SETTINGS if name in ran]
    columns = [
        Column(e.name, "balanced_accuracy", each=True, experiment=e.name)
        for e in experiments
    ]
    seeds = ", ".join(f"{e.name} {n_seeds[e.name]}" for e in experiments)
    return (
        "## CLMLE settings\n\n"
        "Balanced accuracy (%) on the untouched test set under Khan et al.'s "
        f"Table 5 protocol: mean ± sd over seeds ({seeds}) [each seed]. digits: "
        "raw pixels, 30 epochs, batches of 64; fashion_mnist / mnist: "
        "EfficientNet-Lite0 features (64 px), 10 epochs, batches of 128; "
        "(512, 512) MLP, dropout 0.5, Adam 1e-3.\n\n"
        + paired_table(records, lines, columns, first="setting")
    )


PROFILES = {
    "clmle_settings": Profile(
        name="clmle_settings",
        description=(
            "which CLMLE settings work (cluster size, loss scale, the paper's "
            "options) against the plain and cost-sensitive networks, under Khan "
            "et al.'s Table 5 protocol on digits and on EfficientNet-Lite0 "
            "features of Fashion-MNIST and MNIST"
        ),
        experiments=experiments,
        seeds=2,
        seeds_by_suite={DIGITS: 3},
        jobs=2,
        net=dict(hidden_layer_sizes=(512, 512), dropout=0.5, lr=1e-3),
        net_by_suite={
            DIGITS: dict(max_epochs=30, batch_size=64),
            FEATURES: dict(max_epochs=10, batch_size=128),
        },
        closing=settings_table,
    )
}
