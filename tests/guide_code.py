"""Test helper: the Python code blocks of a user-guide page, in order."""

import textwrap
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide"


def guide_code_blocks(page):
    """The ``.. code-block:: python`` blocks of ``docs/user_guide/<page>``,
    dedented, in the order they appear."""
    text = (GUIDE / page).read_text()
    blocks = []
    for part in text.split(".. code-block:: python\n")[1:]:
        lines = []
        for line in part.splitlines()[1:]:
            if line and not line.startswith("   "):
                break
            lines.append(line[3:])
        blocks.append(textwrap.dedent("\n".join(lines)))
    return blocks
