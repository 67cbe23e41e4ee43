"""Benchmark harness: the papers' comparative tables on real data.

Run ``python -m benchmarks quick`` (bundled data, a few minutes on 2 cores);
``python -m benchmarks --help`` lists the profiles and options.
"""
