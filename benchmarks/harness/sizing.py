"""Measure what a profile's runs cost on this machine, and project its wall time.

``python -m benchmarks PROFILE [--backbone cnn] [--scale gpu] --size`` runs
:func:`size_profile`: for every experiment of the profile it loads the data
of the first seed (timed), and fits every row twice, at the profile's network
settings (epochs, batch size, the curriculum of each method), on stratified
subsamples of ``n_samples`` and ``2 * n_samples`` training rows, then
predicts as many test rows. Each fit records its seconds, its number of
mini-batch updates and the median time of one update (the interval between
the starts of two training batches, the first epoch left out). A fit's time
is split into

- its updates (their number times the median update): linear in the number
  of training rows (a sampler's output grows with its input), scaled so to
  the full training set;
- the rest, the per-epoch work of a method (MC-dropout passes over the
  training set, CLMLE's re-clustering, whose number of clusters grows with
  the data), a sampler's own work, and the fixed cost of a fit: scaled as
  ``n ** alpha``, ``alpha`` measured from the two fits, between 1 and 2,
  where it is a fifth of the fit or more (linearly where it is less: a few
  percent of a fit are its fixed cost and noise).

The prediction is scaled linearly to the full test set.

The wall time of the profile is then projected the way the runner runs it
(:func:`benchmarks.harness.runner.run_profile`): experiment after
experiment, seed after seed, the runs of one (experiment, seed, fold) spread
over ``jobs`` worker processes in row order (each run to the first worker
that is free), times :data:`PARALLEL_SLOWDOWN` when two runs share the
machine, plus the loading of the data. A grid of other epochs and seeds
follows, scaled linearly in the epochs (approximate: a method's per-epoch
passes do not all scale with the epochs).

The measurement is made in this process, one fit at a time: on a machine
that other jobs keep busy it overestimates the cost of a run on free cores.

A measurement experiment (:class:`~benchmarks.harness.experiments.MeasurementExperiment`)
is timed as it is: each row's measurement is its run, called once.

``python -m benchmarks PROFILE --size-from [FILE ...]`` runs
:func:`recorded_projection` instead: no fit at all, the projection from the
fit seconds that earlier runs recorded (by default the profile's
:attr:`~benchmarks.harness.profile.Profile.sizing_records`, its committed
``docs/results/<profile>/runs.jsonl``); every ``summary.md`` of a profile
with sizing records ends with it. The sizes the profiles have, and why, are
set out in ``docs/benchmarks.rst``.
"""

import math
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits

from skimbalance.base import resolve_device

from . import methods as registry
from . import runner
from .cache import read_json_lines
from .report import markdown_table

#: How much longer a run takes when two run in parallel, one per core, than
#: alone: the ``full`` profile's Table 5 took 1.18 times its estimate from
#: runs timed one at a time (the two runs share the memory bandwidth).
PARALLEL_SLOWDOWN = 1.18

#: The share of a fit its non-update work must reach for its growth with the
#: data to be measured (below it, the rest scales linearly).
MIN_REST_SHARE = 0.2

#: Training rows of the smaller measuring fit of each row by default (the
#: larger one has twice as many).
DEFAULT_SAMPLES = 1024


#: The clocks of a measurement: the process's CPU time (what a run costs on a
#: core of its own, whatever else the machine runs) and the wall time (a GPU's
#: work is not CPU time).
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def clock_for(device):
    """``"wall"`` for a CUDA device (or ``"auto"`` with one), else ``"cpu"``."""
    return "wall" if str(resolve_device(device)).startswith("cuda") else "cpu"


class StepTimer(Callback):
    """Records the interval between the starts of consecutive training batches.

    ``steps_`` holds ``(epoch, seconds)`` per interval, within an epoch: one
    update with its batch loading and per-batch callbacks, none of the
    per-epoch work, on the clock ``clock`` (a key of :data:`CLOCKS`).
    """

    def __init__(self, clock="wall"):
        self.clock = clock

    def initialize(self):
        self.steps_ = []
        self._epoch = None
        self._last = None
        return self

    def on_epoch_begin(self, net, **kwargs):
        self._epoch = len(net.history)
        self._last = None

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        if str(net.device).startswith("cuda"):
            torch.cuda.synchronize()
        now = CLOCKS[self.clock]()
        if self._last is not None:
            self.steps_.append((self._epoch, now - self._last))
        self._last = now


def fitted_net(estimator):
    """The fitted skorch net inside ``estimator`` (a pipeline's last step, a
    wrapper's ``estimator_``), or None for a row without a network."""
    seen = 0
    while estimator is not None and seen < 8:
        if "net_" in getattr(estimator, "__dict__", {}):
            return estimator.net_
        if hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        else:
            estimator = getattr(estimator, "estimator_", None)
        seen += 1
    return None


def training_updates(net):
    """Number of training mini-batches of a fitted skorch net's history."""
    return sum(
        sum(1 for batch in epoch["batches"] if "train_loss" in batch)
        for epoch in net.history
    )


def subsample(X, y, n, seed=0):
    """A stratified subsample of ``n`` rows (all rows when there are fewer).

    A 2-D ``y`` (a multi-label indicator matrix) is subsampled without
    stratification: its label combinations are too many and too rare to
    stratify on.
    """
    if n >= len(y):
        return X, y
    stratify = None
    if np.ndim(y) == 1:
        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 else None
    X_sub, _, y_sub, _ = train_test_split(
        X, y, train_size=n, stratify=stratify, random_state=seed
    )
    return X_sub, y_sub


def makespan(seconds, jobs):
    """Wall time of runs handed out in order to ``jobs`` workers, each run to
    the first worker that is free (how joblib feeds the runner's pool).

    Examples
    --------
    >>> from benchmarks.harness.sizing import makespan
    >>> makespan([4, 1, 1, 1, 1], 2), makespan([4, 1, 1], 1)
    (4.0, 6.0)
    """
    if jobs <= 1:
        return float(sum(seconds))
    free = [0.0] * jobs
    for s in seconds:
        k = min(range(jobs), key=free.__getitem__)
        free[k] += s
    return max(free)


def measure_row(exp, row, net, n_threads, data, score=None, clock="wall"):
    """Fit ``row`` once on the subsample ``data``; its costs, in seconds.

    Returns a dict with ``fit_s``, ``predict_s`` (prediction and scoring),
    ``updates`` and ``step_s`` (median update, None without a network), on
    the clock ``clock`` (a key of :data:`CLOCKS`; the fit's share of the CPU
    time is its share of the wall time), ``wall_s`` (the wall time of fit and
    prediction) and ``error`` (empty when the fit ran).
    """
    X_sub, y_sub, X_test, y_test = data
    make = getattr(exp, "make_row", None) or registry.make_row
    score = score or runner.scorer(exp)
    timer = StepTimer(clock)
    net = dict(net, callbacks=[*net.get("callbacks", []), ("size_timer", timer)])
    with threadpool_limits(n_threads):
        previous = torch.get_num_threads()
        torch.set_num_threads(n_threads)
        try:
            try:
                estimator = make(row, 0, **net)
            except TypeError:  # a row whose factory takes no callbacks
                net.pop("callbacks")
                estimator = make(row, 0, **net)
            tic, cpu = time.perf_counter(), time.process_time()
            result = score(estimator, X_sub, y_sub, X_test, y_test)
            wall = time.perf_counter() - tic
            cpu = time.process_time() - cpu
        finally:
            torch.set_num_threads(previous)
    fitted = fitted_net(estimator)
    updates = training_updates(fitted) if fitted is not None else None
    steps = []
    if fitted is not None:
        recorded = dict(fitted.callbacks_).get("size_timer")
        steps = [s for e, s in recorded.steps_ if e > 1] or [
            s for _, s in recorded.steps_
        ]
    fit_share = result.get("fit_seconds", wall) / max(wall, 1e-9)
    if fit_share != fit_share:  # NaN: the fit failed
        fit_share = 1.0
    fit_share = min(1.0, fit_share)
    total = cpu if clock == "cpu" else wall
    return {
        "error": result.get("error", ""),
        "fit_s": float(total * fit_share),
        "predict_s": float(total * (1.0 - fit_share)),
        "wall_s": float(wall),
        "updates": updates,
        "step_s": statistics.median(steps) if steps else None,
    }


def _first_split(exp, seed, device):
    kwargs = {"device": device} if exp.kind == "holdout" else {}
    _, X_train, y_train, X_test, y_test = next(iter(exp.splits(seed, **kwargs)))
    return X_train, y_train, X_test, y_test


def _measured_row(exp, row, result):
    """The sizing row of one timed measurement (no training set, no updates)."""
    seconds = result["measure_seconds"]
    return {
        "experiment": exp.name,
        "row": row,
        "n_train": None,
        "n_test": None,
        "n_measured": None,
        "epochs": None,
        "fit_s": seconds,
        "wall_s": seconds,
        "updates": None,
        "step_s": None,
        "update_s": float("nan"),
        "updates_full": None,
        "alpha": 1.0,
        "run_s": seconds,
        "error": result["error"],
    }


def growth_exponent(small, large, ratio):
    """``alpha`` of ``large = small * ratio ** alpha``, clipped to [1, 2].

    1 when either time is not positive (nothing to extrapolate).

    Examples
    --------
    >>> from benchmarks.harness.sizing import growth_exponent
    >>> growth_exponent(1.0, 4.0, 2.0), growth_exponent(1.0, 1.5, 2.0)
    (2.0, 1.0)
    """
    if small <= 0 or large <= 0 or ratio <= 1:
        return 1.0
    return float(min(2.0, max(1.0, math.log(large / small) / math.log(ratio))))


def project_run(small, large, n_small, n_large, n_train, scale_predict):
    """Seconds of a full run of a row from its two measuring fits.

    The updates scale linearly from the larger fit, the rest of the fit as
    ``n ** alpha`` (:func:`growth_exponent` of the two fits' rests, where the
    rest is at least :data:`MIN_REST_SHARE` of the larger fit; linearly
    otherwise), the prediction linearly to the test set.
    """

    def parts(m):
        steps = (m["step_s"] or 0.0) * (m["updates"] or 0)
        return min(steps, m["fit_s"]), max(0.0, m["fit_s"] - steps)

    steps_large, rest_large = parts(large)
    alpha = 1.0
    # A rest of a few percent is a fit's fixed cost and the noise of a shared
    # machine: its growth between two small fits means nothing.
    substantial = rest_large >= MIN_REST_SHARE * large["fit_s"]
    if small is not None and n_large > n_small and substantial:
        _, rest_small = parts(small)
        alpha = growth_exponent(rest_small, rest_large, n_large / n_small)
    factor = n_train / n_large
    run_s = (
        steps_large * factor
        + rest_large * factor**alpha
        + large["predict_s"] * scale_predict
    )
    return run_s, alpha


def size_profile(
    profile,
    *,
    seeds=None,
    methods=None,
    experiments=None,
    device="cpu",
    n_threads=1,
    max_epochs=None,
    jobs=None,
    n_samples=DEFAULT_SAMPLES,
    slowdown=PARALLEL_SLOWDOWN,
    epochs_grid=(5, 10, 15, 20, 30),
    echo=print,
):
    """Measure every row of ``profile`` on two subsamples and project its wall time.

    Parameters
    ----------
    profile : benchmarks.harness.profile.Profile
    seeds : int or None
        Seeds of the projection (``None``: the profile's).
    methods, experiments : list of str or None
        Restrict the rows and the experiments, as for a run.
    device : str
        Torch device of the fits.
    n_threads : int
        Torch and BLAS threads of each fit (a run's, in the profile).
    max_epochs : int or None
        Override the profile's epochs (as ``--max-epochs`` does for a run).
    jobs : int or None
        Runs in parallel of the projection (``None``: the profile's).
    n_samples : int, default=1024
        Training rows (a stratified subsample) of the smaller measuring fit
        of each row; the larger has twice as many, and both predict as many
        test rows as the larger fits.
    slowdown : float, default=:data:`PARALLEL_SLOWDOWN`
        Factor on the runs' times when ``jobs > 1``.
    epochs_grid : tuple of int
        Other epochs of the projection grid (with the measured ones).
    echo : callable
        Where the report is printed.

    Returns
    -------
    result : dict
        ``rows`` (one dict per (experiment, row): ``n_train``, the measured
        ``fit_s``, ``updates``, ``step_s`` of the larger fit, ``alpha``, and
        the projected ``run_s`` of a full run), ``wall_s`` (projected wall
        time of the profile), ``cpu_s`` (the sum of its runs), ``grid``
        (``{(epochs, seeds): wall seconds}``), ``epochs`` and ``markdown``
        (the report).
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2; got {n_samples}.")
    exps = runner.select(profile, methods, experiments)
    jobs = jobs or profile.jobs
    clock = clock_for(device)
    started, started_cpu = time.perf_counter(), time.process_time()
    rows, loads, per_seed, epochs_of = [], {}, {}, {}
    warmed = False
    for exp in exps:
        if exp.kind == "measurement":  # the measurement is the run: time it once
            loads[exp.name] = (0.0, 0.0)
            epochs_of[exp.name] = None
            runs = []
            for row in exp.rows:
                _, result = runner.execute_measurement(
                    row, 0, n_threads, exp.measure, exp.settings
                )
                runs.append(result["measure_seconds"])
                rows.append(_measured_row(exp, row, result))
            factor = slowdown if jobs > 1 else 1.0
            per_seed[exp.name] = factor * makespan(runs, jobs)
            continue
        net = dict(profile.net_for(exp.suite), device=device, n_threads=n_threads)
        if max_epochs:
            net["max_epochs"] = max_epochs
            net.pop("target_steps", None)
            net.pop("min_epochs", None)
        tic = time.perf_counter()
        X_train, y_train, X_test, y_test = _first_split(exp, 0, device)
        cold = time.perf_counter() - tic
        tic = time.perf_counter()
        _first_split(exp, 1, device)
        warm = time.perf_counter() - tic
        loads[exp.name] = (cold, warm)
        resolved = runner.resolve_epochs(net, len(y_train))
        epochs_of[exp.name] = resolved.get("max_epochs")
        n_large = min(2 * n_samples, len(y_train))
        n_small = min(n_samples, len(y_train))
        X_large, y_large = subsample(X_train, y_train, n_large)
        X_small, y_small = subsample(X_train, y_train, n_small)
        X_te, y_te = subsample(X_test, y_test, n_large)
        scale_predict = len(y_test) / len(y_te)
        if not warmed:  # one throw-away fit pays the one-off costs of a process
            measure_row(
                exp,
                exp.rows[0],
                dict(resolved, max_epochs=1),
                n_threads,
                (X_small, y_small, X_te[:64], y_te[:64]),
                clock=clock,
            )
            warmed = True
        runs = []
        for row in exp.rows:
            large = measure_row(
                exp,
                row,
                resolved,
                n_threads,
                (X_large, y_large, X_te, y_te),
                clock=clock,
            )
            small = None
            if len(y_small) < len(y_large):
                small = measure_row(
                    exp,
                    row,
                    resolved,
                    n_threads,
                    (X_small, y_small, X_te, y_te),
                    clock=clock,
                )
                if small["error"]:  # e.g. a sampler short of neighbours: alpha 1
                    small = None
            run_s, alpha = project_run(
                small, large, len(y_small), len(y_large), len(y_train), scale_predict
            )
            runs.append(run_s)
            updates = large["updates"]
            rows.append(
                {
                    "experiment": exp.name,
                    "row": row,
                    "n_train": len(y_train),
                    "n_test": len(y_test),
                    "n_measured": len(y_large),
                    "epochs": resolved.get("max_epochs"),
                    "fit_s": large["fit_s"],
                    "wall_s": large["wall_s"],
                    "updates": updates,
                    "step_s": large["step_s"],
                    "update_s": (large["fit_s"] / updates if updates else float("nan")),
                    "updates_full": (
                        round(updates * len(y_train) / len(y_large))
                        if updates is not None
                        else None
                    ),
                    "alpha": alpha,
                    "run_s": run_s,
                    "error": large["error"],
                }
            )
        factor = slowdown if jobs > 1 else 1.0
        per_seed[exp.name] = exp.n_folds * factor * makespan(runs, jobs)
    n_seeds = {e.name: seeds or profile.seeds_for(e.suite) for e in exps}
    folds = {e.name: e.n_folds for e in exps}

    def wall(epoch_factor, seeds_override=None):
        total = 0.0
        for exp in exps:
            cold, warm = loads[exp.name]
            n = seeds_override or n_seeds[exp.name]
            # A measurement has no epochs: its time does not scale with them.
            scale = 1.0 if exp.kind == "measurement" else epoch_factor
            total += cold + (n - 1) * warm + n * per_seed[exp.name] * scale
        return total

    wall_s = wall(1.0)
    cpu_s = sum(
        r["run_s"] * n_seeds[r["experiment"]] * folds[r["experiment"]] for r in rows
    )
    measured_epochs = sorted({e for e in epochs_of.values() if e})
    base = measured_epochs[0] if len(measured_epochs) == 1 else None
    seed_options = sorted({*n_seeds.values(), 1, 2, 3, 4, 5})
    grid = {}
    if base is not None:
        for epochs in sorted({*epochs_grid, base}):
            for s in seed_options:
                grid[epochs, s] = wall(epochs / base, s)
    markdown = _report(
        profile,
        rows,
        loads,
        n_seeds,
        jobs,
        device,
        n_threads,
        n_samples,
        slowdown,
        wall_s,
        cpu_s,
        grid,
        base,
        seed_options,
        time.perf_counter() - started,
        time.process_time() - started_cpu,
        clock,
    )
    echo(markdown)
    return {
        "rows": rows,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "grid": grid,
        "epochs": base,
        "markdown": markdown,
    }


#: The repository's root: the sizing records' paths are relative to it.
ROOT = Path(__file__).resolve().parents[2]


def run_seconds(record):
    """The measured seconds of a recorded run: its fit (``fit_seconds``, the
    prediction not counted) or its measurement (``measure_seconds``); None
    for a failed run or one that recorded neither."""
    if record.get("error"):
        return None
    value = record.get("fit_seconds", record.get("measure_seconds"))
    if value is None or value != value:  # NaN
        return None
    return float(value)


def recorded_projection(
    profile,
    exps=None,
    n_seeds=None,
    *,
    jobs=None,
    max_epochs=None,
    paths=None,
    slowdown=1.0,
):
    """The wall time of ``profile`` projected from the fit seconds of recorded runs.

    Nothing is fitted. For every row of every experiment, the median
    ``fit_seconds`` (a measurement: ``measure_seconds``) of its successful
    runs in the run records ``paths`` (default: the profile's
    :attr:`~benchmarks.harness.profile.Profile.sizing_records`), scaled
    linearly to the epochs the profile runs now where the records ran
    others; then the runs of each (experiment, seed, fold) handed to ``jobs``
    workers in row order (:func:`makespan`, times ``slowdown`` with more than
    one), as the runner runs them. Rows without a recorded run are listed
    and left out (the projection is then a lower bound).

    A recorded fit second is the wall time of the fit in its worker, with
    whatever shared the machine then: runs recorded two at a time already
    hold the cost of sharing it, hence no ``slowdown`` by default (the
    committed runs of ``crl_ablation_cnn`` and ``table8_cnn``, made two at a
    time, took 53 and 65 min; this projects 52 and 64).

    Parameters
    ----------
    profile : benchmarks.harness.profile.Profile
    exps : list or None
        Its experiments (default: all, :func:`benchmarks.harness.runner.select`).
    n_seeds : dict or None
        Seeds per experiment name (default: the profile's).
    jobs : int or None
        Runs in parallel (default: the profile's).
    max_epochs : int or None
        Epochs in place of the profile's, as ``--max-epochs``.
    paths : sequence of path-like or None
        Run records (``runs.jsonl``), relative to the repository root or
        absolute.
    slowdown : float, default=1.0
        Factor on the runs' times when ``jobs > 1`` (e.g.
        :data:`PARALLEL_SLOWDOWN` for records made one run at a time).

    Returns
    -------
    result : dict
        ``rows`` (per experiment and row: ``runs``, ``fit_s`` the median,
        ``recorded_epochs``, ``epochs``, ``run_s`` projected), ``unmeasured``
        (``(experiment, row)`` pairs), ``cpu_s``, ``wall_s``, ``sources``
        (per file: runs read, commits, hosts, devices) and ``markdown``.
    """
    exps = runner.select(profile) if exps is None else exps
    n_seeds = n_seeds or {e.name: profile.seeds_for(e.suite) for e in exps}
    jobs = jobs or profile.jobs
    paths = profile.sizing_records if paths is None else paths
    by_run, sources = {}, []
    for path in paths:
        path = Path(path)
        full = path if path.is_absolute() else ROOT / path
        records = read_json_lines(full, what="sizing records")
        sources.append(
            {
                "path": str(path),
                "found": full.is_file(),
                "runs": len(records),
                "commits": sorted(
                    {str(r.get("commit", "unrecorded")) for r in records}
                ),
                "hosts": sorted({str(r.get("host", "unrecorded")) for r in records}),
                "devices": sorted(
                    {str(r.get("device", "unrecorded")) for r in records}
                ),
            }
        )
        for r in records:
            seconds = run_seconds(r)
            if seconds is not None and "experiment" in r and "method" in r:
                by_run.setdefault((r["experiment"], r["method"]), []).append(
                    (seconds, r.get("max_epochs"), r.get("n_train"))
                )
    rows, unmeasured, wall_s, cpu_s = [], [], 0.0, 0.0
    factor = slowdown if jobs > 1 else 1.0
    for exp in exps:
        net = dict(profile.net_for(exp.suite))
        if max_epochs:
            net["max_epochs"] = max_epochs
            net.pop("target_steps", None)
            net.pop("min_epochs", None)
        runs = []
        for row in exp.rows:
            found = by_run.get((exp.name, row))
            if not found:
                unmeasured.append((exp.name, row))
                continue
            seconds = statistics.median(s for s, _, _ in found)
            recorded = [e for _, e, _ in found if e]
            recorded = statistics.median(recorded) if recorded else None
            n_train = [n for _, _, n in found if n]
            epochs = None
            if exp.kind != "measurement" and n_train:
                epochs = runner.resolve_epochs(net, statistics.median(n_train)).get(
                    "max_epochs"
                )
            scale = epochs / recorded if epochs and recorded else 1.0
            run_s = seconds * scale
            runs.append(run_s)
            cpu_s += run_s * exp.n_folds * n_seeds[exp.name]
            rows.append(
                {
                    "experiment": exp.name,
                    "suite": exp.suite,
                    "row": row,
                    "runs": len(found),
                    "fit_s": seconds,
                    "recorded_epochs": recorded,
                    "epochs": epochs,
                    "run_s": run_s,
                }
            )
        wall_s += n_seeds[exp.name] * exp.n_folds * factor * makespan(runs, jobs)
    result = {
        "rows": rows,
        "unmeasured": unmeasured,
        "cpu_s": cpu_s,
        "wall_s": wall_s,
        "sources": sources,
    }
    result["markdown"] = _projection_markdown(
        profile, exps, n_seeds, jobs, slowdown, result
    )
    return result


def _projection_markdown(profile, exps, n_seeds, jobs, slowdown, result):
    """The ``## Sizing`` section: where the times come from, per suite and
    row, and the projected wall time."""
    sources = "; ".join(
        f"`{s['path']}`: "
        + (
            f"{s['runs']} runs, commit(s) {', '.join(s['commits'])}, host(s) "
            f"{', '.join(s['hosts'])}, device(s) {', '.join(s['devices'])}"
            if s["found"]
            else "not found"
        )
        for s in result["sources"]
    )
    head = (
        f"## Sizing\n\nProjected from measured runs ({sources}), not fitted "
        "again: per row the median fit seconds of its recorded runs (the fit's "
        "wall time in its worker; prediction not counted), scaled linearly to "
        "the epochs this profile runs where the records ran others, then the "
        f"runs of each (experiment, seed, fold) on {jobs} worker(s) in row "
        "order, as the runner runs them"
        + (
            f", times {slowdown:g} for runs sharing the machine"
            if jobs > 1 and slowdown != 1
            else ""
        )
        + " (a recorded fit's seconds hold what shared the machine when it ran). "
        "Why the profile has these settings: docs/benchmarks.rst; `--size` "
        "measures the rows on the machine at hand instead."
    )
    by_suite = {}
    for r in result["rows"]:
        by_suite.setdefault((r["suite"], r["row"]), []).append(r)
    folds = {e.name: e.n_folds * n_seeds[e.name] for e in exps}
    body = []
    for (suite, row), group in by_suite.items():
        epochs = sorted({g["epochs"] for g in group if g["epochs"]})
        recorded = sorted({g["recorded_epochs"] for g in group if g["recorded_epochs"]})
        body.append(
            [
                suite,
                row,
                str(len(group)),
                str(sum(g["runs"] for g in group)),
                _span(recorded),
                _span(epochs),
                f"{statistics.median(g['fit_s'] for g in group):.1f}",
                f"{sum(g['run_s'] * folds[g['experiment']] for g in group) / 60:.1f}",
            ]
        )
    table = markdown_table(
        [
            "suite",
            "row",
            "experiments",
            "recorded runs",
            "recorded epochs",
            "epochs",
            "median fit s",
            "projected CPU-min",
        ],
        body,
    )
    suite_seeds = {}
    for e in exps:
        suite_seeds.setdefault(e.suite, set()).add(n_seeds[e.name])
    seeds = ", ".join(
        f"{suite} {'/'.join(map(str, sorted(n)))}" for suite, n in suite_seeds.items()
    )
    total = (
        f"Projected: {result['cpu_s'] / 60:.0f} CPU-min of runs, "
        f"{result['wall_s'] / 60:.0f} min of wall time with {jobs} run(s) in "
        f"parallel (seeds or CV repeats: {seeds}); data loading not counted."
    )
    parts = [head, table, total]
    if result["unmeasured"]:
        by_row = {}
        for _, row in result["unmeasured"]:
            by_row[row] = by_row.get(row, 0) + 1
        missing = ", ".join(
            f"{row} ({n} experiment{'s' if n > 1 else ''})" for row, n in by_row.items()
        )
        parts.append(
            f"Not in the records, left out (the projection is a lower bound): "
            f"{missing}."
        )
    return "\n\n".join(parts)


def _span(values):
    """``"a"`` or ``"a-b"`` of sorted numbers, ``"—"`` for none."""
    if not values:
        return "—"
    low, high = f"{values[0]:g}", f"{values[-1]:g}"
    return low if low == high else f"{low}-{high}"


def _fmt(value, spec, missing="—"):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, spec)


def _report(
    profile,
    rows,
    loads,
    n_seeds,
    jobs,
    device,
    n_threads,
    n_samples,
    slowdown,
    wall_s,
    cpu_s,
    grid,
    base,
    seed_options,
    spent,
    spent_cpu,
    clock,
):
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    net = profile.net
    backbone = net.get("backbone")
    what = (
        f"backbone {backbone!r}"
        if backbone is not None
        else f"hidden_layer_sizes={net.get('hidden_layer_sizes')}"
    )
    head = (
        f"## Sizing of `{profile.name}`\n\n"
        f"Measured {when} on {platform.node()} ({platform.machine()}, torch "
        f"{torch.__version__}), device {device}, {n_threads} thread(s) per fit, "
        f"one fit at a time, in {spent:.0f} s of wall time and {spent_cpu:.0f} s "
        f"of CPU time ({100 * spent_cpu / max(spent, 1e-9):.0f} % of a core). "
        + (
            "Times are CPU seconds of the process: the wall time of a run with a "
            "core to itself, whatever else the machine runs. "
            if clock == "cpu"
            else "Times are wall seconds (the device's work is not CPU time). "
        )
        + f"Every row fitted twice per data "
        f"set, on stratified subsamples of up to {n_samples:,} and "
        f"{2 * n_samples:,} training rows (seed 0), at the profile's settings "
        f"({what}, batch {net.get('batch_size')}); the updates of the larger fit "
        "scaled linearly to the full training set, the rest of the fit (a "
        "method's per-epoch work, a sampler) as n^alpha with alpha from the two "
        f"fits; prediction on up to {2 * n_samples:,} test rows, scaled to the "
        "test set. 'ms / update': median interval between two training batches "
        "(the update alone); 'all-in': the larger fit's seconds over its updates "
        "(with the per-epoch work: MC-dropout refreshes, re-clustering, a "
        "sampler)."
    )
    body = [
        [
            r["experiment"],
            r["row"],
            _fmt(r["n_train"], ",d"),
            _fmt(r["epochs"], "d"),
            _fmt(r["updates_full"], ",d"),
            _fmt(None if r["step_s"] is None else 1e3 * r["step_s"], ".1f"),
            _fmt(1e3 * r["update_s"], ".1f"),
            f"{r['alpha']:.2f}",
            f"{r['run_s']:.0f}",
            r["error"][:60] if r["error"] else "",
        ]
        for r in rows
    ]
    table = markdown_table(
        [
            "experiment",
            "row",
            "training rows",
            "epochs",
            "updates / fit",
            "ms / update",
            "ms / update, all-in",
            "alpha",
            "projected run s",
            "error",
        ],
        body,
    )
    load_text = "; ".join(
        f"{name} {cold:.1f} s (first seed), {warm:.1f} s (next)"
        for name, (cold, warm) in loads.items()
    )
    seeds_text = ", ".join(f"{name}: {n}" for name, n in n_seeds.items())
    total = (
        f"Projected: {cpu_s / 60:.0f} CPU-min of runs ({seeds_text} seed(s)); "
        f"wall time {wall_s / 60:.0f} min with {jobs} run(s) in parallel (the "
        "runs of each (experiment, seed) handed to the workers in row order"
        + (f", times {slowdown:g} for runs sharing the machine" if jobs > 1 else "")
        + f"), data loading included ({load_text})."
    )
    parts = [head, table, total]
    if grid:
        header = ["epochs", *(f"{s} seed(s)" for s in seed_options)]
        grid_body = [
            [f"{epochs}" + (" (measured)" if epochs == base else "")]
            + [f"{grid[epochs, s] / 60:.0f} min" for s in seed_options]
            for epochs in sorted({e for e, _ in grid})
        ]
        parts.append(
            "Projected wall time by epochs and seeds (runs scaled linearly in "
            "the epochs from the measured ones; approximate for rows whose "
            "per-epoch work does not scale with the epochs):\n\n"
            + markdown_table(header, grid_body)
        )
    return "\n\n".join(parts) + "\n"
