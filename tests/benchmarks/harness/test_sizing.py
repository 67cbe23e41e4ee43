"""The sizing helpers: ``--size`` (its arithmetic, and a quick run on tiny
images) and ``--size-from`` (the projection from recorded runs)."""

import json

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks.harness import runner, sizing
from benchmarks.harness.cache import read_json_lines
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


# ------------------------------------------------- projection from records
def _recorded(experiment, method, seconds, epochs=10, n_train=100, **extra):
    return {
        "profile": "tiny_size",
        "experiment": experiment,
        "method": method,
        "seed": 0,
        "fold": 0,
        "config": "x",
        "error": "",
        "fit_seconds": seconds,
        "max_epochs": epochs,
        "n_train": n_train,
        "commit": "abc",
        "host": "h",
        "device": "cpu",
    } | extra


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_recorded_projection_arithmetic(tmp_path):
    profile = Profile(
        name="tiny_size",
        description="tiny",
        experiments=lambda: [
            HoldoutExperiment("a", "A", None, ("CE", "SMOTE + CE", "CRL(I)")),
            HoldoutExperiment("b", "B", None, ("CE",)),
        ],
        seeds=3,
        jobs=2,
        net=dict(max_epochs=20),
    )
    path = _write(
        tmp_path / "runs.jsonl",
        [
            _recorded("a", "CE", 10.0),
            _recorded("a", "CE", 14.0),  # median 12
            _recorded("a", "CE", 99.0, error="MemoryError: x"),  # not a fit
            _recorded("a", "SMOTE + CE", 4.0),
            _recorded("b", "CE", 1.0, epochs=20),
        ],
    )
    result = sizing.recorded_projection(profile, paths=[path])
    rows = {(r["experiment"], r["row"]): r for r in result["rows"]}
    # Recorded at 10 epochs, the profile runs 20: twice the seconds.
    assert rows["a", "CE"]["fit_s"] == 12.0 and rows["a", "CE"]["run_s"] == 24.0
    assert rows["a", "SMOTE + CE"]["run_s"] == 8.0 and rows["b", "CE"]["run_s"] == 1.0
    assert result["unmeasured"] == [("a", "CRL(I)")]
    # 3 seeds; a: 24 and 8 on 2 workers -> 24 a seed; b: 1 a seed.
    assert result["wall_s"] == pytest.approx(3 * 24 + 3 * 1)
    assert result["cpu_s"] == pytest.approx(3 * (24 + 8 + 1))
    one_job = sizing.recorded_projection(profile, paths=[path], jobs=1, max_epochs=10)
    assert one_job["wall_s"] == pytest.approx(3 * (12 + 4) + 3 * 0.5)
    text = result["markdown"]
    assert text.startswith("## Sizing\n\nProjected from measured runs (`")
    assert "5 runs, commit(s) abc, host(s) h, device(s) cpu" in text
    assert "Not in the records, left out" in text and "CRL(I) (1 experiment)" in text
    missing = sizing.recorded_projection(profile, paths=[tmp_path / "none.jsonl"])
    assert "`: not found" in missing["markdown"] and missing["wall_s"] == 0


def _variants(profile):
    yield profile
    for scale in profile.scales:
        yield profile.at_scale(scale)
    for variant in profile.backbones.values():
        yield from _variants(variant)


def test_every_profile_sized_from_records_has_them_committed():
    sized = [
        p
        for name in cli.PROFILES
        for p in _variants(cli.PROFILES[name])
        if p.sizing_records
    ]
    assert {"full", "table8", "table8_cnn", "table5_cnn", "crl_ablation"} <= {
        p.name for p in sized
    }
    for profile in sized:
        for path in profile.sizing_records:
            records = read_json_lines(sizing.ROOT / path)
            assert records, path
            assert {r["profile"] for r in records} == {profile.name}, path
        result = sizing.recorded_projection(profile)
        measured = {r["experiment"] for r in result["rows"]}
        assert measured == {e.name for e in runner.select(profile)}, profile.name
        assert result["wall_s"] > 0


def test_size_from_option_projects_without_running(capsys, tmp_path):
    result = cli.main(["crl_ablation", "--size-from", "--seeds", "4"])
    assert result == 0
    out = capsys.readouterr().out
    assert "docs/results/crl_ablation/runs.jsonl" in out and "crl_ablation 4" in out
    path = _write(tmp_path / "runs.jsonl", [_recorded("digits", "CE", 2.0)])
    cli.main(["quick", "--size-from", str(path), "--methods", "CE"])
    assert "Projected: 0 CPU-min" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="has no sizing records"):
        cli.main(["defaults", "--size-from"])
