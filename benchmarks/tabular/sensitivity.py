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

#: Why the profile has the size it has.
SIZING = """\
From the fit times of ``full``'s KEEL suite with the defaults (one repeat, 24
sets x 5 folds, two runs in parallel on the 2 cores): the cost-sensitive
network 183 CPU-s for its 120 fits, CRL(I) 228, CLMLE 125, the uncertainty
margin 333, so 870 CPU-s a setting at the default length; the four settings
(defaults, half, twice the updates, narrow) cost about 1 + 0.5 + 2 + 0.6 =
4.1 times that: 3,600 CPU-s, 30 min with two runs in parallel. One
cross-validation repeat.

On the slower 2-core host of 2026-12-03 (AMD EPYC, AVX2; fits 2 to 4 times
as long as on the host above) the first run took 27 min for 8 of the 24
sets (``--experiments glass1 pima yeast3 glass4 yeast6 abalone19
contraceptive page-blocks``: binary and multi-class, imbalance ratios 1.8 to
175): the whole suite would have taken about 80 min there, with nothing else
on the machine."""


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
        sizing=SIZING,
        closing=closing,
    )
}
