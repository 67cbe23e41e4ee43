"""Tests of the CLMLE cluster-based batch sampler (Sec. 3.3)."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from skimbalance.samplers.cluster_batch import (
    AlternatingBatchSampler,
    ClusterBatchSampler,
)


def _setup(n_clusters=20, size=25, dim=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    assignments = np.repeat(np.arange(n_clusters), size)
    rng.shuffle(assignments)
    centroids = rng.normal(size=(n_clusters, dim))
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    cluster_labels = np.arange(n_clusters) % n_classes
    return assignments, centroids, cluster_labels


def test_batches_have_m_clusters_and_fixed_samples():
    a, c, lab = _setup()
    s = ClusterBatchSampler(
        a, c, lab, n_clusters_per_batch=12, samples_per_cluster=5, random_state=0
    )
    assert len(s) == int(np.ceil(500 / 60))
    for batch in s:
        assert batch.dtype == np.int64 and batch.shape == (60,)
        assert len(np.unique(batch)) == 60
        clusters, counts = np.unique(a[batch], return_counts=True)
        assert len(clusters) == 12 and (counts == 5).all()


def test_same_and_other_class_clusters_are_present():
    # the 11 nearest clusters of every query are of another class: the sampler must
    # still bring a same-class cluster (and the reverse case)
    dim = 3
    centroids = np.zeros((24, dim))
    angles = np.linspace(0, 0.5, 12)
    centroids[:12, 0], centroids[:12, 1] = np.cos(angles), np.sin(angles)  # class 1
    centroids[12:, 0], centroids[12:, 1] = -np.cos(angles), np.sin(angles)
    labels = np.array([1] * 12 + [0] * 12)
    a = np.repeat(np.arange(24), 4)
    s = ClusterBatchSampler(
        a,
        centroids,
        labels,
        n_clusters_per_batch=12,
        samples_per_cluster=2,
        random_state=1,
    )
    for _ in range(30):
        q = s.choose_query()
        clusters = s.neighbour_clusters(q)
        assert clusters[0] == q and len(set(clusters.tolist())) == 12
        classes = labels[clusters[1:]]
        assert (classes == labels[q]).any() and (classes != labels[q]).any()
    # no other class at all: only same-class clusters are possible
    s1 = ClusterBatchSampler(
        a[:40],
        centroids[:12],
        labels[:12],
        n_clusters_per_batch=4,
        samples_per_cluster=2,
        n_batches=3,
        random_state=0,
    )
    for batch in s1:
        assert (labels[a[batch]] == 1).all()


def test_retrieves_the_nearest_clusters():
    a, c, lab = _setup(n_clusters=30, n_classes=2, seed=3)
    s = ClusterBatchSampler(a, c, lab, n_clusters_per_batch=6, random_state=0)
    q = 4
    got = s.neighbour_clusters(q)
    sims = c @ c[q]
    sims[q] = -np.inf
    nearest = np.argsort(-sims)[:5]
    kinds = lab[nearest] == lab[q]
    if kinds.any() and (~kinds).any():  # then no replacement is needed
        assert got[1:].tolist() == nearest.tolist()
    assert set(got[1:-1].tolist()) <= set(nearest.tolist())


def test_query_is_the_hardest_cluster_of_the_drawn_class():
    a, c, lab = _setup(n_clusters=12, size=10, n_classes=3, seed=4)
    s = ClusterBatchSampler(
        a, c, lab, n_clusters_per_batch=4, samples_per_cluster=3, random_state=0
    )
    rng = np.random.default_rng(0)
    losses = rng.random(a.size)
    s.update_losses(np.arange(a.size), losses)
    means = np.array([losses[a == k].mean() for k in range(12)])
    assert np.allclose(s.cluster_losses, means)
    seen_classes = set()
    for batch in s:
        q = a[batch[0]]
        cls = lab[q]
        seen_classes.add(int(cls))
        same = np.flatnonzero(lab == cls)
        assert q == same[np.argmax(means[same])]
        # first block of the batch is the query cluster
        assert (a[batch[:3]] == q).all()
    counts = np.bincount([lab[s.choose_query()] for _ in range(600)], minlength=3)
    assert (counts > 150).all()  # classes drawn uniformly


def test_unseen_clusters_come_first_and_cache_updates_incrementally():
    a, c, lab = _setup(n_clusters=6, size=8, n_classes=1, seed=5)
    s = ClusterBatchSampler(
        a, c, lab, n_clusters_per_batch=2, samples_per_cluster=8, random_state=0
    )
    visited = []
    for _ in range(6):
        q = s.choose_query()
        visited.append(q)
        s.update_losses(np.flatnonzero(a == q), np.zeros(8))
    assert sorted(visited) == list(range(6))  # every cluster once before any repeat
    # incremental update equals recomputation from the per-sample cache
    rng = np.random.default_rng(1)
    for _ in range(20):
        idx = rng.choice(a.size, size=7, replace=False)
        s.update_losses(idx, rng.random(7))
    expected = np.array([s.sample_losses_[a == k].mean() for k in range(6)])
    assert np.allclose(s.cluster_losses, expected)
    # repeated indices: the last value wins
    s.update_losses([0, 0], [5.0, 7.0])
    assert s.sample_losses_[0] == 7.0
    expected = np.array([s.sample_losses_[a == k].mean() for k in range(6)])
    assert np.allclose(s.cluster_losses, expected)


def test_uniform_query_varies_within_class():
    a, c, lab = _setup(n_clusters=10, size=5, n_classes=1, seed=6)
    s = ClusterBatchSampler(
        a,
        c,
        lab,
        n_clusters_per_batch=3,
        samples_per_cluster=2,
        query="uniform",
        random_state=0,
    )
    s.update_losses(np.arange(a.size), (a == 3).astype(float))
    queries = {s.choose_query() for _ in range(200)}
    assert len(queries) == 10
    hard = ClusterBatchSampler(
        a, c, lab, n_clusters_per_batch=3, samples_per_cluster=2, random_state=0
    )
    hard.update_losses(np.arange(a.size), (a == 3).astype(float))
    assert {hard.choose_query() for _ in range(50)} == {3}


def test_update_clusters_keeps_sample_cache():
    a, c, lab = _setup(n_clusters=8, size=5, n_classes=2, seed=7)
    s = ClusterBatchSampler(
        a, c, lab, n_clusters_per_batch=3, samples_per_cluster=2, random_state=0
    )
    s.update_losses(np.arange(20), np.arange(20, dtype=float))
    a2, c2, lab2 = _setup(n_clusters=4, size=10, n_classes=2, seed=8)
    s.update_clusters(a2, c2, lab2)
    seen = ~np.isnan(s.sample_losses_)
    expected = np.array(
        [
            s.sample_losses_[(a2 == k) & seen].mean()
            if ((a2 == k) & seen).any()
            else np.nan
            for k in range(4)
        ]
    )
    assert np.allclose(s.cluster_losses, expected, equal_nan=True)
    assert all(len(np.unique(a2[b])) == 3 for b in s)
    with pytest.raises(ValueError):
        s.update_clusters(a2[:-1], c2, lab2)


def test_small_clusters_and_few_clusters():
    a = np.array([0, 0, 1, 1, 1, 2])
    c = np.eye(3)
    s = ClusterBatchSampler(
        a,
        c,
        [0, 1, 1],
        n_clusters_per_batch=12,
        samples_per_cluster=20,
        n_batches=2,
        random_state=0,
    )
    for batch in s:  # all clusters, all members (no duplicates)
        assert sorted(batch.tolist()) == list(range(6))


def test_deterministic_and_dataloader_compatible():
    a, c, lab = _setup(seed=9)
    b1 = list(ClusterBatchSampler(a, c, lab, samples_per_cluster=4, random_state=42))
    b2 = list(ClusterBatchSampler(a, c, lab, samples_per_cluster=4, random_state=42))
    assert all(np.array_equal(x, y) for x, y in zip(b1, b2, strict=True))
    ds = TensorDataset(torch.arange(a.size))
    loader = DataLoader(
        ds,
        batch_sampler=ClusterBatchSampler(
            a, c, lab, samples_per_cluster=4, random_state=42
        ),
    )
    for (got,), expected in zip(loader, b1, strict=True):
        assert got.tolist() == expected.tolist()


def test_accepts_torch_inputs_and_validates():
    a, c, lab = _setup(seed=10)
    s = ClusterBatchSampler(
        torch.as_tensor(a), torch.as_tensor(c), torch.as_tensor(lab), random_state=0
    )
    s.update_losses(torch.arange(3), torch.tensor([1.0, 2.0, 3.0]))
    assert len(next(iter(s))) == 240
    with pytest.raises(ValueError):
        ClusterBatchSampler(a, c, lab, query="random")
    with pytest.raises(ValueError):
        ClusterBatchSampler(a + 100, c, lab)


def test_alternating_sampler_uses_each_label():
    a, c, lab = _setup(n_clusters=6, size=5, n_classes=2, seed=11)
    s1 = ClusterBatchSampler(
        a, c, lab, n_clusters_per_batch=2, samples_per_cluster=3, random_state=0
    )
    b = np.arange(30) % 3
    s2 = ClusterBatchSampler(
        b,
        np.eye(3),
        [0, 1, 1],
        n_clusters_per_batch=2,
        samples_per_cluster=3,
        random_state=1,
    )
    alt = AlternatingBatchSampler([s1, s2], n_batches=40, random_state=0)
    used = []
    for batch in alt:
        used.append(alt.last_sampler_)
        assignments = (a, b)[alt.last_sampler_]
        assert len(np.unique(assignments[batch])) == 2
    assert set(used) == {0, 1}
    assert len(AlternatingBatchSampler([s1, s2])) == max(len(s1), len(s2))
