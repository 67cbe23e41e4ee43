"""Bayesian uncertainty by Monte Carlo dropout (Khan et al. 2019, Sec. 3).

``N`` stochastic forward passes with dropout on sample ``N`` sub-networks of the
ensemble of Eq. 6; the mean of their outputs is the MC estimate of the
predictive mean and their variance the data-dependent part of the predictive
covariance of Eq. 7 (the constant ``tau^-1 I`` term is the same for every
sample and is left out). The same passes give the mean and the (diagonal)
variance of the features, which the sample-level term of
:mod:`skimbalance.losses.uncertainty_margin` models as a Gaussian (Sec. 5).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from .._arrays import rows_as_tensor

DROPOUT_TYPES = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
"""Modules switched to training mode during the MC passes."""


@dataclass
class MCDropoutStatistics:
    """Per-sample moments of ``N`` MC-dropout passes.

    Attributes
    ----------
    prob_mean, prob_var : Tensor of shape (n, ..., C)
        Mean and variance (over the passes, ``1/N`` normalised as in Eq. 7) of
        the predicted class probabilities.
    feature_mean, feature_var : Tensor of shape (n, ..., D) or None
        Mean and per-dimension variance of the features (a diagonal
        covariance ``Sigma_f``). The mean has the features' dtype; the
        variance is float64 (float32 on MPS, which has no float64), as the
        variance of large float32 features overflows float32. None with
        ``feature_moments=False``.
    feature_deviations : Tensor of shape (n, N, ..., D) or None
        With ``keep_passes=True``: each pass's features minus their mean, in
        the features' dtype. They are an exact rank-``N`` factor of the full
        feature covariance, ``Sigma_f = (1/N) sum_i d_i d_i^T``; None
        otherwise.
    """

    prob_mean: torch.Tensor
    prob_var: torch.Tensor
    feature_mean: torch.Tensor | None = None
    feature_var: torch.Tensor | None = None
    feature_deviations: torch.Tensor | None = None

    @property
    def uncertainty(self):
        """Per-sample predictive uncertainty, see :func:`predictive_uncertainty`."""
        return predictive_uncertainty(self.prob_var)


def predictive_uncertainty(prob_var):
    """Scalar predictive uncertainty of each sample: the trace of Eq. 7.

    ``u = sum_c Var_q[p_c]``, the total variance of the class probabilities over
    the MC passes (the trace of the covariance of Eq. 7 without the constant
    ``tau^-1`` term). It is 0 when every pass predicts the same probabilities
    and at most ``1 - 1/C`` (``Var[p_c] <= E[p_c] (1 - E[p_c])``).

    Parameters
    ----------
    prob_var : Tensor of shape (n, ..., C)
        Per-class probability variance from :func:`mc_dropout_statistics`.

    Returns
    -------
    Tensor of shape (n, ...)

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 7.
    .. [2] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation:
       Representing Model Uncertainty in Deep Learning", ICML 2016.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.uncertainty.mc_dropout import predictive_uncertainty
    >>> u = predictive_uncertainty(torch.tensor([[0.1, 0.1], [0.0, 0.0]]))
    >>> [round(v, 4) for v in u.tolist()]
    [0.2, 0.0]
    """
    return prob_var.sum(dim=-1)


def _dropout_modules(model):
    if not isinstance(model, nn.Module):
        return []
    return [mod for mod in model.modules() if isinstance(mod, DROPOUT_TYPES)]


# --------------------------------------------------------------- keyed masks
# A counter-based generator: every dropout decision is a hash of (seed, the
# row's content, the pass, the dropout call, the unit), so a row's masks do not
# depend on its position or on the rows predicted with it, and are the same on
# every device. The hash is splitmix64's finaliser on int64 tensors
# (multiplication wraps modulo 2^64; right shifts are made logical by masking).
_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed int64
_MIX_1 = -4658895280553007687  # 0xBF58476D1CE4E5B9
_MIX_2 = -7723592293110705685  # 0x94D049BB133111EB
_FEATURE_DROPOUT = (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.FeatureAlphaDropout)
_ALPHA_DROPOUT = (nn.AlphaDropout, nn.FeatureAlphaDropout)
_SELU_ALPHA = 1.7580993408473766  # -alpha' of alpha dropout (SELU's scale * alpha)


def _shift(x, bits):
    """Logical right shift of an int64 tensor."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _mix(x):
    """splitmix64's finaliser: a bijective, well-mixed hash of int64 values."""
    x = x ^ _shift(x, 30)
    x = x * _MIX_1
    x = x ^ _shift(x, 27)
    x = x * _MIX_2
    return x ^ _shift(x, 31)


def row_keys(X, seed):
    """A 64-bit key per row: a hash of ``seed`` and the row's values.

    Two rows get the same key exactly when they hold the same values (``-0.0``
    and ``0.0`` count as equal), up to hash collisions (probability about
    ``n^2 / 2^65``).

    Parameters
    ----------
    X : Tensor of shape (n, ...)
        Rows; float64 is hashed as it is, any other dtype as float32.
    seed : int
        Seed mixed into every key.

    Returns
    -------
    LongTensor of shape (n,)

    Examples
    --------
    >>> import torch
    >>> from skimbalance.uncertainty.mc_dropout import row_keys
    >>> keys = row_keys(torch.tensor([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]]), seed=0)
    >>> bool(keys[0] == keys[2]), bool(keys[0] == keys[1])
    (True, False)
    """
    x = X.reshape(X.shape[0], -1)
    if x.dtype == torch.float64:
        words = (x + 0.0).contiguous().view(torch.int64)
    else:
        words = (x.float() + 0.0).contiguous().view(torch.int32).long() & 0xFFFFFFFF
    salt = _mix(torch.tensor(int(seed) & (2**63 - 1), device=x.device))
    columns = _mix(torch.arange(x.shape[1], device=x.device) * _GOLDEN + salt)
    return _mix(_mix(words ^ columns).sum(dim=1) + salt)


def _keyed_dropout(x, keys, salt, module):
    """What ``module`` (a dropout) does in training mode, with hashed masks."""
    p = float(module.p)
    if p <= 0:
        return x
    if p >= 1:
        return x * 0.0
    n_rows = x.shape[0]
    if x.shape[0] != keys.shape[0]:
        raise RuntimeError(
            "Keyed MC dropout needs every dropout module to see the batch on its "
            f"first axis: {type(module).__name__} got {x.shape[0]} rows for "
            f"{keys.shape[0]} keys."
        )
    if isinstance(module, _FEATURE_DROPOUT) and x.dim() > 2:
        mask_shape = (n_rows, x.shape[1]) + (1,) * (x.dim() - 2)
    else:
        mask_shape = tuple(x.shape)
    n_units = math.prod(mask_shape[1:])
    units = torch.arange(n_units, device=x.device) * _GOLDEN
    hashed = _mix(_mix(keys ^ salt).unsqueeze(1) + units)
    # The top 53 bits are a uniform draw in [0, 2^53): keep with probability 1 - p.
    keep = (_shift(hashed, 11) >= int(p * 2**53)).reshape(mask_shape).to(x.dtype)
    if isinstance(module, _ALPHA_DROPOUT):  # as torch's alpha dropout
        a = 1.0 / math.sqrt((_SELU_ALPHA**2 * p + 1) * (1 - p))
        return x * keep * a + (keep - 1.0) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p
    return x * keep / (1.0 - p)


class _KeyedMasks:
    """Forward hooks that replace the dropout of ``model`` by keyed masks."""

    def __init__(self, model):
        self.keys = None
        self.calls = {}
        self.handles = [
            mod.register_forward_hook(self._hook(number))
            for number, mod in enumerate(_dropout_modules(model))
        ]

    def _hook(self, number):
        def hook(module, inputs, output):
            call = self.calls.get(number, 0)
            self.calls[number] = call + 1
            salt = _mix(
                torch.tensor((number + 1) * 65536 + call, device=output.device)
                * _GOLDEN
            )
            return _keyed_dropout(output, self.keys.to(output.device), salt, module)

        return hook

    def set_keys(self, keys):
        self.keys = keys
        self.calls = {}

    def remove(self):
        for handle in self.handles:
            handle.remove()


# Modules that, in evaluation mode, map each row on its own and draw nothing:
# the leading run of them in a backbone gives the same rows whether it runs
# before or after the MC repetition, so it runs once per chunk.
_ROWWISE_DETERMINISTIC = (
    nn.Linear,
    nn.Identity,
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.LayerNorm,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
)


def _no_hooks(module):
    return not (
        module._forward_hooks
        or module._forward_pre_hooks
        or getattr(module, "_forward_hooks_with_kwargs", None)
    )


def _split_forward(model):
    """``(prefix, rest)`` of a :class:`~skimbalance.modules.MultiTaskNet`, or None.

    ``prefix`` runs the leading modules of its ``nn.Sequential`` backbone that
    are row-wise and deterministic in evaluation mode (no dropout among them,
    no hooks), ``rest`` the remaining backbone, the embedding and the head, so
    that ``rest(prefix(x).repeat(N))`` is ``model(x.repeat(N))`` with the
    prefix computed once instead of ``N`` times. The dropout modules are all
    in ``rest`` and see the same shapes in the same order, so they draw the
    same masks. None when the model is not of that form (it then runs whole).
    """
    from ..modules import MultiTaskNet  # pure torch; imported late (no cycle)

    if type(model) is not MultiTaskNet or not isinstance(model.backbone, nn.Sequential):
        return None
    backbone = model.backbone
    if type(backbone).forward is not nn.Sequential.forward or not (
        _no_hooks(model) and _no_hooks(backbone)
    ):
        return None
    children = list(backbone)
    n_prefix = 0
    for child in children:
        if not (
            isinstance(child, _ROWWISE_DETERMINISTIC)
            and not any(isinstance(m, DROPOUT_TYPES) for m in child.modules())
            and all(_no_hooks(m) for m in child.modules())
        ):
            break
        n_prefix += 1
    if n_prefix == 0:
        return None
    head_modules, tail_modules = children[:n_prefix], children[n_prefix:]

    def prefix(data):
        if model.input_shape is not None:
            data = data.reshape(data.shape[0], *model.input_shape)
        for module in head_modules:
            data = module(data)
        return data

    def rest(hidden):
        for module in tail_modules:
            hidden = module(hidden)
        embedding = model.embedding(hidden.flatten(1))
        return model.head(embedding), embedding

    return prefix, rest


def _to_probabilities(logits, activation):
    if activation == "softmax":
        return torch.softmax(logits, dim=-1)
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    if activation is None:
        return logits
    if callable(activation):
        return activation(logits)
    raise ValueError(
        "activation must be 'softmax', 'sigmoid', None or a callable, "
        f"got {activation!r}."
    )


def mc_dropout_statistics(
    model,
    X,
    *,
    n_samples=10,
    batch_size=256,
    activation="softmax",
    device=None,
    seed=None,
    keep_passes=False,
    feature_moments=True,
    compact_variance=False,
):
    """Mean and variance of predictions and features over ``N`` dropout passes.

    The data are streamed in chunks of ``batch_size`` samples; each chunk is
    repeated ``n_samples`` times along the batch axis and sent through the model
    in ONE forward pass, so every copy draws its own dropout masks (independent
    sub-networks, Eq. 6) and the passes are vectorised. The moments of a chunk
    are written into arrays allocated once for all ``n`` samples, so the memory
    is that of the results (``O(n (C + D))``, ``O(n N D)`` more with
    ``keep_passes``) plus one chunk's activations (``O(batch_size N width)``),
    whatever ``n``. For a :class:`~skimbalance.modules.MultiTaskNet` whose
    backbone is an ``nn.Sequential``, the leading layers before the first
    dropout (row-wise and deterministic in evaluation mode: ``Linear``,
    activations, normalisations, convolutions) run once per chunk and only the
    rest once per pass; the results are the same. Runs under
    ``torch.no_grad``. When ``model`` is an ``nn.Module`` it is put in
    evaluation mode with only its dropout modules in training mode (batch-norm
    statistics are neither used per batch nor updated), and every submodule's
    mode is restored afterwards, also on error.

    Parameters
    ----------
    model : nn.Module or callable
        Maps a batch ``(b, ...)`` to ``(logits, features, ...)`` with shapes
        ``(b, ..., C)`` and ``(b, ..., D)``. A plain callable is responsible for
        its own stochasticity.
    X : Tensor of shape (n, ...)
        Inputs.
    n_samples : int, default=10
        Number of stochastic passes ``N`` (the paper's choice).
    batch_size : int, default=256
        Samples per chunk (the forward pass sees ``batch_size * n_samples`` rows).
        With ``seed=None`` the chunks decide how torch's random stream is cut
        into masks, so the same ``batch_size`` gives the same results.
    activation : {"softmax", "sigmoid"}, None or callable, default="softmax"
        Maps logits to the predictions whose moments are taken (softmax over
        the last axis).
    device : torch.device or str or None
        Device of the forward passes; defaults to the model's (first parameter)
        device, else that of ``X``. Results stay on it.
    seed : int or None, default=None
        None: the dropout modules draw their masks from torch's random stream
        (seed it with ``torch.manual_seed``), so a row's masks depend on its
        position among the rows. An int: every mask entry is a hash of
        ``seed``, the row's values (:func:`row_keys`), the pass, the dropout
        call and the unit, drawn with the module's own rule (elementwise,
        channel-wise for ``Dropout1d/2d/3d``, alpha dropout): a row's result
        then depends only on its content and ``seed``, not on its position, on
        the other rows or on ``batch_size`` or the device, and torch's random
        state is not used. Needs ``model`` to be an ``nn.Module`` whose dropout
        modules see the batch on their first axis.
    keep_passes : bool, default=False
        Also return every pass's centred features
        (:attr:`MCDropoutStatistics.feature_deviations`, ``N`` times the
        memory of the mean), from which the full feature covariance of the
        sample-level term (Eq. 13) is computed.
    feature_moments : bool, default=True
        Whether to return the feature moments; False returns the prediction
        moments only (``feature_mean`` and ``feature_var`` None), which is all
        the class uncertainties need, at ``O(n C)`` memory. The masks drawn
        are the same either way.
    compact_variance : bool, default=False
        If True, ``feature_var`` is stored in float32 (half the memory of
        float64, rounded to float32's 7 digits) unless one of its values
        exceeds float32's range, in which case the whole of it is float64 as
        by default.

    Returns
    -------
    MCDropoutStatistics

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Sec. 3, Eq. 6-7.
    .. [2] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation:
       Representing Model Uncertainty in Deep Learning", ICML 2016.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skimbalance.uncertainty.mc_dropout import mc_dropout_statistics
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5))
    ...         self.head = nn.Linear(8, 3)
    ...     def forward(self, x):
    ...         f = self.body(x)
    ...         return self.head(f), f
    >>> _ = torch.manual_seed(0)
    >>> stats = mc_dropout_statistics(Net().eval(), torch.randn(5, 4), n_samples=10)
    >>> tuple(stats.prob_mean.shape), tuple(stats.feature_var.shape)
    ((5, 3), (5, 8))
    >>> bool((stats.uncertainty > 0).all())
    True
    >>> light = mc_dropout_statistics(Net(), torch.randn(5, 4), feature_moments=False)
    >>> light.feature_mean is None, tuple(light.prob_var.shape)
    (True, (5, 3))
    """
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}.")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if keep_passes and not feature_moments:
        raise ValueError("keep_passes=True needs feature_moments=True.")
    if device is None:
        param = next(model.parameters(), None) if isinstance(model, nn.Module) else None
        device = param.device if param is not None else X.device
    is_module = isinstance(model, nn.Module)
    if seed is not None and not is_module:
        raise ValueError("seed needs model to be an nn.Module (keyed dropout masks).")
    n = X.shape[0]
    if n == 0:
        raise ValueError("X holds no samples.")
    # The feature variance of float32 features can exceed float32's range (an
    # entry of 1e20 is enough): it is kept in float64 where the device has it.
    wide = torch.float32 if torch.device(device).type == "mps" else torch.float64
    modes = [(mod, mod.training) for mod in model.modules()] if is_module else []
    split = _split_forward(model) if is_module else None
    out = {}  # the results, allocated at the first chunk and filled in place
    masks = None
    try:
        if is_module:
            model.eval()
            if seed is None:
                for mod in _dropout_modules(model):
                    mod.train()
            else:  # dropout modules stay in eval mode; hooks apply keyed masks
                masks = _KeyedMasks(model)
        with torch.no_grad():
            for start in range(0, n, batch_size):
                chunk = rows_as_tensor(X[start : start + batch_size], device=device)
                b = chunk.shape[0]
                stop = start + b
                if masks is not None:  # pass-major, as the repeated rows
                    passes = torch.arange(1, n_samples + 1, device=chunk.device)
                    keys = row_keys(chunk, seed).unsqueeze(0) + (
                        passes * _GOLDEN
                    ).unsqueeze(1)
                    masks.set_keys(_mix(keys).reshape(-1))
                if split is not None:
                    hidden = split[0](chunk)
                    repeated = hidden.repeat(n_samples, *([1] * (hidden.dim() - 1)))
                    out_model = split[1](repeated)
                else:
                    repeated = chunk.repeat(n_samples, *([1] * (chunk.dim() - 1)))
                    out_model = model(repeated)
                logits, features = out_model[0], out_model[1]
                probs = _to_probabilities(logits, activation)
                probs = probs.reshape(n_samples, b, *probs.shape[1:])
                pv, pm = torch.var_mean(probs, dim=0, correction=0)
                _store(out, "prob_mean", pm, n, start, stop)
                _store(out, "prob_var", pv, n, start, stop)
                if not feature_moments:
                    continue
                features = features.reshape(n_samples, b, *features.shape[1:])
                fv, fm = torch.var_mean(features.to(wide), dim=0, correction=0)
                if keep_passes:  # (b, N, ..., D): centred passes, sample-major
                    dev = (features.to(wide) - fm).to(features.dtype)
                    _store(out, "feature_deviations", dev.movedim(0, 1), n, start, stop)
                _store(out, "feature_mean", fm.to(features.dtype), n, start, stop)
                if compact_variance:
                    fv = _compact(out, fv)
                _store(out, "feature_var", fv, n, start, stop)
    finally:
        if masks is not None:
            masks.remove()
        for mod, mode in modes:
            mod.training = mode
    return MCDropoutStatistics(**out)


def _compact(out, variance):
    """``variance`` in float32 while every value so far fits, else in float64."""
    stored = out.get("feature_var")
    if stored is not None and stored.dtype != torch.float32:
        return variance
    if variance.dtype == torch.float32 or bool(
        (variance <= torch.finfo(torch.float32).max).all()
    ):
        return variance.float()
    if stored is not None:  # a value beyond float32: widen what is stored
        out["feature_var"] = stored.to(variance.dtype)
    return variance


def _store(out, name, value, n, start, stop):
    """Write one chunk's ``value`` into ``out[name]``, allocated for ``n`` rows."""
    if name not in out:
        out[name] = torch.empty(
            (n, *value.shape[1:]), dtype=value.dtype, device=value.device
        )
    out[name][start:stop] = value
