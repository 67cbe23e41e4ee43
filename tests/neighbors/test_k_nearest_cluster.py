"""Tests of the k-nearest-cluster rule (Eq. 10)."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skimbalance.neighbors.k_nearest_cluster import (
    KNearestClusterRule,
    chunked_top_k,
    k_nearest_cluster_reference,
)


def _extended_reference(queries, centroids, labels, n_neighbors, n_classes):
    """Eq. 10 per class over the N nearest clusters holding c and another class.

    Written loop by loop from the definition: the plain N nearest when they hold
    a cluster of c and one of another class, else the first max(N - 1, 1) of them
    and the nearest cluster that is missing.
    """
    q = np.asarray(queries, dtype=np.float64)
    c = np.asarray(centroids, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    lab = np.asarray(labels).astype(int)
    n_nb = min(n_neighbors, len(c))
    n_keep = max(n_nb - 1, 1)
    out = np.zeros((len(q), n_classes))
    for i in range(len(q)):
        sims = [float(q[i] @ c[m]) for m in range(len(c))]
        order = sorted(range(len(c)), key=lambda m: -sims[m])
        for cls in range(n_classes):
            chosen = order[:n_nb]
            own = [m for m in chosen if lab[m] == cls]
            other = [m for m in chosen if lab[m] != cls]
            if not own or not other:
                chosen = order[:n_keep]
                pool = [m for m in order if (lab[m] == cls) == (not own)]
                if not pool:  # no cluster of that kind at all
                    out[i, cls] = -3 - math.log(n_keep) if not own else 3.0
                    continue
                chosen = [*chosen, pool[0]]
            num = min(sims[m] for m in chosen if lab[m] == cls)
            den = sum(math.exp(sims[m]) for m in chosen if lab[m] != cls)
            out[i, cls] = num - math.log(den)
    return out


def _problem(n_clusters=40, n_queries=60, dim=5, n_classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centroids = torch.randn(n_clusters, dim, generator=g, dtype=torch.float64)
    labels = torch.randint(0, n_classes, (n_clusters,), generator=g)
    queries = torch.randn(n_queries, dim, generator=g, dtype=torch.float64)
    return queries, centroids, labels


@pytest.mark.parametrize("algorithm", ["torch", "kd_tree", "ball_tree", "brute"])
@pytest.mark.parametrize("n_neighbors", [1, 3, 8, 40, 100])
def test_index_matches_bruteforce_eq10(algorithm, n_neighbors):
    q, c, lab = _problem(seed=n_neighbors)
    rule = KNearestClusterRule(n_neighbors, algorithm=algorithm, chunk_size=7).fit(
        c, lab, n_classes=4
    )
    pred = rule.predict(q)
    ref_pred, ratios = k_nearest_cluster_reference(q, c, lab, n_neighbors, 4)
    assert pred.tolist() == ref_pred.tolist()
    proba = rule.predict_proba(q)
    assert torch.allclose(proba.sum(1), torch.ones(len(q), dtype=proba.dtype))
    assert torch.equal(proba.argmax(1), pred)
    # proba is the normalised ratio of Eq. 10 where every class is retrieved ...
    p = proba.numpy()
    full = ((ratios > 0) & np.isfinite(ratios)).all(axis=1)
    expected = ratios[full] / ratios[full].sum(1, keepdims=True)
    assert np.allclose(p[full], expected, atol=1e-12)
    # ... and proportional to it among the retrieved classes otherwise
    for i in np.flatnonzero(~full):
        present = (ratios[i] > 0) & np.isfinite(ratios[i])
        if present.sum() >= 2:
            got = p[i, present] / p[i, present].sum()
            assert np.allclose(got, ratios[i, present] / ratios[i, present].sum())
        assert (p[i, ratios[i] == 0] < p[i, ratios[i] > 0].min()).all()
    assert (p > 0).all() and (p < 1).all()
    scores = rule.log_ratios(q).numpy()
    with np.errstate(divide="ignore"):
        assert np.allclose(scores, np.log(ratios), atol=1e-12)
    ext = rule.decision_scores(q).numpy()
    np.testing.assert_allclose(ext, _extended_reference(q, c, lab, n_neighbors, 4))
    assert np.array_equal(ext.argmax(1), ref_pred)


def test_min_not_max_decides():
    # class 0 owns the most similar cluster, but its least similar retrieved cluster
    # is far: Eq. 10 picks class 1
    q = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    sims = [0.9, 0.1, 0.8]
    c = torch.tensor(
        [[s, math.sqrt(1 - s * s), 0.0] for s in sims], dtype=torch.float64
    )
    c[1, 1], c[1, 2] = 0.0, math.sqrt(1 - 0.01)
    lab = torch.tensor([0, 0, 1])
    rule = KNearestClusterRule(3).fit(c, lab)
    assert rule.predict(q).tolist() == [1]
    r0 = math.exp(0.1) / math.exp(0.8)
    r1 = math.exp(0.8) / (math.exp(0.9) + math.exp(0.1))
    assert torch.allclose(
        rule.predict_proba(q),
        torch.tensor([[r0 / (r0 + r1), r1 / (r0 + r1)]], dtype=torch.float64),
    )
    # with N = 1 only the nearest cluster counts
    assert KNearestClusterRule(1).fit(c, lab).predict(q).tolist() == [0]


def test_absent_and_single_class_scores_rank_by_the_missing_cluster():
    c = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    lab = torch.tensor([0, 1, 2, 3])
    rule = KNearestClusterRule(2).fit(c, lab)
    q = torch.tensor([[1.0, 0.05]])
    proba = rule.predict_proba(q)
    raw = rule.log_ratios(q)
    assert torch.isneginf(raw[0, 2:]).all() and torch.isfinite(raw[0, :2]).all()
    # absent classes: below the retrieved ones, ordered by their nearest cluster
    assert (proba > 0).all() and (proba < 1).all()
    assert proba[0, 3] < proba[0, 2] < proba[0, :2].min()
    u, mu = F.normalize(q, dim=1)[0], F.normalize(c, dim=1)
    expected = float(u @ mu[2] - u @ mu[0])  # vs the first retrieved cluster
    assert math.isclose(float(rule.decision_scores(q)[0, 2]), expected, rel_tol=1e-6)
    # a class owning all N: its N'-th cluster against the nearest other cluster
    one = KNearestClusterRule(2).fit(c, torch.tensor([0, 0, 1, 1]))
    assert torch.isposinf(one.log_ratios(q)[0, 0])
    s = one.decision_scores(q)
    assert math.isclose(float(s[0, 0]), float(u @ mu[0] - u @ mu[2]), rel_tol=1e-6)
    assert math.isclose(float(s[0, 1]), float(u @ mu[2] - u @ mu[0]), rel_tol=1e-6)
    assert one.predict(q).tolist() == [0]


def test_scores_are_continuous_where_the_missing_cluster_enters():
    # class 1's only cluster moves past class 0's second cluster: Eq. 10's ratio
    # jumps from 0 to finite there, the extended score does not
    q = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    lab = torch.tensor([0, 0, 1])
    s2 = 0.6

    def scores(s_minority):
        c = torch.tensor(
            [
                [0.9, math.sqrt(1 - 0.81)],
                [s2, -math.sqrt(1 - s2**2)],
                [s_minority, math.sqrt(1 - s_minority**2)],
            ],
            dtype=torch.float64,
        )
        return KNearestClusterRule(2).fit(c, lab).decision_scores(q)[0]

    below, above = scores(s2 - 1e-9), scores(s2 + 1e-9)
    assert torch.allclose(below, above, atol=1e-8)
    assert above[1] > below[1]
    # and the score keeps rising with the minority similarity on both sides
    grid = [scores(s)[1] - scores(s)[0] for s in np.linspace(0.0, 0.85, 50)]
    assert all(b > a for a, b in itertools.pairwise(grid))


def test_extended_scores_range_and_clusterless_class():
    q, c, lab = _problem(n_clusters=30, n_queries=200, n_classes=3, seed=11)
    for n_nb in (1, 2, 5, 30):
        rule = KNearestClusterRule(n_nb).fit(c, lab)
        s = rule.decision_scores(q)
        low = -2 - math.log(max(n_nb - 1, 1))
        assert torch.isfinite(s).all()
        assert (s >= low - 1e-12).all() and (s <= 2 + 1e-12).all()
    # class 3 has no cluster: the lowest score; one class with clusters: 3
    rule = KNearestClusterRule(5).fit(c, lab, n_classes=4)
    s = rule.decision_scores(q)
    assert torch.allclose(s[:, 3], torch.full_like(s[:, 3], -3 - math.log(4)))
    alone = KNearestClusterRule(5).fit(c, torch.zeros(30, dtype=torch.long), 2)
    assert (alone.decision_scores(q)[:, 0] == 3.0).all()
    assert (alone.predict(q) == 0).all()


@pytest.mark.parametrize("n_neighbors", [1, 2, 3, 10])
def test_argmax_is_eq10_on_many_problems(n_neighbors):
    # imbalanced cluster counts, so that many queries see one class only
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        c = torch.randn(60, 4, generator=g, dtype=torch.float64)
        lab = (torch.rand(60, generator=g) < 0.15).long() + (
            torch.rand(60, generator=g) < 0.05
        ).long()
        q = torch.randn(300, 4, generator=g, dtype=torch.float64)
        rule = KNearestClusterRule(n_neighbors).fit(c, lab, n_classes=3)
        ref, _ = k_nearest_cluster_reference(q, c, lab, n_neighbors, 3)
        assert rule.predict(q).tolist() == ref.tolist()
        assert rule.predict_proba(q).argmax(1).tolist() == ref.tolist()
        # the scores rank: one distinct value per query
        assert len(torch.unique(rule.predict_proba(q)[:, 1])) == len(q)


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree", "brute"])
def test_index_scores_match_the_torch_search(algorithm):
    q, c, lab = _problem(n_clusters=50, n_queries=80, n_classes=5, seed=2)
    ref = KNearestClusterRule(4).fit(c, lab).decision_scores(q)
    got = KNearestClusterRule(4, algorithm=algorithm).fit(c, lab).decision_scores(q)
    assert torch.allclose(got, ref, atol=1e-12)


def test_predict_agrees_with_proba_on_many_queries():
    q, c, lab = _problem(n_clusters=200, n_queries=500, dim=8, n_classes=7, seed=3)
    rule = KNearestClusterRule(20).fit(c.float(), lab)
    assert torch.equal(rule.predict(q.float()), rule.predict_proba(q.float()).argmax(1))


def test_chunked_top_k_exact():
    g = torch.Generator().manual_seed(4)
    q, k = torch.randn(33, 4, generator=g), torch.randn(50, 4, generator=g)
    s, i = chunked_top_k(q, k, 5, chunk_size=8)
    full = q @ k.T
    ref_s, ref_i = torch.topk(full, 5, dim=1)
    assert torch.equal(i, ref_i) and torch.allclose(s, ref_s)
    with pytest.raises(ValueError):
        chunked_top_k(q, k, 51)


def test_input_validation():
    c = torch.randn(4, 3)
    with pytest.raises(ValueError):
        KNearestClusterRule(2, algorithm="annoy").fit(c, [0, 0, 1, 1])
    with pytest.raises(ValueError):
        KNearestClusterRule(2).fit(c, [0, 1])
    with pytest.raises(ValueError):
        KNearestClusterRule(2).fit(c, [0, 1, 2, 3], n_classes=2)
    rule = KNearestClusterRule(2).fit(c, [0, 0, 1, 1])
    with pytest.raises(ValueError):
        rule.predict(torch.randn(3, 2))
    assert rule.n_neighbors_ == 2
    assert KNearestClusterRule(10).fit(c, [0, 0, 1, 1]).n_neighbors_ == 4


# ------------------------------------------------ bounded search (cell index)
def _clustered_centroids(n_clusters, n_classes, d, seed):
    g = torch.Generator().manual_seed(seed)
    modes = F.normalize(torch.randn(40, d, generator=g), dim=1)
    mode_class = torch.randint(0, n_classes, (40,), generator=g)
    which = torch.randint(0, 40, (n_clusters,), generator=g)
    noise = 0.3 * torch.randn(n_clusters, d, generator=g) / math.sqrt(d)
    centroids = F.normalize(modes[which] + noise, dim=1).double()
    labels = mode_class[which]
    labels[:n_classes] = torch.arange(n_classes)  # every class has a cluster
    q_modes = torch.randint(0, 40, (600,), generator=g)
    queries = modes[q_modes] + 0.4 * torch.randn(600, d, generator=g) / math.sqrt(d)
    return centroids, labels, queries.double()


def test_index_covering_every_cell_is_the_exact_search():
    centroids, labels, queries = _clustered_centroids(400, 5, 8, seed=0)
    exact = KNearestClusterRule(3, max_exact_clusters=None).fit(centroids, labels, 5)
    # 400 clusters give 20 cells: probing all of them is the exact search
    full = KNearestClusterRule(3, max_exact_clusters=10, n_probe=20).fit(
        centroids, labels, 5
    )
    assert exact.exact_ and full.exact_
    assert torch.equal(exact.decision_scores(queries), full.decision_scores(queries))
    probed = KNearestClusterRule(3, max_exact_clusters=10, n_probe=2).fit(
        centroids, labels, 5
    )
    assert not probed.exact_ and probed._cells.n_cells == 20


@pytest.mark.parametrize("n_neighbors", [1, 2, 5])
def test_index_has_high_recall_and_agrees_with_the_reference(n_neighbors):
    centroids, labels, queries = _clustered_centroids(900, 6, 16, seed=1)
    rule = KNearestClusterRule(n_neighbors, max_exact_clusters=100, n_probe=4).fit(
        centroids, labels, 6
    )
    assert not rule.exact_
    # an independent brute force: the true N nearest of every query
    q = F.normalize(queries, dim=1)
    true_sims = q @ rule.centroids_.T
    true_idx = torch.argsort(true_sims, dim=1, descending=True)[:, :n_neighbors]
    sims, idx = rule.kneighbors(queries)
    recall = (idx.unsqueeze(2) == true_idx.unsqueeze(1)).any(2).double().mean()
    assert recall > 0.95
    # the similarities returned are the exact ones of the clusters returned
    assert torch.allclose(sims, true_sims.gather(1, idx), atol=1e-12)
    assert bool((sims[:, :-1] >= sims[:, 1:]).all())
    ref_pred, _ = k_nearest_cluster_reference(
        queries.numpy(), centroids.numpy(), labels.numpy(), n_neighbors, 6
    )
    agree = (rule.predict(queries).numpy() == ref_pred).mean()
    assert agree > 0.95
    # where the index retrieved the true N nearest, Eq. 10's class is exact
    same = (torch.sort(idx, 1).values == torch.sort(true_idx, 1).values).all(1)
    assert bool(same.any())
    assert (rule.predict(queries).numpy()[same.numpy()] == ref_pred[same.numpy()]).all()


def test_index_class_nearest_is_a_lower_bound_and_exact_when_retrieved():
    centroids, labels, queries = _clustered_centroids(900, 6, 16, seed=2)
    rule = KNearestClusterRule(2, max_exact_clusters=100, n_probe=4).fit(
        centroids, labels, 6
    )
    sims, retrieved_labels, class_max = rule._search(queries)
    q = F.normalize(queries, dim=1)
    true_sims = q @ rule.centroids_.T
    true_max = torch.stack([true_sims[:, labels == c].amax(1) for c in range(6)], dim=1)
    assert float((class_max - true_max).max()) <= 1e-9, float(
        (class_max - true_max).max()
    )
    assert bool(torch.isfinite(class_max).all())  # representatives of every class
    for j in range(2):
        rows = torch.arange(q.shape[0])
        got = class_max[rows, retrieved_labels[:, j]]
        assert bool((got >= sims[:, j] - 1e-12).all())
    # scores stay finite and the arg-max is a retrieved class's
    scores = rule.decision_scores(queries)
    assert bool(torch.isfinite(scores).all())
    pred = scores.argmax(1)
    assert bool((retrieved_labels == pred.unsqueeze(1)).any(1).all())


def test_index_is_deterministic_and_checks_its_parameters():
    centroids, labels, queries = _clustered_centroids(500, 4, 8, seed=3)
    a = KNearestClusterRule(2, max_exact_clusters=50).fit(centroids, labels, 4)
    b = KNearestClusterRule(2, max_exact_clusters=50).fit(centroids, labels, 4)
    assert torch.equal(a.decision_scores(queries), b.decision_scores(queries))
    assert a.decision_scores(queries[:0]).shape == (0, 4)
    # N larger than a few cells: more cells are probed, N clusters come back
    big = KNearestClusterRule(60, max_exact_clusters=50, n_probe=1).fit(
        centroids, labels, 4
    )
    sims, idx = big.kneighbors(queries)
    assert idx.shape == (600, 60) and bool(torch.isfinite(sims).all())
    assert all(len(set(row)) == 60 for row in idx.tolist())
    for kwargs, match in [
        ({"max_exact_clusters": 0}, "max_exact_clusters"),
        ({"n_probe": 0}, "n_probe"),
        ({"n_class_representatives": 0}, "n_class_representatives"),
    ]:
        with pytest.raises(ValueError, match=match):
            KNearestClusterRule(2, **kwargs).fit(centroids, labels, 4)


def test_class_max_by_columns_equals_the_scatter():
    from skimbalance.neighbors.k_nearest_cluster import (
        _class_max,
        _class_max_by_columns,
    )

    g = torch.Generator().manual_seed(0)
    sims = torch.randn(50, 30, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (30,), generator=g)
    labels[labels == 3] = 2  # class 3 has no cluster
    columns = [torch.nonzero(labels == c, as_tuple=True)[0] for c in range(6)]
    assert torch.equal(
        _class_max(sims, labels, 6), _class_max_by_columns(sims, columns)
    )
