"""
SMOTE and a deep estimator in a grid search
===========================================

The estimators are scikit-learn classifiers, so they go in an
imbalanced-learn :class:`~imblearn.pipeline.Pipeline` after a scaler and an
over-sampler, and the whole pipeline is tuned by
:class:`~sklearn.model_selection.GridSearchCV`. Here the search chooses
between SMOTE and no re-sampling, and between plain and ``"balanced"`` class
weights, by cross-validated balanced accuracy; SMOTE runs on the training folds
only, never on the held-out fold.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier
from skimbalance.datasets import keep_fraction_of_classes

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)
X_train, y_train = keep_fraction_of_classes(
    X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=0
)

# %%
# The pipeline and the grid
# -------------------------
# A rare class has 9 training samples, 6 in a training fold of 3-fold
# cross-validation: SMOTE's ``k_neighbors`` must stay below that. A small
# network and few epochs keep the 12 fits quick.
pipeline = Pipeline(
    [
        ("scale", StandardScaler()),
        ("sample", SMOTE(k_neighbors=3, random_state=0)),
        (
            "clf",
            CRLClassifier(
                hidden_layer_sizes=(128,),
                max_epochs=10,
                batch_size=64,
                n_threads=1,
                random_state=0,
            ),
        ),
    ]
)
grid = {
    "sample": [SMOTE(k_neighbors=3, random_state=0), "passthrough"],
    "clf__class_weight": [None, "balanced"],
}
search = GridSearchCV(
    pipeline,
    grid,
    scoring="balanced_accuracy",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)

# %%
# The cross-validated scores
# --------------------------
# After SMOTE every class has as many training rows as the largest one, so
# ``"balanced"`` class weights are all equal and the two SMOTE candidates are
# the same model. Without re-sampling, the short schedule leaves the rare
# classes to the class weights alone.
results = search.cv_results_
labels = [
    f"{'SMOTE' if params['sample'] != 'passthrough' else 'no sampler'}, "
    f"class_weight={params['clf__class_weight']}"
    for params in results["params"]
]
for label, mean, sd in zip(
    labels, results["mean_test_score"], results["std_test_score"], strict=True
):
    print(f"{label:32s} {mean:.3f} ± {sd:.3f}")
print("best:", labels[search.best_index_])

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
ax.set(xlabel="balanced accuracy (3-fold CV)", xlim=(0, 1))
fig.tight_layout()
plt.show()

# %%
# The refitted best pipeline on the balanced test half
# ----------------------------------------------------
print(f"test balanced accuracy: {search.score(X_test, y_test):.3f}")
