"""Angular-margin softmax losses with a per-sample margin.

The uncertainty-driven max-margin method of Khan et al. (2019) replaces the fixed
margin of a margin-based softmax by a margin derived from the uncertainty of each
class; every sample uses the margin of its own class. This module holds the four
margin families the paper uses (its Eq. 10 and Table 7), each taking an integer
margin ``m >= 1`` per sample, where ``m = 1`` is the neutral margin:

``"large_margin"`` (L-softmax, Liu et al. 2016; the paper's Eq. 10)
    Logits ``||w_j|| ||f|| cos(theta_j)`` (= ``w_j^T f``, unnormalised) for the
    other classes and ``||w_y|| ||f|| psi_m(theta_y)`` for the true class, with
    ``psi_m(theta) = (-1)^r cos(m theta) - 2r`` on ``[r pi/m, (r+1) pi/m]``.
    ``m`` is the integer angular multiplier itself.
``"sphereface"`` (A-softmax, Liu et al. 2017)
    The same ``psi_m`` with L2-normalised class weights and the feature norm
    kept: logits ``||f|| cos(theta_j)`` and ``||f|| psi_m(theta_y)``.
``"cosface"`` (CosFace / AM-softmax, Wang et al. 2018)
    Normalised weights and features and a fixed scale ``s``: logits
    ``s cos(theta_j)`` and ``s (cos(theta_y) - (m - 1) delta)``; with the default
    ``delta = 0.175`` the paper's fixed ``m = 3`` gives CosFace's margin 0.35
    (the paper's Table 7 setting).
``"arcface"`` (additive angular margin, Deng et al. 2019)
    Logits ``s cos(theta_j)`` and ``s cos(theta_y + (m - 1) delta)``, with
    ``delta = 0.2`` by default (``m = 3`` gives Table 7's 0.4). Where
    ``theta_y + (m - 1) delta > pi`` the logit continues monotonically and
    continuously as ``cos(theta_y) - (1 - cos((m - 1) delta))`` (the usual
    implementation's ``cos - a sin a`` jumps there).

``cos(m theta)`` of the multiplicative families is the Chebyshev polynomial
``T_m(cos theta)`` (the paper's multiple-angle expansion, evaluated by the
recurrence ``T_{k+1} = 2 x T_k - T_{k-1}``), so it is a polynomial in
``cos theta = w^T f / (||w|| ||f||)`` with an exact, finite gradient everywhere,
including ``theta = 0`` and ``theta = pi``; ``acos`` is only used, without
gradient, to find the piece ``r``.

At ``m = 1`` each family is a plain softmax cross-entropy on its neutral logits
(:func:`plain_logits`): ``W f`` for ``"large_margin"``, ``W_hat f`` for
``"sphereface"`` and ``s cos`` for the two additive families. These neutral
logits are also the ones to predict with: the margin is a training-time
constraint only.

Shapes: ``features`` ``(B, D)`` with ``weight`` ``(C, D)`` give logits
``(B, C)``; ``features`` ``(B, T, D)`` (or ``(B, D)``, shared) with ``weight``
``(T, C, D)`` give ``(B, T, C)`` for ``T`` tasks (e.g. the labels of a
multi-label problem), with ``targets`` and margins of shape ``(B, T)``.
"""

import math

import torch
from torch.nn import functional as F

MARGIN_TYPES = ("large_margin", "sphereface", "cosface", "arcface")
"""The supported margin families."""

_EPS = 1e-8


def _margin_range(m):
    """``(min, max)`` of an integer tensor with one device-to-host transfer."""
    if m.numel() == 0:
        return 1, 1
    low, high = torch.aminmax(m)
    low, high = torch.stack((low, high)).tolist()
    return int(low), int(high)


def _checked_margins(margins, device):
    margins = torch.as_tensor(margins, device=device).long()
    low, high = _margin_range(margins)
    if low < 1:
        raise ValueError("Margins must be integers >= 1.")
    return margins, high


def _check_margin_type(margin_type):
    if margin_type not in MARGIN_TYPES:
        raise ValueError(
            f"margin_type must be one of {MARGIN_TYPES}, got {margin_type!r}."
        )


def _align(features, weight):
    """Insert the task axis into shared features when the weight has one."""
    if weight.dim() == 3 and features.dim() == 2:
        features = features.unsqueeze(1)
    return features


def project(features, weight):
    """Dot products ``w_c^T f`` for every sample (and task) and class.

    Parameters
    ----------
    features : Tensor of shape (B, D) or (B, T, D)
        Features ``f``.
    weight : Tensor of shape (C, D) or (T, C, D)
        Class vectors ``w_c`` (of each task).

    Returns
    -------
    Tensor of shape (B, C) or (B, T, C)

    References
    ----------
    .. [1] S. Khan, M. Hayat, S. W. Zamir, J. Shen and L. Shao, "Striking the
       Right Balance with Uncertainty", CVPR 2019, Eq. 8.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import project
    >>> project(torch.ones(4, 3), torch.ones(2, 3)).shape
    torch.Size([4, 2])
    >>> project(torch.ones(4, 3), torch.ones(5, 2, 3)).shape
    torch.Size([4, 5, 2])
    """
    features = _align(features, weight)
    return torch.matmul(features.unsqueeze(-2), weight.transpose(-1, -2)).squeeze(-2)


def target_rows(weight, targets):
    """The true-class vector ``w_y`` of every sample (and task).

    Parameters
    ----------
    weight : Tensor of shape (C, D) or (T, C, D)
    targets : LongTensor of shape (B,) or (B, T)

    Returns
    -------
    Tensor of shape (B, D) or (B, T, D)

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 12.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import target_rows
    >>> w = torch.arange(6.0).reshape(3, 2)
    >>> target_rows(w, torch.tensor([2, 0])).tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    """
    if weight.dim() == 2:
        return weight[targets]
    tasks = torch.arange(weight.shape[0], device=targets.device)
    return weight[tasks.unsqueeze(0), targets]


def chebyshev_cos_multiple(cos, m):
    """``cos(m theta)`` as the Chebyshev polynomial ``T_m(cos theta)``.

    Evaluated with the recurrence ``T_0 = 1``, ``T_1 = x``,
    ``T_{k+1} = 2 x T_k - T_{k-1}`` up to the largest ``m`` present, then each
    entry takes its own order; the result is a polynomial in ``cos``, so its
    gradient is exact and finite for every ``cos`` in ``[-1, 1]``.

    Parameters
    ----------
    cos : Tensor
        ``cos(theta)``, any shape.
    m : int or LongTensor broadcastable to ``cos``
        Non-negative integer multiples.

    Returns
    -------
    Tensor of the shape of ``cos``

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Sec. 4 (the multiple-angle expansion of ``cos(m alpha)``).
    .. [2] W. Liu, Y. Wen, Z. Yu and M. Yang, "Large-Margin Softmax Loss for
       Convolutional Neural Networks", ICML 2016.

    Examples
    --------
    >>> import math, torch
    >>> from skimbalance.losses.large_margin import chebyshev_cos_multiple
    >>> c = torch.tensor([math.cos(0.3)], dtype=torch.float64)
    >>> round(float(chebyshev_cos_multiple(c, 3)), 6) == round(math.cos(0.9), 6)
    True
    """
    m = torch.as_tensor(m, device=cos.device).long()
    low, high = _margin_range(torch.broadcast_to(m, cos.shape))
    if low < 0:
        raise ValueError("The multiple m must be a non-negative integer.")
    return _chebyshev(cos, m, high)


def _chebyshev(cos, m, max_m):
    m_b = torch.broadcast_to(m, cos.shape)
    polys = [torch.ones_like(cos), cos]
    for _ in range(2, max_m + 1):
        polys.append(2 * cos * polys[-1] - polys[-2])
    stacked = torch.stack(polys[: max(max_m, 1) + 1], dim=-1)
    return stacked.gather(-1, m_b.unsqueeze(-1)).squeeze(-1)


def large_margin_psi(cos, m):
    """The L-softmax angular function ``psi_m`` of the true class.

    ``psi_m(theta) = (-1)^r cos(m theta) - 2 r`` for
    ``theta in [r pi / m, (r + 1) pi / m]``, ``r = 0, ..., m - 1``: continuous,
    monotonically decreasing on ``[0, pi]`` from 1 to ``1 - 2m``, and equal to
    ``cos theta`` when ``m = 1``. ``cos`` is clamped to ``[-1, 1]``; the piece
    ``r`` is found without gradient, and ``cos(m theta)`` is
    :func:`chebyshev_cos_multiple`, so the gradient is finite at ``theta = 0``
    and ``theta = pi``.

    Parameters
    ----------
    cos : Tensor
        ``cos(theta)`` of the true class, any shape.
    m : int or LongTensor broadcastable to ``cos``
        Integer margins ``>= 1``.

    Returns
    -------
    Tensor of the shape of ``cos``

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 10.
    .. [2] W. Liu et al., "Large-Margin Softmax Loss for Convolutional Neural
       Networks", ICML 2016.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import large_margin_psi
    >>> cos = torch.tensor([1.0, 0.0, -1.0])
    >>> large_margin_psi(cos, 1).tolist()
    [1.0, 0.0, -1.0]
    >>> large_margin_psi(cos, 2).tolist()  # psi(pi/2) = -1, psi(pi) = -3
    [1.0, -1.0, -3.0]
    """
    m, max_m = _checked_margins(m, cos.device)
    return _psi(cos, m, max_m)


def _psi(cos, m, max_m):
    cos = cos.clamp(-1.0, 1.0)
    with torch.no_grad():
        theta = torch.acos(cos.double())
        r = torch.floor(m * theta / math.pi)
        r = torch.minimum(torch.clamp(r, min=0), (m - 1).to(r.dtype)).to(cos.dtype)
    sign = 1.0 - 2.0 * torch.remainder(r, 2.0)
    return sign * _chebyshev(cos, m, max_m) - 2.0 * r


def margin_value(margins, margin_type, *, cosface_step=0.175, arcface_step=0.2):
    """The family's own margin for integer margins ``m`` (``m = 1`` is neutral).

    ``"large_margin"`` and ``"sphereface"``: the angular multiplier ``m``;
    ``"cosface"``: the cosine offset ``(m - 1) cosface_step``; ``"arcface"``: the
    angle offset ``(m - 1) arcface_step`` (radians).

    Parameters
    ----------
    margins : Tensor
        Margins ``m >= 1``.
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    cosface_step, arcface_step : float
        Additive margin per unit of ``m`` above 1.

    Returns
    -------
    Tensor of the shape of ``margins``

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Table 7 (uncertainty in place of each loss's margin).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import margin_value
    >>> [round(v, 3) for v in margin_value(torch.tensor([1, 3]), "cosface").tolist()]
    [0.0, 0.35]
    """
    _check_margin_type(margin_type)
    if margin_type in ("large_margin", "sphereface"):
        return margins
    step = cosface_step if margin_type == "cosface" else arcface_step
    return (margins.to(torch.get_default_dtype()) - 1.0) * step


def _norms(x, eps):
    """Euclidean norms over the last axis that cannot overflow.

    ``||x|| = s ||x / s||`` with ``s = max |x_i|`` (held constant in the
    gradient, which stays ``x / ||x||``): the plain sum of squares overflows
    float32 once an entry exceeds about ``1.8e19``.
    """
    scale = x.detach().abs().amax(dim=-1, keepdim=True).clamp_min(eps)
    return (scale.squeeze(-1) * (x / scale).norm(dim=-1)).clamp_min(eps)


def cosine_and_norms(features, weight, *, eps=_EPS):
    """``cos(theta)`` between features and class vectors, and both norms.

    Parameters
    ----------
    features : Tensor of shape (B, D) or (B, T, D)
    weight : Tensor of shape (C, D) or (T, C, D)
    eps : float
        Lower bound of the norms (a zero vector gets ``cos = 0``).

    Returns
    -------
    cos : Tensor of shape (B, C) or (B, T, C), clamped to ``[-1, 1]``
    feature_norm : Tensor of shape (B, 1) or (B, T, 1)
    weight_norm : Tensor of shape (C,) or (T, C)

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Sec. 4 (``cos(alpha_j) = w_j^T f / (||w_j|| ||f||)``).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import cosine_and_norms
    >>> cos, fn, wn = cosine_and_norms(torch.tensor([[3.0, 4.0]]), torch.eye(2))
    >>> cos.tolist(), fn.tolist(), wn.tolist()
    ([[0.6000000238418579, 0.800000011920929]], [[5.0]], [1.0, 1.0])
    """
    features = _align(features, weight)
    feature_norm = _norms(features, eps).unsqueeze(-1)
    weight_norm = _norms(weight, eps)
    # Normalise before the product: w^T f itself may overflow for finite f.
    cos = project(features / feature_norm, weight / weight_norm.unsqueeze(-1))
    return cos.clamp(-1.0, 1.0), feature_norm, weight_norm


def logit_scale(feature_norm, weight_norm, margin_type, scale=30.0):
    """Multiplier turning the angular values into logits for each family.

    ``||w_j|| ||f||`` (``"large_margin"``), ``||f||`` (``"sphereface"``) or the
    fixed ``scale`` (``"cosface"``, ``"arcface"``).

    Parameters
    ----------
    feature_norm : Tensor of shape (B, 1) or (B, T, 1)
    weight_norm : Tensor of shape (C,) or (T, C)
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    scale : float
        The fixed scale ``s`` of the additive families.

    Returns
    -------
    Tensor broadcastable to the logits

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 10 and Table 7 (feature norm ``n = 30``).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import logit_scale
    >>> logit_scale(torch.tensor([[2.0]]), torch.tensor([3.0, 1.0]), "large_margin")
    tensor([[6., 2.]])
    """
    _check_margin_type(margin_type)
    if margin_type == "large_margin":
        return feature_norm * weight_norm
    if margin_type == "sphereface":
        return feature_norm
    return torch.full_like(feature_norm, float(scale))


def plain_logits(features, weight, *, margin_type="large_margin", scale=30.0, eps=_EPS):
    """Neutral-margin logits of a family: what the model predicts with.

    ``W f`` (``"large_margin"``), ``W_hat f`` with row-normalised ``W``
    (``"sphereface"``), ``s cos(theta)`` (``"cosface"``, ``"arcface"``). The
    margin losses at ``m = 1`` are the cross-entropy of these logits.

    Parameters
    ----------
    features : Tensor of shape (B, D) or (B, T, D)
    weight : Tensor of shape (C, D) or (T, C, D)
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    scale : float
        Scale ``s`` of the additive families.
    eps : float
        Lower bound of the norms.

    Returns
    -------
    Tensor of shape (B, C) or (B, T, C)

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 8 and 10.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import plain_logits
    >>> f, w = torch.tensor([[3.0, 4.0]]), torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    >>> plain_logits(f, w).tolist()
    [[6.0, 4.0]]
    >>> plain_logits(f, w, margin_type="sphereface").tolist()
    [[3.0, 4.0]]
    """
    _check_margin_type(margin_type)
    if margin_type == "large_margin":
        return project(features, weight)
    cos, feature_norm, weight_norm = cosine_and_norms(features, weight, eps=eps)
    return logit_scale(feature_norm, weight_norm, margin_type, scale) * cos


def target_angular_value(
    cos_target,
    margins,
    margin_type="large_margin",
    *,
    cosface_step=0.175,
    arcface_step=0.2,
    softmax_weight=0.0,
):
    """The true-class angular value of a family under per-sample margins.

    ``psi_m(theta)`` (``"large_margin"``, ``"sphereface"``),
    ``cos(theta) - (m - 1) cosface_step`` (``"cosface"``) or
    ``cos(theta + (m - 1) arcface_step)`` (``"arcface"``, continued as
    ``cos(theta) - (1 - cos((m - 1) arcface_step))`` past ``theta + a = pi``). All equal ``cos(theta)`` at ``m = 1``.

    Parameters
    ----------
    cos_target : Tensor
        ``cos(theta_y)`` per sample, any shape.
    margins : LongTensor broadcastable to ``cos_target``
        Integer margins ``>= 1``.
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    cosface_step, arcface_step : float
        See :func:`margin_value`.
    softmax_weight : float, default=0
        ``lambda >= 0`` of the L-softmax/SphereFace annealing: the multiplicative
        families return ``(lambda cos + psi_m) / (1 + lambda)``; ignored by the
        additive families.

    Returns
    -------
    Tensor of the shape of ``cos_target``

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 10 and Table 7.
    .. [2] H. Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face
       Recognition", CVPR 2018.
    .. [3] J. Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
       Recognition", CVPR 2019.
    .. [4] W. Liu et al., "SphereFace: Deep Hypersphere Embedding for Face
       Recognition", CVPR 2017.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import target_angular_value
    >>> cos = torch.tensor([0.5, 0.5])
    >>> m = torch.tensor([1, 3])
    >>> [round(v, 3) for v in target_angular_value(cos, m, "cosface").tolist()]
    [0.5, 0.15]
    """
    _check_margin_type(margin_type)
    margins, max_m = _checked_margins(margins, cos_target.device)
    cos_target = cos_target.clamp(-1.0, 1.0)
    if margin_type in ("large_margin", "sphereface"):
        psi = _psi(cos_target, margins, max_m)
        if softmax_weight:
            psi = (softmax_weight * cos_target + psi) / (1.0 + softmax_weight)
        return psi
    offset = margin_value(
        margins, margin_type, cosface_step=cosface_step, arcface_step=arcface_step
    ).to(cos_target.dtype)
    if margin_type == "cosface":
        return cos_target - offset
    # arcface: cos(theta + a) = cos cos(a) - sin sin(a); sin from a clamped sqrt
    # so that the gradient stays finite at theta = 0 and pi.
    sin_target = torch.sqrt((1.0 - cos_target * cos_target).clamp_min(1e-12))
    shifted = cos_target * torch.cos(offset) - sin_target * torch.sin(offset)
    # Past theta + a = pi, cos(theta + a) would increase again: continue
    # monotonically and continuously with the cosine margin cos(theta) - (1 - cos a)
    # (equal to -1 at theta = pi - a, like cos(theta + a)).
    threshold = torch.cos(math.pi - offset)
    fallback = cos_target - (1.0 - torch.cos(offset))
    return torch.where(cos_target > threshold, shifted, fallback)


def margin_logits(
    features,
    weight,
    targets,
    margins=None,
    *,
    margin_type="large_margin",
    scale=30.0,
    cosface_step=0.175,
    arcface_step=0.2,
    softmax_weight=0.0,
    target_offset=None,
    eps=_EPS,
):
    """Logits with each sample's own margin applied to its true class.

    The other classes keep their neutral logits (:func:`plain_logits`); the true
    class gets ``scale_y * (target_angular_value - target_offset)`` where
    ``scale_y`` is the family's :func:`logit_scale`.

    Parameters
    ----------
    features : Tensor of shape (B, D) or (B, T, D)
    weight : Tensor of shape (C, D) or (T, C, D)
    targets : LongTensor of shape (B,) or (B, T)
    margins : LongTensor of shape (B,) or (B, T), or int, or None
        Integer margin of each sample (its class's margin); None means 1.
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    scale : float
        Scale ``s`` of the additive families.
    cosface_step, arcface_step, softmax_weight : float
        See :func:`target_angular_value`.
    target_offset : Tensor of shape (B,) or (B, T), or None
        Extra amount subtracted from the true-class angular value before
        scaling (the sample-level term of
        :mod:`skimbalance.losses.uncertainty_margin`).
    eps : float
        Lower bound of the norms.

    Returns
    -------
    Tensor of shape (B, C) or (B, T, C)

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 10 and 15.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import margin_logits
    >>> f, w = torch.tensor([[1.0, 1.0]]), torch.eye(2)
    >>> margin_logits(f, w, torch.tensor([0]), torch.tensor([1])).tolist()
    [[1.0, 1.0]]
    >>> # theta_y = pi/4, m = 2: psi = cos(pi/2) = 0
    >>> [round(v, 4) for v in margin_logits(f, w, torch.tensor([0]), 2)[0].tolist()]
    [0.0, 1.0]
    """
    _check_margin_type(margin_type)
    cos, feature_norm, weight_norm = cosine_and_norms(features, weight, eps=eps)
    factor = logit_scale(feature_norm, weight_norm, margin_type, scale)
    factor = torch.broadcast_to(factor, cos.shape)
    if margin_type == "large_margin":
        logits = project(features, weight)
    else:
        logits = factor * cos
    if margins is None:
        margins = 1
    margins = torch.broadcast_to(
        torch.as_tensor(margins, device=cos.device).long(), targets.shape
    )
    index = targets.unsqueeze(-1)
    cos_y = cos.gather(-1, index).squeeze(-1)
    value = target_angular_value(
        cos_y,
        margins,
        margin_type,
        cosface_step=cosface_step,
        arcface_step=arcface_step,
        softmax_weight=softmax_weight,
    )
    if target_offset is not None:
        value = value - target_offset
    target_logit = factor.gather(-1, index).squeeze(-1) * value
    return logits.scatter(-1, index, target_logit.unsqueeze(-1).to(logits.dtype))


def large_margin_loss(features, weight, targets, margins=None, **kwargs):
    """Per-sample cross-entropy of :func:`margin_logits`.

    With every margin 1 (and no ``target_offset``) it is the cross-entropy of
    :func:`plain_logits` for the chosen family.

    Parameters
    ----------
    features : Tensor of shape (B, D) or (B, T, D)
    weight : Tensor of shape (C, D) or (T, C, D)
    targets : LongTensor of shape (B,) or (B, T)
    margins : LongTensor of shape (B,) or (B, T), or int, or None
        Integer margin of each sample.
    **kwargs
        Passed to :func:`margin_logits` (``margin_type``, ``scale``, ...).

    Returns
    -------
    Tensor of shape (B,) or (B, T)
        ``-log softmax(margin_logits)[y]`` per sample (and task).

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 10.
    .. [2] W. Liu et al., "Large-Margin Softmax Loss for Convolutional Neural
       Networks", ICML 2016.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.large_margin import large_margin_loss
    >>> f, w, y = torch.tensor([[1.0, 1.0]]), torch.eye(2), torch.tensor([0])
    >>> round(float(large_margin_loss(f, w, y)[0]), 4)  # log 2
    0.6931
    >>> round(float(large_margin_loss(f, w, y, 2)[0]), 4)  # stricter
    1.3133
    """
    logits = margin_logits(features, weight, targets, margins, **kwargs)
    return F.cross_entropy(logits.movedim(-1, 1), targets, reduction="none")
