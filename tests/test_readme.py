"""The README's examples run as written."""

import re
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_examples_run(capsys, tmp_path, monkeypatch):
    # The blocks run in order in one namespace, as a reader runs them: the
    # estimators' examples continue the first one's data and settings.
    blocks = python_blocks()
    assert len(blocks) >= 7, "an opening example, one per estimator, the usage, saving"
    monkeypatch.chdir(tmp_path)  # the saving example writes a file
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "prior-corrected" in out  # the opening example
    assert "net__class_weight" in out  # the pipeline's grid search
    # The saving example: the model came back from its file, fitted, and
    # predicts as the model it saved.
    saving = next(block for block in blocks if "save_model(clf" in block)
    assert "load_model(" in saving
    assert (tmp_path / "model.safetensors").exists()
    loaded = namespace["clf"]
    check_is_fitted(loaded)
    refit = namespace["CrossEntropyClassifier"](max_epochs=10, random_state=0)
    X, y = namespace["X"], namespace["y"]
    assert np.array_equal(refit.fit(X, y).predict_proba(X), loaded.predict_proba(X))


def test_readme_opens_with_an_example():
    # The first screen: one paragraph, then a runnable example, then the table
    # of which estimator for which data.
    text = README.read_text()
    first_code = text.index("```python")
    assert text.index("<!-- summary:start") > first_code
    assert text.index("## ") > first_code
