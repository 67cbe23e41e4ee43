"""Measured comparison of the "Long-tail losses" user-guide page.

Digits under the imbalance protocol of the other examples (a stratified
half/half split; in the training half, classes 5-9 keep 10 % of their
samples: about 90 training samples in each head class, 9 in each tail class),
the network of the ``quick`` benchmark profile (the default 512-512 MLP, 30
epochs, batch 64). Every row is a :class:`~skimbalance.CrossEntropyClassifier`
with one option of the page; the score is the balanced accuracy on the
balanced test half, 3 seeds (the seed sets the split, the sub-sampling and the
network).

Run from the repository root, on one thread:
``python docs/user_guide/examples/compare_long_tail_losses.py`` (under a
minute on one CPU core). It prints the table the page shows.
"""

import datetime
import os
import platform
import subprocess
import time

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skimbalance import CrossEntropyClassifier
from skimbalance.datasets import keep_fraction_of_classes

SEEDS = (0, 1, 2)
NET = dict(max_epochs=30, batch_size=64, n_threads=1)
DRW = 24  # epochs before the class weights switch on (Cao et al.: 160 of 200)
OPTIONS = {
    "cross-entropy": {},
    "CE, balanced weights": {"class_weight": "balanced"},
    "CE, effective-number weights": {"class_weight": "effective_number"},
    "CE-DRW (effective number)": {
        "class_weight": "effective_number",
        "class_weight_start_epoch": DRW,
    },
    "focal (gamma=2)": {"loss": "focal"},
    "class-balanced focal": {"loss": "focal", "class_weight": "effective_number"},
    "logit-adjusted (tau=1)": {"loss": "logit_adjusted"},
    "LDAM": {"loss": "ldam"},
    "LDAM-DRW": {
        "loss": "ldam",
        "class_weight": "effective_number",
        "class_weight_start_epoch": DRW,
    },
}


def load(seed):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=seed
    )
    X_train, y_train = keep_fraction_of_classes(
        X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=seed
    )
    return X_train, y_train, X_test, y_test


def commit():
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu():
    """The CPU model from /proc/cpuinfo where there is one, and the core count."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def main():
    torch.set_num_threads(1)
    start = time.perf_counter()
    scores = {name: [] for name in OPTIONS}
    for seed in SEEDS:
        X_train, y_train, X_test, y_test = load(seed)
        for name, options in OPTIONS.items():
            estimator = CrossEntropyClassifier(random_state=seed, **NET, **options)
            model = make_pipeline(StandardScaler(), estimator).fit(X_train, y_train)
            score = balanced_accuracy_score(y_test, model.predict(X_test))
            scores[name].append(100 * score)
    elapsed = time.perf_counter() - start
    counts = np.bincount(load(SEEDS[0])[1])
    print(
        f"digits, classes 5-9 keep 10 % of their training samples (seed 0 counts "
        f"{counts.tolist()}); balanced accuracy (%) on the balanced test half"
    )
    width = max(len(name) for name in OPTIONS)
    seeds = "  ".join(f"seed {s}" for s in SEEDS)
    print(f"{'option':<{width}}  mean ± sd   {seeds}")
    for name, values in scores.items():
        per_seed = "  ".join(f"{v:6.1f}" for v in values)
        print(
            f"{name:<{width}}  {np.mean(values):4.1f} ± {np.std(values, ddof=1):3.1f}"
            f"  {per_seed}"
        )
    print(
        f"{len(SEEDS) * len(OPTIONS)} fits in {elapsed:.0f} s on {cpu()}, "
        "1 torch thread, "
        f"{datetime.date.today().isoformat()}, commit {commit()}, torch "
        f"{torch.__version__}, scikit-learn {sklearn.__version__}"
    )


if __name__ == "__main__":
    main()
