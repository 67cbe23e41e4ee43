"""
Class Rectification Loss on imbalanced digits
=============================================

:class:`~skimbalance.CRLClassifier` (Dong, Gong and Zhu, ICCV 2017) adds to the
cross-entropy a triplet loss on the hard samples of the minority classes of
each mini-batch. Here it is trained on digits where classes 5-9 keep 10 % of
their training samples, next to the plain cross-entropy network, and the
recall of each class is compared on the balanced test half.

The user guide's figure (:doc:`../user_guide/crl`) is the same experiment
averaged over five seeds, made by ``docs/user_guide/examples/plot_crl.py``.
"""

# %%
# Imbalanced digits
# -----------------
# :func:`~skimbalance.datasets.keep_fraction_of_classes` applies the protocol
# to the training half only; the test half stays balanced.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier, CrossEntropyClassifier
from skimbalance.datasets import keep_fraction_of_classes

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)
X_train, y_train = keep_fraction_of_classes(
    X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=0
)
print("training samples per class:", np.bincount(y_train))

# %%
# Fit both networks
# -----------------
# The same network and schedule for both, after a scaler. CRL adds its term to
# the loss and, by default, corrects the training prior at prediction
# (``prior_correction="auto"``, see the user guide's "How it compares");
# ``prior_correction=0`` gives the paper's prediction from the same fit. One
# thread and a fixed ``random_state`` make the run reproducible.
net = dict(max_epochs=30, batch_size=64, n_threads=1, random_state=0)
models = {
    "cross-entropy": CrossEntropyClassifier(**net),
    "CRL": CRLClassifier(**net),
}
recalls = {}
for name, model in models.items():
    pipe = make_pipeline(StandardScaler(), model).fit(X_train, y_train)
    y_pred = pipe.predict(X_test)
    recalls[name] = recall_score(y_test, y_pred, average=None)
    score = balanced_accuracy_score(y_test, y_pred)
    print(f"{name:14s} balanced accuracy {score:.3f}")
# The paper's prediction, from the same fitted network (no refit).
pipe.set_params(crlclassifier__prior_correction=0.0)
paper = balanced_accuracy_score(y_test, pipe.predict(X_test))
print(f"CRL, paper's prediction: balanced accuracy {paper:.3f}")

# %%
# Recall of each class
# --------------------
# The shaded digits are the rare ones. One seed is noisy; the user guide
# reports the mean over several.
fig, ax = plt.subplots(figsize=(7, 3.5))
classes = np.arange(10)
for offset, (name, color) in zip(
    (-0.2, 0.2), (("cross-entropy", "tab:gray"), ("CRL", "tab:blue")), strict=True
):
    ax.bar(classes + offset, recalls[name], width=0.4, color=color, label=name)
ax.axvspan(4.5, 9.5, color="tab:orange", alpha=0.1, lw=0)
ax.set(xticks=classes, xlabel="digit", ylabel="test recall", ylim=(0, 1.15))
ax.legend(loc="upper left", ncol=2, frameon=False)
fig.tight_layout()

# %%
# The two terms of the loss
# -------------------------
# The fitted skorch net is ``net_``; its ``history`` records the mean
# cross-entropy and CRL terms of every epoch.
history = models["CRL"].net_.history
epochs = np.arange(1, len(history) + 1)
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(epochs, history[:, "ce_loss"], color="k", label="cross-entropy term")
ax.plot(epochs, history[:, "crl_loss"], color="tab:blue", label="CRL term")
ax.set(xlabel="epoch", ylabel="mean over batches", yscale="log")
ax.legend()
fig.tight_layout()
plt.show()
