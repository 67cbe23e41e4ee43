"""Cluster-based Large Margin Local Embedding (Huang et al., TPAMI) as an estimator.

Layout: the method's reusable parts live in their own modules (the equal-size
clustering in :mod:`skimbalance.cluster`, the loss in :mod:`skimbalance.losses`,
the cluster-based batches in :mod:`skimbalance.samplers`, the k-nearest-cluster
rule in :mod:`skimbalance.neighbors`). This module holds the estimator and the
private training plumbing that ties them together for it: the criterion, the
warm-up/cluster batch switch and the clustering schedule callback, which share
mutable state (stage, assignments, samplers) and are pickled with a fitted net.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._warnings import warn_once
from ..base import TRAINING_OPTION_CONSTRAINTS, BaseDeepClassifier, torch_threads
from ..cluster.equal_size_spherical_kmeans import cluster_by_class
from ..losses.clmle import default_clmle_margins
from ..neighbors.k_nearest_cluster import KNearestClusterRule
from ..training.clmle import (
    PREDICT_CHUNK,
    CLMLECriterion,
    ClusterSchedule,
    PhaseBatchSampler,
    cluster_round_epochs,
    embed_in_chunks,
)
from ._docs import (
    SHARED_ATTRIBUTES_DOC,
    SHARED_PARAMETERS_DOC,
    training_options_doc,
    with_default,
)

_CLMLE_SHARED_PARAMETERS_DOC = with_default(
    SHARED_PARAMETERS_DOC,
    "class_weight",
    'dict, list of dict, "balanced", "effective_number", EffectiveNumberWeights '
    'or None, default="balanced"',
    """        The default, ``"balanced"``, is this method's recommended setting for
        imbalanced data, chosen on the KEEL suite and the feature sets (see the
        user guide, "Results, and how the defaults were chosen"): it weights
        the cross-entropy warm-up and the CLMLE loss and shifts the
        k-nearest-cluster decision by ``log(w_c) / scale``.
        ``class_weight=None`` is the paper's method as published (whose own
        cost-sensitive weighting, ``cost_sensitive=True``, stays on).""",
)


_CLMLE_OPTIONS_DOC = training_options_doc(
    "0.0",
    """
        The default, 0, because this method's default ``class_weight=
        "balanced"`` already re-balances the training (``"auto"`` gives 0 with
        a ``class_weight`` too); with ``class_weight=None`` (the paper's
        method), ``prior_correction=1`` or ``"auto"`` corrects the training
        prior at prediction.""",
)


class CLMLEClassifier(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseDeepClassifier
):
    __doc__ = f"""Cluster-based Large Margin Local Embedding (Huang et al., TPAMI).

    Learns an embedding ``f(x)`` on the unit hypersphere in which every class
    is a set of equal-size clusters kept apart by angular margins, and
    predicts with the k-nearest-cluster rule:

    1. ``warmup_epochs`` of cross-entropy give the initial embedding (the
       paper's "prior features");
    2. the remaining epochs are split into ``n_cluster_rounds`` rounds; each
       starts by embedding the whole training set and clustering every class
       into clusters of ``cluster_size`` points (spherical k-means with equal
       sizes, Eqs. 6-7);
    3. training batches are cluster-based (Sec. 3.3): a class drawn
       uniformly, its cluster with the highest cached loss as the query, its
       ``n_clusters_per_batch - 1`` nearest clusters (of its own and of other
       classes), ``samples_per_cluster`` samples from each;
    4. the loss is Eq. 9: each sample is pulled to its cluster's in-batch
       centroid and pushed from the other classes' clusters by
       ``margin_between`` and from its own class's other clusters by
       ``margin_within``, each sample's loss scaled by the inverse frequency
       of its class in the batch (``cost_sensitive``);
    5. after training the training set is clustered once more on the final
       embedding (each round starting from the previous round's centroids)
       and a query is labelled by Eq. 10 over its
       ``n_neighbor_clusters`` nearest centroids.

    A multi-label target gets one embedding, one set of clusters and one
    k-nearest-cluster rule per label; each batch is built from one label's
    clusters (drawn uniformly) and the loss is applied to every label.

    Parameters
    ----------
    cluster_size : int, default=200
        ``l``, points per cluster; a class of ``L_c`` points gets
        ``max(1, floor(L_c / l))`` clusters (the paper's 200). Much smaller
        clusters split every class into hundreds of fragments and lose
        accuracy (see the user guide).
    n_clusters_per_batch : int, default=12
        ``M``, clusters per batch (the paper's 12).
    samples_per_cluster : int, default=20
        Samples drawn from each cluster of a batch (the paper's 20 of 200;
        all members of a smaller cluster). With the defaults a batch holds
        up to 240 samples, as in the paper.
    margin_between : float or "auto", default="auto"
        ``a_1``, between-class margin in cosine units. ``"auto"``: the
        paper's upper bound ``1 - cos(2 pi / C)``.
    margin_within : float or "auto", default="auto"
        ``a_2``, within-class margin. ``"auto"``: per class, half of the
        paper's bound ``1 - cos(min(2 pi L_c / L, pi))`` capped at ``a_1``.
    scale : float, default=32.0
        Inverse temperature ``s`` of the loss's log-sum-exp,
        ``(1/s) log sum_k exp(s f^T mu_k)``. ``scale=1`` is Eq. 9 exactly as
        printed; it trains poorly (the log-sum-exp of cosines barely separates
        the clusters, see the user guide), larger values make the hinge
        compare with the nearest other clusters.
    n_neighbor_clusters : int, default=2
        ``N`` of the k-nearest-cluster rule. With ``N = 2`` the predicted class
        is the nearest cluster's; larger ``N`` favours
        the classes with many clusters around the query (the paper searches
        ``N`` in 20 to 200 with hundreds of clusters per class).
    warmup_epochs : int, default=5
        Epochs of cross-entropy training before the first clustering. With
        ``max_epochs <= warmup_epochs`` the CLMLE loss is never applied (a
        ``UserWarning`` says so, once per configuration).
    n_cluster_rounds : int, default=5
        Number of clustering rounds after the warm-up (the paper's "about 5
        alternation rounds"), spread evenly over the remaining epochs.
    cluster_sampling : {{"hardest", "uniform"}}, default="hardest"
        Query cluster of the drawn class: the one with the highest cached
        mean loss (the paper), or uniform (its ablation).
    cost_sensitive : bool, default=True
        Scale each sample's loss by the inverse frequency of its class in
        the batch (the paper); ``False`` for the ablation.
    renormalize_cost_weights : bool, default=True
        Divide the cost-sensitive weights by their sum, so that a batch's
        loss is the mean over its classes of their mean sample loss.
        ``False``: the literal weights ``B / n_c`` of Sec. 3.3 with Eq. 9's
        ``1 / (Ml)``, the *sum* over the classes of the batch, whose scale
        changes with the number of classes in the batch (see the user guide).
    normalize_centroids : bool, default=True
        Unit-norm in-batch centroids in the loss. ``False``: the plain
        in-batch mean ``sum_i f_i / 20`` that Sec. 3.3 writes (see the user
        guide).
    cluster_assignment : {{"deferred_acceptance", "auction"}}, default="deferred_acceptance"
        Assignment step of the equal-size spherical k-means.
        ``"deferred_acceptance"``: a stable matching, fast but a few percent
        below the optimum of Eq. 6 for the current centroids. ``"auction"``:
        the optimal capacitated assignment (to within ``1e-9`` per point),
        tens of times slower (see the user guide).
    knc_algorithm : {{"torch", "kd_tree", "ball_tree", "brute"}}, default="torch"
        Nearest-centroid search of the k-nearest-cluster rule.
{_CLMLE_SHARED_PARAMETERS_DOC}{_CLMLE_OPTIONS_DOC}
    Attributes
    ----------
    centroids_ : ndarray of shape (n_clusters, embedding_dim), or a list of one per label
        Unit-norm cluster centroids of the final embedding of the training set.
    cluster_labels_ : ndarray of shape (n_clusters,), or a list of one per label
        Class of every centroid (labels from ``classes_``; 0/1 per label for
        multi-label).
    cluster_sizes_ : ndarray of shape (n_clusters,), or a list of one per label
        Number of training points in every cluster.
    margin_between_ : float or ndarray of shape (n_labels,)
        ``a_1`` used.
    margin_within_ : ndarray of shape (n_classes,) or (n_labels, 2)
        ``a_2`` used, per class.
{SHARED_ATTRIBUTES_DOC}
    See Also
    --------
    CrossEntropyClassifier : the same network with plain cross-entropy.

    Notes
    -----
    Predictions come from the k-nearest-cluster rule, not from the logits
    (which only serve the warm-up). ``decision_function`` gives the rule's
    per-class scores: Eq. 10's log-ratio, extended with each class's nearest
    cluster where the ratio is 0 or infinite, so that the scores rank every
    query (see the user guide); ``predict_proba`` is their softmax and its
    arg-max is Eq. 10's prediction.
    ``transform`` returns the learned unit-norm embedding. ``early_stopping``
    is not supported: the training loss changes with every clustering round.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI, 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skimbalance import CLMLEClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CLMLEClassifier(hidden_layer_sizes=(64,), max_epochs=15,
    ...                       warmup_epochs=3, n_cluster_rounds=2, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    >>> clf.transform(X[:2] / 16).shape
    (2, 64)
    """

    _warm_start_error = (
        "its cluster schedule (warm-up, clustering rounds, final "
        "clustering) is planned over one fit's max_epochs, and a "
        "continued fit would restart it from the warm-up on a network "
        "past it."
    )
    _head_retraining_error = (
        "CLMLE predicts with the k-nearest-cluster rule on its embedding, "
        "not with a linear head. To compare it with a balanced linear head, "
        "re-train one on transform(X) with "
        "skimbalance.heads.decoupling.retrain_linear_head."
    )

    _parameter_constraints: dict = {
        **BaseDeepClassifier._parameter_constraints,
        **TRAINING_OPTION_CONSTRAINTS,
        "cluster_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_clusters_per_batch": [Interval(numbers.Integral, 2, None, closed="left")],
        "samples_per_cluster": [Interval(numbers.Integral, 1, None, closed="left")],
        "margin_between": [
            Interval(numbers.Real, 0, 2, closed="both"),
            StrOptions({"auto"}),
        ],
        "margin_within": [
            Interval(numbers.Real, 0, 2, closed="both"),
            StrOptions({"auto"}),
        ],
        "scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_neighbor_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_cluster_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "cluster_sampling": [StrOptions({"hardest", "uniform"})],
        "cost_sensitive": ["boolean"],
        "renormalize_cost_weights": ["boolean"],
        "normalize_centroids": ["boolean"],
        "cluster_assignment": [StrOptions({"auction", "deferred_acceptance"})],
        "knc_algorithm": [StrOptions({"torch", "kd_tree", "ball_tree", "brute"})],
    }

    def __init__(
        self,
        *,
        cluster_size=200,
        n_clusters_per_batch=12,
        samples_per_cluster=20,
        margin_between="auto",
        margin_within="auto",
        scale=32.0,
        n_neighbor_clusters=2,
        warmup_epochs=5,
        n_cluster_rounds=5,
        cluster_sampling="hardest",
        cost_sensitive=True,
        renormalize_cost_weights=True,
        normalize_centroids=True,
        cluster_assignment="deferred_acceptance",
        knc_algorithm="torch",
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
        class_weight="balanced",
        class_weight_start_epoch=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        scoring=None,
        warm_start=False,
        optimizer_params=None,
        prior_correction=0.0,
        target_prior="uniform",
        head_retraining=None,
        head_retraining_epochs=10,
        tau_normalization=0.0,
        callbacks=None,
        device="auto",
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
        self.cluster_size = cluster_size
        self.n_clusters_per_batch = n_clusters_per_batch
        self.samples_per_cluster = samples_per_cluster
        self.margin_between = margin_between
        self.margin_within = margin_within
        self.scale = scale
        self.n_neighbor_clusters = n_neighbor_clusters
        self.warmup_epochs = warmup_epochs
        self.n_cluster_rounds = n_cluster_rounds
        self.cluster_sampling = cluster_sampling
        self.cost_sensitive = cost_sensitive
        self.renormalize_cost_weights = renormalize_cost_weights
        self.normalize_centroids = normalize_centroids
        self.cluster_assignment = cluster_assignment
        self.knc_algorithm = knc_algorithm
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
            class_weight_start_epoch=class_weight_start_epoch,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            scoring=scoring,
            warm_start=warm_start,
            optimizer_params=optimizer_params,
            prior_correction=prior_correction,
            target_prior=target_prior,
            head_retraining=head_retraining,
            head_retraining_epochs=head_retraining_epochs,
            tau_normalization=tau_normalization,
            callbacks=callbacks,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
        )

    # ---------------------------------------------------------------- hooks
    def _margins(self, ctx):
        """``a_1`` (n_tasks,) and ``a_2`` (n_tasks, n_classes), float64."""
        a1 = np.zeros(ctx.n_tasks)
        a2 = np.zeros((ctx.n_tasks, ctx.n_classes))
        for t in range(ctx.n_tasks):
            auto1, auto2 = default_clmle_margins(np.maximum(ctx.class_counts[t], 0))
            a1[t] = auto1 if self.margin_between == "auto" else self.margin_between
            a2[t] = (
                auto2.numpy() if self.margin_within == "auto" else self.margin_within
            )
        return a1, a2

    def _build_criterion(self, ctx):
        a1, a2 = self._margins(ctx)
        self._fit_margins = (a1, a2)
        return CLMLECriterion(
            torch.as_tensor(a1, dtype=torch.float32),
            torch.as_tensor(a2, dtype=torch.float32),
            scale=float(self.scale),
            cost_sensitive=bool(self.cost_sensitive),
            normalize_centroids=bool(self.normalize_centroids),
            renormalize_cost_weights=bool(self.renormalize_cost_weights),
        )

    def _embed_batch_size(self):
        return max(int(self.batch_size), 1024)

    def _build_callbacks(self, ctx):
        if int(self.max_epochs) <= int(self.warmup_epochs):
            warn_once(
                self,
                f"CLMLEClassifier(max_epochs={self.max_epochs}, "
                f"warmup_epochs={self.warmup_epochs}): max_epochs <= warmup_epochs, "
                "so training ends within the cross-entropy warm-up and the CLMLE "
                "loss is never applied (no clustering round, no cluster-based "
                "batches); only the k-nearest-cluster rule is fitted, on the "
                "cross-entropy embedding. Set max_epochs > warmup_epochs (e.g. "
                f"max_epochs={int(self.warmup_epochs) + int(self.n_cluster_rounds)}"
                " or more) or lower warmup_epochs. (Issued once per configuration "
                "in this process.)",
                UserWarning,
                stacklevel=4,
            )
        self._batches = PhaseBatchSampler(
            ctx.X.shape[0], int(self.batch_size), random_state=ctx.seed
        )
        schedule = ClusterSchedule(
            ctx.X,
            ctx.y,
            self._batches,
            cluster_round_epochs(
                int(self.max_epochs),
                int(self.warmup_epochs),
                int(self.n_cluster_rounds),
            ),
            cluster_size=int(self.cluster_size),
            n_clusters_per_batch=int(self.n_clusters_per_batch),
            samples_per_cluster=int(self.samples_per_cluster),
            cluster_sampling=self.cluster_sampling,
            seed=int(ctx.seed),
            batch_size=self._embed_batch_size(),
            assignment=self.cluster_assignment,
        )
        return [("cluster_schedule", schedule)]

    def _net_kwargs(self, ctx):
        if self.early_stopping:
            raise ValueError(
                "CLMLEClassifier does not support early_stopping=True: its training "
                "loss changes with every clustering round, so a validation loss is "
                "not comparable across epochs. Set early_stopping=False."
            )
        return {"train_batch_sampler": self._batches}

    def _on_fit_end(self, ctx):
        module = self.net_.module_
        schedule = dict(self.net_.callbacks_)["cluster_schedule"]
        previous = schedule.last_sets_ or [None] * ctx.n_tasks
        schedule.last_sets_ = None
        emb = embed_in_chunks(module, ctx.X, self.net_.device, self._embed_batch_size())
        labels = torch.as_tensor(ctx.y, device=emb.device)
        gen = torch.Generator().manual_seed(int(ctx.seed) + 1)
        centroids, cluster_labels, sizes, rules = [], [], [], []
        for t in range(ctx.n_tasks):
            cs = cluster_by_class(
                emb[:, t],
                labels[:, t],
                int(self.cluster_size),
                random_state=gen,
                previous=previous[t],
                assignment=self.cluster_assignment,
            )
            c = cs.centroids.detach().cpu()
            codes = cs.cluster_labels.detach().cpu()
            rules.append(
                KNearestClusterRule(
                    int(self.n_neighbor_clusters), algorithm=self.knc_algorithm
                ).fit(c, codes, n_classes=ctx.n_classes)
            )
            centroids.append(c.numpy())
            cluster_labels.append(
                self.classes_[codes.numpy()] if self.n_outputs_ == 1 else codes.numpy()
            )
            sizes.append(cs.sizes.cpu().numpy())
        self._knc_rules = rules
        self._score_weights = ctx.class_weights
        a1, a2 = self._fit_margins
        del self._fit_margins, self._batches
        if self.n_outputs_ == 1:
            self.centroids_ = centroids[0]
            self.cluster_labels_ = cluster_labels[0]
            self.cluster_sizes_ = sizes[0]
            self.margin_between_ = float(a1[0])
            self.margin_within_ = a2[0]
        else:
            self.centroids_ = centroids
            self.cluster_labels_ = cluster_labels
            self.cluster_sizes_ = sizes
            self.margin_between_ = a1
            self.margin_within_ = a2

    # ------------------------------------------------------------ prediction
    def _embedding(self, X):
        """Unit-norm embeddings ``(n, T, D)`` of validated ``X`` (CPU, float64).

        Computed in zero-padded chunks of fixed size, so a sample's embedding
        (hence its prediction) does not depend on the other samples passed.
        """
        with torch_threads(self.n_threads):
            emb = embed_in_chunks(
                self.net_.module_, X, self.net_.device, PREDICT_CHUNK, pad=True
            )
        return F.normalize(emb.double().cpu(), dim=-1)

    def _predict_task_scores(self, X):
        """Scores ``(n, T, C)`` of the k-nearest-cluster rule on validated ``X``.

        Eq. 10's log-ratio, extended where it is infinite
        (:meth:`KNearestClusterRule.decision_scores`), plus the class-weight
        shift ``log(w_c) / scale``: the similarities enter the loss as logits
        ``s * cos``, so a class weight moves the log-ratio as it moves a softmax
        classifier's logit by ``log(w_c)``, i.e. each ratio ``r_c`` times
        ``w_c ** (1 / s)`` (a cost-sensitive decision).
        """
        emb = self._embedding(X)
        scores = torch.stack(
            [rule.decision_scores(emb[:, t]) for t, rule in enumerate(self._knc_rules)],
            dim=1,
        ).numpy()
        return scores + self._class_weight_shift()[None, :, :]

    def _class_weight_shift(self):
        """``log(w_c) / scale`` per task and class (T, C); 0 for a task whose
        weights are all 0."""
        weights = np.asarray(self._score_weights, dtype=np.float64)
        usable = (weights > 0).any(axis=-1, keepdims=True)
        with np.errstate(divide="ignore"):
            return np.where(usable, np.log(weights), 0.0) / float(self.scale)

    def _predict_task_proba(self, X):
        scores = self._predict_task_scores(X)
        return torch.softmax(torch.as_tensor(scores), dim=-1).numpy()

    def decision_function(self, X):
        """Scores of the k-nearest-cluster rule (Eq. 10), in cosine units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Per class, Eq. 10's log-ratio ``log r_c`` over the retrieved
            clusters, extended where it is infinite (see the user guide), plus
            ``log(w_c) / scale`` for a ``class_weight``; ``predict_proba`` is
            their softmax. For a binary or multi-label target the difference of
            the two classes' scores, positive for the positive class
            (``(n_samples,)`` or ``(n_samples, n_labels)``).
        """
        X = self._validate_X_predict(X)
        # As predict_proba, softmax(scores - tau log prior): corrected alike.
        return self._decision_output(self._predict_task_scores(X))

    @property
    def _n_features_out(self):
        """Width of :meth:`transform`'s output."""
        return int(self.embedding_dim) * len(self._knc_rules)

    def transform(self, X):
        """The learned unit-norm embedding of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        embedding : ndarray of shape (n_samples, embedding_dim)
            For a multi-label model, the labels' embeddings side by side:
            ``(n_samples, n_labels * embedding_dim)``.
        """
        X = self._validate_X_predict(X)
        emb = self._embedding(X).numpy()
        return emb.reshape(emb.shape[0], -1)

    # ------------------------------------------------ saving and serving hooks
    def _fitted_state(self):
        # The k-nearest-cluster rules are rebuilt from centroids_ and
        # cluster_labels_ (_restore_fitted_state), as _on_fit_end built them.
        state = super()._fitted_state()
        state.pop("_knc_rules", None)
        return state

    def _restore_fitted_state(self, state):
        super()._restore_fitted_state(state)
        multi_label = self.n_outputs_ > 1
        centroids = self.centroids_ if multi_label else [self.centroids_]
        labels = self.cluster_labels_ if multi_label else [self.cluster_labels_]
        n_classes = 2 if multi_label else len(self.classes_)
        rules = []
        for c, lab in zip(centroids, labels, strict=True):
            codes = np.asarray(lab) if multi_label else self.classes_.searchsorted(lab)
            known = (codes >= 0) & (codes < n_classes)
            if not (
                known.all() and (multi_label or (self.classes_[codes] == lab).all())
            ):
                raise ValueError("cluster_labels_ holds labels that are not classes_.")
            rules.append(
                KNearestClusterRule(
                    int(self.n_neighbor_clusters), algorithm=self.knc_algorithm
                ).fit(torch.as_tensor(c), torch.as_tensor(codes), n_classes=n_classes)
            )
        self._knc_rules = rules

    def _task_scores_module(self):
        from ..export import KNearestClusterScores

        return KNearestClusterScores(
            self.net_.module_, self._knc_rules, self._class_weight_shift()
        )
