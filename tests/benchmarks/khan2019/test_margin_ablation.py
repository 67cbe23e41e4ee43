"""Khan et al.'s Table 6 and 7 ablation profiles: rows, runs, report."""

import dataclasses

import pytest

from benchmarks.harness import runner
from benchmarks.khan2019 import margin_ablation
from benchmarks.khan2019.margin_ablation import (
    DROPOUTS,
    KHAN2019_TABLE7,
    MARGIN_SETTINGS,
    PROFILES,
    STAGE_ROWS,
    STAGES,
    TYPE_ROWS,
    curriculum,
    make_row,
    report_margin_stages,
    report_margin_types,
    stage_row_name,
    type_row_name,
)
from skimbalance import UncertaintyMarginClassifier
from skimbalance.training.uncertainty_margin import curriculum_stage

TINY_NET = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=3,
    batch_size=64,
    n_mc_samples=2,
)


def _final(pipeline):
    return pipeline.steps[-1][1]


@pytest.mark.parametrize("max_epochs", [3, 10, 30])
def test_curriculum_ends_in_the_wanted_stage(max_epochs):
    for stage, last in (
        ("softmax", "softmax"),
        ("class", "class"),
        ("sample", "sample"),
    ):
        warmup, sample = curriculum(stage, max_epochs)
        stages = [
            curriculum_stage(e, max_epochs, warmup, sample)
            for e in range(1, max_epochs + 1)
        ]
        assert stages[-1] == last
        assert stages[0] == "softmax"
        if stage != "softmax":  # the margins have a class-level stage first
            assert "class" in stages
        if stage != "sample":
            assert "sample" not in stages
    assert curriculum("sample", 30) == (10, 10)  # the estimator's defaults


def test_stage_rows_build_the_intended_estimators():
    assert len(STAGE_ROWS) == len(STAGES) * len(DROPOUTS)
    net = dict(max_epochs=12, dropout=0.5, device="cpu", n_threads=1)
    expected = {"softmax": (12, 0), "class": (4, 0), "sample": (4, 4)}
    for stage, (warmup, sample) in expected.items():
        for p in DROPOUTS:
            est = _final(make_row(stage_row_name(stage, p), 2, **net))
            assert type(est) is UncertaintyMarginClassifier
            params = est.get_params()
            assert params["dropout"] == p
            assert params["warmup_epochs"] == warmup
            assert params["sample_level_epochs"] == sample
            assert params["margin_type"] == "large_margin"
            assert params["max_margin"] == 3 and params["random_state"] == 2
            # The paper's setting: no class weights, so the margins refresh.
            assert params["class_weight"] is None


def test_type_rows_build_the_intended_estimators():
    net = dict(max_epochs=12, dropout=0.5, device="cpu", n_threads=1)
    softmax = _final(make_row("softmax", 0, **net)).get_params()
    assert softmax["warmup_epochs"] == 12 and softmax["sample_level_epochs"] == 0
    assert softmax["class_weight"] is None
    assert set(TYPE_ROWS) == {"softmax"} | {
        type_row_name(mt, v) for mt in MARGIN_SETTINGS for v in ("fixed", "uncertainty")
    }
    expected_m = {"large_margin": 4, "sphereface": 4, "cosface": 3, "arcface": 3}
    for mt, m in expected_m.items():
        for variant in ("fixed", "uncertainty"):
            est = _final(make_row(type_row_name(mt, variant), 0, **net))
            assert type(est) is UncertaintyMarginClassifier
            params = est.get_params()
            assert params["margin_type"] == mt and params["max_margin"] == m
            assert params["margin_source"] == variant
            assert params["warmup_epochs"] == 4 and params["sample_level_epochs"] == 0
            assert params["scale"] == 30.0 and params["dropout"] == 0.5
            assert params["class_weight"] is None
    assert set(KHAN2019_TABLE7) == {"softmax", *MARGIN_SETTINGS}


def test_stages_profile_runs_on_a_tiny_configuration(tmp_path, digits_features):
    profile = dataclasses.replace(
        PROFILES["margin_stages"], seeds=1, jobs=1, net=TINY_NET
    )
    result = runner.run_profile(
        profile, out=tmp_path, progress=False, echo=lambda *a: None, device="cpu"
    )
    records = result["records"]
    assert [r["method"] for r in records] == list(STAGE_ROWS)
    assert not [r["error"] for r in records if r["error"]]
    summary = (tmp_path / "summary.md").read_text()
    assert "Khan et al. Table 6 ablation" in summary
    assert "CNN + UMM + SUM (Ours)" in summary and "*98.7*" in summary
    assert (tmp_path / "margin_stages.png").stat().st_size > 1000


def test_types_profile_runs_on_a_tiny_configuration(tmp_path, digits_features):
    profile = dataclasses.replace(
        PROFILES["margin_types"], seeds=1, jobs=1, net=TINY_NET
    )
    result = runner.run_profile(
        profile, out=tmp_path, progress=False, echo=lambda *a: None, device="cpu"
    )
    records = result["records"]
    assert [r["method"] for r in records] == list(TYPE_ROWS)
    assert not [r["error"] for r in records if r["error"]]
    summary = (tmp_path / "summary.md").read_text()
    assert "Khan et al. Table 7 ablation" in summary and "*79.9*" in summary
    assert (tmp_path / "margin_types.png").stat().st_size > 1000


def _record(method, seed, accuracy, experiment):
    return {
        "method": method,
        "experiment": experiment,
        "seed": seed,
        "fold": 0,
        "error": "",
        "accuracy": accuracy,
        "fit_seconds": 5.0,
        "train_counts": [100, 100, 10, 10],
        "per_class": {"recall": [1.0, 1.0, 0.6, 0.4]},
    }


def _table(text, title_line):
    """Cells of the first Markdown table after ``title_line``."""
    lines = text.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.startswith("|") and i > title_line
    )
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[0], rows[2:]


def test_stages_report_layout(tmp_path):
    exps = margin_ablation.margin_stages_experiments()
    offsets = {"softmax": 0.0, "class": 0.01, "sample": 0.02}
    records = [
        _record(stage_row_name(s, p), seed, 0.9 + offsets[s] + seed * 0.02, "mnist")
        for seed in range(2)
        for s in STAGES
        for p in DROPOUTS
    ]
    text, paths = report_margin_stages(records, exps, tmp_path, {"mnist": 2})
    header, body = _table(text, 0)
    assert header == ["Stage", "dropout 0.3", "dropout 0.5", "dropout 0.7", "fit s"]
    assert body[0] == ["softmax", "91.0 ± 1.0", "91.0 ± 1.0", "91.0 ± 1.0", "5"]
    assert body[1][0].startswith('*↳ the paper\'s "CNN + Softmax loss"')
    assert body[1][1:4] == ["*97.2*", "*97.2*", "*97.2*"]
    assert body[2][0] == "class margins"
    assert body[2][1] == "92.0 ± 1.0 (Δ +1.0 ± 0.0)"
    assert body[5][1:4] == ["*98.3*", "*98.7*", "*98.7*"]
    assert "| class + sample margins | 50.0 ± 0.0" in text  # recall of classes 5-9
    assert paths and paths[0].stat().st_size > 1000


def test_types_report_layout(tmp_path):
    exps = margin_ablation.margin_types_experiments()
    records = [_record("softmax", s, 0.80, "fashion_mnist") for s in range(2)]
    for mt in MARGIN_SETTINGS:
        for s in range(2):
            records.append(
                _record(type_row_name(mt, "fixed"), s, 0.81, "fashion_mnist")
            )
            records.append(
                _record(
                    type_row_name(mt, "uncertainty"),
                    s,
                    0.82 + 0.01 * s,
                    "fashion_mnist",
                )
            )
    text, paths = report_margin_types(records, exps, tmp_path, {"fashion_mnist": 2})
    header, body = _table(text, 0)
    assert header[:6] == [
        "Loss type",
        "n",
        "m",
        "fixed m (ours)",
        "uncertainty (ours)",
        "Δ uncertainty − fixed",
    ]
    assert header[-2:] == ["*paper: original*", "*paper: with uncer.*"]
    assert body[0][:5] == ["softmax", "-", "-", "80.0 ± 0.0", "—"]
    assert body[0][-2:] == ["*76.8*", "*—*"]
    by_type = {cells[0].split(" ")[0]: cells for cells in body[1:]}
    assert list(by_type) == list(MARGIN_SETTINGS)
    assert by_type["cosface"][1:6] == [
        "30",
        "0.35",
        "81.0 ± 0.0",
        "82.5 ± 0.5",
        "Δ +1.5 ± 0.5",
    ]
    assert by_type["large_margin"][-2:] == ["*79.4*", "*79.9*"]
    assert paths and paths[0].stat().st_size > 1000
