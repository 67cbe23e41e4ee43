"""Training speed of the CNN backbone on 28 x 28 x 1 images.

Three measurements of :class:`skimbalance.ConvNetBackbone` on flat rows of
28 x 28 grey images (the 8 x 8 digits blown up three times and padded, classes
5 to 9 kept at 10 %, drawn with replacement up to ``--n-samples`` rows with a
little noise):

1. **Updates per second of the bare network**: a hand-written PyTorch loop
   (the backbone and a linear classifier, Adam, cross-entropy, batches sliced
   from tensors in memory), for every combination of the conv widths
   (``--widths``, default (16, 32) and (32, 64)), torch threads (1 and 2),
   memory layout (the default contiguous NCHW, or ``channels_last=True``),
   ``torch.backends.mkldnn.enabled`` (oneDNN convolutions on, or off: torch's
   own) and batch size (128 and 256). Reported: the median step time, updates
   and images per second, and the speed relative to the default (contiguous,
   oneDNN on) of the same width, threads and batch size.
2. **Per-step cost of the four estimators** against that floor: each
   estimator (skorch's loop, the method's term, its sampler and callbacks)
   trains the same backbone at ``--estimator-batch-size`` (128), and a plain
   PyTorch loop (no skorch) trains the very network the cross-entropy
   estimator builds (backbone, 64-d embedding, linear head) on batches of the
   same size with Adam and cross-entropy: the physical floor.
   A step's time is the interval between the starts of two consecutive
   training batches of an epoch (so it holds the batch's loading and every
   per-batch callback, and none of the per-epoch work: MC-dropout refreshes,
   clustering); the first epoch of each fit is left out. The uncertainty
   margin method is reported per curriculum stage, CLMLE after its
   cross-entropy warm-up (its batches: 8 clusters x ``batch / 8`` samples).
3. ``--profile``: :mod:`torch.profiler` over a few training steps of the last
   epoch of each estimator (and of the plain loop), printing the top ops by
   self CPU time and how much of the wall time the ops account for (the rest
   is Python: skorch, the data loader, the method's bookkeeping).

Rows are interleaved (every round runs every configuration once) so that a
slow phase of a shared machine affects all alike.

Run ``python -m benchmarks.speed.cnn`` (``--help`` for the options). Prints the
tables and writes ``speed_cnn_updates.csv``, ``speed_cnn_steps.csv`` and
``speed_cnn.md`` (and ``speed_cnn_profile.txt`` with ``--profile``) under
``benchmarks/results/``. ``--quick`` runs a tiny version of everything in
seconds and writes files only when ``--out`` is given.
"""

import argparse
import platform
import statistics
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import product
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from skorch.callbacks import Callback
from torch import nn

from skimbalance import (
    CLMLEClassifier,
    ConvNetBackbone,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance.base import torch_threads
from skimbalance.datasets import keep_fraction_of_classes
from skimbalance.modules import MultiTaskNet
from skimbalance.training.uncertainty_margin import curriculum_stage

from ..harness.files import write_text
from ..harness.report import write_csv

INPUT_SHAPE = (1, 28, 28)
LAYOUTS = ("contiguous", "channels_last")
METHODS = ("CE", "CRL", "CLMLE", "UncertaintyMargin")
FLOOR = "plain PyTorch loop"
EMBEDDING_DIM = 64
LR = 1e-3


# ------------------------------------------------------------------- data
def digit_images(n_samples, seed=0):
    """``(X, y)``: ``n_samples`` flat 28 x 28 images in [0, 1], half the classes rare.

    The 8 x 8 digits, each pixel blown up to 3 x 3 and padded by 2, classes 5
    to 9 kept at 10 % (:func:`skimbalance.datasets.keep_fraction_of_classes`),
    then drawn with replacement up to ``n_samples`` rows with N(0, 0.01) noise
    (no two rows alike).
    """
    X, y = load_digits(return_X_y=True)
    images = np.kron(X.reshape(-1, 8, 8) / 16.0, np.ones((3, 3)))
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).reshape(len(X), -1)
    images, y = keep_fraction_of_classes(
        images, y, fraction=0.1, classes=np.arange(5, 10), random_state=seed
    )
    rng = np.random.default_rng(seed)
    index = rng.choice(len(y), size=n_samples, replace=True)
    noise = rng.normal(0.0, 0.01, size=(n_samples, images.shape[1]))
    X = np.clip(images[index] + noise, 0.0, 1.0).astype(np.float32)
    return X, y[index]


# ---------------------------------------------------------------- helpers
@contextmanager
def mkldnn_enabled(enabled):
    """Run a block with ``torch.backends.mkldnn.enabled`` set, then restore it."""
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = bool(enabled)
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


def synchronizer(device):
    """A function that waits for the device's queued work (a no-op on the CPU)."""
    if str(device).startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def bare_network(width, layout, n_classes):
    """The backbone and a linear classifier: ``(B, 784) -> (B, n_classes)``."""
    backbone = ConvNetBackbone(
        INPUT_SHAPE, channels=width, channels_last=layout == "channels_last"
    )
    return nn.Sequential(backbone(), nn.Linear(backbone.out_features, n_classes))


def estimator_network(width, n_classes):
    """The network :class:`~skimbalance.CrossEntropyClassifier` builds on the backbone."""
    backbone = ConvNetBackbone(INPUT_SHAPE, channels=width)
    return MultiTaskNet(
        backbone(),
        backbone.out_features,
        n_tasks=1,
        n_classes=n_classes,
        embedding_dim=EMBEDDING_DIM,
        input_shape=INPUT_SHAPE,
    )


def _logits(output):
    """Class logits ``(B, C)`` of a bare network's or a MultiTaskNet's output."""
    return output[0][:, 0, :] if isinstance(output, tuple) else output


def plain_steps(
    module, X, y, batch_size, n_steps, *, seed=0, device="cpu", on_step=None
):
    """Seconds of each of ``n_steps`` plain training steps of ``module``.

    Adam at the estimators' learning rate, cross-entropy; each batch is
    sliced from a fresh permutation of the rows (tensors already on
    ``device``). ``on_step(i)``, if given, is called after step ``i``.
    """
    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    sync = synchronizer(device)
    n = X.shape[0]
    order, position = torch.randperm(n, generator=generator), 0
    times = []
    for step in range(n_steps):
        if position + batch_size > n:
            order, position = torch.randperm(n, generator=generator), 0
        index = order[position : position + batch_size].to(X.device)
        position += batch_size
        tic = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(_logits(module(X[index])), y[index])
        loss.backward()
        optimizer.step()
        sync()
        times.append(time.perf_counter() - tic)
        if on_step is not None:
            on_step(step)
    return times


# ----------------------------------------------- 1. updates per second
def measure_updates(X, y, args):
    """Median step time of every (width, threads, layout, mkldnn, batch) of the bare net."""
    n_classes = int(y.max()) + 1
    Xt = torch.from_numpy(X).to(args.device)
    yt = torch.from_numpy(y.astype(np.int64)).to(args.device)
    configs = list(
        product(args.widths, args.threads, args.layouts, args.mkldnn, args.batch_sizes)
    )
    times = {config: [] for config in configs}
    for round_ in range(args.rounds):
        for config in configs:
            width, threads, layout, mkldnn, batch_size = config
            with torch_threads(threads), mkldnn_enabled(mkldnn == "on"):
                torch.manual_seed(round_)
                module = bare_network(width, layout, n_classes).to(args.device)
                steps = plain_steps(
                    module,
                    Xt,
                    yt,
                    batch_size,
                    args.warmup + args.steps,
                    seed=round_,
                    device=args.device,
                )
            times[config] += steps[args.warmup :]
    table = []
    for config in configs:
        width, threads, layout, mkldnn, batch_size = config
        seconds = statistics.median(times[config])
        table.append(
            {
                "width": "x".join(map(str, width)),
                "threads": threads,
                "batch_size": batch_size,
                "layout": layout,
                "mkldnn": mkldnn,
                "step_ms": 1e3 * seconds,
                "updates_per_s": 1.0 / seconds,
                "images_per_s": batch_size / seconds,
                "steps_timed": len(times[config]),
            }
        )
    for row in table:
        default = next(
            (
                r
                for r in table
                if (r["width"], r["threads"], r["batch_size"])
                == (row["width"], row["threads"], row["batch_size"])
                and (r["layout"], r["mkldnn"]) == ("contiguous", "on")
            ),
            None,
        )
        row["speed_vs_default"] = (
            row["updates_per_s"] / default["updates_per_s"] if default else float("nan")
        )
    return table


# ------------------------------------------ 2. per-step cost of the methods
class StepTimer(Callback):
    """Records the start of every training batch: ``(epoch, seconds, batch size)``.

    The interval between the starts of two consecutive training batches of
    an epoch is one step: the batch's forward, loss, backward, optimizer step
    and per-batch callbacks, and the loading of the next batch.
    """

    def __init__(self, device="cpu"):
        self.device = device

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
        synchronizer(self.device)()
        now = time.perf_counter()
        if self._last is not None:
            start, size = self._last
            self.steps_.append((self._epoch, now - start, size))
        self._last = (now, len(batch[1]))


class ProfileSteps(Callback):
    """Runs :mod:`torch.profiler` over ``n_steps`` training steps of one epoch.

    From the start of the ``skip + 1``-th training batch of epoch ``epoch``
    (1-based) to the end of the ``skip + n_steps``-th; ``profile_`` is then
    the finished profiler and ``wall_`` the seconds it ran.
    """

    def __init__(self, epoch, n_steps=5, skip=2):
        self.epoch = epoch
        self.n_steps = n_steps
        self.skip = skip

    def initialize(self):
        self.profile_ = None
        self.wall_ = None
        self.steps_done_ = 0
        self._batch = None
        self._active = None
        return self

    def _stop(self):
        self._active.__exit__(None, None, None)
        self.wall_ = time.perf_counter() - self._tic
        self.profile_, self._active = self._active, None

    def on_epoch_begin(self, net, **kwargs):
        self._batch = 0 if len(net.history) == self.epoch else None

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or self._batch is None:
            return
        if self._batch == self.skip and self.profile_ is None:
            self._active = torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU]
            )
            self._active.__enter__()
            self._tic = time.perf_counter()

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training or self._batch is None:
            return
        if self._active is not None:
            self.steps_done_ += 1
            if self.steps_done_ == self.n_steps:
                self._stop()
        self._batch += 1

    def on_epoch_end(self, net, **kwargs):
        if self._active is not None:  # the epoch had fewer batches
            self._stop()


def estimators(width, batch_size, threads, args, callbacks):
    """The four estimators on the backbone, as ``{name: (estimator, stage_of)}``.

    ``stage_of(epoch)`` names the part of training an epoch belongs to (None:
    not reported). The uncertainty-margin method: ``args.epochs - 3`` softmax
    epochs, one class-level, two sample-level; CLMLE: one warm-up epoch.
    """
    shared = dict(
        backbone=ConvNetBackbone(INPUT_SHAPE, channels=width),
        embedding_dim=EMBEDDING_DIM,
        max_epochs=args.epochs,
        batch_size=batch_size,
        lr=LR,
        device=args.device,
        n_threads=threads,
        random_state=0,
        callbacks=callbacks,
    )
    um_warmup, um_sample = args.epochs - 3, 2
    per_cluster = max(1, batch_size // 8)
    return {
        "CE": (CrossEntropyClassifier(**shared), lambda e: "all" if e > 1 else None),
        "CRL": (CRLClassifier(**shared), lambda e: "all" if e > 1 else None),
        "CLMLE": (
            CLMLEClassifier(
                warmup_epochs=1,
                n_cluster_rounds=1,
                n_clusters_per_batch=8,
                samples_per_cluster=per_cluster,
                **shared,
            ),
            lambda e: "CLMLE loss" if e > 1 else None,
        ),
        "UncertaintyMargin": (
            UncertaintyMarginClassifier(
                warmup_epochs=um_warmup,
                class_weight_start_epoch=um_warmup,
                sample_level_epochs=um_sample,
                n_mc_samples=args.n_mc_samples,
                **shared,
            ),
            lambda e: (
                curriculum_stage(e, args.epochs, um_warmup, um_sample)
                if e > 1
                else None
            ),
        ),
    }


def measure_steps(X, y, args):
    """Median step time of each estimator (per stage) and of the plain floor."""
    n_classes = int(y.max()) + 1
    Xt = torch.from_numpy(X).to(args.device)
    yt = torch.from_numpy(y.astype(np.int64)).to(args.device)
    batch_size = args.estimator_batch_size
    n_floor = args.warmup + max(args.steps, 2 * len(X) // batch_size)
    table = []
    for width, threads in product(args.widths, args.threads):
        timer = ("step_timer", StepTimer(args.device))
        intervals = {}  # (method, stage) -> [(seconds, batch size)]
        for round_ in range(args.rounds):
            with torch_threads(threads):
                torch.manual_seed(round_)
                floor = estimator_network(width, n_classes).to(args.device)
                steps = plain_steps(
                    floor, Xt, yt, batch_size, n_floor, seed=round_, device=args.device
                )
            intervals.setdefault((FLOOR, "all"), []).extend(
                (s, batch_size) for s in steps[args.warmup :]
            )
            for name, (est, stage_of) in estimators(
                width, batch_size, threads, args, [timer]
            ).items():
                est.fit(X, y)
                recorded = dict(est.net_.callbacks_)["step_timer"].steps_
                for epoch, seconds, size in recorded:
                    stage = stage_of(epoch)
                    if stage is not None:
                        intervals.setdefault((name, stage), []).append((seconds, size))
        floor_per_sample = statistics.median(
            s / b for s, b in intervals[(FLOOR, "all")]
        )
        for (method, stage), values in intervals.items():
            seconds = statistics.median(s for s, _ in values)
            per_sample = statistics.median(s / b for s, b in values)
            table.append(
                {
                    "width": "x".join(map(str, width)),
                    "threads": threads,
                    "method": method,
                    "stage": stage,
                    "step_ms": 1e3 * seconds,
                    "samples_per_step": float(np.mean([b for _, b in values])),
                    "us_per_sample": 1e6 * per_sample,
                    "ratio_to_floor": per_sample / floor_per_sample,
                    "steps_timed": len(values),
                }
            )
    return table


# ------------------------------------------------------------- 3. profile
def profile_report(X, y, args, rows=12):
    """Top ops by self CPU time over a few training steps of each estimator."""
    n_classes = int(y.max()) + 1
    width, threads = args.widths[-1], args.threads[0]
    batch_size = args.estimator_batch_size
    parts = []

    def describe(name, prof, wall, n_steps):
        events = prof.key_averages()
        ops_s = sum(e.self_cpu_time_total for e in events if e.key.startswith("aten::"))
        head = (
            f"## {name}: {n_steps} steps, width {'x'.join(map(str, width))}, batch "
            f"{batch_size}, {threads} thread(s): {1e3 * wall / n_steps:.1f} ms/step; "
            f"the aten ops' self CPU time is {100 * ops_s / 1e6 / wall:.0f} % of the "
            "wall time (the rest: Python, skorch, the data loader, the optimizer's "
            "and the method's bookkeeping)"
        )
        table = events.table(sort_by="self_cpu_time_total", row_limit=rows)
        parts.append(head + "\n\n" + table)

    # The plain loop: the same network, Adam, cross-entropy.
    Xt = torch.from_numpy(X).to(args.device)
    yt = torch.from_numpy(y.astype(np.int64)).to(args.device)
    with torch_threads(threads):
        torch.manual_seed(0)
        floor = estimator_network(width, n_classes).to(args.device)
        plain_steps(floor, Xt, yt, batch_size, args.warmup, device=args.device)
        with torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU]
        ) as prof:
            tic = time.perf_counter()
            plain_steps(
                floor,
                Xt,
                yt,
                batch_size,
                args.profile_steps,
                seed=1,
                device=args.device,
            )
            wall = time.perf_counter() - tic
    describe(FLOOR, prof, wall, args.profile_steps)
    profiler = ("profile_steps", ProfileSteps(args.epochs, args.profile_steps))
    for name, (est, _) in estimators(
        width, batch_size, threads, args, [profiler]
    ).items():
        est.fit(X, y)
        done = dict(est.net_.callbacks_)["profile_steps"]
        if done.profile_ is None:
            parts.append(f"## {name}: too few batches in the last epoch to profile")
            continue
        describe(name, done.profile_, done.wall_, done.steps_done_)
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- output
def format_table(table, columns, markdown=False):
    """Rows as a text or Markdown table; ``columns``: ``[(header, key, format)]``."""
    header = [h for h, _, _ in columns]
    body = [[fmt.format(row[key]) for _, key, fmt in columns] for row in table]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True))
        for r in [header, *body]
    )


UPDATE_COLUMNS = [
    ("width", "width", "{}"),
    ("threads", "threads", "{}"),
    ("batch", "batch_size", "{}"),
    ("layout", "layout", "{}"),
    ("mkldnn", "mkldnn", "{}"),
    ("ms / step", "step_ms", "{:.1f}"),
    ("updates / s", "updates_per_s", "{:.1f}"),
    ("images / s", "images_per_s", "{:.0f}"),
    ("vs default", "speed_vs_default", "{:.2f}"),
]
STEP_COLUMNS = [
    ("width", "width", "{}"),
    ("threads", "threads", "{}"),
    ("method", "method", "{}"),
    ("stage", "stage", "{}"),
    ("ms / step", "step_ms", "{:.1f}"),
    ("samples / step", "samples_per_step", "{:.0f}"),
    ("µs / sample", "us_per_sample", "{:.0f}"),
    ("ratio to floor", "ratio_to_floor", "{:.2f}"),
]


def _widths(text):
    """``"16,32"`` -> ``(16, 32)``."""
    try:
        width = tuple(int(part) for part in text.split(","))
    except ValueError:
        width = ()
    if not width or min(width) < 1:
        raise argparse.ArgumentTypeError(
            f"a width is comma-separated positive integers, e.g. 16,32; got {text!r}"
        )
    return width


QUICK = dict(
    widths=[(4, 8)],
    threads=[1],
    batch_sizes=[32, 64],
    estimator_batch_size=32,
    n_samples=256,
    steps=3,
    warmup=1,
    rounds=1,
    epochs=4,
    n_mc_samples=2,
    profile_steps=2,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed.cnn",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--widths", type=_widths, nargs="+", default=[(16, 32), (32, 64)]
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    parser.add_argument(
        "--mkldnn", nargs="+", choices=("on", "off"), default=["on", "off"]
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--estimator-batch-size", type=int, default=128)
    parser.add_argument("--n-samples", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=20, help="timed steps a round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps a round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs per estimator fit"
    )
    parser.add_argument("--n-mc-samples", type=int, default=10)
    parser.add_argument("--skip-updates", action="store_true")
    parser.add_argument("--skip-estimators", action="store_true")
    parser.add_argument("--profile", action="store_true", help="run torch.profiler")
    parser.add_argument("--profile-steps", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run of everything, in seconds"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output folder (default: benchmarks/results; with --quick, none)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.epochs < 4:
        parser.error("--epochs must be at least 4 (the curriculum's stages are timed)")
    if args.out is None and not args.quick:
        args.out = str(Path(__file__).resolve().parent.parent / "results")
    return args


def main(argv=None):
    args = parse_args(argv)
    tic = time.perf_counter()
    X, y = digit_images(args.n_samples)
    # One throw-away fit pays the one-off imports and allocations.
    with torch_threads(args.threads[0]):
        CrossEntropyClassifier(
            backbone=ConvNetBackbone(INPUT_SHAPE, channels=args.widths[0]),
            max_epochs=1,
            device=args.device,
            random_state=0,
        ).fit(X[:64], y[:64])
    updates = [] if args.skip_updates else measure_updates(X, y, args)
    steps = [] if args.skip_estimators else measure_steps(X, y, args)
    profile = profile_report(X, y, args) if args.profile else None
    wall = time.perf_counter() - tic
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    context = (
        f"ConvNetBackbone training speed on {args.n_samples} flat 28 x 28 x 1 images "
        f"(digits blown up, classes 5-9 at 10 %), device {args.device}"
        f"{' (--quick)' if args.quick else ''}. Run {when} on {platform.node()} "
        f"({platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} default threads), wall time {wall:.0f} s."
    )
    sections = [context]
    if updates:
        sections.append(
            "Updates per second of the bare network (backbone + linear classifier, "
            f"plain loop, Adam, cross-entropy): median of {args.rounds} x "
            f"{args.steps} steps after {args.warmup} warm-up steps a round; 'vs "
            "default': speed relative to contiguous NCHW with oneDNN on.\n\n"
            + format_table(updates, UPDATE_COLUMNS, markdown=True)
        )
    if steps:
        sections.append(
            f"Per-step cost of the estimators at batch {args.estimator_batch_size} "
            f"against the plain loop on the same network ({args.epochs} epochs a fit, "
            f"{args.rounds} fit(s) a row, first epoch left out; CLMLE's batches: 8 "
            "clusters x batch/8 samples; 'ratio to floor': time per sample over the "
            "plain loop's).\n\n" + format_table(steps, STEP_COLUMNS, markdown=True)
        )
    print(context)
    if updates:
        print(format_table(updates, UPDATE_COLUMNS))
    if steps:
        print(format_table(steps, STEP_COLUMNS))
    if profile:
        print(profile)
    if args.out is not None:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if updates:
            write_csv(updates, out / "speed_cnn_updates.csv")
        if steps:
            write_csv(steps, out / "speed_cnn_steps.csv")
        write_text(out / "speed_cnn.md", "\n\n".join(sections) + "\n")
        if profile:
            write_text(out / "speed_cnn_profile.txt", context + "\n\n" + profile)
    return {"updates": updates, "steps": steps, "profile": profile}


if __name__ == "__main__":
    main()
