"""The "Triplet+" baseline of Huang et al.'s Table 8: triplet loss with
over-sampling and cost sensitivity.

Huang et al. (TPAMI 2019) describe the row in one line: "triplet loss [FaceNet]
with over-sampling and cost sensitivity". The paper gives no further detail;
this benchmark builds it from the library's parts, with the same backbone and
training loop as every other row:

- over-sampling: imbalanced-learn's :class:`~imblearn.over_sampling.RandomOverSampler`
  raises every class below ``oversampling_ratio`` (default one half) of the
  largest class to that size, by drawing copies of its samples. Minority
  classes then have several samples in most batches, which the triplet term
  needs (an anchor without a positive forms no triplet);
- cost sensitivity: ``class_weight="balanced"`` on the over-sampled set, so
  the classes that remain smaller than the largest weigh as much in total, in
  the cross-entropy and in the triplet term (each anchor's term carries its
  class weight). Over-sampling every class to the largest size would make the
  balanced weights all 1, i.e. the cost sensitivity a no-op; stopping at one
  half keeps both ingredients of the row active and halves the over-sampled
  set (33,000 instead of 60,000 samples on the 10 classes of Fashion-MNIST);
- triplet loss: :func:`benchmarks.baselines.triplet_loss.batch_hard_triplet_loss` on the
  L2-normalised embedding (FaceNet's squared distances and margin 0.2), added
  to the cross-entropy that trains the classifier the predictions come from.

It is a benchmark baseline, not part of the library's API.
"""

import math
import numbers
from functools import partial

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.utils._param_validation import Interval
from torch import nn

from skimbalance.base import BaseDeepClassifier
from skimbalance.losses.cross_entropy import weighted_cross_entropy

from .triplet_loss import batch_hard_triplet_loss

#: The row's name in the tables.
TRIPLET_PLUS = "Triplet+"


class TripletCriterion(nn.Module):
    """``weighted cross-entropy + triplet_weight * batch-hard triplet loss``.

    Called as ``criterion(y_pred, y_true, batch)`` (the library's criterion
    protocol) with ``y_pred = (logits (B, T, C), embedding (B, T, D), ...)``.
    The triplet term is computed per task on that task's embedding, each
    anchor weighted by its ``sample_weight`` (sample times class weight), and
    averaged over the tasks that have a triplet in the batch.

    Parameters
    ----------
    margin : float
        Triplet margin.
    triplet_weight : float
        Weight of the triplet term; 0 trains with cross-entropy alone.
    normalize : bool
        Distances between L2-normalised embeddings.

    References
    ----------
    .. [1] F. Schroff, D. Kalenichenko and J. Philbin, "FaceNet: A Unified
       Embedding for Face Recognition and Clustering", CVPR 2015.
    .. [2] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI 2019, Table 8.

    Examples
    --------
    >>> import torch
    >>> from benchmarks.baselines.triplet import TripletCriterion
    >>> crit = TripletCriterion(margin=0.2, triplet_weight=1.0, normalize=True)
    >>> logits, emb = torch.zeros(4, 1, 2), torch.randn(4, 1, 3)
    >>> loss, logs = crit((logits, emb), torch.tensor([[0], [0], [1], [1]]), {})
    >>> sorted(logs), logs["triplets"]
    (['ce_loss', 'triplet_loss', 'triplets'], 4.0)
    """

    def __init__(self, margin, triplet_weight, normalize):
        super().__init__()
        self.margin = margin
        self.triplet_weight = triplet_weight
        self.normalize = normalize

    def forward(self, y_pred, y_true, batch):
        logits, embedding = y_pred[0], y_pred[1]
        weight = batch.get("sample_weight")
        ce = weighted_cross_entropy(logits, y_true, weight)
        terms, n_triplets = [], 0
        if self.triplet_weight > 0:
            for task in range(y_true.shape[1]):  # a handful of tasks at most
                term, n = batch_hard_triplet_loss(
                    embedding[:, task],
                    y_true[:, task],
                    margin=self.margin,
                    weight=None if weight is None else weight[:, task],
                    normalize=self.normalize,
                )
                if n:
                    terms.append(term)
                    n_triplets += n
        triplet = sum(terms) / len(terms) if terms else ce.new_zeros(())
        loss = ce + self.triplet_weight * triplet
        if not self.training:
            return loss
        logs = {
            "ce_loss": ce.detach(),
            "triplet_loss": triplet.detach(),
            "triplets": float(n_triplets),
        }
        return loss, logs


class TripletClassifier(BaseDeepClassifier):
    """Network trained with cross-entropy plus a batch-hard triplet loss.

    The network, its training loop and its predictions (the softmax of the
    classifier head) are the library's
    (:class:`skimbalance.base.BaseDeepClassifier`); the loss adds, to the
    weighted cross-entropy, ``triplet_weight`` times the batch-hard triplet
    loss (:func:`benchmarks.baselines.triplet_loss.batch_hard_triplet_loss`) on the
    embedding layer. Behind a random over-sampler and with
    ``class_weight="balanced"`` it is the "Triplet+" row of Huang et al.'s
    Table 8 (see :func:`triplet_plus`).

    Parameters
    ----------
    margin : float, default=0.2
        Triplet margin on squared distances (FaceNet's 0.2).
    triplet_weight : float, default=1.0
        Weight of the triplet term.
    normalize : bool, default=True
        Distances between L2-normalised embeddings (FaceNet's hypersphere).
    **kwargs
        The shared parameters of :class:`skimbalance.CrossEntropyClassifier`
        (``hidden_layer_sizes``, ``backbone``, ``input_shape``, ``max_epochs``,
        ``class_weight``, ``device``, ``random_state`` …), with the same defaults.

    References
    ----------
    .. [1] F. Schroff, D. Kalenichenko and J. Philbin, "FaceNet: A Unified
       Embedding for Face Recognition and Clustering", CVPR 2015.
    .. [2] A. Hermans, L. Beyer and B. Leibe, "In Defense of the Triplet Loss
       for Person Re-Identification", arXiv:1703.07737, 2017.
    .. [3] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI 2019, Table 8.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from benchmarks.baselines.triplet import TripletClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = TripletClassifier(hidden_layer_sizes=(64,), max_epochs=20,
    ...                         device="cpu", random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseDeepClassifier._parameter_constraints,
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "triplet_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "normalize": ["boolean"],
    }

    def __init__(
        self,
        *,
        margin=0.2,
        triplet_weight=1.0,
        normalize=True,
        hidden_layer_sizes=(512, 512),
        dropout=0.5,
        embedding_dim=64,
        backbone=None,
        input_shape=None,
        max_epochs=30,
        batch_size=128,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adam",
        class_weight=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        device="auto",
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
        self.margin = margin
        self.triplet_weight = triplet_weight
        self.normalize = normalize
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            dropout=dropout,
            embedding_dim=embedding_dim,
            backbone=backbone,
            input_shape=input_shape,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            optimizer=optimizer,
            class_weight=class_weight,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            callbacks=callbacks,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
        )

    def _build_criterion(self, ctx):
        return TripletCriterion(
            float(self.margin), float(self.triplet_weight), bool(self.normalize)
        )


def oversampling_targets(y, ratio=0.5):
    """Target size of each class: at least ``ceil(ratio * largest class)``.

    A ``sampling_strategy`` for :class:`~imblearn.over_sampling.RandomOverSampler`
    (which only adds samples: classes already larger keep their size).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    ratio : float, default=0.5
        Fraction of the largest class every class is raised to, in (0, 1].

    Returns
    -------
    targets : dict
        ``{label: size}`` of the classes to over-sample.

    Examples
    --------
    >>> from benchmarks.baselines.triplet import oversampling_targets
    >>> oversampling_targets([0] * 10 + [1] * 2 + [2] * 7, ratio=0.5)
    {1: 5}
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be in (0, 1], got {ratio!r}.")
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    target = math.ceil(ratio * counts.max())
    return {
        label.item(): int(target)
        for label, count in zip(labels, counts, strict=True)
        if count < target
    }


def triplet_plus(random_state, oversampling_ratio=0.5, **net):
    """The "Triplet+" row: random over-sampling, then a cost-sensitive triplet network.

    Parameters
    ----------
    random_state : int
        Seed of the over-sampler and of the network.
    oversampling_ratio : float, default=0.5
        Every class is over-sampled to at least this fraction of the largest.
    **net
        Network settings of :class:`TripletClassifier`.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI 2019, Table 8.

    Examples
    --------
    >>> from benchmarks.baselines.triplet import triplet_plus
    >>> [name for name, _ in triplet_plus(0, max_epochs=1).steps]
    ['randomoversampler', 'tripletclassifier']
    """
    sampler = RandomOverSampler(
        sampling_strategy=partial(oversampling_targets, ratio=oversampling_ratio),
        random_state=random_state,
    )
    network = TripletClassifier(
        class_weight="balanced", random_state=random_state, **net
    )
    return make_pipeline(sampler, network)
