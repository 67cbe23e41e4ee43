"""Cluster-based batch sampler of CLMLE (Huang et al., Sec. 3.3).

Every batch is built around one *query cluster*:

1. a class is drawn uniformly at random (so minority and majority classes are queried
   equally often, the paper's re-sampling of the query cluster);
2. its query cluster is the one with the highest cached loss, the loss of a cluster
   being the mean of the cached losses of its members (``query="hardest"``), or a
   cluster of that class drawn uniformly (``query="uniform"``, the ablation of
   Table 7);
3. the ``M - 1`` clusters whose centroids are most similar to the query centroid
   (inner product) are retrieved, making sure that at least one comes from the query's
   class and one from another class whenever such clusters exist;
4. ``samples_per_cluster`` members are drawn without replacement from each of the
   ``M`` clusters (all members of a smaller cluster).

Choices where the paper is open: clusters with no cached loss yet count as the
hardest (so every cluster is visited early; ties are broken at random); the same-
and other-class guarantee needs ``M >= 3`` (with ``M = 2`` the single retrieved
cluster is simply the nearest); the per-sample loss cache survives re-clustering (a
cluster's loss is the mean over its new members of their last observed losses).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["AlternatingBatchSampler", "ClusterBatchSampler"]


def _as_rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    return np.asarray(a)


class ClusterBatchSampler:
    """Batches of ``M`` neighbouring clusters around a hard query cluster (CLMLE).

    An iterable of index arrays, usable as the ``batch_sampler`` of a
    :class:`torch.utils.data.DataLoader`.

    Parameters
    ----------
    assignments : array-like of shape (n_samples,)
        Cluster index of every training sample.
    centroids : array-like of shape (n_clusters, n_dims)
        Unit-norm cluster centroids.
    cluster_labels : array-like of shape (n_clusters,)
        Class of every cluster.
    n_clusters_per_batch : int, default=12
        ``M``, clusters per batch (query included).
    samples_per_cluster : int, default=20
        Samples drawn from each cluster.
    n_batches : int or None, default=None
        Batches per iteration (epoch); ``None`` gives
        ``ceil(n_samples / (n_clusters_per_batch * samples_per_cluster))``.
    query : {"hardest", "uniform"}, default="hardest"
        How the query cluster is chosen within the drawn class.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Attributes
    ----------
    sample_losses_ : ndarray of shape (n_samples,)
        Last observed loss of every sample (NaN if never observed).

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 3.3).

    Examples
    --------
    >>> import numpy as np
    >>> assignments = np.repeat(np.arange(4), 5)
    >>> centroids = np.eye(4)
    >>> sampler = ClusterBatchSampler(assignments, centroids, [0, 0, 1, 1],
    ...                               n_clusters_per_batch=3, samples_per_cluster=2,
    ...                               random_state=0)
    >>> batch = next(iter(sampler))
    >>> batch.shape, len(np.unique(assignments[batch]))
    ((6,), 3)
    """

    def __init__(
        self,
        assignments,
        centroids,
        cluster_labels,
        *,
        n_clusters_per_batch: int = 12,
        samples_per_cluster: int = 20,
        n_batches: int | None = None,
        query: str = "hardest",
        random_state=None,
    ):
        if int(n_clusters_per_batch) < 1:
            raise ValueError("n_clusters_per_batch must be a positive integer.")
        if int(samples_per_cluster) < 1:
            raise ValueError("samples_per_cluster must be a positive integer.")
        if query not in ("hardest", "uniform"):
            raise ValueError(f"query must be 'hardest' or 'uniform', got {query!r}.")
        if n_batches is not None and int(n_batches) < 1:
            raise ValueError("n_batches must be a positive integer or None.")
        self.n_clusters_per_batch = int(n_clusters_per_batch)
        self.samples_per_cluster = int(samples_per_cluster)
        self.n_batches = None if n_batches is None else int(n_batches)
        self.query = query
        self.rng = _as_rng(random_state)
        n_samples = _to_numpy(assignments).reshape(-1).shape[0]
        self.sample_losses_ = np.full(n_samples, np.nan)
        self.update_clusters(assignments, centroids, cluster_labels)

    # -- state -------------------------------------------------------------------
    def update_clusters(self, assignments, centroids, cluster_labels) -> None:
        """Install new cluster assignments and centroids (after re-clustering).

        The per-sample loss cache is kept; cluster losses are recomputed from it.

        Parameters
        ----------
        assignments : array-like of shape (n_samples,)
            Cluster index of every training sample.
        centroids : array-like of shape (n_clusters, n_dims)
            Unit-norm cluster centroids.
        cluster_labels : array-like of shape (n_clusters,)
            Class of every cluster.
        """
        assignments = _to_numpy(assignments).reshape(-1).astype(np.int64)
        centroids = _to_numpy(centroids).astype(np.float64)
        cluster_labels = _to_numpy(cluster_labels).reshape(-1)
        n_clusters = centroids.shape[0]
        if centroids.ndim != 2 or cluster_labels.shape[0] != n_clusters:
            raise ValueError("need one label per centroid row (centroids 2-D).")
        if assignments.shape[0] != self.sample_losses_.shape[0]:
            raise ValueError("the number of samples cannot change.")
        if assignments.size and (
            assignments.min() < 0 or assignments.max() >= n_clusters
        ):
            raise ValueError("assignments must index the centroids.")
        self.assignments = assignments
        self.centroids = centroids
        self.cluster_labels = cluster_labels
        order = np.argsort(assignments, kind="stable")
        self._members = order
        self.cluster_sizes = np.bincount(assignments, minlength=n_clusters)
        self._starts = np.concatenate([[0], np.cumsum(self.cluster_sizes)[:-1]])
        nonempty = self.cluster_sizes > 0
        self._classes, self._cluster_class = np.unique(
            cluster_labels, return_inverse=True
        )
        self._class_has_cluster = np.bincount(
            self._cluster_class[nonempty], minlength=len(self._classes)
        )
        self._nonempty = nonempty
        seen = ~np.isnan(self.sample_losses_)
        self._loss_sum = np.bincount(
            assignments[seen], weights=self.sample_losses_[seen], minlength=n_clusters
        ).astype(np.float64)
        self._loss_count = np.bincount(assignments[seen], minlength=n_clusters).astype(
            np.int64
        )

    def update_losses(self, sample_indices, losses) -> None:
        """Cache the latest observed losses of some samples.

        Parameters
        ----------
        sample_indices : array-like of shape (n,)
            Training-set indices (e.g. a batch).
        losses : array-like of shape (n,)
            Their losses (e.g. ``clmle_loss(...).sample_losses``). For a repeated
            index the last value is kept.
        """
        idx = _to_numpy(sample_indices).reshape(-1).astype(np.int64)
        val = _to_numpy(losses).reshape(-1).astype(np.float64)
        if idx.shape != val.shape:
            raise ValueError("sample_indices and losses must have the same length.")
        # keep the last occurrence of a repeated index
        rev_unique = np.unique(idx[::-1], return_index=True)[1]
        keep = idx.size - 1 - rev_unique
        idx, val = idx[keep], val[keep]
        old = self.sample_losses_[idx]
        seen = ~np.isnan(old)
        cl = self.assignments[idx]
        np.add.at(self._loss_sum, cl, val - np.where(seen, old, 0.0))
        np.add.at(self._loss_count, cl, (~seen).astype(np.int64))
        self.sample_losses_[idx] = val

    @property
    def cluster_losses(self) -> np.ndarray:
        """Mean cached loss of every cluster's members (NaN if none observed)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                self._loss_count > 0,
                self._loss_sum / np.maximum(self._loss_count, 1),
                np.nan,
            )

    # -- sampling ----------------------------------------------------------------
    def __len__(self) -> int:
        if self.n_batches is not None:
            return self.n_batches
        per_batch = self.n_clusters_per_batch * self.samples_per_cluster
        return max(1, -(-self.assignments.shape[0] // per_batch))

    def __iter__(self) -> Iterator[np.ndarray]:
        for _ in range(len(self)):
            yield self.sample_batch()

    def choose_query(self) -> int:
        """Draw a class uniformly, then its hardest (or a uniform) cluster.

        Returns
        -------
        int
            Index of the query cluster.
        """
        classes = np.flatnonzero(self._class_has_cluster > 0)
        cls = classes[self.rng.integers(len(classes))]
        candidates = np.flatnonzero((self._cluster_class == cls) & self._nonempty)
        if self.query == "uniform":
            return int(candidates[self.rng.integers(len(candidates))])
        losses = self.cluster_losses[candidates]
        losses = np.where(np.isnan(losses), np.inf, losses)
        best = candidates[losses == losses.max()]
        return int(best[self.rng.integers(len(best))])

    def neighbour_clusters(self, query: int) -> np.ndarray:
        """The query and its ``M - 1`` most similar clusters (both kinds if possible).

        Parameters
        ----------
        query : int
            Index of the query cluster.

        Returns
        -------
        ndarray
            Cluster indices, the query first, then by decreasing similarity (the
            guaranteed same-/other-class cluster may replace the least similar one).
        """
        sims = self.centroids @ self.centroids[query]
        others = np.flatnonzero(self._nonempty)
        others = others[others != query]
        n_take = self.n_clusters_per_batch - 1
        if others.size <= n_take:
            order = others[np.argsort(-sims[others], kind="stable")]
            return np.concatenate([[query], order]).astype(np.int64)
        order = others[np.argsort(-sims[others], kind="stable")]
        chosen = order[:n_take].copy()
        if n_take >= 2:
            same = self._cluster_class[order] == self._cluster_class[query]
            for wanted in (same, ~same):
                if wanted.any() and not wanted[:n_take].any():
                    chosen[-1] = order[np.argmax(wanted)]
        return np.concatenate([[query], chosen]).astype(np.int64)

    def sample_batch(self) -> np.ndarray:
        """Draw one batch of training-set indices.

        Returns
        -------
        ndarray of int64
            Indices, cluster by cluster (query cluster first).
        """
        clusters = self.neighbour_clusters(self.choose_query())
        parts = []
        for c in clusters:  # a loop over the M clusters of the batch
            size = int(self.cluster_sizes[c])
            k = min(self.samples_per_cluster, size)
            pick = self.rng.choice(size, size=k, replace=False)
            parts.append(self._members[self._starts[c] + pick])
        return np.concatenate(parts).astype(np.int64)


class AlternatingBatchSampler:
    """Each batch comes from one of several batch samplers, drawn uniformly.

    For multi-label CLMLE: one :class:`ClusterBatchSampler` per label, each batch built
    from the clusters of one label (the loss is then applied for every label).

    Parameters
    ----------
    samplers : sequence of batch samplers
        Objects with ``sample_batch()`` and ``__len__``.
    n_batches : int or None, default=None
        Batches per iteration; ``None`` gives the largest length of the samplers.
    random_state : int, numpy.random.Generator or None
        Seed or generator for the choice of sampler.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Secs. 3.3 and 5.4).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.repeat(np.arange(2), 3)
    >>> s1 = ClusterBatchSampler(a, np.eye(2), [0, 1], samples_per_cluster=2,
    ...                          random_state=0)
    >>> s2 = ClusterBatchSampler(a[::-1].copy(), np.eye(2), [1, 0],
    ...                          samples_per_cluster=2, random_state=1)
    >>> both = AlternatingBatchSampler([s1, s2], n_batches=3, random_state=0)
    >>> [b.shape for b in both]
    [(4,), (4,), (4,)]
    """

    def __init__(
        self,
        samplers: Sequence[ClusterBatchSampler],
        *,
        n_batches: int | None = None,
        random_state=None,
    ):
        if len(samplers) == 0:
            raise ValueError("need at least one sampler.")
        self.samplers = list(samplers)
        self.n_batches = n_batches
        self.rng = _as_rng(random_state)
        self.last_sampler_: int | None = None

    def __len__(self) -> int:
        if self.n_batches is not None:
            return int(self.n_batches)
        return max(len(s) for s in self.samplers)

    def __iter__(self) -> Iterator[np.ndarray]:
        for _ in range(len(self)):
            yield self.sample_batch()

    def sample_batch(self) -> np.ndarray:
        """Draw one batch from a sampler chosen uniformly at random.

        Returns
        -------
        ndarray of int64
            Training-set indices; ``last_sampler_`` tells which sampler drew them.
        """
        self.last_sampler_ = int(self.rng.integers(len(self.samplers)))
        return self.samplers[self.last_sampler_].sample_batch()
