"""The cost of CRL's mining (``crl_mining_cost``): a measurement and fits, tiny."""

from dataclasses import replace

import numpy as np

from benchmarks import __main__ as cli
from benchmarks.dong2017 import mining_cost
from benchmarks.dong2017.mining_cost import (
    PROFILES,
    SHAPES,
    SyntheticLabels,
    experiments,
    step_costs,
)
from benchmarks.harness import runner
from benchmarks.harness.experiments import MeasurementExperiment


def test_step_costs_of_one_shape():
    values = step_costs("B=128, T=14", 0, repeats=1, dim=8)
    assert values["identical"] == 1.0  # both mining paths agree
    assert values["anchors"] > 0
    assert all(values[k] > 0 for k in values if k.endswith("_ms"))


def test_synthetic_labels():
    X, Y, X_test, Y_test = SyntheticLabels(40)(0)
    assert X.shape == (2000, 64) and Y.shape == (2000, 40)
    assert X_test.shape == (500, 64) and Y_test.shape == (500, 40)
    rates = Y.mean(axis=0)
    np.testing.assert_allclose(rates, np.linspace(0.02, 0.5, 40), atol=0.002)
    # The training data are the same draw whatever the test set's size.
    np.testing.assert_array_equal(X, SyntheticLabels(40, n_test=10)(0)[0])
    _, y1, _, y1_test = SyntheticLabels(1)(3)
    assert y1.ndim == y1_test.ndim == 1 and abs(y1.mean() - 0.1) < 0.002


def test_tiny_run(tmp_path, monkeypatch):
    exps = experiments()
    assert isinstance(exps[0], MeasurementExperiment)
    assert exps[0].rows == tuple(SHAPES)
    exps[0] = replace(exps[0], rows=("B=128, T=1",), settings={"repeats": 1, "dim": 8})
    for exp in exps[1:]:
        exp.load = replace(exp.load, n_train=256, n_test=64)
    profile = replace(
        PROFILES["crl_mining_cost"],
        experiments=lambda: exps,
        net=dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=64),
    )
    assert cli.PROFILES["crl_mining_cost"] is PROFILES["crl_mining_cost"]
    records = runner.run_profile(
        profile, out=tmp_path, device="cpu", progress=False, echo=lambda *a: None
    )["records"]
    assert not [r["error"] for r in records if r["error"]]
    step = records[0]
    assert step["kind"] == "measurement" and step["identical"] == 1.0
    fits = [r for r in records if r["suite"] == "crl_fit_cost"]
    assert len(fits) == 2 * 3 * 2  # 2 label counts x 3 rows x 2 seeds
    assert all(r["epoch_seconds"] > 0 for r in fits)
    summary = (tmp_path / "summary.md").read_text()
    assert "| B=128, T=1 | " in summary and "| yes |" in summary
    assert "| T | CE epoch (s) | CRL(I+R) / CE | CRL(I+D) / CE |" in summary
    line = next(x for x in summary.splitlines() if x.startswith("| 40 |"))
    assert "—" not in line
    assert mining_cost.report_steps.__doc__
