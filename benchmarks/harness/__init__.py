"""The engine of the benchmark harness; it imports no wing.

:mod:`~benchmarks.harness.runner`
    runs a profile: every (experiment, seed, fold, row), resumable, then the
    report;
:mod:`~benchmarks.harness.cache`
    the cache of finished runs (``runs.jsonl``) and the config fingerprint;
:mod:`~benchmarks.harness.experiments`
    the kinds of experiment (holdout, cross-validation, measurement);
:mod:`~benchmarks.harness.measures`
    what a run records of its fitted estimator beyond its scores;
:mod:`~benchmarks.harness.methods`
    the table rows (baselines and the library's methods) and the row lists of
    Table 5 and the tabular suite;
:mod:`~benchmarks.harness.metrics`, :mod:`~benchmarks.harness.report`,
:mod:`~benchmarks.harness.plots`, :mod:`~benchmarks.harness.ablation_report`
    scores, tables, figures, and the paired-delta tables of the ablations and
    the studies;
:mod:`~benchmarks.harness.paper`
    the papers' published numbers;
:mod:`~benchmarks.harness.profile`
    the :class:`~benchmarks.harness.profile.Profile` type (with its variants
    and scales);
:mod:`~benchmarks.harness.end_to_end`
    what the end-to-end variants (``--backbone cnn``) share: the CNN at its
    CPU and GPU sizes, the rows on raw pixels;
:mod:`~benchmarks.harness.sizing`
    ``--size``: a profile's rows measured on a subsample, its wall time
    projected; ``--size-from``: the projection from recorded runs;
:mod:`benchmarks.harness.data`
    the shared data layer (cached image features, Table 5 and power-law
    protocols).
"""
