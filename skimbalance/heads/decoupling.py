"""Decoupled classifier learning for long-tailed data (Kang et al., ICLR 2020).

A network trained with instance-balanced sampling learns good features but a
biased last layer: the weight vectors of the frequent classes have larger
norms, so their logits win. Kang et al. keep the features and re-balance the
classifier only:

* **cRT** (classifier re-training): a re-initialised linear head trained a few
  epochs with class-balanced sampling on the frozen embeddings
  (:func:`retrain_linear_head`, or :func:`retrain_head` for any head);
* **τ-normalisation**: every class's weight vector divided by its norm to the
  power ``τ`` (:func:`tau_normalize`), no training at all;
* **LWS** (learnable weight scaling): one learnt scale per class on the frozen
  head (:class:`LearnableWeightScaling`, trained with :func:`retrain_head`).

**MaxNorm** (Alshammari et al., CVPR 2022) keeps the classes' weight norms
balanced while training: after every optimizer step each class's weight vector
is projected onto the ball of radius ``δ`` (:func:`project_max_norm_`).

Weights are arrays of class vectors along one axis, ``dim``: ``-1`` for a
:class:`torch.nn.Linear` (``weight`` of shape ``(C, D)``), ``-2`` for the
library's per-task heads (``weight`` of shape ``(T, D, C)``).
"""

import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from ..samplers.class_balanced import (
    SAMPLING_STRATEGIES,
    ClassBalancedBatchSampler,
    _as_generator,
)

__all__ = [
    "LearnableWeightScaling",
    "project_max_norm_",
    "retrain_head",
    "retrain_linear_head",
    "tau_normalize",
]


def _class_norms(weight, dim):
    """The norm of every class vector, keeping ``dim`` (size 1)."""
    return torch.linalg.vector_norm(weight, dim=dim, keepdim=True)


def tau_normalize(weight, bias=None, tau=1.0, *, dim=-1):
    """Divide every class's weight vector (and bias) by its norm to the power tau.

    ``w_j -> w_j / ||w_j|| ** tau`` and ``b_j -> b_j / ||w_j|| ** tau``: the
    logit of class ``j`` is divided by ``||w_j|| ** tau``. ``tau = 0`` is the
    identity, ``tau = 1`` gives unit-norm class vectors (a cosine classifier
    up to the embedding's norm); values in between shrink the advantage of
    the frequent classes' larger norms. Kang et al. use a head without bias
    (pass ``bias=None``). A class vector of norm 0 is left as it is.

    Parameters
    ----------
    weight : Tensor
        Class vectors along the axis ``dim`` (e.g. ``(C, D)`` with
        ``dim=-1``).
    bias : Tensor or None, default=None
        Bias of every class, the shape of ``weight`` without ``dim``.
    tau : float, default=1.0
        The exponent, ``>= 0``.
    dim : int, default=-1
        The feature axis of ``weight``.

    Returns
    -------
    weight : Tensor
        The normalised weight (a new tensor, no gradient).
    bias : Tensor or None
        The scaled bias, or None.

    References
    ----------
    .. [1] B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y.
       Kalantidis, "Decoupling Representation and Classifier for Long-Tailed
       Recognition", ICLR 2020, Sec. 4 (τ-normalized classifier).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.heads.decoupling import tau_normalize
    >>> w = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    >>> tau_normalize(w, tau=1.0)[0]
    tensor([[0.6000, 0.8000],
            [0.0000, 1.0000]])
    >>> tau_normalize(w, torch.tensor([5.0, 1.0]), tau=0.5)[1]
    tensor([2.2361, 1.0000])
    """
    if not (isinstance(tau, numbers.Real) and math.isfinite(tau) and tau >= 0):
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}.")
    with torch.no_grad():
        weight = weight.detach()
        norms = _class_norms(weight, dim)
        factor = torch.where(norms > 0, norms, torch.ones_like(norms)) ** tau
        new_weight = weight / factor
        new_bias = None
        if bias is not None:
            bias = bias.detach()
            factor = factor.squeeze(dim)
            if factor.shape != bias.shape:
                raise ValueError(
                    f"bias has shape {tuple(bias.shape)}, but weight with the "
                    f"feature axis dim={dim} has {tuple(factor.shape)} classes."
                )
            new_bias = bias / factor
    return new_weight, new_bias


def project_max_norm_(weight, max_norm, *, dim=-1):
    """Project every class vector onto the ball of radius ``max_norm``, in place.

    ``w_j -> w_j * min(1, max_norm / ||w_j||)``: a vector longer than
    ``max_norm`` is shortened to it, a shorter one is left exactly as it is.
    Call it after every optimizer step (projected gradient descent), on the
    classifier's weight.

    Parameters
    ----------
    weight : Tensor
        Class vectors along the axis ``dim`` (e.g. a
        :class:`torch.nn.Linear`'s ``weight`` with ``dim=-1``), modified in
        place (without autograd).
    max_norm : float
        The radius ``δ``, ``> 0``.
    dim : int, default=-1
        The feature axis of ``weight``.

    Returns
    -------
    weight : Tensor
        ``weight`` itself.

    References
    ----------
    .. [1] S. Alshammari, Y.-X. Wang, D. Ramanan and S. Kong, "Long-Tailed
       Recognition via Weight Balancing", CVPR 2022, Sec. 3.3 (MaxNorm).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.heads.decoupling import project_max_norm_
    >>> w = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    >>> project_max_norm_(w, 1.0)
    tensor([[0.6000, 0.8000],
            [0.3000, 0.4000]])
    """
    if not (
        isinstance(max_norm, numbers.Real) and math.isfinite(max_norm) and max_norm > 0
    ):
        raise ValueError(f"max_norm must be a finite number > 0, got {max_norm!r}.")
    with torch.no_grad():
        norms = _class_norms(weight, dim)
        factor = torch.where(
            norms > max_norm, max_norm / norms.clamp_min(max_norm), 1.0
        ).to(weight.dtype)
        weight.mul_(factor)
    return weight


class LearnableWeightScaling(nn.Module):
    """A frozen head whose logits are multiplied by one learnt scale per class.

    ``logits_j = f_j * head(x)_j`` (Kang et al.'s LWS): the head's own
    parameters are frozen (``requires_grad=False``), only the scales
    ``f`` learn. They start at 1, so the module starts as the head itself.
    Train it with class-balanced sampling (:func:`retrain_head`).

    Parameters
    ----------
    head : torch.nn.Module
        The trained classifier, mapping embeddings to logits.
    n_classes : int or tuple of int
        Shape of the scales, broadcast against the trailing axes of the
        logits: ``C`` for logits ``(B, C)``, ``(T, C)`` for ``(B, T, C)``.

    Attributes
    ----------
    scales : torch.nn.Parameter
        ``f``, of shape ``n_classes``.

    References
    ----------
    .. [1] B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y.
       Kalantidis, "Decoupling Representation and Classifier for Long-Tailed
       Recognition", ICLR 2020, Sec. 4 (learnable weight scaling).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.heads.decoupling import LearnableWeightScaling
    >>> head = torch.nn.Linear(4, 3)
    >>> lws = LearnableWeightScaling(head, 3)
    >>> x = torch.randn(5, 4)
    >>> bool(torch.equal(lws(x), head(x))), [n for n, p in lws.named_parameters()
    ...                                      if p.requires_grad]
    (True, ['scales'])
    """

    def __init__(self, head, n_classes):
        super().__init__()
        shape = (n_classes,) if isinstance(n_classes, numbers.Integral) else n_classes
        shape = tuple(int(s) for s in shape)
        if not shape or min(shape) < 1:
            raise ValueError(f"n_classes must be positive, got {n_classes!r}.")
        self.head = head
        for p in self.head.parameters():
            p.requires_grad_(False)
        reference = next(iter(head.parameters()), None)
        self.scales = nn.Parameter(
            torch.ones(
                shape,
                dtype=None if reference is None else reference.dtype,
                device=None if reference is None else reference.device,
            )
        )

    def forward(self, x):
        return self.head(x) * self.scales


def _check_embeddings(embeddings, labels):
    embeddings = torch.as_tensor(embeddings)
    labels = torch.as_tensor(labels)
    if embeddings.dim() != 2 or embeddings.shape[0] == 0:
        raise ValueError(
            "embeddings must have shape (n_samples, n_features) with at least "
            f"one sample, got {tuple(embeddings.shape)}."
        )
    if labels.dim() != 1 or labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"labels must have shape ({embeddings.shape[0]},), one class index per "
            f"embedding, got {tuple(labels.shape)}."
        )
    if labels.is_floating_point() or labels.is_complex() or (labels < 0).any():
        raise ValueError("labels must be class indices (integers >= 0).")
    if not embeddings.is_floating_point():
        embeddings = embeddings.float()
    return embeddings.detach(), labels.long()


def retrain_head(
    head,
    embeddings,
    labels,
    *,
    sampling="class_balanced",
    epochs=10,
    batch_size=256,
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-4,
    max_norm=None,
    generator=None,
):
    """Train a head's trainable parameters on frozen embeddings, re-balanced.

    Cross-entropy, SGD with momentum and a cosine learning-rate decay to 0,
    batches from :class:`~skimbalance.samplers.class_balanced.ClassBalancedBatchSampler`
    (class-balanced by default, the re-balancing of cRT and LWS). The head is
    trained in place and returned.

    Parameters
    ----------
    head : torch.nn.Module
        Maps embeddings ``(B, D)`` to logits ``(B, C)``; its parameters with
        ``requires_grad`` are trained.
    embeddings : Tensor of shape (n_samples, D)
        Frozen features of the training samples (no gradient flows back).
    labels : LongTensor of shape (n_samples,)
        Class index of every sample, in ``[0, C)``.
    sampling : {"class_balanced", "square_root", "progressive", "instance"}, default="class_balanced"
        Sampling of the batches (``"progressive"`` over ``epochs``).
    epochs : int, default=10
        Passes of ``ceil(n_samples / batch_size)`` batches each (Kang et al.
        re-train for 10 epochs).
    batch_size : int, default=256
        Samples per batch (at most ``n_samples``).
    lr : float, default=0.1
        Initial learning rate.
    momentum : float, default=0.9
        SGD momentum.
    weight_decay : float, default=5e-4
        L2 penalty on the trained parameters.
    max_norm : float or None, default=None
        If given, the MaxNorm projection of the head's ``weight`` (feature
        axis last) after every step (:func:`project_max_norm_`).
    generator : torch.Generator, int or None, default=None
        Seed of the batch sampling.

    Returns
    -------
    head : torch.nn.Module
        The same head, trained, in evaluation mode.

    References
    ----------
    .. [1] B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y.
       Kalantidis, "Decoupling Representation and Classifier for Long-Tailed
       Recognition", ICLR 2020, Sec. 4.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.heads.decoupling import retrain_head
    >>> emb = torch.cat([torch.randn(90, 2) + 2, torch.randn(10, 2) - 2])
    >>> y = torch.tensor([0] * 90 + [1] * 10)
    >>> head = retrain_head(torch.nn.Linear(2, 2), emb, y, epochs=5, generator=0)
    >>> head(emb).shape
    torch.Size([100, 2])
    """
    embeddings, labels = _check_embeddings(embeddings, labels)
    if sampling not in SAMPLING_STRATEGIES:
        raise ValueError(
            f"sampling must be one of {SAMPLING_STRATEGIES}, got {sampling!r}."
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r}.")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value!r}.")
    params = [p for p in head.parameters() if p.requires_grad]
    if not params:
        raise ValueError("head has no trainable parameter (requires_grad=True).")
    if max_norm is not None and not isinstance(
        getattr(head, "weight", None), torch.Tensor
    ):
        raise ValueError("max_norm needs a head with a weight (e.g. torch.nn.Linear).")
    device = params[0].device
    embeddings, labels = embeddings.to(device), labels.to(device)
    sampler = ClassBalancedBatchSampler(
        labels.cpu(),
        min(int(batch_size), labels.numel()),
        sampling=sampling,
        n_epochs=int(epochs) if sampling == "progressive" else None,
        generator=generator,
    )
    optimizer = torch.optim.SGD(
        params, lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    total = int(epochs) * len(sampler)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total))
    )
    head.train()
    for _ in range(int(epochs)):
        for batch in sampler.sample_epoch():
            batch = batch.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(head(embeddings[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            if max_norm is not None:
                project_max_norm_(head.weight, max_norm)
    return head.eval()


def retrain_linear_head(embeddings, labels, n_classes=None, **kwargs):
    """cRT: a re-initialised linear head trained with class-balanced sampling.

    The head's weights start uniform in ``±1 / sqrt(D)`` (the default of
    :class:`torch.nn.Linear`), drawn from the seeded ``generator``, the bias
    at 0; then :func:`retrain_head` trains it on the frozen embeddings.

    Parameters
    ----------
    embeddings : Tensor of shape (n_samples, D)
        Frozen features of the training samples.
    labels : LongTensor of shape (n_samples,)
        Class index of every sample.
    n_classes : int or None, default=None
        Number of classes ``C``; ``None`` gives ``labels.max() + 1``.
    **kwargs
        Arguments of :func:`retrain_head` (``sampling``, ``epochs``,
        ``batch_size``, ``lr``, ``momentum``, ``weight_decay``, ``max_norm``,
        ``generator``).

    Returns
    -------
    head : torch.nn.Linear
        The trained head, ``D`` to ``C``, on the embeddings' device and dtype.

    References
    ----------
    .. [1] B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y.
       Kalantidis, "Decoupling Representation and Classifier for Long-Tailed
       Recognition", ICLR 2020, Sec. 4 (classifier re-training, cRT).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.heads.decoupling import retrain_linear_head
    >>> g = torch.Generator().manual_seed(0)
    >>> emb = torch.cat([torch.randn(95, 2, generator=g) + 1.5,
    ...                  torch.randn(5, 2, generator=g) - 1.5])
    >>> y = torch.tensor([0] * 95 + [1] * 5)
    >>> head = retrain_linear_head(emb, y, epochs=5, generator=0)
    >>> head
    Linear(in_features=2, out_features=2, bias=True)
    >>> head(torch.tensor([[-1.5, -1.5]])).argmax().item()  # the rare class
    1
    """
    embeddings, labels = _check_embeddings(embeddings, labels)
    found = int(labels.max()) + 1
    if n_classes is None:
        n_classes = found
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"n_classes must be an integer, got {n_classes!r}.")
    if n_classes < found:
        raise ValueError(
            f"labels hold class index {found - 1}, but n_classes={n_classes}."
        )
    n_features = embeddings.shape[1]
    # One generator for the initialisation and the sampling.
    seed = kwargs["generator"] = _as_generator(kwargs.get("generator"))
    bound = 1.0 / math.sqrt(n_features)
    with torch.random.fork_rng(devices=[]):  # its own init is overwritten
        head = nn.Linear(n_features, int(n_classes))
    with torch.no_grad():
        head.weight.copy_(
            (torch.rand(head.weight.shape, generator=seed, dtype=torch.float64) * 2 - 1)
            * bound
        )
        head.bias.zero_()
    head = head.to(device=embeddings.device, dtype=embeddings.dtype)
    return retrain_head(head, embeddings, labels, **kwargs)
