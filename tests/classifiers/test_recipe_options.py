"""The long-tail recipes as estimator options: ``loss="vs"``, ``optimizer="sam"``,
``max_norm`` and ``sampling``."""

import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
    load_model,
    save_model,
)
from skimbalance._net import StratifiedValidationSplit, TrainingNet
from skimbalance._validation import fit_seed
from skimbalance.losses import VSLoss
from skimbalance.miners.minority import minority_classes
from skimbalance.optim.sam import SAM
from skimbalance.training.ce_term import CE_LOSSES, rebalances

FAST = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=3,
    lr=1e-2,
    batch_size=32,
    random_state=0,
    n_threads=1,
)


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=200,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.75, 0.2, 0.05],
        class_sep=1.0,
        random_state=3,
    )


# ------------------------------------------------------------------ VS loss
def test_vs_is_a_loss_string_and_rebalances():
    assert CE_LOSSES["vs"] is VSLoss and rebalances("vs") and rebalances(VSLoss())


def test_vs_loss_by_hand():
    # counts (16, 1), gamma 0.5: Delta = (1, 1/4); tau 1: iota = log(16/17, 1/17).
    crit = VSLoss(gamma=0.5, tau=1.0).with_class_counts([[16, 1]])
    logits = torch.tensor([[[2.0, 4.0]]])
    z = np.array([2.0 * 1.0 + math.log(16 / 17), 4.0 * 0.25 + math.log(1 / 17)])
    expected = -(z[1] - np.log(np.exp(z).sum()))
    got = float(crit((logits,), torch.tensor([[1]]), {}))
    assert got == pytest.approx(expected, rel=1e-6)


def test_vs_unbound_and_bad_parameters_are_refused_clearly():
    with pytest.raises(ValueError, match="no class counts"):
        VSLoss()((torch.zeros(1, 1, 2),), torch.tensor([[0]]), {})
    with pytest.raises(ValueError, match=r"VSLoss\(gamma=-1.0\): gamma must be"):
        VSLoss(gamma=-1.0).with_class_counts([[3, 1]])


@pytest.mark.parametrize("cls", [CrossEntropyClassifier, CRLClassifier])
def test_vs_loss_trains_the_estimators_with_the_training_counts(data, cls):
    X, y = data
    user_loss = VSLoss(gamma=0.3, tau=0.5)
    clf = cls(**FAST, loss=user_loss).fit(X, y)
    crit = clf.net_.criterion_
    crit = getattr(crit, "ce", crit)
    assert isinstance(crit, VSLoss) and crit is not user_loss
    counts = np.bincount(y).astype(float)
    torch.testing.assert_close(
        crit.scale,
        torch.tensor(((counts / counts.max()) ** 0.3)[None], dtype=torch.float32),
    )
    torch.testing.assert_close(
        crit.offset,
        torch.tensor((0.5 * np.log(counts / counts.sum()))[None], dtype=torch.float32),
    )
    assert user_loss.scale is None  # the user's object is not bound
    # A rebalancing loss: "auto" corrects nothing; a string equals its object.
    assert clf.set_params(prior_correction="auto")._prior_tau() == 0.0
    a = CrossEntropyClassifier(**FAST, loss="vs").fit(X, y)
    b = CrossEntropyClassifier(**FAST, loss=VSLoss()).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = CrossEntropyClassifier(**FAST).fit(X, y)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))
    # gamma = 0 is logit adjustment, fit for fit.
    la = CrossEntropyClassifier(**FAST, loss="logit_adjusted").fit(X, y)
    vs0 = CrossEntropyClassifier(**FAST, loss=VSLoss(gamma=0.0)).fit(X, y)
    np.testing.assert_allclose(la.predict_proba(X), vs0.predict_proba(X), atol=1e-6)


def test_vs_loss_parameters_in_a_search_and_in_a_model_file(data, tmp_path):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, loss=VSLoss())
    assert clf.get_params()["loss__gamma"] == 0.2
    assert clone(clf.set_params(loss__gamma=0.4)).loss.gamma == 0.4
    search = GridSearchCV(clf, {"loss__gamma": [0.1, 0.3]}, cv=2).fit(X, y)
    assert search.best_estimator_.loss.gamma in (0.1, 0.3)
    fitted = CrossEntropyClassifier(**FAST, loss=VSLoss(gamma=0.3)).fit(X, y)
    path = save_model(fitted, tmp_path / "vs.safetensors")
    loaded = load_model(path)
    assert loaded.loss.gamma == 0.3
    torch.testing.assert_close(
        loaded.net_.criterion_.scale, fitted.net_.criterion_.scale
    )
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


# ---------------------------------------------------------------------- SAM
class _InitialWeights(Callback):
    def on_train_begin(self, net, **kwargs):
        self.state = {k: v.clone() for k, v in net.module_.state_dict().items()}


def test_one_sam_step_is_the_hand_computed_step(data):
    X, y = data
    X = X.astype(np.float32)
    record = _InitialWeights()
    rho, lr = 0.1, 0.5
    clf = CrossEntropyClassifier(
        hidden_layer_sizes=(),
        embedding_dim=4,
        max_epochs=1,
        batch_size=len(y),  # one step on the whole set
        lr=lr,
        optimizer="sam",
        optimizer_params={"base_optimizer": "sgd", "rho": rho, "momentum": 0.0},
        callbacks=[("w0", record)],
        random_state=0,
        n_threads=1,
    ).fit(X, y)
    # By hand: g at w, e = rho g / ||g||, w - lr * grad L(w + e).
    record = dict(clf.net_.callbacks_)["w0"]  # the estimator's copy
    module = clf.net_.module_
    names = [name for name, _ in module.named_parameters()]
    w = [record.state[name].clone().requires_grad_(True) for name in names]
    xt, yt = torch.as_tensor(X), torch.as_tensor(y)

    def loss_at(weights):
        out = torch.func.functional_call(
            module, dict(zip(names, weights, strict=True)), (xt,)
        )
        return torch.nn.functional.cross_entropy(out[0][:, 0], yt)

    g = torch.autograd.grad(loss_at(w), w)
    norm = torch.sqrt(sum((gi.double() ** 2).sum() for gi in g)).float()
    w_e = [wi + rho * gi / norm for wi, gi in zip(w, g, strict=True)]
    g_e = torch.autograd.grad(loss_at(w_e), w_e)
    for name, wi, gi, ge in zip(names, w, g, g_e, strict=True):
        expected = wi.detach() - lr * ge
        torch.testing.assert_close(module.state_dict()[name], expected)
        # ... and not the plain step.
        assert not torch.allclose(expected, wi.detach() - lr * gi)
    # The step's recorded loss is the loss at w.
    assert clf.net_.history[-1, "train_loss"] == pytest.approx(
        float(loss_at(w).detach())
    )


def test_sam_fits_differ_from_sgd_and_rho_0_is_sgd(data):
    X, y = data
    common = dict(FAST, dropout=0.0, lr=0.05)
    sgd = CrossEntropyClassifier(**common, optimizer="sgd").fit(X, y)
    sam = CrossEntropyClassifier(**common, optimizer="sam").fit(X, y)
    flat = CrossEntropyClassifier(
        **common, optimizer="sam", optimizer_params={"rho": 0.0}
    ).fit(X, y)
    assert not np.allclose(sgd.predict_proba(X), sam.predict_proba(X))
    np.testing.assert_allclose(sgd.predict_proba(X), flat.predict_proba(X), atol=1e-6)
    again = CrossEntropyClassifier(**common, optimizer="sam").fit(X, y)
    np.testing.assert_array_equal(sam.predict_proba(X), again.predict_proba(X))


def test_sam_wraps_the_chosen_optimizer_and_checks_its_arguments(data):
    X, y = data
    clf = CrossEntropyClassifier(
        **FAST,
        optimizer="sam",
        optimizer_params={"base_optimizer": "adam", "rho": 0.2, "betas": (0.8, 0.9)},
    ).fit(X, y)
    opt = clf.net_.optimizer_
    assert isinstance(opt.base_optimizer, torch.optim.Adam)
    assert opt.param_groups[0]["rho"] == 0.2
    assert opt.param_groups[0]["betas"] == (0.8, 0.9)
    bad = [
        ({"base_optimizer": "sam"}, r"base_optimizer'\] must be one of"),
        ({"base_optimizer": torch.optim.SGD}, r"base_optimizer'\] must be one of"),
        ({"rho": -0.1}, r"optimizer_params\['rho'\].*>= 0, got -0.1"),
        ({"rho": True}, r"optimizer_params\['rho'\]"),
        ({"betas": (0.9, 0.99)}, r"'betas'.*base_optimizer='sgd'"),
        ({"lr": 0.1}, "sets itself"),
    ]
    for params, message in bad:
        with pytest.raises(ValueError, match=message):
            CrossEntropyClassifier(
                **FAST, optimizer="sam", optimizer_params=params
            ).fit(X, y)
    with pytest.raises(ValueError, match="need optimizer='sam'"):
        CrossEntropyClassifier(**FAST, optimizer_params={"rho": 0.1}).fit(X, y)


@pytest.mark.parametrize(
    "cls, extra",
    [
        (CRLClassifier, {}),
        (UncertaintyMarginClassifier, {"warmup_epochs": 1, "sample_level_epochs": 0}),
        (CLMLEClassifier, {"warmup_epochs": 1, "n_cluster_rounds": 1}),
    ],
)
def test_sam_trains_every_estimator_and_counts_a_step_once(data, cls, extra):
    X, y = data
    clf = cls(**FAST, **extra, optimizer="sam").fit(X, y)
    assert isinstance(clf.net_.optimizer_, SAM)
    assert np.isfinite(clf.net_.history[:, "train_loss"]).all()


class _CountingLoss(torch.nn.Module):
    """Cross-entropy that counts its calls in training mode (a stateful criterion)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, y_pred, y_true, batch):
        self.calls += int(self.training)
        loss = torch.nn.functional.cross_entropy(y_pred[0][:, 0], y_true[:, 0])
        return loss, {"calls": float(self.calls)}


def test_a_sam_step_shows_the_criterion_one_training_pass():
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.int64)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, data, **kwargs):
            return (self.linear(data).unsqueeze(1),)

    net = TrainingNet(
        module=Net(),
        criterion=_CountingLoss(),
        optimizer=SAM,
        optimizer__rho=0.05,
        lr=0.1,
        max_epochs=2,
        batch_size=10,
        train_split=None,
        verbose=0,
    ).fit({"data": X}, y)
    # 4 steps an epoch: the pass at w + e neither counts nor logs.
    assert net.criterion_.calls == 8 and net.criterion_.training
    assert net.history[-1, "batches", -1, "calls"] == 8.0


def test_sam_warm_start_carries_the_base_state_and_the_file_keeps_it(data, tmp_path):
    X, y = data
    params = dict(FAST, optimizer="sam", optimizer_params={"base_optimizer": "adam"})
    clf = CrossEntropyClassifier(**params).fit(X, y)
    steps = float(clf.net_.optimizer_.state_dict()["state"][0]["step"])
    clf.set_params(warm_start=True).fit(X, y)
    assert float(clf.net_.optimizer_.state_dict()["state"][0]["step"]) == 2 * steps
    # Another base optimizer: a fresh state (SGD's momentum is not Adam's moments).
    clf.set_params(optimizer_params={"base_optimizer": "sgd"}).fit(X, y)
    assert "step" not in clf.net_.optimizer_.state_dict()["state"][0]
    loaded = load_model(save_model(clf, tmp_path / "sam.safetensors"))
    assert isinstance(loaded.net_.optimizer_.base_optimizer, torch.optim.SGD)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# ------------------------------------------------------------------ MaxNorm
class _HeadNorms(Callback):
    """The largest class-vector norm of the head after every training step."""

    def __init__(self, dim):
        self.dim = dim

    def on_train_begin(self, net, **kwargs):
        self.norms = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            weight = net.module_.head.weight.detach()
            self.norms.append(float(weight.norm(dim=self.dim).max()))


@pytest.mark.parametrize(
    "cls, extra, dim",
    [
        (CrossEntropyClassifier, {}, -2),
        (CRLClassifier, {}, -2),
        (UncertaintyMarginClassifier, {"warmup_epochs": 1}, -1),
    ],
)
def test_max_norm_bounds_the_class_vectors_after_every_step(data, cls, extra, dim):
    X, y = data
    radius = 0.3
    common = dict(FAST, **extra, max_epochs=4, callbacks=[("norms", _HeadNorms(dim))])
    plain = cls(**common).fit(X, y)
    clf = cls(**common, max_norm=radius).fit(X, y)
    seen = dict(clf.net_.callbacks_)["norms"].norms
    assert len(seen) == sum(len(row["batches"]) for row in clf.net_.history)
    assert max(seen) <= radius + 1e-6
    norms = clf.net_.module_.head.weight.detach().norm(dim=dim)
    assert norms.max() == pytest.approx(radius, rel=1e-5)  # the bound is active
    assert float(plain.net_.module_.head.weight.detach().norm(dim=dim).max()) > radius
    # A vector inside the ball is left exactly alone: a radius above every
    # norm reached gives the plain fit.
    loose = cls(**common, max_norm=1e3).fit(X, y)
    np.testing.assert_array_equal(loose.predict_proba(X), plain.predict_proba(X))


def test_max_norm_is_refused_where_the_head_is_not_linear(data):
    X, y = data
    with pytest.raises(ValueError, match="LDAM's cosine head"):
        CrossEntropyClassifier(**FAST, loss="ldam", max_norm=1.0).fit(X, y)
    with pytest.raises(ValueError, match="margin_type='cosface' normalises"):
        UncertaintyMarginClassifier(**FAST, margin_type="cosface", max_norm=1.0).fit(
            X, y
        )
    with pytest.raises(ValueError, match="max_norm"):
        CrossEntropyClassifier(**FAST, max_norm=0.0).fit(X, y)
    assert "max_norm" not in CLMLEClassifier().get_params()


# ----------------------------------------------------------------- sampling
class _Batches(Callback):
    """The rows (``index``) of every training batch, per epoch."""

    def on_train_begin(self, net, **kwargs):
        self.epochs = []

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append([])

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.epochs[-1].append(np.asarray(batch[0]["index"]))


@pytest.fixture(scope="module")
def long_tail():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [160, 32, 8])
    X = (np.eye(3)[y] * 2 + rng.normal(size=(200, 3))).astype(np.float32)
    return X, y


def _fit_batches(cls, X, y, **params):
    params = {**FAST, **params, "callbacks": [("batches", _Batches())]}
    clf = cls(**params).fit(X, y)
    return clf, dict(clf.net_.callbacks_)["batches"].epochs


def test_instance_sampling_is_the_plain_shuffled_epoch(long_tail):
    X, y = long_tail
    clf, epochs = _fit_batches(CrossEntropyClassifier, X, y)
    assert clf.net_.train_sampler_factory is None
    for batches in epochs:  # every row once, the last batch short
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(200))
        assert [len(b) for b in batches] == [32] * 6 + [8]


@pytest.mark.parametrize(
    "sampling, p",
    [
        ("class_balanced", np.full(3, 1 / 3)),
        ("square_root", np.sqrt([160, 32, 8]) / np.sqrt([160, 32, 8]).sum()),
    ],
)
def test_the_batches_follow_the_sampling(long_tail, sampling, p):
    X, y = long_tail
    _, epochs = _fit_batches(CrossEntropyClassifier, X, y, sampling=sampling)
    for batches in epochs:
        rows = np.concatenate(batches)
        assert [len(b) for b in batches] == [32] * 7  # as many batches, all full
        counts = np.bincount(y[rows], minlength=3)
        assert (np.abs(counts - len(rows) * p) < 1).all()  # floor or ceiling
        # The rare class drawn at least as often as it has rows: all appear.
        assert set(rows[y[rows] == 2]) == set(np.flatnonzero(y == 2))


def test_progressive_sampling_moves_to_class_balanced_epoch_by_epoch(long_tail):
    X, y = long_tail
    n = np.array([160, 32, 8])
    _, epochs = _fit_batches(
        CrossEntropyClassifier, X, y, sampling="progressive", max_epochs=4
    )
    for t, batches in enumerate(epochs):
        rows = np.concatenate(batches)
        p = (1 - t / 4) * n / n.sum() + (t / 4) / 3
        counts = np.bincount(y[rows], minlength=3)
        assert (np.abs(counts - len(rows) * p) < 1).all(), (t, counts)


def test_crl_batches_keep_two_samples_of_a_minority_class(long_tail):
    X, y = long_tail
    clf, epochs = _fit_batches(CRLClassifier, X, y, sampling="square_root")
    for batches in epochs:
        for rows in batches:  # a minority class with 2 samples: mining runs
            assert bool(minority_classes(torch.as_tensor(y[rows]), 3).any())
            rare = y[rows] == 2
            assert len(set(rows[rare])) >= 2  # 2 distinct samples of the rarest
    assert clf.net_.train_batch_sampler_.min_per_class == 2
    assert clf.minority_frequency_[2] > 0.9  # the rare class mined almost always


def test_sampling_draws_from_the_rows_left_for_training(long_tail):
    X, y = long_tail
    clf, epochs = _fit_batches(
        CrossEntropyClassifier,
        X,
        y,
        sampling="class_balanced",
        early_stopping=True,
        validation_fraction=0.25,
    )
    sampler = clf.net_.train_batch_sampler_
    train_rows = np.concatenate(epochs[0])
    # The batches carry the rows' indices in the full set: none is a
    # validation row, and the sampler counted the training rows' classes.
    seed = fit_seed(FAST["random_state"])
    train, valid = StratifiedValidationSplit(0.25, y, seed).indices(200)
    assert not set(np.concatenate([np.concatenate(b) for b in epochs])) & set(valid)
    assert sampler.class_counts_.tolist() == np.bincount(y[train]).tolist()
    assert len(train_rows) == 32 * int(np.ceil(len(train) / 32))


def test_sampling_is_seeded_and_refuses_multi_label(long_tail):
    X, y = long_tail
    a, _ = _fit_batches(CrossEntropyClassifier, X, y, sampling="class_balanced")
    b, _ = _fit_batches(CrossEntropyClassifier, X, y, sampling="class_balanced")
    c, _ = _fit_batches(CrossEntropyClassifier, X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))
    _, Y = make_multilabel_classification(n_samples=40, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match="not defined for a multi-label target"):
        CrossEntropyClassifier(**FAST, sampling="square_root").fit(X[:40], Y)
    assert "sampling" not in CLMLEClassifier().get_params()


@pytest.mark.parametrize("cls", [CRLClassifier, UncertaintyMarginClassifier])
def test_sampling_trains_the_methods(long_tail, cls):
    X, y = long_tail
    extra = {"warmup_epochs": 1} if cls is UncertaintyMarginClassifier else {}
    clf = cls(**FAST, **extra, sampling="class_balanced").fit(X, y)
    assert np.isfinite(clf.net_.history[:, "train_loss"]).all()
    assert clf.net_.train_batch_sampler_.sampling == "class_balanced"


def test_a_sampled_fit_pickles_saves_and_continues(long_tail, tmp_path):
    X, y = long_tail
    n = np.array([160, 32, 8])
    clf, _ = _fit_batches(
        CrossEntropyClassifier, X, y, sampling="progressive", max_epochs=2
    )
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    path = save_model(clf, tmp_path / "sampled.safetensors")
    loaded = load_model(path, params={"callbacks": [("batches", _Batches())]})
    assert loaded.sampling == "progressive"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # A continued fit plans its progressive schedule over its own epochs.
    clf.set_params(warm_start=True).fit(X, y)
    epochs = dict(clf.net_.callbacks_)["batches"].epochs
    assert len(epochs) == 2 and len(clf.net_.history) == 4
    rows = np.concatenate(epochs[0])
    counts = np.bincount(y[rows], minlength=3)
    assert (np.abs(counts - len(rows) * n / n.sum()) < 1).all()
