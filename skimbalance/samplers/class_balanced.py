"""Class-balanced batch sampling (Kang et al., ICLR 2020, Sec. 3).

Each sample is drawn in two steps: a class ``j`` with probability ``p_j``, then
one of its samples. The class probabilities are those of Kang et al.'s
sampling strategies, with ``n_j`` the number of samples of class ``j``:

* ``"instance"``: ``p_j ∝ n_j`` (every sample equally likely, the usual epoch);
* ``"class_balanced"``: ``p_j ∝ 1`` (every class equally likely);
* ``"square_root"``: ``p_j ∝ n_j ** 0.5``;
* ``"progressive"``: ``p_j(t) = (1 - t/T) p_j^instance + (t/T) p_j^class_balanced``
  at epoch ``t`` of ``T`` (``t`` counted from 0, so the first epoch is
  instance-balanced; ``t/T`` is clipped to 1 after the last epoch).

Choices where the paper is open, all vectorised (no Python loop over samples
or classes):

* *Class counts of an epoch.* An epoch of ``N = n_batches * batch_size`` draws
  gives class ``j`` either ``floor(N p_j)`` or ``ceil(N p_j)`` draws
  (systematic sampling: one uniform offset, cumulative sums). Its expectation is
  exactly ``N p_j`` and it has the smallest possible spread, so a rare class is
  never left out of an epoch by bad luck.
* *Samples within a class.* Without replacement within a class: the ``m_j``
  draws of class ``j`` go through one random permutation of its samples
  (a fresh one every epoch), cyclically. Any ``n_j`` consecutive draws of the
  class are distinct, so every sample of a class drawn ``m_j >= n_j`` times
  appears at least once in the epoch, the numbers of draws of two samples of
  a class differ by at most one, and a batch never holds a sample twice
  unless it holds more than ``n_j`` draws of its class.
* *Batches.* The drawn indices are shuffled and cut into ``n_batches`` batches
  of ``batch_size``.
* *A minimum per batch* (``min_per_class=k, min_classes=r``): the
  ``batch_size - r k`` free slots of a batch follow ``p_j``; then the ``r``
  classes with at least ``k`` samples that the free slots drew least (ties
  at random) get ``k`` more slots each, filled with ``k`` distinct samples.
  So every batch holds at least ``k`` distinct samples of at least ``r``
  classes, and the classes topped up are the batch's rarest: CRL's hard
  mining, which needs a *minority* class of the batch with at least two
  samples (:func:`~skimbalance.miners.minority.minority_classes`), gets one
  with ``min_per_class=2`` as long as the topped-up class and the classes as
  rare as it hold fewer than half the batch (always, unless the batch is
  close to balanced). The reserved slots shift the drawn class distribution
  towards the rare classes by at most ``r k / batch_size``.
* *Multi-label targets* (a 2-D 0/1 indicator) are refused: a sample belongs to
  several classes at once, so "drawing a class, then a sample" changes the
  frequency of every other label of the sample too. Sample on one label
  column (``y[:, j]``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

__all__ = ["SAMPLING_STRATEGIES", "ClassBalancedBatchSampler", "class_probabilities"]

#: The values of ``sampling``.
SAMPLING_STRATEGIES = ("instance", "class_balanced", "square_root", "progressive")


def class_probabilities(class_counts, sampling="class_balanced", *, progress=0.0):
    """Probability of drawing each class under one of Kang et al.'s strategies.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Number of samples of each class, all positive.
    sampling : {"instance", "class_balanced", "square_root", "progressive"}, default="class_balanced"
        The strategy (see the module docstring).
    progress : float, default=0.0
        ``t / T`` of ``"progressive"`` sampling, clipped to ``[0, 1]``; ignored
        by the other strategies.

    Returns
    -------
    p : Tensor of shape (n_classes,), float64
        Class probabilities, summing to 1.

    References
    ----------
    .. [1] B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y.
       Kalantidis, "Decoupling Representation and Classifier for Long-Tailed
       Recognition", ICLR 2020, Sec. 3, Eq. 1 and the progressive sampling.

    Examples
    --------
    >>> from skimbalance.samplers.class_balanced import class_probabilities
    >>> class_probabilities([9, 1], "square_root").tolist()
    [0.75, 0.25]
    >>> class_probabilities([9, 1], "progressive", progress=0.5).tolist()
    [0.7, 0.3]
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if counts.dim() != 1 or counts.numel() == 0:
        raise ValueError(
            f"class_counts must be a non-empty 1-D array, got shape {tuple(counts.shape)}."
        )
    if not (counts > 0).all():
        raise ValueError("class_counts must be positive (every class has a sample).")
    if sampling not in SAMPLING_STRATEGIES:
        raise ValueError(
            f"sampling must be one of {SAMPLING_STRATEGIES}, got {sampling!r}."
        )
    instance = counts / counts.sum()
    balanced = torch.full_like(counts, 1.0 / counts.numel())
    if sampling == "instance":
        return instance
    if sampling == "class_balanced":
        return balanced
    if sampling == "square_root":
        root = counts.sqrt()
        return root / root.sum()
    t = min(max(float(progress), 0.0), 1.0)
    return (1.0 - t) * instance + t * balanced


def _as_generator(generator) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    if generator is None:  # a seed from torch's global generator
        generator = int(torch.empty((), dtype=torch.int64).random_().item())
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(int(generator))
    raise TypeError(
        f"generator must be a torch.Generator, an int seed or None, got {generator!r}."
    )


def _systematic_counts(probabilities, total, generator):
    """``total`` draws split over the classes, class ``j`` getting ``floor`` or
    ``ceil`` of ``total * p_j`` with expectation exactly ``total * p_j``."""
    offset = torch.rand((), generator=generator, dtype=torch.float64)
    edges = torch.floor(
        torch.cat([torch.zeros(1, dtype=torch.float64), probabilities.cumsum(0)])
        * total
        + offset
    )
    counts = (edges[1:] - edges[:-1]).long()
    # The cumulative sum can end a rounding error away from 1.
    counts[-1] += total - counts.sum()
    return counts


class ClassBalancedBatchSampler(Sampler):
    """Batches of indices drawn class by class (Kang et al.'s sampling strategies).

    An iterable of batches (lists of dataset indices), usable as the
    ``batch_sampler`` of a :class:`torch.utils.data.DataLoader`. Each
    iteration is one epoch of ``n_batches`` batches of ``batch_size``; the
    epoch counter of ``"progressive"`` sampling advances by one per iteration
    (or is set with :meth:`set_epoch`).

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Class of every sample of the dataset (any integer values).
    batch_size : int
        Samples per batch.
    sampling : {"instance", "class_balanced", "square_root", "progressive"}, default="class_balanced"
        Class probabilities (:func:`class_probabilities`).
    n_epochs : int or None, default=None
        ``T`` of ``"progressive"`` sampling (required there, ignored otherwise).
    n_batches : int or None, default=None
        Batches per epoch; ``None`` gives ``ceil(n_samples / batch_size)``, as
        many as a plain epoch.
    min_per_class : int, default=0
        ``k``: every batch holds at least ``k`` distinct samples of each of
        ``min_classes`` distinct classes (0: no minimum).
    min_classes : int, default=1
        ``r``, the number of classes the minimum applies to.
    generator : torch.Generator, int or None, default=None
        Generator (or seed) of every random draw; ``None`` seeds one from
        torch's global generator.

    Attributes
    ----------
    classes_ : Tensor of shape (n_classes,)
        The distinct labels, sorted; class ``j`` is ``classes_[j]``.
    class_counts_ : Tensor of shape (n_classes,)
        Samples of each class.
    epoch : int
        Epoch of the next iteration (``t`` of progressive sampling).

    References
    ----------
    .. [1] B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng and Y.
       Kalantidis, "Decoupling Representation and Classifier for Long-Tailed
       Recognition", ICLR 2020, Sec. 3.
    .. [2] L. Shen, Z. Lin and Q. Huang, "Relay Backpropagation for Effective
       Learning of Deep Convolutional Neural Networks", ECCV 2016 (class-aware
       sampling).

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> from skimbalance.samplers.class_balanced import ClassBalancedBatchSampler
    >>> y = torch.tensor([0] * 90 + [1] * 10)
    >>> sampler = ClassBalancedBatchSampler(y, batch_size=20, generator=0)
    >>> loader = DataLoader(TensorDataset(torch.randn(100, 3), y),
    ...                     batch_sampler=sampler)
    >>> len(loader)
    5
    >>> drawn = torch.cat([yb for _, yb in loader])
    >>> torch.bincount(drawn).tolist()  # 50 draws of each class
    [50, 50]
    """

    def __init__(
        self,
        labels,
        batch_size,
        *,
        sampling="class_balanced",
        n_epochs=None,
        n_batches=None,
        min_per_class=0,
        min_classes=1,
        generator=None,
    ):
        labels = torch.as_tensor(labels).cpu()  # sampled on the CPU
        if labels.dim() == 2 and labels.shape[1] > 1:
            raise ValueError(
                "labels is a 2-D multi-label indicator: class-balanced sampling "
                "draws a class and then one of its samples, which for a sample "
                "with several labels changes the frequency of its other labels "
                "too, so it is not defined here. Sample on one label column "
                "(labels[:, j])."
            )
        labels = labels.reshape(-1)
        if labels.numel() == 0:
            raise ValueError("labels is empty: there is nothing to sample.")
        if labels.is_floating_point() and not torch.equal(labels, labels.round()):
            raise ValueError("labels must be class labels (integers).")
        if sampling not in SAMPLING_STRATEGIES:
            raise ValueError(
                f"sampling must be one of {SAMPLING_STRATEGIES}, got {sampling!r}."
            )
        if sampling == "progressive" and (n_epochs is None or int(n_epochs) < 1):
            raise ValueError(
                "sampling='progressive' needs n_epochs (T), a positive integer; "
                f"got {n_epochs!r}."
            )
        for name, value, low in (
            ("batch_size", batch_size, 1),
            ("min_per_class", min_per_class, 0),
            ("min_classes", min_classes, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {value!r}.")
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value!r}.")
        if n_batches is not None and (
            isinstance(n_batches, bool)
            or not isinstance(n_batches, numbers.Integral)
            or n_batches < 1
        ):
            raise ValueError(
                f"n_batches must be a positive integer or None, got {n_batches!r}."
            )
        self.classes_, encoded = torch.unique(labels, return_inverse=True)
        self.class_counts_ = torch.bincount(encoded)
        self.batch_size = int(batch_size)
        self.sampling = sampling
        self.n_epochs = None if n_epochs is None else int(n_epochs)
        self.n_batches = (
            math.ceil(labels.numel() / self.batch_size)
            if n_batches is None
            else int(n_batches)
        )
        self.min_per_class = int(min_per_class)
        self.min_classes = int(min_classes)
        self.generator = _as_generator(generator)
        self.epoch = 0
        if self.min_per_class:
            reserved = self.min_per_class * self.min_classes
            if reserved > self.batch_size:
                raise ValueError(
                    f"min_per_class * min_classes = {reserved} samples do not fit "
                    f"in a batch of {self.batch_size}."
                )
            self._is_eligible = self.class_counts_ >= self.min_per_class
            n_eligible = int(self._is_eligible.sum())
            if n_eligible < self.min_classes:
                raise ValueError(
                    f"min_classes={self.min_classes} classes with at least "
                    f"min_per_class={self.min_per_class} samples are needed, but "
                    f"only {n_eligible} classes have that many "
                    f"(class sizes {self.class_counts_.tolist()})."
                )
        # Dataset indices grouped by class, and where each class starts.
        self._members = torch.argsort(encoded, stable=True)
        self._starts = torch.cumsum(self.class_counts_, 0) - self.class_counts_

    def __len__(self) -> int:
        return self.n_batches

    def set_epoch(self, epoch) -> None:
        """Set the epoch of the next iteration (``t`` of progressive sampling).

        Parameters
        ----------
        epoch : int
            Epoch index, from 0.
        """
        self.epoch = int(epoch)

    def class_probabilities(self, epoch=None):
        """The class probabilities ``p_j`` of an epoch (the next one by default).

        Parameters
        ----------
        epoch : int or None, default=None
            Epoch index; ``None`` is :attr:`epoch`.

        Returns
        -------
        p : Tensor of shape (n_classes,), float64
        """
        epoch = self.epoch if epoch is None else int(epoch)
        progress = epoch / self.n_epochs if self.sampling == "progressive" else 0.0
        return class_probabilities(self.class_counts_, self.sampling, progress=progress)

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.sample_epoch()
        yield from batches.tolist()

    def sample_epoch(self):
        """Draw the batches of one epoch and advance :attr:`epoch`.

        Returns
        -------
        batches : LongTensor of shape (n_batches, batch_size)
            Dataset indices, one row per batch.
        """
        g = self.generator
        n_batches, size = self.n_batches, self.batch_size
        n_classes = self.class_counts_.numel()
        p = self.class_probabilities()
        self.epoch += 1
        reserved = self.min_per_class * self.min_classes
        free = size - reserved
        # The class of every slot, (n_batches, batch_size).
        free_counts = _systematic_counts(p, n_batches * free, g)
        free_classes = torch.repeat_interleave(torch.arange(n_classes), free_counts)
        free_classes = free_classes[torch.randperm(free_classes.numel(), generator=g)]
        slots = free_classes.reshape(n_batches, free)
        if reserved:
            # The r eligible classes least drawn in the batch's free slots
            # (ties at random) get k more slots each.
            free_per_class = torch.zeros(n_batches, n_classes, dtype=torch.float64)
            free_per_class.scatter_add_(
                1, slots, torch.ones(slots.shape, dtype=torch.float64)
            )
            score = free_per_class + torch.rand(
                n_batches, n_classes, generator=g, dtype=torch.float64
            )
            score[:, ~self._is_eligible] = math.inf
            pick = torch.topk(score, self.min_classes, dim=1, largest=False).indices
            kept = pick.repeat_interleave(self.min_per_class, dim=1)
            slots = torch.cat([kept, slots], dim=1)
        # The samples: class j's draws are the first m_j entries of fresh
        # permutations of its members, one after the other.
        flat = slots.reshape(-1)
        draws = torch.bincount(flat, minlength=n_classes)
        indices = self._draw_within_classes(draws)
        order = torch.argsort(flat, stable=True)  # slots class by class, batch-major
        batches = torch.empty_like(flat)
        batches[order] = indices
        batches = batches.reshape(n_batches, size)
        # Shuffle within every batch (the reserved slots come first otherwise).
        shuffle = torch.argsort(torch.rand(n_batches, size, generator=g), dim=1)
        return torch.gather(batches, 1, shuffle)

    def _draw_within_classes(self, draws):
        """``draws[j]`` indices of every class ``j``, class by class: one random
        permutation of the class's samples, gone through cyclically."""
        g = self.generator
        sizes = self.class_counts_
        n_classes = sizes.numel()
        # A random permutation within every class: sort by class, then a key.
        member_class = torch.repeat_interleave(torch.arange(n_classes), sizes)
        key = member_class.double() + torch.rand(
            member_class.numel(), generator=g, dtype=torch.float64
        )
        permuted = self._members[torch.argsort(key)]
        draw_class = torch.repeat_interleave(torch.arange(n_classes), draws)
        draw_start = torch.cumsum(draws, 0) - draws
        rank = torch.arange(draw_class.numel()) - draw_start[draw_class]
        return permuted[self._starts[draw_class] + rank % sizes[draw_class]]
