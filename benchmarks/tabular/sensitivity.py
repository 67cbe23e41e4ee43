"""The ``sensitivity`` profile: the methods' gap to class weights under other
training lengths and network sizes (issue 13).

``python -m benchmarks sensitivity`` fits the cost-sensitive network and the
three methods at their defaults, with half and twice the updates, and with a
narrower network (:data:`benchmarks.harness.methods.SENSITIVITY_SETTINGS`),
on the 24 KEEL sets in 5-fold cross-validation on the folds of the
``defaults`` profile (not ``full``'s, which reports). Its closing section
(:func:`benchmarks.harness.sensitivity.sensitivity_markdown`) says, per
setting, where each method stands against the cost-sensitive network at the
same setting: whether a method's gap is one of training length or size, or
the method's own.
"""

from ..harness.methods import SENSITIVITY_BASES, SENSITIVITY_SETTINGS, sensitivity_rows
from ..harness.profile import Profile
from ..harness.sensitivity import sensitivity_markdown
from .keel import KEEL_NET, SELECTION_FIRST_SEED, keel_experiments


def experiments():
    """The KEEL suite on the ``defaults`` profile's folds, with the rows of
    :func:`~benchmarks.harness.methods.sensitivity_rows`."""
    return keel_experiments(
        rows=sensitivity_rows(),
        first_seed=SELECTION_FIRST_SEED,
        suite="sensitivity_keel",
    )


def closing(records, exps, out, n_seeds):
    """The profile's closing section: the three sensitivity tables."""
    return sensitivity_markdown(
        records,
        [e.name for e in exps],
        SENSITIVITY_BASES,
        list(SENSITIVITY_SETTINGS),
        reference=SENSITIVITY_BASES[0],
    )


PROFILES = {
    "sensitivity": Profile(
        name="sensitivity",
        description=(
            "the methods' gap to the cost-sensitive network with half and twice "
            "the updates and with a narrower network (issue 13), on the 24 KEEL "
            "sets (5-fold CV on the defaults profile's folds)"
        ),
        experiments=experiments,
        seeds=1,
        jobs=2,
        net={"hidden_layer_sizes": (512, 512), "dropout": 0.5, "lr": 1e-3},
        net_by_suite={"sensitivity_keel": KEEL_NET},
        sizing_records=("docs/results/sensitivity/runs.jsonl",),
        closing=closing,
    )
}
