"""The private skorch machinery every estimator trains with.

Nothing here is public API: estimators build a :class:`TrainingNet` inside ``fit``
and expose it as ``net_``.
"""

import numpy as np
import torch
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import Dataset, unpack_data
from skorch.utils import TeeGenerator, to_tensor
from torch.utils.data import DataLoader, Subset

from ._arrays import rows_as_tensor
from .optim.sam import SAM

# Per-batch entries skorch itself records; everything else a criterion logs is
# averaged into the epoch row by :class:`EpochMeans`.
_SKORCH_BATCH_KEYS = frozenset(
    {"train_loss", "valid_loss", "train_batch_size", "valid_batch_size"}
)


def _take(value, index):
    """The rows ``index`` of an array, a tensor (on its device) or a dict of them."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: _take(part, index) for key, part in value.items()}
    if torch.is_tensor(value):
        return value[torch.as_tensor(index, device=value.device)]
    return torch.as_tensor(np.asarray(value)[index])


class BatchDataset(Dataset):
    """skorch's :class:`~skorch.dataset.Dataset` that gathers a batch in one step.

    torch's :class:`~torch.utils.data.DataLoader` passes the indices of a whole
    batch to ``__getitems__`` (through a :class:`~torch.utils.data.Subset`
    too): every array of ``X`` and ``y`` is indexed once with them and
    returned as a tensor, instead of once per sample and then collated
    sample by sample (a Python loop over the batch). The batches are the
    same, value for value, in the same order (the sampler is unchanged).
    Tensors are indexed where they are, so data kept on a GPU stays there.
    Use it with :func:`batch_as_is` as the loaders' ``collate_fn``.
    """

    def __getitems__(self, indices):
        index = np.asarray(indices, dtype=np.int64)
        y = _take(self.y, index)
        if y is None:  # skorch's placeholder target, one per row
            y = torch.zeros((len(index), 1))
        return _take(self.X, index), y


def batch_as_is(batch):
    """The ``collate_fn`` of :class:`BatchDataset`'s loaders: the batch it gathered."""
    return batch


class TrainingNet(NeuralNet):
    """skorch net whose criterion sees the whole batch, not only predictions.

    The criterion is called as ``criterion(y_pred, y_true, batch)``, where
    ``batch`` is the dict of batch inputs moved to the net's device
    (``"sample_weight"`` ``(B, T)``, ``"index"`` ``(B,)`` and ``"data"``). It
    returns a scalar loss, or ``(loss, logs)`` where ``logs`` maps names to
    scalars recorded in the batch history during training (and averaged per
    epoch by :class:`EpochMeans`).

    ``train_batch_sampler``, when given, replaces the shuffled training
    iterator: it yields lists of dataset indices, one per batch (CLMLE's
    cluster-based batches). ``train_sampler_factory``, when given, does the
    same with a batch sampler built from the labels of the training rows
    (``factory(labels)``, ``labels`` of shape ``(n_train, T)``), once per
    fit: the rows that a validation split leaves for training, indexed as
    the training subset is; the sampler is kept as ``train_batch_sampler_``.

    The data are a :class:`BatchDataset`, and every loader gathers a batch in
    one indexing step (:func:`batch_as_is` collates).

    With a :class:`~skimbalance.optim.sam.SAM` optimizer, :meth:`train_step`
    makes the two passes of a SAM step itself: the pass at ``w`` is skorch's
    (its loss and the criterion's logs are the step's), the pass at ``w + e``
    only gives the gradient the base optimizer steps with (the criterion is
    in evaluation mode for it, so that it records and counts nothing twice).
    """

    # The estimators pass the module and the criterion as instances, so the
    # ``module`` and ``criterion`` entries hold the same (possibly CUDA) tensors
    # as ``module_`` and ``criterion_``: pickle them through torch's
    # device-mapping path too, so a net fitted on a GPU loads on a CPU.
    cuda_dependent_attributes_ = ["module", "criterion", "optimizer_"]

    def __init__(
        self, *args, train_batch_sampler=None, train_sampler_factory=None, **kwargs
    ):
        kwargs.setdefault("dataset", BatchDataset)
        kwargs.setdefault("iterator_train__collate_fn", batch_as_is)
        kwargs.setdefault("iterator_valid__collate_fn", batch_as_is)
        super().__init__(*args, **kwargs)
        self.train_batch_sampler = train_batch_sampler
        self.train_sampler_factory = train_sampler_factory

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device)
        batch = {}
        if isinstance(X, dict):
            batch = {
                key: to_tensor(value, device=self.device) for key, value in X.items()
            }
        out = self.criterion_(y_pred, y_true, batch)
        if isinstance(out, tuple):
            loss, logs = out
            if training:
                for key, value in logs.items():
                    self.history.record_batch(key, float(value))
            return loss
        return out

    def train_step(self, batch, **fit_params):
        optimizer = self.optimizer_
        if not isinstance(optimizer, SAM):
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        optimizer.first_step(zero_grad=True)
        criterion = self.criterion_
        was_training = criterion.training
        criterion.eval()
        try:
            Xi, yi = unpack_data(batch)
            y_pred = self.infer(Xi, **fit_params)
            self.get_loss(y_pred, yi, X=Xi, training=False).backward()
        except BaseException:
            optimizer.restore()  # back at w, no step taken
            raise
        finally:
            criterion.train(was_training)
        optimizer.second_step()
        return step

    def get_iterator(self, dataset, training=False):
        if training and self.train_batch_sampler is not None:
            return DataLoader(
                dataset, batch_sampler=self.train_batch_sampler, collate_fn=batch_as_is
            )
        if training and self.train_sampler_factory is not None:
            self.train_batch_sampler_ = self.train_sampler_factory(
                dataset_labels(dataset)
            )
            return DataLoader(
                dataset, batch_sampler=self.train_batch_sampler_, collate_fn=batch_as_is
            )
        return super().get_iterator(dataset, training=training)


def dataset_labels(dataset):
    """The targets of a :class:`BatchDataset` or of a ``Subset`` of one, as a
    NumPy array, in the dataset's own order."""
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[np.asarray(dataset.indices)]
    y = dataset.y
    return y.detach().cpu().numpy() if torch.is_tensor(y) else np.asarray(y)


class EpochMeans(Callback):
    """Average every quantity a criterion logged per batch into the epoch row."""

    def on_epoch_end(self, net, **kwargs):
        batches = net.history[-1, "batches"]
        keys = {key for row in batches for key in row} - _SKORCH_BATCH_KEYS
        for key in sorted(keys):
            values = [row[key] for row in batches if key in row]
            net.history.record(key, float(np.mean(values)))


class StratifiedValidationSplit:
    """skorch ``train_split`` holding out a stratified fraction for validation.

    Stratifies on the first task's labels; falls back to a plain shuffled split
    when a class is too small to be stratified.

    Parameters
    ----------
    fraction : float
        Fraction of the samples held out.
    stratify : ndarray of shape (n_samples,) or None
        Labels to stratify on.
    random_state : int
        Seed of the split.
    """

    def __init__(self, fraction, stratify, random_state):
        self.fraction = fraction
        self.stratify = stratify
        self.random_state = random_state

    def indices(self, n_samples):
        """Training and validation indices for ``n_samples`` samples."""
        index = np.arange(n_samples)
        if self.stratify is not None:
            try:
                splitter = StratifiedShuffleSplit(
                    1, test_size=self.fraction, random_state=self.random_state
                )
                return next(splitter.split(index, self.stratify))
            except ValueError:
                pass
        splitter = ShuffleSplit(
            1, test_size=self.fraction, random_state=self.random_state
        )
        return next(splitter.split(index))

    def __call__(self, dataset, y=None, groups=None):
        train, valid = self.indices(len(dataset))
        return Subset(dataset, train), Subset(dataset, valid)


class PredefinedValidationSplit:
    """skorch ``train_split`` validating on a given set (``fit(X_val=...)``).

    Trains on the whole dataset and validates on ``X``, ``y`` (skorch's
    ``predefined_split``, built from arrays). The validation batches carry
    ``"data"`` and ``"sample_weight"`` but no ``"index"``: that key indexes
    per-training-sample caches (CLMLE's clusters, the uncertainty margin's MC
    moments), which have no entry for a validation row.

    Parameters
    ----------
    X : ndarray of shape (n_val, n_features), float32
    y : ndarray of shape (n_val, n_tasks), int64
        Encoded targets.
    sample_weight : ndarray of shape (n_val, n_tasks), float32
        Loss weights of the validation rows.
    """

    def __init__(self, X, y, sample_weight):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def __call__(self, dataset, y=None, groups=None):
        valid = BatchDataset(
            {"data": self.X, "sample_weight": self.sample_weight}, self.y
        )
        return dataset, valid


class ValidationScore(Callback):
    """Record a scikit-learn score of the estimator on the validation rows.

    At the end of every epoch (after the validation pass, before early
    stopping reads the row) it records ``score(scorer, X, y, sample_weight)``
    under ``name``, on the rows of the epoch's validation dataset: the
    indices of a held-out :class:`~torch.utils.data.Subset` of ``X``, or all
    of ``X`` for a given validation set. It keeps no data once training ends.

    Parameters
    ----------
    name : str
        History key, e.g. ``"valid_balanced_accuracy"``.
    score : callable
        ``score(scorer, X, y, sample_weight)``: the estimator's scoring of
        validated rows mid-fit.
    scorer : callable
        A scikit-learn scorer ``scorer(estimator, X, y, sample_weight=None)``.
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,) or (n_rows, n_labels)
        Targets with their original labels.
    sample_weight : ndarray of shape (n_rows,) or None
        The user's sample weights, passed to the scorer when given.
    """

    def __init__(self, name, score, scorer, X, y, sample_weight=None):
        self.name = name
        self.score = score
        self.scorer = scorer
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        X, y, weight = self.X, self.y, self.sample_weight
        if isinstance(dataset_valid, Subset):
            rows = np.asarray(dataset_valid.indices)
            X, y = X[rows], y[rows]
            weight = None if weight is None else weight[rows]
        net.history.record(self.name, float(self.score(self.scorer, X, y, weight)))

    def on_train_end(self, net, **kwargs):
        # The fitted net keeps neither the data nor a reference to the estimator.
        self.score = self.scorer = self.X = self.y = self.sample_weight = None


def collect_outputs(net, X, batch_size):
    """Run the fitted module over ``X`` in evaluation mode; CPU tensors out.

    Returns the module's output tuple with each element concatenated over
    batches. Every chunk is zero-padded to ``batch_size`` rows, so each row
    goes through the same matrix kernels whatever the other rows are (CPU BLAS
    picks kernels by the number of rows): a sample's outputs do not depend on
    the other samples passed with it. ``X`` is read a chunk at a time, in
    place (a ``numpy.memmap`` too): only a chunk is ever copied.
    """
    module = net.module_
    module.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            data = rows_as_tensor(X[start : start + batch_size], device=net.device)
            n_rows = data.shape[0]
            if n_rows < batch_size:
                pad = data.new_zeros((batch_size - n_rows, *data.shape[1:]))
                data = torch.cat([data, pad])
            out = module(data)
            out = out if isinstance(out, tuple) else (out,)
            outputs.append(tuple(o.detach()[:n_rows].cpu() for o in out))
    return tuple(torch.cat(parts) for parts in zip(*outputs, strict=True))
