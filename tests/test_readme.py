"""The README's usage examples run as written."""

import re
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_examples_run(capsys, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 2, "the README has its python examples"
    monkeypatch.chdir(tmp_path)  # the saving example writes a file
    namespace = {}
    for block in blocks:  # in order, one namespace, as a reader runs them
        exec(compile(block, str(README), "exec"), namespace)
    assert "net__class_weight" in capsys.readouterr().out
    # The saving example: the model came back from its file, fitted, and
    # predicts as the model it saved.
    assert "save_model(clf" in blocks[1] and "load_model(" in blocks[1]
    assert (tmp_path / "model.safetensors").exists()
    loaded = namespace["clf"]
    check_is_fitted(loaded)
    refit = namespace["CrossEntropyClassifier"](max_epochs=10, random_state=0)
    X, y = namespace["X"], namespace["y"]
    assert np.array_equal(refit.fit(X, y).predict_proba(X), loaded.predict_proba(X))
