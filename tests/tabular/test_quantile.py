"""The quantile transform to a normal, against scikit-learn's QuantileTransformer."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import QuantileTransformer

from skimbalance.tabular import QuantileNormal, fit_quantiles


def reference(X, n_quantiles):
    return QuantileTransformer(
        n_quantiles=n_quantiles, output_distribution="normal", subsample=None
    ).fit(X)


def test_quantiles_are_scikit_learns():
    X = np.random.default_rng(0).lognormal(size=(500, 4)) * [1, 10, 1e3, 1e5]
    ours = fit_quantiles(X, 50)
    theirs = reference(X, 50).quantiles_.T
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_scores_at_the_quantiles_and_clipping_are_scikit_learns():
    X = np.random.default_rng(1).normal(size=(300, 3)) * [1, 100, 0.01]
    qt = reference(X, 40)
    qn = QuantileNormal(fit_quantiles(X, 40))
    # The quantiles themselves, and values beyond the training range.
    points = np.concatenate([qt.quantiles_, qt.quantiles_[[0, -1]] + [[-1], [1]]])
    ours = qn(torch.as_tensor(points, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(ours, qt.transform(points), atol=1e-4)


def test_between_quantiles_it_is_close_to_scikit_learn_in_the_bulk():
    # Linear between the normal scores of two quantiles, where scikit-learn is
    # linear in the uniform levels and then takes the normal quantile: with
    # many quantiles the two agree closely away from the tails.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5000, 2))
    qt = reference(X, 500)
    qn = QuantileNormal(fit_quantiles(X, 500))
    new = rng.uniform(-1.5, 1.5, size=(200, 2))
    ours = qn(torch.as_tensor(new, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(ours, qt.transform(new), atol=5e-3)


def test_tied_quantiles_go_to_the_middle_of_their_scores():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.random(400) < 0.3, rng.integers(0, 4, 400)]).astype(float)
    quantiles = fit_quantiles(X, 64)
    qn = QuantileNormal(quantiles)
    grid = np.array([[0, 0], [1, 1], [1, 2], [1, 3]], dtype=float)
    ours = qn(torch.as_tensor(grid, dtype=torch.float32)).numpy()
    # Inside the range, as scikit-learn's averaged interpolations.
    qt = reference(X, 64)
    np.testing.assert_allclose(ours[1:3, 1], qt.transform(grid)[1:3, 1], atol=0.05)
    # At the ends too (scikit-learn sends the minimum and maximum to +-5.2
    # however many rows share them: a binary feature becomes +-5.2).
    scores = qn.scores.numpy()
    for row, col in ((0, 0), (1, 0), (0, 1), (3, 1)):
        tied = np.flatnonzero(quantiles[col] == grid[row, col])
        expected = 0.5 * (scores[tied[0]] + scores[tied[-1]])
        assert ours[row, col] == pytest.approx(expected, abs=1e-5)
    assert -5 < ours[0, 0] < 0 < ours[1, 0] < 5


def test_invariant_to_increasing_affine_maps_of_a_feature():
    X = np.random.default_rng(4).lognormal(size=(300, 3))
    scaled = X * [1e4, 1e-3, 7] + [5, -2, 1e3]
    new = np.random.default_rng(5).lognormal(size=(50, 3))
    a = QuantileNormal(fit_quantiles(X, 32))(torch.tensor(new, dtype=torch.float32))
    b = QuantileNormal(fit_quantiles(scaled, 32))(
        torch.tensor(new * [1e4, 1e-3, 7] + [5, -2, 1e3], dtype=torch.float32)
    )
    torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)


def test_no_rows_give_placeholder_quantiles_of_the_right_shape():
    assert fit_quantiles(np.zeros((0, 5)), 8).shape == (5, 8)


def test_bad_quantiles_are_a_clear_error():
    with pytest.raises(ValueError, match="n_quantiles"):
        QuantileNormal(np.zeros((3, 1)))
