"""The documentation builds without a single warning, and the code is lint-clean."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_sphinx_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        tmp_path / "html" / "generated" / "skimbalance.CrossEntropyClassifier.html"
    ).exists()
    # Every estimator page documents its public methods, inherited from the
    # shared base class or from scikit-learn (issue 16, item 2).
    for name in (
        "CLMLEClassifier",
        "CRLClassifier",
        "CrossEntropyClassifier",
        "UncertaintyMarginClassifier",
    ):
        page = (
            tmp_path / "html" / "generated" / f"skimbalance.{name}.html"
        ).read_text()
        for method in (
            "fit",
            "predict",
            "predict_proba",
            "decision_function",
            "score",
            "get_params",
            "set_params",
        ):
            assert f'id="skimbalance.{name}.{method}"' in page, (name, method)
        assert f'id="skimbalance.{name}.set_fit_request"' not in page


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check"]], ids=["lint", "format"]
)
def test_ruff(command):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run(
        [ruff, *command, "skimbalance", "tests", "benchmarks", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
