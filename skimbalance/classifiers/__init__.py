"""The public estimators of the library."""

from .cross_entropy import CrossEntropyClassifier

__all__ = ["CrossEntropyClassifier"]
