"""Optimizers (pure PyTorch, no scikit-learn or skorch imports)."""
