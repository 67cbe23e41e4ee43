"""Fixtures shared by the benchmark-profile tests."""

import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from benchmarks.harness.data import protocols


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
