"""A 2-D view of the clusters CLMLE learns (Huang et al., Fig. 5).

Trains :class:`skimbalance.CLMLEClassifier` on scikit-learn's digits made
imbalanced (10 % of the training samples of classes 5-9 kept) and shows a t-SNE
map of the training embeddings, with the centroids of clusters of 30 points,
next to the same map
of the cross-entropy warm-up alone (the "prior features": the same estimator with
``warmup_epochs == max_epochs``, clustered and classified by the same rule). The
titles give the held-out balanced accuracy of each, and of the cross-entropy
baseline.

Run from the repository root::

    python docs/user_guide/examples/plot_clmle.py

It writes ``docs/user_guide/images/clmle_clusters.png``.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skimbalance import CLMLEClassifier, CrossEntropyClassifier
from skimbalance.datasets import keep_fraction_of_classes

OUT = Path(__file__).resolve().parents[1] / "images" / "clmle_clusters.png"


def embed_2d(model, X, seed):
    """t-SNE of the training embeddings and the centroids together."""
    points = np.vstack([model.transform(X), model.centroids_])
    xy = TSNE(
        n_components=2, metric="cosine", init="pca", perplexity=30, random_state=seed
    ).fit_transform(points)
    return xy[: len(X)], xy[len(X) :]


def panel(ax, model, X, y, minority, seed, title):
    xy, centres = embed_2d(model, X, seed)
    cmap = plt.get_cmap("tab10")
    for c in model.classes_:
        rows = y == c
        ax.scatter(
            xy[rows, 0],
            xy[rows, 1],
            s=9 if c in minority else 5,
            color=cmap(int(c)),
            alpha=0.9 if c in minority else 0.45,
            marker="^" if c in minority else "o",
            linewidths=0,
        )
        mine = model.cluster_labels_ == c
        ax.scatter(
            centres[mine, 0],
            centres[mine, 1],
            s=60,
            color=cmap(int(c)),
            edgecolors="black",
            linewidths=0.8,
            marker="*" if c in minority else "o",
        )
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def main(seed=0):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=seed
    )
    minority = np.arange(5, 10)
    X_train, y_train = keep_fraction_of_classes(
        X_train, y_train, fraction=0.1, classes=minority, random_state=seed
    )
    net = dict(n_threads=1, random_state=seed)
    # About 90 training points per majority class: clusters of 30 give each
    # three (the default, the paper's 200, would make every class one cluster).
    clusters = dict(cluster_size=30)
    clmle = CLMLEClassifier(**clusters, **net).fit(X_train, y_train)
    prior = CLMLEClassifier(warmup_epochs=30, **clusters, **net).fit(X_train, y_train)
    baseline = CrossEntropyClassifier(**net).fit(X_train, y_train)
    scores = {
        name: balanced_accuracy_score(y_test, model.predict(X_test))
        for name, model in [("clmle", clmle), ("prior", prior), ("ce", baseline)]
    }

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 5))
    panel(
        left,
        prior,
        X_train,
        y_train,
        minority,
        seed,
        "cross-entropy embedding (prior features), k-NC: "
        f"balanced acc. {scores['prior']:.3f}",
    )
    panel(
        right,
        clmle,
        X_train,
        y_train,
        minority,
        seed,
        f"CLMLE embedding, k-NC: balanced acc. {scores['clmle']:.3f}",
    )
    fig.suptitle(
        "Digits, 10 % of classes 5-9 kept (triangles / stars: minority samples / "
        "centroids; circles: majority). Cross-entropy softmax: balanced acc. "
        f"{scores['ce']:.3f}",
        fontsize=9,
    )
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")
    for name, value in scores.items():
        print(f"{name:6s} balanced accuracy {value:.3f}")


if __name__ == "__main__":
    main()
