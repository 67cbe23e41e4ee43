"""Huang et al.'s Table 8 protocol: power-law class sizes, mean class-balanced accuracy.

Huang et al. (TPAMI 2019, Sec. 5.5, Table 8) make the training sets of
CIFAR-100 and MNIST-rot-back-image imbalanced with a power law of class sizes
controlled by γ (γ = 1 and the more imbalanced γ = 0.5), leave the test sets
as they are, and report the mean class-balanced accuracy (the mean of the
per-class recalls, i.e. balanced accuracy) of Triplet+, CE + CRL, LMLE and
CLMLE, with a "balanced baseline" trained on class-balanced data.

Here:

- data: Fashion-MNIST stands in for CIFAR-100 and MNIST for
  MNIST-rot-back-image (neither is available offline); the official test sets
  (10,000 images) are used whole;
- input: EfficientNet-Lite0 features (1280-d, images at 64 px, see
  :mod:`benchmarks.harness.data.features`) with the harness's 2-layer network, on the CPU;
  the ``cnn`` variant (``--backbone cnn``) trains the library's small CNN,
  :class:`skimbalance.ConvNetBackbone` (two ``conv 3×3 → ReLU → max-pool 2``
  blocks of 16 and 32 filters, a 256-unit layer, dropout 0.5:
  :data:`benchmarks.harness.end_to_end.CPU_CNN`), end to end on the 28 × 28
  images, as the papers train their networks, sized for the 2-core CPU;
  ``--scale gpu`` trains a larger CNN longer;
- training set: :func:`skimbalance.datasets.power_law_class_sizes` on the
  60,000 training images: the classes, in a random order drawn from the seed,
  get ranks ``c = 1..C`` and keep ``round(n_max * c ** (-1 / gamma))`` samples,
  ``n_max`` being the size of the smallest class of the pool (6,000 on
  Fashion-MNIST, 5,421 on MNIST), drawn without replacement, again from the
  seed. γ = 1 keeps 17,574 Fashion-MNIST images (6,000 down to 600), γ = 0.5
  keeps 9,299 (6,000 down to 60). (The paper prints the law as
  ``L_max / (c ** gamma + L_min)``, which as written grows less imbalanced as
  γ shrinks, against its own text; the library's form keeps the stated
  intent, smaller γ more imbalanced.) The class order is drawn per seed (the
  library's protocol) rather than fixed, so that a row's mean over seeds does
  not hinge on which class happens to be rare (Fashion-MNIST's "shirt" is
  both hard and, in a fixed order, could always be the rarest);
- rows: "Triplet+" (:func:`benchmarks.baselines.triplet.triplet_plus`), CE + CRL (the
  registry's ``CRL(I)``, Dong et al.'s best variant), CLMLE, the uncertainty
  margin method, plain CE, and the long-tail baselines of
  :data:`benchmarks.harness.methods.MODERN_BASELINES` (logit-adjusted, LDAM-DRW,
  focal, class-balanced and class-balanced focal CE);
- balanced baseline: for every (data set, γ) a second experiment draws a
  class-balanced training set of the *same total size* from the full training
  pool (``n // C`` per class, the remainder spread over randomly chosen
  classes; an independent draw from the seed) and trains the plain CE network
  on it (issue #7's definition), and CE + CRL (the paper's: "the CE+CRL results
  under class-balanced setting"). The paper prints one balanced number per data
  set for both γ; its training-set size is not given.

The table (:func:`report_table8`): one column per (data set, γ), each cell the
mean over seeds ± the std over seeds of the balanced accuracy, in %; under
each of our rows the paper's number for the same method on its data set, in
italics and labelled. Figures: per-class recall against the class's training
size, one point per (seed, class), one figure per data set.

Sizing: the measured runs are the committed records of each variant
(``sizing_records``: ``docs/results/table8/runs.jsonl``,
``docs/results/table8_cnn/runs.jsonl``), the reasons in
``docs/benchmarks.rst``.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance.datasets import (
    fetch_fashion_mnist,
    fetch_mnist,
    power_law_class_sizes,
)

from ..baselines.triplet import TRIPLET_PLUS, triplet_plus
from ..harness.data import protocols
from ..harness.data.features import DEFAULT_IMAGE_SIZE
from ..harness.data.protocols import image_features
from ..harness.end_to_end import GPU_CNN, INPUT_SHAPE, cnn_net
from ..harness.experiments import HoldoutExperiment
from ..harness.methods import MODERN_BASELINES, all_rows
from ..harness.plots import plot_recall_vs_class_size
from ..harness.profile import Profile
from ..harness.report import markdown_table, write_csv

#: The suite name of every Table 8 experiment.
SUITE = "table8"
#: The data sets: ours, what they stand in for in the paper.
DATASETS = {
    "fashion_mnist": ("Fashion-MNIST", "CIFAR-100"),
    "mnist": ("MNIST", "MNIST-rot-back-image"),
}
#: The paper's two settings of the power law (smaller: more imbalanced).
GAMMAS = (1.0, 0.5)
#: Rows trained on the power-law training sets, in table order.
ROWS = (
    TRIPLET_PLUS,
    "CRL(I)",
    "CLMLE",
    "Uncertainty margin",
    "CE",
    *MODERN_BASELINES,
    # A paper's method with a modern head (issue 14): CRL whose CE term is the
    # logit-adjusted loss.
    "CRL(I) (logit-adjusted)",
    # The papers' methods as published (the rows above are the library's
    # defaults, which add a rebalanced head): what Huang et al. ran.
    "CRL(I) (paper)",
    "CLMLE (paper)",
    "Uncertainty margin (paper)",
)
#: Rows trained on the class-balanced sets of the same size.
BALANCED_ROWS = ("CE", "CRL(I)")
#: What the table calls our rows.
ROW_LABELS = {
    TRIPLET_PLUS: "Triplet+",
    "CRL(I)": "CE + CRL (CRL(I))",
    "CLMLE": "CLMLE",
    "Uncertainty margin": "Uncertainty margin",
    "CE": "CE",
    **{name: name for name in MODERN_BASELINES},
    "CRL(I) (logit-adjusted)": "CE + CRL, logit-adjusted CE term",
    "CRL(I) (paper)": "CE + CRL (CRL(I)), the paper's setting",
    "CLMLE (paper)": "CLMLE, the paper's setting",
    "Uncertainty margin (paper)": "Uncertainty margin, the paper's setting",
}
BALANCED_LABELS = {
    "CE": "Balanced baseline (CE)",
    "CRL(I)": "Balanced baseline (CE + CRL)",
}

#: Huang et al., TPAMI 2019, Table 8: mean class-balanced accuracy (%) with
#: columns (CIFAR-100 γ=1, CIFAR-100 γ=0.5, MNIST-rot-back-image γ=1, γ=0.5).
#: The balanced baseline is one number per data set, printed for both γ.
PAPER_TABLE8 = {
    "Triplet+": (42.2, 32.2, 65.2, 59.8),
    "CE+CRL": (45.2, 37.4, 71.2, 64.5),
    "LMLE": (44.3, 38.1, 71.9, 65.7),
    "CLMLE": (47.4, 39.7, 73.5, 68.8),
    "Balanced baseline": (48.2, 48.2, 78.3, 78.3),
}
#: The paper's columns, keyed as ours: (data set, γ) -> position in PAPER_TABLE8.
PAPER_COLUMNS = {
    ("fashion_mnist", 1.0): 0,
    ("fashion_mnist", 0.5): 1,
    ("mnist", 1.0): 2,
    ("mnist", 0.5): 3,
}
#: Which of our rows each paper row is printed under: (balanced?, our rows),
#: under the first of ``our rows`` that ran (the paper's setting where it ran,
#: else the library's default); the paper's balanced baseline goes under the
#: last of our balanced rows.
PAPER_ROWS = {
    "Triplet+": (False, (TRIPLET_PLUS,)),
    "CE+CRL": (False, ("CRL(I) (paper)", "CRL(I)")),
    "CLMLE": (False, ("CLMLE (paper)", "CLMLE")),
    "Balanced baseline": (True, None),
}
PAPER_SHORT_LABEL = "CIFAR-100 / MNIST-rot-back-image"
PAPER_LABEL = (
    "Huang et al. 2019, Table 8 (CIFAR-100 / MNIST-rot-back-image, end-to-end CNNs)"
)

_FETCHERS = {"fashion_mnist": fetch_fashion_mnist, "mnist": fetch_mnist}


# ------------------------------------------------------------------ data
def power_law_indices(y, gamma, seed):
    """Indices of the power-law training set drawn from labels ``y``.

    :func:`skimbalance.datasets.power_law_class_sizes` applied to the row
    numbers: the class order and the samples kept follow ``seed``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    gamma : float
    seed : int

    Returns
    -------
    indices : ndarray of int, sorted

    Examples
    --------
    >>> import numpy as np
    >>> from benchmarks.huang2019.table8 import power_law_indices
    >>> y = np.repeat(np.arange(4), 100)
    >>> sorted(np.bincount(y[power_law_indices(y, 0.5, 0)]).tolist())
    [6, 11, 25, 100]
    """
    y = np.asarray(y)
    rows = np.arange(len(y)).reshape(-1, 1)
    kept, _ = power_law_class_sizes(rows, y, gamma=gamma, random_state=seed)
    return np.sort(kept.ravel())


def balanced_indices(y, n_total, seed):
    """Indices of a class-balanced draw of ``n_total`` samples from labels ``y``.

    Every class gets ``n_total // C`` samples and ``n_total % C`` classes,
    chosen at random, one more; samples are drawn without replacement. The
    draw is independent of the power-law one of the same seed.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    n_total : int
        Size of the balanced set (the size of the imbalanced one).
    seed : int

    Returns
    -------
    indices : ndarray of int, sorted

    Examples
    --------
    >>> import numpy as np
    >>> from benchmarks.huang2019.table8 import balanced_indices
    >>> y = np.repeat(np.arange(3), 50)
    >>> np.bincount(y[balanced_indices(y, 31, 0)]).tolist() in (
    ...     [11, 10, 10], [10, 11, 10], [10, 10, 11])
    True
    """
    y = np.asarray(y)
    labels, counts = np.unique(y, return_counts=True)
    rng = np.random.default_rng([int(seed), 8])
    base, extra = divmod(int(n_total), len(labels))
    sizes = np.full(len(labels), base)
    sizes[rng.choice(len(labels), size=extra, replace=False)] += 1
    short = sizes > counts
    if short.any():
        raise ValueError(
            f"a balanced set of {n_total} samples needs {sizes.max()} samples of "
            f"each class, but classes {labels[short].tolist()} have fewer."
        )
    chosen = [
        rng.choice(np.flatnonzero(y == label), size=size, replace=False)
        for label, size in zip(labels, sizes, strict=True)  # a loop over classes
    ]
    return np.sort(np.concatenate(chosen))


class FeaturePool:
    """The official train and test sets of ``name`` as pretrained features.

    ``pool(device) -> (X_train, y_train, X_test, y_test)``: EfficientNet-Lite0
    features (cached on disk and in memory, see
    :func:`benchmarks.harness.data.protocols.image_features`).
    """

    def __init__(self, name, image_size=DEFAULT_IMAGE_SIZE):
        if name not in _FETCHERS:
            raise ValueError(f"name must be one of {sorted(_FETCHERS)}, got {name!r}.")
        self.name = name
        self.image_size = image_size

    def __call__(self, device="cpu"):
        return image_features(self.name, self.image_size, device)


class ImagePool:
    """The official train and test sets of ``name`` as flat 28 × 28 pixels in [0, 1].

    ``pool(device) -> (X_train, y_train, X_test, y_test)``, X of shape
    ``(n, 784)`` float32 (reshaped to ``(1, 28, 28)`` by the networks):
    :func:`benchmarks.harness.data.protocols.image_pixels`, read once per
    process.
    """

    def __init__(self, name):
        if name not in _FETCHERS:
            raise ValueError(f"name must be one of {sorted(_FETCHERS)}, got {name!r}.")
        self.name = name

    def __call__(self, device="cpu"):
        return protocols.image_pixels(self.name)


@dataclass
class PowerLawLoad:
    """``load(seed, device)`` of one Table 8 column: power-law or balanced training set.

    Attributes
    ----------
    pool : callable
        ``pool(device) -> (X_train, y_train, X_test, y_test)``: the full data.
    gamma : float
        Exponent of the power law.
    balanced : bool, default=False
        Return the class-balanced set of the same total size instead.
    """

    pool: object
    gamma: float
    balanced: bool = False

    def __call__(self, seed, device="cpu"):
        X, y, X_test, y_test = self.pool(device)
        index = power_law_indices(y, self.gamma, seed)
        if self.balanced:
            index = balanced_indices(y, len(index), seed)
        return X[index], y[index], X_test, y_test


# ------------------------------------------------------------- networks
#: Shape of one image of the ``cnn`` variant: 28 x 28 grey pixels.
CNN_INPUT_SHAPE = INPUT_SHAPE


def row_factories():
    """The registry's rows (:func:`benchmarks.harness.methods.all_rows`) and Triplet+.

    Triplet+ is this table's own row: the experiments build their rows through
    :func:`feature_row` / :func:`image_row`, so it is not added to the shared
    registry.
    """
    return {**all_rows(), TRIPLET_PLUS: triplet_plus}


def feature_row(name, random_state, **net):
    """A row's estimator on features, a standard scaler in front."""
    return make_pipeline(StandardScaler(), row_factories()[name](random_state, **net))


def image_row(name, random_state, **net):
    """A row's estimator on raw pixels (already in [0, 1]): no scaler in front."""
    return row_factories()[name](random_state, **net)


# ----------------------------------------------------------- experiments
def _gamma_tag(gamma):
    return f"g{gamma:g}"


def table8_experiments(
    pools,
    *,
    gammas=GAMMAS,
    rows=ROWS,
    balanced_rows=BALANCED_ROWS,
    settings=None,
    make_row=None,
):
    """The experiments of Table 8: per (data set, γ) a power-law one and a balanced one.

    Parameters
    ----------
    pools : dict
        ``{data set name: pool}``, ``pool(device) -> (X_train, y_train, X_test,
        y_test)`` (e.g. :class:`FeaturePool`, :class:`ImagePool`).
    gammas : tuple of float
    rows, balanced_rows : tuple of str
        Rows on the power-law and on the balanced training sets.
    settings : dict or None
        Settings shared by every experiment (enter the cache fingerprint).
    make_row : callable or None
        The experiments' ``make_row`` (``None``: :func:`feature_row`, the
        registry's row with a scaler in front).

    Returns
    -------
    experiments : list of HoldoutExperiment
        Names ``<data>_g<γ>`` and ``<data>_g<γ>_balanced``; their ``settings``
        hold ``data``, ``gamma`` and ``train`` (``"power_law"`` or
        ``"balanced"``), which :func:`report_table8` reads.
    """
    experiments = []
    for name, pool in pools.items():
        title = DATASETS.get(name, (name,))[0]
        for gamma in gammas:
            for balanced in (False, True):
                chosen = balanced_rows if balanced else rows
                if not chosen:
                    continue
                what = (
                    "class-balanced set of the same size"
                    if balanced
                    else "power-law class sizes"
                )
                experiments.append(
                    HoldoutExperiment(
                        name=f"{name}_{_gamma_tag(gamma)}"
                        + ("_balanced" if balanced else ""),
                        title=f"{title}, γ = {gamma:g}, {what}",
                        load=PowerLawLoad(pool, gamma, balanced),
                        rows=tuple(chosen),
                        settings={
                            **(settings or {}),
                            "data": name,
                            "gamma": float(gamma),
                            "train": "balanced" if balanced else "power_law",
                            "class_order": "random per seed",
                        },
                        suite=SUITE,
                        make_row=make_row or feature_row,
                    )
                )
    return experiments


def feature_experiments():
    """Table 8 on EfficientNet-Lite0 features of Fashion-MNIST and MNIST."""
    return table8_experiments(
        {name: FeaturePool(name) for name in DATASETS},
        settings={"features": f"efficientnet-lite0@{DEFAULT_IMAGE_SIZE}"},
    )


def cnn_experiments():
    """Table 8 on the 28 × 28 images of Fashion-MNIST and MNIST (for a CNN)."""
    return table8_experiments(
        {name: ImagePool(name) for name in DATASETS},
        settings={"input": "pixels 28x28"},
        make_row=image_row,
    )


# --------------------------------------------------------------- report
def _columns(experiments):
    """(data set, γ) of the columns, in DATASETS then GAMMAS order."""
    present = {(e.settings["data"], e.settings["gamma"]) for e in experiments}
    order = {name: i for i, name in enumerate(DATASETS)}
    return sorted(present, key=lambda c: (order.get(c[0], len(order)), c[0], -c[1]))


def _experiment_of(experiments, column, balanced):
    train = "balanced" if balanced else "power_law"
    for e in experiments:
        if (e.settings["data"], e.settings["gamma"]) == column and e.settings[
            "train"
        ] == train:
            return e
    return None


def column_scores(records, experiment, row):
    """Balanced accuracies of ``row`` over the seeds of ``experiment``, and failures."""
    runs = [r for r in records if r["experiment"] == experiment and r["method"] == row]
    ok = [r["balanced_accuracy"] for r in runs if not r.get("error")]
    return np.asarray(ok, dtype=float), len(runs) - len(ok)


def _cell(scores, failed):
    if not len(scores):
        return f"failed ({failed})" if failed else "—"
    text = f"{100 * scores.mean():.1f} ± {100 * scores.std():.1f}"
    return text + (f" ({failed} failed)" if failed else "")


def _column_header(column):
    data, gamma = column
    ours, theirs = DATASETS.get(data, (data, None))
    header = f"{ours} γ = {gamma:g}"
    return header + (f" (paper: {theirs})" if theirs else "")


def table8_rows(records, experiments):
    """The Table 8 rows: ``[(label, cells, fit seconds, paper?)]`` and the columns.

    Our rows first (power-law rows, then the balanced baselines), each
    followed by the paper's row for the same method where it has one; the
    paper rows we have no counterpart of (LMLE) last.
    """
    columns = _columns(experiments)
    lines = []
    printed = set()
    for balanced, rows, labels in (
        (False, ROWS, ROW_LABELS),
        (True, BALANCED_ROWS, BALANCED_LABELS),
    ):
        exps = [_experiment_of(experiments, c, balanced) for c in columns]
        present = [
            row
            for row in dict.fromkeys(
                (*rows, *(r for e in exps if e is not None for r in e.rows))
            )
            if any(e is not None and row in e.rows for e in exps)
        ]
        # Each paper row goes under the first of its candidate rows that ran.
        under = {
            paper_row: next((r for r in ours if r in present), None)
            for paper_row, (paper_balanced, ours) in PAPER_ROWS.items()
            if paper_balanced == balanced and ours is not None
        }
        for position, row in enumerate(present):
            cells, fits = [], []
            for exp in exps:
                if exp is None or row not in exp.rows:
                    cells.append("—")
                    continue
                scores, failed = column_scores(records, exp.name, row)
                cells.append(_cell(scores, failed))
                fits += [
                    r["fit_seconds"]
                    for r in records
                    if r["experiment"] == exp.name
                    and r["method"] == row
                    and not r.get("error")
                ]
            label = (
                labels.get(row, row)
                if not balanced
                else labels.get(row, f"Balanced baseline ({row})")
            )
            fit = f"{np.mean(fits):.1f}" if fits else "—"
            lines.append((label, cells, fit, False))
            last = position == len(present) - 1
            for paper_row, (paper_balanced, ours) in PAPER_ROWS.items():
                if paper_balanced == balanced and (
                    (ours is not None and under.get(paper_row) == row)
                    or (ours is None and last)
                ):
                    lines.append(_paper_line(paper_row, columns))
                    printed.add(paper_row)
    for paper_row in PAPER_TABLE8:
        if paper_row not in printed:
            lines.append(_paper_line(paper_row, columns, ran=False))
    return lines, columns


def _paper_line(paper_row, columns, ran=True):
    numbers = PAPER_TABLE8[paper_row]
    cells = [
        f"*{numbers[PAPER_COLUMNS[c]]:.1f}*" if c in PAPER_COLUMNS else ""
        for c in columns
    ]
    notes = [PAPER_SHORT_LABEL]
    if paper_row == "Balanced baseline":
        notes.append("CE+CRL on balanced data, one number for both γ")
    if not ran:
        notes.append("not run here")
    arrow = "↳ " if ran else ""
    label = f'*{arrow}the paper\'s "{paper_row}" ({"; ".join(notes)})*'
    return label, cells, "", True


def training_set_rows(records, experiments):
    """Per column: training-set size, largest and smallest class, imbalance ratio.

    Read from the runs (the sizes do not depend on the seed; the class order
    does).
    """
    body = []
    for column in _columns(experiments):
        exp = _experiment_of(experiments, column, False)
        if exp is None:
            continue
        runs = [r for r in records if r["experiment"] == exp.name]
        if not runs:
            continue
        counts = sorted(runs[0]["train_counts"], reverse=True)
        body.append(
            [
                _column_header(column),
                f"{sum(counts):,}",
                " ".join(str(c) for c in counts),
                f"{counts[0] / max(counts[-1], 1):.0f}",
                f"{runs[0]['n_test']:,}",
            ]
        )
    return body


def report_table8(records, experiments, out, n_seeds):
    """The suite's section of ``summary.md``: Table 8's layout and the figures.

    A profile reporter (see :class:`benchmarks.harness.profile.Profile`). Also writes
    ``table8.csv`` (one line per row and column: mean, std, runs).

    Parameters
    ----------
    records : list of dict
        The runs of the suite.
    experiments : list of HoldoutExperiment
        The suite's experiments (from :func:`table8_experiments`).
    out : path-like
        Output folder.
    n_seeds : dict
        Seeds per experiment name.

    Returns
    -------
    markdown : str
    figures : list of Path

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI 2019, Table 8.
    """
    out = Path(out)
    lines, columns = table8_rows(records, experiments)
    seeds = sorted({n_seeds[e.name] for e in experiments})
    header = ["Method", *(_column_header(c) for c in columns), "fit s"]
    body = [[label, *cells, fit] for label, cells, fit, _ in lines]
    sizes = training_set_rows(records, experiments)
    text = (
        "## Huang et al.'s Table 8 protocol: power-law class sizes\n\n"
        "Mean class-balanced accuracy (balanced accuracy, the mean of the "
        "per-class recalls on the untouched test set), in %: mean over "
        f"{' / '.join(map(str, seeds))} seed(s) ± std over seeds. Training sets: "
        "class sizes round(n_max · c^(−1/γ)) for the classes in a random order "
        "per seed (smaller γ: more imbalanced); the balanced baselines train on "
        "a class-balanced draw of the same total size from the full training "
        "set. Rows in italics are the paper's own numbers on its data sets "
        f"({PAPER_LABEL}; CIFAR-100 in the Fashion-MNIST columns, "
        "MNIST-rot-back-image in the MNIST ones), not ours.\n\n"
        + markdown_table(header, body)
    )
    if sizes:
        text += "\n\nTraining sets (class sizes, largest first; the order of the "
        text += "classes changes with the seed):\n\n" + markdown_table(
            ["column", "samples", "class sizes", "imbalance ratio", "test samples"],
            sizes,
        )
    csv_rows = []
    for column in columns:
        for balanced in (False, True):
            exp = _experiment_of(experiments, column, balanced)
            if exp is None:
                continue
            for row in exp.rows:
                scores, failed = column_scores(records, exp.name, row)
                csv_rows.append(
                    {
                        "data": column[0],
                        "gamma": column[1],
                        "training_set": exp.settings["train"],
                        "method": row,
                        "balanced_accuracy": scores.mean() if len(scores) else "",
                        "balanced_accuracy_std": scores.std() if len(scores) else "",
                        "runs": len(scores),
                        "failed": failed,
                    }
                )
    if csv_rows:
        write_csv(csv_rows, out / "table8.csv")
    figures = []
    for data in dict.fromkeys(c[0] for c in columns):
        exps = [
            e
            for e in experiments
            if e.settings["data"] == data and e.settings["train"] == "power_law"
        ]
        names = {e.name for e in exps}
        # One point per (seed, class): the class order changes with the seed.
        points = [
            r | {"experiment": f"{r['experiment']}#{r['seed']}"}
            for r in records
            if r["experiment"] in names
        ]
        rows = list(dict.fromkeys(row for e in exps for row in e.rows))
        title = DATASETS.get(data, (data,))[0]
        gammas = ", ".join(f"{e.settings['gamma']:g}" for e in exps)
        path = plot_recall_vs_class_size(
            points,
            rows,
            out / f"recall_vs_class_size_table8_{data}.png",
            f"Recall per class by training size: {title}, γ = {gammas}, "
            "a point per seed and class",
        )
        if path:
            figures.append(Path(path))
    return text, figures


# ---------------------------------------------------------------- profile
NET = dict(hidden_layer_sizes=(512, 512), dropout=0.5, batch_size=128, lr=1e-3)

PROFILES = {
    "table8": Profile(
        name="table8",
        description=(
            "Huang et al.'s Table 8 protocol: power-law class sizes (γ = 1 and 0.5) "
            "on EfficientNet-Lite0 features of Fashion-MNIST (for CIFAR-100) and "
            "MNIST (for MNIST-rot-back-image), official test sets untouched; mean "
            "class-balanced accuracy of Triplet+, CE + CRL, CLMLE, the uncertainty "
            "margin method and CE, and the balanced baselines"
        ),
        experiments=feature_experiments,
        seeds=4,
        jobs=2,
        net=dict(NET, max_epochs=20),
        reporters={SUITE: report_table8},
        backbones={
            "cnn": Profile(
                name="table8_cnn",
                description=(
                    "Huang et al.'s Table 8 protocol with a small CNN trained end "
                    "to end on the 28 x 28 images of Fashion-MNIST and MNIST "
                    "(power-law class sizes, γ = 1 and 0.5)"
                ),
                experiments=cnn_experiments,
                seeds=2,
                jobs=2,
                net=cnn_net(max_epochs=15),
                reporters={SUITE: report_table8},
                sizing_records=("docs/results/table8_cnn/runs.jsonl",),
                scales={
                    "gpu": dict(
                        net=cnn_net(GPU_CNN, max_epochs=30),
                        seeds=5,
                        sizing_records=(),  # not yet run on a GPU
                        note="GPU scale: three conv blocks (32, 64, 128) with batch "
                        "norm, 30 epochs, 5 seeds",
                    )
                },
            )
        },
        sizing_records=("docs/results/table8/runs.jsonl",),
    )
}
