"""The decoupled test of a representation (Kang et al., ICLR 2020).

:class:`DecoupledHead` trains a row's network as usual, then freezes it and
fits one and the same balanced linear head on its embedding of the training
set: a linear classifier re-trained from class-balanced batches
(:func:`skimbalance.heads.decoupling.retrain_linear_head`, cRT). Its
predictions come from that head alone, so two rows differ only in the
embedding their training produced: whether CRL's mining, CLMLE's clusters or
the uncertainty margin shape a better representation than plain
cross-entropy's, once the head is fair.

The embedding is the network's embedding layer (the input of every method's
head: the linear classifier, CLMLE's clusters and the margins' class
vectors), unnormalised, for every row alike.
"""

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from skimbalance.heads.decoupling import retrain_linear_head
from skimbalance.training.clmle import embed_in_chunks

#: Rows embedded at a time.
_CHUNK = 4096


class DecoupledHead(ClassifierMixin, BaseEstimator):
    """A library estimator's embedding, frozen, under a class-balanced linear head.

    Parameters
    ----------
    estimator : skimbalance classifier
        Trained as given (multi-class); only its embedding is used afterwards.
    epochs : int, default=10
        Epochs of the head's class-balanced re-training (Kang et al.'s).
    random_state : int, default=0
        Seed of the head's initialisation and batches.

    Attributes
    ----------
    estimator_ : skimbalance classifier
        The fitted network.
    head_ : torch.nn.Linear
        The re-trained head, embedding to class logits.
    classes_ : ndarray
        Labels, those of ``estimator_``.
    """

    def __init__(self, estimator, epochs=10, random_state=0):
        self.estimator = estimator
        self.epochs = epochs
        self.random_state = random_state

    def _embed(self, X):
        est = self.estimator_
        X = np.ascontiguousarray(est._validate_X_predict(X), dtype=np.float32)
        module = est.net_.module_
        emb = embed_in_chunks(module, X, est.net_.device, _CHUNK)
        return emb[:, 0, :].detach().double().cpu()

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(X, y)
        if self.estimator_.n_outputs_ != 1:
            raise ValueError("DecoupledHead is for a multi-class target.")
        self.classes_ = self.estimator_.classes_
        codes = torch.as_tensor(np.searchsorted(self.classes_, np.asarray(y)))
        self.head_ = retrain_linear_head(
            self._embed(X),
            codes,
            len(self.classes_),
            epochs=int(self.epochs),
            batch_size=int(self.estimator_.batch_size),
            generator=torch.Generator().manual_seed(int(self.random_state)),
        )
        return self

    def decision_function(self, X):
        check_is_fitted(self, "head_")
        with torch.no_grad():
            return self.head_(self._embed(X)).numpy()

    def predict_proba(self, X):
        return torch.softmax(torch.as_tensor(self.decision_function(X)), -1).numpy()

    def predict(self, X):
        return self.classes_[self.decision_function(X).argmax(axis=1)]
