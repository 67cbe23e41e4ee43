"""A plain reference of the MC-dropout moments, for the streaming tests.

The full computation as it was before the statistics were streamed: every
chunk through the whole model, the moments of all chunks kept in lists and
concatenated, every moment written out as a sum over the passes. It draws its
masks from torch's random stream exactly as
:func:`skimbalance.uncertainty.mc_dropout.mc_dropout_statistics` does with
``seed=None`` (one forward pass of ``batch_size * n_samples`` rows per chunk),
so the two agree to rounding.
"""

import torch

from skimbalance.uncertainty.mc_dropout import DROPOUT_TYPES, MCDropoutStatistics


def reference_mc_dropout_statistics(
    model, X, *, n_samples=10, batch_size=256, keep_passes=False, **ignored
):
    """Every moment of :class:`MCDropoutStatistics`, whatever ``ignored`` asks."""
    modes = [(mod, mod.training) for mod in model.modules()]
    model.eval()
    for mod in model.modules():
        if isinstance(mod, DROPOUT_TYPES):
            mod.train()
    pm, pv, fm, fv, fd = [], [], [], [], []
    try:
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                chunk = X[start : start + batch_size]
                b = chunk.shape[0]
                logits, features = model(chunk.repeat(n_samples, 1))[:2]
                probs = torch.softmax(logits, dim=-1).double()
                features = features.double()
                probs = [probs[k * b : (k + 1) * b] for k in range(n_samples)]
                feats = [features[k * b : (k + 1) * b] for k in range(n_samples)]
                p_mean = sum(probs) / n_samples
                f_mean = sum(feats) / n_samples
                pm.append(p_mean)
                pv.append(sum((p - p_mean) ** 2 for p in probs) / n_samples)
                fm.append(f_mean)
                fv.append(sum((f - f_mean) ** 2 for f in feats) / n_samples)
                fd.append(torch.stack([f - f_mean for f in feats], dim=1))
    finally:
        for mod, mode in modes:
            mod.training = mode
    return MCDropoutStatistics(
        prob_mean=torch.cat(pm).float(),
        prob_var=torch.cat(pv).float(),
        feature_mean=torch.cat(fm).float(),
        feature_var=torch.cat(fv),
        feature_deviations=torch.cat(fd).float() if keep_passes else None,
    )
