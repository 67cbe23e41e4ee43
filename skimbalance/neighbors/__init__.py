"""Nearest-neighbour rules over learned embeddings."""
