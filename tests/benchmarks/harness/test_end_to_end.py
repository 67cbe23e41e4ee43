"""The end-to-end variants' shared parts: the CNN settings, the image rows and
the image protocols; on a GPU, a tiny end-to-end profile on CUDA."""

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline

from benchmarks.harness import runner
from benchmarks.harness.data import protocols
from benchmarks.harness.end_to_end import (
    CPU_CNN,
    GPU_CNN,
    INPUT_SHAPE,
    cnn_net,
    image_row,
)
from benchmarks.harness.experiments import HoldoutExperiment
from benchmarks.harness.methods import MODERN_BASELINES, all_rows
from benchmarks.harness.profile import Profile
from skimbalance import ConvNetBackbone, CrossEntropyClassifier


def test_cnn_net_settings():
    net = cnn_net(max_epochs=7)
    assert net == dict(
        backbone=ConvNetBackbone(INPUT_SHAPE, **CPU_CNN),
        input_shape=(1, 28, 28),
        max_epochs=7,
        batch_size=128,
        lr=1e-3,
    )
    big = cnn_net(GPU_CNN, max_epochs=30, batch_size=256)
    assert big["backbone"].channels == (32, 64, 128) and big["backbone"].batch_norm
    assert big["batch_size"] == 256
    # The backbone's repr is part of the cache fingerprint: stable.
    assert repr(net["backbone"]) == (
        "ConvNetBackbone(input_shape=(1, 28, 28), channels=(16, 32), hidden=256, "
        "dropout=0.5, batch_norm=False, channels_last=True)"
    )


def test_image_rows_have_no_scaler_and_take_the_network_settings():
    net = cnn_net(max_epochs=2)
    ce = image_row("CE", 4, **net)
    assert type(ce) is CrossEntropyClassifier
    assert (ce.random_state, ce.max_epochs, ce.backbone) == (4, 2, net["backbone"])
    smote = image_row("SMOTE + CE", 0, **net)
    assert isinstance(smote, Pipeline)
    assert [name for name, _ in smote.steps] == ["smote", "crossentropyclassifier"]
    for row in (*MODERN_BASELINES, "CRL(I)", "CLMLE", "Uncertainty margin"):
        estimator = image_row(row, 0, **net)
        assert not hasattr(estimator, "steps"), row  # no StandardScaler in front
        assert estimator.input_shape == INPUT_SHAPE
    assert set(MODERN_BASELINES) <= set(all_rows())
    with pytest.raises(ValueError, match="unknown row 'nope'"):
        image_row("nope", 0)


def test_image_protocols_on_the_pixels(digits_pixels):
    X_pool, y_pool, X_test_pool, y_test_pool = protocols.image_pixels("mnist")
    X, y, X_test, y_test = protocols.ImageTable5("mnist")(3)
    assert X.shape[1] == 784 and X.dtype == np.float32
    counts = np.bincount(y, minlength=10)
    pool_counts = np.bincount(y_pool, minlength=10)
    assert np.array_equal(counts[:5], pool_counts[:5])  # classes 0-4 whole
    assert counts[5:].tolist() == [max(1, round(0.1 * c)) for c in pool_counts[5:]]
    assert np.array_equal(X_test, X_test_pool) and np.array_equal(y_test, y_test_pool)
    X_val_train, _, _, y_val = protocols.ImageTable5("mnist", "validation")(3)
    assert abs(len(y_val) - 0.2 * len(y)) <= 1
    assert len(X_val_train) + len(y_val) == len(y)
    X_pl, y_pl, X_test2, _ = protocols.PowerLawImages("fashion_mnist", 0.5)(1)
    assert X_pl.shape == (len(y_pl), 784)
    sizes = np.sort(np.bincount(y_pl))[::-1]
    assert sizes[0] == pool_counts.min() and sizes[0] / sizes[-1] > 50
    assert np.array_equal(X_test2, X_test_pool)
    # The same samples as the feature protocols draw for the same seed.
    rows = np.arange(len(y_pool), dtype=float).reshape(-1, 1)
    kept, _ = protocols.make_imbalanced(rows, y_pool, 3)
    assert np.array_equal(X, X_pool[kept.ravel().astype(int)])


def test_image_pixels_refuses_unknown_names():
    with pytest.raises(ValueError, match="name must be one of"):
        protocols.image_pixels("cifar10")
    with pytest.raises(ValueError, match="name must be one of"):
        protocols.ImageTable5("cifar10")


def _tiny_profile():
    return Profile(
        name="tiny_cnn",
        description="tiny end-to-end profile",
        experiments=lambda: [
            HoldoutExperiment(
                name="mnist",
                title="MNIST stand-in",
                load=protocols.ImageTable5("mnist"),
                rows=("CE", "CRL(I)", "CLMLE", "Uncertainty margin"),
                make_row=image_row,
            )
        ],
        seeds=1,
        net=dict(
            cnn_net(max_epochs=3),
            backbone=ConvNetBackbone(INPUT_SHAPE, channels=(4, 8), hidden=16),
        ),
    )


@pytest.mark.gpu
def test_tiny_end_to_end_profile_on_cuda(tmp_path, digits_pixels):
    result = runner.run_profile(
        _tiny_profile(),
        out=tmp_path,
        device="cuda",
        progress=False,
        figures=False,
        echo=lambda *a: None,
    )
    records = result["records"]
    assert len(records) == 4 and not [r["error"] for r in records if r["error"]]
    assert {r["device"] for r in records} == {"cuda"}
    assert all(0 <= r["balanced_accuracy"] <= 1 for r in records)
    assert torch.cuda.is_available()
