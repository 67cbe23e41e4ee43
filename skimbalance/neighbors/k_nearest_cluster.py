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

Score (``predict_proba``): ``r_c / sum_c' r_c'``, a normalised version of the very
ratio Eq. 10 maximises (a softmax of the log-ratios), so its arg-max is the
prediction. Choices where the paper is open:

* a class with no cluster among the ``N`` has no minimum (``r_c = 0``,
  log-ratio ``-inf``); when all ``N`` retrieved clusters belong to one class, the
  denominator is empty (``r_c = +inf``). With unit vectors every finite log-ratio
  lies in ``[-2 - log(N - 1), 2]`` (cosines are in ``[-1, 1]``), so for the score
  the two cases are given the log-ratios ``-3 - log(N - 1)`` (below every attainable
  value: the lowest score) and ``3`` (above every attainable value). Scores are
  then strictly between 0 and 1, as scikit-learn expects of probabilities, and the
  order of the classes is Eq. 10's;
* :meth:`KNearestClusterRule.decision_scores` returns the raw log-ratio
  ``log r_c = min_m f^T mu_m - log sum_k e^{f^T mu_k}`` with its ``-inf`` and
  ``+inf``.

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


def _proba_from_log_scores(scores: Tensor, n_neighbors: int) -> Tensor:
    """``r_c / sum r`` from log-ratios, the infinite ones set just outside the range.

    Finite log-ratios of unit vectors lie in ``[-2 - log(N - 1), 2]``; ``-inf``
    becomes one below that range, ``+inf`` one above.
    """
    low = -2.0 - math.log(max(n_neighbors - 1, 1)) - 1.0
    finite = torch.clamp(scores, min=low, max=3.0)
    return torch.softmax(finite, dim=1)


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
    [[0.0025, 0.9975]]
    """

    def __init__(
        self, n_neighbors: int = 20, *, algorithm: str = "torch", chunk_size: int = 4096
    ):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.chunk_size = chunk_size

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
        if self.algorithm != "torch":
            self._index = NearestNeighbors(algorithm=self.algorithm).fit(
                self.centroids_.cpu().numpy()
            )
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
        if self.algorithm == "torch":
            return chunked_top_k(q, self.centroids_, k, self.chunk_size)
        _, idx = self._index.kneighbors(q.cpu().numpy(), n_neighbors=k)
        idx = torch.as_tensor(idx, dtype=torch.long, device=q.device)
        sims = torch.einsum("nd,nkd->nk", q, self.centroids_[idx])
        sims, order = torch.sort(sims, dim=1, descending=True, stable=True)
        return sims, torch.gather(idx, 1, order)

    def decision_scores(self, queries) -> Tensor:
        """Log of Eq. 10's ratio ``r_c`` for every class.

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

    def predict_proba(self, queries) -> Tensor:
        """Normalised score ``r_c / sum_c' r_c'`` (rows sum to one).

        Parameters
        ----------
        queries : array-like or Tensor of shape (n_queries, n_dims)

        Returns
        -------
        Tensor of shape (n_queries, n_classes)
            Strictly between 0 and 1; the lowest for classes with no retrieved
            cluster; arg-max equals :meth:`predict`.
        """
        return _proba_from_log_scores(self.decision_scores(queries), self.n_neighbors_)

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
        return torch.argmax(self.predict_proba(queries), dim=1)


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
