"""The Profile type: suites' settings and the scales of ``--scale``."""

import pytest

from benchmarks.harness.profile import Profile


def _profile(**kw):
    return Profile(
        name="p",
        description="a profile",
        experiments=list,
        seeds=3,
        jobs=2,
        net={"max_epochs": 10, "batch_size": 128},
        sizing_records=("cpu/runs.jsonl",),
        **kw,
    )


def test_a_scale_merges_its_settings_and_renames_the_profile():
    profile = _profile(
        scales={
            "gpu": {
                "net": {"max_epochs": 30, "lr": 3e-4},
                "seeds": 5,
                "jobs": 1,
                "sizing_records": ("gpu/runs.jsonl",),
                "note": "bigger",
            }
        },
        backbones={"cnn": _profile()},
    )
    big = profile.at_scale("gpu")
    assert big.name == "p_gpu"  # its own output folder and cache
    assert big.net == {"max_epochs": 30, "batch_size": 128, "lr": 3e-4}
    assert (big.seeds, big.jobs, big.sizing_records) == (5, 1, ("gpu/runs.jsonl",))
    assert big.description == "a profile; bigger"
    assert big.scales == {} and big.backbones == {}
    # The profile itself is unchanged.
    assert profile.net == {"max_epochs": 10, "batch_size": 128}
    assert (profile.name, profile.seeds, profile.sizing_records) == (
        "p",
        3,
        ("cpu/runs.jsonl",),
    )
    assert profile.at_scale(None) is profile


def test_a_scale_keeps_what_it_does_not_change():
    small = _profile(scales={"more": {"seeds": 9}}).at_scale("more")
    assert (small.net, small.jobs, small.sizing_records) == (
        {"max_epochs": 10, "batch_size": 128},
        2,
        ("cpu/runs.jsonl",),
    )
    assert small.description == "a profile"


def test_unknown_scales_and_keys_are_refused():
    with pytest.raises(ValueError, match="no scale 'gpu'; available scales: none"):
        _profile().at_scale("gpu")
    with pytest.raises(ValueError, match="available scales: a, b"):
        _profile(scales={"b": {}, "a": {}}).at_scale("gpu")
    with pytest.raises(ValueError, match=r"changes \['name'\]"):
        _profile(scales={"x": {"name": "y"}}).at_scale("x")
