"""Speed measurements of the library's methods against cross-entropy.

``python -m benchmarks.speed.crl``, ``python -m benchmarks.speed.clmle`` and
``python -m benchmarks.speed.uncertainty_margin`` write their tables under
``benchmarks/results/``; :mod:`~benchmarks.speed.common` holds what they share.
"""
