"""k-nearest-cluster rule of CLMLE (Huang et al., Eq. 10).

For a query ``q`` with unit-norm embedding ``f(q)``, the ``N`` clusters whose
centroids are most similar (inner product) are retrieved and the predicted class is

.. math::

    y_q = \\arg\\max_c \\; r_c, \\qquad
    r_c = \\frac{\\min_{m:\\,c(\\mu_m)=c} e^{f(q)^\\top\\mu_m}}
               {\\sum_{k:\\,c(\\mu_k)\\neq c} e^{f(q)^\\top\\mu_k}},

both the minimum and the sum running over the ``N`` retrieved clusters only: the class
whose *least* similar retrieved cluster is more similar than the retrieved clusters of
the other classes by the largest margin.

Scores. Eq. 10's ratio is ``0`` for a class with no cluster among the ``N``
(its minimum is over an empty set) and ``+inf`` for a class that owns all ``N``
(empty denominator): on imbalanced data most queries of the majority fall in the
second case, so a score built from the ratio alone is one constant for most rows.
:meth:`KNearestClusterRule.decision_scores` evaluates, for every class ``c``,
Eq. 10 over the ``N`` nearest clusters *that hold a cluster of c and one of
another class* (``max(N, 2)`` of them for ``N = 1``): the plain ``N`` nearest when
they do, else the first ``N' = max(N - 1, 1)`` retrieved ones and the nearest
cluster the ratio lacks. With ``s_1 >= s_2 >= ...`` the retrieved similarities:

* ``c`` has no retrieved cluster: ``log r~_c = max_{m: c(mu_m)=c} f^T mu_m -
  log sum_{k <= N'} e^{s_k}``;
* ``c`` owns all ``N``: ``log r~_c = s_{N'} - max_{k: c(mu_k)!=c} f^T mu_k``;
* otherwise ``log r~_c = log r_c``, Eq. 10 unchanged.

Each score is continuous where the missing cluster enters the ``N`` nearest (it
then equals Eq. 10's ratio there), and the arg-max is Eq. 10's class: an absent
class scores no higher than any retrieved class (its nearest cluster is no more
similar than the ``N``-th, and the kept clusters outweigh any retrieved class's
denominator), a class that owns all ``N`` scores ``>= 0`` and every absent class
``<= 0``, equality needing exactly tied similarities. Scores are finite, in
``[-2 - log N', 2]`` (cosines are in ``[-1, 1]``); a class with no cluster at all
gets ``-3 - log N'`` and the only class with clusters ``3``.
:meth:`~KNearestClusterRule.predict_proba` is their softmax, ``r~_c / sum_c'
r~_c'``, and :meth:`~KNearestClusterRule.predict` their arg-max.
:meth:`~KNearestClusterRule.log_ratios` returns Eq. 10's raw ``log r_c`` with its
``-inf`` and ``+inf``.

Bounded search (many clusters). With more than ``max_exact_clusters`` centroids
the torch search is an inverted-file index: the centroids are grouped into about
``sqrt(n_clusters)`` cells of equal size (the equal-size spherical k-means of
:mod:`skimbalance.cluster`, run on the centroids), a query is compared with the
cell centres and with the centroids of its ``n_probe`` most similar cells only, and
the ``N`` nearest clusters are taken among those. Each class's nearest cluster
(needed where Eq. 10's ratio is ``0`` or infinite) is the most similar of that
class's centroids among the probed ones and ``n_class_representatives`` spread-out
centroids kept per class (k-means++ picks), so it is a real cluster's similarity,
at most the exact one. A query then costs ``O(sqrt(n_clusters) + n_probe *
sqrt(n_clusters))`` similarities instead of ``O(n_clusters)``; with at most
``max_exact_clusters`` clusters, or ``n_probe`` covering every cell, the search is
the exact one.

The search runs over the cluster centroids only (``O(n_clusters)`` per query instead
of ``O(n_samples)``): an exact chunked top-k in PyTorch (``algorithm="torch"``, CPU or
GPU) or a scikit-learn tree/brute-force index (``"kd_tree"``, ``"ball_tree"``,
``"brute"``) built on the centroids.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestNeighbors
from torch import Tensor

__all__ = [
    "KNearestClusterRule",
    "chunked_top_k",
    "k_nearest_cluster_reference",
]

_ALGORITHMS = ("torch", "kd_tree", "ball_tree", "brute")
#: Seed of the index's cells and class representatives (a fitted index depends
#: on the centroids only).
_INDEX_SEED = 0
#: Up to this many classes, each class's nearest cluster is a loop over classes.
_LOOP_CLASSES = 64


class _CellIndex:
    """Inverted-file index over unit centroids (equal-size cells, padded).

    ``centres``: (n_cells, d) float32 cell centres; ``members``: (n_cells,
    width) cluster indices, ``-1`` padding; ``rep_centroids``: (n_classes *
    n_reps, d) float64 class representatives, ``rep_valid`` (n_classes, n_reps)
    marking the real ones.
    """

    def __init__(self, centroids: Tensor, labels: Tensor, n_classes: int, n_reps: int):
        from ..cluster.equal_size_spherical_kmeans import (
            _kmeanspp_init,
            equal_size_spherical_kmeans,
        )

        n_clusters = centroids.shape[0]
        n_cells = max(1, round(math.sqrt(n_clusters)))
        gen = torch.Generator().manual_seed(_INDEX_SEED)
        cell, centres = equal_size_spherical_kmeans(
            centroids, n_cells, random_state=gen
        )
        self.centres = centres.float()
        sizes = torch.bincount(cell, minlength=n_cells)
        self.min_cell = int(sizes.min())
        width = int(sizes.max())
        order = torch.sort(cell, stable=True).indices
        starts = torch.cumsum(sizes, 0) - sizes
        slot = torch.arange(n_clusters, device=cell.device) - starts[cell[order]]
        members = torch.full(
            (n_cells, width), -1, dtype=torch.long, device=centroids.device
        )
        members[cell[order], slot] = order
        self.members = members
        self.member_centroids = centroids[members.clamp(min=0)].float()
        # the padding's similarity is -inf: a padded slot is never retrieved
        self.member_centroids[members < 0] = 0.0
        self._pad = members < 0
        reps = torch.zeros(n_classes, n_reps, dtype=torch.long)
        valid = torch.zeros(n_classes, n_reps, dtype=torch.bool)
        for c in torch.unique(labels).tolist():  # a loop over classes
            own = torch.nonzero(labels == c, as_tuple=True)[0]
            r = min(int(n_reps), own.numel())
            picked = _kmeanspp_init(centroids[own], r, gen)
            reps[c, :r] = own[torch.argmax(centroids[own] @ picked.T, dim=0)].cpu()
            valid[c, :r] = True
        self.rep_centroids = centroids[reps.reshape(-1).to(centroids.device)]
        self.rep_valid = valid.to(centroids.device)

    @property
    def n_cells(self) -> int:
        return int(self.centres.shape[0])

    def nearest(self, q32: Tensor, n_probe: int, k: int) -> Tensor:
        """Indices of the ``k`` most similar probed centroids (float32 ranking).

        The queries of a chunk are grouped by probed cell, so each cell is one
        matrix product (a loop over cells, not queries); the ``k`` nearest lie
        in the ``k`` probed cells with the highest maxima, which alone are
        ranked.
        """
        n, width = q32.shape[0], self.members.shape[1]
        probe = torch.topk(q32 @ self.centres.T, n_probe, dim=1).indices
        flat = probe.reshape(-1)
        order = torch.sort(flat, stable=True).indices
        counts = torch.bincount(flat, minlength=self.n_cells).tolist()
        grouped = q32[order // n_probe]
        out = torch.empty(flat.numel(), width, dtype=q32.dtype, device=q32.device)
        start = 0
        for cell, count in enumerate(counts):  # a loop over cells
            if count:
                stop = start + count
                torch.mm(
                    grouped[start:stop],
                    self.member_centroids[cell].T,
                    out=out[start:stop],
                )
                start = stop
        if self.min_cell < width:  # padded slots (all-zero centroids): never chosen
            out.masked_fill_(self._pad[flat[order]], float("-inf"))
        position = torch.empty_like(order)
        position[order] = torch.arange(order.numel(), device=order.device)
        seg_max = out.amax(dim=1)[position].reshape(n, n_probe)
        n_seg = min(n_probe, k)
        best = torch.topk(seg_max, n_seg, dim=1).indices  # (n, n_seg)
        pair = position.reshape(n, n_probe).gather(1, best)
        pool_sim = out[pair.reshape(-1)].reshape(n, n_seg * width)
        pool_idx = self.members[probe.gather(1, best)].reshape(n, n_seg * width)
        col = torch.topk(pool_sim, k, dim=1, largest=True, sorted=True).indices
        return torch.gather(pool_idx, 1, col)


def chunked_top_k(
    queries: Tensor, keys: Tensor, k: int, chunk_size: int = 4096
) -> tuple[Tensor, Tensor]:
    """Exact top-``k`` inner products of every query against all keys, in chunks.

    Parameters
    ----------
    queries : Tensor of shape (n_queries, n_dims)
    keys : Tensor of shape (n_keys, n_dims)
    k : int
        Number of neighbours, ``1 <= k <= n_keys``.
    chunk_size : int, default=4096
        Query rows per block (memory ``chunk_size * n_keys``).

    Returns
    -------
    sims : Tensor of shape (n_queries, k)
        Inner products, sorted in decreasing order.
    indices : Tensor of shape (n_queries, k)
        Key indices.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 4).

    Examples
    --------
    >>> import torch
    >>> s, i = chunked_top_k(torch.eye(2), torch.tensor([[0.0, 1.0], [1.0, 0.0]]), 1)
    >>> i.ravel().tolist()
    [1, 0]
    """
    if not 1 <= k <= keys.shape[0]:
        raise ValueError(f"k must be in [1, {keys.shape[0]}], got {k}.")
    sims, idx = [], []
    for start in range(0, queries.shape[0], chunk_size):
        block = queries[start : start + chunk_size] @ keys.T
        s, i = torch.topk(block, k, dim=1, largest=True, sorted=True)
        sims.append(s)
        idx.append(i)
    if not sims:
        return queries.new_empty((0, k)), torch.empty(
            (0, k), dtype=torch.long, device=queries.device
        )
    return torch.cat(sims), torch.cat(idx)


def _log_ratio_scores(sims: Tensor, labels: Tensor, n_classes: int) -> Tensor:
    """Log of Eq. 10's ratio for every class from the retrieved clusters.

    ``sims``: (n, N) float64 similarities of the retrieved clusters; ``labels``: (n, N)
    their class codes. Returns (n, n_classes): ``-inf`` for absent classes, ``+inf``
    for the only class present.
    """
    n, n_nb = sims.shape
    dev = sims.device
    row_max = sims.max(dim=1, keepdim=True).values
    exp = torch.exp(sims - row_max)
    total = exp.sum(dim=1, keepdim=True)
    class_sum = torch.zeros(n, n_classes, dtype=sims.dtype, device=dev)
    class_sum.scatter_add_(1, labels, exp)
    class_count = torch.zeros(n, n_classes, dtype=torch.long, device=dev)
    class_count.scatter_add_(1, labels, torch.ones_like(labels))
    class_min = torch.full((n, n_classes), float("inf"), dtype=sims.dtype, device=dev)
    class_min.scatter_reduce_(1, labels, sims, reduce="amin")
    present = class_count > 0
    others = n_nb - class_count
    other_sum = torch.clamp(total - class_sum, min=torch.finfo(sims.dtype).tiny)
    log_other = torch.log(other_sum) + row_max
    scores = class_min - log_other
    scores = torch.where(others == 0, torch.full_like(scores, float("inf")), scores)
    return torch.where(present, scores, torch.full_like(scores, float("-inf")))


def _class_max(sims: Tensor, labels: Tensor, n_classes: int) -> Tensor:
    """Per class, the largest similarity of its clusters; ``-inf`` if it has none.

    ``sims``: (n, n_clusters) similarities to every centroid; ``labels``: (n_clusters,).
    """
    out = torch.full(
        (sims.shape[0], n_classes), float("-inf"), dtype=sims.dtype, device=sims.device
    )
    return out.scatter_reduce_(
        1, labels.expand(sims.shape[0], -1), sims, reduce="amax", include_self=True
    )


def _class_max_by_columns(sims: Tensor, columns: list[Tensor] | None) -> Tensor:
    """:func:`_class_max` from each class's column indices (the same values).

    ``columns[c]``: the indices of class ``c``'s clusters. A loop over classes
    (column maxima), several times faster than the scatter on the CPU; used
    up to ``_LOOP_CLASSES`` classes.
    """
    out = torch.full(
        (sims.shape[0], len(columns)),
        float("-inf"),
        dtype=sims.dtype,
        device=sims.device,
    )
    for c, cols in enumerate(columns):  # a loop over classes
        if cols.numel():
            out[:, c] = sims.index_select(1, cols).amax(dim=1)
    return out


def _extended_scores(
    sims: Tensor, labels: Tensor, class_max: Tensor, n_classes: int
) -> Tensor:
    """Eq. 10's log-ratio over the nearest clusters that make both terms non-empty.

    ``sims``, ``labels``: (n, N) retrieved similarities (decreasing) and classes;
    ``class_max``: (n, n_classes) similarity of every class's nearest cluster.
    Returns finite (n, n_classes) scores whose row arg-max is Eq. 10's class.
    """
    # the N nearest clusters that hold a cluster of c and one of another class:
    # the first max(N - 1, 1) retrieved ones and the cluster the ratio lacks
    n_keep = max(sims.shape[1] - 1, 1)
    kept = sims[:, :n_keep]
    raw = _log_ratio_scores(sims, labels, n_classes)
    # c has no retrieved cluster: its nearest cluster against the kept ones
    absent = class_max - torch.logsumexp(kept, dim=1, keepdim=True)
    # c owns all N: its least similar kept cluster against the nearest cluster
    # of any other class
    if n_classes >= 2:
        top2 = torch.topk(class_max, 2, dim=1).values
        other_max = torch.where(class_max >= top2[:, :1], top2[:, 1:], top2[:, :1])
    else:
        other_max = torch.full_like(class_max, float("-inf"))
    only = kept[:, -1:] - other_max
    scores = torch.where(torch.isneginf(raw), absent, raw)
    scores = torch.where(torch.isposinf(raw), only, scores)
    # classes with no cluster at all / the only class that has clusters
    low = -3.0 - math.log(n_keep)
    return torch.nan_to_num(scores, nan=low, posinf=3.0, neginf=low)


class KNearestClusterRule:
    """Classify embeddings by the k-nearest-cluster rule of CLMLE (Eq. 10).

    Parameters
    ----------
    n_neighbors : int, default=20
        ``N``, the number of retrieved clusters (capped at the number of clusters).
    algorithm : {"torch", "kd_tree", "ball_tree", "brute"}, default="torch"
        Nearest-centroid search: an exact chunked top-k in PyTorch (on the device of
        the centroids), or a scikit-learn index over the centroids (Euclidean distance
        on unit vectors, which ranks like the inner product).
    chunk_size : int, default=4096
        Query rows per block.
    max_exact_clusters : int or None, default=2048
        With more clusters than this, the torch search probes an index of
        about ``sqrt(n_clusters)`` cells (see the module's docstring) instead
        of comparing every query with every centroid. ``None``: always exact.
    n_probe : int, default=16
        Cells searched per query by the index (raised where needed so that
        the probed cells hold at least ``N`` clusters); as many as there are
        cells gives the exact search.
    n_class_representatives : int, default=8
        Spread-out centroids kept per class by the index, so that every
        class's nearest cluster is estimated even when none of its clusters
        is in the probed cells.

    Attributes
    ----------
    centroids_ : Tensor of shape (n_clusters, n_dims)
        Unit-norm centroids (float64).
    cluster_labels_ : Tensor of shape (n_clusters,)
        Class code of every centroid.
    n_classes_ : int
        Number of classes.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 4, Eq. 10).

    Examples
    --------
    >>> import torch
    >>> centroids = torch.tensor([[1.0, 0.0], [0.8, 0.6], [-1.0, 0.0]])
    >>> rule = KNearestClusterRule(n_neighbors=2).fit(centroids, [0, 1, 1])
    >>> rule.predict(torch.tensor([[1.0, 0.1], [-1.0, 0.2]])).tolist()
    [0, 1]
    >>> rule.predict_proba(torch.tensor([[-1.0, 0.2]])).round(decimals=4).tolist()
    [[0.0194, 0.9806]]
    """

    def __init__(
        self,
        n_neighbors: int = 20,
        *,
        algorithm: str = "torch",
        chunk_size: int = 4096,
        max_exact_clusters: int | None = 2048,
        n_probe: int = 16,
        n_class_representatives: int = 8,
    ):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.chunk_size = chunk_size
        self.max_exact_clusters = max_exact_clusters
        self.n_probe = n_probe
        self.n_class_representatives = n_class_representatives

    def fit(self, centroids, cluster_labels, n_classes: int | None = None):
        """Index the cluster centroids.

        Parameters
        ----------
        centroids : array-like or Tensor of shape (n_clusters, n_dims)
            Cluster centroids (L2-normalised here).
        cluster_labels : array-like or Tensor of shape (n_clusters,)
            Class code ``0..n_classes-1`` of every centroid.
        n_classes : int or None
            Number of classes (default: ``max(cluster_labels) + 1``).

        Returns
        -------
        self
        """
        if self.algorithm not in _ALGORITHMS:
            raise ValueError(
                f"algorithm must be one of {_ALGORITHMS}, got {self.algorithm!r}."
            )
        if int(self.n_neighbors) < 1:
            raise ValueError("n_neighbors must be a positive integer.")
        if self.max_exact_clusters is not None and int(self.max_exact_clusters) < 1:
            raise ValueError("max_exact_clusters must be a positive integer or None.")
        if int(self.n_probe) < 1:
            raise ValueError("n_probe must be a positive integer.")
        if int(self.n_class_representatives) < 1:
            raise ValueError("n_class_representatives must be a positive integer.")
        c = torch.as_tensor(centroids)
        if c.ndim != 2 or c.shape[0] == 0:
            raise ValueError("centroids must be a non-empty 2-D array.")
        self.centroids_ = F.normalize(c.to(torch.float64), dim=1)
        labels = torch.as_tensor(cluster_labels, device=c.device).reshape(-1).long()
        if labels.shape[0] != c.shape[0]:
            raise ValueError("need one label per centroid.")
        if bool((labels < 0).any()):
            raise ValueError("cluster labels must be class codes >= 0.")
        self.n_classes_ = int(labels.max()) + 1 if n_classes is None else int(n_classes)
        if int(labels.max()) >= self.n_classes_:
            raise ValueError("cluster labels must be smaller than n_classes.")
        self.cluster_labels_ = labels
        self._cells = None
        self._probe = 0
        if self.algorithm == "torch" and self.max_exact_clusters is not None:
            if c.shape[0] > int(self.max_exact_clusters):
                cells = _CellIndex(
                    self.centroids_,
                    labels,
                    self.n_classes_,
                    int(self.n_class_representatives),
                )
                # enough cells for N candidates; all of them is the exact search
                probe = max(int(self.n_probe), -(-self.n_neighbors_ // cells.min_cell))
                if probe < cells.n_cells:
                    self._cells, self._probe = cells, probe
        if self.algorithm != "torch":
            points = self.centroids_.cpu().numpy()
            self._index = NearestNeighbors(algorithm=self.algorithm).fit(points)
            codes = labels.cpu().numpy()
            self._class_index = {}
            for c in np.unique(codes):
                members = np.flatnonzero(codes == c)
                index = NearestNeighbors(algorithm=self.algorithm).fit(points[members])
                self._class_index[int(c)] = (index, members)
        return self

    @property
    def n_neighbors_(self) -> int:
        """Number of clusters actually retrieved, ``min(n_neighbors, n_clusters)``."""
        return min(int(self.n_neighbors), self.centroids_.shape[0])

    def _queries(self, queries) -> Tensor:
        q = torch.as_tensor(queries)
        if q.ndim != 2 or q.shape[1] != self.centroids_.shape[1]:
            raise ValueError(
                f"queries must have shape (n, {self.centroids_.shape[1]}), "
                f"got {tuple(q.shape)}."
            )
        return F.normalize(q.to(self.centroids_.device, torch.float64), dim=1)

    def kneighbors(self, queries) -> tuple[Tensor, Tensor]:
        """Retrieve the ``N`` most similar clusters of every query.

        Parameters
        ----------
        queries : array-like or Tensor of shape (n_queries, n_dims)
            Query embeddings (L2-normalised here).

        Returns
        -------
        sims : Tensor of shape (n_queries, N)
            Inner products with the retrieved centroids (float64, decreasing).
        indices : Tensor of shape (n_queries, N)
            Indices of the retrieved clusters.
        """
        q = self._queries(queries)
        k = self.n_neighbors_
        if getattr(self, "_cells", None) is not None:
            sims, idx, _ = self._indexed_search(q, with_class_max=False)
            return sims, idx
        if self.algorithm == "torch":
            return chunked_top_k(q, self.centroids_, k, self.chunk_size)
        _, idx = self._index.kneighbors(q.cpu().numpy(), n_neighbors=k)
        idx = torch.as_tensor(idx, dtype=torch.long, device=q.device)
        sims = torch.einsum("nd,nkd->nk", q, self.centroids_[idx])
        sims, order = torch.sort(sims, dim=1, descending=True, stable=True)
        return sims, torch.gather(idx, 1, order)

    def _search(self, queries) -> tuple[Tensor, Tensor, Tensor]:
        """Retrieved similarities, their classes and every class's nearest cluster.

        In chunks of ``chunk_size`` queries. The torch search reads one similarity
        block per chunk for both; a scikit-learn index answers the ``N``-nearest
        query and one nearest-cluster query per class (an index per class).
        """
        q = self._queries(queries)
        k = self.n_neighbors_
        n_classes = self.n_classes_
        if q.shape[0] == 0:
            empty = q.new_empty((0, k))
            return empty, empty.long(), q.new_empty((0, n_classes))
        if self.algorithm != "torch":
            sims, idx = self.kneighbors(q)
            class_max = torch.full(
                (q.shape[0], n_classes), float("-inf"), dtype=q.dtype, device=q.device
            )
            points = q.cpu().numpy()
            for c, (index, members) in self._class_index.items():
                _, nearest = index.kneighbors(points, n_neighbors=1)
                rows = torch.as_tensor(members[nearest[:, 0]], device=q.device)
                centroid = self.centroids_[rows]
                class_max[:, c] = (q * centroid).sum(dim=1)
            return sims, self.cluster_labels_[idx], class_max
        if getattr(self, "_cells", None) is not None:
            sims, idx, class_max = self._indexed_search(q, with_class_max=True)
            return sims, self.cluster_labels_[idx], class_max
        columns = None
        if n_classes <= _LOOP_CLASSES:
            columns = [
                torch.nonzero(self.cluster_labels_ == c, as_tuple=True)[0]
                for c in range(n_classes)
            ]
        parts = []
        for start in range(0, q.shape[0], int(self.chunk_size)):
            block = q[start : start + int(self.chunk_size)] @ self.centroids_.T
            s, i = torch.topk(block, k, dim=1, largest=True, sorted=True)
            parts.append(
                (
                    s,
                    self.cluster_labels_[i],
                    _class_max(block, self.cluster_labels_, n_classes)
                    if columns is None
                    else _class_max_by_columns(block, columns),
                )
            )
        return tuple(torch.cat(p) for p in zip(*parts, strict=True))

    @property
    def exact_(self) -> bool:
        """Whether the search compares every query with every centroid."""
        return getattr(self, "_cells", None) is None

    def _indexed_search(self, q: Tensor, *, with_class_max: bool):
        """Top-``N`` (and each class's nearest cluster) through the cell index.

        Candidates are ranked in float32: the ``N`` nearest lie in the ``N``
        probed cells with the highest maxima, so only those cells are ranked,
        and the ``N`` retrieved similarities are recomputed in float64. A
        class among the ``N`` has its nearest cluster there; for the others,
        their nearest representative stands in (a real cluster, at most as
        similar as the nearest).
        """
        k, n_classes = self.n_neighbors_, self.n_classes_
        cells = self._cells
        labels = self.cluster_labels_
        parts = []
        for start in range(0, q.shape[0], int(self.chunk_size)):
            rows = q[start : start + int(self.chunk_size)]
            n = rows.shape[0]
            top = cells.nearest(rows.float(), self._probe, k)
            # the N nearest, in float64, re-sorted (stable) by the exact values
            s64 = torch.einsum("nd,nkd->nk", rows, self.centroids_[top])
            s64, order = torch.sort(s64, dim=1, descending=True, stable=True)
            top = torch.gather(top, 1, order)
            if not with_class_max:
                parts.append((s64, top))
                continue
            rep_sim = (rows @ cells.rep_centroids.T).reshape(n, n_classes, -1)
            class_max = rep_sim.masked_fill(~cells.rep_valid, float("-inf")).amax(2)
            class_max.scatter_reduce_(1, labels[top], s64, reduce="amax")
            parts.append((s64, top, class_max))
        if not parts:
            empty = q.new_empty((0, k))
            out = [empty, empty.long(), q.new_empty((0, n_classes))]
        else:
            out = [torch.cat(p) for p in zip(*parts, strict=True)]
        return out[0], out[1], (out[2] if with_class_max else None)

    def log_ratios(self, queries) -> Tensor:
        """Log of Eq. 10's ratio ``r_c`` for every class, as printed.

        Parameters
        ----------
        queries : array-like or Tensor of shape (n_queries, n_dims)

        Returns
        -------
        Tensor of shape (n_queries, n_classes)
            ``min_m f^T mu_m - log sum_k e^{f^T mu_k}`` over the retrieved clusters;
            ``-inf`` for classes with no retrieved cluster, ``+inf`` for the only
            retrieved class.
        """
        sims, idx = self.kneighbors(queries)
        return _log_ratio_scores(sims, self.cluster_labels_[idx], self.n_classes_)

    def decision_scores(self, queries) -> Tensor:
        """Eq. 10's log-ratio, extended where it is ``-inf`` or ``+inf``.

        Parameters
        ----------
        queries : array-like or Tensor of shape (n_queries, n_dims)

        Returns
        -------
        Tensor of shape (n_queries, n_classes)
            Finite scores (float64): ``log r_c`` where both terms of Eq. 10 are
            non-empty; for a class with no retrieved cluster its nearest
            cluster's similarity minus the log-sum-exp of the retrieved ones; for
            the only retrieved class its least similar retrieved cluster's
            similarity minus that of the nearest cluster of another class (see
            the module's docstring). The row arg-max is Eq. 10's class.
        """
        sims, labels, class_max = self._search(queries)
        return _extended_scores(sims, labels, class_max, self.n_classes_)

    def predict_proba(self, queries) -> Tensor:
        """Softmax of :meth:`decision_scores`, ``r~_c / sum_c' r~_c'``.

        Parameters
        ----------
        queries : array-like or Tensor of shape (n_queries, n_dims)

        Returns
        -------
        Tensor of shape (n_queries, n_classes)
            Rows sum to one; equals Eq. 10's normalised ratio ``r_c / sum r`` when
            every class has a finite, non-zero ratio.
        """
        return torch.softmax(self.decision_scores(queries), dim=1)

    def predict(self, queries) -> Tensor:
        """Class codes predicted by Eq. 10.

        Parameters
        ----------
        queries : array-like or Tensor of shape (n_queries, n_dims)

        Returns
        -------
        Tensor of shape (n_queries,)
            Predicted class codes (ties go to the smallest code).
        """
        return torch.argmax(self.decision_scores(queries), dim=1)


def k_nearest_cluster_reference(
    queries, centroids, cluster_labels, n_neighbors: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force, loop-by-loop evaluation of Eq. 10 (a reference for tests).

    Parameters
    ----------
    queries : array-like of shape (n_queries, n_dims)
    centroids : array-like of shape (n_clusters, n_dims)
    cluster_labels : array-like of shape (n_clusters,)
        Class codes ``0..n_classes-1``.
    n_neighbors : int
        ``N`` (capped at the number of clusters).
    n_classes : int

    Returns
    -------
    predictions : ndarray of shape (n_queries,)
        Predicted class codes.
    ratios : ndarray of shape (n_queries, n_classes)
        ``r_c`` of Eq. 10 (0 for absent classes, ``inf`` for the only class present).

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Eq. 10).

    Examples
    --------
    >>> pred, r = k_nearest_cluster_reference([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]],
    ...                                       [0, 1], 2, 2)
    >>> pred.tolist(), round(float(r[0, 0]), 4)
    ([0], 2.7183)
    """
    q = np.asarray(queries, dtype=np.float64)
    c = np.asarray(centroids, dtype=np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(cluster_labels).astype(int)
    n_nb = min(int(n_neighbors), c.shape[0])
    preds = np.zeros(q.shape[0], dtype=int)
    ratios = np.zeros((q.shape[0], n_classes))
    for i in range(q.shape[0]):
        sims = [float(np.dot(q[i], c[m])) for m in range(c.shape[0])]
        retrieved = sorted(range(c.shape[0]), key=lambda m: -sims[m])[:n_nb]
        for cls in range(n_classes):
            own = [sims[m] for m in retrieved if labels[m] == cls]
            other = [sims[m] for m in retrieved if labels[m] != cls]
            if not own:
                ratios[i, cls] = 0.0
            elif not other:
                ratios[i, cls] = np.inf
            else:
                ratios[i, cls] = np.exp(min(own)) / sum(np.exp(s) for s in other)
        preds[i] = int(np.argmax(ratios[i]))
    return preds, ratios
