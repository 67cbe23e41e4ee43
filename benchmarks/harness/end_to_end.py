"""What the end-to-end variants (``--backbone cnn``) share: the network, the rows.

The papers train their networks end to end on images; the ``cnn`` variants
of ``full`` (Khan et al.'s Table 5), ``table8`` (Huang et al.'s Table 8) and
``crl_ablation`` (Dong et al.'s Table 4) do the same on the 28 × 28 images of
MNIST and Fashion-MNIST, with the library's
:class:`~skimbalance.ConvNetBackbone`, instead of training a small network on
pretrained features. They share:

- :data:`INPUT_SHAPE` and the two sizes of the CNN: :data:`CPU_CNN`, small
  enough for the profiles to fit in 90 minutes on the project's two cores,
  and :data:`GPU_CNN`, the larger network of ``--scale gpu``;
- :func:`cnn_net`, the network settings of a profile (the backbone, the
  input shape, epochs, batch size, learning rate);
- :func:`image_row`, a row of :mod:`benchmarks.harness.methods` on raw pixels
  (already in [0, 1]: no standard scaler in front, unlike the feature rows).

Images travel as flat rows of 784 pixels, so imbalanced-learn's samplers
(``SMOTE + CE``) resample them as they are; the network reshapes each row to
``(1, 28, 28)``.
"""

from skimbalance import ConvNetBackbone

from .methods import all_rows

#: Shape of one image: 28 x 28 grey pixels (channels, height, width).
INPUT_SHAPE = (1, 28, 28)

#: The CNN of the CPU runs: two conv blocks of 16 and 32 filters, a 256-unit
#: layer, dropout 0.5, in the channels-last memory format. Measured on the
#: project's machine (one thread, batch 128, the bare network's update):
#: 23 ms channels-last against 30 ms contiguous, and 62 against 76 ms for
#: the (32, 64) default: this width at 2.7 times the default's speed.
CPU_CNN = dict(channels=(16, 32), hidden=256, dropout=0.5, channels_last=True)

#: The CNN of ``--scale gpu``: three conv blocks of 32, 64 and 128 filters
#: with batch normalisation, a 256-unit layer, dropout 0.5 (contiguous
#: layout: channels-last was not measured on a GPU).
GPU_CNN = dict(channels=(32, 64, 128), hidden=256, dropout=0.5, batch_norm=True)


def cnn_net(cnn=None, *, max_epochs, batch_size=128, lr=1e-3):
    """The network settings (``Profile.net``) of an end-to-end variant.

    Parameters
    ----------
    cnn : dict or None, default=None
        Keyword arguments of :class:`~skimbalance.ConvNetBackbone` besides the
        input shape; None: :data:`CPU_CNN`.
    max_epochs : int
    batch_size : int, default=128
    lr : float, default=1e-3

    Returns
    -------
    net : dict
        ``backbone`` (a :class:`~skimbalance.ConvNetBackbone` factory, whose
        ``repr`` enters the cache fingerprint), ``input_shape``,
        ``max_epochs``, ``batch_size`` and ``lr``.

    Examples
    --------
    >>> from benchmarks.harness.end_to_end import cnn_net
    >>> net = cnn_net(max_epochs=10)
    >>> net["backbone"].channels, net["input_shape"], net["max_epochs"]
    ((16, 32), (1, 28, 28), 10)
    >>> net["backbone"].channels_last
    True
    """
    backbone = ConvNetBackbone(INPUT_SHAPE, **(CPU_CNN if cnn is None else cnn))
    return dict(
        backbone=backbone,
        input_shape=INPUT_SHAPE,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
    )


def image_row(name, random_state, **net):
    """A row of the registry on raw pixels: its estimator, no scaler in front.

    The ``make_row`` of the end-to-end experiments (a module-level function:
    runs go to worker processes).

    Parameters
    ----------
    name : str
        A row of :func:`benchmarks.harness.methods.all_rows`.
    random_state : int
    **net
        The profile's network settings (:func:`cnn_net`).

    Returns
    -------
    estimator : estimator or imblearn.pipeline.Pipeline

    Examples
    --------
    >>> from benchmarks.harness.end_to_end import cnn_net, image_row
    >>> type(image_row("CE", 0, **cnn_net(max_epochs=1))).__name__
    'CrossEntropyClassifier'
    >>> [step for step, _ in image_row("SMOTE + CE", 0, max_epochs=1).steps]
    ['smote', 'crossentropyclassifier']
    """
    rows = all_rows()
    if name not in rows:
        raise ValueError(f"unknown row {name!r}; the registry has {sorted(rows)}.")
    return rows[name](random_state, **net)
