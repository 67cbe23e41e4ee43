"""Figure of the CRL user-guide page: ``docs/user_guide/images/crl_example.png``.

Digits under the imbalance protocol of the benchmarks (a stratified half/half
split; in the training half, classes 5-9 keep 10 % of their samples), the network
of the ``quick`` benchmark profile. Left: recall of each class on the balanced
test half, cross-entropy against CRL (instance-level mining, relative loss),
mean over seeds. Right: the mean CE and CRL terms of each epoch of one CRL fit
(``net_.history``).

Run from the repository root: ``python docs/user_guide/examples/plot_crl.py``
(about a minute on one CPU core).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance import CRLClassifier, CrossEntropyClassifier
from skimbalance.datasets import keep_fraction_of_classes

OUT = Path(__file__).resolve().parents[1] / "images" / "crl_example.png"
SEEDS = range(5)
NET = dict(max_epochs=30, batch_size=64, n_threads=1)


def load(seed):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=seed
    )
    X_train, y_train = keep_fraction_of_classes(
        X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=seed
    )
    return X_train, y_train, X_test, y_test


def main():
    recalls = {"cross-entropy": [], "CRL": []}
    balanced = {"cross-entropy": [], "CRL": []}
    history = None
    for seed in SEEDS:
        X_train, y_train, X_test, y_test = load(seed)
        for name, estimator in (
            ("cross-entropy", CrossEntropyClassifier(random_state=seed, **NET)),
            ("CRL", CRLClassifier(random_state=seed, **NET)),
        ):
            model = make_pipeline(StandardScaler(), estimator).fit(X_train, y_train)
            y_pred = model.predict(X_test)
            recalls[name].append(recall_score(y_test, y_pred, average=None))
            balanced[name].append(balanced_accuracy_score(y_test, y_pred))
            if name == "CRL" and history is None:
                history = estimator.net_.history

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    classes = np.arange(10)
    for offset, (name, color) in zip(
        (-0.2, 0.2), (("cross-entropy", "tab:gray"), ("CRL", "tab:blue")), strict=True
    ):
        mean = 100 * np.mean(recalls[name], axis=0)
        label = f"{name} (balanced acc. {100 * np.mean(balanced[name]):.1f} %)"
        left.bar(classes + offset, mean, width=0.4, color=color, label=label)
    left.axvspan(4.5, 9.5, color="tab:orange", alpha=0.08, lw=0)
    left.text(8.2, 106, "10 % of training\nsamples kept", ha="center", fontsize=8)
    left.set(
        xticks=classes,
        xlabel="digit",
        ylabel="test recall (%)",
        ylim=(0, 125),
        yticks=range(0, 101, 20),
        title=f"Per-class recall, mean of {len(SEEDS)} seeds",
    )
    left.legend(loc="upper left", fontsize=8, ncol=1, frameon=False)

    epochs = np.arange(1, len(history) + 1)
    right.plot(epochs, history[:, "ce_loss"], label="cross-entropy term", color="k")
    right.plot(epochs, history[:, "crl_loss"], label="CRL term", color="tab:blue")
    right.set(
        xlabel="epoch",
        ylabel="mean over training batches",
        yscale="log",
        title="Loss terms of one CRL fit",
    )
    right.legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")
    for name in recalls:
        print(f"{name}: balanced accuracy {100 * np.mean(balanced[name]):.1f} %")


if __name__ == "__main__":
    main()
