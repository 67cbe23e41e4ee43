"""The shared base of every estimator: validation, labels, weights, seeds, devices.

A method estimator subclasses :class:`BaseDeepClassifier`, lists its own
parameters in ``__init__`` (after the shared ones, which it passes on) and
overrides only the hooks it needs:

``_build_module(ctx)``
    the torch module; it returns ``(logits (B, T, C), embedding (B, T, D), ...)``.
``_build_criterion(ctx)``
    the training loss, called as ``criterion(y_pred, y_true, batch)``
    (see :class:`skimbalance._net.TrainingNet`).
``_build_callbacks(ctx)``
    skorch callbacks of the method (schedules, caches), run before the user's.
``_net_kwargs(ctx)``
    extra keyword arguments of the skorch net (e.g. ``train_batch_sampler``).
``_on_fit_end(ctx)``
    work after training (e.g. CLMLE's final clustering and index).
``_predict_task_proba(X)``
    ``(n_samples, T, C)`` class probabilities per task from validated ``X``.
``_warm_start_error``
    a class attribute: None where ``warm_start=True`` may continue a fitted
    network, else the sentence saying why not (``fit`` raises it).
``_fitted_state()`` / ``_restore_fitted_state(state)``
    what :func:`~skimbalance.save_model` stores besides the parameters and the
    network (every other instance attribute), and how
    :func:`~skimbalance.load_model` sets it back (e.g. CLMLE rebuilds its
    k-nearest-cluster rules from its centroids).
``_task_scores_module()``
    the torch module of the per-task scores that ``decision_function``
    corrects (the logits; CLMLE's k-nearest-cluster scores), which
    ``export_onnx`` exports.

``ctx`` is a :class:`FitContext` holding the encoded training data, the class
counts, the device and the seed of this fit.
"""

import copy
import inspect
import numbers
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import check_scoring
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)
from skorch.callbacks import EarlyStopping, ProgressBar

from ._divergence import DivergenceCheck
from ._net import (
    EpochMeans,
    PredefinedValidationSplit,
    StratifiedValidationSplit,
    TrainingNet,
    ValidationScore,
    collect_outputs,
)
from ._validation import (
    PositiveIntSequence,
    TorchDevice,
    check_weight_values,
    fit_seed,
    normalized_weights,
)
from ._warnings import quiet, warn_once
from .backbones import TabularBackbone
from .class_weight import (
    CLASS_WEIGHT_SCHEMES,
    EffectiveNumberWeights,
    balanced_class_weights,
    deferred_weights,
)
from .losses.cross_entropy import WeightedCrossEntropy
from .modules import MLPBackbone, MultiTaskNet, TaskLinear, infer_output_dim
from .optim.sam import SAM
from .training.deferred_reweighting import DeferredReweighting
from .training.head_retraining import retrain_task_head

#: The built-in backbones a string ``backbone`` names.
BACKBONES = ("mlp", "tabular")


@dataclass
class FitContext:
    """What a method's hooks may read during ``fit``.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float32
        Validated training inputs.
    y : ndarray of shape (n_samples, n_tasks), int64
        Encoded targets: class indices per task.
    sample_weight : ndarray of shape (n_samples, n_tasks), float32
        Sample weight times class weight, normalised to mean 1.
    n_tasks, n_classes : int
        Number of tasks (1 for multi-class, the number of labels for
        multi-label) and of classes per task.
    class_counts : ndarray of shape (n_tasks, n_classes)
        Training-set count of each class in each task.
    device : str
        The torch device training runs on.
    seed : int
        Seed of this fit; derive every random generator of the method from it.
    deferred_class_weights : ndarray of shape (n_tasks, n_classes) or None
        With ``class_weight_start_epoch``, the class-weight factors that
        :class:`~skimbalance.training.deferred_reweighting.DeferredReweighting`
        applies from
        that epoch on; ``sample_weight`` then holds the sample weights alone.
    validation : ValidationSet or None
        The validation set passed to ``fit`` (``X_val``, ``y_val``), validated
        and encoded; None when early stopping holds out
        ``validation_fraction`` of the training set, or is off.
    epochs_done : int
        Epochs the network has already been trained: 0, or with
        ``warm_start=True`` the epochs of the previous fits it continues.
    class_weights : ndarray of shape (n_tasks, n_classes) or None
        The weight of each class of each task that ``class_weight`` gives
        (ones when it is None), before normalisation.
    """

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    n_tasks: int
    n_classes: int
    class_counts: np.ndarray
    device: str
    seed: int
    deferred_class_weights: np.ndarray | None = None
    validation: "ValidationSet | None" = None
    epochs_done: int = 0
    class_weights: np.ndarray | None = None


@dataclass
class ValidationSet:
    """A user-supplied validation set, validated and encoded (see ``fit``).

    Attributes
    ----------
    X : ndarray of shape (n_val, n_features), float32
    y : ndarray of shape (n_val, n_tasks), int64
        Encoded targets.
    sample_weight : ndarray of shape (n_val, n_tasks), float32
        Loss weights of the validation loss (as the training weights).
    y_original : ndarray
        ``y_val`` as given (original labels), for ``scoring``.
    scoring_weight : ndarray of shape (n_val,) or None
        ``sample_weight_val`` as given, for ``scoring``.
    """

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    y_original: np.ndarray
    scoring_weight: np.ndarray | None = None


def resolve_device(device):
    """Turn ``"auto"`` into ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Examples
    --------
    >>> from skimbalance.base import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' or device='cpu'."
        )
    if str(device).startswith("mps") and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} was requested but MPS is not available on this "
            "machine; use device='auto' or device='cpu'."
        )
    return str(device)


@contextmanager
def torch_threads(n_threads):
    """Run a block with ``n_threads`` torch intra-op threads, then restore."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


#: The training data of a fit on a CUDA device are copied to the device once,
#: and each batch gathered there, when they take at most this share of its
#: free memory; otherwise every batch is copied from the host.
DEVICE_DATA_SHARE = 0.25


def training_inputs_on(inputs, device):
    """The training inputs of a fit, kept on ``device`` when they fit there.

    On a CUDA device whose free memory is at least ``1 / DEVICE_DATA_SHARE``
    times their size, the arrays become tensors on it, so that every batch is
    gathered on the device instead of copied from the host; otherwise (and on
    any other device) they are returned as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.base import training_inputs_on
    >>> inputs = {"data": np.zeros((4, 2), dtype=np.float32)}
    >>> training_inputs_on(inputs, "cpu") is inputs
    True
    """
    if not str(device).startswith("cuda"):
        return inputs
    nbytes = sum(np.asarray(value).nbytes for value in inputs.values())
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    if nbytes > DEVICE_DATA_SHARE * free:
        return inputs
    return {
        key: torch.as_tensor(np.asarray(value), device=device)
        for key, value in inputs.items()
    }


def _optimizer_kind(optimizer):
    """The optimizer's class, and for SAM its base optimizer's (whose state
    a warm start carries over)."""
    base = getattr(optimizer, "base_optimizer", None)
    return type(optimizer), None if base is None else type(base)


def _silent(*args, **kwargs):
    """A sink that prints nothing (picklable, unlike a lambda)."""


#: Constraints of the training options ``scoring``, ``warm_start`` and
#: ``optimizer_params`` and of the prediction option ``prior_correction``,
#: merged into the ``_parameter_constraints`` of every estimator that takes them.
TRAINING_OPTION_CONSTRAINTS = {
    "scoring": [None, str, callable],
    "warm_start": ["boolean"],
    "optimizer_params": [None, dict],
    "prior_correction": [
        StrOptions({"auto"}),
        Interval(numbers.Real, 0, None, closed="left"),
    ],
    "target_prior": [StrOptions({"uniform", "train"}), "array-like"],
    "head_retraining": [None, StrOptions({"crt", "lws"})],
    "tau_normalization": [Interval(numbers.Real, 0, None, closed="left")],
    "head_retraining_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
}

#: The torch optimizer of each value of ``optimizer``; ``"sam"`` wraps one of
#: the others (``optimizer_params["base_optimizer"]``, default ``"sgd"``).
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "sam": SAM,
}

#: SAM's own keys of ``optimizer_params`` and their defaults (Foret et al.).
_SAM_DEFAULTS = {"base_optimizer": "sgd", "rho": 0.05}

# What a warm start checks against the fitted network (restored when it is
# rejected, so that the fitted model stays usable).
_PROBLEM_ATTRIBUTES = (
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "n_outputs_",
    "class_counts_",
)

#: Keyword arguments of an optimizer that the estimator itself sets.
_OWN_OPTIMIZER_ARGS = {
    "params": "the network's parameters",
    "lr": "lr=",
    "weight_decay": "weight_decay=",
}


class BaseDeepClassifier(ClassifierMixin, BaseEstimator):
    """Shared base of the deep imbalanced-learning classifiers.

    Not meant to be used directly; see :class:`skimbalance.CrossEntropyClassifier`
    for the parameters every estimator shares.
    """

    # The training options below are constraints of the estimators that take
    # them in ``__init__`` (each merges TRAINING_OPTION_CONSTRAINTS): scikit-learn
    # asks every estimator's constraints to match its parameters exactly.
    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            PositiveIntSequence(allow_empty=True, what="hidden layer widths")
        ],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "backbone": [None, StrOptions(set(BACKBONES)), torch.nn.Module, callable],
        "input_shape": [
            None,
            PositiveIntSequence(allow_empty=False, what="input dimensions"),
        ],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "class_weight": [
            None,
            dict,
            list,
            StrOptions(set(CLASS_WEIGHT_SCHEMES)),
            EffectiveNumberWeights,
        ],
        "class_weight_start_epoch": [
            None,
            Interval(numbers.Integral, 0, None, closed="left"),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "callbacks": [None, list],
        "device": [TorchDevice()],
        "n_threads": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Set to False in a subclass whose predictions are not logits-based.
    _has_decision_function = True

    # Set to a sentence in a subclass for which continuing a fitted network
    # (warm_start=True) is ill-defined: fit then raises a ValueError with it.
    _warm_start_error = None
    #: None where ``head_retraining`` may re-train the head, else the
    #: sentence saying why not (``fit`` raises it).
    _head_retraining_error = None

    def __init__(
        self,
        *,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.embedding_dim = embedding_dim
        self.backbone = backbone
        self.input_shape = input_shape
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.class_weight = class_weight
        self.class_weight_start_epoch = class_weight_start_epoch
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.scoring = scoring
        self.warm_start = warm_start
        self.optimizer_params = optimizer_params
        self.prior_correction = prior_correction
        self.target_prior = target_prior
        self.head_retraining = head_retraining
        self.head_retraining_epochs = head_retraining_epochs
        self.tau_normalization = tau_normalization
        self.callbacks = callbacks
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def __sklearn_is_fitted__(self):
        # Fitted once a fit has completed: a fit that raised (e.g. on divergence)
        # removes ``net_``.
        return "net_" in self.__dict__

    # ------------------------------------------------------------ validation
    def _validate_X_predict(self, X):
        if self.__dict__.get("_scoring_in_fit"):
            return X  # ``scoring`` mid-fit, on rows that fit has validated
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32, order="C")
        return self._check_X_shape(X)

    def _input_shape(self):
        """The shape one row is reshaped to before the backbone, or None.

        ``input_shape`` when given, else the ``input_shape`` attribute that
        the backbone (a factory such as
        :class:`~skimbalance.backbones.ConvNetBackbone`, or a module) declares,
        if it is a sequence of positive integers; when both are there, they
        must agree.
        """
        own = None if self.input_shape is None else tuple(self.input_shape)
        declared = getattr(self.backbone, "input_shape", None)
        if not (
            isinstance(declared, (tuple, list, torch.Size))
            and len(declared) > 0
            and all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
                for d in declared
            )
        ):
            return own
        declared = tuple(int(d) for d in declared)
        if own is not None and own != declared:
            backbone = self.backbone
            if isinstance(backbone, torch.nn.Module):  # a module's repr is long
                backbone = type(backbone).__name__
            raise ValueError(
                f"input_shape={own} but the backbone {backbone!r} declares "
                f"input_shape={declared}; leave input_shape=None to use the "
                "backbone's, or give the same shape to both."
            )
        return declared

    def _check_X_shape(self, X):
        shape = self._input_shape()
        if shape is not None:
            expected = int(np.prod(shape))
            if X.shape[1] != expected:
                whose = "" if self.input_shape is not None else " (the backbone's)"
                raise ValueError(
                    f"X has {X.shape[1]} features but input_shape={shape}{whose} "
                    f"needs {expected} (the product of its dimensions)."
                )
        return X

    def _encode_targets(self, y):
        """Validate ``y``; set ``classes_``; return (y_enc (n, T), n_classes)."""
        y = np.asarray(y) if not hasattr(y, "shape") else y
        y_type = type_of_target(y, input_name="y")
        if y_type == "multilabel-indicator":
            y = np.asarray(y)
            if not np.isin(y, (0, 1)).all():
                raise ValueError("A multi-label target must be a 0/1 indicator matrix.")
            self.classes_ = np.arange(y.shape[1])
            self.n_outputs_ = y.shape[1]
            return y.astype(np.int64), 2
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            y = y.ravel()
        elif y.ndim == 2:
            raise ValueError(
                f"y has {y.shape[1]} columns but is not a 0/1 multi-label indicator "
                f"matrix (type {y_type!r}); multi-output multi-class targets are not "
                "supported."
            )
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {self.classes_[0]!r}."
            )
        self.n_outputs_ = 1
        return y_enc.reshape(-1, 1).astype(np.int64), self.classes_.shape[0]

    def _class_weights(self, y_enc, n_classes):
        """Per-task, per-class weights of shape (n_tasks, n_classes)."""
        n_tasks = y_enc.shape[1]
        counts = np.stack(
            [np.bincount(y_enc[:, t], minlength=n_classes) for t in range(n_tasks)]
        )
        cw = self.class_weight
        if cw is None:
            return counts, np.ones((n_tasks, n_classes))
        if cw == "balanced":  # n / (n_classes * count), as sklearn
            return counts, balanced_class_weights(counts)
        if isinstance(cw, EffectiveNumberWeights) or cw == "effective_number":
            scheme = cw if isinstance(cw, EffectiveNumberWeights) else None
            return counts, (scheme or EffectiveNumberWeights()).weights(counts)
        dicts = [cw] if isinstance(cw, dict) else list(cw)
        if len(dicts) != n_tasks or not all(isinstance(d, dict) for d in dicts):
            raise ValueError(
                "class_weight must be None, 'balanced', 'effective_number', an "
                "EffectiveNumberWeights, a dict {label: weight} for a multi-class "
                "target, or a list of one dict {0: w0, 1: w1} per label for a "
                f"multi-label target with {n_tasks} labels."
            )
        labels = self.classes_ if self.n_outputs_ == 1 else np.array([0, 1])
        weights = np.ones((n_tasks, n_classes))
        for t, mapping in enumerate(dicts):
            for label, value in mapping.items():
                hit = np.flatnonzero(labels == label)
                if hit.size == 0:
                    raise ValueError(
                        f"class_weight has a key {label!r} that is not a class of y "
                        f"(classes: {labels.tolist()})."
                    )
                key = f"[{t}][{label!r}]" if isinstance(cw, list) else f"[{label!r}]"
                check_weight_values({f"class_weight{key}": value}, "class_weight")
                weights[t, hit[0]] = value
        return counts, weights

    # ------------------------------------------------------------------ hooks
    def _build_backbone(self, ctx):
        """The user's backbone (a copy) or the default MLP, with its output size."""
        n_features = ctx.X.shape[1]
        factory = self.backbone
        if isinstance(factory, str) and factory == "tabular":
            factory = TabularBackbone()
        if isinstance(factory, TabularBackbone):
            if self._input_shape() is not None:
                raise ValueError(
                    f"input_shape={self._input_shape()} reshapes rows into "
                    "arrays, but the tabular backbone takes flat rows of "
                    "numerical features: leave input_shape=None."
                )
            backbone = factory(ctx.X)
            return backbone, backbone.out_features
        if self.backbone is None or (
            isinstance(self.backbone, str) and self.backbone == "mlp"
        ):
            backbone = MLPBackbone(
                n_features, tuple(self.hidden_layer_sizes), self.dropout
            )
            return backbone, backbone.out_features
        if isinstance(self.backbone, torch.nn.Module):
            backbone = copy.deepcopy(self.backbone)
        else:
            backbone = self.backbone()
            if not isinstance(backbone, torch.nn.Module):
                raise TypeError(
                    "backbone must be a torch.nn.Module or a callable returning one; "
                    f"got {type(backbone).__name__}."
                )
        shape = self._input_shape() or (n_features,)
        return backbone, infer_output_dim(backbone, shape)

    def _build_module(self, ctx):
        backbone, width = self._build_backbone(ctx)
        return MultiTaskNet(
            backbone,
            width,
            n_tasks=ctx.n_tasks,
            n_classes=ctx.n_classes,
            embedding_dim=self.embedding_dim,
            input_shape=self._input_shape(),
            head=self._build_head(ctx),
        )

    def _build_head(self, ctx):
        """The per-task classifier (None: the default linear one)."""
        return None

    def _build_criterion(self, ctx):
        return WeightedCrossEntropy()

    def _build_callbacks(self, ctx):
        return []

    def _net_kwargs(self, ctx):
        return {}

    def _recipe_callbacks(self, ctx):
        """Callbacks of the long-tail recipe options (``max_norm``), if any."""
        return []

    def _on_fit_end(self, ctx):
        pass

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the network on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs; flat rows, reshaped to ``input_shape`` when given.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (any labels scikit-learn accepts), or a 0/1 indicator
            matrix for a multi-label problem.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; multiplied with ``class_weight``.
        X_val : array-like of shape (n_val, n_features), default=None
            A validation set for early stopping, used instead of holding out
            ``validation_fraction`` of ``X`` (as
            :class:`~sklearn.ensemble.HistGradientBoostingClassifier`). Needs
            ``early_stopping=True`` and ``y_val``. In a
            :class:`~sklearn.pipeline.Pipeline`, route it with metadata
            routing and ``transform_input=["X_val"]``.
        y_val : array-like of shape (n_val,) or (n_val, n_labels), default=None
            Targets of ``X_val``, with the labels of ``y``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of ``X_val`` in the validation loss (times
            ``class_weight``) and in ``scoring``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        previous = self._net_to_continue()
        fitted_state = {
            key: self.__dict__[key]
            for key in _PROBLEM_ATTRIBUTES
            if previous is not None and key in self.__dict__
        }
        ctx, sw = self._prepare_fit(
            X, y, sample_weight, X_val, y_val, sample_weight_val, previous, fitted_state
        )
        rejected = False
        device = ctx.device
        fork_devices = (
            [torch.device(device).index or 0] if device.startswith("cuda") else []
        )
        with torch.random.fork_rng(devices=fork_devices), torch_threads(self.n_threads):
            torch.manual_seed(ctx.seed)
            self.net_ = self._build_net(
                ctx, scoring_weight=None if sample_weight is None else sw
            )
            inputs = {
                "data": ctx.X,
                "sample_weight": ctx.sample_weight,
                "index": np.arange(ctx.X.shape[0], dtype=np.int64),
            }
            try:
                # skorch's ``fit`` would initialise the net a second time and
                # say so at ``verbose >= 1`` ("Re-initializing module ...").
                # The second draw of the weights is kept, silently, so that a
                # given random_state gives the same network as before; then
                # ``partial_fit`` trains it (``fit`` minus the initialisation).
                verbose, self.net_.verbose = self.net_.verbose, 0
                try:
                    self.net_.initialize()
                finally:
                    self.net_.verbose = verbose
                if previous is not None:
                    try:
                        self._continue_from(previous)
                    except ValueError:
                        rejected = True  # the previous model stays fitted
                        raise
                self._check_head_retraining(ctx)
                self.net_.partial_fit(training_inputs_on(inputs, device), ctx.y)
                # The net keeps no validation data once trained.
                self.net_.train_split = None
                if self.head_retraining is not None:
                    retrain_task_head(
                        self.net_.module_,
                        ctx.X,
                        ctx.y[:, 0],
                        ctx.n_classes,
                        self.head_retraining,
                        epochs=self.head_retraining_epochs,
                        batch_size=self.batch_size,
                        device=device,
                        seed=ctx.seed,
                    )
                self._on_fit_end(ctx)
            except Exception:
                if rejected:
                    self.net_ = previous
                    self.__dict__.update(fitted_state)
                else:
                    del self.net_  # a failed fit leaves no usable (e.g. NaN) network
                raise
        self.n_iter_ = len(self.net_.history)
        return self

    def _check_head_retraining(self, ctx):
        """Refuse ``head_retraining`` where there is no linear head to re-train,
        before the network trains."""
        if self.head_retraining is None:
            return
        name = type(self).__name__
        if self._head_retraining_error is not None:
            raise ValueError(
                f"head_retraining={self.head_retraining!r}: "
                f"{self._head_retraining_error}"
            )
        if ctx.n_tasks > 1:
            raise ValueError(
                f"head_retraining={self.head_retraining!r} re-balances a "
                "multi-class head; this target is multi-label."
            )
        head = self.net_.module_.head
        if not isinstance(head, TaskLinear):
            raise ValueError(
                f"head_retraining={self.head_retraining!r} re-trains a linear "
                f"head, but this {name}'s head is a {type(head).__name__} "
                "(e.g. the cosine head of loss='ldam')."
            )

    def _prepare_fit(
        self, X, y, sample_weight, X_val, y_val, sample_weight_val, previous, fitted
    ):
        """Validate the training data and build the :class:`FitContext` of a fit.

        The targets encoded, the class counts and weights, the deferred
        weights (``class_weight_start_epoch``), the validation set, the seed
        and the device, in one place; sets ``classes_``, ``n_outputs_``,
        ``n_features_in_`` and ``class_counts_``. Returns ``(ctx, sw)``, ``sw``
        being the user's sample weights (ones when none were given). A
        rejected warm start (``previous``) restores the attributes ``fitted``.
        """
        try:
            X, y = validate_data(
                self,
                X,
                y,
                multi_output=True,
                dtype=np.float32,
                order="C",
                y_numeric=False,
            )
            X = self._check_X_shape(X)
            y_enc, n_classes = self._encode_targets(y)
            if previous is not None:
                self._check_same_problem(fitted)
        except Exception:
            if previous is not None:  # a rejected warm start keeps the model
                self.__dict__.update(fitted)
            raise
        epochs_done = len(previous.history) if previous is not None else 0
        sw = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        counts, class_weights = self._class_weights(y_enc, n_classes)
        weight = normalized_weights(
            sw, np.take_along_axis(class_weights.T, y_enc, axis=0)
        )
        drw_table = None
        if self._class_weight_start():  # deferred re-weighting (DRW)
            # Both factors scaled to their maximum (the split is scale-free in
            # each), so huge weights cannot overflow it.
            weight, drw_table = self._deferred_weights(
                sw / sw.max(), y_enc, class_weights / class_weights.max(), epochs_done
            )
        validation = self._validation_set(
            X_val, y_val, sample_weight_val, class_weights, drw_table is not None
        )
        ctx = FitContext(
            X=X,
            y=y_enc,
            sample_weight=weight,
            n_tasks=y_enc.shape[1],
            n_classes=n_classes,
            class_counts=counts,
            device=resolve_device(self.device),
            seed=fit_seed(self.random_state),
            deferred_class_weights=drw_table,
            validation=validation,
            epochs_done=epochs_done,
            class_weights=class_weights,
        )
        self.class_counts_ = counts if self.n_outputs_ > 1 else counts[0]
        return ctx, sw

    # ------------------------------------------------------------ warm start
    def _net_to_continue(self):
        """The fitted net that this fit continues (``warm_start``), or None."""
        if not self.warm_start or "net_" not in self.__dict__:
            return None
        if self._warm_start_error is not None:
            raise ValueError(
                f"{type(self).__name__} does not support warm_start=True: "
                f"{self._warm_start_error} Set warm_start=False."
            )
        return self.net_

    def _check_same_problem(self, fitted):
        """Raise unless this fit's data matches the fitted network's."""
        if self.n_features_in_ != fitted["n_features_in_"]:
            raise ValueError(
                f"warm_start=True continues the fitted network, which takes "
                f"{fitted['n_features_in_']} features, but X has "
                f"{self.n_features_in_}; fit with warm_start=False to train a new "
                "network."
            )
        same_classes = (
            self.n_outputs_ == fitted["n_outputs_"]
            and self.classes_.shape == fitted["classes_"].shape
            and bool(np.all(self.classes_ == fitted["classes_"]))
        )
        if not same_classes:
            what = "labels" if fitted["n_outputs_"] > 1 else "classes"
            raise ValueError(
                "warm_start=True continues the fitted network, which needs the "
                f"same {what} as the previous fit ({fitted['classes_'].tolist()}), "
                f"but y has {self.classes_.tolist()}; fit with warm_start=False to "
                "train a new network."
            )

    def _continue_from(self, previous):
        """Start ``net_`` from ``previous``: its weights, optimizer state, history.

        The new net was built from this fit's data (criterion, callbacks,
        validation split), so only what training has learned is carried over:
        the module's parameters, the optimizer's state (Adam's moments, SGD's
        momentum buffers) when the optimizer is the same (its
        hyper-parameters are this fit's ``lr``, ``weight_decay`` and
        ``optimizer_params``), and the history, which the new epochs extend.
        """
        net = self.net_
        try:
            net.module_.load_state_dict(previous.module_.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                "warm_start=True cannot continue the fitted network: the network "
                "the current parameters describe (backbone, hidden_layer_sizes, "
                "embedding_dim, loss, ...) has other parameter shapes. Fit with "
                f"warm_start=False to train a new one. ({exc})"
            ) from None
        if _optimizer_kind(net.optimizer_) == _optimizer_kind(previous.optimizer_):
            state = previous.optimizer_.state_dict()["state"]
            groups = net.optimizer_.state_dict()["param_groups"]
            net.optimizer_.load_state_dict({"state": state, "param_groups": groups})
        net.history = previous.history

    # ------------------------------------------------------------ validation
    def _validation_set(self, X_val, y_val, sample_weight_val, class_weights, drw):
        """Validate the user's validation set against the fitted problem."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError(
                    "sample_weight_val is passed to fit without X_val and y_val."
                )
            return None
        if X_val is None or y_val is None:
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} is passed to fit, but {missing} is not.")
        if not self.early_stopping:
            raise ValueError(
                "X_val and y_val are passed to fit, but early_stopping=False: the "
                "validation set is used by early stopping only; set "
                "early_stopping=True."
            )
        X_val = validate_data(self, X_val, reset=False, dtype=np.float32, order="C")
        X_val = self._check_X_shape(X_val)
        y_original = np.asarray(y_val) if not hasattr(y_val, "shape") else y_val
        check_consistent_length(X_val, y_original)
        if self.n_outputs_ > 1:
            y_original = np.asarray(y_original)
            if (
                y_original.ndim != 2
                or y_original.shape[1] != self.n_outputs_
                or not np.isin(y_original, (0, 1)).all()
            ):
                raise ValueError(
                    f"y_val must be a 0/1 indicator matrix with {self.n_outputs_} "
                    "columns, as y."
                )
            y_enc = y_original.astype(np.int64)
        else:
            y_original = np.asarray(y_original)
            if y_original.ndim == 2 and y_original.shape[1] == 1:
                y_original = y_original.ravel()
            if y_original.ndim != 1:
                raise ValueError(
                    f"y_val must be 1d, as y; got shape {y_original.shape}."
                )
            unknown = np.setdiff1d(y_original, self.classes_)
            if unknown.size:
                raise ValueError(
                    f"y_val has labels {unknown.tolist()} that are not classes of y "
                    f"(classes: {self.classes_.tolist()})."
                )
            y_enc = np.searchsorted(self.classes_, y_original).reshape(-1, 1)
            y_enc = y_enc.astype(np.int64)
        sw_val = _check_sample_weight(
            sample_weight_val, X_val, dtype=np.float64, ensure_non_negative=True
        )
        # The loss weights of the training rows: with DRW the sample weights
        # alone (DeferredReweighting multiplies the class factors into every
        # validation batch), else sample times class weight.
        cw_val = (
            np.ones_like(y_enc, dtype=np.float64)
            if drw
            else np.take_along_axis(class_weights.T, y_enc, axis=0)
        )
        return ValidationSet(
            X=X_val,
            y=y_enc,
            sample_weight=normalized_weights(sw_val, cw_val),
            y_original=y_original,
            scoring_weight=None if sample_weight_val is None else sw_val,
        )

    def _scorer(self):
        """``(history key, scorer)`` of ``scoring``, or None for the loss."""
        if self.scoring is None:
            return None
        scorer = check_scoring(self, scoring=self.scoring)
        name = self.scoring if isinstance(self.scoring, str) else "score"
        return f"valid_{name}", scorer

    def _score_during_fit(self, scorer, X, y, sample_weight=None):
        """``scorer(self, X, y)`` on already validated rows, in the middle of ``fit``."""
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        self._scoring_in_fit = True
        try:
            return scorer(self, X, y, **kwargs)
        finally:
            del self._scoring_in_fit

    def _optimizer_kwargs(self):
        """The optimizer's keyword arguments besides ``lr`` and ``weight_decay``.

        For ``optimizer="sam"``: SAM's ``base_optimizer`` (a class) and
        ``rho``, then the base optimizer's own arguments.
        """
        params = dict(self.optimizer_params or {})
        if self.optimizer != "sam":
            return self._base_optimizer_kwargs(self.optimizer, params)
        base = params.pop("base_optimizer", _SAM_DEFAULTS["base_optimizer"])
        rho = params.pop("rho", _SAM_DEFAULTS["rho"])
        bases = sorted(set(OPTIMIZERS) - {"sam"})
        if not isinstance(base, str) or base not in bases:
            raise ValueError(
                f"optimizer_params['base_optimizer'] must be one of {bases} (the "
                f"optimizer SAM wraps), got {base!r}."
            )
        if (
            isinstance(rho, bool)
            or not isinstance(rho, numbers.Real)
            or not (np.isfinite(rho) and rho >= 0)
        ):
            raise ValueError(
                "optimizer_params['rho'] (SAM's neighbourhood radius) must be a "
                f"finite number >= 0, got {rho!r}."
            )
        kwargs = self._base_optimizer_kwargs(base, params, sam=True)
        return {"base_optimizer": OPTIMIZERS[base], "rho": float(rho), **kwargs}

    def _base_optimizer_kwargs(self, name, params, sam=False):
        """The checked keyword arguments ``params`` of the torch optimizer ``name``."""
        cls = OPTIMIZERS[name]
        where = (
            f"optimizer='sam' with base_optimizer={name!r}"
            if sam
            else f"optimizer={name!r}"
        )
        kwargs = {"momentum": 0.9} if name == "sgd" else {}
        accepted = [
            name
            for name, p in inspect.signature(cls).parameters.items()
            if name not in _OWN_OPTIMIZER_ARGS
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if sam:
            accepted = list(_SAM_DEFAULTS) + accepted
        for key in params:
            if key in _OWN_OPTIMIZER_ARGS:
                raise ValueError(
                    f"optimizer_params has the key {key!r}, which the estimator "
                    f"sets itself (use {_OWN_OPTIMIZER_ARGS[key]}); "
                    f"torch.optim.{cls.__name__} takes: {', '.join(accepted)}."
                )
            if key not in accepted:
                hint = (
                    " (SAM's rho and base_optimizer need optimizer='sam')"
                    if key in _SAM_DEFAULTS
                    else ""
                )
                raise ValueError(
                    f"optimizer_params has the key {key!r}, which "
                    f"torch.optim.{cls.__name__} ({where}) does "
                    f"not take{hint}; it takes: {', '.join(accepted)}."
                )
        kwargs.update(params)
        try:  # torch checks the values (e.g. nesterov needs momentum > 0)
            cls(
                [torch.zeros(1, requires_grad=True)],
                lr=self.lr,
                weight_decay=self.weight_decay,
                **kwargs,
            )
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"optimizer_params={dict(self.optimizer_params or {})!r} is not "
                f"valid for torch.optim.{cls.__name__} ({where}): {exc}"
            ) from None
        return kwargs

    def _deferred_weights(self, sw, y_enc, class_weights, epochs_done=0):
        """Weights of the first epochs and the DRW factor table (T, C).

        ``epochs_done`` are the epochs of the network a warm start continues:
        the start epoch counts from the network's first epoch.
        """
        start = self._class_weight_start()
        if start >= epochs_done + self.max_epochs and not self._late_start_warned():
            done = f" + {epochs_done} epochs continued" if epochs_done else ""
            warn_once(
                self,
                f"class_weight_start_epoch={start} >= "
                f"max_epochs={self.max_epochs}{done}: the class weights never apply "
                "in training.",
                stacklevel=4,
            )
        return deferred_weights(sw, y_enc, class_weights)

    def _build_net(self, ctx, scoring_weight=None):
        """The skorch net of this fit, initialised.

        ``scoring_weight`` are the user's sample weights of the training rows
        (None when ``fit`` got none), passed to ``scoring`` on the rows that
        ``validation_fraction`` holds out.
        """
        callbacks = [
            ("divergence_check", DivergenceCheck()),
            ("epoch_means", EpochMeans()),
        ]
        callbacks += list(self._build_callbacks(ctx))
        callbacks += list(self._recipe_callbacks(ctx))
        if ctx.deferred_class_weights is not None:
            drw = DeferredReweighting(
                ctx.deferred_class_weights, self._class_weight_start()
            )
            callbacks.append(("deferred_reweighting", drw))
        train_split = None
        scorer = self._scorer()
        if scorer is not None and not self.early_stopping:
            warn_once(
                self,
                f"scoring={self.scoring!r} has no effect with early_stopping=False: "
                "it is the criterion of early stopping. Set early_stopping=True, or "
                "leave scoring=None.",
                stacklevel=3,
            )
        if self.early_stopping:
            if ctx.validation is not None:
                val = ctx.validation
                train_split = PredefinedValidationSplit(val.X, val.y, val.sample_weight)
                score_rows = (val.X, val.y_original, val.scoring_weight)
            else:
                train_split = StratifiedValidationSplit(
                    self.validation_fraction,
                    ctx.y[:, 0] if ctx.n_tasks == 1 else None,
                    ctx.seed,
                )
                y_original = (
                    self.classes_[ctx.y[:, 0]] if self.n_outputs_ == 1 else ctx.y
                )
                score_rows = (ctx.X, y_original, scoring_weight)
            if scorer is None:
                stopping = EarlyStopping(
                    monitor="valid_loss",
                    patience=self.n_iter_no_change,
                    load_best=True,
                    sink=print if self.verbose else _silent,
                )
            else:
                name, score = scorer
                callbacks.append(
                    (
                        "validation_score",
                        ValidationScore(
                            name, self._score_during_fit, score, *score_rows
                        ),
                    )
                )
                # Scores are higher-is-better and may be negative (neg_log_loss):
                # an absolute threshold, as MLPClassifier's ``tol``.
                stopping = EarlyStopping(
                    monitor=name,
                    patience=self.n_iter_no_change,
                    threshold_mode="abs",
                    lower_is_better=False,
                    load_best=True,
                    sink=print if self.verbose else _silent,
                )
            callbacks.append(("early_stopping", stopping))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks += copy.deepcopy(list(self.callbacks or []))
        kwargs = {} if self.verbose else {"callbacks__print_log": None}
        for key, value in self._optimizer_kwargs().items():
            kwargs[f"optimizer__{key}"] = value
        kwargs.update(self._net_kwargs(ctx))
        net = TrainingNet(
            module=self._build_module(ctx),
            criterion=self._build_criterion(ctx),
            optimizer=OPTIMIZERS[self.optimizer],
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            train_split=train_split,
            callbacks=callbacks,
            device=ctx.device,
            verbose=int(self.verbose),
            torch_load_kwargs={"weights_only": False},
            **kwargs,
        )
        return net.initialize()

    # ---------------------------------------------------------------- predict
    def _forward(self, X):
        """The module's outputs on validated ``X`` (CPU tensors), the logits
        τ-normalised (:meth:`_logit_scales`)."""
        scales = self._logit_scales()
        with torch_threads(self.n_threads):
            outputs = collect_outputs(self.net_, X, max(self.batch_size, 1024))
        if scales is None:
            return outputs
        return (outputs[0] * scales.to(outputs[0].dtype), *outputs[1:])

    def _checked_tau_normalization(self):
        """``tau_normalization``, refused where it is not a number >= 0 or
        where the scores are not a linear head's."""
        tau = self.tau_normalization
        if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or tau < 0:
            raise ValueError(f"tau_normalization must be a number >= 0, got {tau!r}.")
        head = self.net_.module_.head
        if tau and (
            self._head_retraining_error is not None or not isinstance(head, TaskLinear)
        ):
            raise ValueError(
                f"tau_normalization={tau!r} rescales the class vectors of a "
                f"linear head; this {type(self).__name__}'s scores do not come "
                f"from one (its head is a {type(head).__name__})."
            )
        return tau

    def _logit_scales(self):
        """``||w_c|| ** -tau_normalization`` per task and class, (T, C), or None.

        τ-normalisation (Kang et al., ICLR 2020) divides each class's weight
        vector and bias by its norm to the power τ, which divides that class's
        logit by the same number: a per-class scale of the logits. A class
        vector of norm 0 is left as it is.
        """
        tau = self._checked_tau_normalization()
        if not tau:
            return None
        head = self.net_.module_.head
        with torch.no_grad():
            norms = head.weight.detach().double().norm(dim=1).cpu()  # (T, C)
        norms = torch.where(norms > 0, norms, torch.ones_like(norms))
        return norms ** -float(tau)

    def _predict_task_proba(self, X):
        """Class probabilities per task, shape (n_samples, T, C)."""
        logits = self._forward(X)[0]
        return torch.softmax(logits.double(), dim=-1).numpy()

    def _log_training_prior(self):
        """Log of each class's share of the training set, shape (T, C).

        A class with no training sample (one value of a multi-label label)
        counts as one sample, as in
        :func:`~skimbalance.losses.logit_adjusted.log_class_prior`.
        """
        counts = np.asarray(self.class_counts_, dtype=np.float64)
        counts = np.maximum(counts.reshape(-1, counts.shape[-1]), 1.0)
        return np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))

    def _log_target_prior(self):
        """Log of ``target_prior`` per task and class, shape (T, C); the
        uniform prior as zeros (a constant per row changes no prediction and
        keeps ``decision_function`` as it was)."""
        target = self.target_prior
        n_tasks, n_classes = np.shape(self._log_training_prior())
        if isinstance(target, str):
            if target == "uniform":
                return np.zeros((n_tasks, n_classes))
            if target == "train":
                return self._log_training_prior()
            raise ValueError(
                "target_prior must be 'uniform', 'train' or an array of class "
                f"shares, got {target!r}."
            )
        if self.n_outputs_ > 1:
            raise ValueError(
                "target_prior must be 'uniform' or 'train' for a multi-label "
                "target; an array of class shares is for a multi-class one."
            )
        try:
            prior = np.asarray(target, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "target_prior must be 'uniform', 'train' or an array of class "
                f"shares, got {target!r}."
            ) from exc
        if prior.shape != (n_classes,):
            raise ValueError(
                f"target_prior must have one entry per class of classes_ "
                f"({n_classes}), got shape {prior.shape}."
            )
        if not np.isfinite(prior).all() or (prior <= 0).any():
            raise ValueError(
                "target_prior must hold finite, positive class shares (a class "
                "expected never to occur can get a tiny share instead of 0)."
            )
        return (np.log(prior) - np.log(prior.sum()))[None, :]

    def _prior_offsets(self):
        """What the prior correction subtracts from every log-score, (T, C).

        ``tau * (log(train prior) - log(target prior))``: the scores of a
        network calibrated to the training prior moved to ``target_prior``
        (Bayes' rule, Saerens et al., 2002; with the uniform target, the
        post-hoc logit adjustment of Menon et al., 2021). ``"auto"`` knows
        which prior the network was trained towards: the training prior
        (``tau = 1``), or, when its training was rebalanced, the uniform one,
        from which only the target's log prior is added.
        """
        log_target = self._log_target_prior()
        if isinstance(self.prior_correction, str) and self._rebalanced_training():
            return -log_target  # "auto" on a network trained to the uniform prior
        return self._prior_tau() * (self._log_training_prior() - log_target)

    def _class_weight_start(self):
        """The epoch the class weights start at: ``class_weight_start_epoch``
        (0 or ``None``: from the start; 0 when ``class_weight`` is None, which
        gives no weights to defer)."""
        if self.class_weight is None:
            return 0
        return self.class_weight_start_epoch or 0

    def _late_start_warned(self):
        """Whether a start of the class weights after the last epoch is
        already covered by a warning of the method (its curriculum's)."""
        return False

    def _rebalanced_training(self):
        """Whether the training already targets the balanced error (class
        weights here; a subclass adds its loss), after which
        ``prior_correction="auto"`` corrects nothing; a class-balanced
        re-training of the head counts as such."""
        return self.class_weight is not None or self.head_retraining is not None

    def _prior_tau(self):
        """The correction's ``tau``: ``prior_correction``, with ``"auto"``
        resolved to 1 for a network trained under the training prior and to 0
        when ``class_weight`` or a rebalancing ``loss`` already re-balanced its
        training (no double correction)."""
        tau = self.prior_correction
        if isinstance(tau, str):  # "auto"
            return 0.0 if self._rebalanced_training() else 1.0
        return float(tau)

    def _corrected_task_proba(self, X):
        """:meth:`_predict_task_proba` with the post-hoc prior correction.

        ``p_c * prior_c ** -tau``, renormalised: for softmax probabilities,
        exactly the softmax of the logits minus ``tau * log(prior)``; for
        other probabilities (MC-averaged, k-nearest-cluster) the same Bayes
        re-weighting of the posterior.
        """
        self._checked_tau_normalization()
        proba = self._predict_task_proba(X)
        offsets = self._prior_offsets()
        if not offsets.any():
            return proba
        # In log space, shifted by the row maximum: no underflow to 0 / 0.
        log_p = np.log(np.maximum(proba, np.finfo(np.float64).tiny)) - offsets
        log_p -= log_p.max(axis=-1, keepdims=True)
        corrected = np.exp(log_p)
        return corrected / corrected.sum(axis=-1, keepdims=True)

    def predict_proba(self, X):
        """Class probabilities of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Multi-class: columns in the order of ``classes_``, rows sum to 1.
            Multi-label: the probability of each label being 1 (as
            :class:`~sklearn.neural_network.MLPClassifier`).
        """
        X = self._validate_X_predict(X)
        proba = self._corrected_task_proba(X)
        if self.n_outputs_ == 1:
            return proba[:, 0, :]
        return proba[:, :, 1]

    def _source_posteriors(self, X):
        """Uncorrected class posteriors of ``X`` and the prior they are
        calibrated to: the uniform prior for a network whose training was
        rebalanced, else the training prior (multi-class only)."""
        if self.n_outputs_ > 1:
            raise ValueError(
                "estimating a deployment prior is for a multi-class target; "
                "this estimator was fitted on a multi-label one."
            )
        X = self._validate_X_predict(X)
        proba = self._predict_task_proba(X)[:, 0, :]
        if self._rebalanced_training():
            prior = np.full(proba.shape[1], 1.0 / proba.shape[1])
        else:
            prior = np.exp(self._log_training_prior()[0])
        return proba, prior

    def predict(self, X):
        """Predicted labels of ``X`` (original labels, from ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels for multi-class; a 0/1 indicator matrix for multi-label.
        """
        X = self._validate_X_predict(X)
        proba = self._corrected_task_proba(X)
        winners = proba.argmax(axis=-1)
        if self.n_outputs_ == 1:
            return self.classes_[winners[:, 0]]
        return winners.astype(np.int64)

    @available_if(lambda est: est._has_decision_function)
    def decision_function(self, X):
        """Logits of ``X``: ``(n_samples,)`` for binary, else one column per class/label.

        For a binary or multi-label task the score is the difference of the
        two logits, positive for the positive class.
        """
        X = self._validate_X_predict(X)
        return self._decision_output(self._forward(X)[0].double().numpy())

    def _decision_output(self, task_scores):
        """``decision_function``'s output from per-task class scores (n, T, C).

        The prior correction subtracted; then, for a binary or multi-label
        task, the difference of the two classes' scores, positive for the
        positive class (``(n,)`` or ``(n, T)``); else one column per class.
        """
        self._checked_tau_normalization()
        offsets = self._prior_offsets()
        if offsets.any():
            task_scores = task_scores - offsets
        if self.n_outputs_ > 1:
            return task_scores[:, :, 1] - task_scores[:, :, 0]
        scores = task_scores[:, 0, :]
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    # ----------------------------------------------- saving and serving hooks
    # Used by skimbalance.persistence (save_model / load_model) and
    # skimbalance.export (export_onnx); a method overrides them where its
    # fitted state or its decision rule needs it.
    def _fitted_state(self):
        """What :func:`~skimbalance.save_model` stores besides the parameters
        and the network: every instance attribute but the parameters and
        ``net_`` (the fitted attributes, public and private).

        Override to leave out what :meth:`_restore_fitted_state` rebuilds.
        """
        params = self.get_params(deep=False)
        return {
            key: value
            for key, value in vars(self).items()
            if key not in params and key != "net_"
        }

    def _restore_fitted_state(self, state):
        """Set the attributes :meth:`_fitted_state` gave (on loading)."""
        self.__dict__.update(state)

    def _build_fitted_net(self, device):
        """The skorch net of this fitted estimator, built without training.

        For :func:`~skimbalance.load_model`: the net ``fit`` builds for the
        fitted problem (``n_features_in_``, ``classes_``, ``n_outputs_``,
        ``class_counts_``) under the current parameters, initialised on
        ``device`` with fresh weights for the caller to overwrite. The method's
        build hooks see a :class:`FitContext` without rows (what they keep for
        training is unused); the attributes they set on the estimator are
        removed, and the global random state and the warn-once registry are
        left as they were.
        """
        n_features = self.n_features_in_
        n_tasks = self.n_outputs_
        classes = self.classes_
        for name, value in (("n_features_in_", n_features), ("n_outputs_", n_tasks)):
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if not isinstance(classes, np.ndarray) or classes.ndim != 1:
            raise ValueError("classes_ must be a 1-d array.")
        n_classes = 2 if n_tasks > 1 else classes.shape[0]
        counts = np.asarray(self.class_counts_)
        if counts.dtype.kind not in "iu" or counts.size != n_tasks * n_classes:
            raise ValueError(
                f"class_counts_ must hold {n_tasks * n_classes} integer counts."
            )
        ctx = FitContext(
            X=np.zeros((0, int(n_features)), dtype=np.float32),
            y=np.zeros((0, int(n_tasks)), dtype=np.int64),
            sample_weight=np.zeros((0, int(n_tasks)), dtype=np.float32),
            n_tasks=int(n_tasks),
            n_classes=int(n_classes),
            class_counts=counts.reshape(n_tasks, n_classes),
            device=device,
            seed=0,
        )
        fork_devices = (
            [torch.device(device).index or 0] if device.startswith("cuda") else []
        )
        state = dict(self.__dict__)
        try:
            with torch.random.fork_rng(devices=fork_devices), quiet():
                net = self._build_net(ctx)
        finally:
            self.__dict__.clear()
            self.__dict__.update(state)
        net.train_split = None
        return net

    def export_onnx(self, path):
        """Export the network of :meth:`decision_function` as an ONNX graph.

        The graph maps a float32 batch ``X`` of shape ``(n_samples,
        n_features_in_)`` (any number of rows) to ``decision_function(X)``
        (float64, named ``decision_function``), prior correction included, so
        that a server needs only an ONNX runtime (e.g. ``onnxruntime``), not
        PyTorch, skorch or this library. Needs the ``serve`` extra: ``pip
        install "skimbalance[serve]"``. See the user guide, "Saving and
        serving".

        Parameters
        ----------
        path : str or path-like
            File to write (conventionally ``*.onnx``).

        Returns
        -------
        path : str or path-like
            ``path``, as given.

        Raises
        ------
        ValueError
            When the estimator's ``decision_function`` cannot be written as a
            graph (e.g. :class:`~skimbalance.UncertaintyMarginClassifier`
            with ``mc_predict=True``).
        """
        from .export import export_onnx

        return export_onnx(self, path)

    def _task_scores_module(self):
        """A torch module, independent of the fitted net, from float32 rows
        ``(n, n_features)`` to the per-task class scores ``(n, T, C)`` that
        :meth:`decision_function` corrects and reduces (the network's logits
        here); :meth:`export_onnx` exports it. Raise a ValueError with the
        reason where the scores cannot be a graph."""
        from .export import NetworkLogits

        return NetworkLogits(self.net_.module_)
