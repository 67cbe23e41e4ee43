"""Ready-made backbones for the estimators' ``backbone`` parameter.

:class:`ConvNetBackbone` is a *factory*: an estimator calls it at every ``fit``
to build a fresh, seeded network, and its ``repr`` shows every setting (it is
stable from run to run, so it can key a cache). The module it builds is a
:class:`ConvNet`.

Pure PyTorch: nothing here imports scikit-learn or skorch.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def _positive_ints(value, name, length=None, what=""):
    """``value`` as a tuple of positive ints, or a ValueError naming ``name``."""
    expected = what or "a tuple of positive integers"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be {expected}; got {value!r}.")
    items = tuple(value)
    bad = [
        v
        for v in items
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral)
    ]
    if bad or any(v < 1 for v in items) or not items:
        raise ValueError(f"{name} must be {expected}; got {value!r}.")
    if length is not None and len(items) != length:
        raise ValueError(
            f"{name} must be {expected}; got {value!r} ({len(items)} values)."
        )
    return tuple(int(v) for v in items)


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def _pooled_side(side):
    """A side after one max-pool block: halved (rounded down) while it is >= 2."""
    return side // 2 if side >= 2 else side


class ConvNet(nn.Module):
    """The network :class:`ConvNetBackbone` builds: conv blocks, then a dense layer.

    For each width in ``channels``, a block ``conv 3×3 (padding 1) →
    [BatchNorm] → ReLU → max-pool 2``; the pooling halves each side of the
    feature map (rounding down) only while that side is at least 2, so any
    ``height, width >= 1`` works (a 1-pixel side is never pooled). Then the
    feature map is flattened, followed by ``Linear(hidden) → ReLU`` when
    ``hidden > 0``, and by ``Dropout(dropout)`` when ``dropout > 0``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, height, width)`` of one input.
    channels : tuple of int, default=(32, 64)
        Number of filters of each conv block.
    hidden : int, default=256
        Width of the fully connected layer; 0 for none.
    dropout : float, default=0.5
        Dropout probability of the output; 0 for no dropout layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution (which then has no bias).
    channels_last : bool, default=False
        Convert the input to :data:`torch.channels_last` memory format in
        ``forward`` (and keep the convolution weights in it).

    Attributes
    ----------
    input_shape : tuple of int
        ``(channels, height, width)`` of one input.
    feature_shape : tuple of int
        ``(channels, height, width)`` of the last conv block's output.
    out_features : int
        Size of the output of ``forward``.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.backbones import ConvNet
    >>> net = ConvNet((3, 7, 5), channels=(4, 8), hidden=0, dropout=0.0)
    >>> net.feature_shape, net.out_features
    ((8, 1, 1), 8)
    >>> net(torch.zeros(2, 3, 7, 5)).shape
    torch.Size([2, 8])
    """

    def __init__(
        self,
        input_shape,
        channels=(32, 64),
        hidden=256,
        dropout=0.5,
        batch_norm=False,
        channels_last=False,
    ):
        super().__init__()
        n_in, height, width = input_shape
        blocks = []
        for n_out in channels:
            blocks.append(
                nn.Conv2d(n_in, n_out, kernel_size=3, padding=1, bias=not batch_norm)
            )
            if batch_norm:
                blocks.append(nn.BatchNorm2d(n_out))
            blocks.append(nn.ReLU())
            pool = (2 if height >= 2 else 1, 2 if width >= 2 else 1)
            if pool != (1, 1):
                blocks.append(nn.MaxPool2d(pool))
            n_in, height, width = n_out, _pooled_side(height), _pooled_side(width)
        self.features = nn.Sequential(*blocks)
        head = [nn.Flatten()]
        size = n_in * height * width
        if hidden:
            head += [nn.Linear(size, hidden), nn.ReLU()]
            size = hidden
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        self.head = nn.Sequential(*head)
        self.input_shape = tuple(input_shape)
        self.feature_shape = (n_in, height, width)
        self.out_features = size
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.features.to(memory_format=torch.channels_last)

    def forward(self, x):
        """Features ``(B, out_features)`` of images ``(B, C, H, W)`` or flat rows."""
        if x.dim() == 2 and x.shape[1] == int(np.prod(self.input_shape)):
            x = x.reshape(x.shape[0], *self.input_shape)
        elif x.dim() != 4 or tuple(x.shape[1:]) != self.input_shape:
            shape = ", ".join(map(str, self.input_shape))
            raise ValueError(
                f"ConvNet takes images of shape (batch, {shape}) or flat rows "
                f"(batch, {int(np.prod(self.input_shape))}); got a tensor of "
                f"shape {tuple(x.shape)}."
            )
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.head(self.features(x))


@dataclass(frozen=True)
class ConvNetBackbone:
    """Factory of a small CNN backbone for images given as flat rows.

    Pass it as the ``backbone`` of any estimator: ``fit`` calls it to build a
    fresh :class:`~skimbalance.backbones.ConvNet` (seeded by the estimator's
    ``random_state``), so nothing is shared between fits, clones or grid-search
    candidates. It is picklable and immutable, and its ``repr`` lists every
    setting. Images travel through pipelines as flat rows of
    ``channels * height * width`` values; they are reshaped to ``input_shape``
    before the first convolution. An estimator with ``input_shape=None`` takes
    the factory's ``input_shape``; one with its own ``input_shape`` must give
    the same shape.

    The network: for each width in ``channels``, a block ``conv 3×3 (padding
    1) → [BatchNorm] → ReLU → max-pool 2``, then a flatten, ``Linear(hidden)
    → ReLU`` and ``Dropout(dropout)`` [2]_: the conv-pool stack of the
    classic small CNNs for MNIST-sized images [1]_. Each pooling halves a side of the
    feature map, rounding down, only while that side is at least 2, so any
    image size works (28 × 28 → 14 × 14 → 7 × 7; 1 × 1 is never pooled) and
    the flattened size is known from the shape alone: ``channels[-1] * h' *
    w'``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, height, width)`` of one image, e.g. ``(1, 28, 28)`` for
        MNIST or ``(3, 32, 32)`` for CIFAR: the convention of the estimators'
        ``input_shape``. A row of ``X`` holds the image in this (C-order)
        layout, i.e. ``image.reshape(-1)`` of a ``(C, H, W)`` array.
    channels : tuple of int, default=(32, 64)
        Number of filters of each conv block (one block per entry).
    hidden : int or None, default=256
        Width of the fully connected layer after the conv blocks; 0 or None
        (stored as 0) for none: the flattened feature map is then the output.
    dropout : float, default=0.5
        Dropout probability of the output, in ``[0, 1)``; 0 for no dropout
        layer. :class:`~skimbalance.UncertaintyMarginClassifier` needs
        dropout for its Monte-Carlo uncertainties [4]_.
    batch_norm : bool, default=False
        Batch normalisation [3]_ after each convolution (which then has no
        bias). It needs at least two values per channel in a training batch:
        with ``1 × 1`` images, a last training batch of one sample fails.
    channels_last : bool, default=False
        If True, the module converts its input to the
        :data:`torch.channels_last` (NHWC) memory format in ``forward`` and
        keeps its convolution weights in it. The outputs are the same (to
        rounding); on some CPUs and GPUs the convolutions are faster in it
        (``python -m benchmarks.speed.cnn`` measures it).

    Attributes
    ----------
    out_features : int
        Size of the backbone's output (``hidden``, or the flattened feature
        map when ``hidden`` is 0).

    See Also
    --------
    skimbalance.backbones.ConvNet : the module it builds.
    skimbalance.modules.MLPBackbone : the default backbone
        (``hidden_layer_sizes``).

    Notes
    -----
    The estimators read the ``input_shape`` attribute of a backbone (a
    factory or a module) when their own ``input_shape`` is None: a factory of
    your own can declare its input shape the same way.

    References
    ----------
    .. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-Based
       Learning Applied to Document Recognition", Proc. IEEE 86(11), 1998.
    .. [2] N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and
       R. Salakhutdinov, "Dropout: A Simple Way to Prevent Neural Networks
       from Overfitting", JMLR 15, 2014.
    .. [3] S. Ioffe and C. Szegedy, "Batch Normalization: Accelerating Deep
       Network Training by Reducing Internal Covariate Shift", ICML 2015.
    .. [4] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation",
       ICML 2016.

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_digits
    >>> from skimbalance import ConvNetBackbone, CrossEntropyClassifier
    >>> backbone = ConvNetBackbone(input_shape=(1, 8, 8))
    >>> backbone
    ConvNetBackbone(input_shape=(1, 8, 8), channels=(32, 64), hidden=256, \
dropout=0.5, batch_norm=False, channels_last=False)
    >>> backbone()(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 256])

    The 8 × 8 digits as flat rows of 64 pixels:

    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:600] / 16, y[:600]
    >>> clf = CrossEntropyClassifier(backbone=backbone, input_shape=(1, 8, 8),
    ...                              max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict(X[:4]).shape
    (4,)
    """

    input_shape: tuple
    channels: tuple = (32, 64)
    hidden: int = 256
    dropout: float = 0.5
    batch_norm: bool = False
    channels_last: bool = False

    def __post_init__(self):
        shape = _positive_ints(
            self.input_shape,
            "input_shape",
            length=3,
            what="(channels, height, width), three positive integers",
        )
        channels = _positive_ints(
            self.channels,
            "channels",
            what=(
                "a non-empty tuple of positive integers, the number of filters of "
                "each conv block, e.g. (32, 64)"
            ),
        )
        hidden = 0 if self.hidden is None else self.hidden
        if (
            isinstance(hidden, (bool, np.bool_))
            or not isinstance(hidden, numbers.Integral)
            or hidden < 0
        ):
            raise ValueError(
                "hidden must be a non-negative integer (the width of the fully "
                f"connected layer), or 0 or None for none; got {self.hidden!r}."
            )
        dropout = self.dropout
        if (
            isinstance(dropout, (bool, np.bool_))
            or not isinstance(dropout, numbers.Real)
            or not 0 <= dropout < 1
        ):
            raise ValueError(
                f"dropout must be a probability in [0, 1); got {self.dropout!r}."
            )
        for name, value in (
            ("input_shape", shape),
            ("channels", channels),
            ("hidden", int(hidden)),
            ("dropout", float(dropout)),
            ("batch_norm", _flag(self.batch_norm, "batch_norm")),
            ("channels_last", _flag(self.channels_last, "channels_last")),
        ):
            object.__setattr__(self, name, value)

    def __call__(self):
        """A new, randomly initialised :class:`~skimbalance.backbones.ConvNet`."""
        return ConvNet(
            self.input_shape,
            channels=self.channels,
            hidden=self.hidden,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            channels_last=self.channels_last,
        )

    @property
    def out_features(self):
        if self.hidden:
            return self.hidden
        _, height, width = self.input_shape
        for _ in self.channels:
            height, width = _pooled_side(height), _pooled_side(width)
        return self.channels[-1] * height * width


def _probability(value, name):
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not 0 <= value < 1
    ):
        raise ValueError(f"{name} must be a probability in [0, 1); got {value!r}.")
    return float(value)


def _count(value, name, minimum):
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(
            f"{name} must be an integer of at least {minimum}; got {value!r}."
        )
    return int(value)


@dataclass(frozen=True)
class TabularBackbone:
    """Factory of the tabular backbone: quantile transform, PLR embeddings, TabM-mini.

    Pass it (or the string ``"tabular"``, which means ``TabularBackbone()``)
    as the ``backbone`` of any estimator. ``fit`` calls it with the training
    rows to build a fresh :class:`~skimbalance.tabular.TabularNet`, seeded by
    the estimator's ``random_state``:

    1. a quantile transform of each feature to a standard normal, fitted on
       the training rows of this fit and stored in the network (raw
       numerical features need no scaler in front; outliers and skewed
       features are tamed), as the preprocessing of the tabular papers'
       experiments [3]_;
    2. periodic-linear-ReLU embeddings of each feature [1]_;
    3. a TabM-mini ensemble [2]_: ``n_members`` MLPs that share their
       weights, each seeing the embeddings times its own scaling vector;
    4. the members' mean representation, which the estimator's embedding
       layer, head and method terms (CRL's mining, CLMLE's clusters, the
       uncertainty margins and their MC dropout) take as they take the MLP's
       output.

    TabM trains each member on its own loss and averages their predicted
    probabilities; here the members' representations are averaged before the
    estimator's embedding layer, so that every method's term, which acts on
    one embedding per sample, applies unchanged. The ensemble then works as
    a multi-branch network sharing its weights (see the user guide, "Tabular
    data").

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Widths of the shared MLP blocks (``Linear → ReLU → Dropout``).
    dropout : float, default=0.1
        Dropout after each block, in ``[0, 1)``.
        :class:`~skimbalance.UncertaintyMarginClassifier` needs it positive
        for its Monte-Carlo uncertainties.
    n_members : int, default=8
        Ensemble members ``k``; 1 is a plain MLP on the embeddings.
    d_embedding : int, default=24
        Size of each feature's periodic embedding; 0 for none.
    n_frequencies : int, default=48
        Frequencies per feature of the embeddings.
    frequency_scale : float, default=0.01
        Initialisation scale ``σ`` of the frequencies.
    n_quantiles : int or None, default=64
        Quantiles per feature of the quantile transform (at least 2); None
        for no transform (then scale the features yourself).

    Attributes
    ----------
    out_features : int
        Size of the backbone's output (the last block's width).

    See Also
    --------
    skimbalance.tabular.TabularNet : the module it builds.
    skimbalance.modules.MLPBackbone : the ``"mlp"`` backbone.

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev and A. Babenko, "On Embeddings for
       Numerical Features in Tabular Deep Learning", NeurIPS 2022.
    .. [2] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing
       Tabular Deep Learning with Parameter-Efficient Ensembling", ICLR 2025.
    .. [3] D. Holzmüller, L. Grinsztajn and I. Steinwart, "Better by Default:
       Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data", NeurIPS
       2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance import CrossEntropyClassifier, TabularBackbone
    >>> backbone = TabularBackbone(hidden_layer_sizes=(64,), n_members=4)
    >>> backbone
    TabularBackbone(hidden_layer_sizes=(64,), dropout=0.1, n_members=4, \
d_embedding=24, n_frequencies=48, frequency_scale=0.01, n_quantiles=64)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.lognormal(size=(200, 3)) * [1, 100, 1e4]  # raw, unscaled
    >>> y = (X[:, 0] > 2).astype(int)
    >>> import torch
    >>> backbone(X)(torch.zeros(2, 3)).shape
    torch.Size([2, 64])
    >>> clf = CrossEntropyClassifier(backbone="tabular", max_epochs=3,
    ...                              random_state=0).fit(X, y)
    >>> clf.predict(X[:4]).shape
    (4,)
    """

    hidden_layer_sizes: tuple = (256, 256)
    dropout: float = 0.1
    n_members: int = 8
    d_embedding: int = 24
    n_frequencies: int = 48
    frequency_scale: float = 0.01
    n_quantiles: int = 64

    def __post_init__(self):
        sizes = _positive_ints(
            self.hidden_layer_sizes,
            "hidden_layer_sizes",
            what="a non-empty tuple of positive integers, e.g. (256, 256)",
        )
        scale = self.frequency_scale
        if (
            isinstance(scale, (bool, np.bool_))
            or not isinstance(scale, numbers.Real)
            or not scale > 0
            or not np.isfinite(scale)
        ):
            raise ValueError(
                f"frequency_scale must be a positive number; got {scale!r}."
            )
        quantiles = None
        if self.n_quantiles is not None:
            quantiles = _count(self.n_quantiles, "n_quantiles (or None)", 2)
        for name, value in (
            ("hidden_layer_sizes", sizes),
            ("dropout", _probability(self.dropout, "dropout")),
            ("n_members", _count(self.n_members, "n_members", 1)),
            ("d_embedding", _count(self.d_embedding, "d_embedding", 0)),
            ("n_frequencies", _count(self.n_frequencies, "n_frequencies", 1)),
            ("frequency_scale", float(scale)),
            ("n_quantiles", quantiles),
        ):
            object.__setattr__(self, name, value)

    def __call__(self, X):
        """A new :class:`~skimbalance.tabular.TabularNet` for the training rows ``X``.

        ``X`` (n_samples, n_features) fits the quantile transform; with no
        rows the quantiles are placeholders (for a network whose state is
        loaded next).
        """
        from .tabular import TabularNet, fit_quantiles

        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                "TabularBackbone takes the training rows as a 2-D array "
                f"(n_samples, n_features); got an array of shape {X.shape}."
            )
        quantiles = (
            None if self.n_quantiles is None else fit_quantiles(X, self.n_quantiles)
        )
        return TabularNet(
            X.shape[1],
            quantiles,
            hidden_layer_sizes=self.hidden_layer_sizes,
            dropout=self.dropout,
            n_members=self.n_members,
            d_embedding=self.d_embedding,
            n_frequencies=self.n_frequencies,
            frequency_scale=self.frequency_scale,
        )

    @property
    def out_features(self):
        return self.hidden_layer_sizes[-1]
