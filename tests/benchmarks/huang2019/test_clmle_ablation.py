"""Huang et al.'s Table 7 ablation profile: rows, kNN wrapper, loader, report."""

import dataclasses
import importlib
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

from benchmarks.harness import runner
from benchmarks.harness.data import protocols as table5
from benchmarks.huang2019 import clmle_ablation
from benchmarks.huang2019.clmle_ablation import (
    HUANG2019_TABLE7,
    KNN_NEIGHBORS,
    PROFILES,
    ROWS,
    CLMLEEmbeddingKNN,
    PowerLawFeatures,
    make_row,
    report_clmle_ablation,
)
from skimbalance import CLMLEClassifier

TINY_NET = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=3,
    warmup_epochs=1,
    n_cluster_rounds=2,
    batch_size=64,
)


def _final(pipeline):
    return pipeline.steps[-1][1]


def test_rows_build_the_intended_estimators():
    net = dict(max_epochs=7, dropout=0.3, device="cpu", n_threads=1)
    expected = {
        "CLMLE": ("hardest", True),
        "uniform cluster sampling": ("uniform", True),
        "no cost-sensitive learning": ("hardest", False),
    }
    for row, (sampling, cost) in expected.items():
        est = _final(make_row(row, 4, **net))
        assert type(est) is CLMLEClassifier
        params = est.get_params()
        assert params["cluster_sampling"] == sampling
        assert params["cost_sensitive"] is cost
        assert params["random_state"] == 4 and params["max_epochs"] == 7
        assert params["dropout"] == 0.3 and params["n_neighbor_clusters"] == 2
        # The paper's method: no class weights (the library's default has
        # them, and they would leave "no cost-sensitive learning" weighted).
        assert params["class_weight"] is None
    pipe = make_row("instance-wise kNN", 4, **net)
    assert type(pipe.steps[0][1]).__name__ == "StandardScaler"
    knn = _final(pipe)
    assert isinstance(knn, CLMLEEmbeddingKNN)
    params = knn.get_params()
    assert params["n_neighbors"] == KNN_NEIGHBORS == 16
    assert params["weights"] == "uniform"
    assert params["clmle__cluster_sampling"] == "hardest"
    assert params["clmle__cost_sensitive"] is True
    assert params["clmle__class_weight"] is None
    assert params["clmle__random_state"] == 4 and params["clmle__max_epochs"] == 7
    assert list(ROWS) == list(HUANG2019_TABLE7)


def test_knn_wrapper_is_kneighbors_on_the_clmle_embedding():
    X, y = load_digits(n_class=3, return_X_y=True)
    X = X / 16.0
    labels = np.array(["a", "b", "c"])[y]
    clmle = CLMLEClassifier(random_state=0, n_threads=1, device="cpu", **TINY_NET)
    wrapper = CLMLEEmbeddingKNN(clmle, n_neighbors=5).fit(X[::2], labels[::2])
    assert wrapper.clmle is clmle and not hasattr(clmle, "net_")  # cloned
    embedding = wrapper.clmle_.transform(X[::2])
    reference = KNeighborsClassifier(n_neighbors=5).fit(embedding, labels[::2])
    queries = wrapper.clmle_.transform(X[1::2])
    np.testing.assert_array_equal(wrapper.predict(X[1::2]), reference.predict(queries))
    np.testing.assert_allclose(
        wrapper.predict_proba(X[1::2]), reference.predict_proba(queries)
    )
    np.testing.assert_array_equal(wrapper.classes_, ["a", "b", "c"])
    assert wrapper.clmle_.get_params() == clmle.get_params()
    # k is capped at the training-set size.
    small = CLMLEEmbeddingKNN(clmle, n_neighbors=500).fit(X[:40], labels[:40])
    assert small.knn_.n_neighbors == 40
    assert small.predict(X[40:45]).shape == (5,)


def test_power_law_loader(digits_features):
    X_train, y_train, X_test, y_test = PowerLawFeatures("fashion_mnist", 0.5)(seed=1)
    full = table5.image_features("fashion_mnist")  # the stand-in
    np.testing.assert_array_equal(X_test, full[2])  # test set untouched
    np.testing.assert_array_equal(y_test, full[3])
    assert X_train.shape == (len(y_train), 64)
    sizes = np.sort(np.bincount(y_train, minlength=10))[::-1]
    n_max = np.bincount(full[1]).min()
    expected = np.maximum(1, np.round(n_max * np.arange(1, 11) ** -2.0))
    np.testing.assert_array_equal(sizes, expected)
    # The seed changes which class is rare.
    other = PowerLawFeatures("fashion_mnist", 0.5)(seed=2)[1]
    assert np.argmax(np.bincount(other)) != np.argmax(np.bincount(y_train)) or (
        np.argmin(np.bincount(other)) != np.argmin(np.bincount(y_train))
    )


def test_profile_runs_on_a_tiny_configuration(tmp_path, digits_features):
    profile = dataclasses.replace(
        PROFILES["clmle_ablation"], seeds=1, jobs=1, net=TINY_NET
    )
    result = runner.run_profile(
        profile, out=tmp_path, progress=False, echo=lambda *a: None, device="cpu"
    )
    records = result["records"]
    assert len(records) == 2 * len(ROWS)
    assert {r["experiment"] for r in records} == {
        "fashion_mnist_gamma1",
        "fashion_mnist_gamma0.5",
    }
    assert not [r["error"] for r in records if r["error"]]
    assert all(0 < r["balanced_accuracy"] <= 1 for r in records)
    summary = (tmp_path / "summary.md").read_text()
    assert "Huang et al. Table 7 ablation" in summary
    assert "| instance-wise kNN |" in summary and "*88.59*" in summary
    assert (tmp_path / "clmle_ablation.png").stat().st_size > 1000


def test_ablation_modules_import_as_a_worker_imports_them():
    """A worker of a parallel run unpickles ``runner.execute`` and then the
    experiment's ``make_row``: the ablation modules must import in that order
    (and before ``benchmarks.harness.profile``, which may import them in turn).
    Re-imported here from scratch, the original modules put back afterwards."""
    ours = {
        name: module
        for name, module in sys.modules.items()
        if name == "benchmarks" or name.startswith("benchmarks.")
    }
    for name in ours:
        del sys.modules[name]
    try:
        for name in (
            "benchmarks.harness.runner",
            "benchmarks.huang2019.clmle_ablation",
            "benchmarks.khan2019.margin_ablation",
            "benchmarks.harness.profile",
        ):
            importlib.import_module(name)
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] == "benchmarks"]:
            del sys.modules[name]
        sys.modules.update(ours)


def _record(method, experiment, seed, value, counts=(100, 10), recall=(0.9, 0.5)):
    return {
        "method": method,
        "experiment": experiment,
        "seed": seed,
        "fold": 0,
        "error": "",
        "balanced_accuracy": value,
        "fit_seconds": 10.0,
        "train_counts": list(counts),
        "per_class": {"recall": list(recall)},
    }


def test_report_layout(tmp_path):
    exps = clmle_ablation.clmle_ablation_experiments()
    records = []
    for seed, base in enumerate((0.80, 0.82)):
        for exp in exps:
            records += [
                _record("CLMLE", exp.name, seed, base),
                _record("uniform cluster sampling", exp.name, seed, base - 0.01),
                _record("no cost-sensitive learning", exp.name, seed, base - 0.03),
                _record("instance-wise kNN", exp.name, seed, base + 0.02),
            ]
    n_seeds = {e.name: 2 for e in exps}
    text, paths = report_clmle_ablation(records, exps, tmp_path, n_seeds)
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == [
        "Method",
        "Fashion-MNIST, power law γ = 1: balanced accuracy",
        "Fashion-MNIST, power law γ = 0.5: balanced accuracy",
        "fit s",
        "*paper: LFW verification acc.*",
        "*paper: CelebA balanced acc.*",
    ]
    rows = {
        c[0]: c[1:]
        for c in ([x.strip() for x in ln.strip("|").split("|")] for ln in lines[2:6])
    }
    assert list(rows) == list(ROWS)
    assert rows["CLMLE"][0] == "81.0 ± 1.0"
    assert rows["CLMLE"][3:] == ["*99.62*", "*88.78*"]
    assert rows["no cost-sensitive learning"][1] == "78.0 ± 1.0 (Δ -3.0 ± 0.0)"
    assert rows["instance-wise kNN"][3:] == ["*—*", "*88.59*"]
    # Second table: recall of the rarest half of the classes.
    assert "| CLMLE | 50.0 ± 0.0 | 50.0 ± 0.0 |" in text
    assert paths and paths[0].stat().st_size > 1000
