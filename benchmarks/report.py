"""Turn per-run results into the summary table: terminal, CSV and Markdown."""

import csv
from pathlib import Path

import numpy as np


def summarise(runs, metrics):
    """Mean and standard deviation over seeds of each metric, per method.

    ``runs`` is a list of dicts with keys ``method``, ``seed``, ``error`` (empty
    when the run succeeded), ``fit_seconds`` and one per metric. Failed runs are
    counted in ``errors`` and left out of the means. Rows keep the order in
    which methods first appear.
    """
    methods = list(dict.fromkeys(run["method"] for run in runs))
    table = []
    for method in methods:
        rows = [run for run in runs if run["method"] == method]
        errors = [row["error"] for row in rows if row.get("error")]
        entry = {"method": method, "runs": len(rows), "errors": len(errors)}
        entry["error"] = errors[0] if errors else ""
        ok = [row for row in rows if not row.get("error")]
        for key in [*metrics, "fit_seconds"]:
            values = np.array([row[key] for row in ok], dtype=float)
            entry[key] = float(values.mean()) if ok else float("nan")
            entry[key + "_std"] = float(values.std()) if ok else float("nan")
        table.append(entry)
    return table


def write_csv(rows, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _cell(row, metric):
    if np.isnan(row[metric]):
        return "failed"
    return f"{100 * row[metric]:.1f} ± {100 * row[metric + '_std']:.1f}"


def format_table(summary, metrics, markdown=False):
    """The summary as text: ``mean ± std`` per metric (in %), fit time in seconds."""
    header = ["method", *metrics, "fit s"]
    body = [
        [
            row["method"],
            *(_cell(row, m) for m in metrics),
            "—" if np.isnan(row["fit_seconds"]) else f"{row['fit_seconds']:.1f}",
        ]
        for row in summary
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(
        f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths)
    )
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*cells) for cells in body]
    return "\n".join(lines)
