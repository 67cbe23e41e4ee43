"""What the image loaders share: subsets and the returned Bunch."""

import numpy as np
from sklearn.utils import Bunch

SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}


def check_subset(subset):
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {sorted(SUBSETS)}, got {subset!r}.")
    return SUBSETS[subset]


def image_bunch(images, labels, *, target_names, descr, source, return_X_y):
    """Flat float32 pixels in [0, 1], int64 labels, and the images as a view."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}.")
    data = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
    target = np.asarray(labels, dtype=np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=data.reshape(images.shape),
        target_names=list(target_names),
        DESCR=descr,
        source=str(source),
    )
