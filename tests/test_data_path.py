"""The data path of fit and predict: a float32 C-contiguous input (or a memmap)
reaches the batches without a whole copy; only batches are copied."""

import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from skorch.callbacks import Callback

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

ROOT = Path(__file__).resolve().parents[1]

SMALL = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=1,
    batch_size=64,
    n_threads=1,
    device="cpu",
    random_state=0,
)

ESTIMATORS = {
    "CE": lambda: CrossEntropyClassifier(**SMALL),
    "CRL": lambda: CRLClassifier(**SMALL),
    "CLMLE": lambda: CLMLEClassifier(warmup_epochs=0, cluster_size=20, **SMALL),
    "UM": lambda: UncertaintyMarginClassifier(
        warmup_epochs=0, class_weight_start_epoch=0, sample_level_epochs=1, **SMALL
    ),
}


def problem(n=600, d=8, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = (rng.standard_normal((n, d)) + y[:, None]).astype(np.float32)
    return X, y


class TrainingData(Callback):
    """Keeps what skorch trains on (the ``X`` of ``on_train_begin``) in a
    list shared by its copies (the estimators deep-copy their callbacks)."""

    def __init__(self, seen=None):
        self.seen = [] if seen is None else seen

    def __deepcopy__(self, memo):
        return TrainingData(self.seen)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.seen.append(X["data"])

    @property
    def data(self):
        return self.seen[-1]


def on_disk(X, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("storage", ["array", "memmap"])
def test_the_training_data_are_the_callers_buffer(name, storage, tmp_path):
    """What the batches are drawn from is the caller's float32 array itself,
    or the memmap's mapped file, not a copy of it."""
    X, y = problem()
    if storage == "memmap":
        X = on_disk(X, tmp_path)
    seen = TrainingData()
    estimator = ESTIMATORS[name]().set_params(callbacks=[("seen", seen)])
    estimator.fit(X, y)
    assert np.shares_memory(seen.data, X)
    assert estimator.predict(X).shape == (X.shape[0],)


def test_a_float64_input_is_converted_once_and_left_as_it_was():
    X, y = problem()
    X64 = X.astype(np.float64)
    before = X64.copy()
    seen = TrainingData()
    estimator = CrossEntropyClassifier(**SMALL, callbacks=[("seen", seen)])
    estimator.fit(X64, y)
    np.testing.assert_array_equal(X64, before)
    assert seen.data.dtype == np.float32 and seen.data.flags.c_contiguous
    assert not np.shares_memory(seen.data, X64)
    # The same predictions as from the float32 rows.
    reference = CrossEntropyClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(estimator.predict(X64), reference.predict(X))


def test_a_memmap_gives_the_predictions_of_the_array(tmp_path):
    X, y = problem()
    mapped = on_disk(X, tmp_path)
    from_array = CRLClassifier(**SMALL).fit(X, y)
    from_memmap = CRLClassifier(**SMALL).fit(mapped, y)
    np.testing.assert_array_equal(from_memmap.predict(mapped), from_array.predict(X))
    np.testing.assert_allclose(
        from_memmap.predict_proba(mapped), from_array.predict_proba(X), rtol=1e-6
    )


def test_fit_and_predict_allocate_far_less_than_the_data():
    """tracemalloc sees numpy's allocations: during fit and predict on a
    float32 array of 40 MB, at most a quarter of its size is allocated at
    once (a whole copy, float32 or float64, would be 1x or 2x)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 512), dtype=np.float32)
    y = rng.integers(0, 3, X.shape[0])
    # A first fit pays the imports and one-off allocations.
    CrossEntropyClassifier(**SMALL).fit(X[:256], y[:256]).predict(X[:256])
    estimator = CrossEntropyClassifier(**{**SMALL, "batch_size": 256})
    tracemalloc.start()
    try:
        estimator.fit(X, y)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        estimator.predict(X)
        _, predict_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fit_peak < 0.25 * X.nbytes, fit_peak
    assert predict_peak < 0.25 * X.nbytes, predict_peak


@pytest.mark.parametrize(
    "name, extra",
    [
        ("CrossEntropyClassifier", {}),
        ("CLMLEClassifier", {"warmup_epochs": 0}),
        (
            "UncertaintyMarginClassifier",
            {
                "warmup_epochs": 0,
                "sample_level_epochs": 1,
                "class_weight_start_epoch": 0,
            },
        ),
    ],
)
def test_a_read_only_memmap_fits_and_predicts_without_a_warning(name, extra, tmp_path):
    """torch warns once per process when it wraps a read-only array; a fresh
    process is the only place to see that the first fit and prediction (CLMLE's
    embeddings, the uncertainty margin's MC passes) do not."""
    X, y = problem()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    script = textwrap.dedent(
        f"""
        import numpy as np
        import skimbalance
        X = np.load({str(tmp_path / "X.npy")!r}, mmap_mode="r")
        y = np.load({str(tmp_path / "y.npy")!r})
        Estimator = getattr(skimbalance, {name!r})
        estimator = Estimator(**{SMALL!r}, **{extra!r}).fit(X, y)
        estimator.predict(X)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
