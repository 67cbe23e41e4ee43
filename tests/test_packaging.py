"""The wheel: what ``pip install .`` puts on a user's machine (issue 16, item 8)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIP = (sys.executable, "-m", "pip", "--quiet")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # No build isolation: the build uses this environment's setuptools, so the
    # test needs no network.
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
        env=os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (path,) = out.glob("skimbalance-*.whl")
    return path


def test_the_wheel_holds_only_the_library(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"skimbalance"}
    # The harness runs from a clone; a top-level ``benchmarks`` package would
    # collide with any other project's.
    assert not any(name.startswith(("benchmarks/", "tests/")) for name in names)
    assert "skimbalance/losses/crl.py" in names


def test_the_installed_wheel_imports_and_fits(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [*PIP, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        env=os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    code = (
        "import importlib.util, skimbalance;"
        "from sklearn.datasets import make_classification;"
        "X, y = make_classification(60, random_state=0);"
        "clf = skimbalance.CrossEntropyClassifier(max_epochs=1).fit(X, y);"
        "print(skimbalance.__file__);"
        "print(importlib.util.find_spec('benchmarks') is None)"
    )
    # Run outside the clone, the installed copy first on the path (the
    # dependencies come from this environment).
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    location, no_harness = result.stdout.split()
    assert Path(location).is_relative_to(target)
    assert no_harness == "True"
