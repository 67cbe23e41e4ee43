"""
A CNN backbone on 8×8 digits
============================

Every estimator takes its feature extractor as ``backbone``: a
:class:`torch.nn.Module`, or a callable returning one. The library's
:class:`~skimbalance.ConvNetBackbone` is such a callable: a small CNN for
images of any size. Samplers and scalers need 2-D ``X``, so the images travel
through the pipeline as flat rows of 64 pixels and are reshaped to
``(1, 8, 8)`` before the backbone. A module of your own works the same way.
See "Custom backbones" and "Images: the CNN backbone" in
:doc:`../user_guide/shared`.
"""

# %%
# Imbalanced digits
# -----------------
# Classes 5 to 9 keep a tenth of their training images. Random over-sampling
# repeats the rows of the rare classes: it works on the flat rows, before the
# estimator reshapes them.
import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay, balanced_accuracy_score
from sklearn.model_selection import train_test_split
from torch import nn

from skimbalance import ConvNetBackbone, UncertaintyMarginClassifier
from skimbalance.datasets import keep_fraction_of_classes

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)
X_train, y_train = keep_fraction_of_classes(
    X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=0
)
print("flat training rows:", X_train.shape)


def fit_and_score(backbone, **shape):
    model = make_pipeline(
        RandomOverSampler(random_state=0),
        UncertaintyMarginClassifier(
            backbone=backbone,
            max_epochs=15,
            batch_size=64,
            n_threads=1,
            random_state=0,
            **shape,
        ),
    )
    model.fit(X_train, y_train)
    y_pred = model.predict(X_test)
    print(f"test balanced accuracy: {balanced_accuracy_score(y_test, y_pred):.3f}")
    return model, y_pred


# %%
# The library's CNN
# -----------------
# Two ``conv 3×3 → ReLU → max-pool 2`` blocks of 32 and 64 filters (8 × 8 →
# 4 × 4 → 2 × 2), then a dense layer (128 units here) and dropout. The
# uncertainty-margin method measures its uncertainties with Monte-Carlo
# dropout, so the backbone keeps its dropout layer. The factory declares its
# ``input_shape``: the estimator takes it from there. Its ``repr`` shows every
# setting.
backbone = ConvNetBackbone(input_shape=(1, 8, 8), hidden=128, dropout=0.3)
print(backbone)
library_model, library_pred = fit_and_score(backbone)

# %%
# The fitted network sits inside the skorch net's module, ``net_.module_``:
# the backbone, then the method's embedding layer and margin head.
print(library_model[-1].net_.module_)


# %%
# A module of your own
# --------------------
# Any module works: its output is flattened, and its size is found by one
# forward pass on zeros. It declares no input shape, so ``input_shape`` tells
# the estimator how to reshape the rows. The dropout layer is there for the
# method's Monte-Carlo estimates (without one the estimator warns that every
# margin stays 1).
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


own_model, own_pred = fit_and_score(small_cnn, input_shape=(1, 8, 8))

# %%
# Where the errors are
# --------------------
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
for ax, y_pred, title in (
    (axes[0], library_pred, "ConvNetBackbone"),
    (axes[1], own_pred, "your own module"),
):
    ConfusionMatrixDisplay.from_predictions(
        y_test, y_pred, normalize="true", values_format=".1f", colorbar=False, ax=ax
    )
    ax.set_title(f"{title}, classes 5-9 rare in training", fontsize=9)
fig.tight_layout()
plt.show()
