"""The sizing helper (``--size``): its arithmetic, and a quick run on tiny images."""

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks.harness import sizing
from benchmarks.harness.data.protocols import ImageTable5
from benchmarks.harness.end_to_end import cnn_net, image_row
from benchmarks.harness.experiments import HoldoutExperiment
from benchmarks.harness.profile import Profile
from benchmarks.khan2019.table5 import CNN_PROFILE


def test_makespan_hands_runs_out_in_order():
    assert sizing.makespan([3, 3, 3], 1) == 9
    assert sizing.makespan([3, 3, 3], 2) == 6
    assert sizing.makespan([5, 1, 1, 1, 1, 1], 2) == 5
    assert sizing.makespan([1, 1, 5], 2) == 6  # in order: the long run comes last
    assert sizing.makespan([], 2) == 0


def test_growth_exponent_and_projection():
    assert sizing.growth_exponent(1.0, 2.0, 2.0) == pytest.approx(1.0)
    assert sizing.growth_exponent(1.0, 2.83, 2.0) == pytest.approx(1.5, abs=0.01)
    assert sizing.growth_exponent(1.0, 9.0, 2.0) == 2.0  # clipped
    assert sizing.growth_exponent(1.0, 1.1, 2.0) == 1.0  # a fixed cost: clipped
    assert sizing.growth_exponent(0.0, 1.0, 2.0) == 1.0
    small = {"fit_s": 1.5, "updates": 10, "step_s": 0.1, "predict_s": 0.2}
    large = {"fit_s": 4.0, "updates": 20, "step_s": 0.1, "predict_s": 0.4}
    # Updates 2 s -> x 10; rest 0.5 -> 2.0 s, alpha 2 -> x 100; predict x 3.
    run_s, alpha = sizing.project_run(small, large, 100, 200, 2000, 3.0)
    assert alpha == 2.0
    assert run_s == pytest.approx(2.0 * 10 + 2.0 * 100 + 0.4 * 3)
    run_s, alpha = sizing.project_run(None, large, 100, 200, 2000, 1.0)
    assert alpha == 1.0 and run_s == pytest.approx(2.0 * 10 + 2.0 * 10 + 0.4)
    # A rest under a fifth of the fit scales linearly, whatever its growth.
    lean = dict(large, fit_s=2.2)
    run_s, alpha = sizing.project_run(dict(small, fit_s=1.01), lean, 100, 200, 2000, 0)
    assert alpha == 1.0 and run_s == pytest.approx(2.0 * 10 + 0.2 * 10)


def _tiny_profile(tiny_cnn):
    profile = Profile(
        name="tiny_size",
        description="tiny",
        experiments=lambda: [
            HoldoutExperiment(
                name="mnist",
                title="MNIST stand-in",
                load=ImageTable5("mnist"),
                rows=("CE", "SMOTE + CE"),
                make_row=image_row,
            )
        ],
        seeds=2,
        jobs=2,
        net=cnn_net(max_epochs=3),
    )
    return tiny_cnn(profile, seeds=2, jobs=2)


def test_quick_sizing_of_a_tiny_profile(digits_pixels, tiny_cnn):
    printed = []
    result = sizing.size_profile(
        _tiny_profile(tiny_cnn), n_samples=200, device="cpu", echo=printed.append
    )
    rows = {r["row"]: r for r in result["rows"]}
    assert set(rows) == {"CE", "SMOTE + CE"}
    ce, smote = rows["CE"], rows["SMOTE + CE"]
    assert not ce["error"] and not smote["error"]
    # The larger fit: 400 rows, 4 batches of 128, one epoch. (The smaller
    # one leaves SMOTE too few neighbours in the rare classes: alpha 1.)
    assert ce["n_measured"] == 400 and ce["epochs"] == 1
    assert ce["updates"] == 4 and ce["step_s"] > 0
    assert smote["updates"] > ce["updates"]  # SMOTE's output is larger
    assert ce["updates_full"] == round(4 * ce["n_train"] / 400)
    assert all(r["run_s"] > 0 and 1 <= r["alpha"] <= 2 for r in result["rows"])
    # Two seeds, two runs of about equal cost on two workers, the slowdown.
    runs = [ce["run_s"], smote["run_s"]]
    assert result["cpu_s"] == pytest.approx(2 * sum(runs))
    assert result["wall_s"] >= 2 * sizing.PARALLEL_SLOWDOWN * max(runs)
    assert result["epochs"] == 1
    assert result["grid"][1, 2] == pytest.approx(result["wall_s"])
    assert result["grid"][10, 2] > result["grid"][5, 2] > result["grid"][1, 2]
    markdown = printed[0]
    assert markdown == result["markdown"]
    assert "## Sizing of `tiny_size`" in markdown
    assert "| mnist | SMOTE + CE |" in markdown and "| 10 |" in markdown


def test_sizing_refuses_a_tiny_sample():
    with pytest.raises(ValueError, match="n_samples must be at least 2"):
        sizing.size_profile(CNN_PROFILE, n_samples=1)


def test_size_option_measures_instead_of_running(
    digits_pixels, tiny_cnn, monkeypatch, tmp_path, capsys
):
    profile = tiny_cnn(CNN_PROFILE)
    full = cli.PROFILES["full"]
    monkeypatch.setitem(
        cli.PROFILES, "full", tiny_cnn(full, backbones={"cnn": profile})
    )
    result = cli.main(
        [
            "full",
            "--backbone",
            "cnn",
            "--size",
            "--size-samples",
            "32",
            "--methods",
            "CE",
            "--experiments",
            "mnist",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
        ]
    )
    assert result == 0
    out = capsys.readouterr().out
    assert "## Sizing of `table5_cnn`" in out and "| mnist | CE |" in out
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written


def test_subsample_of_a_multi_label_target():
    # A multi-label indicator matrix (the attributes profile's yeast) has label
    # combinations seen once; stratifying on them raised inside scikit-learn.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = (rng.random((200, 14)) < 0.3).astype(int)
    X_sub, Y_sub = sizing.subsample(X, Y, 50)
    assert X_sub.shape == (50, 3) and Y_sub.shape == (50, 14)
    # the rows are rows of the input, kept together
    rows = {tuple(x) for x in X}
    assert all(tuple(x) in rows for x in X_sub)
    index = {tuple(x): i for i, x in enumerate(X)}
    assert all(
        (Y[index[tuple(x)]] == y).all() for x, y in zip(X_sub, Y_sub, strict=True)
    )


def test_subsample_stays_stratified_for_single_label_targets():
    y = np.array([0] * 180 + [1] * 20)
    X = np.arange(200.0)[:, None]
    _, y_sub = sizing.subsample(X, y, 50)
    assert np.bincount(y_sub).tolist() == [45, 5]
