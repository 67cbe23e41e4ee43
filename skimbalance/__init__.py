"""Deep imbalanced learning as scikit-learn estimators.

Three methods for class-imbalanced data, each a scikit-learn classifier built on
PyTorch through skorch, plus the cross-entropy baseline they are measured against:

- :class:`CRLClassifier`: Class Rectification Loss with batch-wise minority hard
  mining (Dong, Gong and Zhu, ICCV 2017).
- :class:`CLMLEClassifier`: Cluster-based Large Margin Local Embedding with the
  k-nearest-cluster rule (Huang, Li, Loy and Tang, TPAMI).
- :class:`UncertaintyMarginClassifier`: MC-dropout uncertainty driving class- and
  sample-level margins (Khan et al., CVPR 2019).
- :class:`CrossEntropyClassifier`: the same network with (cost-sensitive)
  cross-entropy.

:class:`ConvNetBackbone` builds a small CNN for any of them on images given as
flat rows; :class:`TabularBackbone` (``backbone="tabular"``) a network for raw
numerical tables (quantile transform, periodic embeddings, TabM-mini
ensemble).

:func:`save_model` and :func:`load_model` save and load a fitted estimator
without pickle (weights as safetensors, the rest as JSON), and every
estimator's ``export_onnx`` writes its ``decision_function`` as an ONNX graph
for serving (see the user guide, "Saving and serving").
"""

from .backbones import ConvNetBackbone, TabularBackbone
from .classifiers import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from .persistence import load_model, save_model

__version__ = "0.1.0.dev0"

__all__ = [
    "CLMLEClassifier",
    "CRLClassifier",
    "ConvNetBackbone",
    "CrossEntropyClassifier",
    "TabularBackbone",
    "UncertaintyMarginClassifier",
    "__version__",
    "load_model",
    "save_model",
]
