"""Cost of CRL's instance-level mining: the full Gram matrix against the anchors' rows.

``python -m benchmarks crl_mining_cost`` (output
``benchmarks/results/crl_mining_cost``).

Instance-level hard mining (Dong et al., Eq. 6-7) needs, for each minority
anchor, its distances to the samples of its batch. Computing the whole ``(T, B,
B)`` matrix of pairwise distances and keeping the anchors' rows costs ``T * B^2
* D``; :func:`skimbalance.losses.crl.anchor_feature_distances` multiplies only
the anchors (at most half of each attribute's batch, Eq. 3) with the batch,
``T * A * B * D``. Two suites:

``crl_mining_steps`` (a measurement, :func:`step_costs`)
    Per training-step shape (a row of :data:`SHAPES`: ``B`` samples, ``T``
    binary attributes with positive rates spread from 2 % to 50 % as
    CelebA's, ``D = 64``), on one CPU thread, the median of ``repeats``
    timings of 20 calls of

    * ``mining (full)``: :func:`~skimbalance.losses.crl.pairwise_feature_distances`
      then :func:`~skimbalance.miners.hard_mining.instance_level_hard_samples`;
    * ``mining (anchor rows)``: ``anchor_feature_distances`` then the same
      mining with ``anchor_rows=True`` (what :func:`class_rectification_loss`
      does);
    * ``CRL step``: the whole CRL term, forward and backward, for the relative
      and the distribution forms;
    * ``CE step``: the cross-entropy of the same logits, forward and backward,
      for scale;

    and whether both mining paths return identical hard samples (also checked
    in ``tests/losses/test_crl.py``). The batch is drawn from the seed.
``crl_fit_cost`` (fits)
    :class:`~skimbalance.CRLClassifier` (I+R and I+D) and
    :class:`~skimbalance.CrossEntropyClassifier` trained on synthetic data of
    ``T`` = 1 and 40 binary labels (:class:`SyntheticLabels`: 2,000 training
    samples, 64 features, the (512, 512) MLP, batch 128, 4 epochs); each
    run records the median duration of its epochs 2-4
    (:func:`~benchmarks.harness.measures.epoch_seconds`); the report gives
    each CRL row's median over CE's. 2 seeds (the rows of a seed fitted one
    after the other, so the rows interleave).

Timings are cached like scores: a re-run on another host needs ``--fresh``
(every run records its host). Run it under an older checkout to compare.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch

from skimbalance import CRLClassifier, CrossEntropyClassifier

from ..harness.ablation_report import Column, Line, paired_table, recorded_values
from ..harness.experiments import HoldoutExperiment, MeasurementExperiment
from ..harness.measures import epoch_seconds
from ..harness.profile import Profile
from ..harness.report import markdown_table
from .attributes import fit_and_score as multilabel_fit_and_score

#: Row of the measurement -> (B samples, T attributes) of the training step.
SHAPES = {
    f"B={n_samples}, T={n_tasks}": (n_samples, n_tasks)
    for n_samples, n_tasks in ((128, 1), (128, 14), (128, 40), (256, 40))
}


def batch(n_samples, n_tasks, dim=64, seed=0):
    """Logits, embeddings and 0/1 targets of one synthetic training step."""
    g = torch.Generator().manual_seed(seed)
    rates = torch.linspace(0.02, 0.5, n_tasks) if n_tasks > 1 else torch.tensor([0.1])
    y = (torch.rand(n_samples, n_tasks, generator=g) < rates).long()
    logits = torch.randn(n_samples, n_tasks, 2, generator=g, requires_grad=True)
    emb = torch.randn(n_samples, n_tasks, dim, generator=g, requires_grad=True)
    return logits, emb, y


def timed(fn, calls=20, repeats=5):
    """Median over ``repeats`` of the mean seconds of ``calls`` calls (after one)."""
    fn()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - tic) / calls)
    return sorted(times)[len(times) // 2]


def step_costs(row, seed, repeats=5, dim=64):
    """The measurement of one row of :data:`SHAPES`: milliseconds of each path."""
    # imported here: the profile also runs against older checkouts without them
    from skimbalance.losses.crl import (
        anchor_feature_distances,
        class_rectification_loss,
        pairwise_feature_distances,
    )
    from skimbalance.losses.cross_entropy import weighted_cross_entropy
    from skimbalance.miners.hard_mining import (
        instance_level_hard_samples,
        minority_anchors,
    )
    from skimbalance.miners.minority import minority_classes

    n_samples, n_tasks = SHAPES[row]
    logits, emb, y = batch(n_samples, n_tasks, dim, seed)
    feats = emb.detach().transpose(0, 1)
    targets = y.transpose(0, 1)
    predictions = logits.detach().argmax(-1).transpose(0, 1)
    minority = minority_classes(targets, 2)

    def full():
        d = pairwise_feature_distances(feats, squared=True)
        return instance_level_hard_samples(d, targets, predictions, minority, 5)

    def rows():
        anchors = minority_anchors(targets, minority)
        d = anchor_feature_distances(feats, anchors)
        return instance_level_hard_samples(
            d, targets, predictions, minority, 5, anchor_rows=True
        )

    same = all(torch.equal(a, b) for a, b in zip(full(), rows(), strict=True))

    def crl(form):
        def step():
            value, _ = class_rectification_loss(logits, emb, y, loss=form)
            value.backward()

        return step

    def ce():
        weighted_cross_entropy(logits, y).backward()

    return {
        "anchors": float(minority_anchors(targets, minority).numel()),
        "identical": float(same),
        "mining_full_ms": 1e3 * timed(full, repeats=repeats),
        "mining_rows_ms": 1e3 * timed(rows, repeats=repeats),
        "crl_relative_ms": 1e3 * timed(crl("relative"), repeats=repeats),
        "crl_distribution_ms": 1e3 * timed(crl("distribution"), repeats=repeats),
        "ce_ms": 1e3 * timed(ce, repeats=repeats),
    }


@dataclass(frozen=True)
class SyntheticLabels:
    """``load(seed, device)``: ``n_tasks`` binary labels of a noisy linear
    model of 64 Gaussian features (positive rates 2 % to 50 %; 10 % for one
    label), ``n_train`` training and ``n_test`` test samples from ``seed``;
    one label is a 1-D target."""

    n_tasks: int
    n_train: int = 2000
    n_test: int = 500

    def __call__(self, seed, device="cpu"):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(self.n_train, 64)).astype(np.float32)
        rates = (
            np.linspace(0.02, 0.5, self.n_tasks)
            if self.n_tasks > 1
            else np.array([0.1])
        )
        W = rng.normal(size=(64, self.n_tasks))
        scores = X @ W + rng.normal(size=(self.n_train, self.n_tasks))
        cuts = np.array(
            [np.quantile(scores[:, j], 1 - rates[j]) for j in range(self.n_tasks)]
        )
        X_test = rng.normal(size=(self.n_test, 64)).astype(np.float32)
        test_scores = X_test @ W + rng.normal(size=(self.n_test, self.n_tasks))
        Y, Y_test = (
            (scores > cuts).astype(np.int64),
            (test_scores > cuts).astype(np.int64),
        )
        if self.n_tasks == 1:
            return X, Y[:, 0], X_test, Y_test[:, 0]
        return X, Y, X_test, Y_test


#: The rows of the fit suite: plain CE and CRL's relative and distribution forms.
FIT_ROWS = {
    "CE": lambda random_state, **net: CrossEntropyClassifier(
        random_state=random_state, **net
    ),
    "CRL(I+R)": lambda random_state, **net: CRLClassifier(
        random_state=random_state, **net
    ),
    "CRL(I+D)": lambda random_state, **net: CRLClassifier(
        crl_loss="distribution", random_state=random_state, **net
    ),
}


def make_row(name, random_state, **net):
    """A row of :data:`FIT_ROWS` on the synthetic features as they are (no scaler)."""
    return FIT_ROWS[name](random_state, **net)


def experiments():
    """The mining measurement, then the fits on 1 and 40 labels."""
    return [
        MeasurementExperiment(
            name="mining_steps",
            title="CRL's instance-level mining and loss on one synthetic step",
            measure=step_costs,
            rows=tuple(SHAPES),
            settings={"repeats": 5, "dim": 64},
            suite="crl_mining_steps",
        ),
        *(
            HoldoutExperiment(
                name=f"synthetic_T{n_tasks}",
                title=f"synthetic data, {n_tasks} binary label(s), 2,000 x 64",
                load=SyntheticLabels(n_tasks),
                rows=tuple(FIT_ROWS),
                settings={"data": "synthetic", "n_tasks": n_tasks, "n_train": 2000},
                suite="crl_fit_cost",
                make_row=make_row,
                fit_and_score=None if n_tasks == 1 else multilabel_fit_and_score,
                measures=(epoch_seconds,),
            )
            for n_tasks in (1, 40)
        ),
    ]


def _yes_no(values):
    return "yes" if all(values) else f"no ({len(values) - sum(values):.0f} seed(s))"


STEP_COLUMNS = (
    Column("anchors", "anchors", scale=1.0, digits=0),
    Column("identical", "identical", text=_yes_no),
    Column("mining full (ms)", "mining_full_ms", scale=1.0, digits=2),
    Column("mining anchor rows (ms)", "mining_rows_ms", scale=1.0, digits=2),
    Column("CRL(I+R) fwd+bwd (ms)", "crl_relative_ms", scale=1.0, digits=2),
    Column("CRL(I+D) fwd+bwd (ms)", "crl_distribution_ms", scale=1.0, digits=2),
    Column("CE fwd+bwd (ms)", "ce_ms", scale=1.0, digits=3),
)


def report_steps(records, experiments, out, n_seeds):
    """The mining suite's section: one line per step shape."""
    (exp,) = experiments
    lines = [Line(row, row, exp.name) for row in exp.rows]
    return (
        "## CRL's instance-level mining, one training step\n\n"
        "Median of 5 timings of 20 calls, one CPU thread, D = 64; mean ± sd "
        f"over {n_seeds[exp.name]} seed(s) of the synthetic batch. identical: "
        "both mining paths return the same hard samples.\n\n"
        + paired_table(records, lines, STEP_COLUMNS, first="step")
    ), []


def report_fits(records, experiments, out, n_seeds):
    """The fit suite's section: the median epoch of each CRL row over CE's."""
    body = []
    for exp in experiments:
        median = {
            row: recorded_values(records, row, "epoch_seconds", exp.name).values()
            for row in exp.rows
        }
        median = {row: float(np.median(list(v))) for row, v in median.items() if v}
        ce = median.get("CE")
        body.append(
            [
                str(exp.settings["n_tasks"]),
                f"{ce:.2f}" if ce else "—",
                *(
                    f"{median[row] / ce:.2f}" if ce and row in median else "—"
                    for row in ("CRL(I+R)", "CRL(I+D)")
                ),
            ]
        )
    seeds = sorted({n_seeds[e.name] for e in experiments})
    return (
        "## Whole fits: CRL's epoch against CE's\n\n"
        "Median epoch seconds over epochs 2-4 of "
        f"{'/'.join(map(str, seeds))} seed(s) (2,000 x 64 synthetic samples, "
        "the (512, 512) MLP, batch 128).\n\n"
        + markdown_table(["T", "CE epoch (s)", "CRL(I+R) / CE", "CRL(I+D) / CE"], body)
    ), []


PROFILES = {
    "crl_mining_cost": Profile(
        name="crl_mining_cost",
        description=(
            "the cost of CRL's instance-level hard mining: the full Gram matrix "
            "against the anchors' rows on synthetic training steps, and whole "
            "CRL fits against CE on synthetic data of 1 and 40 labels"
        ),
        experiments=experiments,
        seeds=1,
        seeds_by_suite={"crl_fit_cost": 2},
        net=dict(max_epochs=4, batch_size=128),
        reporters={"crl_mining_steps": report_steps, "crl_fit_cost": report_fits},
    )
}
