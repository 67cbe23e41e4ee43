"""Label shift: adjusting class posteriors to a new class prior (Saerens et al., 2002).

A classifier trained under the class prior ``pi_train`` and deployed where the
classes occur with another prior ``pi_test`` (the class-conditional densities
``p(x | y)`` unchanged) should predict with the posteriors

    p_test(y | x)  ∝  p_train(y | x) * pi_test(y) / pi_train(y).

:func:`adjust_to_prior` applies this to a matrix of posteriors;
:func:`estimate_test_prior` estimates ``pi_test`` from the unlabelled
deployment data by the EM algorithm of Saerens, Latinne and Decaestecker. A
uniform ``pi_test`` gives the *balanced* rule, ``argmax_y p(x | y)``.

Pure NumPy (tensors on the CPU are accepted and read as arrays);
:func:`estimate_target_prior` reads a fitted skimbalance estimator.
"""

import warnings

import numpy as np

__all__ = ["adjust_to_prior", "estimate_target_prior", "estimate_test_prior"]


def _as_array(a, name):
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers.") from exc


def _check_proba(proba):
    proba = _as_array(proba, "proba")
    if proba.ndim != 2 or proba.shape[0] == 0 or proba.shape[1] == 0:
        raise ValueError(
            "proba must have shape (n_samples, n_classes) with at least one "
            f"sample and one class, got {proba.shape}."
        )
    if not np.isfinite(proba).all() or (proba < 0).any():
        raise ValueError("proba must hold finite, non-negative probabilities.")
    sums = proba.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=1e-4):
        worst = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(
            "every row of proba must sum to 1 (class posteriors); row "
            f"{worst} sums to {sums[worst]:.6g}."
        )
    return proba / sums[:, None]


def _check_prior(prior, n_classes, name, *, positive):
    prior = _as_array(prior, name)
    if prior.ndim != 1 or prior.shape[0] != n_classes:
        raise ValueError(
            f"{name} must have shape ({n_classes},), one entry per column of "
            f"proba, got {prior.shape}."
        )
    if not np.isfinite(prior).all() or (prior < 0).any() or prior.sum() <= 0:
        raise ValueError(f"{name} must be finite, >= 0, with a positive sum.")
    if positive and (prior == 0).any():
        zero = np.flatnonzero(prior == 0).tolist()
        raise ValueError(
            f"{name} is 0 for the classes at columns {zero}: posteriors trained "
            "without a class say nothing of its likelihood, so they cannot be "
            "moved to another prior. Drop those columns, or give them the "
            "prior the classifier was trained with."
        )
    return prior / prior.sum()


def _reweight(proba, ratio):
    """Rows of ``proba * ratio`` renormalised, and which rows had no mass left."""
    weighted = proba * ratio
    mass = weighted.sum(axis=1, keepdims=True)
    empty = mass[:, 0] <= 0
    return weighted / np.where(mass > 0, mass, 1.0), empty


def adjust_to_prior(proba, train_prior, target_prior):
    """Class posteriors moved from the training prior to a target prior.

    ``p_target(y | x) ∝ proba[:, y] * target_prior[y] / train_prior[y]``,
    rows renormalised (Bayes' rule with ``p(x | y)`` unchanged). A
    ``target_prior`` that is 0 for a class gives that class probability 0;
    a uniform one gives the posteriors of the balanced rule
    ``argmax_y p(x | y)``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Posteriors of a classifier trained under ``train_prior`` (rows sum
        to 1).
    train_prior : array-like of shape (n_classes,)
        Class prior of the training data, all entries positive (class counts
        work too: the prior is normalised to sum 1).
    target_prior : array-like of shape (n_classes,)
        Class prior of the deployment data, ``>= 0`` (normalised to sum 1).

    Returns
    -------
    adjusted : ndarray of shape (n_samples, n_classes)
        Posteriors under ``target_prior``.

    Raises
    ------
    ValueError
        For malformed inputs, a class with training prior 0, or a sample
        whose every class with a positive posterior gets target prior 0.

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the Outputs
       of a Classifier to New a Priori Probabilities: A Simple Procedure",
       Neural Computation 14(1), 2002, Eq. 2.4.

    Examples
    --------
    >>> from skimbalance.prior_shift import adjust_to_prior
    >>> adjust_to_prior([[0.8, 0.2]], [0.8, 0.2], [0.5, 0.5])  # balanced rule
    array([[0.5, 0.5]])
    """
    proba = _check_proba(proba)
    n_classes = proba.shape[1]
    train = _check_prior(train_prior, n_classes, "train_prior", positive=True)
    target = _check_prior(target_prior, n_classes, "target_prior", positive=False)
    adjusted, empty = _reweight(proba, target / train)
    if empty.any():
        raise ValueError(
            f"{int(empty.sum())} samples have positive posteriors only for "
            "classes whose target_prior is 0: their adjusted posteriors are "
            f"undefined (first such row: {int(np.flatnonzero(empty)[0])})."
        )
    return adjusted


def estimate_test_prior(
    proba, train_prior, *, max_iter=1000, tol=1e-6, return_n_iter=False
):
    """Class prior of unlabelled deployment data, by EM (Saerens et al., 2002).

    Starting from ``pi_0 = train_prior``, each iteration moves the posteriors
    to the current prior (:func:`adjust_to_prior`) and takes their mean over
    the samples as the new prior::

        p_s(y | x_i) ∝ proba[i, y] * pi_s[y] / train_prior[y]
        pi_{s+1}[y] = mean_i p_s(y | x_i)

    until no entry moves by more than ``tol``. It is EM for the maximum
    likelihood prior of the deployment data given calibrated posteriors: the
    likelihood never decreases. A class no sample gives any posterior mass
    gets prior 0 after one iteration.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Posteriors, under ``train_prior``, of the deployment samples (rows
        sum to 1). EM assumes they are calibrated.
    train_prior : array-like of shape (n_classes,)
        Class prior of the training data, all entries positive (normalised to
        sum 1).
    max_iter : int, default=1000
        Most EM iterations; a warning says when they ran out.
    tol : float, default=1e-6
        Stop when ``max_y |pi_{s+1}[y] - pi_s[y]| < tol``.
    return_n_iter : bool, default=False
        Also return the number of iterations run.

    Returns
    -------
    prior : ndarray of shape (n_classes,)
        Estimated deployment prior (sums to 1).
    n_iter : int
        Iterations run (only with ``return_n_iter=True``).

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the Outputs
       of a Classifier to New a Priori Probabilities: A Simple Procedure",
       Neural Computation 14(1), 2002, Sec. 2.3, Eqs. 2.9-2.10.

    Examples
    --------
    A sure classifier trained on balanced classes: the estimate is the share
    of each class among its predictions, after one iteration.

    >>> from skimbalance.prior_shift import estimate_test_prior
    >>> proba = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    >>> estimate_test_prior(proba, [0.5, 0.5])
    array([0.75, 0.25])
    """
    proba = _check_proba(proba)
    train = _check_prior(train_prior, proba.shape[1], "train_prior", positive=True)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
        raise TypeError(f"max_iter must be an integer, got {max_iter!r}.")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}.")
    prior, n_iter, step = train, 0, np.inf
    while n_iter < max_iter and step >= tol:
        posteriors, _ = _reweight(proba, prior / train)
        new = posteriors.mean(axis=0)
        new /= new.sum()
        step = np.abs(new - prior).max()
        prior, n_iter = new, n_iter + 1
    if step >= tol:
        warnings.warn(
            f"estimate_test_prior did not converge in max_iter={max_iter} "
            f"iterations (last change {step:.3g} >= tol={tol:g}); raise max_iter "
            "or tol.",
            RuntimeWarning,
            stacklevel=2,
        )
    return (prior, n_iter) if return_n_iter else prior


def estimate_target_prior(estimator, X, *, max_iter=1000, tol=1e-6):
    """Deployment class prior of unlabelled ``X`` for a fitted estimator.

    Runs :func:`estimate_test_prior` on the estimator's uncorrected posteriors
    of ``X``, against the prior the network was trained towards: the training
    prior, or the uniform prior when its training was rebalanced (a
    ``class_weight``, or a rebalancing ``loss``). The result is meant for the
    estimator's ``target_prior``: ``estimator.set_params(target_prior=prior)``
    then predicts under it (with ``prior_correction="auto"`` or ``1``). EM
    assumes calibrated posteriors; CLMLE's k-nearest-cluster scores are not
    probabilities of that kind, so its estimate is rougher.

    Parameters
    ----------
    estimator : fitted skimbalance classifier
        A multi-class fit of one of the library's estimators.
    X : array-like of shape (n_samples, n_features)
        Unlabelled samples of the deployment data.
    max_iter : int, default=1000
        Most EM iterations.
    tol : float, default=1e-6
        Stop when no class share moves by more than ``tol``.

    Returns
    -------
    prior : ndarray of shape (n_classes,)
        Estimated share of each class of ``estimator.classes_`` (sums to 1).

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the Outputs
       of a Classifier to New a Priori Probabilities: A Simple Procedure",
       Neural Computation 14(1), 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance import CrossEntropyClassifier
    >>> from skimbalance.prior_shift import estimate_target_prior
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (180, 2)), rng.normal(3, 1, (20, 2))]
    >>> y = np.r_[np.zeros(180, int), np.ones(20, int)]
    >>> clf = CrossEntropyClassifier(max_epochs=20, random_state=0).fit(X, y)
    >>> X_new = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(3, 1, (50, 2))]
    >>> prior = estimate_target_prior(clf, X_new)
    >>> bool(0.35 < prior[1] < 0.65)  # the deployment data is half class 1
    True
    >>> _ = clf.set_params(prior_correction=1.0, target_prior=prior)
    """
    proba, source_prior = estimator._source_posteriors(X)
    return estimate_test_prior(proba, source_prior, max_iter=max_iter, tol=tol)
