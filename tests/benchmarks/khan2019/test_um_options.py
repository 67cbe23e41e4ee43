"""The uncertainty margin's options (``um_options``), tiny."""

from dataclasses import replace

from benchmarks import __main__ as cli
from benchmarks.harness import methods, runner
from benchmarks.harness.cache import estimator_signature
from benchmarks.khan2019.um_options import (
    NET,
    PROFILES,
    ROWS,
    UM_OPTIONS,
    make_row,
    margin_summary,
)
from skimbalance import UncertaintyMarginClassifier


def test_rows_follow_the_curriculum_of_the_epochs():
    assert cli.PROFILES["um_options"] is PROFILES["um_options"]
    assert ROWS[:2] == ("CE", "CE balanced") and set(UM_OPTIONS) <= set(ROWS)
    # CE and the cost-sensitive CE are the harness's rows.
    assert estimator_signature(make_row("CE balanced", 0, **NET)) == (
        estimator_signature(methods.make_row("CE (cost-sensitive)", 0, **NET))
    )
    deferred = make_row("UM balanced from warmup, frozen", 0, **NET)[-1]
    assert isinstance(deferred, UncertaintyMarginClassifier)
    params = deferred.get_params()
    assert (params["warmup_epochs"], params["sample_level_epochs"]) == (10, 10)
    assert params["class_weight_start_epoch"] == 10 and params["freeze_margins"]
    assert params["class_weight"] == "balanced"
    short = make_row("UM balanced from warmup", 0, **dict(NET, max_epochs=9))[-1]
    assert short.warmup_epochs == short.class_weight_start_epoch == 3
    assert make_row("UM no sample term", 0, **NET)[-1].sample_level_epochs == 0


def test_tiny_run(tmp_path):
    profile = replace(
        PROFILES["um_options"], seeds=2, net=dict(NET, hidden_layer_sizes=(16,))
    )
    records = runner.run_profile(
        profile,
        methods=["CE", "CE balanced", "UM margin_map=linear"],
        max_epochs=6,
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert len(records) == 6 and not [r["error"] for r in records if r["error"]]
    um = next(r for r in records if r["method"] == "UM margin_map=linear")
    assert 0 <= um["train_accuracy"] <= 1 and um["margin_rare"] > 0
    assert 0 < um["misclassification_probability"] < 1
    assert "margin_rare" not in records[0]
    assert margin_summary(methods.make_row("CE", 0), None, None, None, None) == {}
    summary = (tmp_path / "summary.md").read_text()
    header = next(x for x in summary.splitlines() if x.startswith("| row |"))
    assert "Δ vs CE balanced" in header and "rare recall" in header
    line = next(x for x in summary.splitlines() if x.startswith("| UM margin_map"))
    assert "—" not in line  # every column has a value for the margin row
