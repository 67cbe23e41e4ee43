"""``.. markdown-report:: results/<profile>/summary.md``: a harness report as
reStructuredText.

The benchmark harness writes its reports in Markdown (``summary.md``), which
the results page used to show verbatim. This directive converts the subset
of Markdown the harness writes — ``#`` headings, paragraphs, ``-`` bullet
lines, pipe tables, ``![alt](file.png)`` images, ``**bold**``, ``*italics*``
and ```code``` — into reStructuredText and parses it in place, so that the
tables render as tables. Headings become rubrics (they sit inside a section
of the page, whose own headings keep the structure). The report's figures
are left out (the page places them itself) unless ``:figures:`` is given;
then they are resolved next to the report. The text is not changed otherwise.
"""

import re
from pathlib import Path

from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]+)\)\s*$")
_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def inline(text):
    """Markdown inline markup to reStructuredText (code spans; the rest is
    shared). A ``|`` or ``*`` that would start markup by accident is escaped."""
    text = _CODE.sub(r"``\1``", text)
    text = re.sub(r"(?<=\s)\*(?=\s)", r"\\*", text)  # a lone '*' (e.g. '2 * 3')
    return text


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(lines):
    header, body = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    width = len(header)
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *body]:
        row = (row + [""] * width)[:width]
        out.append(f"   * - {inline(row[0]) or '..'}")
        out += [f"     - {inline(c) or '..'}" for c in row[1:]]
    return [*out, ""]


def markdown_to_rst(text, image_dir="", figures=False):
    """The reStructuredText lines of a harness report written in Markdown.

    Examples
    --------
    >>> print("\\n".join(markdown_to_rst("## Title\\n\\n| a | b |\\n|---|---|\\n| 1 | `x` |")))
    .. rubric:: Title
    <BLANKLINE>
    .. list-table::
       :header-rows: 1
    <BLANKLINE>
       * - a
         - b
       * - 1
         - ``x``
    <BLANKLINE>
    """
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            out.append("")
            i += 1
        elif line.lstrip().startswith("|"):
            block = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            out += ["", *_table(block)]
        elif m := _HEADING.match(line):
            out += [f".. rubric:: {inline(m.group(2))}", ""]
            i += 1
        elif m := _IMAGE.match(line):
            if figures:
                path = f"{image_dir}/{m.group(2)}" if image_dir else m.group(2)
                out += [f".. image:: {path}", f"   :alt: {m.group(1)}", ""]
            i += 1
        elif line.startswith("- "):
            out.append(inline(line))
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                out.append(inline(lines[i]))
                i += 1
        else:
            out.append(inline(line))
            i += 1
    return out


class MarkdownReport(Directive):
    """Insert a Markdown report of the harness, converted (see module)."""

    required_arguments = 1
    option_spec = {"figures": lambda arg: arg != "no"}

    def run(self):
        env = self.state.document.settings.env
        rel, path = env.relfn2path(self.arguments[0])
        env.note_dependency(rel)
        image_dir = str(Path(self.arguments[0]).parent)
        figures = self.options.get("figures", False)
        lines = markdown_to_rst(
            Path(path).read_text(encoding="utf-8"), image_dir, figures=figures
        )
        self.state_machine.insert_input(StringList(lines, source=path), path)
        return []


def setup(app):
    app.add_directive("markdown-report", MarkdownReport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
