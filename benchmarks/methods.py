"""The rows of the benchmark tables: baselines and methods, as estimator factories.

Every factory takes ``random_state`` and the shared network settings of the
profile (``**net``) and returns an unfitted estimator or imbalanced-learn pipeline.
All neural rows use the same backbone and training loop, so they compare like
with like; the samplers are imbalanced-learn's, as published.
"""

from imblearn.over_sampling import ADASYN, SMOTE
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import NearMiss
from sklearn.preprocessing import StandardScaler

from skimbalance import CrossEntropyClassifier


def _ce(random_state, **net):
    return CrossEntropyClassifier(random_state=random_state, **net)


def _with_sampler(sampler):
    def factory(random_state, **net):
        return make_pipeline(sampler(random_state), _ce(random_state, **net))

    return factory


BASELINES = {
    "CE": _ce,
    "CE (cost-sensitive)": lambda random_state, **net: CrossEntropyClassifier(
        class_weight="balanced", random_state=random_state, **net
    ),
    "SMOTE + CE": _with_sampler(lambda rs: SMOTE(random_state=rs)),
    "ADASYN + CE": _with_sampler(lambda rs: ADASYN(random_state=rs)),
    "NearMiss + CE": _with_sampler(lambda rs: NearMiss()),
}

# The library's methods, each with the settings recommended for tabular data.
METHODS = {}


def all_rows():
    """Baselines first, then the methods, in table order."""
    return {**BASELINES, **METHODS}


def make_row(name, random_state, **net):
    """A fresh estimator for the row ``name``, with a standard scaler in front."""
    estimator = all_rows()[name](random_state, **net)
    return make_pipeline(StandardScaler(), estimator)
