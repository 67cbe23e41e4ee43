"""Which estimator for which data, and what it gains: read from the committed reports.

``python -m benchmarks summary`` reads the run caches committed under
``docs/results/`` (each report's ``runs.jsonl``) and writes

- the README's recommendation table, between the lines
  :data:`README_START` and :data:`README_END`;
- the opening of the results page, ``docs/results/summary_table.inc`` (the
  same table in reStructuredText, and the figure below it);
- that figure, ``docs/results/summary_gains.png``: per kind of data, the
  paired gain over plain cross-entropy of each row of :data:`FIGURE_ROWS` and
  of the table's lines, one point per data set, run or fold.

``python -m benchmarks summary --check`` writes nothing and fails when the
README or the include file differ from what the reports give (a test does the
same), so a table cannot go stale.

Nothing in the table is typed: for each kind of data (:data:`DATA_KINDS`, one
committed report each) the rows are those of :data:`SETTINGS` that the report
ran; the best row is the one with the largest mean paired gain in balanced
accuracy over plain CE; the second line is the best row of the other family
(the best of the three methods when the best row is a cross-entropy setting,
and the other way round), with its paired difference to the best row. Where
no setting is above plain CE, the table says so.
"""

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import read_json_lines
from .files import save_figure, write_text

#: The repository's root (where ``README.md`` and ``docs/`` lie).
ROOT = Path(__file__).resolve().parents[2]
#: The reports, relative to the root.
RESULTS = Path("docs") / "results"
#: The results page's opening (included by ``docs/results.rst``).
INCLUDE = RESULTS / "summary_table.inc"
#: The figure under the table.
FIGURE = RESULTS / "summary_gains.png"
README = Path("README.md")
README_START = "<!-- summary:start (python -m benchmarks summary writes this table) -->"
README_END = "<!-- summary:end -->"
#: The reference every gain is measured against.
REFERENCE = "CE"
METRIC = "balanced_accuracy"

#: Row of the reports → the estimator and settings it is, in the library's
#: terms: the one place where the table's settings are written. Each is a
#: Python expression that builds the row's estimator on top of the network
#: settings of its profile (``max_epochs`` is the profile's); a test checks
#: that it builds what the harness ran. Rows not listed here (other samplers,
#: Triplet+, the balanced baselines) are not recommended by the table.
SETTINGS = {
    "CE": "CrossEntropyClassifier()",
    "CE (cost-sensitive)": 'CrossEntropyClassifier(class_weight="balanced")',
    "SMOTE + CE": "make_pipeline(SMOTE(), CrossEntropyClassifier())",
    "CE (logit-adjusted)": 'CrossEntropyClassifier(loss="logit_adjusted")',
    "CE (post-hoc prior correction)": "CrossEntropyClassifier(prior_correction=1.0)",
    "CE (LDAM-DRW)": (
        'CrossEntropyClassifier(loss="ldam", class_weight="effective_number", '
        "class_weight_start_epoch=4 * max_epochs // 5)"
    ),
    "CE (focal)": 'CrossEntropyClassifier(loss="focal")',
    "CE (class-balanced)": 'CrossEntropyClassifier(class_weight="effective_number")',
    "CE (class-balanced focal)": (
        'CrossEntropyClassifier(loss="focal", class_weight="effective_number")'
    ),
    "CRL(I)": "CRLClassifier()",
    "CRL(C)": 'CRLClassifier(mining="class")',
    "CLMLE": "CLMLEClassifier()",
    "Uncertainty margin": (
        "UncertaintyMarginClassifier(warmup_epochs=max_epochs // 3, "
        "class_weight_start_epoch=max_epochs // 3, "
        "sample_level_epochs=max_epochs // 3)"
    ),
    "CRL(I) (paper)": "CRLClassifier(prior_correction=0.0)",
    "CLMLE (paper)": "CLMLEClassifier(class_weight=None)",
    "Uncertainty margin (paper)": (
        "UncertaintyMarginClassifier(warmup_epochs=max_epochs // 3, "
        "sample_level_epochs=max_epochs // 3, class_weight=None)"
    ),
    "CRL(I) (logit-adjusted)": 'CRLClassifier(loss="logit_adjusted")',
}

#: The rows of the figure (with those of the table's lines; in the order of
#: :data:`SETTINGS`, those a report has).
FIGURE_ROWS = (
    "CE (cost-sensitive)",
    "SMOTE + CE",
    "CE (logit-adjusted)",
    "CE (post-hoc prior correction)",
    "CRL(I)",
    "CLMLE",
    "Uncertainty margin",
)


def is_method(row):
    """Whether ``row`` is one of the three methods (not a cross-entropy setting)."""
    return not SETTINGS[row].startswith(("CrossEntropyClassifier", "make_pipeline"))


@dataclass(frozen=True)
class DataKind:
    """One line of the table: a kind of data and the report that measured it.

    Parameters
    ----------
    label : str
        The "your data" cell.
    report : str
        The report's folder under ``docs/results/`` (its ``runs.jsonl`` is read).
    data : str
        What the data sets are (the counts and imbalance ratios are read from
        the runs and added).
    per_set : bool, default=False
        Pair the rows per data set (the mean of its folds; a suite of many
        data sets), not per run (a seed or a fold).
    multilabel : bool, default=False
        The runs' classes are labels (no imbalance ratio is printed).
    exclude : tuple of str, default=()
        Suffixes of experiments left out (the balanced baselines of Table 8).
    """

    label: str
    report: str
    data: str
    per_set: bool = False
    multilabel: bool = False
    exclude: tuple = ()


#: The kinds of data, in table order, each with its report.
DATA_KINDS = (
    DataKind(
        label="tabular, binary or multi-class",
        report="full_defaults/keel",
        data="KEEL sets",
        per_set=True,
    ),
    DataKind(
        label="image features (a pretrained network's embedding)",
        report="full_defaults/table5",
        data="EfficientNet-Lite0 features of Fashion-MNIST and MNIST, "
        "Khan et al.'s Table 5 protocol",
    ),
    DataKind(
        label="images, a CNN trained end to end",
        report="table5_cnn",
        data="28 × 28 images of Fashion-MNIST and MNIST, Khan et al.'s Table 5 "
        "protocol, `ConvNetBackbone`",
    ),
    DataKind(
        label="long-tailed classes (power-law sizes), features",
        report="table8",
        data="EfficientNet-Lite0 features of Fashion-MNIST and MNIST, "
        "Huang et al.'s Table 8 protocol",
        exclude=("_balanced",),
    ),
    DataKind(
        label="long-tailed classes (power-law sizes), a CNN end to end",
        report="table8_cnn",
        data="28 × 28 images of Fashion-MNIST and MNIST, Huang et al.'s Table 8 "
        "protocol, `ConvNetBackbone`",
        exclude=("_balanced",),
    ),
    DataKind(
        label="multi-label",
        report="attributes",
        data="the yeast set, Dong et al.'s attribute table",
        multilabel=True,
    ),
)


# ------------------------------------------------------------------ numbers
def load_runs(results, kind):
    """The successful runs of ``kind``'s report, but those of its excluded
    experiments."""
    records = read_json_lines(Path(results) / kind.report / "runs.jsonl")
    return [
        r
        for r in records
        if not r.get("error") and not r["experiment"].endswith(tuple(kind.exclude))
    ]


def scores_by_unit(records, per_set=False, metric=METRIC):
    """``{row: {unit: score}}``: a run's (experiment, seed, fold) or, with
    ``per_set``, an experiment's mean over its runs."""
    grouped = {}
    for r in records:
        unit = (
            (r["experiment"],) if per_set else (r["experiment"], r["seed"], r["fold"])
        )
        grouped.setdefault(r["method"], {}).setdefault(unit, []).append(r[metric])
    return {
        row: {unit: float(np.mean(v)) for unit, v in units.items()}
        for row, units in grouped.items()
    }


def paired(scores, row, reference):
    """The differences ``row - reference`` in points, on the units both have."""
    ours, base = scores[row], scores[reference]
    units = [u for u in base if u in ours]
    return np.array([100 * (ours[u] - base[u]) for u in units])


@dataclass
class Line:
    """One line of the table: a row, its gain over CE, its difference to the
    best row (None on the best row's own line)."""

    row: str
    gain: np.ndarray
    versus_best: np.ndarray | None = None


@dataclass
class Finding:
    """What one report says: the best row, the other family's best, the
    protocol."""

    kind: DataKind
    profile: str
    protocol: str
    reference_score: float
    lines: list
    gains: dict


def _ratio(value):
    text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
    return text.removesuffix(".0")


def protocol(kind, records):
    """The protocol cell's text, from the runs: the data, how many sets,
    classes or labels, the imbalance ratios, the folds or seeds."""
    experiments = sorted({r["experiment"] for r in records})
    first = {}
    for r in records:
        first.setdefault(r["experiment"], r)
    parts = []
    if kind.per_set:
        binary = sum(len(first[e]["classes"]) == 2 for e in experiments)
        parts.append(
            f"{len(experiments)} {kind.data} ({binary} binary, "
            f"{len(experiments) - binary} multi-class)"
        )
    else:
        parts.append(kind.data)
    if kind.multilabel:
        parts.append(f"{len(first[experiments[0]]['classes'])} labels")
    else:
        ratios = {}
        for r in records:
            counts = [c for c in r["train_counts"] if c > 0]
            ratios.setdefault(r["experiment"], []).append(max(counts) / min(counts))
        values = sorted({float(np.median(v)) for v in ratios.values()})
        shown = sorted({_ratio(v) for v in values}, key=float)
        if len(shown) == 1:
            parts.append(f"imbalance ratio {shown[0]}")
        elif len(shown) == 2:
            parts.append(f"imbalance ratios {shown[0]} and {shown[1]}")
        else:
            parts.append(f"imbalance ratios {shown[0]} to {shown[-1]}")
    seeds = sorted({r["seed"] for r in records})
    if first[experiments[0]]["kind"] == "cv":
        folds = max(r["fold"] for r in records) + 1
        parts.append(f"{folds}-fold CV × {len(seeds)} repeats")
    else:
        parts.append(f"{len(seeds)} seeds")
    return ", ".join(parts)


def find(results, kind):
    """The :class:`Finding` of ``kind``'s report."""
    records = load_runs(results, kind)
    if not records:
        raise FileNotFoundError(
            f"no runs in {Path(results) / kind.report / 'runs.jsonl'}"
        )
    scores = scores_by_unit(records, per_set=kind.per_set)
    if REFERENCE not in scores:
        raise ValueError(f"{kind.report}: no {REFERENCE!r} row to measure gains from")
    rows = [row for row in SETTINGS if row in scores]
    gains = {row: paired(scores, row, REFERENCE) for row in rows}
    # Best: the largest mean gain (plain CE itself when nothing is above it);
    # ties go to the row listed first in SETTINGS.
    best = max(rows, key=lambda row: (gains[row].mean(), -rows.index(row)))
    others = [row for row in rows if is_method(row) != is_method(best)]
    lines = [Line(best, gains[best])]
    if others:
        other = max(others, key=lambda row: (gains[row].mean(), -rows.index(row)))
        lines.append(Line(other, gains[other], paired(scores, other, best)))
    base = 100 * float(np.mean(list(scores[REFERENCE].values())))
    return Finding(
        kind=kind,
        profile=records[0]["profile"],
        protocol=protocol(kind, records),
        reference_score=base,
        lines=lines,
        gains=gains,
    )


def findings(results=ROOT / RESULTS, kinds=DATA_KINDS):
    """The :class:`Finding` of every kind of data, in table order."""
    return [find(results, kind) for kind in kinds]


# ------------------------------------------------------------------ text
def _signed(value):
    return f"{value:+.1f}".replace("-", "−")


def _spread(diffs, unit=""):
    above = f"{int(np.sum(diffs > 0))}/{len(diffs)}" + (f" {unit}" if unit else "")
    return f"{_signed(diffs.mean())} ± {diffs.std():.1f} ({above} above)"


def _unit(finding):
    if finding.kind.per_set:
        return "sets"
    return "folds" if "CV" in finding.protocol else "runs"


def cells(finding):
    """``[(data, estimator, gain, protocol)]``: the table lines of one finding,
    inline code marked with backticks."""
    unit = _unit(finding)
    out = []
    for i, line in enumerate(finding.lines):
        settings = f"`{SETTINGS[line.row]}`"
        if i == 0:
            data = finding.kind.label
            if line.row == REFERENCE:
                gain = "none: no setting is above plain CE"
            else:
                gain = _spread(line.gain, unit)
            where = (
                f"`{finding.profile}`: {finding.protocol}; plain CE "
                f"{finding.reference_score:.1f} %"
            )
        else:
            data = (
                "↳ the best of the three methods"
                if is_method(line.row)
                else "↳ the best cross-entropy setting"
            )
            gain = (
                f"{_spread(line.gain)}; against the line above: "
                f"{_spread(line.versus_best)}"
            )
            where = ""
        out.append((data, settings, gain, where))
    return out


HEADER = (
    "your data",
    "estimator and settings",
    "gain over plain CE (balanced accuracy, points)",
    "protocol (profile: data, runs)",
)

#: What the table's numbers are (the same under both tables).
LEGEND = (
    "Gain: mean ± standard deviation of the paired differences to plain "
    "`CrossEntropyClassifier()` on the same network and data (per data set on "
    "KEEL, per run or fold elsewhere; label-averaged on multi-label data), and "
    "how many are above 0. First line: the best row of the report; second: "
    "the best of the other family, and its paired difference to the first. "
    "Settings are on top of the profile's network (`max_epochs` is the "
    "profile's)."
)


def markdown(found, results=RESULTS):
    """The README's table (Markdown), with each report linked."""
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|---|---|"]
    for finding in found:
        report = f"{Path(results).as_posix()}/{finding.kind.report}/summary.md"
        for data, settings, gain, where in cells(finding):
            if where:
                where += f" ([report]({report}))"
            lines.append(f"| {data} | {settings} | {gain} | {where} |")
    return "\n".join([*lines, "", LEGEND])


def _rst_inline(text):
    return text.replace("`", "``")


def rst(found, figure=FIGURE.name):
    """The results page's opening: the table as reStructuredText, then the figure."""
    out = [
        ".. list-table:: Which estimator for which data, from the reports below",
        "   :header-rows: 1",
        "   :widths: 22 30 30 28",
        "",
    ]
    for row in [HEADER, *(c for f in found for c in cells(f))]:
        out.append(f"   * - {_rst_inline(row[0]) or '..'}")
        out += [f"     - {_rst_inline(c) or '..'}" for c in row[1:]]
    reports = ", ".join(f"``docs/results/{f.kind.report}/summary.md``" for f in found)
    out += [
        "",
        _rst_inline(LEGEND) + f" The reports: {reports}.",
        "",
        f".. image:: results/{figure}",
        "   :alt: Paired gain in balanced accuracy over plain CE of each row, "
        "per kind of data",
        "",
    ]
    return "\n".join(out)


def readme_with(text, table):
    """``text`` (the README) with the lines between the markers replaced."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(
            f"the README has no {README_START!r} ... {README_END!r} block to fill"
        )
    return text[: start + len(README_START)] + "\n" + table + "\n" + text[end:]


# ------------------------------------------------------------------ figure
def plot(found, path):
    """One panel per kind of data: each row of :data:`FIGURE_ROWS`, one point
    per paired unit (its gain over plain CE), the mean as a bar; the best row
    in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(found)
    cols = min(3, n)
    rows_ = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows_, cols, figsize=(4.6 * cols, 3.3 * rows_), squeeze=False
    )
    rng = np.random.default_rng(0)  # the jitter of the points, fixed
    for ax, finding in zip(axes.flat, found, strict=False):
        shown = {*FIGURE_ROWS, *(line.row for line in finding.lines)} - {REFERENCE}
        rows = [row for row in SETTINGS if row in shown and row in finding.gains]
        best = finding.lines[0].row
        for y, row in enumerate(rows):
            diffs = finding.gains[row]
            colour = "C3" if row == best else ("C1" if is_method(row) else "C0")
            ax.barh(y, diffs.mean(), color=colour, alpha=0.35, height=0.7)
            jitter = rng.uniform(-0.22, 0.22, len(diffs))
            ax.plot(diffs, y + jitter, ".", color=colour, ms=3.5)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(rows, fontsize=7.5)
        ax.invert_yaxis()
        ax.set_title(f"{finding.kind.label} ({finding.profile})", fontsize=8.5)
        ax.tick_params(axis="x", labelsize=7.5)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("balanced accuracy − plain CE (points)", fontsize=8)
    fig.suptitle(
        "Paired gain over plain CE (dots: data sets, runs or folds; bars: the mean;"
        " blue: cross-entropy settings, orange: the three methods, red: the best row)",
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


# ------------------------------------------------------------------ command
def stale(root=ROOT, kinds=DATA_KINDS):
    """The files (relative to ``root``) whose committed text differs from what
    the reports give (the figure: when it is missing)."""
    root = Path(root)
    found = findings(root / RESULTS, kinds)
    expected = {
        README: readme_with(
            (root / README).read_text(encoding="utf-8"), markdown(found)
        ),
        INCLUDE: rst(found),
    }
    out = []
    for rel, text in expected.items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(rel)
    if not (root / FIGURE).is_file():
        out.append(FIGURE)
    return out


def write(root=ROOT, kinds=DATA_KINDS):
    """Write the README's table, the include file and the figure; return their
    paths."""
    root = Path(root)
    found = findings(root / RESULTS, kinds)
    readme = root / README
    write_text(readme, readme_with(readme.read_text(encoding="utf-8"), markdown(found)))
    write_text(root / INCLUDE, rst(found))
    plot(found, root / FIGURE)
    return [readme, root / INCLUDE, root / FIGURE]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks summary",
        description="Write the README's recommendation table and the results "
        "page's summary (table and figure) from the committed reports under "
        "docs/results/.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the README or the include file are stale",
    )
    parser.add_argument(
        "--root", default=str(ROOT), help="the repository's root (default: this one)"
    )
    args = parser.parse_args(argv)
    if args.check:
        old = stale(args.root)
        for rel in old:
            print(f"stale: {rel} (run `python -m benchmarks summary`)")
        return 1 if old else 0
    for path in write(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
