"""Uncertainty-driven max-margin loss with sample-level uncertainty modelling.

Khan et al. (2019) combine two terms:

Class level (Sec. 4)
    Every sample of class ``y`` is trained with the margin ``m_y`` derived from
    the class's uncertainty (:mod:`skimbalance.uncertainty.class_margins`) in one
    of the angular-margin softmax families of
    :mod:`skimbalance.losses.large_margin`.
Sample level (Sec. 5)
    A sample's feature is a Gaussian ``f ~ N(mu_f, Sigma_f)`` estimated by MC
    dropout: ``Sigma_f`` is its diagonal (``covariance="diagonal"``) or the
    full covariance of the ``N`` stored passes (``covariance="full"``, from
    the centred passes, a rank-``N`` factor). The error ``E(f) = w_j^T f - w_y^T f`` is a
    univariate Gaussian with ``mu_E = (w_j - w_y)^T mu_f`` and
    ``sigma_E^2 = (w_j - w_y)^T Sigma_f (w_j - w_y)`` (Eq. 13), and its CCDF at
    0, ``F_E(0) = P(E(f) > 0) = Phi(mu_E / sigma_E)`` (Eq. 14), is the
    probability that the sample's distribution is misclassified into ``j``. Of
    the ``C - 1`` rivals this module uses the most probable confusion,
    ``F = max_{j != y} F_E,j(0)``.

How ``F`` enters the loss
    Eq. 15 multiplies the true-class ``psi`` by ``F``. Taken literally this
    contradicts the paper's own statements: a confident sample (``F ~ 0``)
    would get the logit 0 instead of its softmax logit, and since ``psi`` is
    negative for ``theta > pi / (2m)``, multiplying it by ``F < 1`` *raises*
    the true-class logit (a looser constraint). The stated intent is (i) the
    loss equals the softmax loss when the uncertainty is zero and ``m = 1`` and
    (ii) a higher uncertainty means a stricter margin. This module keeps both by
    making ``F`` an additive, uncertainty-weighted margin on the true class::

        psi'(theta_y) = psi_m(theta_y) - lambda * F,   logit_y = scale_y * psi'

    with ``lambda = sample_margin`` (the extra margin, in cosine units, of a
    sample that is surely misclassified). Properties (tested):

    * ``F = 0`` (no probability of misclassification) gives exactly the
      class-level loss, hence the softmax loss when ``m = 1``. With zero feature
      variance ``F`` is the 0/1 indicator that the mean feature is misclassified
      (0.5 on the boundary); no division by zero occurs and no gradient flows
      through ``F`` there. So zero uncertainty and ``m = 1`` give the softmax
      loss on every sample its mean feature classifies correctly.
    * For a sample whose mean is classified correctly (``mu_E < 0``), ``F``
      grows with ``sigma_E``: a more uncertain sample gets a stricter margin and
      a larger loss. A sample whose mean is misclassified has ``F >= 0.5``, more
      than any correctly classified sample (the paper's "SUM penalises hard
      examples", Sec. 6.2).
    * ``F`` is differentiable in the class vectors, so the term also moves the
      boundary away from the sample's distribution (its second moment).

The error uses the class vectors as the family's logits do: raw ``W`` for
``"large_margin"``, row-normalised ``W`` otherwise (for the cosine families the
sign of ``E`` is the classification decision, as their logits are monotone in
``w_hat^T f``).
"""

import torch
from torch.nn import functional as F

from .large_margin import (
    _EPS,
    _check_margin_type,
    _norms,
    margin_logits,
    plain_logits,
    target_rows,
)

_VAR_EPS = 1e-12


def _family_weight(weight, margin_type, eps=_EPS):
    if margin_type == "large_margin":
        return weight
    return weight / _norms(weight, eps).unsqueeze(-1)


def _project(features, weight):
    """:func:`~skimbalance.losses.large_margin.project` as one product per task.

    ``w_c^T f`` for every sample and class as a ``(B, D) x (D, C)`` matrix
    product per task, where a broadcast ``matmul`` of ``(B, T, 1, D)`` rows
    runs ``B T`` products of one row each (and sums an expanded weight in
    the backward pass).
    """
    if weight.dim() == 2:
        return features @ weight.transpose(0, 1)
    if features.dim() == 2:
        features = features.unsqueeze(1)
    features = features.expand(-1, weight.shape[0], -1)
    return torch.einsum("btd,tcd->btc", features, weight)


def _wide_dtype(device):
    """float64 where the device has it (not on Apple's MPS), else float32."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def error_moments(feature_mean, feature_var, weight, targets):
    """Mean and variance of ``E_j(f) = w_j^T f - w_y^T f`` for every class ``j``.

    Eq. 13 with a diagonal feature covariance, computed without forming any
    ``(B, C, D)`` tensor: ``sigma_E^2 = v.(w_j^2) - 2 (w_y v).w_j + v.(w_y^2)``.

    Parameters
    ----------
    feature_mean : Tensor of shape (B, D) or (B, T, D)
        ``mu_f``.
    feature_var : Tensor of the same shape
        Diagonal of ``Sigma_f`` (non-negative).
    weight : Tensor of shape (C, D) or (T, C, D)
        Class vectors.
    targets : LongTensor of shape (B,) or (B, T)

    Returns
    -------
    mu_e, var_e : Tensor of shape (B, C) or (B, T, C)
        Both 0 in the true-class column; ``var_e >= 0``.

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 12-13.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.uncertainty_margin import error_moments
    >>> mu, var = error_moments(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 2.0]]),
    ...                         torch.eye(2), torch.tensor([0]))
    >>> mu.tolist(), var.tolist()  # w_1 - w_0 = (-1, 1): var = 0.5 + 2
    ([[0.0, -1.0]], [[0.0, 2.5]])
    """
    w_y = target_rows(weight, targets)
    index = targets.unsqueeze(-1)
    scores = _project(feature_mean, weight)
    mu_e = scores - scores.gather(-1, index)
    if weight.dim() == 3 and feature_var.dim() == 2:
        feature_var = feature_var.unsqueeze(1)
    var_e = (
        _project(feature_var, weight * weight)
        - 2.0 * _project(w_y * feature_var, weight)
        + (w_y * w_y * feature_var).sum(-1, keepdim=True)
    )
    var_e = var_e.clamp_min(0.0).scatter(-1, index, 0.0)
    return mu_e, var_e


def error_moments_from_passes(feature_mean, feature_deviations, weight, targets):
    """Eq. 13 with the full feature covariance of the ``N`` MC passes.

    ``Sigma_f = (1/N) sum_i d_i d_i^T`` with the centred passes
    ``d_i = f_i - mu_f``, so ``sigma_E^2 = (1/N) sum_i ((w_j - w_y)^T d_i)^2``:
    computed from the ``N`` projections ``W d_i`` without forming any
    ``D x D`` matrix (cost ``B N C D``, the same as one forward pass of the
    head over the passes).

    Parameters
    ----------
    feature_mean : Tensor of shape (B, D) or (B, T, D)
        ``mu_f``.
    feature_deviations : Tensor of shape (B, N, D) or (B, N, T, D)
        The centred passes ``d_i`` of every sample
        (:attr:`~skimbalance.uncertainty.mc_dropout.MCDropoutStatistics.feature_deviations`).
    weight : Tensor of shape (C, D) or (T, C, D)
    targets : LongTensor of shape (B,) or (B, T)

    Returns
    -------
    mu_e, var_e : Tensor of shape (B, C) or (B, T, C)
        Both 0 in the true-class column.

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 12-13.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.uncertainty_margin import error_moments_from_passes
    >>> dev = torch.tensor([[[1.0, 1.0], [-1.0, -1.0]]])  # perfectly correlated
    >>> mu, var = error_moments_from_passes(torch.tensor([[1.0, 0.0]]), dev,
    ...                                     torch.eye(2), torch.tensor([0]))
    >>> var.tolist()  # (w_1 - w_0)^T d = 0 on both passes (diagonal: 2.0)
    [[0.0, 0.0]]
    """
    index = targets.unsqueeze(-1)
    scores = _project(feature_mean, weight)
    mu_e = scores - scores.gather(-1, index)
    n, n_passes = feature_deviations.shape[:2]
    flat = feature_deviations.reshape(n * n_passes, *feature_deviations.shape[2:])
    proj = _project(flat, weight)
    proj = proj.reshape(n, n_passes, *proj.shape[1:])  # (B, N, [T,] C)
    pass_index = index.unsqueeze(1).expand(*proj.shape[:-1], 1)
    diff = proj - proj.gather(-1, pass_index)
    var_e = (diff * diff).mean(dim=1)
    return mu_e, var_e.scatter(-1, index, 0.0)


def misclassification_probability(
    feature_mean,
    feature_var,
    weight,
    targets,
    *,
    margin_type="large_margin",
    covariance="diagonal",
):
    """CCDF ``F_E(0)`` of the error at 0 for the most probable confusion.

    ``F = max_{j != y} Phi(mu_E,j / sigma_E,j)`` (Eq. 14), with the class
    vectors of the family (raw for ``"large_margin"``, normalised otherwise),
    computed in float64 (float32 on MPS) so that the moments of any finite
    float32 features stay finite; the result has the dtype of ``weight``.
    Where ``sigma_E = 0`` the CCDF is the step ``1[mu_E > 0]`` (0.5 at 0),
    computed without dividing by zero and without gradient.

    Parameters
    ----------
    feature_mean : Tensor of shape (B, D) or (B, T, D)
        MC-dropout mean of each sample's features.
    feature_var : Tensor
        With ``covariance="diagonal"``, the per-dimension variance, shaped
        like ``feature_mean``; with ``"full"``, the centred passes, of shape
        (B, N, D) or (B, N, T, D) (:func:`error_moments_from_passes`).
    weight : Tensor of shape (C, D) or (T, C, D)
    targets : LongTensor of shape (B,) or (B, T)
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    covariance : {"diagonal", "full"}, default="diagonal"
        Which ``Sigma_f`` of Eq. 13 ``feature_var`` describes.

    Returns
    -------
    Tensor of shape (B,) or (B, T), values in ``[0, 1]`` (0 when ``C = 1``)

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 14.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.uncertainty_margin import misclassification_probability
    >>> mean, w, y = torch.tensor([[1.0, 0.0]]), torch.eye(2), torch.tensor([0])
    >>> round(float(misclassification_probability(mean, torch.zeros(1, 2), w, y)), 4)
    0.0
    >>> round(float(misclassification_probability(mean, torch.ones(1, 2), w, y)), 4)
    0.2398
    """
    _check_margin_type(margin_type)
    # In float64: the variance of float32 features (up to ~1e77) and the error
    # moments overflow float32 long before the features do.
    wide = _wide_dtype(weight.device)
    w = _family_weight(weight, margin_type).to(wide)
    if covariance == "diagonal":
        moments = error_moments
    elif covariance == "full":
        moments = error_moments_from_passes
    else:
        raise ValueError(
            f"covariance must be 'diagonal' or 'full', got {covariance!r}."
        )
    mu_e, var_e = moments(feature_mean.to(wide), feature_var.to(wide), w, targets)
    positive = var_e > _VAR_EPS
    safe_sigma = torch.sqrt(torch.where(positive, var_e, torch.ones_like(var_e)))
    step = torch.sign(mu_e.detach()) * float("inf")
    step = torch.nan_to_num(step, nan=0.0)  # sign 0 * inf = nan -> z = 0
    z = torch.where(positive, mu_e / safe_sigma, step)
    z = z.scatter(-1, targets.unsqueeze(-1), float("-inf"))
    return torch.special.ndtr(z.amax(dim=-1)).to(weight.dtype)


def _class_margins_per_sample(margins, targets):
    margins = torch.as_tensor(margins, device=targets.device).long()
    if margins.dim() == 0:
        return torch.broadcast_to(margins, targets.shape)
    if margins.dim() == 1:
        return margins[targets]
    tasks = torch.arange(margins.shape[0], device=targets.device)
    return margins[tasks.unsqueeze(0), targets]


def uncertainty_margin_loss(
    features,
    weight,
    targets,
    margins=None,
    *,
    margin_type="large_margin",
    sample_stats=None,
    sample_margin=0.5,
    scale=30.0,
    cosface_step=0.175,
    arcface_step=0.2,
    softmax_weight=0.0,
    sample_covariance="diagonal",
    misclassification=None,
):
    """Per-sample uncertainty-driven max-margin loss (class + sample level).

    ``-log softmax(logits)[y]`` where the true-class logit is
    ``scale_y * (psi_{m_y}(theta_y) - sample_margin * F)`` (module docstring):
    ``m_y`` is the sample's class margin and ``F`` the misclassification
    probability of its MC-dropout feature distribution (0 when
    ``sample_stats`` is None, i.e. class level only).

    Parameters
    ----------
    features : Tensor of shape (B, D) or (B, T, D)
        Features of the current forward pass.
    weight : Tensor of shape (C, D) or (T, C, D)
        Class vectors (the last layer, no bias).
    targets : LongTensor of shape (B,) or (B, T)
    margins : LongTensor of shape (C,) or (T, C), or int, or None
        Integer CLASS margins ``>= 1``; each sample takes its class's. None
        means 1 (plain softmax of the family).
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
        Margin family, see :mod:`skimbalance.losses.large_margin`.
    sample_stats : tuple (feature_mean, feature_var) or None
        MC-dropout mean of each sample's features, shaped like ``features``,
        and their diagonal variance (same shape) or, with
        ``sample_covariance="full"``, their centred passes (B, N, [T,] D);
        None switches the sample-level term off.
    sample_margin : float, default=0.5
        ``lambda``: the extra margin (cosine units) of a surely misclassified
        sample.
    scale : float, default=30
        Scale ``s`` of ``"cosface"`` and ``"arcface"``.
    cosface_step, arcface_step : float
        Additive margin per unit of ``m`` above 1, see
        :func:`skimbalance.losses.large_margin.margin_value`.
    softmax_weight : float, default=0
        L-softmax/SphereFace annealing ``lambda`` (0 = pure margin).
    sample_covariance : {"diagonal", "full"}, default="diagonal"
        ``Sigma_f`` of Eq. 13, see :func:`misclassification_probability`.
    misclassification : Tensor of shape (B,) or (B, T), or None
        ``F`` already computed from ``sample_stats`` by
        :func:`misclassification_probability` (e.g. by a caller that also
        logs it), used as it is; None computes it.

    Returns
    -------
    Tensor of shape (B,) or (B, T)
        Per-sample loss, for the caller to weight and average.

    References
    ----------
    .. [1] S. Khan, M. Hayat, S. W. Zamir, J. Shen and L. Shao, "Striking the
       Right Balance with Uncertainty", CVPR 2019, Eq. 10-15.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.uncertainty_margin import uncertainty_margin_loss
    >>> f, w, y = torch.tensor([[2.0, 1.0]]), torch.eye(2), torch.tensor([0])
    >>> round(float(uncertainty_margin_loss(f, w, y)[0]), 4)  # softmax of W f
    0.3133
    >>> stats = (f, torch.ones(1, 2))
    >>> round(float(uncertainty_margin_loss(f, w, y, sample_stats=stats)[0]), 4)
    0.3927
    """
    _check_margin_type(margin_type)
    if margins is None and (sample_stats is None or not sample_margin):
        # Neutral margins, no sample term: the family's plain softmax.
        logits = plain_logits(features, weight, margin_type=margin_type, scale=scale)
        return F.cross_entropy(logits.movedim(-1, 1), targets, reduction="none")
    per_sample_margins = _class_margins_per_sample(
        1 if margins is None else margins, targets
    )
    offset = None
    if sample_stats is not None and sample_margin:
        prob = misclassification
        if prob is None:
            feature_mean, feature_var = sample_stats
            prob = misclassification_probability(
                feature_mean,
                feature_var,
                weight,
                targets,
                margin_type=margin_type,
                covariance=sample_covariance,
            )
        offset = sample_margin * prob
    logits = margin_logits(
        features,
        weight,
        targets,
        per_sample_margins,
        margin_type=margin_type,
        scale=scale,
        cosface_step=cosface_step,
        arcface_step=arcface_step,
        softmax_weight=softmax_weight,
        target_offset=offset,
    )
    return F.cross_entropy(logits.movedim(-1, 1), targets, reduction="none")
