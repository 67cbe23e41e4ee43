"""Tests of the k-nearest-cluster rule (Eq. 10)."""

import math

import numpy as np
import pytest
import torch

from skimbalance.neighbors.k_nearest_cluster import (
    KNearestClusterRule,
    chunked_top_k,
    k_nearest_cluster_reference,
)


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
    scores = rule.decision_scores(q).numpy()
    with np.errstate(divide="ignore"):
        assert np.allclose(scores, np.log(ratios), atol=1e-12)


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


def test_absent_class_gets_lowest_score_and_single_class_is_highest():
    c = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    lab = torch.tensor([0, 1, 2, 3])
    rule = KNearestClusterRule(2).fit(c, lab)
    q = torch.tensor([[1.0, 0.05]])
    proba = rule.predict_proba(q)
    scores = rule.decision_scores(q)
    assert (proba > 0).all() and (proba < 1).all()
    assert proba[0, 2] == proba[0, 3] < proba[0, :2].min()
    assert torch.isneginf(scores[0, 2:]).all() and torch.isfinite(scores[0, :2]).all()
    one = KNearestClusterRule(2).fit(c, torch.tensor([0, 0, 1, 1]))
    p1 = one.predict_proba(q)
    assert p1[0, 0] > 0.99 and 0 < p1[0, 1] < 0.01
    assert torch.isposinf(one.decision_scores(q)[0, 0])


def test_infinite_cases_lie_outside_the_attainable_range():
    # the most extreme finite log-ratios stay strictly inside the substitutes
    q, c, lab = _problem(n_clusters=30, n_queries=200, n_classes=3, seed=11)
    for n_nb in (2, 5, 30):
        rule = KNearestClusterRule(n_nb).fit(c, lab)
        s = rule.decision_scores(q)
        finite = s[torch.isfinite(s)]
        low = -2 - math.log(max(n_nb - 1, 1))
        assert (finite >= low).all() and (finite <= 2).all()


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
