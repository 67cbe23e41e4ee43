"""Khan et al.'s Table 5: the experiments of the ``quick`` and ``full`` profiles.

Khan et al. (CVPR 2019) keep 10 % of the training samples of half the classes
of CIFAR-10, leave the test set untouched, and train every baseline and their
method on features of an ImageNet-pretrained CNN. Here CIFAR-10 is replaced by
Fashion-MNIST (and MNIST), VGG16 by EfficientNet-Lite0, and for the quick
profile by scikit-learn's bundled digits on raw pixels. The protocol itself
(which classes are reduced, how the features are computed and cached) is the
engine's shared data layer, :mod:`benchmarks.harness.data.protocols`; this
module builds the experiments, which the registry (``benchmarks/__main__.py``)
combines with the tabular suite (:mod:`benchmarks.tabular.keel`) into the
``quick`` and ``full`` profiles.

The papers train their networks end to end on the images: :data:`CNN_PROFILE`
(``python -m benchmarks full --backbone cnn``, output ``table5_cnn``) runs the
same protocol on the 28 × 28 pixels of Fashion-MNIST and MNIST with the
library's :class:`~skimbalance.ConvNetBackbone` trained end to end
(:func:`image_experiments`), sized for the project's 2-core CPU
(:data:`CNN_SIZING`), and larger for a GPU with ``--scale gpu``
(:data:`CNN_GPU_SIZING`).
"""

from ..harness.data.protocols import FeatureTable5, ImageTable5, load_digits_table5
from ..harness.end_to_end import GPU_CNN, cnn_net, image_row
from ..harness.experiments import HoldoutExperiment
from ..harness.methods import MODERN_BASELINES, NETWORK_BASELINES, table5_rows
from ..harness.profile import Profile

#: The library's methods as the registry names them (the paper's method and
#: the two others), in table order.
PAPER_METHODS = ("CRL(I)", "CRL(C)", "CLMLE", "Uncertainty margin")
#: Rows of the end-to-end Table 5: SMOTE (the paper's strongest sampler), the
#: two cross-entropy networks, the long-tail losses, the three methods. The
#: other samplers of the feature runs (NearMiss, ADASYN, cluster centroids,
#: NCR, instance hardness) and the SVM are left out: they do not train a
#: representation, which is what the end-to-end runs are about.
CNN_ROWS = ("SMOTE + CE", *NETWORK_BASELINES, *MODERN_BASELINES, *PAPER_METHODS)


def digits_experiments():
    """Table 5 on scikit-learn's digits (raw pixels): the quick profile's."""
    return [
        HoldoutExperiment(
            name="digits",
            title="digits (scikit-learn), Table 5 protocol on raw pixels",
            load=load_digits_table5,
            rows=table5_rows(),
            settings={"data": "digits", "fraction": 0.1, "reduced": "5-9"},
            suite="table5",
            paper="khan2019_table5",
        )
    ]


def feature_experiments(rows=None, split="test", suite="table5"):
    """Table 5 on EfficientNet-Lite0 features of Fashion-MNIST and MNIST: the full
    profile's (the linear SVM stands in for the kernel one).

    ``rows`` replaces the table's rows; ``split="validation"`` scores on a
    stratified fifth of the imbalanced training set instead of the test set
    (see :class:`~benchmarks.harness.data.protocols.FeatureTable5`), for the
    ``defaults`` profile, which chooses settings; ``suite`` names the report
    section.
    """
    rows = table5_rows(svm="Cost-sensitive linear SVM") if rows is None else rows
    validation = split == "validation"
    settings = {"features": "efficientnet-lite0@64", "fraction": 0.1}
    if validation:
        settings["split"] = "validation 20 % of the imbalanced training set"
    return [
        HoldoutExperiment(
            name=f"{name}_validation" if validation else name,
            title=f"{title}, EfficientNet-Lite0 features (64 px), Table 5 protocol"
            + (
                ", scored on a validation split of the training set"
                if validation
                else ""
            ),
            load=FeatureTable5(name, image_size=64, split=split),
            rows=tuple(rows),
            settings={"data": name, **settings},
            suite=suite,
            paper=None if validation else "khan2019_table5",
        )
        for name, title in (("fashion_mnist", "Fashion-MNIST"), ("mnist", "MNIST"))
    ]


def image_experiments(rows=CNN_ROWS, split="test", suite="table5"):
    """Table 5 on the 28 × 28 images of Fashion-MNIST and MNIST, for a CNN
    trained end to end: the experiments of :data:`CNN_PROFILE`.

    The protocol of :func:`feature_experiments` (classes 5-9 keep 10 % of
    their training samples, the official test set untouched) on
    :class:`~benchmarks.harness.data.protocols.ImageTable5`; the rows are
    built by :func:`benchmarks.harness.end_to_end.image_row` (pixels in
    [0, 1], no scaler).
    """
    validation = split == "validation"
    return [
        HoldoutExperiment(
            name=f"{name}_validation" if validation else name,
            title=f"{title}, 28 x 28 images, CNN trained end to end, Table 5 "
            "protocol"
            + (
                ", scored on a validation split of the training set"
                if validation
                else ""
            ),
            load=ImageTable5(name, split=split),
            rows=tuple(rows),
            settings={"data": name, "input": "pixels 28x28", "fraction": 0.1}
            | ({"split": "validation"} if validation else {}),
            suite=suite,
            paper=None if validation else "khan2019_table5",
            make_row=image_row,
        )
        for name, title in (("fashion_mnist", "Fashion-MNIST"), ("mnist", "MNIST"))
    ]


#: Why the end-to-end Table 5 has the settings it has.
CNN_SIZING = """\
Measured with ``python -m benchmarks full --backbone cnn --size`` (see
:mod:`benchmarks.harness.sizing`) on this project's 2-core machine while
other benchmarks kept both cores busy, in CPU seconds of the measuring
process (a run's wall time on a core of its own), one thread, the CPU CNN
(conv 16 and 32, channels-last; 23 ms an update of the bare network against
30 ms in the contiguous layout), batch 128, 10 epochs, every row fitted on
1,024 and 2,048 training images and scaled to the protocol's 33,000
(Fashion-MNIST) and 33,536 (MNIST):

- an update costs 23 to 27 ms whatever the row (CE 23-25, the long-tail
  losses 23-25, CRL 24-27, CLMLE 26, the uncertainty margin 26-27): the
  methods' terms add little to the convolutions; SMOTE + CE makes 4,834 and
  5,404 updates a fit where the others make 2,578 and 2,620;
- all in, a fit of 10 epochs and its prediction: CE and the long-tail rows
  63-68 s, CRL(I) and CRL(C) 65-72, SMOTE + CE 117-130, CLMLE 84-112 (an
  embedding pass over the training set and a re-clustering every epoch after
  its warm-up), the uncertainty margin 154-166 (10 MC-dropout passes over the
  training set at each refresh);
- one seed of both data sets, the 13 rows: 35 CPU-min; with 2 runs in
  parallel (x 1.18, the cost of two runs sharing the machine measured on
  ``full``) 22 min of wall time; 3 seeds 66 min.

Hence 12 epochs (3,100 updates a fit; the uncertainty-margin curriculum 4 /
4 / 4 epochs, LDAM-DRW re-weighted from epoch 10) and 3 seeds: 79 min
projected (linear in the epochs). Every training set is used whole. Run
``--size`` on the machine at hand to re-measure: it prints the projection
for other epochs and seeds (``--max-epochs``, ``--seeds``)."""

#: The ``--scale gpu`` setting of the end-to-end Table 5.
CNN_GPU_SIZING = """\
For a GPU (``--scale gpu --device cuda``), not measured here (no GPU was
lent to the session that sized it): the CNN of
:data:`benchmarks.harness.end_to_end.GPU_CNN` (conv 32, 64 and 128 with
batch normalisation: 7.7 M multiply-adds an image, 5.5 times the CPU CNN's),
30 epochs (7,740 updates a fit, SMOTE + CE about twice as many) and 5 seeds,
4 runs in parallel on the one GPU. On a GPU a step of so small a network
costs what its Python costs: the feature runs of ``full`` took 9.7 ms an
update through skorch on an H100 (CE: 25 s for 2,580 updates), and the
training data now stay on the GPU, each batch gathered there in one step;
at 5 to 10 ms an update, the 1.1 million updates (13 rows x 2 data sets x 5
seeds) take 1.5 to 3 hours in one process, and a quarter to a half of that
with 4 runs in parallel (each mostly the host's Python, on the GPU host's
16 cores). Measure first:
``python -m benchmarks full --backbone cnn --scale gpu --device cuda --size``."""

#: Khan et al.'s Table 5 trained end to end: ``python -m benchmarks full
#: --backbone cnn`` (``--scale gpu`` for the larger setting).
CNN_PROFILE = Profile(
    name="table5_cnn",
    description=(
        "Khan et al.'s Table 5 protocol trained end to end: a small CNN "
        "(skimbalance.ConvNetBackbone) on the 28 x 28 images of Fashion-MNIST and "
        "MNIST, classes 5-9 keeping 10 % of their training samples, official test "
        "sets untouched"
    ),
    experiments=image_experiments,
    seeds=3,
    jobs=2,
    net=cnn_net(max_epochs=12),
    sizing=CNN_SIZING,
    scales={
        "gpu": dict(
            net=cnn_net(GPU_CNN, max_epochs=30),
            seeds=5,
            jobs=4,
            sizing=CNN_GPU_SIZING,
            note="GPU scale: three conv blocks (32, 64, 128) with batch norm, "
            "30 epochs, 5 seeds",
        )
    },
)
