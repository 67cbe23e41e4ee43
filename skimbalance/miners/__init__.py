"""Batch-wise miners: minority class profiling and hard sample mining (pure PyTorch)."""

from skimbalance.miners.hard_mining import (
    HardSamples,
    class_hard_samples_per_anchor,
    class_level_hard_samples,
    instance_level_hard_samples,
)
from skimbalance.miners.minority import batch_class_counts, minority_classes

__all__ = [
    "HardSamples",
    "batch_class_counts",
    "class_hard_samples_per_anchor",
    "class_level_hard_samples",
    "instance_level_hard_samples",
    "minority_classes",
]
