"""Predictions of every estimator at default settings, to compare two checkouts.

Run it once with each checkout first on ``PYTHONPATH`` and compare the files::

    PYTHONPATH=/path/to/old python tests/scripts/default_predictions.py old.npz
    PYTHONPATH=$PWD python tests/scripts/default_predictions.py new.npz
    python tests/scripts/default_predictions.py --compare old.npz new.npz

A change that must not move any existing result (a new option whose default
keeps the old behaviour) must give bitwise-identical arrays: ``--compare``
exits with status 1 and names the differing entries otherwise. Each estimator
runs at its defaults (30 epochs of the 512-512 MLP, CPU, ``random_state=0``)
and under the options whose code paths a training-loop change touches: SGD
(momentum 0.9), early stopping on the validation loss, deferred re-weighting.
"""

import sys

import numpy as np
from sklearn.datasets import make_classification

CONFIGS = {
    "default": {},
    "sgd": {"optimizer": "sgd", "lr": 1e-2},
    "early_stopping": {"early_stopping": True, "n_iter_no_change": 3},
    "drw": {"class_weight": "balanced", "class_weight_start_epoch": 20},
}


def predictions():
    import skimbalance

    X, y = make_classification(
        n_samples=400,
        n_features=12,
        n_informative=6,
        weights=[0.85, 0.15],
        random_state=0,
    )
    X = X.astype(np.float32)
    out = {}
    for name in (
        "CrossEntropyClassifier",
        "CRLClassifier",
        "CLMLEClassifier",
        "UncertaintyMarginClassifier",
    ):
        cls = getattr(skimbalance, name)
        for config, params in CONFIGS.items():
            if name == "CLMLEClassifier" and config == "early_stopping":
                continue  # CLMLE rejects early stopping
            clf = cls(device="cpu", n_threads=1, random_state=0, **params)
            clf.fit(X[:300], y[:300])
            out[f"{name}/{config}"] = clf.predict_proba(X[300:])
            out[f"{name}/{config}/n_iter"] = np.array(clf.n_iter_)
            print(name, config, "done", flush=True)
    return out


def main(argv):
    if argv[:1] == ["--compare"]:
        old, new = np.load(argv[1]), np.load(argv[2])
        differ = [
            key
            for key in sorted(set(old) | set(new))
            if key not in old
            or key not in new
            or old[key].tobytes() != new[key].tobytes()
        ]
        print(f"{len(old)} entries compared; {len(differ)} differ: {differ}")
        return 1 if differ else 0
    np.savez(argv[0], **predictions())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
