"""Imbalance protocols of the papers, as functions on any labelled data set."""

from ._protocols import keep_fraction_of_classes, power_law_class_sizes

__all__ = ["keep_fraction_of_classes", "power_law_class_sizes"]
