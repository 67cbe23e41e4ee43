"""Export an estimator's ``decision_function`` as an ONNX graph, for serving.

:func:`export_onnx` (also the estimators' ``export_onnx`` method) writes the
network and the decision rule of a fitted estimator as one ONNX graph: rows
``X`` (float32, any number of them) in, ``decision_function(X)`` (float64)
out, the prior correction ``tau * log(prior)`` and (for
:class:`~skimbalance.CLMLEClassifier`) the k-nearest-cluster rule inside the
graph. A server then needs an ONNX runtime only. Needs ``onnx`` and
``onnxscript`` (the ``serve`` extra); the tests check the graphs with
``onnxruntime``.

The torch modules here are what gets exported: :class:`NetworkLogits` (the
network's per-task logits), :class:`KNearestClusterScores` (CLMLE's rule) and
:class:`DecisionFunction`, which turns either into ``decision_function``'s
output.
"""

import copy
import json
import logging
import os
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .neighbors.k_nearest_cluster import _class_max, _extended_scores

#: Name of the graph's input and output.
INPUT_NAME = "X"
OUTPUT_NAME = "decision_function"


def _frozen_copy(module):
    """A CPU copy of ``module`` in evaluation mode, with no gradients."""
    module = copy.deepcopy(module).to("cpu").eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


class NetworkLogits(nn.Module):
    """The per-task logits ``(n, T, C)`` of a copy of a fitted network.

    Parameters
    ----------
    network : torch.nn.Module
        A fitted network returning ``(logits, embedding, ...)`` (copied to
        the CPU, in evaluation mode).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.export import NetworkLogits
    >>> from skimbalance.modules import MLPBackbone, MultiTaskNet
    >>> net = MultiTaskNet(MLPBackbone(3, (4,)), 4, n_tasks=1, n_classes=2)
    >>> NetworkLogits(net)(torch.zeros(5, 3)).shape
    torch.Size([5, 1, 2])
    """

    def __init__(self, network):
        super().__init__()
        self.network = _frozen_copy(network)

    def forward(self, X):
        return self.network(X)[0]


class KNearestClusterScores(nn.Module):
    """CLMLE's per-task k-nearest-cluster scores ``(n, T, C)`` as a graph.

    The unit-norm embedding of each task against its cluster centroids: the
    ``N`` most similar centroids (an exact top-k), Eq. 10's log-ratio
    extended where it is infinite (as
    :meth:`~skimbalance.neighbors.KNearestClusterRule.decision_scores`), plus
    a per-class ``shift`` (the class-weight term), in float64.

    Parameters
    ----------
    network : torch.nn.Module
        The fitted network (copied); its second output is the embedding
        ``(n, T, D)``.
    rules : list of KNearestClusterRule
        One fitted rule per task.
    shift : array-like of shape (T, C)
        Added to every row's scores.
    """

    def __init__(self, network, rules, shift):
        super().__init__()
        self.network = _frozen_copy(network)
        self.n_neighbors = [int(rule.n_neighbors_) for rule in rules]
        self.n_classes = [int(rule.n_classes_) for rule in rules]
        for t, rule in enumerate(rules):
            centroids = rule.centroids_.detach().to("cpu", torch.float64, copy=True)
            labels = rule.cluster_labels_.detach().to("cpu", torch.long, copy=True)
            self.register_buffer(f"centroids_{t}", centroids)
            self.register_buffer(f"cluster_labels_{t}", labels)
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float64))

    def forward(self, X):
        embedding = F.normalize(self.network(X)[1].double(), dim=-1)
        scores = []
        for t, (k, n_classes) in enumerate(
            zip(self.n_neighbors, self.n_classes, strict=True)
        ):
            centroids = getattr(self, f"centroids_{t}")
            labels = getattr(self, f"cluster_labels_{t}")
            queries = F.normalize(embedding[:, t], dim=1)
            block = queries @ centroids.T
            sims, index = torch.topk(block, k, dim=1, largest=True, sorted=True)
            class_max = _class_max(block, labels, n_classes)
            scores.append(_extended_scores(sims, labels[index], class_max, n_classes))
        return torch.stack(scores, dim=1) + self.shift


class DecisionFunction(nn.Module):
    """``decision_function`` from per-task class scores ``(n, T, C)``.

    Subtracts the prior correction ``offsets`` and, for a binary or
    multi-label target, returns the difference of the two classes' scores,
    as the estimators' ``decision_function`` does; float64.

    Parameters
    ----------
    scores : torch.nn.Module
        Rows to per-task scores ``(n, T, C)``.
    offsets : array-like of shape (T, C) or None
        ``tau * log(prior)``; None for no correction.
    multi_label : bool
        Whether the target is multi-label (``(n, T)`` output).
    scales : array-like of shape (T, C) or None, default=None
        Per-class factors of the scores before the correction (the
        τ-normalisation of the head); None for none.
    """

    def __init__(self, scores, offsets, multi_label, scales=None):
        super().__init__()
        self.scores = scores
        self.multi_label = bool(multi_label)
        self.correct = offsets is not None
        self.rescale = scales is not None
        if offsets is not None:
            self.register_buffer(
                "offsets", torch.as_tensor(offsets, dtype=torch.float64)
            )
        if scales is not None:
            self.register_buffer("scales", torch.as_tensor(scales, dtype=torch.float64))

    def forward(self, X):
        scores = self.scores(X).double()
        if self.rescale:
            scores = scores * self.scales
        if self.correct:
            scores = scores - self.offsets
        if self.multi_label:
            return scores[:, :, 1] - scores[:, :, 0]
        scores = scores[:, 0, :]
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores


def decision_module(estimator):
    """The torch module :func:`export_onnx` exports for a fitted ``estimator``.

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator of this library.

    Returns
    -------
    DecisionFunction
        A module (on the CPU, evaluation mode, independent of the
        estimator) mapping float32 rows to ``decision_function``'s output.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn.datasets import make_classification
    >>> from skimbalance import CRLClassifier
    >>> from skimbalance.export import decision_module
    >>> X, y = make_classification(200, weights=[0.9], random_state=0)
    >>> clf = CRLClassifier(hidden_layer_sizes=(16,), max_epochs=2,
    ...                     random_state=0).fit(X, y)
    >>> scores = decision_module(clf)(torch.as_tensor(X, dtype=torch.float32))
    >>> bool(np.allclose(scores.numpy(), clf.decision_function(X)))
    True
    """
    check_is_fitted(estimator)
    if not getattr(estimator, "_has_decision_function", True):
        raise ValueError(
            f"{type(estimator).__name__} has no decision_function to export."
        )
    offsets = estimator._prior_offsets()
    return DecisionFunction(
        estimator._task_scores_module(),
        offsets if offsets.any() else None,
        multi_label=estimator.n_outputs_ > 1,
        scales=estimator._logit_scales(),
    ).eval()


@contextmanager
def _quiet_exporter():
    """Hide the exporter's notices that say nothing about this graph (the
    optional torchvision operators, deprecations inside torch)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.")
            warnings.filterwarnings(
                "ignore", message=r".*LeafSpec", category=FutureWarning
            )
            yield
    finally:
        logger.setLevel(level)


def export_onnx(estimator, path):
    """Write a fitted estimator's ``decision_function`` as an ONNX graph.

    The graph has one input, ``X``: float32 of shape ``(n_samples,
    n_features_in_)``, ``n_samples`` free; and one output,
    ``decision_function``: float64, what the estimator's
    ``decision_function(X)`` returns (to float32 rounding of the network:
    within ``1e-5`` in the tests), with the prior correction
    (``prior_correction``, as resolved at export) inside the graph.
    :class:`~skimbalance.CLMLEClassifier`'s k-nearest-cluster rule is
    exported too (the centroids are constants of the graph). The model's
    metadata (``metadata_props``) hold the estimator's class, ``classes``
    (JSON: column ``j`` of the scores, or the positive class of a binary
    target, is ``classes[j]``), the correction ``tau`` and the library
    version.

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator of this library.
    path : str or path-like
        File to write (conventionally ``*.onnx``).

    Returns
    -------
    path : str or path-like
        ``path``, as given.

    Raises
    ------
    ImportError
        Without ``onnx`` and ``onnxscript`` (``pip install
        "skimbalance[serve]"``).
    ValueError
        When the decision cannot be one graph:
        :class:`~skimbalance.UncertaintyMarginClassifier` with
        ``mc_predict=True`` (MC-dropout averages with per-row hashed masks).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklearn.datasets import make_classification
    >>> from skimbalance import CrossEntropyClassifier
    >>> X, y = make_classification(200, weights=[0.9], random_state=0)
    >>> X = X.astype(np.float32)
    >>> clf = CrossEntropyClassifier(hidden_layer_sizes=(16,), max_epochs=2,
    ...                              random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = clf.export_onnx(Path(folder) / "model.onnx")
    ...     session = onnxruntime.InferenceSession(path)
    ...     (scores,) = session.run(None, {"X": X})
    >>> bool(np.allclose(scores, clf.decision_function(X), atol=1e-5))
    True
    """
    try:
        import onnx
        import onnxscript  # noqa: F401  (the exporter needs it)
    except ImportError as exc:
        raise ImportError(
            f"export_onnx needs onnx and onnxscript ({exc}); install them with "
            'pip install "skimbalance[serve]".'
        ) from None
    from . import __version__

    module = decision_module(estimator)
    example = torch.zeros((2, int(estimator.n_features_in_)), dtype=torch.float32)
    with _quiet_exporter():
        program = torch.onnx.export(
            module,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("n_samples")},),
            verbose=False,
        )
    model = program.model_proto
    classes = estimator.classes_
    metadata = {
        "skimbalance_version": __version__,
        "estimator": type(estimator).__name__,
        "classes": json.dumps(
            [c.item() if isinstance(c, np.generic) else c for c in classes.tolist()],
            default=str,
        ),
        "multi_label": json.dumps(bool(estimator.n_outputs_ > 1)),
        "prior_correction_tau": repr(float(estimator._prior_tau())),
        "tau_normalization": repr(float(estimator.tau_normalization)),
        "target_prior": json.dumps(
            estimator.target_prior
            if isinstance(estimator.target_prior, str)
            else np.asarray(estimator.target_prior, dtype=float).tolist()
        ),
        "output": (
            "decision_function: one column per class; for a binary target (n,), "
            "positive for classes[1]; for a multi-label target one column per "
            "label, positive for 1"
        ),
    }
    onnx.helper.set_model_props(model, metadata)
    model.doc_string = (
        f"{type(estimator).__name__}.decision_function, exported by skimbalance "
        f"{__version__}"
    )
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return path
