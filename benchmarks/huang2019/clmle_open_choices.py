"""CLMLE's open choices (issue 19, findings 6-8), paired against plain CE.

Data: Fashion-MNIST pixels (784-d, in [0, 1]), a class-balanced pool of
``POOL_PER_CLASS`` training images per class cut to power-law class sizes at
γ = 1 (:func:`benchmarks.huang2019.table8.power_law_indices`: 2,000 down to
200 per class, so CLMLE's ``cluster_size=200`` gives 10 clusters down to 1),
the first ``N_TEST`` official test images; which class gets which size, and the
pool, follow the seed.

Rows (:data:`VARIANTS`): plain cross-entropy; CLMLE with its defaults
(deferred-acceptance assignment, normalised centroids, renormalised cost
weights); each of the three alternatives alone. Same small network for all
(one hidden layer of 256, 15 epochs: 3 of warm-up, 3 clustering rounds).

Prints, per row, balanced accuracy (%) mean ± sd over the seeds, each seed,
and the paired difference to plain CE and to the CLMLE default. Also the
Eq. 6 objective gap of the deferred-acceptance assignment against the exact
(auction) one on the final embedding of each seed's default CLMLE fit.

``python -m benchmarks.huang2019.clmle_open_choices [n_seeds]`` (3 seeds: about
10 CPU-minutes on one thread).
"""

import sys
import time

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

from skimbalance import CLMLEClassifier, CrossEntropyClassifier
from skimbalance.cluster.equal_size_spherical_kmeans import (
    balanced_assignment,
    equal_size_spherical_kmeans,
    equal_sizes,
)
from skimbalance.datasets import fetch_fashion_mnist

from .table8 import power_law_indices

POOL_PER_CLASS = 2000
N_TEST = 3000
GAMMA = 1.0
NET = dict(hidden_layer_sizes=(256,), max_epochs=15, n_threads=1)
CLMLE = dict(warmup_epochs=3, n_cluster_rounds=3)

VARIANTS = {
    "CE": lambda seed: CrossEntropyClassifier(random_state=seed, **NET),
    "CLMLE (defaults)": lambda seed: CLMLEClassifier(random_state=seed, **NET, **CLMLE),
    "CLMLE auction assignment": lambda seed: CLMLEClassifier(
        random_state=seed, cluster_assignment="auction", **NET, **CLMLE
    ),
    "CLMLE literal cost weights": lambda seed: CLMLEClassifier(
        random_state=seed, renormalize_cost_weights=False, **NET, **CLMLE
    ),
    "CLMLE unnormalised centroids": lambda seed: CLMLEClassifier(
        random_state=seed, normalize_centroids=False, **NET, **CLMLE
    ),
}


def load(seed):
    """Power-law training set and test subset of Fashion-MNIST for ``seed``."""
    train = fetch_fashion_mnist(subset="train")
    test = fetch_fashion_mnist(subset="test")
    X, y = np.asarray(train.data, np.float32), np.asarray(train.target)
    rng = np.random.default_rng(seed)
    pool = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), POOL_PER_CLASS, replace=False)
            for c in np.unique(y)  # a loop over classes
        ]
    )
    keep = pool[power_law_indices(y[pool], GAMMA, seed)]
    Xt, yt = np.asarray(test.data, np.float32), np.asarray(test.target)
    return X[keep], y[keep], Xt[:N_TEST], yt[:N_TEST]


def assignment_gap(clf, X, y):
    """Relative Eq. 6 gap (fixed centroids) of deferred acceptance vs the auction.

    Per class of the final embedding: k-means centroids, then both assignments
    with those centroids; returns the summed similarities' relative gap.
    """
    emb = torch.as_tensor(clf.transform(X))
    labels = np.asarray(y)
    da_total, opt_total = 0.0, 0.0
    for c in np.unique(labels):  # a loop over classes
        xc = emb[labels == c]
        k = max(1, xc.shape[0] // clf.cluster_size)
        if k < 2:
            continue
        _, cent = equal_size_spherical_kmeans(xc, k, random_state=0)
        caps = equal_sizes(xc.shape[0], k)
        for method in ("deferred_acceptance", "auction"):
            a = balanced_assignment(xc, cent, caps, method=method)
            val = float((xc.double() * cent.double()[a]).sum())
            if method == "auction":
                opt_total += val
            else:
                da_total += val
    return (opt_total - da_total) / opt_total


def main(n_seeds=3):
    scores = {name: [] for name in VARIANTS}
    gaps = []
    for seed in range(n_seeds):
        X, y, Xt, yt = load(seed)
        for name, make in VARIANTS.items():
            start = time.perf_counter()
            clf = make(seed).fit(X, y)
            score = 100 * balanced_accuracy_score(yt, clf.predict(Xt))
            scores[name].append(score)
            print(
                f"seed {seed} {name}: {score:.2f} ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            if name == "CLMLE (defaults)":
                gaps.append(assignment_gap(clf, X, y))
                print(f"seed {seed} Eq. 6 gap of deferred acceptance: {gaps[-1]:.4%}")
    ce = np.array(scores["CE"])
    base = np.array(scores["CLMLE (defaults)"])
    print(f"\nFashion-MNIST pixels, power law gamma={GAMMA}, {n_seeds} seeds")
    print("| row | bal. acc. % | seeds | vs CE | vs CLMLE defaults |")
    print("|---|---|---|---|---|")
    for name, vals in scores.items():
        v = np.array(vals)
        d_ce, d_base = v - ce, v - base
        print(
            f"| {name} | {v.mean():.2f} ± {v.std(ddof=1):.2f} | "
            f"{', '.join(f'{s:.2f}' for s in v)} | "
            f"{d_ce.mean():+.2f} ± {d_ce.std(ddof=1):.2f} | "
            f"{d_base.mean():+.2f} ± {d_base.std(ddof=1):.2f} |"
        )
    print(
        f"Eq. 6 gap of deferred acceptance on the final embeddings: "
        f"{', '.join(f'{g:.4%}' for g in gaps)}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
