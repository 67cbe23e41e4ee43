"""Deferred re-weighting (DRW, Cao et al., 2019) as a skorch callback."""

import numpy as np
import torch
from skorch.callbacks import Callback


class DeferredReweighting(Callback):
    """skorch callback switching class weights on after ``start_epoch`` epochs (DRW).

    Cao et al. (2019) train with uniform class weights first, so that the
    features are learned from the natural distribution, and re-weight only in
    the last stage. During the first ``start_epoch`` epochs the batches keep
    their weights (the sample weights alone); from epoch ``start_epoch + 1``
    on, each training batch's ``sample_weight`` entry ``(B, T)`` is multiplied
    by ``table[t, y[b, t]]`` before the loss sees it, whatever the loss.
    Validation batches are always re-weighted, so that the validation loss
    early stopping monitors measures one objective throughout. Each epoch row
    of the history records ``class_weights_on``.

    Parameters
    ----------
    table : array-like of shape (T, C)
        Factor of each class of each task
        (see :func:`deferred_weights`).
    start_epoch : int
        Number of epochs trained before the class weights apply.

    References
    ----------
    .. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning
       Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
       NeurIPS 2019, Algorithm 1 (deferred re-weighting).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.training.deferred_reweighting import DeferredReweighting
    >>> drw = DeferredReweighting([[1.0, 4.0]], start_epoch=0).initialize()
    >>> X = {"sample_weight": torch.ones(2, 1)}
    >>> class Net:  # a stand-in with a one-epoch history
    ...     history = [{}]
    >>> drw.on_batch_begin(Net(), batch=(X, torch.tensor([[0], [1]])), training=True)
    >>> X["sample_weight"].ravel().tolist()
    [1.0, 4.0]
    """

    def __init__(self, table, start_epoch):
        self.table = table
        self.start_epoch = start_epoch

    def initialize(self):
        self.table_ = torch.as_tensor(np.asarray(self.table), dtype=torch.float32)
        return self

    def _on(self, net, training):
        return not training or len(net.history) > self.start_epoch

    def on_epoch_begin(self, net, **kwargs):
        net.history.record("class_weights_on", bool(self._on(net, True)))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        X, y = batch
        if not self._on(net, training):
            return
        y = torch.as_tensor(y)
        weight = X["sample_weight"]
        table = self.table_.to(weight.device)
        task = torch.arange(table.shape[0], device=weight.device)
        X["sample_weight"] = weight * table[task.unsqueeze(0), y.to(weight.device)]
