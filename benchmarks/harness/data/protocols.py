"""The protocols the wings load their data under (the engine's data layer).

Khan et al.'s Table 5 protocol on the data that loads here (used by
:mod:`benchmarks.khan2019`, and by Huang et al.'s CLMLE settings):

Khan et al. (CVPR 2019) keep 10 % of the training samples of half the classes
of CIFAR-10, leave the test set untouched, and train every baseline and their
method on features of an ImageNet-pretrained CNN. Here CIFAR-10 is replaced by
Fashion-MNIST (and MNIST), VGG16 by EfficientNet-Lite0 (see
:mod:`benchmarks.harness.data.features`), and for the quick profile by scikit-learn's
bundled digits on raw pixels. The reduced classes are the upper half of the
labels (5-9); which samples of them are kept changes with the seed.

:class:`PowerLawFeatures` loads the same features with power-law class sizes
instead (Dong et al. / Huang et al.), for the harness-II ablations, and
:func:`image_features` gives the official train and test features of a data
set (Huang et al.'s Table 8 draws its own class sizes from them).
"""

import functools
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skimbalance.datasets import (
    fetch_fashion_mnist,
    fetch_mnist,
    keep_fraction_of_classes,
    power_law_class_sizes,
)

from .features import DEFAULT_IMAGE_SIZE, cached_features

#: Number of images of the official training set (the rest is the test set).
N_TRAIN = 60000

#: Fraction kept of each reduced class, and the reduced classes.
FRACTION = 0.1
REDUCED_CLASSES = tuple(range(5, 10))

_FETCHERS = {"mnist": fetch_mnist, "fashion_mnist": fetch_fashion_mnist}


def make_imbalanced(X_train, y_train, seed):
    """The Table 5 protocol on a training set: classes 5-9 keep 10 %."""
    return keep_fraction_of_classes(
        X_train,
        y_train,
        fraction=FRACTION,
        classes=np.asarray(REDUCED_CLASSES),
        random_state=seed,
    )


def load_digits_table5(seed, device="cpu"):
    """scikit-learn's digits under Khan et al.'s Table 5 protocol.

    A stratified half/half train/test split; in the training half, classes
    5-9 keep 10 % of their samples (about 9 each against about 90), the
    test half is left balanced. ``device`` is not used (no features).
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=seed
    )
    X_train, y_train = make_imbalanced(X_train, y_train, seed)
    return X_train, y_train, X_test, y_test


@functools.cache
def image_features(name, image_size=DEFAULT_IMAGE_SIZE, device="cpu"):
    """EfficientNet-Lite0 features of the official train and test sets of ``name``.

    Computed once (progress bar) and cached on disk under
    ``<data home>/features``; kept in memory for the next seeds.
    """
    data = _FETCHERS[name](subset="all")
    images = np.rint(data.images * 255).astype(np.uint8)
    features = cached_features(name, images, image_size=image_size, device=device)
    return (
        features[:N_TRAIN],
        data.target[:N_TRAIN],
        features[N_TRAIN:],
        data.target[N_TRAIN:],
    )


@functools.cache
def image_pixels(name):
    """The official train and test images of ``name`` as flat rows of pixels.

    Parameters
    ----------
    name : {"fashion_mnist", "mnist"}

    Returns
    -------
    X_train : ndarray of shape (60000, 784), float32
        The 28 × 28 images in [0, 1], one flattened (C-order) image a row:
        what :class:`skimbalance.ConvNetBackbone` with ``input_shape=(1, 28,
        28)`` reshapes back to images, and what imbalanced-learn's samplers
        take as they are.
    y_train : ndarray of shape (60000,)
    X_test : ndarray of shape (10000, 784), float32
    y_test : ndarray of shape (10000,)

    Notes
    -----
    Read once per process (the loaders of :mod:`skimbalance.datasets`) and
    kept in memory for the next seeds: 220 MB per data set.
    """
    if name not in _FETCHERS:
        raise ValueError(f"name must be one of {sorted(_FETCHERS)}, got {name!r}.")
    data = _FETCHERS[name](subset="all")
    X = np.ascontiguousarray(data.images.reshape(len(data.images), -1), np.float32)
    return X[:N_TRAIN], data.target[:N_TRAIN], X[N_TRAIN:], data.target[N_TRAIN:]


class FeatureTable5:
    """``load(seed, device)`` of the Table 5 protocol on pretrained features.

    Parameters
    ----------
    name : {"fashion_mnist", "mnist"}
    image_size : int, default=64
    split : {"test", "validation"}, default="test"
        ``"test"``: train on the imbalanced training set, test on the official
        test set (the protocol). ``"validation"``: the official test set is
        not touched; the imbalanced training set is split, stratified, 80 / 20
        (seeded by the run's seed) into a training and a validation part, for
        choosing settings without looking at the test set.
    """

    def __init__(self, name, image_size=DEFAULT_IMAGE_SIZE, split="test"):
        if name not in _FETCHERS:
            raise ValueError(f"name must be one of {sorted(_FETCHERS)}, got {name!r}.")
        if split not in ("test", "validation"):
            raise ValueError(f"split must be 'test' or 'validation', got {split!r}.")
        self.name = name
        self.image_size = image_size
        self.split = split

    def pool(self, device="cpu"):
        """The official train and test sets this loader draws from."""
        return image_features(self.name, self.image_size, device)

    def __call__(self, seed, device="cpu"):
        X_train, y_train, X_test, y_test = self.pool(device)
        X_imb, y_imb = make_imbalanced(X_train, y_train, seed)
        if self.split == "validation":
            X_imb, X_val, y_imb, y_val = train_test_split(
                X_imb, y_imb, test_size=0.2, stratify=y_imb, random_state=seed
            )
            return X_imb, y_imb, X_val, y_val
        return X_imb, y_imb, X_test, y_test


@dataclass
class PowerLawFeatures:
    """``load(seed, device)``: pretrained features, training classes power-law sized.

    The training set of ``name``'s features (:func:`image_features`) is
    sub-sampled with :func:`~skimbalance.datasets.power_law_class_sizes`
    (``gamma``, smaller is more imbalanced; seed = the run's seed, so the class
    order and the samples kept change with it); the official test set is
    returned whole.

    Parameters
    ----------
    name : {"fashion_mnist", "mnist"}
    gamma : float
    image_size : int, default=64
    """

    name: str = "fashion_mnist"
    gamma: float = 0.5
    image_size: int = DEFAULT_IMAGE_SIZE

    def pool(self, device="cpu"):
        """The official train and test sets this loader draws from."""
        return image_features(self.name, self.image_size, device)

    def __call__(self, seed, device="cpu"):
        X_train, y_train, X_test, y_test = self.pool(device)
        X_imb, y_imb = power_law_class_sizes(
            X_train, y_train, gamma=self.gamma, random_state=seed
        )
        return X_imb, y_imb, X_test, y_test


class ImageTable5(FeatureTable5):
    """``load(seed, device)`` of the Table 5 protocol on the 28 × 28 pixels.

    :class:`FeatureTable5` on :func:`image_pixels` instead of the pretrained
    features: the same classes reduced, the same samples kept for a seed,
    the official test set (or a validation split) as the test set.

    Parameters
    ----------
    name : {"fashion_mnist", "mnist"}
    split : {"test", "validation"}, default="test"

    Examples
    --------
    >>> from benchmarks.harness.data.protocols import ImageTable5
    >>> ImageTable5("mnist")
    ImageTable5(name='mnist', split='test')
    """

    def __init__(self, name, split="test"):
        super().__init__(name, split=split)
        self.image_size = None

    def __repr__(self):
        return f"ImageTable5(name={self.name!r}, split={self.split!r})"

    def pool(self, device="cpu"):
        """The official train and test images, flat rows in [0, 1]."""
        return image_pixels(self.name)


@dataclass
class PowerLawImages:
    """``load(seed, device)``: the 28 × 28 pixels, training classes power-law sized.

    :class:`PowerLawFeatures` on :func:`image_pixels`: the same class sizes,
    class order and samples for a seed, the official test set whole.

    Parameters
    ----------
    name : {"fashion_mnist", "mnist"}
    gamma : float

    Examples
    --------
    >>> from benchmarks.harness.data.protocols import PowerLawImages
    >>> PowerLawImages("fashion_mnist", gamma=0.5)
    PowerLawImages(name='fashion_mnist', gamma=0.5)
    """

    name: str = "fashion_mnist"
    gamma: float = 0.5

    def pool(self, device="cpu"):
        """The official train and test images, flat rows in [0, 1]."""
        return image_pixels(self.name)

    def __call__(self, seed, device="cpu"):
        X_train, y_train, X_test, y_test = self.pool(device)
        X_imb, y_imb = power_law_class_sizes(
            X_train, y_train, gamma=self.gamma, random_state=seed
        )
        return X_imb, y_imb, X_test, y_test
