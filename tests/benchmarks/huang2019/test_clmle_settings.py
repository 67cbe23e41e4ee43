"""Which CLMLE settings work (``clmle_settings``), tiny."""

from dataclasses import replace

from benchmarks import __main__ as cli
from benchmarks.harness import runner
from benchmarks.huang2019.clmle_settings import (
    DIGITS,
    FEATURES,
    PROFILES,
    SETTINGS,
    experiments,
    make_row,
)
from skimbalance import CLMLEClassifier, CrossEntropyClassifier


def test_settings_and_suites():
    profile = cli.PROFILES["clmle_settings"]
    assert profile is PROFILES["clmle_settings"]
    # digits on the quick profile's network, the features on the full one's.
    assert profile.net_for(DIGITS)["max_epochs"] == 30
    assert profile.net_for(DIGITS)["batch_size"] == 64
    assert profile.net_for(FEATURES)["max_epochs"] == 10
    assert profile.net_for(FEATURES)["batch_size"] == 128
    assert (profile.seeds_for(DIGITS), profile.seeds_for(FEATURES)) == (3, 2)
    assert [e.name for e in experiments()] == ["digits", "fashion_mnist", "mnist"]
    for name, kind, params in SETTINGS:
        step = make_row(name, 5, **profile.net_for(FEATURES))[-1]
        cls = CLMLEClassifier if kind == "clmle" else CrossEntropyClassifier
        assert isinstance(step, cls) and step.random_state == 5
        assert params.items() <= step.get_params().items(), name


def test_tiny_run(tmp_path, digits_features):
    profile = replace(
        PROFILES["clmle_settings"],
        seeds=1,
        seeds_by_suite={},
        jobs=1,
        net=dict(hidden_layer_sizes=(8,)),
    )
    rows = ["CE", "CLMLE (defaults)", "CLMLE, cluster_size=64"]
    records = runner.run_profile(
        profile,
        methods=rows,
        experiments=["digits", "mnist"],
        max_epochs=3,
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert len(records) == 6 and not [r["error"] for r in records if r["error"]]
    assert all(r["n_clusters"] >= 10 for r in records if r["method"] != "CE")
    assert all("n_clusters" not in r for r in records if r["method"] == "CE")
    summary = (tmp_path / "summary.md").read_text()
    # Each data set has its Table 5 layout, then the settings side by side.
    assert summary.count("| CE |") == 3
    closing = summary[summary.index("## CLMLE settings") :]
    assert "| setting | digits | mnist |" in closing
    line = next(x for x in closing.splitlines() if x.startswith("| CE |"))
    assert line.count("[") == 2  # each seed of each data set
