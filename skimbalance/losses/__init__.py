"""Pure-PyTorch losses of the library (no scikit-learn or skorch imports)."""
