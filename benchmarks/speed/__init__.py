"""Speed measurements of the library's methods against cross-entropy.

``python -m benchmarks.speed.crl``, ``python -m benchmarks.speed.clmle`` and
``python -m benchmarks.speed.uncertainty_margin`` write their tables under
``benchmarks/results/``; :mod:`~benchmarks.speed.common` holds what they share.
``python -m benchmarks.speed.cnn`` measures the CNN backbone
(:class:`skimbalance.ConvNetBackbone`): updates per second by width, threads,
memory layout and oneDNN, and each method's per-step cost against a plain
PyTorch loop.
"""
