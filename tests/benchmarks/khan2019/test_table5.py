"""Khan et al.'s Table 5 trained end to end (``full --backbone cnn``)."""

import pytest

from benchmarks import __main__ as cli
from benchmarks.harness import runner
from benchmarks.harness.data.protocols import ImageTable5
from benchmarks.harness.end_to_end import CPU_CNN, GPU_CNN, INPUT_SHAPE, image_row
from benchmarks.harness.methods import MODERN_BASELINES, all_rows
from benchmarks.khan2019 import table5
from skimbalance import ConvNetBackbone


def test_cnn_rows_are_the_issue_s_and_in_the_registry():
    rows = table5.CNN_ROWS
    assert {
        "CE",
        "CE (cost-sensitive)",
        "SMOTE + CE",
        "CRL(I)",
        "CRL(C)",
        "CLMLE",
        "Uncertainty margin",
        *MODERN_BASELINES,
    } == set(rows)
    assert len(rows) == len(set(rows)) == 13
    assert set(rows) <= set(all_rows())


def test_the_cnn_variant_of_full():
    profile = cli.chosen_profile("full", "cnn")
    assert profile is table5.CNN_PROFILE and profile.name == "table5_cnn"
    experiments = profile.experiments()  # built lazily: no data loaded
    assert [e.name for e in experiments] == ["fashion_mnist", "mnist"]
    for exp in experiments:
        assert isinstance(exp.load, ImageTable5) and exp.load.split == "test"
        assert exp.rows == table5.CNN_ROWS and exp.make_row is image_row
        assert exp.paper == "khan2019_table5" and exp.suite == "table5"
        assert exp.settings["input"] == "pixels 28x28"
    assert profile.net["backbone"] == ConvNetBackbone(INPUT_SHAPE, **CPU_CNN)
    assert profile.net["input_shape"] == INPUT_SHAPE
    assert profile.jobs == 2
    assert profile.sizing_records == ("docs/results/table5_cnn/runs.jsonl",)
    # The runner keeps every row (the experiments build their own).
    assert [e.rows for e in runner.select(profile)] == [e.rows for e in experiments]


def test_the_gpu_scale():
    gpu = cli.chosen_profile("full", "cnn", "gpu")
    assert gpu.name == "table5_cnn_gpu"
    assert gpu.net["backbone"] == ConvNetBackbone(INPUT_SHAPE, **GPU_CNN)
    assert gpu.net["max_epochs"] > table5.CNN_PROFILE.net["max_epochs"]
    assert gpu.seeds > table5.CNN_PROFILE.seeds
    assert gpu.sizing_records == ()  # not yet run on a GPU
    assert cli.parse_args(["full", "--scale", "gpu"]).scale == "gpu"
    with pytest.raises(SystemExit, match="no scale 'gpu'; available scales: none"):
        cli.chosen_profile("full", None, "gpu")
    with pytest.raises(SystemExit, match="available scales: gpu"):
        cli.chosen_profile("full", "cnn", "tpu")


def test_tiny_end_to_end_run(tmp_path, digits_pixels, tiny_cnn):
    result = runner.run_profile(
        tiny_cnn(table5.CNN_PROFILE),
        methods=["CE", "SMOTE + CE"],
        experiments=["mnist"],
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )
    records = result["records"]
    assert [r["method"] for r in records] == ["SMOTE + CE", "CE"]
    assert not [r["error"] for r in records if r["error"]]
    ce = records[1]
    assert ce["train_counts"][5] < ce["train_counts"][0] / 5  # the protocol
    assert ce["n_test"] == sum(ce["test_counts"]) and 0 <= ce["accuracy"] <= 1
    summary = (tmp_path / "summary.md").read_text()
    assert "# Benchmark `table5_cnn`" in summary
    assert "## MNIST, 28 x 28 images, CNN trained end to end" in summary
    assert "ConvNetBackbone(input_shape=(1, 28, 28), channels=(4, 8)" in summary
    # The projection from the committed runs of the variant closes the report.
    assert "## Sizing\n\nProjected from measured runs (`docs/results/table5_cnn/" in (
        summary
    )
