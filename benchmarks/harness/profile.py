"""The :class:`Profile` type: which experiments, which rows, which settings.

The profiles themselves live in the wings (``benchmarks/khan2019/``,
``benchmarks/huang2019/``, ...), each in its module's ``PROFILES`` dict, and
are gathered by the registry in ``benchmarks/__main__.py``.
"""

from dataclasses import dataclass, field


@dataclass
class Profile:
    """One benchmark configuration.

    Attributes
    ----------
    name : str
    description : str
    experiments : callable
        ``experiments() -> list`` of :class:`~benchmarks.harness.experiments.HoldoutExperiment`
        and :class:`~benchmarks.harness.experiments.CVExperiment` (built on demand, so
        the rows include the methods registered at run time).
    seeds : int
        Default number of seeds (holdout) or of repeats (cross-validation).
    seeds_by_suite : dict
        Overrides of ``seeds`` per suite.
    jobs : int
        Default number of runs in parallel processes.
    net : dict
        Settings shared by every neural row.
    net_by_suite : dict
        Overrides of ``net`` per suite (e.g. fewer epochs for the tabular sets).
    reporters : dict
        Per suite, a ``reporter(records, experiments, out, n_seeds)`` returning
        ``(markdown, figure_paths)`` that writes the suite's section of
        ``summary.md`` in place of the default layouts (Table 5 for holdout
        experiments, ranks and Friedman test for cross-validation).
    backbones : dict
        Variants of the profile under another network, ``{name: Profile}``,
        picked on the command line with ``--backbone NAME`` (e.g. ``"cnn"``:
        the same protocol with a small CNN trained end to end on the images
        instead of a network on pretrained features). Empty: the profile has
        no variant.
    closing : callable or None
        ``closing(records, experiments, out, n_seeds) -> markdown``: a last
        section of ``summary.md`` over every suite's runs (e.g. the choice of
        the ``defaults`` profile); ``None``: none.
    """

    name: str
    description: str
    experiments: callable
    seeds: int
    seeds_by_suite: dict = field(default_factory=dict)
    jobs: int = 1
    net: dict = field(default_factory=dict)
    net_by_suite: dict = field(default_factory=dict)
    reporters: dict = field(default_factory=dict)
    backbones: dict = field(default_factory=dict)
    closing: callable = None

    def seeds_for(self, suite):
        return self.seeds_by_suite.get(suite, self.seeds)

    def net_for(self, suite):
        return {**self.net, **self.net_by_suite.get(suite, {})}
