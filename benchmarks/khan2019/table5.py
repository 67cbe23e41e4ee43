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
"""

from ..harness.data.protocols import FeatureTable5, load_digits_table5
from ..harness.experiments import HoldoutExperiment
from ..harness.methods import table5_rows


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
