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


def feature_experiments():
    """Table 5 on EfficientNet-Lite0 features of Fashion-MNIST and MNIST: the full
    profile's (the linear SVM stands in for the kernel one)."""
    rows = table5_rows(svm="Cost-sensitive linear SVM")
    return [
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
