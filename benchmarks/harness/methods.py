"""The rows of the benchmark tables: baselines and methods, as estimator factories.

Every factory takes ``random_state`` and the shared network settings of the
profile (``**net``) and returns an unfitted estimator or imbalanced-learn pipeline.
All neural rows use the same backbone and training loop, so they compare like
with like; the samplers are imbalanced-learn's, as published.
"""

import numpy as np
import torch
from imblearn.over_sampling import ADASYN, SMOTE
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import (
    ClusterCentroids,
    InstanceHardnessThreshold,
    NearMiss,
    NeighbourhoodCleaningRule,
)
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

from .decoupled import DecoupledHead


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
    # Khan et al.'s other baselines (Table 5), imbalanced-learn's as published.
    "ClusterCentroids + CE": _with_sampler(
        lambda rs: ClusterCentroids(random_state=rs)
    ),
    "NCR + CE": _with_sampler(lambda rs: NeighbourhoodCleaningRule()),
    "IHT + CE": _with_sampler(lambda rs: InstanceHardnessThreshold(random_state=rs)),
    # Not neural: the network settings do not apply.
    "Cost-sensitive SVM": lambda random_state, **net: SVC(
        class_weight="balanced", random_state=random_state
    ),
    # For training sets of tens of thousands of samples, where the kernel SVM
    # costs 10+ minutes a fit: a linear SVM (hinge loss) trained by SGD.
    "Cost-sensitive linear SVM": lambda random_state, **net: SGDClassifier(
        loss="hinge", alpha=1e-3, class_weight="balanced", random_state=random_state
    ),
    "Gradient boosting (balanced)": lambda random_state, **net: (
        HistGradientBoostingClassifier(
            class_weight="balanced", random_state=random_state
        )
    ),
}


def _drw_start(net):
    """Cao et al.'s deferred re-weighting point: the last fifth of the epochs
    (their 160 of 200) is class-weighted."""
    return max(1, (4 * net.get("max_epochs", 30)) // 5)


def _long_tail(loss="cross_entropy", class_weight=None, drw=False, prior=0.0):
    def factory(random_state, **net):
        return CrossEntropyClassifier(
            loss=loss,
            class_weight=class_weight,
            class_weight_start_epoch=_drw_start(net) if drw else None,
            prior_correction=prior,
            random_state=random_state,
            **net,
        )

    return factory


#: The long-tail losses a practitioner picks today (issue 14), each on the same
#: network: logit adjustment (tau = 1, balanced softmax; Menon et al. 2021),
#: in its loss form and in its post-hoc form (plain CE, the training prior
#: subtracted from the logits at prediction), LDAM-DRW (Cao et al. 2019), focal
#: loss (Lin et al. 2017), and class-balanced (effective-number) weights, with
#: and without focal loss (Cui et al. 2019).
MODERN_BASELINES = {
    "CE (logit-adjusted)": _long_tail(loss="logit_adjusted"),
    "CE (post-hoc prior correction)": _long_tail(prior=1.0),
    "CE (LDAM-DRW)": _long_tail(loss="ldam", class_weight="effective_number", drw=True),
    "CE (focal)": _long_tail(loss="focal"),
    "CE (class-balanced)": _long_tail(class_weight="effective_number"),
    "CE (class-balanced focal)": _long_tail(
        loss="focal", class_weight="effective_number"
    ),
}
BASELINES.update(MODERN_BASELINES)

# The library's methods with their defaults (chosen by the ``defaults``
# profile, issue 13: CRL corrects the training prior at prediction, CLMLE is
# class-weighted, the uncertainty margin defers class weights past its warm-up
# and freezes its margins), then each with the paper's own setting.
METHODS = {}


def _uncertainty_margin(random_state, **net):
    """The paper's curriculum scaled to the fit: softmax, class margins, then the
    sample-level term, a third of the epochs each (the defaults, 10 / 10, at 30
    epochs; 3 / 3 at 10), the class weights starting with the margins (as the
    defaults do at 30 epochs)."""
    stage = max(1, net.get("max_epochs", 30) // 3)
    return UncertaintyMarginClassifier(
        warmup_epochs=stage,
        class_weight_start_epoch=stage,
        sample_level_epochs=stage,
        random_state=random_state,
        **net,
    )


METHODS["Uncertainty margin"] = _uncertainty_margin
METHODS["CRL(I)"] = lambda random_state, **net: CRLClassifier(
    mining="instance", random_state=random_state, **net
)
METHODS["CRL(C)"] = lambda random_state, **net: CRLClassifier(
    mining="class", random_state=random_state, **net
)
METHODS["CLMLE"] = lambda random_state, **net: CLMLEClassifier(
    random_state=random_state, **net
)
METHODS["Uncertainty margin (paper)"] = lambda random_state, **net: _uncertainty_margin(
    random_state, **net
).set_params(class_weight=None)
METHODS["CRL(I) (paper)"] = lambda random_state, **net: CRLClassifier(
    mining="instance", prior_correction=0.0, random_state=random_state, **net
)
METHODS["CLMLE (paper)"] = lambda random_state, **net: CLMLEClassifier(
    class_weight=None, random_state=random_state, **net
)
# A paper's method with a modern head: CRL whose CE term is logit-adjusted.
METHODS["CRL(I) (logit-adjusted)"] = lambda random_state, **net: CRLClassifier(
    mining="instance", loss="logit_adjusted", random_state=random_state, **net
)


def _um_with(**options):
    def factory(random_state, **net):
        stage = max(1, net.get("max_epochs", 30) // 3)
        # The settings the candidates were chosen under (the defaults before
        # issue 13), unless the candidate is about one of them.
        extra = {
            "prior_correction": 0.0,
            "class_weight": None,
            "class_weight_start_epoch": None,
            "freeze_margins": False,
            **options,
        }
        if extra.pop("deferred_weights", False):
            # Khan et al.'s margins estimated on the unweighted network, the
            # class weights switched on after the softmax warm-up.
            extra.update(class_weight="balanced", class_weight_start_epoch=stage)
        return UncertaintyMarginClassifier(
            warmup_epochs=stage,
            sample_level_epochs=stage,
            random_state=random_state,
            **extra,
            **net,
        )

    return factory


def _crl_with(**options):
    options = {"prior_correction": 0.0, **options}
    return lambda random_state, **net: CRLClassifier(
        mining="instance", random_state=random_state, **options, **net
    )


def _clmle_with(**options):
    options = {"prior_correction": 0.0, "class_weight": None, **options}
    return lambda random_state, **net: CLMLEClassifier(
        random_state=random_state, **options, **net
    )


#: Candidate configurations of each method, from which its default is chosen
#: (issue 13; the ``defaults`` profile): the paper's method as it stood, and
#: the same method with its classifier head rebalanced in each documented way.
#: Each candidate states its ``prior_correction`` (0 unless it is the one it
#: tries), so that it stays what it was when the choice was made.
#: Keys are the method's row in the tables, values ``{row: factory}``.
DEFAULT_CANDIDATES = {
    "CRL(I)": {
        "CRL(I) [paper]": _crl_with(class_weight=None, loss="cross_entropy"),
        "CRL(I) [class weights]": _crl_with(class_weight="balanced"),
        "CRL(I) [logit-adjusted CE]": _crl_with(loss="logit_adjusted"),
        "CRL(I) [post-hoc prior correction]": _crl_with(prior_correction=1.0),
    },
    "CLMLE": {
        "CLMLE [paper]": _clmle_with(class_weight=None),
        "CLMLE [class weights]": _clmle_with(class_weight="balanced"),
        "CLMLE [literal cost weights]": _clmle_with(renormalize_cost_weights=False),
        "CLMLE [post-hoc prior correction]": _clmle_with(prior_correction=1.0),
    },
    "Uncertainty margin": {
        "Uncertainty margin [paper]": _um_with(class_weight=None),
        "Uncertainty margin [class weights]": _um_with(class_weight="balanced"),
        "Uncertainty margin [deferred weights, frozen margins]": _um_with(
            deferred_weights=True, freeze_margins=True
        ),
        "Uncertainty margin [post-hoc prior correction]": _um_with(
            prior_correction=1.0
        ),
    },
}
#: The baselines every candidate is judged against (issue 13's target).
DEFAULT_REFERENCES = (
    "CE",
    "CE (cost-sensitive)",
    "SMOTE + CE",
    "CE (logit-adjusted)",
    "CE (post-hoc prior correction)",
)
CANDIDATES = {
    row: factory
    for group in DEFAULT_CANDIDATES.values()
    for row, factory in group.items()
}


class EmbeddingProbe(ClassifierMixin, BaseEstimator):
    """A network, then a class-balanced logistic regression on its embedding.

    Separates what a method does to the representation from what its
    classifier head does (issue 13): the probe reads the fitted network's
    embedding (``net_.module_.embed``, the layer under the classifier of every
    estimator of the library), so two networks compared through the same
    balanced probe differ only in the embedding they learnt.

    Parameters
    ----------
    estimator : estimator of the library
        Fitted on ``X, y`` as it is.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def _embed(self, X):
        net = self.estimator_.net_
        module = net.module_
        module.eval()
        with torch.no_grad():
            data = torch.as_tensor(np.asarray(X, dtype=np.float32), device=net.device)
            out = [module.embed(part) for part in torch.split(data, 4096)]
        return torch.cat(out).flatten(1).cpu().numpy()

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.probe_ = LogisticRegression(class_weight="balanced", max_iter=2000)
        self.probe_.fit(self._embed(X), y)
        self.classes_ = self.probe_.classes_
        return self

    def predict(self, X):
        return self.probe_.predict(self._embed(X))


def _probe(factory):
    return lambda random_state, **net: EmbeddingProbe(factory(random_state, **net))


#: The balanced linear probe on the embedding of CE and of each method's paper
#: setting (the ``defaults`` profile's cause analysis).
PROBES = {
    "CE [balanced probe]": _probe(_ce),
    "CRL(I) [paper, balanced probe]": _probe(CANDIDATES["CRL(I) [paper]"]),
    "CLMLE [paper, balanced probe]": _probe(CANDIDATES["CLMLE [paper]"]),
    "Uncertainty margin [paper, balanced probe]": _probe(
        CANDIDATES["Uncertainty margin [paper]"]
    ),
}


def _with_net(factory, epochs=1.0, **net_changes):
    """``factory`` with its network settings changed: the epochs (already
    resolved from the suite's step budget) scaled by ``epochs``, and any
    setting in ``net_changes`` replaced."""

    def varied(random_state, **net):
        net = dict(net, **net_changes)
        if epochs != 1.0:
            net["max_epochs"] = max(1, round(epochs * net.get("max_epochs", 30)))
        return factory(random_state, **net)

    return varied


#: The settings around the defaults that the ``sensitivity`` profile varies
#: (issue 13: is a method's gap to the cost-sensitive network one of training
#: length or of the network's size rather than of the method?), by the tag of
#: their rows: ``"<row> [<tag>]"``.
SENSITIVITY_SETTINGS = {
    "half the updates": dict(epochs=0.5),
    "twice the updates": dict(epochs=2.0),
    "narrow network": dict(hidden_layer_sizes=(128, 128)),
}
#: The rows the ``sensitivity`` profile varies: the cost-sensitive network
#: (the reference of each setting) and the three methods at their defaults.
SENSITIVITY_BASES = ("CE (cost-sensitive)", "CRL(I)", "CLMLE", "Uncertainty margin")
SENSITIVITY = {
    f"{row} [{tag}]": _with_net({**BASELINES, **METHODS}[row], **changes)
    for row in SENSITIVITY_BASES
    for tag, changes in SENSITIVITY_SETTINGS.items()
}


def sensitivity_rows():
    """Rows of the ``sensitivity`` profile: each base row at the defaults and
    under every setting of :data:`SENSITIVITY_SETTINGS`."""
    return (*SENSITIVITY_BASES, *SENSITIVITY)


#: The decoupled evaluation: each method's row, its embedding frozen under the
#: same class-balanced linear head (cRT), beside plain CE's
#: (:class:`~benchmarks.harness.decoupled.DecoupledHead`).
DECOUPLED_BASES = ("CE", "CRL(I)", "CLMLE", "Uncertainty margin")


def _decoupled(base):
    def factory(random_state, **net):
        return DecoupledHead(
            all_rows()[base](random_state, **net), random_state=random_state
        )

    return factory


DECOUPLED = {f"{base} [cRT head]": _decoupled(base) for base in DECOUPLED_BASES}


def decoupled_rows():
    """Rows of the ``decoupled`` profile: each base row as trained, and its
    embedding under the cRT head."""
    return (*DECOUPLED_BASES, *DECOUPLED)


def defaults_rows():
    """Rows of the ``defaults`` profile: the references, every candidate, and
    the balanced probes."""
    return (*DEFAULT_REFERENCES, *CANDIDATES, *PROBES)


def all_rows():
    """Baselines first, then the methods, in table order, then the candidates
    of the ``defaults`` profile, the rows of the ``sensitivity`` profile, the
    network rows on the tabular backbone and the decoupled rows."""
    return {
        **BASELINES,
        **METHODS,
        **CANDIDATES,
        **PROBES,
        **SENSITIVITY,
        **DECOUPLED,
        **TABULAR_BACKBONE,
    }


def make_row(name, random_state, **net):
    """A fresh estimator for the row ``name``, with a standard scaler in front."""
    estimator = all_rows()[name](random_state, **net)
    return make_pipeline(StandardScaler(), estimator)


# Khan et al.'s Table 5 rows in the paper's order, then the two cross-entropy
# networks (the like-for-like baselines) and the library's methods. The Table 5
# experiments (khan2019) and the tabular suite (tabular) both use them.
PAPER_BASELINES = (
    "Cost-sensitive SVM",
    "NearMiss + CE",
    "SMOTE + CE",
    "ADASYN + CE",
    "ClusterCentroids + CE",
    "NCR + CE",
    "IHT + CE",
)
NETWORK_BASELINES = ("CE", "CE (cost-sensitive)")
#: The strong non-neural reference of the tabular suite.
TABULAR_REFERENCE = ("Gradient boosting (balanced)",)


def table5_rows(svm="Cost-sensitive SVM"):
    """Rows of the Table 5 experiments (the methods as registered now).

    ``svm`` names the SVM row: the kernel SVM, or for training sets of tens of
    thousands of samples the linear one.
    """
    return (
        svm,
        *PAPER_BASELINES[1:],
        *NETWORK_BASELINES,
        *MODERN_BASELINES,
        *METHODS,
    )


class PriorCorrected(ClassifierMixin, BaseEstimator):
    """A classifier whose probabilities are divided by the training prior.

    The post-hoc correction of the library's ``prior_correction=1.0``
    (``p(c | x) / p(c)``, renormalised) for a peer that takes neither class
    nor sample weights (pytabkit's RealMLP and TabM): its decision is then
    the balanced one.

    Parameters
    ----------
    estimator : classifier
        Fitted on ``X, y`` as it is.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        counts = np.array([np.sum(np.asarray(y) == c) for c in self.classes_])
        self.prior_ = counts / counts.sum()
        return self

    def predict_proba(self, X):
        proba = self.estimator_.predict_proba(X) / self.prior_
        return proba / proba.sum(1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _balanced_random_forest(random_state, **net):
    from imblearn.ensemble import BalancedRandomForestClassifier

    return BalancedRandomForestClassifier(
        n_estimators=300, n_jobs=1, random_state=random_state
    )


def _pytabkit(name, prior_corrected=False):
    """pytabkit's tuned-default RealMLP or TabM, trained from scratch on one
    CPU thread (it takes neither class nor sample weights: the prior-corrected
    row divides its probabilities by the training prior)."""

    def factory(random_state, **net):
        import pytabkit

        estimator = getattr(pytabkit, name)(
            device="cpu", n_threads=1, random_state=random_state, verbosity=0
        )
        return PriorCorrected(estimator) if prior_corrected else estimator

    return factory


#: The tabular peers a practitioner measures a network against:
#: imbalanced-learn's balanced random forest, and pytabkit's RealMLP
#: (Holzmüller et al. 2024) and TabM (Gorishniy et al. 2025) at their tuned
#: defaults, as published and with the training prior divided out.
#: (Gradient boosting with balanced class weights is :data:`BASELINES`'.)
TABULAR_PEERS = {
    "Balanced random forest": _balanced_random_forest,
    "RealMLP (pytabkit)": _pytabkit("RealMLP_TD_Classifier"),
    "RealMLP (pytabkit, prior-corrected)": _pytabkit(
        "RealMLP_TD_Classifier", prior_corrected=True
    ),
    "TabM (pytabkit)": _pytabkit("TabM_D_Classifier"),
    "TabM (pytabkit, prior-corrected)": _pytabkit(
        "TabM_D_Classifier", prior_corrected=True
    ),
}
BASELINES.update(TABULAR_PEERS)

#: The rows of the network baselines and the methods (at their defaults) that
#: the tabular suite also runs on the tabular backbone
#: (``backbone="tabular"``), as ``"<row> [tabular]"``.
TABULAR_BACKBONE_BASES = (
    "CE",
    "CE (cost-sensitive)",
    "CE (logit-adjusted)",
    "CE (post-hoc prior correction)",
    "CRL(I)",
    "CLMLE",
    "Uncertainty margin",
)
TABULAR_BACKBONE = {
    f"{row} [tabular]": _with_net({**BASELINES, **METHODS}[row], backbone="tabular")
    for row in TABULAR_BACKBONE_BASES
}


def tabular_rows():
    """Rows of the tabular suite: Table 5's, gradient boosting, the tabular
    peers, and the network rows on the tabular backbone."""
    return (*table5_rows(), *TABULAR_REFERENCE, *TABULAR_PEERS, *TABULAR_BACKBONE)


#: The tabular peers and tabular-backbone rows of ``quick``, whose runs stay in
#: minutes: the forest, RealMLP, and the cost-sensitive network on the tabular
#: backbone (TabM's fits take minutes each on 2 cores; ``full`` runs them all).
QUICK_TABULAR_EXTRA = (
    "Balanced random forest",
    "RealMLP (pytabkit)",
    "CE (cost-sensitive) [tabular]",
)


def quick_tabular_rows():
    """Rows of ``quick``'s tabular suite: Table 5's, gradient boosting and
    :data:`QUICK_TABULAR_EXTRA`."""
    return (*table5_rows(), *TABULAR_REFERENCE, *QUICK_TABULAR_EXTRA)
