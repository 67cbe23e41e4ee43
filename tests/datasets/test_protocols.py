"""The papers' imbalance protocols produce the class counts they specify."""

import numpy as np
import pytest

from skimbalance.datasets import keep_fraction_of_classes, power_law_class_sizes


def test_keep_fraction_of_half_the_classes():
    y = np.repeat(np.arange(10), 100)
    X = np.arange(1000.0)[:, None]
    X_imb, y_imb = keep_fraction_of_classes(X, y, fraction=0.1, random_state=0)
    assert np.bincount(y_imb).tolist() == [100] * 5 + [10] * 5
    # Rows are kept whole: each kept x still carries its own label.
    np.testing.assert_array_equal(y[X_imb[:, 0].astype(int)], y_imb)


def test_keep_fraction_chosen_classes_and_string_labels():
    y = np.repeat(["a", "b", "c"], [40, 40, 7])
    _, y_imb = keep_fraction_of_classes(
        np.zeros((87, 1)), y, fraction=0.1, classes=["a", "c"], random_state=0
    )
    labels, counts = np.unique(y_imb, return_counts=True)
    assert dict(zip(labels, counts, strict=True)) == {"a": 4, "b": 40, "c": 1}
    with pytest.raises(ValueError, match="not labels"):
        keep_fraction_of_classes(np.zeros((87, 1)), y, classes=["z"])
    with pytest.raises(ValueError, match="fraction"):
        keep_fraction_of_classes(np.zeros((87, 1)), y, fraction=0.0)


@pytest.mark.parametrize("gamma", [1.0, 0.5])
def test_power_law_sizes(gamma):
    y = np.repeat(np.arange(5), 200)
    _, y_imb = power_law_class_sizes(
        np.zeros((1000, 1)), y, gamma=gamma, random_state=0
    )
    sizes = sorted(np.bincount(y_imb).tolist(), reverse=True)
    expected = [max(1, round(200 * c ** (-1 / gamma))) for c in range(1, 6)]
    assert sizes == expected


def test_smaller_gamma_is_more_imbalanced():
    y = np.repeat(np.arange(10), 100)
    ratios = []
    for gamma in (1.0, 0.5):
        _, y_imb = power_law_class_sizes(
            np.zeros((1000, 1)), y, gamma=gamma, random_state=0
        )
        counts = np.bincount(y_imb)
        ratios.append(counts.max() / counts.min())
    assert ratios[1] > ratios[0]
