"""The batch-hard triplet loss and the "Triplet+" row of Huang et al.'s Table 8."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from benchmarks.baselines.triplet import (
    TripletClassifier,
    TripletCriterion,
    oversampling_targets,
    triplet_plus,
)
from benchmarks.baselines.triplet_loss import (
    batch_hard_triplet_loss,
    pairwise_squared_distances,
)


def reference_loss(embedding, labels, margin, weight=None, normalize=True):
    """Plain loops: every anchor, its farthest positive and nearest negative."""
    rows = [embedding[i] for i in range(embedding.shape[0])]
    if normalize:
        rows = [r / torch.sqrt((r * r).sum()) for r in rows]
    labels = labels.tolist()
    total, weights, count = 0.0, 0.0, 0
    for a in range(len(rows)):
        d_pos, d_neg = [], []
        for j in range(len(rows)):
            d = sum((rows[a][k] - rows[j][k]) ** 2 for k in range(len(rows[a])))
            if j != a and labels[j] == labels[a]:
                d_pos.append(d)
            elif labels[j] != labels[a]:
                d_neg.append(d)
        if not d_pos or not d_neg:
            continue
        hardest_pos = d_pos[0]
        for d in d_pos[1:]:
            hardest_pos = torch.maximum(hardest_pos, d)
        hardest_neg = d_neg[0]
        for d in d_neg[1:]:
            hardest_neg = torch.minimum(hardest_neg, d)
        w = 1.0 if weight is None else float(weight[a])
        term = margin + hardest_pos - hardest_neg
        total = total + w * torch.clamp(term, min=0.0)
        weights += w
        count += 1
    if count == 0:
        return None, 0
    return total / weights, count


def _both(embedding, labels, **kw):
    e1 = embedding.clone().requires_grad_(True)
    e2 = embedding.clone().requires_grad_(True)
    loss, n = batch_hard_triplet_loss(e1, labels, **kw)
    ref, n_ref = reference_loss(e2, labels, kw.get("margin", 0.2), kw.get("weight"),
                                kw.get("normalize", True))  # fmt: skip
    loss.backward()
    ref.backward()
    return loss, n, e1.grad, ref, n_ref, e2.grad


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_the_loop_reference_in_value_and_gradient(normalize, weighted):
    gen = torch.Generator().manual_seed(0)
    embedding = torch.randn(14, 5, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 0, 1, 2])  # class 3 alone
    weight = torch.rand(14, generator=gen, dtype=torch.float64) if weighted else None
    margin = 0.5 if normalize else 3.0  # so that several hinges are active
    loss, n, grad, ref, n_ref, ref_grad = _both(
        embedding, labels, margin=margin, weight=weight, normalize=normalize
    )
    assert n == n_ref == 13  # the lone sample of class 3 has no positive
    assert float(loss.detach()) > 0
    assert torch.allclose(loss, ref)
    assert torch.allclose(grad, ref_grad)
    # The lone anchor is excluded, but it is a negative of others: it may get a
    # gradient; the loss does not depend on a weight it has as an anchor.
    if weighted:
        other = weight.clone()
        other[10] = 100.0
        again, _ = batch_hard_triplet_loss(
            embedding, labels, margin=margin, weight=other, normalize=normalize
        )
        assert torch.allclose(again, loss)


def test_hand_worked_example():
    e = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    loss, n = batch_hard_triplet_loss(
        e, torch.tensor([0, 0, 1]), margin=1.0, normalize=False
    )
    # anchor 0: d_ap = 1, d_an = 4 -> 0; anchor 1: d_ap = 1, d_an = 5 -> 0;
    # anchor 2 has no positive.
    assert n == 2 and float(loss) == 0.0
    loss, n = batch_hard_triplet_loss(
        e, torch.tensor([0, 0, 1]), margin=4.5, normalize=False
    )
    assert n == 2 and np.isclose(float(loss), ((4.5 + 1 - 4) + (4.5 + 1 - 5)) / 2)
    assert pairwise_squared_distances(e).diagonal().abs().max() == 0


@pytest.mark.parametrize(
    "labels",
    [
        torch.tensor([0, 0, 0, 0]),  # one class: no negative
        torch.tensor([0, 1, 2, 3]),  # singletons: no positive
        torch.tensor([5]),  # one sample
    ],
)
def test_no_triplet_gives_zero_and_finite_zero_gradient(labels):
    embedding = torch.randn(len(labels), 3, requires_grad=True)
    loss, n = batch_hard_triplet_loss(embedding, labels)
    loss.backward()
    assert n == 0 and float(loss.detach()) == 0.0
    assert torch.isfinite(embedding.grad).all() and (embedding.grad == 0).all()


def test_identical_embeddings_have_a_finite_gradient():
    embedding = torch.ones(6, 4, requires_grad=True)
    loss, n = batch_hard_triplet_loss(embedding, torch.tensor([0, 0, 0, 1, 1, 1]))
    loss.backward()
    assert n == 6 and np.isclose(float(loss.detach()), 0.2)  # margin + 0 - 0
    assert torch.isfinite(embedding.grad).all()


def test_zero_weights_and_bad_shapes():
    embedding = torch.randn(4, 3, requires_grad=True)
    loss, n = batch_hard_triplet_loss(
        embedding, torch.tensor([0, 0, 1, 1]), weight=torch.zeros(4)
    )
    loss.backward()
    assert (
        n == 4 and float(loss.detach()) == 0.0 and torch.isfinite(embedding.grad).all()
    )
    with pytest.raises(ValueError, match="embedding must be"):
        batch_hard_triplet_loss(torch.zeros(4, 1, 3), torch.tensor([0, 0, 1, 1]))


def test_criterion_adds_the_triplet_term_per_task():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(8, 2, 2, generator=gen)
    emb = torch.randn(8, 2, 3, generator=gen)
    y = torch.tensor([[0, 1], [0, 1], [0, 1], [0, 1], [1, 0], [1, 0], [1, 1], [1, 0]])
    crit = TripletCriterion(margin=0.2, triplet_weight=2.0, normalize=True)
    loss, logs = crit((logits, emb), y, {})
    terms = [batch_hard_triplet_loss(emb[:, t], y[:, t])[0] for t in range(2)]
    assert torch.isclose(loss, logs["ce_loss"] + 2.0 * (terms[0] + terms[1]) / 2)
    assert logs["triplets"] == 16.0
    crit.eval()  # evaluation: the loss alone, no logs
    assert torch.isclose(crit((logits, emb), y, {}), loss)
    off = TripletCriterion(margin=0.2, triplet_weight=0.0, normalize=True)
    loss0, logs0 = off((logits, emb), y, {})
    assert float(logs0["triplet_loss"]) == 0.0 and torch.isclose(
        loss0, logs0["ce_loss"]
    )


def test_oversampling_targets():
    y = np.array([0] * 100 + [1] * 10 + [2] * 60 + [3] * 49)
    assert oversampling_targets(y) == {1: 50, 3: 50}
    assert oversampling_targets(y, ratio=1.0) == {1: 100, 2: 100, 3: 100}
    with pytest.raises(ValueError, match="ratio"):
        oversampling_targets(y, ratio=0)


def test_triplet_plus_fits_predicts_and_oversamples():
    X, y = load_digits(n_class=4, return_X_y=True)
    keep = (y < 2) | (np.arange(len(y)) % 5 == 0)
    X, y = X[keep] / 16, y[keep]
    model = triplet_plus(
        0, hidden_layer_sizes=(32,), max_epochs=8, batch_size=32, device="cpu"
    )
    _, y_res = model[:-1].fit_resample(X, y)
    counts = np.bincount(y)
    assert np.bincount(y_res).min() == int(np.ceil(counts.max() / 2))
    model.fit(X, y)
    network = model[-1]
    assert network.class_weight == "balanced"
    assert network.class_counts_.min() == int(np.ceil(counts.max() / 2))
    assert (model.predict(X) == y).mean() > 0.8
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1)
    assert network.net_.history[-1, "triplets"] > 0
    # Same seed, same predictions.
    again = triplet_plus(
        0, hidden_layer_sizes=(32,), max_epochs=8, batch_size=32, device="cpu"
    ).fit(X, y)
    assert np.array_equal(again.predict_proba(X), proba)


def test_triplet_classifier_is_a_classifier():
    X, y = load_digits(n_class=3, return_X_y=True)
    clf = TripletClassifier(
        hidden_layer_sizes=(16,), max_epochs=3, margin=0.3, device="cpu"
    )
    clf.set_params(random_state=0).fit(X / 16, np.array(["a", "b", "c"])[y])
    assert set(clf.predict(X / 16)) <= {"a", "b", "c"}
    assert clf.net_.criterion_.margin == 0.3
    with pytest.raises(ValueError, match="margin"):
        TripletClassifier(margin=-1.0).fit(X / 16, y)
