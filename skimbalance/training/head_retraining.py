"""The decoupled second stage: the classifier head re-trained on the frozen
embedding, class-balanced (Kang et al., ICLR 2020).

After the network is trained, its embedding of the training rows is computed
once and only the linear head learns, from batches drawn class-balanced
(:class:`~skimbalance.samplers.class_balanced.ClassBalancedBatchSampler`):
``"crt"`` re-initialises the head and re-trains it (classifier re-training),
``"lws"`` keeps it and learns one scale per class (learnable weight scaling),
folded back into the head's weights so that the fitted network has the
architecture it was built with (saving, ONNX export and warm start read it
unchanged).
"""

import torch
from torch import nn

from ..heads.decoupling import (
    LearnableWeightScaling,
    retrain_head,
    retrain_linear_head,
)
from ..modules import TaskLinear
from .clmle import embed_in_chunks

HEAD_RETRAINING = ("crt", "lws")
"""The values of ``head_retraining`` besides None."""

#: Rows embedded at a time.
_CHUNK = 4096


def retrain_task_head(
    module, X, y, n_classes, method, *, epochs, batch_size, device, seed
):
    """Re-train ``module.head`` (a one-task :class:`~skimbalance.modules.TaskLinear`)
    on the frozen embedding of ``X``, in place.

    Parameters
    ----------
    module : skimbalance.modules.MultiTaskNet
        The trained network; only its head changes.
    X : ndarray of shape (n_samples, n_features), float32
        Training inputs.
    y : ndarray of shape (n_samples,), int64
        Class index of every row.
    n_classes : int
        Number of classes.
    method : {"crt", "lws"}
        Classifier re-training or learnable weight scaling.
    epochs, batch_size : int
        Passes over the data and rows per class-balanced batch.
    device : str
        Where the embedding is computed and the head trained.
    seed : int
        Seed of the new head's initialisation and of the batches.

    Returns
    -------
    module : skimbalance.modules.MultiTaskNet
        The same module, its head re-trained.

    References
    ----------
    .. [1] B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y.
       Kalantidis, "Decoupling Representation and Classifier for Long-Tailed
       Recognition", ICLR 2020, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.modules import MLPBackbone, MultiTaskNet
    >>> from skimbalance.training.head_retraining import retrain_task_head
    >>> net = MultiTaskNet(MLPBackbone(2, (8,)), 8, n_tasks=1, n_classes=2,
    ...                    embedding_dim=4)
    >>> X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    >>> y = (X[:, 0] > 1).astype(np.int64)
    >>> _ = retrain_task_head(net, X, y, 2, "crt", epochs=2, batch_size=16,
    ...                       device="cpu", seed=0)
    >>> tuple(net.head.weight.shape)
    (1, 4, 2)
    """
    head = module.head
    if not isinstance(head, TaskLinear) or head.weight.shape[0] != 1:
        raise ValueError("head re-training needs a one-task linear head.")
    if method not in HEAD_RETRAINING:
        raise ValueError(
            f"head_retraining must be one of {HEAD_RETRAINING} or None, got {method!r}."
        )
    if method == "crt" and head.bias is None:
        raise ValueError("classifier re-training needs a head with a bias.")
    embeddings = embed_in_chunks(module, X, device, _CHUNK)[:, 0, :].detach()
    labels = torch.as_tensor(y, device=embeddings.device)
    generator = torch.Generator().manual_seed(int(seed))
    options = dict(epochs=int(epochs), batch_size=int(batch_size), generator=generator)
    weight, bias = head.weight[0], head.bias  # (D, C), (1, C) or None
    with torch.enable_grad():
        if method == "crt":
            linear = retrain_linear_head(embeddings, labels, int(n_classes), **options)
            new_weight, new_bias = linear.weight.detach().T, linear.bias.detach()
        else:  # "lws"
            linear = nn.Linear(weight.shape[0], weight.shape[1], bias=bias is not None)
            linear = linear.to(device=weight.device, dtype=weight.dtype)
            with torch.no_grad():
                linear.weight.copy_(weight.T)
                if bias is not None:
                    linear.bias.copy_(bias[0])
            lws = retrain_head(
                LearnableWeightScaling(linear, int(n_classes)),
                embeddings,
                labels,
                **options,
            )
            scales = lws.scales.detach()
            new_weight = weight.detach() * scales[None, :]
            new_bias = None if bias is None else bias.detach()[0] * scales
    with torch.no_grad():
        head.weight[0].copy_(new_weight.to(head.weight.dtype))
        if bias is not None:
            head.bias[0].copy_(new_bias.to(head.bias.dtype))
    return module
