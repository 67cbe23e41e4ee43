"""Run a profile: every (experiment, seed, fold, row), resumable, then report.

Finished runs go to ``<out>/runs.jsonl`` (see :mod:`benchmarks.harness.cache`) as
they finish; a second call with the same settings reads them back instead of
running them again, so an interrupted run resumes where it stopped. At the
end the outputs are written:

``runs.csv``
    one line per run: scalar metrics, fit time, error;
``per_class.csv``
    one line per (run, class): training and test size, per-class metrics;
``summary.csv``
    mean and std over runs of the scalar metrics, per (experiment, row);
``summary.md``
    the tables: Khan et al.'s Table 5 layout (with the paper's numbers) for
    the holdout experiments, per-data-set scores, average ranks and the
    Friedman test for the cross-validated suites;
``recall_vs_class_size_<suite>.png``, ``gain_vs_imbalance_<suite>.png``
    the figures (see :mod:`benchmarks.harness.plots`).
"""

import functools
import json
import math
import os
import platform
import signal
import subprocess
import threading
import time
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from . import methods as registry
from .ablation_report import Column, Line, paired_table
from .cache import RunCache, config_fingerprint, estimator_signature, read_json_lines
from .files import write_text
from .methods import METHODS, all_rows, make_row
from .metrics import METRICS, run_scores
from .paper import PAPERS, paper_rows
from .plots import plot_gain_vs_imbalance, plot_recall_vs_class_size
from .report import (
    flat_runs,
    format_table,
    markdown_table,
    per_class_rows,
    suite_markdown,
    summarise,
    table5_markdown,
    write_csv,
)

#: The default output folder: ``benchmarks/results/``.
RESULTS = Path(__file__).resolve().parent.parent / "results"


def code_version():
    """The git commit of the code that runs (``+dirty`` with uncommitted changes).

    The environment variable ``BENCHMARK_COMMIT`` overrides it (a copy of the
    tree on another machine may carry no or stale git metadata);
    ``"unknown"`` outside a git checkout.
    """
    if os.environ.get("BENCHMARK_COMMIT"):  # given by whoever copied the tree
        return os.environ["BENCHMARK_COMMIT"]
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _utc_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def fit_and_score(estimator, X_train, y_train, X_test, y_test, measures=()):
    """Fit, predict the test set, score, then take the experiment's measures.

    Labels are encoded as 0..K-1 for the fit (some samplers reject strings)
    and reported under their own names. A row that cannot run on the data
    (e.g. ADASYN finding no majority neighbours) is recorded with its error
    instead of stopping a long benchmark. ``measures`` are called on the
    fitted estimator with the encoded labels (:func:`apply_measures`).
    """
    encoder = LabelEncoder().fit(
        np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    )
    y_train, y_test = encoder.transform(y_train), encoder.transform(y_test)
    labels = np.arange(len(encoder.classes_))
    run = {
        "error": "",
        "n_train": len(y_train),
        "n_test": len(y_test),
        "classes": [str(label) for label in encoder.classes_],
        "train_counts": np.bincount(y_train, minlength=len(labels)).tolist(),
        "test_counts": np.bincount(y_test, minlength=len(labels)).tolist(),
    }
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            for category in (UserWarning, ConvergenceWarning, FutureWarning):
                warnings.simplefilter("ignore", category=category)
            estimator.fit(X_train, y_train)
            run["fit_seconds"] = time.perf_counter() - tic
            y_pred = estimator.predict(X_test)
    except Exception as error:  # recorded, reported, and the benchmark goes on
        return failed_run(run, error)
    run |= run_scores(y_test, y_pred, labels)
    if not measures:
        return run
    try:
        return run | apply_measures(
            measures, estimator, X_train, y_train, X_test, y_test, taken=run
        )
    except Exception as error:  # a measure that fails fails the run
        return failed_run(run, error)


def apply_measures(measures, estimator, X_train, y_train, X_test, y_test, taken=()):
    """The values of an experiment's ``measures`` on a fitted estimator.

    Each measure is called as ``measure(estimator, X_train, y_train, X_test,
    y_test)`` and returns a dict of numbers (``{}`` where it does not apply).
    Returns their union, with ``measured``: the sorted names of the values,
    which the reports and ``summary.csv`` read.

    Raises
    ------
    ValueError
        When two measures, or a measure and the record (``taken``: the keys
        already in it), give a value the same name.
    """
    values = {}
    for measure in measures:
        found = measure(estimator, X_train, y_train, X_test, y_test)
        clash = sorted(set(found) & (set(values) | set(taken) | {"measured"}))
        if clash:
            raise ValueError(
                f"measure {callable_name(measure)} records {clash}, which the run "
                "record already holds; name its values otherwise."
            )
        values.update(found)
    return values | {"measured": sorted(values)}


def callable_name(function):
    """``module.qualname`` of a module-level function (a cache-key part)."""
    function = getattr(function, "func", function)  # a functools.partial
    return f"{function.__module__}.{function.__qualname__}"


def scorer(exp):
    """The function that fits and scores a row of ``exp``: its own
    ``fit_and_score`` or :func:`fit_and_score`, with its ``measures`` bound."""
    score = getattr(exp, "fit_and_score", None) or fit_and_score
    measures = tuple(getattr(exp, "measures", ()) or ())
    return functools.partial(score, measures=measures) if measures else score


def run_config(exp, row, net_part):
    """The config fingerprint of the runs of ``row`` in ``exp``.

    ``net_part`` is the network settings of the run without ``device`` and
    ``n_threads``. A holdout or cross-validated run hashes the experiment's
    data settings and kind, the network settings, the row and its
    estimator's parameters (a changed default is a new run), and the names of
    the experiment's measures where it has any; a measurement hashes its
    settings, kind, row and the measure's name.
    """
    if exp.kind == "measurement":
        return config_fingerprint(
            {
                "settings": exp.settings,
                "kind": exp.kind,
                "row": row,
                "measure": callable_name(exp.measure),
            }
        )
    make = getattr(exp, "make_row", None) or registry.make_row
    estimator = make(row, 0, **resolve_epochs(net_part, 1000))
    spec = {
        "settings": exp.settings,
        "kind": exp.kind,
        "net": net_part,
        "row": row,
        "estimator": estimator_signature(estimator),
    }
    measures = getattr(exp, "measures", ()) or ()
    if measures:
        spec["measures"] = [callable_name(m) for m in measures]
    return config_fingerprint(spec)


def failed_run(run, error):
    """The record of a run that raised ``error``: the message, NaN scores."""
    nan = float("nan")
    return (
        run
        | {
            "error": f"{type(error).__name__}: {error}",
            "fit_seconds": nan,
            "accuracy": nan,
        }
        | dict.fromkeys(METRICS, nan)
    )


def resolve_epochs(net, n_train):
    """The network settings of one fit, with the epochs of a step budget resolved.

    A suite may give ``target_steps`` (with ``min_epochs`` and ``max_epochs``
    as bounds) instead of fixed epochs: the fit then runs
    ``ceil(target_steps / batches per epoch)`` epochs, clipped to the bounds,
    so a data set of 150 samples trains as many mini-batch updates as one of
    5,000 (the cost of a fit no longer grows with the data set's size).
    """
    net = dict(net)
    target = net.pop("target_steps", None)
    low = net.pop("min_epochs", 1)
    if target is not None:
        per_epoch = max(1, math.ceil(n_train / net.get("batch_size", 128)))
        epochs = max(low, math.ceil(target / per_epoch))
        net["max_epochs"] = int(min(net.get("max_epochs", epochs), epochs))
    return net


@contextmanager
def noticing_interrupts():
    """Raise :class:`KeyboardInterrupt` after the block if Ctrl-C came during it.

    skorch's ``fit`` catches :class:`KeyboardInterrupt`: it ends the training
    early and returns the half-trained net, so a run interrupted during a fit
    would otherwise finish, be scored and be cached as if it had trained in
    full. The SIGINT handler is wrapped (in the main thread, where Python
    delivers signals) to note the signal before the usual handler raises, and
    the note is checked when the block returns.
    """
    seen = []
    previous = signal.getsignal(signal.SIGINT)
    watch = threading.current_thread() is threading.main_thread() and callable(previous)
    if watch:

        def note(signum, frame):
            seen.append(signum)
            previous(signum, frame)

        signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        if watch:
            signal.signal(signal.SIGINT, previous)
    if seen:
        raise KeyboardInterrupt("interrupted during a run (not cached)")


def execute(
    row,
    seed,
    net,
    n_threads,
    X_train,
    y_train,
    X_test,
    y_test,
    make=None,
    score=None,
):
    """One run in this process (or a worker): threads capped, then fit and score.

    ``make`` and ``score`` replace :func:`~benchmarks.harness.methods.make_row` and
    :func:`fit_and_score` (an experiment's own rows or scores). Returns
    ``(row, result)``; ``result["max_epochs"]`` is the epochs it ran with.
    """
    make = make or make_row
    score = score or fit_and_score
    with threadpool_limits(n_threads), noticing_interrupts():
        torch.set_num_threads(n_threads)
        net = resolve_epochs(net, len(y_train))
        estimator = make(row, seed, **net)
        result = score(estimator, X_train, y_train, X_test, y_test)
        return row, result | {"max_epochs": net.get("max_epochs")}


def execute_measurement(row, seed, n_threads, measure, settings):
    """One run of a :class:`~benchmarks.harness.experiments.MeasurementExperiment`.

    ``measure(row, seed, **settings)`` with the threads capped; returns
    ``(row, result)``, ``result`` its values with ``error`` (empty), the
    ``measured`` names and ``measure_seconds`` (the wall time of the call), or
    the error of a measure that raised (or that named a value as the record's
    own keys, ``error``, ``measured``, ``measure_seconds``).
    """
    with threadpool_limits(n_threads), noticing_interrupts():
        torch.set_num_threads(n_threads)
        tic = time.perf_counter()
        try:
            values = dict(measure(row, seed, **settings))
            taken = sorted(set(values) & {"error", "measured", "measure_seconds"})
            if taken:
                raise ValueError(
                    f"measure {callable_name(measure)} records {taken}, which the "
                    "run record already holds; name its values otherwise."
                )
        except Exception as error:  # recorded, reported, and the benchmark goes on
            return row, {
                "error": f"{type(error).__name__}: {error}",
                "measure_seconds": time.perf_counter() - tic,
            }
        seconds = time.perf_counter() - tic
        return row, {"error": ""} | values | {
            "measured": sorted(values),
            "measure_seconds": seconds,
        }


def own_rows(exp):
    """Whether ``exp`` names rows of its own (its ``make_row``, or the rows
    of a measurement) rather than rows of the registry."""
    return exp.kind == "measurement" or getattr(exp, "make_row", None) is not None


def select(profile, methods=None, experiments=None):
    """The profile's experiments, restricted to ``experiments`` (names) and
    their rows to ``methods``; unknown names raise ``SystemExit``."""
    chosen = profile.experiments()
    registry = all_rows()
    # Rows of the registry, and the rows of experiments that build their own.
    known = list(registry) + [
        row for e in chosen if own_rows(e) for row in e.rows if row not in registry
    ]
    known = list(dict.fromkeys(known))
    if methods is not None:
        unknown = sorted(set(methods) - set(known))
        if unknown:
            raise SystemExit(f"unknown methods {unknown}; choose from {list(known)}")
    if experiments is not None:
        names = [e.name for e in chosen]
        unknown = sorted(set(experiments) - set(names))
        if unknown:
            raise SystemExit(f"unknown experiments {unknown}; choose from {names}")
        chosen = [e for e in chosen if e.name in experiments]
    for exp in chosen:
        own = own_rows(exp)
        rows = [r for r in exp.rows if own or r in registry]
        if methods is not None:
            rows = [r for r in rows if r in methods]
        exp.rows = tuple(rows)
    return [e for e in chosen if e.rows]


def _fold_results(
    exp, seed, keys, cache, records, bar, net, device, n_threads, parallel
):
    """Per fold of ``exp`` at ``seed``: ``(fold, results of the rows to run)``.

    The cached runs of the fold are appended to ``records`` first; the
    results (``(row, result)`` pairs) are computed as they are iterated, in
    this process or by ``parallel``. A measurement has one fold and loads no
    data.
    """
    if exp.kind == "measurement":
        splits = [(0, None)]
    else:
        kwargs = {"device": device} if exp.kind == "holdout" else {}
        splits = ((fold, data) for fold, *data in exp.splits(seed, **kwargs))
    for fold, data in splits:
        todo = []
        for row in exp.rows:
            key = keys[row, fold]
            if key in cache:
                records.append(cache.get(key))
                bar.update()
            else:
                todo.append(row)
        if exp.kind == "measurement":
            call = execute_measurement
            args = (seed, n_threads, exp.measure, exp.settings)
        else:
            call = execute
            make = getattr(exp, "make_row", None)
            args = (seed, net, n_threads, *data, make, scorer(exp))
        if parallel is None:
            results = (call(row, *args) for row in todo)
        else:
            from joblib import delayed

            results = parallel(delayed(call)(row, *args) for row in todo)
        yield fold, results


def run_profile(
    profile,
    *,
    seeds=None,
    methods=None,
    experiments=None,
    device="auto",
    n_threads=1,
    max_epochs=None,
    out=None,
    resume=True,
    jobs=1,
    progress=True,
    figures=True,
    echo=print,
):
    """Run (or read from the cache) every run of ``profile``, then write the outputs.

    Parameters
    ----------
    profile : benchmarks.harness.profile.Profile
    seeds : int or None
        Seeds (holdout) or repeats (cross-validation); ``None``: the profile's.
    methods, experiments : list of str or None
        Restrict the rows and the experiments (``None``: all).
    device : str
        Torch device of the networks and of the feature extraction.
    n_threads : int
        Torch and BLAS threads per run.
    max_epochs : int or None
        Override the profile's epochs.
    out : path-like or None
        Output folder (default ``benchmarks/results/<profile>``).
    resume : bool
        Reuse the runs cached in ``out`` (``False`` starts afresh).
    jobs : int
        Runs in parallel (processes); 1 runs in this process.
    progress : bool
        Show a progress bar.
    figures : bool
        Draw the figures (``False`` writes only the tables).
    echo : callable
        Where the terminal summary is printed.

    Returns
    -------
    result : dict
        ``records`` (every run, in plan order), ``out`` and ``wall_seconds``.
    """
    exps = select(profile, methods, experiments)
    n_seeds = {e.name: seeds or profile.seeds_for(e.suite) for e in exps}
    out = Path(out) if out is not None else RESULTS / profile.name
    cache = RunCache(out / "runs.jsonl", resume=resume)
    if not resume:  # a fresh cache: earlier invocations no longer count
        (out / "invocations.jsonl").unlink(missing_ok=True)
    torch.set_num_threads(n_threads)
    echo(f"profile {profile.name}: {profile.description}")

    nets, configs = {}, {}
    for exp in exps:
        net = dict(profile.net_for(exp.suite), device=device, n_threads=n_threads)
        if max_epochs:  # fixed epochs replace a step budget
            net["max_epochs"] = max_epochs
            net.pop("target_steps", None)
            net.pop("min_epochs", None)
        nets[exp.name] = net
        net_part = {k: v for k, v in net.items() if k not in ("device", "n_threads")}
        for row in exp.rows:
            configs[exp.name, row] = run_config(exp, row, net_part)

    total = sum(len(e.rows) * e.n_folds * n_seeds[e.name] for e in exps)
    records = []
    provenance = {"commit": code_version(), "host": platform.node(), "device": device}
    started_at = _utc_now()
    n_computed = 0
    started = time.perf_counter()
    bar = tqdm(total=total, desc="runs", unit="run", disable=not progress)
    parallel = None
    if jobs > 1:
        from joblib import Parallel

        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")

    def log_invocation(interrupted):
        # Appended whether the invocation finished or not: the report's
        # provenance line counts the runs an interrupted one computed too.
        entry = provenance | {
            "started_at": started_at,
            "finished_at": _utc_now(),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "runs_computed": n_computed,
            "runs_from_cache": len(records) - n_computed,
        }
        if interrupted:
            entry["interrupted"] = interrupted
        with (out / "invocations.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")

    try:
        for exp in exps:
            for seed in range(n_seeds[exp.name]):
                keys = {
                    (row, fold): (
                        profile.name,
                        exp.name,
                        row,
                        seed,
                        fold,
                        configs[exp.name, row],
                    )
                    for row in exp.rows
                    for fold in range(exp.n_folds)
                }
                if all(k in cache for k in keys.values()):  # no need to load the data
                    records += [cache.get(keys[row, fold]) for (row, fold) in keys]
                    bar.update(len(keys))
                    continue
                base = {
                    "profile": profile.name,
                    "suite": exp.suite,
                    "experiment": exp.name,
                    "kind": exp.kind,
                    "seed": seed,
                }
                for fold, results in _fold_results(
                    exp,
                    seed,
                    keys,
                    cache,
                    records,
                    bar,
                    nets[exp.name],
                    device,
                    n_threads,
                    parallel,
                ):
                    bar.set_postfix_str(f"{exp.name} seed {seed} fold {fold}")
                    for row, result in results:
                        record = (
                            base
                            | {
                                "fold": fold,
                                "method": row,
                                "config": configs[exp.name, row],
                            }
                            | result
                            | provenance
                            | {"finished_at": _utc_now()}
                        )
                        n_computed += 1
                        cache.add(record)
                        records.append(record)
                        bar.update()
    except BaseException as error:
        log_invocation(f"{type(error).__name__}: {error}".rstrip(": "))
        raise
    finally:
        bar.close()
    log_invocation(False)
    wall = time.perf_counter() - started

    # Plan order (cached and parallel runs arrive out of order).
    position = {}
    for exp in exps:
        for seed in range(n_seeds[exp.name]):
            for fold in range(exp.n_folds):
                for row in exp.rows:
                    position[(exp.name, row, seed, fold)] = len(position)
    records.sort(
        key=lambda r: position[(r["experiment"], r["method"], r["seed"], r["fold"])]
    )
    settings = {}
    for exp in exps:
        settings[exp.suite] = {
            k: v for k, v in nets[exp.name].items() if k not in ("device", "n_threads")
        }
    write_outputs(
        profile, exps, records, out, n_seeds, device, wall, echo, figures, settings
    )
    return {"records": records, "out": out, "wall_seconds": wall}


def provenance_note(records, out):
    """Where the runs of a report were computed: commits, hosts, invocations.

    Every computed run records the commit, host and device it ran on, and
    every invocation appends its wall time to ``<out>/invocations.jsonl``; a
    report assembled partly from the cache says so here.
    """
    out = Path(out)
    commits = sorted({r.get("commit", "unrecorded") for r in records})
    hosts = sorted({r.get("host", "unrecorded") for r in records})
    invocations = []
    for entry in read_json_lines(out / "invocations.jsonl", what="invocation log"):
        if entry.get("runs_computed"):
            invocations.append(entry)
    text = f" Runs computed at commit(s) {', '.join(commits)} on {', '.join(hosts)}."
    if invocations:
        text += (
            " Invocations that computed runs into this folder: "
            + "; ".join(
                f"{e['started_at']} → {e['finished_at']}, {e['runs_computed']} runs, "
                f"wall {e['wall_seconds']:.0f} s, commit {e['commit']}, "
                f"device {e['device']}"
                + (
                    f", interrupted ({e['interrupted']})"
                    if e.get("interrupted")
                    else ""
                )
                for e in invocations
            )
            + (
                f" (sum of wall times: "
                f"{sum(e['wall_seconds'] for e in invocations) / 60:.0f} min)."
            )
        )
    return text


def _method_rows():
    """The paper's "This Paper" is the uncertainty-margin method: map the class
    name to the METHODS entry that builds it, if one is registered."""
    mapping = {}
    for name, factory in METHODS.items():
        try:
            estimator = factory(0)
        except Exception:  # a factory that needs more than a seed
            continue
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        mapping[type(final).__name__] = name
    return mapping


def measured_names(records):
    """The names of the measured values of ``records`` (their ``measured``
    lists, see :func:`apply_measures`), in order of first appearance."""
    return list(dict.fromkeys(name for r in records for name in r.get("measured", ())))


def measurement_markdown(records, experiments):
    """The default section of a suite of measurements: per experiment, every
    row against every measured value, mean ± sd over seeds [each seed]."""
    parts = []
    for exp in experiments:
        runs = [r for r in records if r["experiment"] == exp.name]
        columns = [
            Column(name, name, scale=1.0, digits=4, each=True)
            for name in measured_names(runs)
        ]
        columns.append(Column("seconds", "measure_seconds", scale=1.0, digits=1))
        lines = [Line(row, row, exp.name) for row in exp.rows]
        parts.append(f"## {exp.title}\n\n" + paired_table(runs, lines, columns))
    return "\n\n".join(parts)


def write_outputs(
    profile,
    exps,
    records,
    out,
    n_seeds,
    device,
    wall,
    echo=print,
    figures=True,
    settings=None,
):
    """CSV files, the Markdown summary, the figures, and the terminal tables.

    ``settings`` maps each suite to the network settings it ran with (default:
    the profile's).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(flat_runs(records), out / "runs.csv")
    per_class = per_class_rows(records)
    if per_class:
        write_csv(per_class, out / "per_class.csv")
    summary_rows = []
    for exp in exps:
        runs = [r for r in records if r["experiment"] == exp.name]
        scores = [] if exp.kind == "measurement" else ["accuracy", *METRICS]
        for row in summarise(runs, scores + measured_names(runs)):
            summary_rows.append({"experiment": exp.name} | row)
    write_csv(summary_rows, out / "summary.csv")

    nets = settings or {exp.suite: profile.net_for(exp.suite) for exp in exps}
    header = (
        f"# Benchmark `{profile.name}`\n\n{profile.description}.\n\n"
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"device {device}); "
        + ", ".join(
            f"{suite}: {n} {'CV repeats' if kind == 'cv' else 'seeds'}"
            for suite, (kind, n) in {
                e.suite: (e.kind, n_seeds[e.name]) for e in exps
            }.items()
        )
        + f"; wall time {wall:.0f} s (runs read from the cache take no time)."
        + provenance_note(records, out)
        + "\n\nNetwork settings: "
        + "; ".join(
            f"{suite}: " + ", ".join(f"{k}={v}" for k, v in net.items())
            for suite, net in nets.items()
        )
        + ". With target_steps, a fit runs ceil(target_steps / batches per epoch) "
        "epochs, clipped to [min_epochs, max_epochs]."
    )
    sections = [header]
    drawn = []
    class_names = _method_rows()
    for suite in dict.fromkeys(exp.suite for exp in exps):
        members = [e for e in exps if e.suite == suite]
        suite_records = [r for r in records if r["suite"] == suite]
        rows = list(dict.fromkeys(row for e in members for row in e.rows))
        reporter = getattr(profile, "reporters", {}).get(suite)
        if reporter is not None:
            markdown, paths = reporter(suite_records, members, out, n_seeds)
            sections.append(markdown)
            drawn += [Path(p) for p in paths if p]
            continue
        if members[0].kind == "measurement":
            markdown = measurement_markdown(suite_records, members)
            sections.append(markdown)
            echo("\n" + markdown)
            continue
        if members[0].kind == "holdout":
            for exp in members:
                exp_records = [r for r in suite_records if r["experiment"] == exp.name]
                paper, label = None, None
                if exp.paper:
                    paper = paper_rows(exp.paper, exp.rows, class_names)
                    label = PAPERS[exp.paper]["label"]
                sections.append(
                    f"## {exp.title}\n\n"
                    "Each cell: mean ± std over classes, as in the paper (both "
                    "averaged over seeds), then [std over seeds of the class mean]; "
                    "in %. Rows in italics are the paper's own numbers on its data"
                    + (f" ({label})" if label else "")
                    + ", not ours.\n\n"
                    + table5_markdown(exp_records, exp.rows, paper, "CIFAR-10")
                )
                echo(f"\n{exp.title}")
                echo(format_table(summarise(exp_records, list(METRICS)), list(METRICS)))
        else:
            descriptions = {e.name: e.describe() for e in members}
            summary_md, tables_md, _ = suite_markdown(
                suite_records, [e.name for e in members], rows, descriptions
            )
            overview = [
                [
                    e.name,
                    str(d["n_samples"]),
                    str(d["n_features"]),
                    str(d["n_classes"]),
                    f"{d['imbalance_ratio']:.1f}",
                ]
                for e in members
                for d in [descriptions[e.name]]
            ]
            sections.append(
                f"## Suite `{suite}`: {len(members)} data sets, stratified "
                f"{members[0].n_splits}-fold cross-validation × "
                f"{n_seeds[members[0].name]} repeat(s)\n\n"
                + markdown_table(
                    ["data set", "samples", "features", "classes", "IR"], overview
                )
                + "\n\n"
                + summary_md
                + "\n\n"
                + tables_md
            )
            echo(f"\nsuite {suite}:\n{summary_md}")
            path = figures and plot_gain_vs_imbalance(
                suite_records,
                [e.name for e in members],
                rows,
                {n: d["imbalance_ratio"] for n, d in descriptions.items()},
                out / f"gain_vs_imbalance_{suite}.png",
                f"Gain over CE by imbalance ratio ({suite}; as Dong et al. Fig. 5)",
            )
            if path:
                drawn.append(path)
        # Holdout: one figure per data set; cross-validation: the suite's classes pooled.
        groups = (
            [
                (
                    e.name,
                    e.title,
                    [r for r in suite_records if r["experiment"] == e.name],
                )
                for e in members
            ]
            if members[0].kind == "holdout"
            else [(suite, f"suite {suite}", suite_records)]
        )
        for name, title, group in groups:
            path = figures and plot_recall_vs_class_size(
                group,
                rows,
                out / f"recall_vs_class_size_{name}.png",
                f"Per-class recall against training-set class size: {title}",
            )
            if path:
                drawn.append(path)
    closing = getattr(profile, "closing", None)
    if closing is not None:
        markdown = closing(records, exps, out, n_seeds)
        sections.append(markdown)
        echo("\n" + markdown)
    failures = {}
    for r in records:
        if r.get("error"):
            failures.setdefault((r["experiment"], r["method"]), []).append(r["error"])
    if failures:
        sections.append(
            "## Failed runs\n\n"
            + "\n".join(
                f"- {exp} / {method}: failed in {len(errs)} run(s): {errs[0]}"
                for (exp, method), errs in failures.items()
            )
        )
    if getattr(profile, "sizing_records", ()):
        # Imported here: the sizing helper runs profiles through this module.
        from .sizing import recorded_projection

        sections.append(recorded_projection(profile, exps, n_seeds)["markdown"])
    if drawn:
        sections.append(
            "## Figures\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in drawn)
        )
    write_text(out / "summary.md", "\n\n".join(sections) + "\n")
    for (exp, method), errs in failures.items():
        echo(f"{exp} / {method}: failed in {len(errs)} run(s): {errs[0]}")
    echo(
        f"\nwall time {wall:.0f} s; results in {out}/ (summary.md, runs.csv, "
        "per_class.csv, summary.csv, runs.jsonl, figures)"
    )
