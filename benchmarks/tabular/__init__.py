"""The tabular suite: KEEL data sets and bundled stand-ins.

:mod:`~benchmarks.tabular.keel`
    the data sets, their loaders, and the cross-validated experiments of the
    ``quick`` and ``full`` profiles;
:mod:`~benchmarks.tabular.sensitivity`
    the ``sensitivity`` profile;
:mod:`~benchmarks.tabular.minority_batches`
    the ``crl_minority_batches`` profile: how often CRL's minority rule fires.
"""
