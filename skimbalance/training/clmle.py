"""Training plumbing of :class:`~skimbalance.CLMLEClassifier`.

The criterion, the warm-up/cluster batch switch and the clustering schedule
callback, which share mutable state (stage, assignments, samplers) and are
pickled with a fitted net; and the chunked embedding used by the schedule and
by prediction. The method's reusable parts live in their own modules (the
equal-size clustering in :mod:`skimbalance.cluster`, the loss in
:mod:`skimbalance.losses`, the cluster-based batches in
:mod:`skimbalance.samplers`, the k-nearest-cluster rule in
:mod:`skimbalance.neighbors`)."""

import time

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

from .._arrays import rows_as_tensor
from ..cluster.equal_size_spherical_kmeans import cluster_by_class
from ..losses.clmle import clmle_loss
from ..losses.cross_entropy import weighted_cross_entropy
from ..samplers.cluster_batch import AlternatingBatchSampler, ClusterBatchSampler

# Rows per (zero-padded) chunk when embedding inputs for prediction.
PREDICT_CHUNK = 256


def embed_in_chunks(module, X, device, batch_size, *, pad=False):
    """Embeddings ``(n, T, D)`` of ``X`` (float32 array) in evaluation mode.

    The module's training mode is restored afterwards; the result stays on
    ``device``. With ``pad=True`` every chunk is zero-padded to ``batch_size``
    rows, so that each row goes through the same matrix kernels whatever the
    other rows are: a row's embedding is then bitwise independent of the
    batch it comes in (CPU BLAS picks kernels by the number of rows).

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.modules import MLPBackbone, MultiTaskNet
    >>> from skimbalance.training.clmle import embed_in_chunks
    >>> net = MultiTaskNet(MLPBackbone(3, (4,)), 4, n_tasks=1, n_classes=2,
    ...                    embedding_dim=2)
    >>> tuple(embed_in_chunks(net, np.zeros((5, 3), np.float32), "cpu", 2).shape)
    (5, 1, 2)
    """
    was_training = module.training
    module.eval()
    out = None
    try:
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                data = rows_as_tensor(X[start : start + batch_size], device=device)
                n_rows = data.shape[0]
                if pad and n_rows < batch_size:
                    data = torch.cat(
                        [data, data.new_zeros((batch_size - n_rows, *data.shape[1:]))]
                    )
                emb = module(data)[1][:n_rows]
                if out is None:
                    # one output tensor filled chunk by chunk: no list of
                    # chunks beside their concatenation at the end
                    out = emb.new_empty((X.shape[0], *emb.shape[1:]))
                out[start : start + n_rows] = emb
    finally:
        module.train(was_training)
    if out is None:
        raise ValueError("embed_in_chunks needs at least one row of X.")
    return out


class CLMLECriterion(nn.Module):
    """Training loss of :class:`CLMLEClassifier` (criterion protocol).

    During the warm-up (``stage == "warmup"``) it is the weighted cross-entropy
    of the logits (the "prior features" of the paper). Afterwards it is the
    CLMLE loss (Eq. 9, :func:`skimbalance.losses.clmle.clmle_loss`) of each
    task's normalised embedding, with the batch samples' clusters looked up in
    ``cluster_of`` (set by the re-clustering callback), averaged over tasks.
    In training mode it also caches every sample's loss in the task's batch
    sampler (for the choice of the hardest query cluster).

    Parameters
    ----------
    margin_between : Tensor of shape (n_tasks,)
        ``a_1`` of every task.
    margin_within : Tensor of shape (n_tasks, n_classes)
        ``a_2`` of every class of every task.
    scale : float
        Inverse temperature of the loss's log-sum-exp (1 is Eq. 9 as printed).
    cost_sensitive : bool
        Inverse in-batch class-frequency weighting (Sec. 3.3).
    normalize_centroids : bool, default=True
        Unit-norm in-batch centroids (``False``: the plain mean of Sec. 3.3).
    renormalize_cost_weights : bool, default=True
        Divide the cost-sensitive weights by their sum (``False``: the literal
        ``B / n_c`` weights).

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI, 2019
       (Eq. 9, Sec. 3.3).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.training.clmle import CLMLECriterion
    >>> crit = CLMLECriterion(torch.tensor([0.5]), torch.tensor([[0.2, 0.2]]),
    ...                       scale=1.0, cost_sensitive=True)
    >>> crit.cluster_of = torch.tensor([[0, 0, 1, 1]])
    >>> crit.stage = "clmle"
    >>> emb = torch.randn(4, 1, 3)
    >>> loss, logs = crit((torch.zeros(4, 1, 2), emb), torch.tensor([[0], [0], [1], [1]]),
    ...                   {"index": torch.arange(4)})
    >>> loss.shape, sorted(logs)
    (torch.Size([]), ['clmle_loss'])
    """

    def __init__(
        self,
        margin_between,
        margin_within,
        *,
        scale,
        cost_sensitive,
        normalize_centroids=True,
        renormalize_cost_weights=True,
    ):
        super().__init__()
        self.margin_between = margin_between
        self.margin_within = margin_within
        self.scale = scale
        self.cost_sensitive = cost_sensitive
        self.normalize_centroids = normalize_centroids
        self.renormalize_cost_weights = renormalize_cost_weights
        self.stage = "warmup"
        self.cluster_of = None
        self.samplers = []

    def forward(self, y_pred, y_true, batch):
        weight = batch.get("sample_weight")
        if self.stage == "warmup" or self.cluster_of is None:
            return weighted_cross_entropy(y_pred[0], y_true, weight)
        embedding = y_pred[1]
        index = batch["index"].to(self.cluster_of.device)
        clusters = self.cluster_of[:, index].to(embedding.device)
        n_tasks = embedding.shape[1]
        total = embedding.new_zeros(())
        for t in range(n_tasks):  # a loop over tasks (labels), not samples
            out = clmle_loss(
                embedding[:, t],
                clusters[t],
                y_true[:, t],
                self.margin_between[t],
                self.margin_within[t].to(embedding.device),
                scale=self.scale,
                cost_sensitive=self.cost_sensitive,
                sample_weight=None if weight is None else weight[:, t],
                normalize_centroids=self.normalize_centroids,
                renormalize_cost_weights=self.renormalize_cost_weights,
            )
            total = total + out.loss
            if self.training and self.samplers:
                self.samplers[t].update_losses(
                    index.cpu().numpy(), out.sample_losses.detach().cpu().numpy()
                )
        loss = total / n_tasks
        return loss, {"clmle_loss": float(loss.detach())}


class PhaseBatchSampler:
    """Training batches: shuffled during the warm-up, cluster-based afterwards.

    Used as the ``train_batch_sampler`` of the skorch net; the re-clustering
    callback installs ``cluster_sampler`` at the end of the warm-up.

    Parameters
    ----------
    n_samples : int
        Size of the training set.
    batch_size : int
        Warm-up batch size.
    random_state : int
        Seed of the warm-up shuffling.

    Examples
    --------
    >>> from skimbalance.training.clmle import PhaseBatchSampler
    >>> [len(b) for b in PhaseBatchSampler(10, 4, random_state=0)]
    [4, 4, 2]
    """

    def __init__(self, n_samples, batch_size, random_state):
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.rng = np.random.default_rng(random_state)
        self.cluster_sampler = None

    def __len__(self):
        if self.cluster_sampler is not None:
            return len(self.cluster_sampler)
        return -(-self.n_samples // self.batch_size)

    def __iter__(self):
        if self.cluster_sampler is not None:
            yield from self.cluster_sampler
            return
        order = self.rng.permutation(self.n_samples)
        for start in range(0, self.n_samples, self.batch_size):
            yield order[start : start + self.batch_size]


def cluster_round_epochs(max_epochs, warmup_epochs, n_cluster_rounds):
    """1-based epochs at whose start CLMLE (re-)clusters the training set.

    The epochs after the warm-up are split into ``n_cluster_rounds`` nearly
    equal rounds; each starts with a clustering on the latest embeddings.

    Examples
    --------
    >>> from skimbalance.training.clmle import cluster_round_epochs
    >>> cluster_round_epochs(30, 5, 5)
    [6, 11, 16, 21, 26]
    >>> cluster_round_epochs(8, 5, 5)
    [6, 7, 8]
    """
    n_epochs = max_epochs - warmup_epochs
    if n_epochs <= 0:
        return []
    rounds = min(n_cluster_rounds, n_epochs)
    starts = np.floor(np.arange(rounds) * n_epochs / rounds).astype(int)
    return sorted({int(warmup_epochs + 1 + s) for s in starts})


class ClusterSchedule(Callback):
    """Warm-up, clustering rounds and cache of :class:`CLMLEClassifier`.

    At the start of each clustering round (:func:`cluster_round_epochs`) it
    embeds the whole training set (in chunks, evaluation mode), clusters each
    class of each task into equal-size clusters
    (:func:`~skimbalance.cluster.equal_size_spherical_kmeans.cluster_by_class`),
    installs the assignments in the criterion and the clusters in the
    cluster-based batch samplers (one per task). Records ``n_clusters`` and
    ``clustering_time`` in the history row of that epoch.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
        Training inputs (released at the end of training).
    y : ndarray of shape (n_samples, n_tasks), int64
        Encoded targets.
    batches : PhaseBatchSampler
        The net's training batch sampler.
    round_epochs : list of int
        Epochs starting a clustering round.
    cluster_size, n_clusters_per_batch, samples_per_cluster : int
    cluster_sampling : {"hardest", "uniform"}
    seed : int
        Seed of the clusterings and of the batch samplers.
    batch_size : int
        Rows per chunk when embedding the training set.
    assignment : {"deferred_acceptance", "auction"}, default="deferred_acceptance"
        Assignment step of the equal-size k-means.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.training.clmle import ClusterSchedule, PhaseBatchSampler
    >>> cb = ClusterSchedule(np.zeros((4, 2), np.float32), np.zeros((4, 1), int),
    ...                      PhaseBatchSampler(4, 2, 0), [2], cluster_size=2,
    ...                      n_clusters_per_batch=12, samples_per_cluster=20,
    ...                      cluster_sampling="hardest", seed=0, batch_size=4)
    >>> cb.round_epochs
    [2]
    """

    def __init__(
        self,
        X,
        y,
        batches,
        round_epochs,
        *,
        cluster_size,
        n_clusters_per_batch,
        samples_per_cluster,
        cluster_sampling,
        seed,
        batch_size,
        assignment="deferred_acceptance",
    ):
        self.X = X
        self.y = y
        self.batches = batches
        self.round_epochs = round_epochs
        self.cluster_size = cluster_size
        self.n_clusters_per_batch = n_clusters_per_batch
        self.samples_per_cluster = samples_per_cluster
        self.cluster_sampling = cluster_sampling
        self.seed = seed
        self.batch_size = batch_size
        self.assignment = assignment

    def initialize(self):
        self.samplers_ = []
        self.rounds_done_ = 0
        self.last_sets_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        net.criterion_.stage = "warmup"
        net.criterion_.cluster_of = None
        net.criterion_.samplers = []

    def cluster(self, net):
        """Cluster every task's classes on the current embeddings.

        From the second round on, each class's k-means starts from its
        centroids of the previous round (the embedding moves slowly), which
        keeps the clusters' identities and needs fewer iterations.

        Returns
        -------
        list of ClusterSet
            One per task, on the net's device.
        """
        emb = embed_in_chunks(net.module_, self.X, net.device, self.batch_size)
        labels = torch.as_tensor(self.y, device=emb.device)
        gen = torch.Generator().manual_seed(self.seed + 7919 * self.rounds_done_)
        previous = self.last_sets_ or [None] * self.y.shape[1]
        self.last_sets_ = [
            cluster_by_class(
                emb[:, t],
                labels[:, t],
                self.cluster_size,
                random_state=gen,
                previous=previous[t],
                assignment=self.assignment,
            )
            for t in range(self.y.shape[1])
        ]
        return self.last_sets_

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)
        if epoch not in self.round_epochs:
            return
        start = time.perf_counter()
        sets = self.cluster(net)
        criterion = net.criterion_
        criterion.cluster_of = torch.stack([cs.assignments for cs in sets])
        if not self.samplers_:
            n_batches = len(
                ClusterBatchSampler(
                    sets[0].assignments,
                    sets[0].centroids,
                    sets[0].cluster_labels,
                    n_clusters_per_batch=self.n_clusters_per_batch,
                    samples_per_cluster=self.samples_per_cluster,
                )
            )
            seeds = np.random.SeedSequence(self.seed).spawn(len(sets) + 1)
            self.samplers_ = [
                ClusterBatchSampler(
                    cs.assignments,
                    cs.centroids,
                    cs.cluster_labels,
                    n_clusters_per_batch=self.n_clusters_per_batch,
                    samples_per_cluster=self.samples_per_cluster,
                    n_batches=n_batches,
                    query=self.cluster_sampling,
                    random_state=np.random.default_rng(seeds[t]),
                )
                for t, cs in enumerate(sets)
            ]
            self.batches.cluster_sampler = (
                self.samplers_[0]
                if len(sets) == 1
                else AlternatingBatchSampler(
                    self.samplers_,
                    n_batches=n_batches,
                    random_state=np.random.default_rng(seeds[-1]),
                )
            )
        else:
            for sampler, cs in zip(self.samplers_, sets, strict=True):
                sampler.update_clusters(cs.assignments, cs.centroids, cs.cluster_labels)
        criterion.samplers = self.samplers_
        criterion.stage = "clmle"
        self.rounds_done_ += 1
        net.history.record("n_clusters", [cs.n_clusters for cs in sets])
        net.history.record("clustering_time", time.perf_counter() - start)

    def on_train_end(self, net, **kwargs):
        # Keep neither the training data nor the per-sample caches in the net.
        self.X = None
        self.y = None
        self.samplers_ = []
        self.batches.cluster_sampler = None
        net.criterion_.cluster_of = None
        net.criterion_.samplers = []
