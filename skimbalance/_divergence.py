"""Divergence detection of the shared training loop (private).

A fit whose loss goes non-finite must stop with a clear error rather than
leave a NaN network that predicts ``classes_[0]`` for every row.
:class:`DivergenceCheck` is a skorch callback every estimator's net carries.

Cost: no extra device synchronisation per step. skorch already copies every
step's loss to the host (``loss.item()``, recorded as ``train_loss``) and the
criteria copy their logged terms the same way, so the check reads those
floats after each training step. The step that produced a non-finite loss
has already run its optimizer update, but the error is raised before the next
step, before any epoch-level callback (clustering, MC-dropout refresh, early
stopping) reads the parameters and before the estimator counts as fitted.
Once per epoch, one reduction over the parameters (one synchronisation) also
catches parameters that overflowed while the last loss was still finite.
"""

import math

import torch
from skorch.callbacks import Callback

_SKORCH_KEYS = frozenset(
    {"train_loss", "valid_loss", "train_batch_size", "valid_batch_size"}
)


def _causes(net):
    return (
        "Likely causes: a learning rate too high for the optimizer "
        f"(lr={net.lr!r}), inputs on a very large scale (standardise X, e.g. with "
        "sklearn.preprocessing.StandardScaler), or extreme class_weight / "
        "sample_weight values."
    )


def _stage(net):
    stage = getattr(net.criterion_, "stage", None)
    return "" if stage is None else f", training stage {stage!r}"


class DivergenceCheck(Callback):
    """Raise ``FloatingPointError`` when training goes non-finite.

    After each training step: the step's loss and the terms its criterion
    logged (e.g. ``ce_loss`` and ``crl_loss``); at the end of each epoch:
    every parameter of the module. The message names the epoch, the batch,
    the non-finite term(s) and the likely causes.
    """

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        batches = net.history[-1, "batches"]
        row = batches[-1]
        loss = row.get("train_loss")
        if loss is None or math.isfinite(loss):
            return
        terms = {
            key: value
            for key, value in row.items()
            if key not in _SKORCH_KEYS
            and "loss" in key
            and isinstance(value, (int, float))
        }
        bad = {key: value for key, value in terms.items() if not math.isfinite(value)}
        if bad:
            detail = "non-finite term(s): " + ", ".join(
                f"{key}={value}" for key, value in sorted(bad.items())
            )
            if len(bad) < len(terms):
                detail += "; finite: " + ", ".join(
                    f"{key}={value:.4g}"
                    for key, value in sorted(terms.items())
                    if key not in bad
                )
        elif terms:
            detail = "its logged terms are finite (" + ", ".join(
                f"{key}={value:.4g}" for key, value in sorted(terms.items())
            )
            detail += "), so the weighted total overflowed"
        else:
            detail = f"the method's one loss term, {type(net.criterion_).__name__}"
        raise FloatingPointError(
            f"Training diverged: the training loss is {loss} at epoch "
            f"{len(net.history)}, batch {len(batches)}{_stage(net)} ({detail}). "
            f"{_causes(net)}"
        )

    def on_epoch_end(self, net, **kwargs):
        params = [p.detach() for p in net.module_.parameters()]
        if not params:
            return
        finite = torch.stack([torch.isfinite(p).all() for p in params])
        if bool(finite.all()):
            return
        names = [
            name
            for (name, _), ok in zip(
                net.module_.named_parameters(), finite.tolist(), strict=True
            )
            if not ok
        ]
        raise FloatingPointError(
            f"Training diverged: after epoch {len(net.history)}{_stage(net)} the "
            f"network's parameters {', '.join(names[:5])}"
            f"{' ...' if len(names) > 5 else ''} hold non-finite values although "
            f"the last training loss was finite. {_causes(net)}"
        )
