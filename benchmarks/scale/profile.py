"""The scale profile: fit and predict time and peak memory against the number of rows.

``python -m benchmarks scale`` fits every estimator for one epoch (warm-up 0
where the method has one, batch 256, one thread, the estimators' default
network) on synthetic data of 32 float32 features and 10 classes of power-law
sizes, at n = 10⁴, 10⁵ and 10⁶ rows (4·10⁶ with ``--max-n 4000000``), with the
data as a float32 C-contiguous NumPy array and as a :class:`numpy.memmap` on
disk. Each measurement runs in a fresh process (:mod:`benchmarks.scale.child`),
so that the peak resident memory of one does not mix with another's, and
reports

- the fit's seconds per sample and per epoch,
- the prediction's seconds per 10⁵ rows (timed on at most 10⁵ rows),
- the peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``), the
  resident size before the data were loaded (the Python and torch runtime)
  and the data's own size,

and checks them against the targets of the scale work (:data:`TARGETS`): the
time per sample within 1.3x of the same estimator's at 10⁵, the cost over
cross-entropy within 1.5x (CRL) or 2x (CLMLE, uncertainty margin) at every n,
the memory a fit adds at most 3x (data + model + one chunk) and the peak under
1.5 GB for CLMLE and the uncertainty margin at 10⁶, and CLMLE's prediction at
most 1 s per 10⁵ rows.

Outputs (default ``docs/results/scale/``): ``records.jsonl`` (one record per
measurement, with its commit, host, torch threads and date; also the cache
an interrupted run resumes from), ``records.csv``, ``summary.md`` (the table,
the targets' pass/miss, the projected wall time of the sizes not run) and
``scale.png`` (log-log time, peak memory and the memory a fit adds against
n, with dashed references: slope 1, the data's size, the bound). ``--max-n``, ``--sizes`` and ``--estimators`` size a run;
``--fresh`` ignores the cache.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..harness.files import save_figure, write_text
from ..harness.report import markdown_table, write_csv
from ..harness.runner import code_version

ROOT = Path(__file__).resolve().parents[2]

#: The default output folder.
RESULTS = ROOT / "docs" / "results" / "scale"

#: The estimators measured, in the order of the tables; CE is the reference.
ESTIMATORS = (
    "CrossEntropyClassifier",
    "CRLClassifier",
    "CLMLEClassifier",
    "UncertaintyMarginClassifier",
)

#: Short names for the tables and the plot.
SHORT = {
    "CrossEntropyClassifier": "CE",
    "CRLClassifier": "CRL",
    "CLMLEClassifier": "CLMLE",
    "UncertaintyMarginClassifier": "UM",
}

#: The sizes of the profile; those above ``--max-n`` are left out.
SIZES = (10_000, 100_000, 1_000_000, 4_000_000)
DEFAULT_MAX_N = 1_000_000

#: The size the time per sample is compared with.
REFERENCE_N = 100_000

#: The size from which the targets of "at 10⁶" apply.
LARGE_N = 1_000_000

STORAGES = ("array", "memmap")
N_FEATURES = 32
N_CLASSES = 10
BATCH_SIZE = 256
SEED = 0

#: Rows of "one chunk" in the memory bound: the rows the networks are run on
#: at once outside training (the prediction's and the MC passes' chunks).
CHUNK_ROWS = 1024

#: The targets: cost over CE by estimator; the others by name.
TARGETS = {
    "over_ce": {"CRLClassifier": 1.5, "CLMLEClassifier": 2.0},
    "over_ce_default": 2.0,
    "vs_reference": 1.3,
    "rss_factor": 3.0,
    "rss_limit_bytes": 1.5e9,
    "rss_limited": ("CLMLEClassifier", "UncertaintyMarginClassifier"),
    "predict_per_1e5": 1.0,
    "predict_limited": ("CLMLEClassifier",),
}


def estimator_params(name, batch_size=BATCH_SIZE):
    """The parameters of ``name`` in the profile: one epoch, no warm-up.

    The same network for all (the estimators' default), one thread on the
    CPU, seed 0; CLMLE without its cross-entropy warm-up, the uncertainty
    margin with its one epoch at the sample level (the MC-dropout statistics
    of every training sample computed) and its class weights from the start.
    """
    params = dict(
        max_epochs=1, batch_size=batch_size, n_threads=1, device="cpu", random_state=0
    )
    if name == "CLMLEClassifier":
        params["warmup_epochs"] = 0
    elif name == "UncertaintyMarginClassifier":
        params.update(
            warmup_epochs=0, class_weight_start_epoch=0, sample_level_epochs=1
        )
    return params


def class_shares(n_classes=N_CLASSES):
    """Class priors of a power law, ``(c + 1) ** -1`` normalised (γ = 1 of
    :func:`skimbalance.datasets.power_law_class_sizes`): the largest class is
    ``n_classes`` times the smallest."""
    shares = 1.0 / np.arange(1, n_classes + 1)
    return shares / shares.sum()


def data_paths(n, data_dir, n_features=N_FEATURES, n_classes=N_CLASSES, seed=SEED):
    """The ``.npy`` files of the data of size ``n`` (``X``, ``y``)."""
    stem = f"scale_n{n}_d{n_features}_c{n_classes}_s{seed}"
    data_dir = Path(data_dir)
    return data_dir / f"{stem}_X.npy", data_dir / f"{stem}_y.npy"


def make_data(
    n, data_dir, n_features=N_FEATURES, n_classes=N_CLASSES, seed=SEED, chunk=100_000
):
    """Write (once) the synthetic data of size ``n``; their ``.npy`` paths.

    Labels drawn from :func:`class_shares`; each row is its class's centre (a
    standard normal vector, the same for every ``n``) plus standard normal
    noise, float32. Generated ``chunk`` rows at a time straight into the file,
    so that 4·10⁶ rows need no float64 copy in memory. The same ``n`` and
    ``seed`` give the same files.
    """
    X_path, y_path = data_paths(n, data_dir, n_features, n_classes, seed)
    if X_path.is_file() and y_path.is_file():
        return X_path, y_path
    X_path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, n_features)).astype(np.float32)
    y = rng.choice(n_classes, size=n, p=class_shares(n_classes)).astype(np.int64)
    partial = X_path.with_suffix(".partial.npy")
    X = np.lib.format.open_memmap(
        partial, mode="w+", dtype=np.float32, shape=(n, n_features)
    )
    for start in range(0, n, chunk):
        rows = y[start : start + chunk]
        noise = rng.standard_normal((len(rows), n_features), dtype=np.float32)
        X[start : start + len(rows)] = centres[rows] + noise
    X.flush()
    del X
    os.replace(partial, X_path)
    np.save(y_path, y)
    return X_path, y_path


def record_key(record):
    """What identifies a measurement in the cache."""
    return json.dumps(
        [
            record["estimator"],
            record["n"],
            record["storage"],
            record["n_features"],
            record["n_classes"],
            record["seed"],
            record["params"],
        ],
        sort_keys=True,
    )


def read_records(path):
    """The records of ``path`` (a JSONL file), in order; none if it is missing."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by an interruption
                continue
    return records


def run_child(spec, timeout=None):
    """Run one measurement in a fresh process; its record, or raise RuntimeError."""
    env = dict(os.environ)
    threads = str(spec["params"].get("n_threads") or 1)
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    tic = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.scale.child", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"ran past {timeout} s") from None
    wall = time.perf_counter() - tic
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"exit status {done.returncode}: " + " | ".join(tail))
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError("the measuring process printed no record")
    record = json.loads(lines[-1])
    record["child_wall_seconds"] = wall
    return record


def chunk_bytes(params, n_features=N_FEATURES):
    """Bytes of one chunk: :data:`CHUNK_ROWS` rows through the default
    network (input, hidden layers and embedding, float32)."""
    widths = n_features + 512 + 512 + 64
    return CHUNK_ROWS * widths * 4


def measure_all(
    estimators,
    sizes,
    storages,
    out,
    data_dir,
    *,
    fresh=False,
    timeout=None,
    echo=print,
):
    """Run the measurements not in ``<out>/records.jsonl`` yet; all records.

    Returns ``(records, failures, computed)``: the records of the requested
    measurements (cached or new), ``(spec, message)`` of those that failed,
    and how many were computed by this call.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache_path = out / "records.jsonl"
    cached = {} if fresh else {record_key(r): r for r in read_records(cache_path)}
    if fresh and cache_path.exists():
        cache_path.unlink()
    commit = code_version()
    records, failures, computed = [], [], 0
    for n in sizes:
        X_path, y_path = make_data(n, data_dir)
        for name in estimators:
            for storage in storages:
                spec = {
                    "estimator": name,
                    "n": n,
                    "storage": storage,
                    "n_features": N_FEATURES,
                    "n_classes": N_CLASSES,
                    "seed": SEED,
                    "params": estimator_params(name),
                }
                key = record_key(spec)
                if key in cached:
                    records.append(cached[key])
                    continue
                echo(f"scale: {SHORT[name]} n={n} {storage} ...", end=" ", flush=True)
                try:
                    measured = run_child(
                        {**spec, "X_path": str(X_path), "y_path": str(y_path)},
                        timeout=timeout,
                    )
                except RuntimeError as error:
                    echo(f"failed ({error})")
                    failures.append((spec, str(error)))
                    continue
                record = {
                    **spec,
                    **measured,
                    "chunk_bytes": chunk_bytes(spec["params"]),
                    "commit": commit,
                    "host": platform.node(),
                    "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                }
                with cache_path.open("a") as f:
                    f.write(json.dumps(record) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                records.append(record)
                computed += 1
                echo(
                    f"{record['fit_seconds']:.1f} s fit, "
                    f"{record['peak_rss_bytes'] / 1e6:.0f} MB peak"
                )
    return records, failures, computed


def cost_per_sample(record, other=None):
    """The fit's seconds per sample and epoch that the ratios compare: its CPU
    time when ``record`` (and ``other``, if given) has one, else the wall
    clock. A fit runs on one thread, so its CPU time is the wall clock it
    would take on an idle machine, and other processes inflate it far less."""
    records = [record] if other is None else [record, other]
    if all(r.get("fit_cpu_seconds") is not None for r in records):
        return record["fit_cpu_seconds"] / (record["n"] * record.get("epochs", 1))
    return record["fit_seconds_per_sample"]


def _index(records):
    return {(r["estimator"], r["n"], r["storage"]): r for r in records}


def rss_bound(record):
    """``3 x (data + model + one chunk)``, the bound on what a fit adds."""
    return TARGETS["rss_factor"] * (
        record["data_bytes"] + record["model_bytes"] + record["chunk_bytes"]
    )


def assess(records):
    """Each record with its ratios and the verdict of every target that applies.

    Adds ``over_ce`` (time per sample over CE's at the same n and storage),
    ``vs_reference`` (over the same estimator's at :data:`REFERENCE_N`),
    ``rss_added_bytes`` (the peak of the fit minus the runtime's resident
    size before the data), ``rss_bound_bytes`` and ``checks``: ``(target, value, limit,
    passed)`` for each target that applies to the record. The cost over CE
    applies at every n; the others from :data:`LARGE_N` rows on.
    """
    by_key = _index(records)
    rows = []
    for r in records:
        row = dict(r)
        checks = []
        ce = by_key.get(("CrossEntropyClassifier", r["n"], r["storage"]))
        row["over_ce"] = None
        if ce is not None and r["estimator"] != "CrossEntropyClassifier":
            row["over_ce"] = cost_per_sample(r, ce) / cost_per_sample(ce, r)
            limit = TARGETS["over_ce"].get(r["estimator"], TARGETS["over_ce_default"])
            checks.append(("× CE", row["over_ce"], limit, row["over_ce"] <= limit))
        ref = by_key.get((r["estimator"], REFERENCE_N, r["storage"]))
        row["vs_reference"] = None
        if ref is not None and r["n"] != REFERENCE_N:
            row["vs_reference"] = cost_per_sample(r, ref) / cost_per_sample(ref, r)
        row["rss_added_bytes"] = r["fit_peak_rss_bytes"] - r["baseline_rss_bytes"]
        row["rss_bound_bytes"] = rss_bound(r)
        if r["n"] >= LARGE_N:
            if row["vs_reference"] is not None:
                limit = TARGETS["vs_reference"]
                checks.append(
                    (
                        "× own at 10⁵",
                        row["vs_reference"],
                        limit,
                        row["vs_reference"] <= limit,
                    )
                )
            added, bound = row["rss_added_bytes"], row["rss_bound_bytes"]
            checks.append(("RSS added / bound", added / bound, 1.0, added <= bound))
            if r["estimator"] in TARGETS["rss_limited"]:
                limit = TARGETS["rss_limit_bytes"]
                peak = r["fit_peak_rss_bytes"]
                checks.append(("peak RSS GB", peak / 1e9, limit / 1e9, peak < limit))
            if r["estimator"] in TARGETS["predict_limited"]:
                limit = TARGETS["predict_per_1e5"]
                value = r["predict_seconds_per_1e5"]
                checks.append(("predict s / 10⁵", value, limit, value <= limit))
        row["checks"] = checks
        rows.append(row)
    return rows


def verdict(checks):
    """``pass``, ``miss: ...`` naming each missed target, or ``–`` (none applies)."""
    if not checks:
        return "–"
    missed = [
        f"{name} {value:.2f} > {limit:g}" for name, value, limit, ok in checks if not ok
    ]
    return "miss: " + "; ".join(missed) if missed else "pass"


def _ratio(value):
    return "–" if value is None else f"{value:.2f}"


def _cpu_per_sample(record):
    cpu = record.get("fit_cpu_seconds")
    if cpu is None:
        return "–"
    return f"{cpu / (record['n'] * record.get('epochs', 1)) * 1e6:.0f}"


def _mb(value):
    return f"{value / 1e6:.0f}"


def table_markdown(rows, storage):
    """The table of one storage: a line per estimator and n."""
    header = [
        "estimator",
        "n",
        "fit µs / sample",
        "CPU µs / sample",
        "fit s / epoch",
        "predict s / 10⁵ rows",
        "fit peak RSS MB",
        "added by fit MB",
        "bound MB",
        "data MB",
        "peak with predict MB",
        "× CE",
        "× own at 10⁵",
        "targets",
    ]
    order = {name: i for i, name in enumerate(ESTIMATORS)}
    body = []
    chosen = [r for r in rows if r["storage"] == storage]
    for r in sorted(chosen, key=lambda r: (order.get(r["estimator"], 99), r["n"])):
        body.append(
            [
                SHORT.get(r["estimator"], r["estimator"]),
                f"{r['n']:,}",
                f"{r['fit_seconds_per_sample'] * 1e6:.0f}",
                _cpu_per_sample(r),
                f"{r['epoch_seconds']:.1f}",
                f"{r['predict_seconds_per_1e5']:.2f}",
                _mb(r["fit_peak_rss_bytes"]),
                _mb(r["rss_added_bytes"]),
                _mb(r["rss_bound_bytes"]),
                _mb(r["data_bytes"]),
                _mb(r["peak_rss_bytes"]),
                _ratio(r["over_ce"]),
                _ratio(r["vs_reference"]),
                verdict(r["checks"]),
            ]
        )
    return markdown_table(header, body)


def projected_seconds(records, n, estimators, storages, cpu=False):
    """Projected wall seconds of measuring ``estimators`` x ``storages`` at
    ``n`` rows: each one's fit time per sample at its largest measured n
    times ``n``, plus its prediction (at most 10⁵ rows) and the measuring
    process's own overhead at that largest n. None if one was never measured."""
    total = 0.0
    by_key = _index(records)
    for name in estimators:
        for storage in storages:
            sizes = [k[1] for k in by_key if k[0] == name and k[2] == storage]
            if not sizes:
                return None
            r = by_key[(name, max(sizes), storage)]
            overhead = r.get("child_wall_seconds", r["fit_seconds"]) - r["fit_seconds"]
            overhead -= r["predict_seconds"]
            predict = r["predict_seconds_per_1e5"] * min(n, 100_000) / 1e5
            per_sample = cost_per_sample(r) if cpu else r["fit_seconds_per_sample"]
            total += per_sample * r.get("epochs", 1) * n
            total += predict + max(overhead, 0.0)
    return total


def provenance(records):
    """One sentence: the commits, hosts, torch threads and dates of ``records``."""

    def joined(key):
        return ", ".join(sorted({str(r.get(key, "unrecorded")) for r in records}))

    dates = sorted(r["date"] for r in records if "date" in r)
    when = f"{dates[0]} to {dates[-1]}" if dates else "unrecorded dates"
    loads = [x for r in records for x in r.get("load_average", ())]
    load = (
        f" The machine's 1-minute load average during the fits: {min(loads):.1f} "
        f"to {max(loads):.1f} (on {os.cpu_count()} cores)."
        if loads
        else ""
    )
    return (
        f"Measured at commit(s) {joined('commit')} on {joined('host')} "
        f"(torch {joined('torch')}, {joined('torch_threads')} torch thread(s)), "
        f"{when}.{load}"
    )


def _epoch_cost(record):
    """The fit's seconds per epoch that the plot shows: CPU where recorded."""
    return cost_per_sample(record) * record["n"]


def plot(rows, path):
    """Log-log against n, one line per estimator (solid: array, dotted:
    memmap): the fit's seconds per epoch (CPU where recorded), its peak
    resident memory, and the memory it adds to the runtime; dashed: a line
    of slope 1 through cross-entropy's first point, the data's size, and
    the bound 3 x (data + model + one chunk)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m, ax_a) = plt.subplots(1, 3, figsize=(15, 4.4))
    colours = dict(
        zip(ESTIMATORS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False)
    )
    for name in ESTIMATORS:
        for storage, style in (("array", "-"), ("memmap", ":")):
            points = sorted(
                (
                    r["n"],
                    _epoch_cost(r),
                    r["fit_peak_rss_bytes"] / 1e9,
                    max(r["rss_added_bytes"], 1e5) / 1e9,
                )
                for r in rows
                if r["estimator"] == name and r["storage"] == storage
            )
            if not points:
                continue
            n, seconds, rss, added = (np.array(v) for v in zip(*points, strict=True))
            label = f"{SHORT[name]} ({storage})"
            kw = dict(color=colours[name], linestyle=style, marker="o", label=label)
            ax_t.plot(n, seconds, **kw)
            ax_m.plot(n, rss, **kw)
            ax_a.plot(n, added, **kw)
    sizes = np.array(sorted({r["n"] for r in rows}), dtype=float)
    if sizes.size:
        ce = sorted(
            (r["n"], _epoch_cost(r))
            for r in rows
            if r["estimator"] == ESTIMATORS[0] and r["storage"] == "array"
        )
        anchor_n, anchor_t = ce[0] if ce else (sizes[0], _epoch_cost(rows[0]))
        ax_t.plot(
            sizes, anchor_t * sizes / anchor_n, "k--", lw=1, label="∝ n (from CE)"
        )
        data = sorted({(r["n"], r["data_bytes"] / 1e9) for r in rows})
        ax_m.plot(*zip(*data, strict=True), "k--", lw=1, label="data size (∝ n)")
        bound = sorted({(r["n"], r["rss_bound_bytes"] / 1e9) for r in rows})
        ax_a.plot(
            *zip(*bound, strict=True), "k--", lw=1, label="3 x (data + model + chunk)"
        )
    for ax, title in (
        (ax_t, "fit seconds per epoch (CPU, one thread)"),
        (ax_m, "peak resident memory of the fit (GB)"),
        (ax_a, "memory the fit adds to the runtime (GB)"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training rows n")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def summary_markdown(rows, failures, estimators, storages, max_n, wall):
    """The report: settings, provenance, the tables, the targets, the projection."""
    lines = [
        "# Scale profile",
        "",
        "Each estimator fitted for one epoch (warm-up 0, batch "
        f"{BATCH_SIZE}, one thread, the default (512, 512) network, seed 0) on "
        f"synthetic data of {N_FEATURES} float32 features and {N_CLASSES} "
        "classes of power-law sizes (the largest 10 times the smallest), with "
        "the data as a float32 C-contiguous NumPy array and as a `numpy.memmap` "
        "read from disk; each measurement in a fresh process. Prediction timed "
        "on at most 10⁵ rows.",
        "",
        provenance(rows)
        + " The measuring processes took "
        + f"{sum(r.get('child_wall_seconds', 0.0) for r in rows) / 60:.0f} min "
        + "of wall clock in all.",
        "",
        "Columns: *fit peak RSS* is the process's peak resident memory "
        "(`ru_maxrss`) at the end of the fit; *added by fit* is that peak minus "
        "the resident size before the data were loaded (the Python and torch "
        "runtime, after a throw-away fit on 2048 rows); *peak with predict* "
        "the peak once the prediction has run too (glibc keeps some of the "
        "memory the prediction's chunks freed); *bound* is 3 x (data + model + one chunk), the "
        "model being 4 x its parameters' bytes (weights, gradients, Adam's two "
        f"moments) and a chunk {CHUNK_ROWS} rows through the network. *CPU µs "
        "/ sample* is the fit's CPU time (`time.process_time`), which other "
        "processes on a busy machine inflate less than the wall clock. *× CE* "
        "is the fit time per sample over cross-entropy's at the same n; *× own "
        "at 10⁵* over the same estimator's at 10⁵ rows; both ratios compare CPU "
        "times (the fits run on one thread), the wall clock where a record has "
        "none. A memmap's pages that "
        "the fit reads count in its RSS while the page cache keeps them.",
        "",
        "Targets: the cost over CE at most 1.5x for CRL and 2x for the others at "
        "every n; from 10⁶ rows on, the time per sample at most 1.3x the "
        "estimator's at 10⁵, the memory added by the fit within the bound, "
        "the fit's peak under 1.5 GB for CLMLE and the uncertainty margin, and CLMLE's prediction at "
        "most 1 s per 10⁵ rows.",
        "",
        "![Fit time, peak memory and added memory against n](scale.png)",
    ]
    for storage in storages:
        chosen = [r for r in rows if r["storage"] == storage]
        if chosen:
            lines += [
                "",
                f"## Data as {'a NumPy array' if storage == 'array' else 'a memmap'}",
                "",
            ]
            lines.append(table_markdown(rows, storage))
    measured = {r["n"] for r in rows}
    projection = []
    for n in SIZES:
        if n in measured or n < max(measured, default=0):
            continue
        seconds = projected_seconds(rows, n, estimators, storages)
        idle = projected_seconds(rows, n, estimators, storages, cpu=True)
        if seconds is not None:
            projection.append(
                f"n = {n:,}: about {seconds / 60:.0f} min at the wall clock "
                f"measured here, {idle / 60:.0f} min from the CPU times (an idle "
                "machine)"
            )
    if projection:
        lines += [
            "",
            "## Projected wall time of the sizes not run",
            "",
            "From each measurement's time per sample at its largest n, linear in "
            "n (the methods that do not scale linearly take longer): "
            + "; ".join(projection)
            + ".",
        ]
    if failures:
        lines += ["", "## Failed measurements", ""]
        lines += [
            f"- {SHORT.get(s['estimator'], s['estimator'])} n={s['n']:,} "
            f"{s['storage']}: {message}"
            for s, message in failures
        ]
    return "\n".join(lines) + "\n"


def write_report(rows, failures, out, estimators, storages, max_n, wall):
    """``records.csv``, ``summary.md`` and ``scale.png`` under ``out``."""
    out = Path(out)
    flat = [
        {k: v for k, v in r.items() if k not in ("params", "checks")}
        | {
            "params": json.dumps(r["params"], sort_keys=True),
            "targets": verdict(r["checks"]),
        }
        for r in rows
    ]
    if flat:
        write_csv(flat, out / "records.csv", fieldnames=list(flat[0]))
    markdown = summary_markdown(rows, failures, estimators, storages, max_n, wall)
    write_text(out / "summary.md", markdown)
    if rows:
        plot(rows, out / "scale.png")
    return markdown


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks scale",
        description="Fit and predict time and peak memory of every estimator "
        "against the number of training rows.",
    )
    parser.add_argument(
        "--max-n",
        type=int,
        default=DEFAULT_MAX_N,
        help=f"largest n of {', '.join(map(str, SIZES))} to run (default "
        f"{DEFAULT_MAX_N}; 4000000 adds 4·10⁶)",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="run these n instead of the profile's sizes",
    )
    parser.add_argument(
        "--estimators",
        nargs="+",
        default=None,
        metavar="NAME",
        help="estimators to run, by class or short name (CE CRL CLMLE UM; "
        "default: all)",
    )
    parser.add_argument(
        "--storages",
        nargs="+",
        choices=STORAGES,
        default=list(STORAGES),
        help="data storages (default: both)",
    )
    parser.add_argument("--out", default=str(RESULTS), help="output folder")
    parser.add_argument(
        "--data-dir",
        default=str(Path(tempfile.gettempdir()) / "skimbalance-scale"),
        help="where the synthetic data files are written (and reused)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per measurement"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="ignore the cache of finished measurements"
    )
    return parser.parse_args(argv)


def chosen_estimators(names):
    """Class names of ``names`` (class or short names); SystemExit on an unknown one."""
    if not names:
        return list(ESTIMATORS)
    by_short = {short.lower(): name for name, short in SHORT.items()}
    chosen = []
    for name in names:
        full = name if name in ESTIMATORS else by_short.get(name.lower())
        if full is None:
            raise SystemExit(
                f"unknown estimator {name!r}; choose among "
                + ", ".join(f"{s} ({n})" for n, s in SHORT.items())
            )
        chosen.append(full)
    return chosen


def main(argv=None):
    args = parse_args(argv)
    estimators = chosen_estimators(args.estimators)
    sizes = args.sizes or [n for n in SIZES if n <= args.max_n]
    if not sizes:
        raise SystemExit(f"--max-n {args.max_n} leaves no size of {SIZES} to run")
    tic = time.perf_counter()
    records, failures, computed = measure_all(
        estimators,
        sizes,
        args.storages,
        args.out,
        args.data_dir,
        fresh=args.fresh,
        timeout=args.timeout,
    )
    wall = time.perf_counter() - tic
    rows = assess(records)
    markdown = write_report(
        rows, failures, args.out, estimators, args.storages, max(sizes), wall
    )
    print(markdown)
    return {
        "records": records,
        "rows": rows,
        "failures": failures,
        "computed": computed,
    }
