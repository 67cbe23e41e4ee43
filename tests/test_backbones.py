"""The CNN backbone factory: shapes, memory formats, estimators, validation."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from torch import nn

from skimbalance import (
    CLMLEClassifier,
    ConvNetBackbone,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance.backbones import ConvNet

TINY = dict(channels=(4, 8), hidden=16)
# Small enough for a fraction of a second a fit, large enough to learn the
# digits in a few epochs with every method.
SMALL = dict(channels=(8, 16), hidden=0, dropout=0.2)


@pytest.fixture(scope="module")
def digits():
    """300 of the 8 x 8 digits as flat rows in [0, 1]."""
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    ("input_shape", "feature_shape"),
    [
        ((1, 28, 28), (64, 7, 7)),
        ((1, 8, 8), (64, 2, 2)),
        ((3, 32, 32), (64, 8, 8)),
        ((5, 1, 1), (64, 1, 1)),  # a 1-pixel side is never pooled
        ((2, 7, 5), (64, 1, 1)),  # odd sides round down: 7 -> 3 -> 1, 5 -> 2 -> 1
        ((1, 1, 9), (64, 1, 2)),  # each side on its own
        ((1, 3, 1), (64, 1, 1)),
    ],
)
@pytest.mark.parametrize("hidden", [256, 0])
def test_output_shapes(input_shape, feature_shape, hidden):
    factory = ConvNetBackbone(input_shape, hidden=hidden)
    module = factory()
    assert isinstance(module, ConvNet) and module.feature_shape == feature_shape
    expected = hidden or int(np.prod(feature_shape))
    assert factory.out_features == module.out_features == expected
    x = torch.randn(3, *input_shape)
    assert module(x).shape == (3, expected)
    # Flat rows are reshaped to the input shape.
    module.eval()
    torch.testing.assert_close(module(x.reshape(3, -1)), module(x))
    # A block pools while a side of its input is at least 2.
    n_pools = sum(isinstance(m, nn.MaxPool2d) for m in module.modules())
    sides, expected_pools = list(input_shape[1:]), 0
    for _ in range(2):
        expected_pools += max(sides) >= 2
        sides = [s // 2 if s >= 2 else s for s in sides]
    assert n_pools == expected_pools


def test_default_architecture_on_28_by_28():
    module = ConvNetBackbone((1, 28, 28))()
    kinds = [type(m).__name__ for m in [*module.features, *module.head]]
    assert kinds == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "ReLU",
        "Dropout",
    ]
    assert module.head[1].in_features == 64 * 7 * 7
    assert module.head[-1].p == 0.5
    n_params = sum(p.numel() for p in module.parameters())
    assert n_params == (9 * 32 + 32) + (9 * 32 * 64 + 64) + (3136 * 256 + 256)


def test_no_dropout_layer_without_dropout():
    module = ConvNetBackbone((1, 8, 8), hidden=0, dropout=0.0)()
    assert not any(isinstance(m, nn.Dropout) for m in module.modules())
    assert module(torch.zeros(2, 1, 8, 8)).shape == (2, 64 * 2 * 2)


def test_wrong_input_shape_is_a_clear_error():
    module = ConvNetBackbone((1, 8, 8), **TINY)()
    for bad in (torch.zeros(2, 1, 7, 7), torch.zeros(2, 63), torch.zeros(1, 8, 8)):
        with pytest.raises(ValueError, match=r"\(batch, 1, 8, 8\) or flat rows"):
            module(bad)


def test_each_call_builds_a_fresh_module():
    factory = ConvNetBackbone((1, 8, 8), **TINY)
    first, second = factory(), factory()
    assert first is not second
    assert not torch.equal(first.features[0].weight, second.features[0].weight)
    torch.manual_seed(3)
    a = factory()
    torch.manual_seed(3)
    b = factory()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


# --------------------------------------------------------- memory formats
@pytest.mark.parametrize("batch_norm", [False, True])
def test_channels_last_gives_the_same_outputs_and_gradients(batch_norm):
    shape = (3, 12, 10)
    torch.manual_seed(0)
    plain = ConvNetBackbone(shape, **TINY, batch_norm=batch_norm, dropout=0.0)()
    torch.manual_seed(0)
    fast = ConvNetBackbone(
        shape, **TINY, batch_norm=batch_norm, dropout=0.0, channels_last=True
    )()
    assert fast.channels_last and not plain.channels_last
    assert fast.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(6, *shape)
    outputs = []
    for module in (plain, fast):
        module.train()
        out = module(x)
        out.square().sum().backward()
        module.eval()
        outputs.append((out, module(x), [p.grad for p in module.parameters()]))
    (train_a, eval_a, grads_a), (train_b, eval_b, grads_b) = outputs
    torch.testing.assert_close(train_a, train_b, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(eval_a, eval_b, rtol=1e-4, atol=1e-5)
    for g, h in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(g, h, rtol=1e-3, atol=1e-5)


def test_channels_last_estimator_predicts_as_the_default(digits):
    X, y = digits
    kwargs = dict(max_epochs=2, batch_size=64, random_state=0, n_threads=1)
    plain = CrossEntropyClassifier(
        backbone=ConvNetBackbone((1, 8, 8), **TINY), **kwargs
    ).fit(X, y)
    fast = CrossEntropyClassifier(
        backbone=ConvNetBackbone((1, 8, 8), **TINY, channels_last=True), **kwargs
    ).fit(X, y)
    np.testing.assert_allclose(
        fast.predict_proba(X), plain.predict_proba(X), rtol=1e-3, atol=1e-5
    )


# ---------------------------------------------------------- batch norm
def test_batch_norm_path(digits):
    module = ConvNetBackbone((1, 8, 8), **TINY, batch_norm=True)()
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    assert [n.num_features for n in norms] == [4, 8]
    assert all(c.bias is None for c in convs)
    x = torch.randn(16, 1, 8, 8)
    module.train()
    module(x)
    assert not torch.equal(norms[0].running_mean, torch.zeros(4))
    X, y = digits
    clf = CrossEntropyClassifier(
        backbone=ConvNetBackbone((1, 8, 8), **TINY, batch_norm=True),
        max_epochs=3,
        lr=1e-2,
        batch_size=64,
        random_state=0,
        n_threads=1,
    ).fit(X, y)
    fitted = [m for m in clf.net_.module_.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(fitted) == 2 and int(fitted[0].num_batches_tracked) > 0
    assert clf.score(X, y) > 0.5
    # Evaluation mode: a row's prediction does not depend on its batch.
    np.testing.assert_allclose(
        clf.predict_proba(X[:1]), clf.predict_proba(X)[:1], rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "settings",
    [
        dict(),
        dict(batch_norm=True),
        dict(channels_last=True),
        dict(hidden=0, dropout=0.0),
    ],
)
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 5, 4), (2, 1, 1)])
def test_gradients_are_finite(settings, shape):
    torch.manual_seed(0)
    module = ConvNetBackbone(shape, **{**TINY, **settings})()
    module.train()
    out = module(torch.randn(4, *shape))
    assert torch.isfinite(out).all()
    torch.nn.functional.cross_entropy(out, torch.arange(4)).backward()
    grads = [p.grad for p in module.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


# --------------------------------------------------- factory semantics
def test_repr_equality_pickle_and_copies():
    factory = ConvNetBackbone([1, 8, np.int64(8)], channels=[4, 8], hidden=None)
    assert repr(factory) == (
        "ConvNetBackbone(input_shape=(1, 8, 8), channels=(4, 8), hidden=0, "
        "dropout=0.5, batch_norm=False, channels_last=False)"
    )
    assert factory == ConvNetBackbone((1, 8, 8), channels=(4, 8), hidden=0)
    assert hash(factory) == hash(ConvNetBackbone((1, 8, 8), (4, 8), 0))
    for other in (
        pickle.loads(pickle.dumps(factory)),
        copy.deepcopy(factory),
        copy.copy(factory),
    ):
        assert other == factory and repr(other) == repr(factory)
    with pytest.raises(AttributeError):
        factory.hidden = 3  # frozen


def test_estimator_with_the_factory_clones_and_pickles(digits):
    X, y = digits
    factory = ConvNetBackbone((1, 8, 8), **TINY)
    clf = CrossEntropyClassifier(
        backbone=factory, max_epochs=2, batch_size=64, random_state=0, n_threads=1
    )
    copied = clone(clf)
    assert copied.backbone == factory and repr(copied) == repr(clf)
    assert "ConvNetBackbone(input_shape=(1, 8, 8)" in repr(clf)
    clf.fit(X, y)
    assert clf.backbone is factory  # the parameter is left as passed
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    np.testing.assert_array_equal(clone(clf).fit(X, y).predict(X), clf.predict(X))
    swapped = clone(clf).set_params(
        backbone=ConvNetBackbone((1, 8, 8), channels=(2,), hidden=0)
    )
    swapped.fit(X, y)
    assert swapped.net_.module_.backbone.out_features == 2 * 4 * 4


# ------------------------------------------------------------ estimators
ESTIMATORS = {
    "CE": lambda **kw: CrossEntropyClassifier(**kw),
    "CRL": lambda **kw: CRLClassifier(**kw),
    "CLMLE": lambda **kw: CLMLEClassifier(
        warmup_epochs=1, n_cluster_rounds=1, cluster_size=20, **kw
    ),
    "UM": lambda **kw: UncertaintyMarginClassifier(
        warmup_epochs=1,
        class_weight_start_epoch=1,
        sample_level_epochs=1,
        uncertainty_interval=1,
        n_mc_samples=3,
        **kw,
    ),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_every_estimator_fits_and_predicts_with_it(digits, name):
    X, y = digits
    params = dict(
        backbone=ConvNetBackbone((1, 8, 8), **SMALL),
        embedding_dim=8,
        max_epochs=8,
        lr=1e-2,
        batch_size=64,
        random_state=0,
        n_threads=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. the UM's "no dropout" warning
        clf = ESTIMATORS[name](**params).fit(X, y)
    module = clf.net_.module_
    assert isinstance(module.backbone, ConvNet)
    assert module.input_shape == (1, 8, 8)  # taken from the factory
    pred = clf.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= set(y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.mean(pred == y) > 0.4  # chance: 0.1
    again = ESTIMATORS[name](**params).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), pred)
    np.testing.assert_allclose(again.predict_proba(X), proba, rtol=1e-6)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("batch_norm", [False, True])
def test_every_estimator_fits_on_cuda_and_predicts_on_a_cpu(
    tmp_path, digits, name, batch_norm
):
    """Fitted on CUDA with the CNN, pickled, loaded and predicted in a process
    that sees no GPU: the same probabilities."""
    import os
    import subprocess
    import sys

    X, y = digits
    clf = ESTIMATORS[name](
        backbone=ConvNetBackbone((1, 8, 8), **SMALL, batch_norm=batch_norm),
        embedding_dim=8,
        max_epochs=4,
        batch_size=64,
        device="cuda",
        random_state=0,
    ).fit(X, y)
    assert str(clf.net_.device).startswith("cuda")
    assert next(clf.net_.module_.parameters()).is_cuda
    expected = clf.predict_proba(X)
    assert np.isfinite(expected).all()
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", expected)
    script = (
        "import pickle, warnings, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "warnings.simplefilter('ignore')\n"
        f"clf = pickle.load(open({str(tmp_path / 'model.pkl')!r}, 'rb'))\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "assert not next(clf.net_.module_.parameters()).is_cuda\n"
        "np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-4)\n"
        "print('predicted on', clf.net_.device)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "predicted on cpu" in out.stdout


def test_uncertainty_margin_warns_without_dropout(digits):
    X, y = digits
    clf = UncertaintyMarginClassifier(
        backbone=ConvNetBackbone((1, 8, 8), **TINY, dropout=0.0),
        max_epochs=2,
        warmup_epochs=1,
        class_weight_start_epoch=1,
        sample_level_epochs=0,
        n_mc_samples=2,
        batch_size=64,
        random_state=0,
        n_threads=1,
    )
    with pytest.warns(UserWarning, match="no dropout"):
        clf.fit(X, y)


# ------------------------------------------------- input shape inference
def test_estimator_takes_the_input_shape_of_the_backbone(digits):
    X, y = digits
    factory = ConvNetBackbone((1, 8, 8), **TINY)
    kwargs = dict(max_epochs=1, batch_size=64, random_state=0, n_threads=1)
    inferred = CrossEntropyClassifier(backbone=factory, **kwargs).fit(X, y)
    given = CrossEntropyClassifier(
        backbone=factory, input_shape=(1, 8, 8), **kwargs
    ).fit(X, y)
    assert inferred.input_shape is None  # the parameter is not changed
    assert inferred.net_.module_.input_shape == (1, 8, 8)
    np.testing.assert_array_equal(inferred.predict(X), given.predict(X))
    # A module that declares its shape (the factory's product) is read too.
    module = CrossEntropyClassifier(backbone=factory(), **kwargs).fit(X, y)
    assert module.net_.module_.input_shape == (1, 8, 8)


def test_a_shape_mismatch_is_a_clear_error(digits):
    X, y = digits
    factory = ConvNetBackbone((1, 8, 8), **TINY)
    clf = CrossEntropyClassifier(backbone=factory, input_shape=(1, 4, 16))
    with pytest.raises(ValueError, match=r"input_shape=\(1, 4, 16\) but the backbone"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
    with pytest.raises(ValueError, match=r"backbone 'ConvNet' declares"):
        clf.set_params(backbone=factory()).fit(X, y)
    with pytest.raises(
        ValueError, match=r"input_shape=\(1, 8, 8\) \(the backbone's\) needs 64"
    ):
        CrossEntropyClassifier(backbone=factory, max_epochs=1).fit(X[:, :49], y)
    fitted = CrossEntropyClassifier(
        backbone=factory, max_epochs=1, n_threads=1, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :49])


def test_a_factory_of_your_own_can_declare_its_shape(digits):
    X, y = digits

    class Flatten3x3:
        """A user's factory: reads (1, 8, 8) images, declares the shape."""

        input_shape = (1, 8, 8)

        def __call__(self):
            return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten())

    clf = CrossEntropyClassifier(
        backbone=Flatten3x3(), max_epochs=1, random_state=0, n_threads=1
    ).fit(X, y)
    assert clf.net_.module_.input_shape == (1, 8, 8)

    class Odd(Flatten3x3):
        input_shape = "not a shape"  # not ours to read: ignored, rows stay flat

        def __call__(self):
            return nn.Sequential(nn.Linear(64, 4), nn.ReLU())

    clf = CrossEntropyClassifier(
        backbone=Odd(), max_epochs=1, random_state=0, n_threads=1
    ).fit(X, y)
    assert clf.net_.module_.input_shape is None


# ------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(input_shape=(8, 8)), r"input_shape must be \(channels, height, width\)"),
        (dict(input_shape=(1, 8, 8, 1)), "three positive integers"),
        (dict(input_shape=(1, 0, 8)), "three positive integers"),
        (dict(input_shape=(1, 8.0, 8)), "three positive integers"),
        (dict(input_shape=(True, 8, 8)), "three positive integers"),
        (dict(input_shape=64), "input_shape must be"),
        (dict(input_shape="1x8x8"), "input_shape must be"),
        (dict(input_shape=None), "input_shape must be"),
        (dict(channels=()), "channels must be a non-empty tuple"),
        (dict(channels=32), r"e\.g\. \(32, 64\); got 32"),
        (dict(channels=(32, -1)), "channels must be"),
        (dict(channels=(32, 2.5)), "channels must be"),
        (dict(hidden=-1), "hidden must be a non-negative integer"),
        (dict(hidden=2.5), "hidden must be"),
        (dict(hidden=True), "hidden must be"),
        (dict(dropout=1.0), r"dropout must be a probability in \[0, 1\)"),
        (dict(dropout=-0.1), "dropout must be"),
        (dict(dropout="0.5"), "dropout must be"),
        (dict(batch_norm=1), "batch_norm must be True or False"),
        (dict(channels_last="yes"), "channels_last must be True or False"),
    ],
)
def test_bad_arguments_raise_a_clear_value_error(kwargs, message):
    kwargs = {"input_shape": (1, 8, 8), **kwargs}
    with pytest.raises(ValueError, match=message):
        ConvNetBackbone(**kwargs)
