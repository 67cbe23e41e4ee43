"""Prior shift: EM recovers a deployment prior; posteriors move to a new prior."""

import numpy as np
import pytest
import torch

from skimbalance.prior_shift import adjust_to_prior, estimate_test_prior

MEANS = np.array([-2.0, 0.0, 1.5])  # 1-D Gaussian classes, unit variance
TRAIN_PRIOR = np.array([0.7, 0.2, 0.1])


def likelihood(x):
    """p(x | y) of every class, (n, 3)."""
    return np.exp(-0.5 * (x[:, None] - MEANS) ** 2) / np.sqrt(2 * np.pi)


def posterior(x, prior):
    """The exact (calibrated) posterior under ``prior``."""
    joint = likelihood(x) * prior
    return joint / joint.sum(axis=1, keepdims=True)


def sample(prior, n, seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(len(prior), size=n, p=prior)
    return MEANS[y] + rng.normal(size=n), y


@pytest.mark.parametrize(
    "test_prior", [[0.2, 0.3, 0.5], [0.05, 0.05, 0.9], [0.7, 0.2, 0.1]]
)
def test_em_recovers_a_shifted_prior(test_prior):
    test_prior = np.array(test_prior)
    x, y = sample(test_prior, 20_000, seed=0)
    proba = posterior(x, TRAIN_PRIOR)  # the classifier knows the training prior
    estimate, n_iter = estimate_test_prior(proba, TRAIN_PRIOR, return_n_iter=True)
    assert estimate.shape == (3,) and np.isclose(estimate.sum(), 1.0)
    assert n_iter < 1000
    empirical = np.bincount(y, minlength=3) / y.size
    assert np.abs(estimate - empirical).max() < 0.02
    if not np.allclose(test_prior, TRAIN_PRIOR):
        # better than assuming no shift, and than the mean posterior
        # (one EM step)
        assert (
            np.abs(estimate - empirical).max()
            < 0.5 * np.abs(TRAIN_PRIOR - empirical).max()
        )
        one_step = estimate_test_prior(proba, TRAIN_PRIOR, max_iter=1, tol=1.0)
        np.testing.assert_allclose(one_step, proba.mean(axis=0))
        assert np.abs(estimate - empirical).max() < np.abs(one_step - empirical).max()
        # and the posteriors moved to the estimate predict better
        moved = adjust_to_prior(proba, TRAIN_PRIOR, estimate)
        assert (moved.argmax(1) == y).mean() > (proba.argmax(1) == y).mean()


def test_adjusting_to_the_true_prior_gives_the_true_posteriors():
    x, _ = sample(TRAIN_PRIOR, 500, seed=1)
    target = np.array([0.1, 0.1, 0.8])
    np.testing.assert_allclose(
        adjust_to_prior(posterior(x, TRAIN_PRIOR), TRAIN_PRIOR, target),
        posterior(x, target),
        rtol=1e-10,
    )


def test_a_uniform_target_is_the_balanced_rule():
    x, _ = sample(TRAIN_PRIOR, 500, seed=2)
    proba = posterior(x, TRAIN_PRIOR)
    balanced = adjust_to_prior(proba, TRAIN_PRIOR, np.ones(3) / 3)
    by_hand = proba / TRAIN_PRIOR
    np.testing.assert_allclose(balanced, by_hand / by_hand.sum(1, keepdims=True))
    np.testing.assert_array_equal(balanced.argmax(1), likelihood(x).argmax(1))
    # class counts work as priors, tensors as arrays
    counts = TRAIN_PRIOR * 1000
    np.testing.assert_allclose(
        adjust_to_prior(torch.as_tensor(proba), counts, [1, 1, 1]), balanced
    )


def test_degenerate_inputs():
    proba = np.array([[0.6, 0.4, 0.0], [0.3, 0.7, 0.0]])
    # A class no sample gives mass to gets prior 0.
    est = estimate_test_prior(proba, [0.4, 0.4, 0.2])
    assert est[2] == 0.0 and np.isclose(est.sum(), 1.0)
    # A target prior of 0 removes a class.
    moved = adjust_to_prior(proba, [1, 1, 1], [1, 1, 0])
    np.testing.assert_allclose(moved, proba)
    with pytest.raises(ValueError, match="target_prior is 0"):
        adjust_to_prior([[0.0, 1.0]], [0.5, 0.5], [1.0, 0.0])
    # One class: the prior is 1, the posteriors stay 1.
    one = np.ones((4, 1))
    assert estimate_test_prior(one, [1.0]).tolist() == [1.0]
    assert adjust_to_prior(one, [3], [1]).tolist() == [[1.0]] * 4
    # A training prior of 0 cannot be moved from.
    with pytest.raises(
        ValueError, match=r"train_prior is 0 for the classes at columns \[1\]"
    ):
        adjust_to_prior(proba[:, :2], [1.0, 0.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="sums to"):
        estimate_test_prior([[0.5, 0.6]], [0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        estimate_test_prior(proba, [0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        estimate_test_prior(np.ones(3), [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        estimate_test_prior([[1.5, -0.5]], [0.5, 0.5])
    with pytest.raises(ValueError, match="max_iter"):
        estimate_test_prior(proba, [1, 1, 1], max_iter=0)


def test_running_out_of_iterations_warns():
    x, _ = sample(np.array([0.2, 0.3, 0.5]), 2000, seed=3)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        estimate_test_prior(posterior(x, TRAIN_PRIOR), TRAIN_PRIOR, max_iter=2)
