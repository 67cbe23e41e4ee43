"""Pure PyTorch pieces of the tabular backbone.

- :class:`QuantileNormal`: a quantile transform to a standard normal, fitted
  on the training set and stored in the module (:func:`fit_quantiles`).
- :class:`PeriodicEmbeddings`: periodic-linear-ReLU ("PLR") embeddings of
  numerical features (Gorishniy, Rubachev and Babenko, NeurIPS 2022).
- :class:`MiniEnsembleMLP`: TabM-mini's parameter-efficient ensemble of MLPs
  (Gorishniy, Kotelnikov and Babenko, ICLR 2025).
- :class:`TabularNet`: the three in a row, the module that
  :class:`skimbalance.backbones.TabularBackbone` builds.

Nothing here imports scikit-learn or skorch.
"""

from .embeddings import PeriodicEmbeddings
from .ensemble import MiniEnsembleMLP
from .network import TabularNet
from .quantile import QuantileNormal, fit_quantiles

__all__ = [
    "MiniEnsembleMLP",
    "PeriodicEmbeddings",
    "QuantileNormal",
    "TabularNet",
    "fit_quantiles",
]
