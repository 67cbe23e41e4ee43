"""Dong et al.'s ablation of CRL (ICCV 2017, Table 4): mining level x loss form.

Six :class:`~skimbalance.CRLClassifier` variants, ``mining`` in {class,
instance} x ``crl_loss`` in {absolute, relative, distribution}, each reported
as its gain in class-balanced accuracy over the plain cross-entropy network
(``CE``, the same backbone and training) on two imbalanced sets:

``yeast``
    the multi-label attribute set of :mod:`benchmarks.dong2017.attributes` (14 labels,
    positive rates 1.4-75 %), iteratively stratified 5-fold CV; the metric is
    the mean over the labels of each label's balanced accuracy (Dong et al.'s
    "average accuracy" over attributes);
``fashion_mnist_power_law``
    an imbalanced single-label set: EfficientNet-Lite0 features of
    Fashion-MNIST (see :mod:`benchmarks.harness.data.features`), training classes
    sub-sampled to power-law sizes with γ = 0.5
    (:func:`skimbalance.datasets.power_law_class_sizes`: 6,000, 1,500, 667 …
    60 samples, imbalance ratio 100; the class order changes with the seed),
    as Dong et al. / Huang et al. simulate imbalance on CIFAR-100 and
    MNIST-rot-back-image (Huang et al. Table 8); the official, balanced test
    set; the metric is the balanced accuracy (here equal to the accuracy).

Gains are paired: the variant minus ``CE`` on the same repeat and fold (or
seed), then averaged. The report (:func:`ablation_report`) prints them in the
paper's layout (rows: class / instance level; columns: absolute, relative,
distribution loss, per data set), with Dong et al.'s Table 4 (gains over
DeepID2 on CelebA, over MTCT on X-Domain) beside it, labelled as the
paper's, and a bar chart of the gains.

Sizing: 8 seeds (yeast: 8 repeats of 5-fold CV; Fashion-MNIST: 8 power-law
training sets), 30 epochs of batch 128 ((512, 512) MLP, dropout 0.5), 2 runs
in parallel: about an hour on this project's 2 cores (the measured runs:
``docs/results/crl_ablation/runs.jsonl``; the reasons in
``docs/benchmarks.rst``).

The ``cnn`` variant (``python -m benchmarks crl_ablation --backbone cnn``,
output ``crl_ablation_cnn``) trains the seven rows end to end on the 28 × 28
images of power-law Fashion-MNIST (γ = 0.5, the same training sets as the
features' experiment) with the library's :class:`~skimbalance.ConvNetBackbone`
(:data:`benchmarks.harness.end_to_end.CPU_CNN`), as Dong et al. train their
CNNs; yeast has no images and is left out (measured runs:
``docs/results/crl_ablation_cnn/runs.jsonl``); ``--scale gpu`` trains a
larger CNN longer.
"""

from pathlib import Path

import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier

from ..harness import methods
from ..harness.ablation_report import paired_deltas
from ..harness.data.protocols import PowerLawFeatures, PowerLawImages
from ..harness.end_to_end import GPU_CNN, cnn_net, image_row
from ..harness.experiments import HoldoutExperiment
from ..harness.files import save_figure
from ..harness.profile import Profile
from ..harness.report import markdown_table, write_csv
from .attributes import yeast_experiment

#: Dong et al. (ICCV 2017), Table 4: additional gain in average accuracy (%)
#: of each CRL variant over the plain network (DeepID2 on CelebA, MTCT on
#: X-Domain). {data set: {mining: {loss: gain}}}.
DONG2017_TABLE4 = {
    "CelebA": {
        "class": {"absolute": 5.71, "relative": 4.23, "distribution": 0.54},
        "instance": {"absolute": 5.67, "relative": 5.85, "distribution": 2.12},
    },
    "X-Domain": {
        "class": {"absolute": 3.46, "relative": 4.71, "distribution": 1.20},
        "instance": {"absolute": 4.92, "relative": 6.13, "distribution": 2.05},
    },
}

MININGS = ("class", "instance")
#: In the paper's column order: Absolute, Relative, Distribution.
LOSSES = ("absolute", "relative", "distribution")
BASELINE = "CE"


def variant_name(mining, loss):
    """Row name of a CRL variant in the paper's notation, e.g. ``"CRL(I+R)"``."""
    return f"CRL({mining[0].upper()}+{loss[0].upper()})"


#: Row name -> (mining, crl_loss).
VARIANTS = {variant_name(m, loss): (m, loss) for m in MININGS for loss in LOSSES}
ABLATION_ROWS = (BASELINE, *VARIANTS)


def variant(name, random_state, **net):
    """The :class:`~skimbalance.CRLClassifier` of the variant ``name``.

    As Dong et al. ablate it: no post-hoc prior correction
    (``prior_correction=0.0``, the setting these runs had before the library's
    default became ``"auto"``), so that a variant differs from ``CE`` by its
    CRL term alone.
    """
    mining, loss = VARIANTS[name]
    return CRLClassifier(
        mining=mining,
        crl_loss=loss,
        prior_correction=0.0,
        random_state=random_state,
        **net,
    )


def make_row(name, random_state, **net):
    """``CE`` from the harness, or a CRL variant, with a standard scaler in front."""
    if name in VARIANTS:
        return make_pipeline(StandardScaler(), variant(name, random_state, **net))
    return methods.make_row(name, random_state, **net)


def image_make_row(name, random_state, **net):
    """``CE`` or a CRL variant on raw pixels (in [0, 1]): no scaler in front."""
    if name in VARIANTS:
        return variant(name, random_state, **net)
    return image_row(name, random_state, **net)


def ablation_experiments():
    return [
        yeast_experiment(rows=ABLATION_ROWS, suite="crl_ablation", make_row=make_row),
        HoldoutExperiment(
            name="fashion_mnist_power_law",
            title=(
                "Fashion-MNIST, EfficientNet-Lite0 features (64 px), power-law "
                "training classes (γ = 0.5), balanced official test set"
            ),
            load=PowerLawFeatures("fashion_mnist", gamma=0.5),
            rows=ABLATION_ROWS,
            settings={
                "data": "fashion_mnist",
                "features": "efficientnet-lite0@64",
                "power_law_gamma": 0.5,
            },
            suite="crl_ablation",
            make_row=make_row,
        ),
    ]


def cnn_experiments():
    """The ``cnn`` variant's experiment: power-law Fashion-MNIST images (γ = 0.5)."""
    return [
        HoldoutExperiment(
            name="fashion_mnist_power_law",
            title=(
                "Fashion-MNIST, 28 x 28 images, CNN trained end to end, power-law "
                "training classes (γ = 0.5), balanced official test set"
            ),
            load=PowerLawImages("fashion_mnist", gamma=0.5),
            rows=ABLATION_ROWS,
            settings={
                "data": "fashion_mnist",
                "input": "pixels 28x28",
                "power_law_gamma": 0.5,
            },
            suite="crl_ablation",
            make_row=image_make_row,
        )
    ]


def paired_gains(records, experiment, row, metric="balanced_accuracy"):
    """``row - CE`` of ``metric`` on every (seed, fold) both ran without error.

    :func:`benchmarks.harness.ablation_report.paired_deltas` on one experiment, as an
    array.
    """
    return np.asarray(
        paired_deltas(records, row, BASELINE, metric, experiment=experiment),
        dtype=float,
    )


def _cell(gains):
    if gains.size == 0:
        return "—"
    return f"{100 * gains.mean():+.2f} [{100 * gains.std():.2f}]"


def ablation_markdown(records, experiments):
    """Our Table 4 and the paper's, in the paper's layout, and the CSV rows."""
    header = ["Mining"] + [
        f"{exp.name}: {loss.capitalize()}" for exp in experiments for loss in LOSSES
    ]
    body, csv_rows = [], []
    for mining in MININGS:
        cells = [f"{mining.capitalize()} level"]
        for exp in experiments:
            for loss in LOSSES:
                row = variant_name(mining, loss)
                gains = paired_gains(records, exp.name, row)
                cells.append(_cell(gains) if row in exp.rows else "—")
                csv_rows.append(
                    {
                        "experiment": exp.name,
                        "method": row,
                        "mining": mining,
                        "crl_loss": loss,
                        "runs": gains.size,
                        "gain_mean": gains.mean() if gains.size else np.nan,
                        "gain_std": gains.std() if gains.size else np.nan,
                    }
                )
        body.append(cells)
    base = ["*CE balanced accuracy*"]
    for exp in experiments:
        values = [
            r["balanced_accuracy"]
            for r in records
            if r["experiment"] == exp.name
            and r["method"] == BASELINE
            and not r.get("error")
        ]
        text = f"{100 * np.mean(values):.1f} [{100 * np.std(values):.1f}]"
        base += [text if values else "—", "", ""]
    body.append(base)
    ours = markdown_table(header, body)
    paper_header = ["Mining"] + [
        f"{data}: {loss.capitalize()}" for data in DONG2017_TABLE4 for loss in LOSSES
    ]
    paper_body = [
        [f"*{mining.capitalize()} level*"]
        + [
            f"*{DONG2017_TABLE4[data][mining][loss]:+.2f}*"
            for data in DONG2017_TABLE4
            for loss in LOSSES
        ]
        for mining in MININGS
    ]
    return ours, markdown_table(paper_header, paper_body), csv_rows


def plot_ablation(records, experiments, path):
    """Bar chart: gain of each variant over CE, one group of bars per data set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(VARIANTS)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / max(1, len(experiments))
    x = np.arange(len(variants))
    drawn = False
    for k, exp in enumerate(experiments):
        gains = [paired_gains(records, exp.name, v) for v in variants]
        means = [100 * g.mean() if g.size else np.nan for g in gains]
        stds = [100 * g.std() if g.size else 0.0 for g in gains]
        if not np.all(np.isnan(means)):
            drawn = True
        ax.bar(
            x + (k - (len(experiments) - 1) / 2) * width,
            means,
            width,
            yerr=stds,
            capsize=2,
            label=exp.name,
        )
    if not drawn:
        plt.close(fig)
        return None
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(variants)
    ax.set_ylabel(f"balanced accuracy − {BASELINE} (points)")
    ax.set_title(
        "CRL variants: gain over CE (as Dong et al. Table 4); bars: std over runs",
        fontsize=10,
    )
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def ablation_report(records, experiments, out, n_seeds):
    """The suite's section of ``summary.md``: Dong et al.'s Table 4 layout.

    Writes ``crl_ablation_gains.csv`` and ``crl_ablation_gains.png``; returns
    ``(markdown, [figure paths])``.
    """
    out = Path(out)
    ours, paper, csv_rows = ablation_markdown(records, experiments)
    write_csv(csv_rows, out / "crl_ablation_gains.csv")
    runs = "; ".join(
        f"{exp.name}: {exp.title}, {n_seeds[exp.name]} "
        + (
            f"repeat(s) of {exp.n_folds}-fold CV"
            if exp.kind == "cv"
            else "seed(s), one training set each"
        )
        for exp in experiments
    )
    markdown = (
        "## CRL ablation: mining level × loss form (Dong et al. ICCV 2017, "
        "Table 4)\n\n"
        "Gain in class-balanced accuracy over the plain cross-entropy network "
        "(CE, same backbone and training), in points: mean over runs of the "
        "paired difference variant − CE [std over runs]. yeast: mean over the "
        f"14 labels of each label's balanced accuracy. Runs: {runs}.\n\n"
        + ours
        + "\n\n"
        "The paper's own gains (Dong et al. Table 4, over DeepID2 on CelebA "
        "and over MTCT on X-Domain, %), not ours: other data and networks.\n\n" + paper
    )
    path = plot_ablation(records, experiments, out / "crl_ablation_gains.png")
    return markdown, [path] if path else []


PROFILES = {
    "crl_ablation": Profile(
        name="crl_ablation",
        description=(
            "Dong et al.'s Table 4: six CRL variants (class / instance mining x "
            "absolute / relative / distribution loss) as gains over CE, on the "
            "multi-label yeast set and on power-law Fashion-MNIST features "
            "(gamma = 0.5)"
        ),
        experiments=ablation_experiments,
        seeds=8,
        jobs=2,
        net=dict(
            hidden_layer_sizes=(512, 512),
            dropout=0.5,
            max_epochs=30,
            batch_size=128,
            lr=1e-3,
        ),
        reporters={"crl_ablation": ablation_report},
        sizing_records=("docs/results/crl_ablation/runs.jsonl",),
        backbones={
            "cnn": Profile(
                name="crl_ablation_cnn",
                description=(
                    "Dong et al.'s Table 4 trained end to end: six CRL variants "
                    "(class / instance mining x absolute / relative / distribution "
                    "loss) as gains over CE, a small CNN on the 28 x 28 images of "
                    "power-law Fashion-MNIST (gamma = 0.5)"
                ),
                experiments=cnn_experiments,
                seeds=12,
                jobs=2,
                net=cnn_net(max_epochs=30),
                reporters={"crl_ablation": ablation_report},
                sizing_records=("docs/results/crl_ablation_cnn/runs.jsonl",),
                scales={
                    "gpu": dict(
                        net=cnn_net(GPU_CNN, max_epochs=50),
                        seeds=16,
                        jobs=4,
                        sizing_records=(),  # not yet run on a GPU
                        note="GPU scale: three conv blocks (32, 64, 128) with batch "
                        "norm, 50 epochs, 16 seeds",
                    )
                },
            )
        },
    )
}
