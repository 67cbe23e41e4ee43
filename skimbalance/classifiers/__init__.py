"""The public estimators of the library."""

from .clmle import CLMLEClassifier
from .crl import CRLClassifier
from .cross_entropy import CrossEntropyClassifier
from .uncertainty_margin import UncertaintyMarginClassifier

__all__ = [
    "CLMLEClassifier",
    "CRLClassifier",
    "CrossEntropyClassifier",
    "UncertaintyMarginClassifier",
]
