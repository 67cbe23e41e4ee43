"""
A custom CNN backbone on 8×8 digits
===================================

Every estimator takes its feature extractor as ``backbone``: a
:class:`torch.nn.Module`, or a callable returning one. Samplers and scalers need
2-D ``X``, so the images travel through the pipeline as flat rows of 64 pixels
and ``input_shape=(1, 8, 8)`` reshapes them before the backbone. The module is
copied at ``fit``: the instance you pass is never trained in place. See
"Custom backbones" in :doc:`../user_guide/shared`.
"""

# %%
# A small convolutional network
# -----------------------------
# Its output is flattened, and its size is found by one forward pass on zeros:
# the embedding and classifier heads of each method are added on top. The
# uncertainty-margin method measures its uncertainties with Monte-Carlo
# dropout, so the backbone needs a dropout layer (without one the estimator
# warns that every margin stays 1).
import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay, balanced_accuracy_score
from sklearn.model_selection import train_test_split
from torch import nn

from skimbalance import UncertaintyMarginClassifier
from skimbalance.datasets import keep_fraction_of_classes


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 16 x 4 x 4
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Flatten(),  # 32 x 4 x 4 = 512 features
        nn.Dropout(0.3),
    )


# %%
# Imbalanced digits through a pipeline
# ------------------------------------
# Random over-sampling repeats the rows of the rare classes: it works on the
# flat rows, before the estimator reshapes them.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)
X_train, y_train = keep_fraction_of_classes(
    X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=0
)
print("flat training rows:", X_train.shape)

model = make_pipeline(
    RandomOverSampler(random_state=0),
    UncertaintyMarginClassifier(
        backbone=small_cnn,
        input_shape=(1, 8, 8),
        max_epochs=20,
        batch_size=64,
        n_threads=1,
        random_state=0,
    ),
)
model.fit(X_train, y_train)
y_pred = model.predict(X_test)
print(f"test balanced accuracy: {balanced_accuracy_score(y_test, y_pred):.3f}")

# %%
# The fitted network
# ------------------
# The backbone sits inside the skorch net's module, ``net_.module_``.
print(model[-1].net_.module_)

# %%
# Where the errors are
# --------------------
fig, ax = plt.subplots(figsize=(5, 4.5))
ConfusionMatrixDisplay.from_predictions(
    y_test, y_pred, normalize="true", values_format=".1f", colorbar=False, ax=ax
)
ax.set_title("CNN backbone, classes 5-9 rare in training", fontsize=9)
fig.tight_layout()
plt.show()
