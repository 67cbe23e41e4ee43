"""The README's examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_examples_run(capsys):
    # The blocks run in order in one namespace, as a reader runs them: the
    # estimators' examples continue the first one's data and settings.
    blocks = python_blocks()
    assert len(blocks) >= 6, "an opening example, one per estimator, the usage"
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "prior-corrected" in out  # the opening example
    assert "net__class_weight" in out  # the pipeline's grid search


def test_readme_opens_with_an_example():
    # The first screen: one paragraph, then a runnable example, then the table
    # of which estimator for which data.
    text = README.read_text()
    first_code = text.index("```python")
    assert text.index("<!-- summary:start") > first_code
    assert text.index("## ") > first_code
