"""Class-level uncertainty and the integer class margins derived from it.

Khan et al. (2019, Sec. 4) impose on class ``y`` the margin
``m = max(1, floor(0.5 u_y))`` where ``u_y`` is the class's Bayesian
uncertainty (Eq. 7), and fix ``m = 3`` in their experiments. The scale of ``u``
that makes this rule useful is not given (Eq. 7 adds an unknown constant
``tau^-1``), so this module fixes it as follows.

Class uncertainty
    The mean, over the training samples of the class, of the per-sample
    predictive uncertainty (the trace of the MC covariance of Eq. 7, see
    :func:`skimbalance.uncertainty.mc_dropout.predictive_uncertainty`). A class
    without samples is treated as the most uncertain one.
Scale of ``u``
    ``u_c = 2 M ubar_c / max_k ubar_k`` (``M = max_margin``, the maximum taken
    over the classes of the same task): the most uncertain class sits at
    ``u = 2M`` and so gets exactly ``m = M`` (the paper's fixed ``m = 3``),
    and a class gets margin ``k`` when its uncertainty is at least ``k / M`` of
    the largest one. The rule is scale-free (the MC variance depends on the
    dropout rate and the network), monotone in ``u``, and capped at ``M``. When
    every class is equally uncertain every class gets ``M``, i.e. the fixed-
    margin setting of the paper's Table 7; when no class shows any uncertainty
    every margin is 1 (plain softmax).
"""

import torch


def class_uncertainty(sample_uncertainty, targets, n_classes):
    """Mean predictive uncertainty of the samples of each class.

    Parameters
    ----------
    sample_uncertainty : Tensor of shape (n,) or (n, T)
        Per-sample (per-task) uncertainty, e.g.
        :attr:`MCDropoutStatistics.uncertainty`.
    targets : LongTensor of shape (n,) or (n, T)
        Class index of each sample (in each task).
    n_classes : int
        Number of classes ``C`` (per task).

    Returns
    -------
    Tensor of shape (C,) or (T, C), float64
        The mean over each class's samples; NaN for a class without samples.

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Sec. 3-4 and Fig. 3 (class uncertainty vs. frequency).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.uncertainty.class_margins import class_uncertainty
    >>> u = torch.tensor([0.1, 0.3, 0.8])
    >>> class_uncertainty(u, torch.tensor([0, 0, 1]), 3).tolist()
    [0.2, 0.8, nan]
    """
    u = torch.as_tensor(sample_uncertainty).double()
    targets = torch.as_tensor(targets, device=u.device).long()
    if u.shape != targets.shape:
        raise ValueError(
            f"sample_uncertainty {tuple(u.shape)} and targets "
            f"{tuple(targets.shape)} must have the same shape."
        )
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= n_classes):
        raise ValueError(f"targets must lie in [0, {n_classes}).")
    squeeze = u.dim() == 1
    if squeeze:
        u, targets = u.unsqueeze(1), targets.unsqueeze(1)
    n_tasks = u.shape[1]
    # One group per (task, class): group = task * C + class, summed in one pass.
    groups = targets + n_classes * torch.arange(n_tasks, device=u.device)
    size = n_tasks * n_classes
    sums = torch.zeros(size, dtype=u.dtype, device=u.device)
    sums.index_add_(0, groups.reshape(-1), u.reshape(-1))
    counts = torch.bincount(groups.reshape(-1), minlength=size).to(u.dtype)
    means = (sums / counts).reshape(n_tasks, n_classes)  # 0/0 = nan when empty
    return means[0] if squeeze else means


def uncertainty_scale(class_uncertainty, max_margin=3):
    """Class uncertainties on the scale ``u = 2 M ubar / max ubar`` of the margin rule.

    The maximum is taken over the last axis (the classes of one task); NaN
    (a class without samples) becomes ``2M``; if no class is uncertain at all,
    every ``u`` is 0.

    Parameters
    ----------
    class_uncertainty : Tensor of shape (C,) or (T, C)
    max_margin : int, default=3

    Returns
    -------
    Tensor of the same shape, float64, in ``[0, 2 max_margin]``

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Sec. 4 (``m = max(1, floor(0.5 u_y))``) and Sec. 6.1.1
       (``m = 3``).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.uncertainty.class_margins import uncertainty_scale
    >>> uncertainty_scale(torch.tensor([0.1, 0.2, 0.4])).tolist()
    [1.5, 3.0, 6.0]
    """
    max_margin = int(max_margin)
    if max_margin < 1:
        raise ValueError(f"max_margin must be >= 1, got {max_margin}.")
    u = torch.as_tensor(class_uncertainty).double()
    if bool((u < 0).any()):
        raise ValueError("Uncertainties must be non-negative.")
    missing = torch.isnan(u)
    observed = torch.where(missing, torch.zeros_like(u), u)
    top = observed.amax(dim=-1, keepdim=True)
    ratio = torch.where(top > 0, observed / torch.where(top > 0, top, 1.0), 0.0)
    ratio = torch.where(missing, torch.ones_like(ratio), ratio)
    return 2.0 * max_margin * ratio


def uncertainty_margins(class_uncertainty, max_margin=3):
    """Integer class margins ``m = min(M, max(1, floor(0.5 u)))``.

    ``u`` is :func:`uncertainty_scale`: the most uncertain class (of each
    task) gets ``max_margin``, a class gets ``k`` when its uncertainty is at
    least ``k / max_margin`` of the largest, and the rest get 1. Monotone
    non-decreasing in the uncertainty.

    Parameters
    ----------
    class_uncertainty : Tensor of shape (C,) or (T, C)
        Output of :func:`class_uncertainty`.
    max_margin : int, default=3
        The cap ``M`` (the paper's fixed margin).

    Returns
    -------
    LongTensor of the same shape, values in ``[1, max_margin]``

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Sec. 4.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.uncertainty.class_margins import uncertainty_margins
    >>> uncertainty_margins(torch.tensor([0.1, 0.2, 0.3, 0.4])).tolist()
    [1, 1, 2, 3]
    """
    u = uncertainty_scale(class_uncertainty, max_margin)
    # A small tolerance so that exact ratios k / M are not lost to rounding.
    m = torch.floor(0.5 * u + 1e-9)
    return m.clamp(1, int(max_margin)).long()
