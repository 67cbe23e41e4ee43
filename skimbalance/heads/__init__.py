"""Classifier heads and their re-balancing (pure PyTorch, no scikit-learn or skorch imports)."""
