"""Every estimator fails loudly: divergence, bad weights, bad parameters, seeds (issue 17)."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

TINY = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=3,
    batch_size=32,
    n_threads=1,
    random_state=0,
)
METHOD = {
    CrossEntropyClassifier: {},
    CRLClassifier: {},
    UncertaintyMarginClassifier: dict(
        warmup_epochs=1, sample_level_epochs=1, uncertainty_interval=1, n_mc_samples=3
    ),
    CLMLEClassifier: dict(warmup_epochs=1, n_cluster_rounds=1),
}
ESTIMATORS = list(METHOD)


def _data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5).astype(np.float32)
    y = (rng.rand(n) < 0.3).astype(int)
    return X, y


def _tiny(cls, **params):
    return cls(**{**TINY, **METHOD[cls], **params})


# ------------------------------------------------------------------ item 1
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_diverged_fit_raises_and_leaves_no_nan_model(cls):
    X, y = _data()
    clf = _tiny(cls, optimizer="sgd", lr=1e3)
    with pytest.raises(FloatingPointError) as info:
        clf.fit(X, y)
    message = str(info.value)
    assert "epoch 1, batch" in message
    assert "learning rate" in message and "lr=1000.0" in message
    assert "StandardScaler" in message and "sample_weight" in message
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_divergence_names_the_non_finite_term():
    X, y = _data()
    clf = _tiny(CRLClassifier, optimizer="sgd", lr=1e3)
    with pytest.raises(FloatingPointError, match=r"non-finite term\(s\): ce_loss="):
        clf.fit(X, y)


def test_a_finite_fit_is_not_flagged_and_refits_after_divergence():
    X, y = _data()
    clf = _tiny(CrossEntropyClassifier, optimizer="sgd", lr=1e3)
    with pytest.raises(FloatingPointError):
        clf.fit(X, y)
    clf.set_params(lr=1e-2).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_parameters_that_overflow_with_a_finite_loss_are_caught():
    from skimbalance._divergence import DivergenceCheck

    class Poison(DivergenceCheck):
        """Overflow one parameter after the last step, the loss still finite."""

        def on_epoch_end(self, net, **kwargs):
            with torch.no_grad():
                next(net.module_.parameters())[0, 0] = float("inf")
            super().on_epoch_end(net, **kwargs)

    X, y = _data()
    clf = _tiny(CrossEntropyClassifier, max_epochs=1)
    clf._build_callbacks = lambda ctx: [("poison", Poison())]
    with pytest.raises(FloatingPointError, match=r"parameters .* non-finite"):
        clf.fit(X, y)


# ------------------------------------------------------------------ item 5
@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({0: np.inf}, r"class_weight\[0\] is inf; class_weight values must be finite"),
        ({0: np.nan}, r"class_weight\[0\] is NaN"),
        ({1: -1.0}, r"class_weight\[1\] is -1.0, a negative weight"),
        ({1: "heavy"}, r"class_weight\[1\] is 'heavy', not a number"),
        ({0: 0.0, 1: 0.0}, "sum to zero"),
    ],
)
def test_class_weight_values_are_validated(class_weight, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        CrossEntropyClassifier(**TINY, class_weight=class_weight).fit(X, y)


def test_multilabel_class_weight_names_label_and_class():
    X, _ = _data()
    Y = np.stack([np.arange(120) % 2, np.arange(120) % 3 == 0], axis=1).astype(int)
    with pytest.raises(ValueError, match=r"class_weight\[1\]\[0\] is inf"):
        CrossEntropyClassifier(**TINY, class_weight=[{}, {0: np.inf}]).fit(X, Y)


@pytest.mark.parametrize("sample_weight", [np.inf, np.nan, -1.0])
def test_bad_sample_weight_values_are_rejected(sample_weight):
    X, y = _data()
    sw = np.ones(120)
    sw[3] = sample_weight
    with pytest.raises(ValueError, match="sample_weight"):
        CrossEntropyClassifier(**TINY).fit(X, y, sample_weight=sw)


def test_huge_sample_weights_give_the_model_of_unit_weights():
    X, y = _data()
    with np.errstate(all="raise"):  # no overflow in the normalisation
        huge = CrossEntropyClassifier(**TINY).fit(
            X, y, sample_weight=np.full(120, 1e308)
        )
    unit = CrossEntropyClassifier(**TINY).fit(X, y)
    np.testing.assert_array_equal(huge.predict_proba(X), unit.predict_proba(X))
    mixed = np.ones(120)
    mixed[:60] = 1e308
    with np.errstate(over="raise"):
        CrossEntropyClassifier(**TINY, class_weight={0: 1e308}).fit(
            X, y, sample_weight=mixed
        )


# ------------------------------------------------------------------ item 6
@pytest.mark.parametrize(
    "params",
    [
        dict(hidden_layer_sizes=(0,)),
        dict(hidden_layer_sizes=(-3,)),
        dict(hidden_layer_sizes=(16, 2.5)),
        dict(hidden_layer_sizes=("a",)),
        dict(hidden_layer_sizes=(True,)),
        dict(hidden_layer_sizes=16),
        dict(input_shape=(0, 5)),
        dict(input_shape=()),
        dict(device="tpu"),
        dict(device="meta"),
        dict(device="garbage"),
        dict(device="cuda:x"),
        dict(lr=np.inf),
        dict(lr=np.nan),
    ],
)
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_out_of_range_parameters_raise_invalid_parameter_error(cls, params):
    X, y = _data()
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter"):
        _tiny(cls, **params).fit(X, y)


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), "auto"])
def test_valid_devices_are_accepted(device):
    X, y = _data()
    clf = CrossEntropyClassifier(**{**TINY, "max_epochs": 1}, device=device)
    assert clf.fit(X, y).predict(X).shape == (120,)


def test_empty_hidden_layer_sizes_is_still_valid():
    X, y = _data()
    clf = CrossEntropyClassifier(**{**TINY, "hidden_layer_sizes": ()}).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()


# ------------------------------------------------------------------ item 7
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_random_state_none_leaves_global_rngs_alone(cls):
    X, y = _data()
    np.random.seed(12345)
    numpy_state = np.random.get_state()
    torch_state = torch.random.get_rng_state()
    _tiny(cls, random_state=None, max_epochs=2).fit(X, y)
    after = np.random.get_state()
    assert after[0] == numpy_state[0]
    np.testing.assert_array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]
    assert torch.equal(torch_state, torch.random.get_rng_state())


def test_random_state_none_still_varies_between_fits():
    X, y = _data()
    a = CrossEntropyClassifier(**{**TINY, "random_state": None}).fit(X, y)
    b = CrossEntropyClassifier(**{**TINY, "random_state": None}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), b.predict_proba(X))
