"""How the papers turn a balanced training set into an imbalanced one."""

import numpy as np
from imblearn.datasets import make_imbalance
from sklearn.utils import check_random_state


def keep_fraction_of_classes(X, y, *, fraction=0.1, classes=None, random_state=None):
    """Keep ``fraction`` of the samples of some classes, all samples of the others.

    The protocol of Khan et al. (CVPR 2019), Table 5: "keep 10 % of the training
    samples of half the classes". Sampling is without replacement (through
    imbalanced-learn's :func:`~imblearn.datasets.make_imbalance`) and at least one
    sample of every reduced class is kept.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs.
    y : array-like of shape (n_samples,)
        Labels.
    fraction : float, default=0.1
        Fraction of each reduced class that is kept, in (0, 1].
    classes : array-like or None, default=None
        Classes to reduce. ``None`` reduces the second half of the sorted
        classes (``classes[len // 2:]``).
    random_state : int, RandomState instance or None, default=None
        Seed of the sampling.

    Returns
    -------
    X_imb : ndarray of shape (n_kept, n_features)
    y_imb : ndarray of shape (n_kept,)

    References
    ----------
    .. [1] S. Khan, M. Hayat, S. W. Zamir, J. Shen and L. Shao, "Striking the
       Right Balance with Uncertainty", CVPR 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.datasets import keep_fraction_of_classes
    >>> y = np.repeat([0, 1, 2, 3], 50)
    >>> X = np.arange(200.0).reshape(-1, 1)
    >>> _, y_imb = keep_fraction_of_classes(X, y, fraction=0.1, random_state=0)
    >>> np.bincount(y_imb).tolist()
    [50, 50, 5, 5]
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    y = np.asarray(y)
    labels, counts = np.unique(y, return_counts=True)
    reduced = labels[len(labels) // 2 :] if classes is None else np.asarray(classes)
    unknown = np.setdiff1d(reduced, labels)
    if unknown.size:
        raise ValueError(f"classes {unknown.tolist()} are not labels of y.")
    strategy = {
        label: (max(1, round(fraction * count)) if label in reduced else int(count))
        for label, count in zip(labels, counts, strict=True)
    }
    X_imb, y_imb = make_imbalance(
        X, y, sampling_strategy=strategy, random_state=random_state
    )
    return np.asarray(X_imb), np.asarray(y_imb)


def power_law_class_sizes(X, y, *, gamma=1.0, min_size=1, random_state=None):
    """Sub-sample classes so that their sizes follow a power law controlled by ``gamma``.

    The classes, in a random order, get ranks ``c = 1 .. C`` and keep
    ``max(min_size, round(n_max * c ** (-1 / gamma)))`` samples, where ``n_max``
    is the size of the smallest class of the input (so every class can supply
    its share). Smaller ``gamma`` gives a steeper decay, i.e. more imbalance, as
    the papers' γ = 1 and γ = 0.5 settings require. (Huang et al. print the law
    as ``L_max / (c ** gamma + L_min)``, which as written grows *less* imbalanced
    as γ shrinks, contradicting their text; the form above keeps the stated
    intent.)

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    gamma : float, default=1.0
        Exponent of the power law; smaller is more imbalanced.
    min_size : int, default=1
        Least number of samples kept per class.
    random_state : int, RandomState instance or None, default=None
        Seed of the class order and of the sampling.

    Returns
    -------
    X_imb : ndarray
    y_imb : ndarray

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu, "Class Rectification Hard Mining for
       Imbalanced Deep Learning", ICCV 2017.
    .. [2] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.datasets import power_law_class_sizes
    >>> y = np.repeat([0, 1, 2, 3], 100)
    >>> X = np.zeros((400, 1))
    >>> _, y_imb = power_law_class_sizes(X, y, gamma=1.0, random_state=0)
    >>> sorted(np.bincount(y_imb).tolist(), reverse=True)
    [100, 50, 33, 25]
    """
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma!r}.")
    rng = check_random_state(random_state)
    y = np.asarray(y)
    labels, counts = np.unique(y, return_counts=True)
    n_classes = len(labels)
    order = rng.permutation(n_classes)
    n_max = counts.min()
    sizes = n_max * np.arange(1, n_classes + 1, dtype=float) ** (-1.0 / gamma)
    strategy = {
        labels[position]: int(max(min_size, round(size)))
        for position, size in zip(order, sizes, strict=True)
    }
    X_imb, y_imb = make_imbalance(X, y, sampling_strategy=strategy, random_state=rng)
    return np.asarray(X_imb), np.asarray(y_imb)
