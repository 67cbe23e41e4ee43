"""The :class:`Profile` type: which experiments, which rows, which settings.

The profiles themselves live in the wings (``benchmarks/khan2019/``,
``benchmarks/huang2019/``, ...), each in its module's ``PROFILES`` dict, and
are gathered by the registry in ``benchmarks/__main__.py``.
"""

from dataclasses import dataclass, field, replace

#: What a scale of a profile may change (see :attr:`Profile.scales`).
SCALE_KEYS = ("net", "seeds", "jobs", "sizing_records", "note")


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
    sizing_records : tuple of str
        The measured runs the profile's epochs and seeds were set from: the
        run records (``runs.jsonl``) of earlier runs of it, as paths relative
        to the repository root (e.g. ``"docs/results/table8/runs.jsonl"``).
        ``summary.md`` ends with the projection of the profile's wall time
        from their fit seconds, and ``--size-from`` prints it
        (:func:`benchmarks.harness.sizing.recorded_projection`); the reasons
        are in ``docs/benchmarks.rst``. Empty: no measured runs (``--size``
        measures).
    scales : dict
        Other sizes of the same profile, ``{name: changes}``, picked on the
        command line with ``--scale NAME`` (e.g. ``"gpu"``: a larger network,
        more epochs and seeds for a GPU). ``changes`` may hold ``net`` (merged
        into :attr:`net`), ``seeds``, ``jobs``, ``sizing_records`` (replacing
        :attr:`sizing_records`) and ``note`` (appended to the description).
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
    sizing_records: tuple = ()
    scales: dict = field(default_factory=dict)

    def seeds_for(self, suite):
        return self.seeds_by_suite.get(suite, self.seeds)

    def net_for(self, suite):
        return {**self.net, **self.net_by_suite.get(suite, {})}

    def at_scale(self, scale):
        """The profile at the scale ``scale`` of :attr:`scales`.

        Named ``<name>_<scale>`` (its own output folder and cache), with the
        scale's network settings merged into :attr:`net` and its seeds, jobs
        and sizing records in place of the profile's. ``None`` returns the
        profile.

        Raises
        ------
        ValueError
            When the profile has no scale ``scale`` (the message lists those
            it has), or a scale changes something else than
            :data:`SCALE_KEYS`.

        Examples
        --------
        >>> from benchmarks.harness.profile import Profile
        >>> p = Profile("p", "a profile", list, seeds=2, net={"max_epochs": 5},
        ...             scales={"gpu": {"net": {"max_epochs": 30}, "seeds": 5}})
        >>> big = p.at_scale("gpu")
        >>> big.name, big.seeds, big.net["max_epochs"], big.scales
        ('p_gpu', 5, 30, {})
        """
        if scale is None:
            return self
        if scale not in self.scales:
            available = ", ".join(sorted(self.scales)) or "none"
            raise ValueError(
                f"profile {self.name!r} has no scale {scale!r}; available scales: "
                f"{available} (or leave out --scale for the profile as it is)"
            )
        changes = dict(self.scales[scale])
        unknown = sorted(set(changes) - set(SCALE_KEYS))
        if unknown:
            raise ValueError(
                f"scale {scale!r} of profile {self.name!r} changes {unknown}; a "
                f"scale may change only {list(SCALE_KEYS)}."
            )
        note = changes.pop("note", "")
        return replace(
            self,
            name=f"{self.name}_{scale}",
            description=self.description + (f"; {note}" if note else ""),
            net={**self.net, **changes.pop("net", {})},
            seeds=changes.pop("seeds", self.seeds),
            jobs=changes.pop("jobs", self.jobs),
            sizing_records=changes.pop("sizing_records", self.sizing_records),
            backbones={},
            scales={},
        )
