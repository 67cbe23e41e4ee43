"""Fixtures shared by the benchmark-profile tests."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from benchmarks.harness.data import protocols
from skimbalance import ConvNetBackbone


def digits_image_features(name, image_size=64, device="cpu"):
    """Stand-in for ``protocols.image_features``: digits, a stratified half/half split.

    Same signature and return value as the real loader (``X_train, y_train,
    X_test, y_test``), whatever ``name`` asks for, so a profile built on
    :class:`benchmarks.harness.data.protocols.FeatureTable5` runs in seconds.
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=0
    )
    return X_train, y_train, X_test, y_test


@pytest.fixture
def digits_features(monkeypatch):
    """Make every ``FeatureTable5`` loader read :func:`digits_image_features`."""
    monkeypatch.setattr(protocols, "image_features", digits_image_features)


def digit_pixels(name):
    """Stand-in for ``protocols.image_pixels``: digits as 28 x 28 images.

    The digits of :func:`digits_image_features` (a stratified half/half split,
    about 90 a class), each 8 x 8 image blown up 3 times and padded by 2 to
    28 x 28, as flat float32 rows in [0, 1], whatever ``name`` asks for: a
    profile built on :class:`~benchmarks.harness.data.protocols.ImageTable5`
    or :class:`~benchmarks.harness.data.protocols.PowerLawImages` then runs
    in seconds.
    """
    X_train, y_train, X_test, y_test = digits_image_features(name)

    def grow(X):
        images = np.kron(X.reshape(-1, 8, 8), np.ones((3, 3)))
        images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
        return images.reshape(len(X), -1).astype(np.float32)

    return grow(X_train), y_train, grow(X_test), y_test


@pytest.fixture
def digits_pixels(monkeypatch):
    """Make every image loader (``ImageTable5``, ``PowerLawImages``, Table 8's
    ``ImagePool``) read :func:`digit_pixels`."""
    monkeypatch.setattr(protocols, "image_pixels", digit_pixels)


@pytest.fixture
def tiny_cnn():
    """``shrink(profile, **changes)``: an end-to-end profile with a tiny CNN.

    The profile's network settings with a ``ConvNetBackbone`` of 4 and 8
    filters and 16 hidden units, one epoch, one seed, one job (and the
    ``changes`` of the dataclass on top): a row then runs in a fraction of a
    second on the tiny images of :func:`digit_pixels`.
    """

    def shrink(profile, **changes):
        net = dict(
            profile.net,
            backbone=ConvNetBackbone((1, 28, 28), channels=(4, 8), hidden=16),
            max_epochs=1,
        )
        return replace(profile, **{"net": net, "seeds": 1, "jobs": 1, **changes})

    return shrink
