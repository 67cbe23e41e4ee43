"""Pure-PyTorch losses of the library (no scikit-learn or skorch imports).

The cross-entropy term's losses can be given to
:class:`~skimbalance.CrossEntropyClassifier` and
:class:`~skimbalance.CRLClassifier` as ``loss=`` objects carrying their own
parameters, e.g. ``loss=FocalLoss(gamma=1.0)`` or ``loss=LDAMLoss(max_margin=0.3)``
or ``loss=VSLoss(gamma=0.3)`` (the strings ``"focal"``, ``"logit_adjusted"``,
``"ldam"``, ``"vs"`` are the same losses
at their defaults).
"""

from .cross_entropy import WeightedCrossEntropy
from .focal import FocalLoss
from .ldam import LDAMLoss
from .logit_adjusted import LogitAdjustedLoss
from .vector_scaling import VSLoss

__all__ = [
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "VSLoss",
    "WeightedCrossEntropy",
]
