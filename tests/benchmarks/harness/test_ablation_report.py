"""The studies' table (:func:`paired_table`): lines of runs against recorded values."""

import math

import pytest

from benchmarks.harness.ablation_report import (
    Column,
    Line,
    paired_table,
    recorded_values,
    spread_cell,
)


def run(method, seed, error="", experiment="e", **values):
    return {
        "experiment": experiment,
        "method": method,
        "seed": seed,
        "fold": 0,
        "error": error,
    } | values


RECORDS = [
    run("CE", 0, accuracy=0.80, norm=2.0),
    run("CE", 1, accuracy=0.84, norm=2.5),
    run("M", 0, accuracy=0.83, gap=0.01, other_accuracy=0.70),
    run("M", 1, accuracy=0.85, gap=float("nan"), other_accuracy=0.72),
    run("M", 2, error="ValueError: diverged", accuracy=float("nan")),
]


def body(markdown):
    """The cells of a Markdown table's body lines."""
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()[2:]
    ]


def test_spread_cell_uses_the_sample_sd():
    assert spread_cell([0.80, 0.84]) == f"82.0 ± {100 * math.sqrt(0.0008):.1f}"
    assert spread_cell([0.80, 0.84], ddof=0) == "82.0 ± 2.0"
    assert spread_cell([0.5]) == "50.0"  # one value: no spread
    assert spread_cell([2, 4], scale=1.0, digits=2, each=True) == (
        "3.00 ± 1.41 [2.00, 4.00]"
    )
    assert spread_cell([0.01], signed=True) == "+1.0" and spread_cell([]) == "—"


def test_recorded_values_skip_failed_runs_nan_and_missing_values():
    assert recorded_values(RECORDS, "M", "accuracy") == {
        ("e", 0, 0): 0.83,
        ("e", 1, 0): 0.85,
    }
    assert recorded_values(RECORDS, "M", "gap") == {("e", 0, 0): 0.01}
    assert recorded_values(RECORDS, "CE", "gap") == {}
    assert recorded_values(RECORDS, "M", "accuracy", prefix="other_") == {
        ("e", 0, 0): 0.70,
        ("e", 1, 0): 0.72,
    }
    assert recorded_values(RECORDS, "M", lambda r: r["accuracy"] * 2)[("e", 0, 0)] == (
        pytest.approx(1.66)
    )
    assert recorded_values(RECORDS, "M", "accuracy", experiment="other") == {}


def test_paired_table_cells():
    columns = [
        Column("acc", "accuracy", each=True),
        Column("vs CE", "accuracy", reference="CE"),
        Column("norm", "norm", scale=1.0, digits=2),
        Column("gap", "gap", text=lambda v: f"{len(v)} value(s)"),
    ]
    lines = [
        Line("CE", "CE"),
        Line("M", "M"),
        Line("M, other rule", "M", prefix="other_"),
    ]
    ce, m, other = body(paired_table(RECORDS, lines, columns))
    assert ce == ["CE", "82.0 ± 2.8 [80.0, 84.0]", "—", "2.25 ± 0.35", "—"]
    # The failed run is counted in the label and left out of every cell; the
    # paired difference is over the seeds both rows ran.
    assert m == [
        "M (1 failed)",
        "84.0 ± 1.4 [83.0, 85.0]",
        "+2.0 ± 1.4",
        "—",
        "1 value(s)",
    ]
    # The prefix reads the line's own values; the reference is read as it is.
    assert other[1] == "71.0 ± 1.4 [70.0, 72.0]" and other[2] == "-11.0 ± 1.4"


def test_columns_of_experiments():
    records = [
        run("CE", 0, experiment="a", accuracy=0.5),
        run("CE", 0, experiment="b", accuracy=0.7),
    ]
    columns = [Column(name, "accuracy", experiment=name) for name in ("a", "b")]
    table = paired_table(records, [Line("CE", "CE")], columns, first="setting")
    assert table.splitlines()[0] == "| setting | a | b |"
    assert body(table) == [["CE", "50.0", "70.0"]]
