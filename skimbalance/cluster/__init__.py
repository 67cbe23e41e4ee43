"""Clustering of embeddings (pure PyTorch, no scikit-learn or skorch imports)."""
