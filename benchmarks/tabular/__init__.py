"""The tabular suite: KEEL data sets and bundled stand-ins.

:mod:`~benchmarks.tabular.keel`
    the data sets, their loaders, and the cross-validated experiments of the
    ``quick`` and ``full`` profiles.
"""
