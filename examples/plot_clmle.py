"""
Clusters and the k-nearest-cluster rule of CLMLE
================================================

:class:`~skimbalance.CLMLEClassifier` (Huang, Li, Loy and Tang, TPAMI) clusters
each class in the embedding space, learns an embedding that keeps the clusters
of different classes apart by a margin, and classifies a sample by its
nearest clusters (the k-nearest-cluster rule). This example fits it on
imbalanced digits and draws a 2-D map of the learned embedding with the
cluster centroids.

The user guide (:doc:`../user_guide/clmle`) compares this map with the one of
the cross-entropy warm-up alone; that figure is made by
``docs/user_guide/examples/plot_clmle.py``.
"""

# %%
# Data and fit
# ------------
# About 90 training samples per frequent class: clusters of 30 points give each
# of them three clusters, and each rare class (9 samples) one.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skimbalance import CLMLEClassifier, CrossEntropyClassifier
from skimbalance.datasets import keep_fraction_of_classes

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)
minority = np.arange(5, 10)
X_train, y_train = keep_fraction_of_classes(
    X_train, y_train, fraction=0.1, classes=minority, random_state=0
)

net = dict(max_epochs=30, n_threads=1, random_state=0)
clmle = CLMLEClassifier(cluster_size=30, **net).fit(X_train, y_train)
baseline = CrossEntropyClassifier(**net).fit(X_train, y_train)
for name, model in (("CLMLE (k-NC)", clmle), ("cross-entropy", baseline)):
    score = balanced_accuracy_score(y_test, model.predict(X_test))
    print(f"{name:14s} balanced accuracy {score:.3f}")

# %%
# The fitted clusters
# -------------------
# ``centroids_`` holds one row per cluster and ``cluster_labels_`` its class;
# ``transform`` gives the embedding the rule works in.
print("clusters per class:", np.bincount(clmle.cluster_labels_))
embedding = clmle.transform(X_train)
print("embedding shape:", embedding.shape)

# %%
# A 2-D map of the embedding
# --------------------------
# t-SNE of the training embeddings and the centroids together (cosine distance,
# as the rule). Triangles and stars: rare-class samples and centroids.
points = np.vstack([embedding, clmle.centroids_])
xy = TSNE(metric="cosine", init="pca", perplexity=30, random_state=0).fit_transform(
    points
)
samples, centres = xy[: len(X_train)], xy[len(X_train) :]
cmap = plt.get_cmap("tab10")
fig, ax = plt.subplots(figsize=(6, 5))
for c in clmle.classes_:
    rare = c in minority
    rows = y_train == c
    ax.scatter(
        *samples[rows].T,
        s=12 if rare else 6,
        color=cmap(int(c)),
        alpha=0.9 if rare else 0.4,
        marker="^" if rare else "o",
        linewidths=0,
    )
    mine = clmle.cluster_labels_ == c
    ax.scatter(
        *centres[mine].T,
        s=80,
        color=cmap(int(c)),
        edgecolors="k",
        marker="*" if rare else "o",
        label=str(c),
    )
ax.set(xticks=[], yticks=[], title="CLMLE embedding of imbalanced digits")
ax.legend(title="digit", fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
fig.tight_layout()
plt.show()
