"""
Multi-label targets: attributes of digits
=========================================

A 2-D 0/1 indicator matrix as ``y`` makes a multi-label problem, the papers'
facial and clothing *attributes*: each column is a binary task, often a very
imbalanced one. Here four attributes are read off the digits' labels, from a
rare one ("is a zero", 10 % positives) to a balanced one ("is even"), and
:class:`~skimbalance.CRLClassifier`, which applies its loss to the minority
class of each label in each batch, is compared with the cross-entropy network
label by label. See "Multi-label targets" in :doc:`../user_guide/shared`.
"""

# %%
# An indicator-matrix target
# --------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skimbalance import CRLClassifier, CrossEntropyClassifier

X, digit = load_digits(return_X_y=True)
attributes = {
    "zero": np.isin(digit, [0]),
    "one or seven": np.isin(digit, [1, 7]),
    "closed loop (0, 6, 8, 9)": np.isin(digit, [0, 6, 8, 9]),
    "even": digit % 2 == 0,
}
Y = np.column_stack(list(attributes.values())).astype(int)
print("positive rate per label:", Y.mean(axis=0).round(2).tolist())
X_train, X_test, Y_train, Y_test = train_test_split(
    X / 16.0, Y, test_size=0.5, random_state=0
)

# %%
# Fit and predict
# ---------------
# ``predict`` returns an indicator matrix of the same shape, ``predict_proba``
# the probability of each label being 1.
net = dict(max_epochs=15, batch_size=64, n_threads=1, random_state=0)
models = {
    "cross-entropy": CrossEntropyClassifier(**net),
    "CRL": CRLClassifier(**net),
}
scores = {}
for name, model in models.items():
    Y_pred = model.fit(X_train, Y_train).predict(X_test)
    scores[name] = [
        balanced_accuracy_score(Y_test[:, j], Y_pred[:, j]) for j in range(Y.shape[1])
    ]
    print(name, "balanced accuracy per label:", np.round(scores[name], 3).tolist())
print("predict:", Y_pred.shape, " predict_proba:", model.predict_proba(X_test).shape)

# %%
# Balanced accuracy of each label
# -------------------------------
fig, ax = plt.subplots(figsize=(7, 3))
pos = np.arange(len(attributes))
for offset, (name, values) in zip((-0.2, 0.2), scores.items(), strict=True):
    ax.bar(pos + offset, values, 0.4, label=name)
ax.set(xticks=pos, ylabel="test balanced accuracy", ylim=(0.9, 1.005))
ax.set_xticklabels(list(attributes), fontsize=8)
ax.legend(ncol=2, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
fig.tight_layout()
plt.show()
