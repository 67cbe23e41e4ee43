"""The plain (and cost-sensitive) cross-entropy network: the like-for-like baseline."""

from ..base import BaseDeepClassifier

SHARED_PARAMETERS_DOC = """
    hidden_layer_sizes : tuple of int, default=(512, 512)
        Widths of the default MLP backbone's hidden layers (ReLU, then dropout).
        Ignored when ``backbone`` is given.
    dropout : float, default=0.5
        Dropout probability after each hidden layer of the default backbone.
    embedding_dim : int, default=64
        Size of each task's embedding layer (the per-attribute 64-d FC2 of
        Dong et al.); the classifier of each task reads it.
    backbone : torch.nn.Module, callable or None, default=None
        Your own feature extractor (e.g. a CNN): a module (copied at ``fit``,
        never modified) or a callable returning one. Its output is flattened.
        ``None`` uses the MLP given by ``hidden_layer_sizes``.
    input_shape : tuple of int or None, default=None
        Shape of one input, e.g. ``(1, 28, 28)``: flat rows of ``X`` are
        reshaped to it before the backbone, so samplers that need 2-D ``X``
        can run before the estimator in a pipeline.
    max_epochs : int, default=30
        Number of training epochs (passes over the training set).
    batch_size : int, default=128
        Mini-batch size.
    lr : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.0
        L2 penalty of the optimizer.
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        Optimizer (SGD uses momentum 0.9).
    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes in the loss, multiplied with ``sample_weight``.
        ``"balanced"`` uses ``n_samples / (n_classes * count)``; a dict maps
        labels to weights; for a multi-label target, a list of one dict
        ``{0: w0, 1: w1}`` per label.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training set and
        stop when its loss has not improved for ``n_iter_no_change`` epochs,
        keeping the best parameters.
    validation_fraction : float, default=0.1
        Fraction held out when ``early_stopping`` is on.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    callbacks : list or None, default=None
        Extra skorch callbacks (instances or ``(name, callback)`` pairs),
        copied at ``fit``.
    device : str, default="auto"
        Torch device; ``"auto"`` takes CUDA when available, else the CPU.
    n_threads : int or None, default=None
        Torch intra-op threads during ``fit`` and prediction; ``None`` leaves
        torch's setting alone.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout. The same value
        gives the same predictions on the CPU; the caller's global random
        state is left as it was.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar per epoch and the training log.
"""

SHARED_ATTRIBUTES_DOC = """
    classes_ : ndarray of shape (n_classes,)
        Class labels (multi-class), or label indices (multi-label).
    n_outputs_ : int
        1 for multi-class, the number of labels for multi-label.
    class_counts_ : ndarray
        Training-set count of each class (shape ``(n_classes,)``), or per label
        ``(n_labels, 2)`` for multi-label.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string column
        names.
    net_ : skorch.NeuralNet
        The fitted skorch net: ``net_.history``, ``net_.module_``,
        ``net_.save_params`` …
    n_iter_ : int
        Number of epochs run.
"""


class CrossEntropyClassifier(BaseDeepClassifier):
    __doc__ = f"""Neural network trained with (cost-sensitive) cross-entropy.

    The same backbone, embedding layer and training loop as every method of
    the library, with the plain cross-entropy loss: the like-for-like baseline
    of the benchmarks. With ``class_weight="balanced"`` it is the
    cost-sensitive baseline.

    Parameters
    ----------{SHARED_PARAMETERS_DOC}
    Attributes
    ----------{SHARED_ATTRIBUTES_DOC}
    See Also
    --------
    CRLClassifier, CLMLEClassifier, UncertaintyMarginClassifier

    References
    ----------
    .. [1] H. He and E. A. Garcia, "Learning from imbalanced data", IEEE
       Transactions on Knowledge and Data Engineering, 21(9), 2009 (the
       cost-sensitive baseline).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skimbalance import CrossEntropyClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CrossEntropyClassifier(hidden_layer_sizes=(64,), max_epochs=20,
    ...                              class_weight="balanced", random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    """

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
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        device="auto",
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
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
