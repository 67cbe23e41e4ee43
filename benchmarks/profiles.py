"""Benchmark profiles: which data, which imbalance protocol, which settings.

A profile's ``load(seed)`` returns ``(X_train, y_train, X_test, y_test)`` with
the training set made imbalanced and the test set untouched.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skimbalance.datasets import keep_fraction_of_classes


@dataclass
class Profile:
    """One benchmark configuration."""

    name: str
    description: str
    load: callable
    seeds: int
    net: dict = field(default_factory=dict)


def load_digits_table5(seed):
    """scikit-learn's digits under Khan et al.'s Table 5 protocol.

    A stratified half/half train/test split; in the training half, classes
    5-9 keep 10 % of their samples (about 9 each against about 90), the
    test half is left balanced.
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=seed
    )
    X_train, y_train = keep_fraction_of_classes(
        X_train, y_train, fraction=0.1, classes=np.arange(5, 10), random_state=seed
    )
    return X_train, y_train, X_test, y_test


PROFILES = {
    "quick": Profile(
        name="quick",
        description=(
            "digits (bundled with scikit-learn), Khan et al. Table 5 protocol: 10 % "
            "of the training samples of classes 5-9 kept; balanced test half"
        ),
        load=load_digits_table5,
        seeds=3,
        net=dict(
            hidden_layer_sizes=(512, 512),
            dropout=0.5,
            max_epochs=30,
            batch_size=64,
            lr=1e-3,
        ),
    ),
}
