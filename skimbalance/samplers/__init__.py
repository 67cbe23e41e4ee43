"""Batch samplers (pure NumPy/PyTorch, no scikit-learn or skorch imports)."""
