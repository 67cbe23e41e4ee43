"""Data sets and the papers' imbalance protocols.

Loaders of the real data the benchmarks use (each looks on disk first, then in
the offline packages that ship it, then downloads from the official source) and
the imbalance protocols of the papers, as functions on any labelled data set.
"""

from ._fashion_mnist import fetch_fashion_mnist
from ._home import DatasetNotFoundError, get_data_home
from ._keel import fetch_keel
from ._mnist import fetch_mnist
from ._protocols import keep_fraction_of_classes, power_law_class_sizes
from ._yeast import fetch_yeast_multilabel

__all__ = [
    "DatasetNotFoundError",
    "fetch_fashion_mnist",
    "fetch_keel",
    "fetch_mnist",
    "fetch_yeast_multilabel",
    "get_data_home",
    "keep_fraction_of_classes",
    "power_law_class_sizes",
]
