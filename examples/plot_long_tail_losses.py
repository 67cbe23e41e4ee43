"""
Long-tail losses of the cross-entropy baseline
==============================================

:class:`~skimbalance.CrossEntropyClassifier` is the baseline every method is
measured against, and it carries the usual long-tail remedies: class weights
(inverse frequency or effective number), deferred re-weighting (DRW), the focal
loss, logit adjustment and LDAM. This example fits a few of them on the
imbalanced digits, one seed, and compares their balanced accuracy.

The user guide's table (:doc:`../user_guide/long_tail_losses`), over three
seeds and every option, is printed by
``docs/user_guide/examples/compare_long_tail_losses.py``.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skimbalance import CrossEntropyClassifier
from skimbalance.datasets import keep_fraction_of_classes

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)
X_train, y_train = keep_fraction_of_classes(
    X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=0
)

# %%
# One network, several losses
# ---------------------------
# DRW trains with plain cross-entropy and switches the class weights on for
# the last epochs (``class_weight_start_epoch``).
options = {
    "cross-entropy": {},
    "balanced weights": {"class_weight": "balanced"},
    "focal": {"loss": "focal"},
    "logit-adjusted": {"loss": "logit_adjusted"},
    "LDAM-DRW": {
        "loss": "ldam",
        "class_weight": "effective_number",
        "class_weight_start_epoch": 16,
    },
}
net = dict(hidden_layer_sizes=(256,), max_epochs=20, batch_size=64, n_threads=1)
scores = {}
for name, params in options.items():
    model = CrossEntropyClassifier(random_state=0, **net, **params)
    y_pred = model.fit(X_train, y_train).predict(X_test)
    scores[name] = balanced_accuracy_score(y_test, y_pred)
    print(f"{name:18s} {scores[name]:.3f}")

# %%
# Balanced accuracy on the balanced test half
# -------------------------------------------
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(scores), list(scores.values()), color="tab:blue")
ax.invert_yaxis()
ax.set(xlabel="test balanced accuracy (one seed)", xlim=(0.5, 1))
fig.tight_layout()
plt.show()
