"""The training loop's data path: batches gathered in one step, data on the device."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from skorch.dataset import Dataset
from torch.utils.data import DataLoader, Subset
from torch.utils.data._utils.collate import default_collate

from skimbalance import (
    CLMLEClassifier,
    ConvNetBackbone,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
    _net,
)
from skimbalance import base as base_module
from skimbalance._net import BatchDataset, batch_as_is


def _arrays(n=50):
    rng = np.random.default_rng(0)
    X = {
        "data": rng.normal(size=(n, 6)).astype(np.float32),
        "sample_weight": rng.uniform(size=(n, 1)).astype(np.float32),
        "index": np.arange(n, dtype=np.int64),
    }
    return X, rng.integers(0, 3, size=(n, 1)).astype(np.int64)


def _assert_same_batch(ours, theirs):
    (X_a, y_a), (X_b, y_b) = ours, theirs
    assert set(X_a) == set(X_b)
    for key in X_a:
        assert X_a[key].dtype == X_b[key].dtype, key
        assert torch.equal(X_a[key], X_b[key]), key
    assert y_a.dtype == y_b.dtype and torch.equal(y_a, y_b)


@pytest.mark.parametrize("as_tensors", [False, True])
def test_a_gathered_batch_is_the_collated_one(as_tensors):
    X, y = _arrays()
    if as_tensors:
        X = {key: torch.as_tensor(value) for key, value in X.items()}
    index = [7, 3, 3, 41, 0]
    ours = BatchDataset(X, y).__getitems__(index)
    theirs = default_collate([Dataset(X, y)[i] for i in index])
    _assert_same_batch(ours, theirs)
    # Through a Subset (the validation split holds out rows this way).
    rows = [5, 9, 11, 30, 31]
    ours = Subset(BatchDataset(X, y), rows).__getitems__([4, 0, 2])
    theirs = default_collate([Dataset(X, y)[rows[i]] for i in (4, 0, 2)])
    _assert_same_batch(ours, theirs)
    # Without a target: skorch's placeholder, one per row.
    X_only, y_none = BatchDataset(X, None).__getitems__(index)
    assert torch.equal(X_only["data"], torch.as_tensor(X["data"])[index])
    assert y_none.shape == (5, 1) and not y_none.any()


def test_a_loader_yields_the_same_batches_in_the_same_order():
    X, y = _arrays()
    torch.manual_seed(3)
    ours = list(
        DataLoader(BatchDataset(X, y), 16, shuffle=True, collate_fn=batch_as_is)
    )
    torch.manual_seed(3)
    theirs = list(DataLoader(Dataset(X, y), 16, shuffle=True))
    assert len(ours) == len(theirs) == 4
    for a, b in zip(ours, theirs, strict=True):
        _assert_same_batch(a, b)


ESTIMATORS = {
    "CE": lambda **kw: CrossEntropyClassifier(hidden_layer_sizes=(16,), **kw),
    "CE, early stopping": lambda **kw: CrossEntropyClassifier(
        hidden_layer_sizes=(16,), early_stopping=True, **kw
    ),
    "CE, DRW": lambda **kw: CrossEntropyClassifier(
        hidden_layer_sizes=(16,),
        class_weight="balanced",
        class_weight_start_epoch=1,
        **kw,
    ),
    "CE, CNN": lambda **kw: CrossEntropyClassifier(
        backbone=ConvNetBackbone((1, 8, 8), channels=(4,), hidden=8), **kw
    ),
    "CRL": lambda **kw: CRLClassifier(hidden_layer_sizes=(16,), **kw),
    "CLMLE": lambda **kw: CLMLEClassifier(
        hidden_layer_sizes=(16,), warmup_epochs=1, cluster_size=20, **kw
    ),
    "UM": lambda **kw: UncertaintyMarginClassifier(
        hidden_layer_sizes=(16,),
        warmup_epochs=1,
        sample_level_epochs=1,
        uncertainty_interval=1,
        n_mc_samples=2,
        **kw,
    ),
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16).astype(np.float32), y[:400]


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_fits_match_skorchs_per_sample_loader(digits, name, monkeypatch):
    """The gathered batches train the very network skorch's own loader does."""
    X, y = digits
    params = dict(max_epochs=3, batch_size=64, random_state=0, device="cpu")
    ours = ESTIMATORS[name](**params).fit(X, y)
    assert isinstance(ours.net_.dataset, type) and ours.net_.dataset is BatchDataset
    monkeypatch.setattr(_net, "BatchDataset", Dataset)
    monkeypatch.setattr(_net, "batch_as_is", default_collate)
    theirs = ESTIMATORS[name](**params).fit(X, y)
    assert theirs.net_.dataset is Dataset
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))


def test_training_inputs_stay_on_the_host_off_cuda():
    X, _ = _arrays()
    assert base_module.training_inputs_on(X, "cpu") is X


@pytest.mark.gpu
def test_training_inputs_go_to_the_gpu_when_they_fit(monkeypatch):
    X, _ = _arrays()
    on_gpu = base_module.training_inputs_on(X, "cuda")
    assert all(value.is_cuda for value in on_gpu.values())
    assert np.array_equal(on_gpu["data"].cpu().numpy(), X["data"])
    monkeypatch.setattr(base_module, "DEVICE_DATA_SHARE", 0.0)
    assert base_module.training_inputs_on(X, "cuda") is X  # nothing fits


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_a_fit_with_the_data_on_the_gpu_matches_one_from_the_host(
    digits, name, monkeypatch
):
    X, y = digits
    params = dict(max_epochs=3, batch_size=64, random_state=0, device="cuda")
    batches = []

    class Spy(_net.TrainingNet):
        def train_step(self, batch, **fit_params):
            batches.append(batch[0]["data"].device.type)
            return super().train_step(batch, **fit_params)

    monkeypatch.setattr(base_module, "TrainingNet", Spy)
    on_device = ESTIMATORS[name](**params).fit(X, y)
    assert set(batches) == {"cuda"}
    monkeypatch.setattr(base_module, "DEVICE_DATA_SHARE", 0.0)
    from_host = ESTIMATORS[name](**params).fit(X, y)
    np.testing.assert_allclose(
        on_device.predict_proba(X), from_host.predict_proba(X), rtol=1e-5, atol=1e-6
    )
