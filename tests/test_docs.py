"""The documentation builds without a single warning, and the code is lint-clean."""

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_sphinx_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
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
            # Run every gallery example, even when sphinx-gallery's cache in
            # docs/auto_examples/ says it has not changed since the last build.
            "-D",
            "sphinx_gallery_conf.run_stale_examples=True",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=_offline_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        tmp_path / "html" / "generated" / "skimbalance.CrossEntropyClassifier.html"
    ).exists()
    # Maths as MathML, written at build time: no MathJax script from a CDN,
    # no raw TeX on the page (issue 16, item 3).
    guide = (tmp_path / "html" / "user_guide" / "long_tail_losses.html").read_text()
    assert guide.count("<math") >= 10 and "mathjax" not in guide.lower()
    assert "\\frac" not in guide and "\\log" not in guide
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
            "export_onnx",
        ):
            assert f'id="skimbalance.{name}.{method}"' in page, (name, method)
        assert f'id="skimbalance.{name}.set_fit_request"' not in page
    # Saving and serving (issue 34): the user-guide page, linked from the
    # guide's index, and the functions in the API reference.
    guide_index = (tmp_path / "html" / "user_guide" / "index.html").read_text()
    assert 'href="saving_and_serving.html"' in guide_index
    for name in ("save_model", "load_model"):
        assert (tmp_path / "html" / "generated" / f"skimbalance.{name}.html").exists()
    # The gallery: every script of examples/ ran and its page shows its figures
    # (issue 16, item 3).
    html = tmp_path / "html"
    gallery = (html / "auto_examples" / "index.html").read_text()
    assert 'href="auto_examples/index.html"' in (html / "index.html").read_text()
    examples = sorted(p.stem for p in (ROOT / "examples").glob("plot_*.py"))
    assert set(GALLERY) <= set(examples), set(GALLERY) - set(examples)
    for example in examples:
        assert f'href="{example}.html' in gallery, example
        page = (html / "auto_examples" / f"{example}.html").read_text()
        figure = f"sphx_glr_{example}_001.png"
        assert f"_images/{figure}" in page, example
        assert (html / "_images" / figure).stat().st_size > 0, example
    # The user-guide pages link their examples.
    for guide, example in (
        ("crl", "plot_crl"),
        ("clmle", "plot_clmle"),
        ("uncertainty_margin", "plot_uncertainty_margin"),
        ("long_tail_losses", "plot_long_tail_losses"),
    ):
        page = (html / "user_guide" / f"{guide}.html").read_text()
        assert f"../auto_examples/{example}.html" in page, (guide, example)
    # Cross references to the projects skimbalance builds on link to their
    # documentation, from the local inventories (issue 16): roles in the
    # docstrings and pages, numpydoc's parameter types, the gallery's code.
    for page, targets in EXTERNAL_LINKS.items():
        text = (html / page).read_text()
        for target in targets:
            assert f'reference external" href="{target}"' in text, (page, target)


# Known cross references and where they must link (issue 16, intersphinx).
_SKLEARN = "https://scikit-learn.org/stable/"
_TORCH = "https://docs.pytorch.org/docs/stable/"
EXTERNAL_LINKS = {
    "generated/skimbalance.CRLClassifier.html": (
        # :class:`~sklearn.pipeline.Pipeline` in fit's docstring
        _SKLEARN + "modules/generated/sklearn.pipeline.Pipeline.html"
        "#sklearn.pipeline.Pipeline",
        # the parameter types "array-like of shape ..." and "torch.nn.Module"
        _SKLEARN + "glossary.html#term-array-like",
        _TORCH + "generated/torch.nn.Module.html#torch.nn.Module",
        # the attribute type "skorch.NeuralNet"
        "https://skorch.readthedocs.io/en/stable/net.html#skorch.net.NeuralNet",
        # the label scikit-learn's inherited score cites
        _SKLEARN + "modules/model_evaluation.html#accuracy-score",
    ),
    "quickstart.html": (
        "https://imbalanced-learn.org/stable/references/generated/"
        "imblearn.pipeline.Pipeline.html#imblearn.pipeline.Pipeline",
    ),
    "user_guide/shared.html": (
        _TORCH + "tensor_attributes.html#torch.device",
        _TORCH + "random.html#torch.random.fork_rng",
        "https://skorch.readthedocs.io/en/stable/callbacks.html"
        "#skorch.callbacks.LRScheduler",
    ),
    "auto_examples/plot_custom_backbone.html": (
        _TORCH + "generated/torch.nn.Conv2d.html#torch.nn.Conv2d",
    ),
}


def _offline_env():
    """The environment of the docs build, with every proxy pointing at a
    closed local port: an attempt to download (an inventory ...) fails, and
    fails the ``-W`` build."""
    env = dict(os.environ)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = "http://127.0.0.1:9"
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def test_intersphinx_inventories_are_local():
    # The build has no network: every intersphinx inventory is a file of
    # docs/_inventories/ (written by docs/_ext/make_inventories.py), none an
    # address to download, and each knows the objects the docs cite.
    pytest.importorskip("sphinx")
    from sphinx.util.inventory import InventoryFile

    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    mapping = conf["intersphinx_mapping"]
    assert set(mapping) == {"sklearn", "imblearn", "skorch", "torch", "numpy", "python"}
    expected = {
        "sklearn": ("py:class", "sklearn.pipeline.Pipeline"),
        "imblearn": ("py:class", "imblearn.over_sampling.SMOTE"),
        "skorch": ("py:class", "skorch.callbacks.EarlyStopping"),
        "torch": ("py:function", "torch.nn.functional.cross_entropy"),
        "numpy": ("py:function", "numpy.unique"),
        "python": ("py:exception", "ValueError"),
    }
    for key, (url, locations) in mapping.items():
        assert url.startswith("https://"), key
        locations = locations if isinstance(locations, tuple) else (locations,)
        assert locations and all(
            location and "://" not in location for location in locations
        ), (key, locations)
        path = ROOT / "docs" / locations[0]
        assert path.parent == ROOT / "docs" / "_inventories", key
        assert path.stat().st_size < 100_000, key
        data = InventoryFile.loads(path.read_bytes(), uri=url).data
        role, name = expected[key]
        item = data[role][name]
        assert item.uri.startswith(url), (key, item.uri)
    sklearn_inv = (ROOT / "docs" / mapping["sklearn"][1]).read_bytes()
    data = InventoryFile.loads(sklearn_inv, uri=mapping["sklearn"][0]).data
    assert data["py:class"]["sklearn.pipeline.Pipeline"].uri == (
        _SKLEARN + "modules/generated/sklearn.pipeline.Pipeline.html"
        "#sklearn.pipeline.Pipeline"
    )
    assert data["py:method"]["sklearn.pipeline.Pipeline.fit"].uri.endswith(
        "sklearn.pipeline.Pipeline.html#sklearn.pipeline.Pipeline.fit"
    )


# The examples the gallery must have (issue 16, item 3): one per method, a
# pipeline in a grid search, a multi-label target, a custom CNN backbone.
GALLERY = (
    "plot_crl",
    "plot_clmle",
    "plot_uncertainty_margin",
    "plot_pipeline_grid_search",
    "plot_multilabel",
    "plot_custom_backbone",
    "plot_long_tail_losses",
)


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check"]], ids=["lint", "format"]
)
def test_ruff(command):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run(
        [ruff, *command, "skimbalance", "tests", "benchmarks", "docs", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_harness_reports_render_as_tables():
    # Issue 16, item 3: the results page showed the reports as raw Markdown.
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        from markdown_report import markdown_to_rst
    finally:
        sys.path.pop(0)
    text = (
        "# Benchmark `quick`\n\nRun 2 * 3 times.\n\n| Method | Recall |\n|---|---|\n"
        "| CE | 85.0 ± 1.0 |\n| *↳ the paper's* | *76.3* |\n\n- a note\n  continued\n\n"
        "![fig](fig.png)\n"
    )
    rst = markdown_to_rst(text, "results/quick")
    assert rst[:2] == [".. rubric:: Benchmark ``quick``", ""]
    assert "Run 2 \\* 3 times." in rst
    assert (
        ".. list-table::" in rst and "   * - CE" in rst and "     - 85.0 ± 1.0" in rst
    )
    assert "- a note" in rst and "  continued" in rst
    assert not any("image" in line for line in rst)  # the page places figures
    with_figures = markdown_to_rst(text, "results/quick", figures=True)
    assert ".. image:: results/quick/fig.png" in with_figures
    # Every committed report converts to valid reStructuredText.
    from docutils.core import publish_doctree
    from docutils.utils import Reporter

    for path in sorted((ROOT / "docs" / "results").glob("*/summary.md")):
        lines = markdown_to_rst(path.read_text(encoding="utf-8"))
        messages = []
        doctree = publish_doctree(
            "\n".join(lines),
            settings_overrides={
                "report_level": Reporter.SEVERE_LEVEL + 1,
                "halt_level": 5,
            },
        )
        for node in doctree.findall():
            if node.tagname == "system_message" and node["level"] >= 2:
                messages.append(node.astext())
        assert not messages, (path, messages[:3])
        assert "|---|" not in "\n".join(lines)
