"""Benchmark harness: the papers' comparative tables on real data.

Run ``python -m benchmarks quick`` (bundled data, a few minutes on 2 cores)
from a clone of the repository; ``python -m benchmarks --help`` lists the
profiles and options. The harness is not installed by the wheel (which holds
the library ``skimbalance`` only).

Layout: one wing per concern, the engine underneath.

``harness/``
    The engine: runner, cache, experiments, the table rows (``methods``),
    metrics, report, plots, the papers' published numbers (``paper``), the
    ablation report, the ``Profile`` type, and the shared data layer
    ``harness/data/`` (cached image features; the Table 5 and power-law
    protocols).
``khan2019/``, ``huang2019/``, ``dong2017/``
    Each paper's tables and ablations, as profiles.
``tabular/``
    The KEEL suite and its bundled stand-in.
``baselines/``
    Extra rows (Triplet+), a row library for the paper wings.
``speed/``
    Speed measurements, ``python -m benchmarks.speed.crl`` and so on.
``__main__``
    The command line and the registry of profiles: it gathers each wing's
    ``PROFILES`` and assembles ``quick`` and ``full`` from Khan et al.'s
    Table 5 experiments and the tabular suite.

Imports run one way (``tests/benchmarks/test_layout.py`` checks it): the
engine imports no wing; a paper's wing (``khan2019``, ``huang2019``,
``dong2017``, ``tabular``) imports the engine and no other wing, except the
row library ``baselines``, which imports only the engine; ``speed`` imports
only the engine; only ``__main__`` imports the wings.
"""
