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
(:func:`image_experiments`), sized for the project's 2-core CPU from its
committed runs (``docs/results/table5_cnn/runs.jsonl``; the reasons in
``docs/benchmarks.rst``), and larger for a GPU with ``--scale gpu``.
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


def digits_experiments(rows=None, suite="table5"):
    """Table 5 on scikit-learn's digits (raw pixels): the quick profile's.

    ``rows`` replaces the table's rows; ``suite`` names the report section.
    """
    return [
        HoldoutExperiment(
            name="digits",
            title="digits (scikit-learn), Table 5 protocol on raw pixels",
            load=load_digits_table5,
            rows=table5_rows() if rows is None else tuple(rows),
            settings={"data": "digits", "fraction": 0.1, "reduced": "5-9"},
            suite=suite,
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
    sizing_records=("docs/results/table5_cnn/runs.jsonl",),
    scales={
        "gpu": dict(
            net=cnn_net(GPU_CNN, max_epochs=30),
            seeds=5,
            jobs=4,
            sizing_records=(),  # not yet run on a GPU
            note="GPU scale: three conv blocks (32, 64, 128) with batch norm, "
            "30 epochs, 5 seeds",
        )
    },
)
