"""Torch modules shared by every estimator: backbone, per-task embedding and head.

The network of every estimator in the library has the same shape::

    x ──► backbone ──► h ──► per-task embedding ──► e[:, t] ──► per-task head ──► logits[:, t]

A *task* is one attribute in the sense of Dong et al. (2017): a multi-class problem
is a single task with ``C`` classes, a multi-label indicator matrix with ``L``
columns is ``L`` binary tasks. Each task has its own embedding layer (the paper's
per-attribute FC2) and its own classifier, computed for all tasks at once with a
batched matrix product, so the cost of many tasks is one ``einsum``.

Every module here returns the tuple ``(logits, embedding)`` with shapes
``(B, T, C)`` and ``(B, T, D)``.
"""

import math

import torch
from torch import nn


class MLPBackbone(nn.Sequential):
    """Fully connected backbone: ``Linear → ReLU → Dropout`` per hidden layer.

    Parameters
    ----------
    n_features : int
        Number of input features.
    hidden_layer_sizes : tuple of int
        Width of each hidden layer; an empty tuple gives the identity.
    dropout : float
        Dropout probability after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.modules import MLPBackbone
    >>> MLPBackbone(8, (16, 4), dropout=0.1)(torch.zeros(3, 8)).shape
    torch.Size([3, 4])
    """

    def __init__(self, n_features, hidden_layer_sizes=(512, 512), dropout=0.5):
        layers = []
        width = n_features
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        super().__init__(*layers)
        self.out_features = width


class TaskLinear(nn.Module):
    """Independent affine maps for ``T`` tasks, applied in one batched product.

    Input ``(B, in_features)`` (shared by all tasks) or ``(B, T, in_features)``
    (one input per task); output ``(B, T, out_features)``.

    Parameters
    ----------
    n_tasks : int
        Number of tasks ``T``.
    in_features, out_features : int
        Sizes of each task's map.
    bias : bool, default=True
        Whether each map has a bias.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.modules import TaskLinear
    >>> TaskLinear(3, 5, 2)(torch.zeros(4, 5)).shape
    torch.Size([4, 3, 2])
    """

    def __init__(self, n_tasks, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_tasks, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_tasks, out_features)) if bias else None
        bound = 1.0 / math.sqrt(in_features)
        # The same initialisation as nn.Linear (uniform in ±1/sqrt(fan_in)).
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.dim() == 2:
            out = torch.einsum("bi,tio->bto", x, self.weight)
        else:
            out = torch.einsum("bti,tio->bto", x, self.weight)
        if self.bias is not None:
            out = out + self.bias
        return out


class MultiTaskNet(nn.Module):
    """Backbone, then one embedding layer and one classifier per task.

    Parameters
    ----------
    backbone : nn.Module
        Maps a batch of inputs to ``(B, backbone_dim)`` features (any trailing
        dimensions are flattened).
    backbone_dim : int
        Size of the backbone's output.
    n_tasks : int
        Number of tasks (1 for multi-class, the number of labels for multi-label).
    n_classes : int
        Number of classes of every task (2 for multi-label).
    embedding_dim : int
        Size of each task's embedding (the paper's 64-d FC2).
    input_shape : tuple of int or None
        When given, flat rows ``(B, prod(input_shape))`` are reshaped to
        ``(B, *input_shape)`` before the backbone (e.g. ``(1, 28, 28)`` for a CNN).
    head : nn.Module or None
        Maps embeddings ``(B, T, D)`` to logits ``(B, T, C)``; defaults to a
        :class:`TaskLinear`. Methods with a cosine classifier pass their own.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.modules import MLPBackbone, MultiTaskNet
    >>> net = MultiTaskNet(MLPBackbone(6, (8,)), 8, n_tasks=2, n_classes=2,
    ...                    embedding_dim=4)
    >>> logits, embedding = net(torch.zeros(5, 6))
    >>> tuple(logits.shape), tuple(embedding.shape)
    ((5, 2, 2), (5, 2, 4))
    """

    def __init__(
        self,
        backbone,
        backbone_dim,
        n_tasks,
        n_classes,
        embedding_dim=64,
        input_shape=None,
        head=None,
    ):
        super().__init__()
        self.backbone = backbone
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.embedding = TaskLinear(n_tasks, backbone_dim, embedding_dim)
        self.head = (
            head if head is not None else TaskLinear(n_tasks, embedding_dim, n_classes)
        )

    def features(self, data):
        """Backbone output ``(B, backbone_dim)`` for a batch of flat rows."""
        if self.input_shape is not None:
            data = data.reshape(data.shape[0], *self.input_shape)
        return self.backbone(data).flatten(1)

    def embed(self, data):
        """Per-task embeddings ``(B, T, D)``."""
        return self.embedding(self.features(data))

    def forward(self, data, **batch):
        """Return ``(logits, embedding)``; other batch entries are ignored."""
        embedding = self.embed(data)
        return self.head(embedding), embedding


def infer_output_dim(backbone, input_shape):
    """Size of the flattened output of ``backbone`` for one input of ``input_shape``.

    Runs a forward pass on zeros in evaluation mode, without gradients, and puts
    the module back in the mode it was in.

    Examples
    --------
    >>> from torch import nn
    >>> from skimbalance.modules import infer_output_dim
    >>> infer_output_dim(nn.Conv2d(1, 3, 3), (1, 8, 8))
    108
    """
    was_training = backbone.training
    backbone.eval()
    try:
        param = next(backbone.parameters(), None)
        device = param.device if param is not None else "cpu"
        with torch.no_grad():
            out = backbone(torch.zeros((2, *input_shape), device=device))
    finally:
        backbone.train(was_training)
    return int(out.reshape(2, -1).shape[1])
