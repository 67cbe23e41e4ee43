"""Class frequency against MC-dropout uncertainty and margin (Khan et al., Fig. 3).

Trains :class:`skimbalance.UncertaintyMarginClassifier` on scikit-learn's digits
made imbalanced with the paper's protocol (10 % of the training samples of
classes 5-9 kept) and plots, per class, the training frequency, the class
uncertainty that the last MC-dropout refresh measured and the margin it set,
next to the held-out recall of the method and of the cross-entropy baseline.

Run from the repository root::

    python docs/user_guide/examples/plot_uncertainty_margin.py

It writes ``docs/user_guide/images/uncertainty_margin.png``.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split

from skimbalance import (
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance.datasets import keep_fraction_of_classes

OUT = Path(__file__).resolve().parents[1] / "images" / "uncertainty_margin.png"


def main(seed=0):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=seed
    )
    X_train, y_train = keep_fraction_of_classes(
        X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=seed
    )
    net = dict(batch_size=64, n_threads=1, random_state=seed)
    method = UncertaintyMarginClassifier(**net).fit(X_train, y_train)
    baseline = CrossEntropyClassifier(**net).fit(X_train, y_train)

    classes = method.classes_
    counts = method.class_counts_
    uncertainty = method.class_uncertainty_
    margins = method.class_margins_
    recall_method = recall_score(y_test, method.predict(X_test), average=None)
    recall_ce = recall_score(y_test, baseline.predict(X_test), average=None)
    bacc_method = balanced_accuracy_score(y_test, method.predict(X_test))
    bacc_ce = balanced_accuracy_score(y_test, baseline.predict(X_test))

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True)
    pos = np.arange(len(classes))
    top.bar(pos, counts, color="0.75", label="training samples")
    top.set_ylabel("training samples")
    top.set_ylim(0, 1.25 * float(np.max(counts)))
    twin = top.twinx()
    twin.plot(pos, uncertainty, "o-", color="C3", label="class uncertainty")
    twin.set_ylabel("class uncertainty (mean MC variance)", color="C3")
    twin.set_ylim(0, 1.25 * float(np.max(uncertainty)))
    for p, m in zip(pos, margins, strict=True):
        twin.annotate(
            f"m={m}",
            (p, uncertainty[p]),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
            color="C3",
        )
    top.set_title("Digits, 10 % of classes 5-9 kept: frequency, uncertainty, margin")
    handles = top.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    top.legend(handles, ["training samples", "class uncertainty"], loc="upper center")

    width = 0.4
    bottom.bar(pos - width / 2, recall_ce, width, label=f"CE (BA {bacc_ce:.3f})")
    bottom.bar(
        pos + width / 2,
        recall_method,
        width,
        label=f"UncertaintyMargin (BA {bacc_method:.3f})",
    )
    bottom.set_ylim(0, 1.3)
    bottom.set_yticks(np.linspace(0, 1, 6))
    bottom.set_ylabel("held-out recall")
    bottom.set_xticks(pos, [str(c) for c in classes])
    bottom.set_xlabel("class")
    bottom.legend(loc="upper center", ncol=2)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")
    print("counts     ", counts.tolist())
    print("uncertainty", np.round(uncertainty, 4).tolist())
    print("margins    ", margins.tolist())
    print(f"balanced accuracy: CE {bacc_ce:.4f}, UncertaintyMargin {bacc_method:.4f}")


if __name__ == "__main__":
    main()
