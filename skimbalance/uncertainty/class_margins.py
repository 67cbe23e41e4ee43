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
Other maps (``margin_map``)
    The ``"ratio"`` rule above gives ``m >= 2`` only to classes within 2/3 of
    the most uncertain one, and ``m = M`` to that class alone. Two smoother
    readings of "more uncertain, larger margin" are offered, both monotone
    and both giving ``M`` to the most uncertain class and 1 to a class with
    no uncertainty:

    - ``"linear"``: ``m = 1 + round((M - 1) ubar_c / max_k ubar_k)``, the
      uncertainty ratio mapped linearly onto ``[1, M]``;
    - ``"rank"``: ``m = 1 + round((M - 1) r_c / (C - 1))`` with ``r_c`` the
      class's rank by uncertainty (0 for the least uncertain; ties share the
      higher rank), i.e. the classes are split into ``M`` bands of about
      equal size, whatever the spread of the uncertainties.
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


MARGIN_MAPS = ("ratio", "linear", "rank")
"""The maps from class uncertainties to integer margins (module docstring)."""


def _rank_margins(class_uncertainty, max_margin):
    u = torch.as_tensor(class_uncertainty).double()
    if bool((u < 0).any()):
        raise ValueError("Uncertainties must be non-negative.")
    u = torch.where(torch.isnan(u), torch.full_like(u, float("inf")), u)
    n_classes = u.shape[-1]
    # Rank with ties sharing the higher rank: #{k : u_k <= u_c} - 1.
    rank = (u.unsqueeze(-2) <= u.unsqueeze(-1)).sum(-1).double() - 1.0
    # A lone class is the most uncertain of its task (as with "ratio").
    frac = rank / (n_classes - 1) if n_classes > 1 else torch.ones_like(rank)
    m = torch.floor(1.0 + (max_margin - 1) * frac + 0.5)
    m = torch.where(u > 0, m, torch.ones_like(m))  # no uncertainty, no margin
    return m.clamp(1, max_margin).long()


def uncertainty_margins(class_uncertainty, max_margin=3, margin_map="ratio"):
    """Integer class margins from the class uncertainties.

    With ``margin_map="ratio"`` (the default), ``m = min(M, max(1,
    floor(0.5 u)))`` where ``u`` is :func:`uncertainty_scale`: the most
    uncertain class (of each task) gets ``max_margin``, a class gets ``k``
    when its uncertainty is at least ``k / max_margin`` of the largest, and
    the rest get 1. ``"linear"`` and ``"rank"`` are the smoother maps of the
    module docstring. All are monotone non-decreasing in the uncertainty.

    Parameters
    ----------
    class_uncertainty : Tensor of shape (C,) or (T, C)
        Output of :func:`class_uncertainty`.
    max_margin : int, default=3
        The cap ``M`` (the paper's fixed margin).
    margin_map : {"ratio", "linear", "rank"}, default="ratio"
        How uncertainties become margins.

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
    >>> u = torch.tensor([0.1, 0.2, 0.3, 0.4])
    >>> uncertainty_margins(u).tolist()
    [1, 1, 2, 3]
    >>> uncertainty_margins(u, margin_map="linear").tolist()
    [2, 2, 3, 3]
    >>> uncertainty_margins(u, margin_map="rank").tolist()
    [1, 2, 2, 3]
    """
    if margin_map not in MARGIN_MAPS:
        raise ValueError(
            f"margin_map must be one of {MARGIN_MAPS}, got {margin_map!r}."
        )
    if margin_map == "rank":
        max_margin = int(max_margin)
        if max_margin < 1:
            raise ValueError(f"max_margin must be >= 1, got {max_margin}.")
        return _rank_margins(class_uncertainty, max_margin)
    u = uncertainty_scale(class_uncertainty, max_margin)
    if margin_map == "linear":
        ratio = u / (2.0 * int(max_margin))
        m = torch.floor(1.0 + (int(max_margin) - 1) * ratio + 0.5 + 1e-9)
        m = torch.where(ratio > 0, m, torch.ones_like(m))
        return m.clamp(1, int(max_margin)).long()
    # A small tolerance so that exact ratios k / M are not lost to rounding.
    m = torch.floor(0.5 * u + 1e-9)
    return m.clamp(1, int(max_margin)).long()
