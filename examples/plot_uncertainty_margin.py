"""
Margins from MC-dropout uncertainty
===================================

:class:`~skimbalance.UncertaintyMarginClassifier` (Khan et al., CVPR 2019)
measures, with Monte-Carlo dropout, how uncertain the network is about each
class, and gives the most uncertain classes the largest margins. On imbalanced
digits the rare classes are the uncertain ones. This example plots, per class,
the training frequency, the measured class uncertainty and the margin it set,
and the held-out recall next to the cross-entropy baseline. With its defaults
the method also switches on balanced class weights after the warm-up, once the
margins are set, and keeps those margins (``class_weight=None`` is the paper's
method; see the user guide's "How it compares").

The user guide's figure (:doc:`../user_guide/uncertainty_margin`) is made by
``docs/user_guide/examples/plot_uncertainty_margin.py``.
"""

# %%
# Data and fit
# ------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split

from skimbalance import CrossEntropyClassifier, UncertaintyMarginClassifier
from skimbalance.datasets import keep_fraction_of_classes

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)
X_train, y_train = keep_fraction_of_classes(
    X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=0
)
net = dict(max_epochs=30, batch_size=64, n_threads=1, random_state=0)
method = UncertaintyMarginClassifier(**net).fit(X_train, y_train)
baseline = CrossEntropyClassifier(**net).fit(X_train, y_train)

# %%
# What the last MC-dropout refresh measured
# -----------------------------------------
# ``class_uncertainty_`` is the mean MC-dropout variance of each class's
# training samples, and ``class_margins_`` the margin it mapped to.
print("training samples:", method.class_counts_.tolist())
print("class uncertainty:", np.round(method.class_uncertainty_, 4).tolist())
print("margins:", method.class_margins_.tolist())

# %%
# Frequency, uncertainty, margin and recall
# -----------------------------------------
pos = np.arange(len(method.classes_))
recall = {
    "cross-entropy": recall_score(y_test, baseline.predict(X_test), average=None),
    "uncertainty margins": recall_score(y_test, method.predict(X_test), average=None),
}
fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
top.bar(pos, method.class_counts_, color="0.75")
top.set_ylabel("training samples")
twin = top.twinx()
twin.plot(pos, method.class_uncertainty_, "o-", color="C3")
twin.set_ylabel("class uncertainty", color="C3")
twin.set_ylim(0, 1.3 * float(np.max(method.class_uncertainty_)))
for p, m in zip(pos, method.class_margins_, strict=True):
    twin.annotate(
        f"m={m}",
        (p, method.class_uncertainty_[p]),
        textcoords="offset points",
        xytext=(0, 7),
        ha="center",
        fontsize=8,
        color="C3",
    )
for offset, (name, values) in zip((-0.2, 0.2), recall.items(), strict=True):
    score = balanced_accuracy_score(
        y_test, (baseline if name == "cross-entropy" else method).predict(X_test)
    )
    bottom.bar(pos + offset, values, 0.4, label=f"{name} (BA {score:.3f})")
bottom.set(ylim=(0, 1.3), ylabel="test recall", xlabel="digit", xticks=pos)
bottom.legend(loc="upper center", ncol=2)
fig.tight_layout()
plt.show()
