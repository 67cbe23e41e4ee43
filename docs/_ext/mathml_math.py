"""Render the documentation's maths as MathML, with no script and no network.

Sphinx's default renderer, MathJax, loads its JavaScript from a CDN: offline
the maths shows as raw TeX. This renderer converts each formula to MathML at
build time with docutils' own LaTeX-to-MathML converter
(:mod:`docutils.utils.math.latex2mathml`), which browsers display natively
(MathML Core). A formula the converter cannot read fails the build with a
warning that names it, rather than reaching the page as raw TeX.
"""

import re

from docutils import nodes
from docutils.utils.math.latex2mathml import tex2mathml
from sphinx.util import logging

logger = logging.getLogger(__name__)


#: What the converter does not know, rewritten first: manual delimiter sizes
#: (MathML stretches delimiters itself), ``\dots`` (as ``\ldots``) and the
#: style switch ``\textstyle`` (the display style is the block's).
_REWRITES = (
    (re.compile(r"\\[Bb]igg?[lr]?(?![a-zA-Z])"), ""),
    (re.compile(r"\\dots(?![a-zA-Z])"), r"\\ldots"),
    (re.compile(r"\\textstyle(?![a-zA-Z])"), ""),
)


def _convert(self, node, latex, block):
    for pattern, replacement in _REWRITES:
        latex = pattern.sub(replacement, latex)
    try:
        return tex2mathml(latex, as_block=block)
    except Exception as error:  # the converter raises SyntaxError and others
        logger.warning("cannot render %r as MathML: %s", latex, error, location=node)
        return f"<code>{self.encode(latex)}</code>"


def visit_math(self, node):
    self.body.append(_convert(self, node, node.astext(), block=False))
    raise nodes.SkipNode


def visit_displaymath(self, node):
    latex = node.astext()
    if node.get("nowrap"):
        parts = [latex]
    else:  # one display per paragraph of the directive, as Sphinx does
        parts = [p for p in latex.split("\n\n") if p.strip()]
    self.body.append(self.starttag(node, "div", CLASS="math"))
    for part in parts:
        self.body.append(_convert(self, node, part, block=True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
