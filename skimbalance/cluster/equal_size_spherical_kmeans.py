"""Equal-size spherical k-means, run per class (CLMLE, Huang et al., Eqs. 6-7).

CLMLE keeps, for every class ``c`` with ``L_c`` training points, ``K = floor(L_c / l)``
clusters (at least one) of equal size ``l`` on the unit hypersphere. Plain spherical
k-means gives clusters of any size, so the assignment step here is
capacity-constrained: the ``L_c`` points are shared out so that cluster sizes differ by
at most one (``L_c mod K`` clusters get one extra point).

Algorithm (one k-means round = capacity-constrained assignment + centroid update):

1. Initialise the ``K`` centroids with spherical k-means++ (seeded; the uniform draws
   are taken up front from a CPU :class:`torch.Generator`, so the result is the same on
   every run and device-independent in its random stream).
2. Assignment by point-proposing deferred acceptance (Gale-Shapley for the
   hospitals/residents problem): every unassigned point proposes to its most similar
   cluster that has not rejected it yet; every cluster keeps the proposals (and points
   already held) with the highest cosine similarity up to its capacity and rejects the
   rest. Rejected points propose to their next choice in the following round. All
   points of a round are handled at once (sorting, no loop over points). Because the
   capacities sum to the number of points, every point ends up assigned and every
   cluster holds exactly its capacity; the matching is stable (no point and cluster
   prefer each other to their current partners) and, being the point-optimal stable
   matching, does not depend on the order of proposals. A full cluster's least
   similar member sets a threshold that only rises, so a point's next choice is its
   most similar cluster above threshold; each point caches its ``n_candidates`` most
   similar centroids (computed in chunks of ``chunk_size`` rows) and the few points
   that run out of cached candidates search again, in chunks, among the clusters
   above threshold. Memory is ``O(n * n_candidates + chunk_size * K)``, never
   ``O(n^2)``.
3. Which ``L_c mod K`` clusters get the one extra point is decided by demand: the
   clusters that most points like best (unconstrained arg-max) get it.
4. Centroid update by Eq. 7 (normalised mean of the members). Rounds stop when the
   assignment no longer changes, when the objective of Eq. 6
   (``sum_k ||sum_{i in k} f_i||``) rises by less than ``tol`` (relative), or after
   ``n_iter`` rounds; the assignment with the highest objective is returned.

Bounded candidates (large classes). A class of more than ``max_block_size`` points
is first cut, recursively, into balanced blocks (a capacity-constrained spherical
k-means with at most ``fanout`` centres, whose assignment runs by rounds of
choices: each unassigned point asks for its next most similar centre), until every
block holds at most ``max_block_size`` points; the equal-size k-means above then runs
within each block independently, with the block's share of the class's clusters. The
cut is planned from the class's cluster sizes (every block gets whole clusters, and
the ``L_c mod K`` clusters of one extra point are spread over the blocks), so the
clusters still have ``floor(L_c / K)`` or one more points. A point is compared with
``fanout`` centres per level and with its block's ``max_block_size / l`` centroids:
``O(n log n)`` in all instead of ``O(n^2 / l)``. A class of at most
``max_block_size`` points is clustered exactly as without the cut.

Cost per round: one chunked similarity pass with a row-wise maximum
(``O(n K d)``), plus a few hundred cheap vectorised acceptance rounds. On one CPU
thread a class of 10^5 points in 64 dimensions with 500 clusters takes about 5 s
in all; re-clustering slowly moving embeddings from the previous centroids
(``init`` / ``previous``) converges in fewer rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "ClusterSet",
    "balanced_assignment",
    "cluster_by_class",
    "equal_size_spherical_kmeans",
    "equal_sizes",
    "hierarchical_equal_size_spherical_kmeans",
    "n_clusters_for_size",
]


#: Final bid increment of the auction (cosine units): the assignment found is
#: within ``n_samples * epsilon`` of the optimum of Eq. 6 for fixed centroids.
AUCTION_EPSILON = 1e-9
#: First bid increment and its reduction factor between phases (epsilon-scaling).
_AUCTION_EPSILON_START = 0.25
_AUCTION_EPSILON_FACTOR = 0.1
#: Cached most similar centroids per point in the auction (at least).
_AUCTION_CACHE = 16
#: Largest class clustered in one piece by :func:`cluster_by_class` (default).
MAX_BLOCK_SIZE = 8192
#: Most blocks a set is cut into at one level of the hierarchical partition.
FANOUT = 8
#: Rounds of the balanced k-means that cuts a set into blocks.
_SPLIT_ITER = 5


@dataclass(frozen=True)
class ClusterSet:
    """Clusters of a labelled training set, as returned by :func:`cluster_by_class`.

    Parameters
    ----------
    assignments : Tensor of shape (n_samples,)
        Index (into ``centroids``) of the cluster of every training point (int64).
    centroids : Tensor of shape (n_clusters, n_dims)
        Unit-norm cluster centroids (normalised member means, Eq. 7).
    cluster_labels : Tensor of shape (n_clusters,)
        Class label of every cluster (same values and dtype as the labels given).
    sizes : Tensor of shape (n_clusters,)
        Number of members of every cluster (int64).

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 3.2).

    Examples
    --------
    >>> import torch
    >>> cs = cluster_by_class(torch.randn(12, 3), torch.tensor([0] * 8 + [1] * 4), 4)
    >>> cs.n_clusters, cs.sizes.tolist(), cs.cluster_labels.tolist()
    (3, [4, 4, 4], [0, 0, 1])
    """

    assignments: Tensor
    centroids: Tensor
    cluster_labels: Tensor
    sizes: Tensor

    @property
    def n_clusters(self) -> int:
        """Number of clusters over all classes."""
        return int(self.centroids.shape[0])


def _check_finite(x, name):
    """Raise a clear ValueError when ``x`` holds NaN or infinite values."""
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(
            f"{name} hold {bad} non-finite value(s) (NaN or inf) out of {x.numel()}; "
            "spherical k-means needs finite points. Embeddings of a network go "
            "non-finite when its training diverged (a learning rate too high, inputs "
            "on a very large scale, extreme class or sample weights)."
        )


def n_clusters_for_size(n_samples: int, cluster_size: int) -> int:
    """Number of clusters ``K = max(1, floor(n_samples / cluster_size))``.

    Parameters
    ----------
    n_samples : int
        Size ``L_c`` of the class.
    cluster_size : int
        Desired cluster size ``l`` (positive).

    Returns
    -------
    int
        ``K``; a class smaller than ``cluster_size`` gets one cluster.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 3.2).

    Examples
    --------
    >>> n_clusters_for_size(450, 200), n_clusters_for_size(30, 200)
    (2, 1)
    """
    if cluster_size < 1:
        raise ValueError(
            f"cluster_size must be a positive integer, got {cluster_size}."
        )
    return max(1, int(n_samples) // int(cluster_size))


def equal_sizes(n_samples: int, n_clusters: int) -> Tensor:
    """Sizes of ``n_clusters`` clusters sharing ``n_samples`` points equally.

    The first ``n_samples mod n_clusters`` clusters get one point more, so sizes differ
    by at most one and sum to ``n_samples``.

    Parameters
    ----------
    n_samples : int
        Number of points.
    n_clusters : int
        Number of clusters, ``1 <= n_clusters <= n_samples``.

    Returns
    -------
    Tensor of shape (n_clusters,)
        The sizes (int64).

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 3.2).

    Examples
    --------
    >>> equal_sizes(11, 3).tolist()
    [4, 4, 3]
    """
    if not 1 <= n_clusters <= n_samples:
        raise ValueError(
            f"n_clusters must be in [1, n_samples={n_samples}], got {n_clusters}."
        )
    sizes = torch.full((n_clusters,), n_samples // n_clusters, dtype=torch.long)
    sizes[: n_samples % n_clusters] += 1
    return sizes


def _as_generator(random_state) -> torch.Generator:
    if isinstance(random_state, torch.Generator):
        return random_state
    gen = torch.Generator()
    if random_state is None:
        gen.seed()
    else:
        gen.manual_seed(int(random_state))
    return gen


def _topk_chunked(
    x: Tensor, centroids: Tensor, k: int, chunk_size: int
) -> tuple[Tensor, Tensor]:
    """Top-``k`` cosine similarities of every row of ``x``, rows sorted descending."""
    vals, idx = [], []
    for start in range(0, x.shape[0], chunk_size):
        sim = x[start : start + chunk_size] @ centroids.T
        v, i = _top(sim, k)
        vals.append(v)
        idx.append(i)
    if not vals:
        empty = x.new_empty((0, k))
        return empty, empty.long()
    return torch.cat(vals), torch.cat(idx)


def _top(sim: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Row-wise top-``k`` (sorted); ``max`` for ``k = 1``, several times faster."""
    if k == 1:
        v, i = sim.max(dim=1, keepdim=True)
        return v, i
    return torch.topk(sim, k, dim=1, largest=True, sorted=True)


def _stable_argsort(values: Tensor, descending: bool = False) -> Tensor:
    return torch.sort(values, stable=True, descending=descending).indices


def balanced_assignment(
    x: Tensor,
    centroids: Tensor,
    capacities: Tensor,
    *,
    method: str = "deferred_acceptance",
    epsilon: float = AUCTION_EPSILON,
    n_candidates: int = 1,
    chunk_size: int = 4096,
) -> Tensor:
    """Assign points to centroids with exact cluster capacities.

    ``method="auction"`` maximises the summed similarity
    ``sum_i x_i^T c_{k(i)}`` under the capacities (the assignment step of Eq. 6)
    to within ``n_samples * epsilon``: an auction for the transportation
    problem (Bertsekas) with epsilon-scaling, in float64. Its clusters' final
    prices give an upper bound on the optimum that the result is within
    ``n_samples * epsilon`` of.

    ``method="deferred_acceptance"`` (default) is point-proposing deferred acceptance:
    points propose to their most similar centroid that has not rejected them;
    each cluster keeps its ``capacities[k]`` most similar proposers. The result
    is a stable matching, which in general does not maximise the summed
    similarity (a few percent below on random data).

    Parameters
    ----------
    x : Tensor of shape (n_samples, n_dims)
        Points (unit-norm rows for spherical clustering).
    centroids : Tensor of shape (n_clusters, n_dims)
        Centroids.
    capacities : Tensor of shape (n_clusters,)
        Non-negative integer capacities summing to ``n_samples``.
    method : {"deferred_acceptance", "auction"}, default="deferred_acceptance"
        Optimal (auction) or stable (deferred acceptance) assignment.
    epsilon : float, default=1e-9
        Final bid increment of the auction (similarity units); the result is
        within ``n_samples * epsilon`` of the optimal summed similarity.
    n_candidates : int, default=1
        Length of each point's cached preference list (refreshed when exhausted);
        the auction caches at least 16.
    chunk_size : int, default=4096
        Rows per similarity block; bounds memory by ``chunk_size * n_clusters``.

    Returns
    -------
    Tensor of shape (n_samples,)
        Cluster index of every point; ``bincount(result) == capacities``.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Eq. 6).
    .. [2] D. P. Bertsekas and D. A. Castanon, "The auction algorithm for the
       transportation problem", Annals of Operations Research, 20, 1989.
    .. [3] D. Gale and L. S. Shapley, "College Admissions and the Stability of
       Marriage", The American Mathematical Monthly, 69(1), 1962.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.0, 1.0]])
    >>> c = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> balanced_assignment(x, c, torch.tensor([2, 2])).tolist()
    [0, 0, 1, 1]
    """
    n, n_clusters = x.shape[0], centroids.shape[0]
    device = x.device
    capacities = torch.as_tensor(capacities, dtype=torch.long, device=device)
    if capacities.shape != (n_clusters,) or bool((capacities < 0).any()):
        raise ValueError("capacities must be non-negative, one per centroid.")
    if int(capacities.sum()) != n:
        raise ValueError(
            f"capacities must sum to the number of points ({n}), "
            f"got {int(capacities.sum())}."
        )
    _check_method(method, epsilon)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=device)
    if method == "auction":
        width = _auction_width(n_candidates, n_clusters)
        return _auction_from_scratch(
            x, centroids, capacities, width, epsilon, chunk_size
        )
    width = max(1, min(int(n_candidates), n_clusters))
    cand_sim, cand_idx = _topk_chunked(x, centroids, width, chunk_size)
    return _deferred_acceptance(
        x, centroids, capacities, cand_sim, cand_idx, chunk_size
    )


def _deferred_acceptance(
    x: Tensor,
    centroids: Tensor,
    capacities: Tensor,
    cand_sim: Tensor,
    cand_idx: Tensor,
    chunk_size: int,
) -> Tensor:
    """Point-proposing deferred acceptance from cached preference lists.

    A full cluster rejects anyone not more similar than its least similar member (its
    threshold); members are only ever replaced by more similar points, so thresholds
    only rise. Hence a cluster that rejected a point stays below it for good, and a
    point's next proposal is simply its most similar cluster above threshold: the
    first such entry of its cached (sorted) candidates, or, when none is left there,
    the best of a fresh chunked search over the clusters still above threshold.
    """
    n, n_clusters = x.shape[0], centroids.shape[0]
    device = x.device
    cand_sim, cand_idx = cand_sim.clone(), cand_idx.clone()
    assigned = torch.full((n,), -1, dtype=torch.long, device=device)
    held_sim = torch.full((n,), float("-inf"), dtype=x.dtype, device=device)
    threshold = torch.full((n_clusters,), float("-inf"), dtype=x.dtype, device=device)
    threshold[capacities == 0] = float("inf")
    free = torch.arange(n, device=device)
    while free.numel() > 0:
        prop_col = _first_viable(cand_sim[free], cand_idx[free], threshold)
        stuck = prop_col < 0
        if bool(stuck.any()):
            pts = free[stuck]
            _refresh_candidates(
                x, centroids, pts, threshold, cand_sim, cand_idx, chunk_size
            )
            prop_col[stuck] = 0
        prop_cluster = cand_idx[free, prop_col]
        prop_sim = cand_sim[free, prop_col]
        touched = torch.zeros(n_clusters, dtype=torch.bool, device=device)
        touched[prop_cluster] = True
        held = torch.nonzero(
            (assigned >= 0) & touched[assigned.clamp(min=0)], as_tuple=True
        )[0]
        pool_pts = torch.cat([held, free])
        pool_cl = torch.cat([assigned[held], prop_cluster])
        pool_sim = torch.cat([held_sim[held], prop_sim])
        # Order: cluster ascending, similarity descending, point index ascending.
        order = _stable_argsort(pool_pts)
        order = order[_stable_argsort(pool_sim[order], descending=True)]
        order = order[_stable_argsort(pool_cl[order])]
        s_pts, s_cl, s_sim = pool_pts[order], pool_cl[order], pool_sim[order]
        counts = torch.bincount(s_cl, minlength=n_clusters)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(s_cl.numel(), device=device) - starts[s_cl]
        accept = rank < capacities[s_cl]
        assigned[s_pts[accept]] = s_cl[accept]
        held_sim[s_pts[accept]] = s_sim[accept]
        rejected = s_pts[~accept]
        assigned[rejected] = -1
        held_sim[rejected] = float("-inf")
        # Clusters filled to capacity: the last accepted member sets the threshold.
        last = starts + torch.minimum(counts, capacities) - 1
        full = touched & (counts >= capacities) & (capacities > 0)
        threshold[full] = s_sim[last[full]]
        free = torch.sort(rejected).values
    return assigned


def _first_viable(sims: Tensor, idx: Tensor, threshold: Tensor) -> Tensor:
    """Column of the first cached candidate above its cluster's threshold, else -1."""
    viable = sims > threshold[idx]
    first = torch.argmax(viable.to(torch.int8), dim=1)
    return torch.where(viable.any(dim=1), first, torch.full_like(first, -1))


def _refresh_candidates(
    x: Tensor,
    centroids: Tensor,
    pts: Tensor,
    threshold: Tensor,
    cand_sim: Tensor,
    cand_idx: Tensor,
    chunk_size: int,
) -> None:
    """Re-cache, for ``pts``, their most similar clusters among those above threshold."""
    width = cand_sim.shape[1]
    for start in range(0, pts.numel(), chunk_size):
        rows = pts[start : start + chunk_size]
        sim = x[rows] @ centroids.T
        masked = sim.masked_fill(~(sim > threshold), float("-inf"))
        v, i = _top(masked, width)
        if bool(torch.isinf(v[:, 0]).any()):
            raise RuntimeError("deferred acceptance ran out of clusters (bug).")
        cand_sim[rows], cand_idx[rows] = v, i


# ---------------------------------------------------------------- auction
def _best_two_values(x, centroids, prices, pts, cache_sim, cache_idx, chunk_size):
    """Best and second-best value ``s_ik - p_k`` of every point in ``pts``.

    The cached top-``w`` similarities of a point answer exactly when their two
    best values are at least ``s_(w) - min_k p_k`` (no uncached cluster can do
    better); the other points are searched again over all clusters, in chunks.

    Returns
    -------
    v1, j1, s1, v2 : Tensor of shape (len(pts),)
        Best value, its cluster, that cluster's similarity, second-best value.
    """
    n_clusters = centroids.shape[0]
    csim = cache_sim[pts]
    cidx = cache_idx[pts]
    vals = csim - prices[cidx]
    width = csim.shape[1]
    top_v, top_c = torch.topk(vals, min(2, width), dim=1)
    v1 = top_v[:, 0]
    j1 = cidx.gather(1, top_c[:, :1]).squeeze(1)
    s1 = csim.gather(1, top_c[:, :1]).squeeze(1)
    if width >= 2:
        v2 = top_v[:, 1]
    else:
        v2 = torch.full_like(v1, float("-inf"))
    if width < n_clusters:
        bound = csim[:, -1] - prices.min()
        redo = torch.nonzero(v2 < bound, as_tuple=True)[0]
        for start in range(0, redo.numel(), chunk_size):
            rows = redo[start : start + chunk_size]
            sim = x[pts[rows]] @ centroids.T
            tv, tc = torch.topk(sim - prices, 2, dim=1)
            v1[rows], v2[rows] = tv[:, 0], tv[:, 1]
            j1[rows] = tc[:, 0]
            s1[rows] = sim.gather(1, tc[:, :1]).squeeze(1)
    return v1, j1, s1, v2


def _auction(
    x,
    centroids,
    capacities,
    cache_sim,
    cache_idx,
    epsilon,
    chunk_size,
    prices=None,
    eps_start=_AUCTION_EPSILON_START,
):
    """Capacitated assignment maximising the summed similarity (auction).

    Bertsekas' auction for the transportation problem (clusters are ``capacity``
    identical objects), Jacobi form with epsilon-scaling, all in float64. Every
    free point bids for its best cluster ``j`` (largest ``s_ij - p_j``) the
    price ``s_ij - v2 + eps``, ``v2`` being its best value elsewhere; a cluster
    keeps its ``capacity`` highest bids (holders included) and its price
    ``p_j`` becomes its lowest kept bid once it is full (a cluster not yet full
    keeps its price). Prices only rise, so every holder stays within ``eps``
    of its best value (eps-complementary slackness) and, when all clusters are
    full, the assignment is within ``n * eps`` of the optimum: with prices
    ``p``, ``sum_i max_k (s_ik - p_k) + sum_k cap_k p_k`` bounds the optimum
    from above and exceeds the assignment's value by at most ``n * eps``.
    Between phases ``eps`` shrinks tenfold and only the points that break the
    smaller ``eps`` leave their clusters. ``prices`` (any finite values) and a
    smaller ``eps_start`` warm-start it; the guarantee holds for any start.

    Returns
    -------
    assigned : Tensor of shape (n,)
    prices : Tensor of shape (n_clusters,), float64
    """
    n, n_clusters = x.shape[0], centroids.shape[0]
    device = x.device
    if prices is None:
        prices = torch.zeros(n_clusters, dtype=torch.float64, device=device)
    else:
        prices = prices.to(device, torch.float64).clone()
    prices[capacities == 0] = float("inf")
    assigned = torch.full((n,), -1, dtype=torch.long, device=device)
    bid = torch.full((n,), float("-inf"), dtype=torch.float64, device=device)
    own_sim = torch.zeros(n, dtype=torch.float64, device=device)
    count = torch.zeros(n_clusters, dtype=torch.long, device=device)
    eps = max(float(eps_start), float(epsilon))
    everyone = torch.arange(n, device=device)
    while True:
        if bool((assigned >= 0).any()):
            # keep only the holders that satisfy the new eps-slackness
            v1, j1, _, v2 = _best_two_values(
                x, centroids, prices, everyone, cache_sim, cache_idx, chunk_size
            )
            elsewhere = torch.where(j1 == assigned, v2, v1)
            leave = (own_sim - bid) < elsewhere - eps
            count -= torch.bincount(assigned[leave], minlength=n_clusters)
            assigned[leave] = -1
            bid[leave] = float("-inf")
            free = torch.nonzero(leave, as_tuple=True)[0]
        else:
            free = everyone
        while free.numel() > 0:
            v1, j1, s1, v2 = _best_two_values(
                x, centroids, prices, free, cache_sim, cache_idx, chunk_size
            )
            v2 = torch.where(torch.isfinite(v2), v2, v1)  # a single open cluster
            new_bid = s1 - v2 + eps
            touched = torch.zeros(n_clusters, dtype=torch.bool, device=device)
            touched[j1] = True
            # only holders bid below a new bid for their cluster can be displaced
            top_bid = torch.full_like(prices, float("-inf"))
            top_bid = top_bid.scatter_reduce(0, j1, new_bid, reduce="amax")
            held = torch.nonzero(
                (assigned >= 0) & (bid <= top_bid[assigned.clamp(min=0)]),
                as_tuple=True,
            )[0]
            pool_pts = torch.cat([held, free])
            pool_cl = torch.cat([assigned[held], j1])
            pool_bid = torch.cat([bid[held], new_bid])
            pool_sim = torch.cat([own_sim[held], s1])
            # Order: cluster ascending, bid descending, point index ascending.
            order = _stable_argsort(pool_pts)
            order = order[_stable_argsort(pool_bid[order], descending=True)]
            order = order[_stable_argsort(pool_cl[order])]
            s_pts, s_cl = pool_pts[order], pool_cl[order]
            s_bid, s_sim = pool_bid[order], pool_sim[order]
            counts = torch.bincount(s_cl, minlength=n_clusters)
            starts = torch.cumsum(counts, 0) - counts
            outside = count - torch.bincount(assigned[held], minlength=n_clusters)
            room = capacities - outside
            rank = torch.arange(s_cl.numel(), device=device) - starts[s_cl]
            accept = rank < room[s_cl]
            assigned[s_pts[accept]] = s_cl[accept]
            bid[s_pts[accept]] = s_bid[accept]
            own_sim[s_pts[accept]] = s_sim[accept]
            rejected = s_pts[~accept]
            assigned[rejected] = -1
            bid[rejected] = float("-inf")
            kept = torch.minimum(counts, room)
            count = outside + kept
            # a cluster now full is priced at its lowest bid (the last kept one)
            full = touched & (count >= capacities) & (kept > 0)
            last = starts + kept - 1
            prices[full] = torch.maximum(prices[full], s_bid[last[full]])
            free = torch.sort(rejected).values
        if eps <= float(epsilon):
            return assigned, prices
        eps = max(eps * _AUCTION_EPSILON_FACTOR, float(epsilon))


def _auction_from_scratch(x, centroids, capacities, width, epsilon, chunk_size):
    """Float64 similarity cache, then :func:`_auction`."""
    x64, c64 = x.double(), centroids.double()
    cache_sim, cache_idx = _topk_chunked(x64, c64, width, chunk_size)
    return _auction(x64, c64, capacities, cache_sim, cache_idx, epsilon, chunk_size)[0]


def _check_method(method, epsilon):
    if method not in ("auction", "deferred_acceptance"):
        raise ValueError(
            "assignment method must be 'auction' or 'deferred_acceptance', "
            f"got {method!r}."
        )
    if not float(epsilon) > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}.")


def _auction_width(n_candidates, n_clusters):
    return max(2, min(max(int(n_candidates), _AUCTION_CACHE), n_clusters))


def _kmeanspp_init(x: Tensor, n_clusters: int, gen: torch.Generator) -> Tensor:
    """Spherical k-means++ seeding (weights ``1 - max cos``, i.e. squared chord / 2)."""
    n = x.shape[0]
    uniforms = torch.rand(n_clusters, generator=gen, dtype=torch.float64).to(x.device)
    first = torch.clamp((uniforms[0] * n).long(), max=n - 1)
    chosen = [first]
    best = x @ x[first]
    for j in range(1, n_clusters):
        # weights 1 - max cos, plus a tiny uniform part so that points that all
        # coincide with chosen centroids can still be drawn (no host sync here)
        weights = torch.clamp(1.0 - best, min=0.0).double() + 1e-30
        cum = torch.cumsum(weights, 0)
        idx = torch.searchsorted(cum, uniforms[j] * cum[-1], right=True)
        idx = torch.clamp(idx, max=n - 1)
        chosen.append(idx)
        best = torch.maximum(best, x @ x[idx])
    return x[torch.stack(chosen)].clone()


def _centroids_from_assignment(
    x: Tensor, assignments: Tensor, n_clusters: int
) -> tuple[Tensor, Tensor]:
    """Normalised member means (Eq. 7) and the objective of Eq. 6."""
    sums = torch.zeros(n_clusters, x.shape[1], dtype=x.dtype, device=x.device)
    sums.index_add_(0, assignments, x)
    norms = sums.norm(dim=1)
    centroids = sums / norms.clamp(min=1e-12).unsqueeze(1)
    degenerate = norms <= 1e-12
    if bool(degenerate.any()):  # members cancel out: use the first member instead
        first = torch.full((n_clusters,), x.shape[0], dtype=torch.long, device=x.device)
        first = first.scatter_reduce(
            0, assignments, torch.arange(x.shape[0], device=x.device), reduce="amin"
        )
        fallback = F.normalize(x[first.clamp(max=x.shape[0] - 1)], dim=1)
        centroids = torch.where(degenerate.unsqueeze(1), fallback, centroids)
    return centroids, norms.sum()


def equal_size_spherical_kmeans(
    x: Tensor,
    n_clusters: int,
    *,
    n_iter: int = 10,
    tol: float = 1e-4,
    n_candidates: int = 1,
    chunk_size: int = 4096,
    random_state: int | torch.Generator | None = None,
    init: Tensor | None = None,
    assignment: str = "deferred_acceptance",
    epsilon: float = AUCTION_EPSILON,
) -> tuple[Tensor, Tensor]:
    """Spherical k-means whose clusters have equal sizes (differing by at most one).

    Rows of ``x`` are L2-normalised first. See the module docstring for the
    algorithm: k-means++ seeding, capacity-constrained assignment by deferred
    acceptance, centroid update by Eq. 7, best objective of Eq. 6 kept.

    Parameters
    ----------
    x : Tensor of shape (n_samples, n_dims)
        Points (any device).
    n_clusters : int
        Number of clusters, ``1 <= n_clusters <= n_samples``.
    n_iter : int, default=10
        Maximum number of assignment/update rounds.
    tol : float, default=1e-4
        Stop when a round raises the objective of Eq. 6 by less than ``tol`` times
        its value (or when the assignment no longer changes).
    n_candidates : int, default=1
        Cached preference-list length in the assignment (memory ``n * n_candidates``).
    chunk_size : int, default=4096
        Rows per similarity block (memory ``chunk_size * n_clusters``).
    random_state : int, torch.Generator or None
        Seed or CPU generator for the seeding; same seed, same result.
    init : Tensor of shape (n_clusters, n_dims), optional
        Starting centroids (e.g. the previous clustering's, when re-clustering
        slowly moving embeddings) instead of k-means++ seeding.
    assignment : {"deferred_acceptance", "auction"}, default="deferred_acceptance"
        Assignment step (see :func:`balanced_assignment`): the optimal
        capacitated assignment (to within ``n_samples * epsilon``) or the
        earlier stable matching.
    epsilon : float, default=1e-9
        Final bid increment of the auction.

    Returns
    -------
    assignments : Tensor of shape (n_samples,)
        Cluster index of every point (int64); sizes are :func:`equal_sizes` up to order.
    centroids : Tensor of shape (n_clusters, n_dims)
        Unit-norm centroids.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Eqs. 6-7).
    .. [2] D. Arthur and S. Vassilvitskii, "k-means++: The Advantages of Careful
       Seeding", SODA, 2007.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(10, 4, generator=torch.Generator().manual_seed(0))
    >>> assign, centroids = equal_size_spherical_kmeans(x, 3, random_state=0)
    >>> sorted(torch.bincount(assign).tolist()), tuple(centroids.shape)
    ([3, 3, 4], (3, 4))
    """
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D, got shape {tuple(x.shape)}.")
    _check_finite(x, "x")
    _check_method(assignment, epsilon)
    n = x.shape[0]
    sizes = equal_sizes(n, int(n_clusters))
    x = F.normalize(x, dim=1)
    if n_clusters == 1:
        assign = torch.zeros(n, dtype=torch.long, device=x.device)
        return assign, _centroids_from_assignment(x, assign, 1)[0]
    if init is not None:
        if tuple(init.shape) != (n_clusters, x.shape[1]):
            raise ValueError(
                f"init must have shape {(n_clusters, x.shape[1])}, "
                f"got {tuple(init.shape)}."
            )
        centroids = F.normalize(init.to(x.device, x.dtype), dim=1)
    else:
        centroids = _kmeanspp_init(x, n_clusters, _as_generator(random_state))
    best_assign, best_centroids, best_obj = None, None, float("-inf")
    prev = None
    base = sizes.min().item()
    n_extra = int((sizes > base).sum())
    auction = assignment == "auction"
    if auction:
        width = _auction_width(n_candidates, n_clusters)
        x_sim = x.double()
    else:
        width = max(1, min(int(n_candidates), n_clusters))
        x_sim = x
    prev_obj = float("-inf")
    for _ in range(max(1, int(n_iter))):
        c_sim = centroids.to(x_sim.dtype)
        cand_sim, cand_idx = _topk_chunked(x_sim, c_sim, width, chunk_size)
        capacities = torch.full((n_clusters,), base, dtype=torch.long, device=x.device)
        if n_extra:
            demand = torch.bincount(cand_idx[:, 0], minlength=n_clusters)
            capacities[_stable_argsort(demand, descending=True)[:n_extra]] += 1
        if auction:
            assign = _auction(
                x_sim, c_sim, capacities, cand_sim, cand_idx, epsilon, chunk_size
            )[0]
        else:
            assign = _deferred_acceptance(
                x, centroids, capacities, cand_sim, cand_idx, chunk_size
            )
        centroids, obj = _centroids_from_assignment(x, assign, n_clusters)
        obj = float(obj)
        if obj > best_obj:
            best_assign, best_centroids, best_obj = assign, centroids, obj
        if prev is not None and torch.equal(prev, assign):
            break
        if obj - prev_obj <= tol * abs(obj):
            break
        prev, prev_obj = assign, obj
    return best_assign, best_centroids


def _plan_split(n: int, n_clusters: int, n_children: int) -> tuple[Tensor, Tensor]:
    """Clusters and points of each child when ``n`` points in ``n_clusters`` are cut.

    The class's cluster sizes (:func:`equal_sizes`, extras first) are dealt out
    round-robin, so child ``j`` gets whole clusters and the clusters of one
    extra point are spread over the children: every child's own
    :func:`equal_sizes` then gives sizes ``floor(n / n_clusters)`` or one more.
    """
    sizes = equal_sizes(n, n_clusters)
    child = torch.arange(n_clusters) % n_children
    k_child = torch.bincount(child, minlength=n_children)
    n_child = torch.zeros(n_children, dtype=torch.long).index_add_(0, child, sizes)
    return k_child, n_child


def _choice_rounds_assignment(
    x: Tensor, centroids: Tensor, capacities: Tensor
) -> Tensor:
    """Capacity-exact assignment to a few centres, by rounds of choices.

    In round ``r`` every unassigned point asks for its ``r``-th most similar
    centre; a centre takes the most similar askers up to its remaining
    capacity (ties to the lower point index) and never gives a place back.
    A point refused by every centre would mean that all were full, so after
    ``len(centroids)`` rounds every point has a centre. Unlike deferred
    acceptance, each round sorts the unassigned points only, which keeps the
    cut of a large class cheap.
    """
    n, k = x.shape[0], centroids.shape[0]
    sims = x @ centroids.T
    prefs = torch.sort(sims, dim=1, descending=True, stable=True).indices
    assigned = torch.full((n,), -1, dtype=torch.long, device=x.device)
    remaining = capacities.clone()
    for r in range(k):  # a loop over choices (at most fanout), not points
        free = torch.nonzero(assigned < 0, as_tuple=True)[0]
        if free.numel() == 0:
            break
        cl = prefs[free, r]
        sim = sims[free, cl]
        order = _stable_argsort(sim, descending=True)
        order = order[_stable_argsort(cl[order])]
        s_pts, s_cl = free[order], cl[order]
        counts = torch.bincount(s_cl, minlength=k)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(s_cl.numel(), device=x.device) - starts[s_cl]
        accept = rank < remaining[s_cl]
        assigned[s_pts[accept]] = s_cl[accept]
        remaining = remaining - torch.bincount(s_cl[accept], minlength=k)
    return assigned


def _balanced_split(
    x: Tensor, capacities: Tensor, gen: torch.Generator, chunk_size: int
) -> tuple[Tensor, Tensor]:
    """Cut unit rows ``x`` into ``len(capacities)`` blocks of exactly those sizes.

    A capacity-constrained spherical k-means (k-means++ seeding, assignment
    by rounds of choices, a few rounds). Returns the block of every row and
    the centres.
    """
    n_blocks = capacities.shape[0]
    centroids = _kmeanspp_init(x, n_blocks, gen)
    capacities = capacities.to(x.device)
    assign = None
    for _ in range(_SPLIT_ITER):
        new = _choice_rounds_assignment(x, centroids, capacities)
        if assign is not None and torch.equal(new, assign):
            break
        assign = new
        centroids = _centroids_from_assignment(x, assign, n_blocks)[0]
    return assign, centroids


def hierarchical_equal_size_spherical_kmeans(
    x: Tensor,
    n_clusters: int,
    *,
    max_block_size: int = MAX_BLOCK_SIZE,
    fanout: int = FANOUT,
    random_state: int | torch.Generator | None = None,
    init: Tensor | None = None,
    chunk_size: int = 4096,
    **kwargs,
) -> tuple[Tensor, Tensor]:
    """Equal-size spherical k-means with a bounded number of candidates per point.

    The points are cut recursively into balanced blocks (at most ``fanout``
    per level, by a capacity-constrained spherical k-means) until each holds
    at most ``max_block_size`` points, and :func:`equal_size_spherical_kmeans`
    runs within each block with the block's share of the clusters. Every
    block gets whole clusters of the :func:`equal_sizes` plan, so cluster
    sizes are ``floor(n / n_clusters)`` or one more, as in the flat k-means. A
    point is compared with ``fanout`` centres per level and with at most
    ``max_block_size / (n / n_clusters)`` centroids of its block, so the cost
    is ``O(n log n)`` instead of ``O(n * n_clusters)``. With
    ``n <= max_block_size`` this is :func:`equal_size_spherical_kmeans`
    itself (the same result).

    Parameters
    ----------
    x : Tensor of shape (n_samples, n_dims)
        Points (L2-normalised here).
    n_clusters : int
        Number of clusters, ``1 <= n_clusters <= n_samples``.
    max_block_size : int, default=8192
        Largest block clustered in one piece.
    fanout : int, default=8
        Most blocks a set is cut into at one level (at least 2).
    random_state : int, torch.Generator or None
        Seed or CPU generator; same seed, same result.
    init : Tensor of shape (n_clusters, n_dims), optional
        Starting centroids (e.g. the previous clustering's): they are dealt
        to the blocks by the same capacity-constrained assignment (each block
        receives as many as it has clusters) and start each block's k-means.
    chunk_size : int, default=4096
        Rows per similarity block.
    **kwargs
        ``n_iter``, ``tol``, ``n_candidates``, ``assignment``, ``epsilon`` of
        :func:`equal_size_spherical_kmeans` (used within the blocks).

    Returns
    -------
    assignments : Tensor of shape (n_samples,)
        Cluster index of every point (int64); clusters are numbered block by block.
    centroids : Tensor of shape (n_clusters, n_dims)
        Unit-norm centroids.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Eqs. 6-7).
    .. [2] D. Gale and L. S. Shapley, "College Admissions and the Stability of
       Marriage", The American Mathematical Monthly, 69(1), 1962.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(1000, 8, generator=torch.Generator().manual_seed(0))
    >>> assign, centroids = hierarchical_equal_size_spherical_kmeans(
    ...     x, 30, max_block_size=200, random_state=0)
    >>> sorted(set(torch.bincount(assign).tolist())), tuple(centroids.shape)
    ([33, 34], (30, 8))
    """
    if int(max_block_size) < 1:
        raise ValueError(
            f"max_block_size must be a positive integer, got {max_block_size}."
        )
    if int(fanout) < 2:
        raise ValueError(f"fanout must be an integer >= 2, got {fanout}.")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D, got shape {tuple(x.shape)}.")
    _check_finite(x, "x")
    n = x.shape[0]
    n_clusters = int(n_clusters)
    equal_sizes(n, n_clusters)  # validates n_clusters
    if init is not None and tuple(init.shape) != (n_clusters, x.shape[1]):
        raise ValueError(
            f"init must have shape {(n_clusters, x.shape[1])}, got {tuple(init.shape)}."
        )
    gen = _as_generator(random_state)
    x = F.normalize(x, dim=1)
    if init is not None:
        init = F.normalize(init.to(x.device, x.dtype), dim=1)
    assignments = torch.empty(n, dtype=torch.long, device=x.device)
    centroids = torch.empty(n_clusters, x.shape[1], dtype=x.dtype, device=x.device)
    # depth-first over blocks (a loop over blocks, not points)
    stack = [(torch.arange(n, device=x.device), n_clusters, init)]
    done = 0
    while stack:
        rows, k, start = stack.pop()
        m = rows.numel()
        if m <= max_block_size or k == 1:
            assign_b, centroids_b = equal_size_spherical_kmeans(
                x[rows],
                k,
                random_state=gen,
                init=start,
                chunk_size=chunk_size,
                **kwargs,
            )
            assignments[rows] = assign_b + done
            centroids[done : done + k] = centroids_b
            done += k
            continue
        n_children = min(int(fanout), k, -(-m // int(max_block_size)))
        k_child, n_child = _plan_split(m, k, n_children)
        block, centres = _balanced_split(x[rows], n_child, gen, chunk_size)
        if start is not None:
            start_block = balanced_assignment(
                start, centres, k_child.to(x.device), chunk_size=chunk_size
            )
        children = []
        for j in range(n_children):
            child_start = None if start is None else start[start_block == j]
            children.append((rows[block == j], int(k_child[j]), child_start))
        stack.extend(reversed(children))
    return assignments, centroids


def cluster_by_class(
    embeddings: Tensor,
    labels: Tensor,
    cluster_size: int,
    *,
    n_iter: int = 10,
    tol: float = 1e-4,
    n_candidates: int = 1,
    chunk_size: int = 4096,
    random_state: int | torch.Generator | None = None,
    device: str | torch.device | None = None,
    previous: ClusterSet | None = None,
    assignment: str = "deferred_acceptance",
    epsilon: float = AUCTION_EPSILON,
    max_block_size: int | None = MAX_BLOCK_SIZE,
    fanout: int = FANOUT,
) -> ClusterSet:
    """Cluster every class of a training set into equal-size spherical clusters.

    Class ``c`` with ``L_c`` points gets ``K = max(1, floor(L_c / cluster_size))``
    clusters whose sizes differ by at most one (Sec. 3.2 of [1]). Clusters are
    numbered class by class (classes in sorted order). Classes with a single cluster
    are handled all at once; the others one by one with
    :func:`equal_size_spherical_kmeans`, with similarities computed in blocks of
    ``chunk_size`` rows so that memory stays bounded. A class of more than
    ``max_block_size`` points is first cut into balanced blocks
    (:func:`hierarchical_equal_size_spherical_kmeans`), so that a point is
    compared with a bounded number of centroids and the time grows as
    ``n log n`` rather than ``n^2 / cluster_size``.

    Parameters
    ----------
    embeddings : Tensor of shape (n_samples, n_dims)
        Embeddings of the whole training set (L2-normalised here).
    labels : Tensor of shape (n_samples,)
        Integer class label of every point.
    cluster_size : int
        Cluster size ``l``.
    n_iter, tol, n_candidates, chunk_size, assignment, epsilon
        See :func:`equal_size_spherical_kmeans`.
    random_state : int, torch.Generator or None
        Seed or CPU generator; same seed, same clusters.
    device : str, torch.device or None
        Where to compute (default: the device of ``embeddings``); results are returned
        on that device.
    previous : ClusterSet, optional
        An earlier clustering of the same labels (e.g. the last round's): a class
        that has as many clusters there starts from those centroids instead of
        k-means++ (a warm start; re-clustering then usually stops after a few rounds).
    max_block_size : int or None, default=8192
        Largest class clustered in one piece; larger classes are cut into
        blocks of at most this many points first. ``None``: every class in
        one piece (the cost of a class grows as its size squared).
    fanout : int, default=8
        Most blocks a set is cut into at one level of the cut.

    Returns
    -------
    ClusterSet
        Assignments, unit-norm centroids, cluster labels and sizes.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Eqs. 6-7).

    Examples
    --------
    >>> import torch
    >>> emb = torch.randn(25, 8, generator=torch.Generator().manual_seed(0))
    >>> labels = torch.tensor([0] * 20 + [3] * 5)
    >>> cs = cluster_by_class(emb, labels, cluster_size=6, random_state=0)
    >>> cs.cluster_labels.tolist(), sorted(cs.sizes.tolist())
    ([0, 0, 0, 3], [5, 6, 7, 7])
    """
    if embeddings.ndim != 2:
        raise ValueError(
            f"embeddings must be 2-D, got shape {tuple(embeddings.shape)}."
        )
    labels = torch.as_tensor(labels)
    if labels.shape != (embeddings.shape[0],):
        raise ValueError("labels must be 1-D with one entry per embedding row.")
    if embeddings.shape[0] == 0:
        raise ValueError("cannot cluster an empty training set.")
    _check_finite(embeddings, "embeddings")
    if cluster_size < 1:
        raise ValueError(
            f"cluster_size must be a positive integer, got {cluster_size}."
        )
    if max_block_size is not None and int(max_block_size) < 1:
        raise ValueError(
            f"max_block_size must be a positive integer or None, got {max_block_size}."
        )
    if int(fanout) < 2:
        raise ValueError(f"fanout must be an integer >= 2, got {fanout}.")
    dev = torch.device(device) if device is not None else embeddings.device
    # rows are normalised class by class (no normalised copy of the whole set)
    x = embeddings.to(dev)
    labels = labels.to(dev)
    gen = _as_generator(random_state)
    classes, inverse, counts = torch.unique(
        labels, sorted=True, return_inverse=True, return_counts=True
    )
    k_per_class = torch.clamp(counts // int(cluster_size), min=1)
    first_cluster = torch.cumsum(k_per_class, 0) - k_per_class
    n_total = int(k_per_class.sum())
    assignments = first_cluster[inverse].clone()  # correct for one-cluster classes
    centroids = torch.zeros(n_total, x.shape[1], dtype=x.dtype, device=dev)
    single = k_per_class == 1
    if bool(single.any()):
        rows = single[inverse]
        c_single, _ = _centroids_from_assignment(
            F.normalize(x[rows], dim=1), assignments[rows], n_total
        )
        centroids[first_cluster[single]] = c_single[first_cluster[single]]
    for c in torch.nonzero(~single, as_tuple=True)[0].tolist():
        rows = torch.nonzero(inverse == c, as_tuple=True)[0]
        init = None
        if previous is not None:
            same = previous.cluster_labels.to(dev) == classes[c]
            if int(same.sum()) == int(k_per_class[c]):
                init = previous.centroids.to(dev)[same]
        kwargs = {}
        kmeans = equal_size_spherical_kmeans
        if max_block_size is not None and rows.numel() > int(max_block_size):
            kmeans = hierarchical_equal_size_spherical_kmeans
            kwargs = {"max_block_size": int(max_block_size), "fanout": int(fanout)}
        assign_c, centroids_c = kmeans(
            F.normalize(x[rows], dim=1),
            int(k_per_class[c]),
            **kwargs,
            n_iter=n_iter,
            tol=tol,
            n_candidates=n_candidates,
            chunk_size=chunk_size,
            random_state=gen,
            init=init,
            assignment=assignment,
            epsilon=epsilon,
        )
        start = int(first_cluster[c])
        assignments[rows] = assign_c + start
        centroids[start : start + int(k_per_class[c])] = centroids_c
    cluster_labels = torch.repeat_interleave(classes, k_per_class)
    sizes = torch.bincount(assignments, minlength=n_total)
    return ClusterSet(assignments, centroids, cluster_labels, sizes)
