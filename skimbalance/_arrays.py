"""Arrays to tensors without copies (pure NumPy / PyTorch)."""

import warnings

import torch


def rows_as_tensor(rows, device=None):
    """A float tensor of the array ``rows``, sharing its memory where it can.

    ``torch.as_tensor`` without a copy on the CPU (one copy to another
    device), also for a read-only array such as a ``numpy.memmap`` opened
    with ``mode="r"``: torch warns that it cannot mark such a tensor
    read-only, and the warning is silenced here, since the estimators never
    write into their inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((3, 2), dtype=np.float32)
    >>> X.flags.writeable = False
    >>> from skimbalance._arrays import rows_as_tensor
    >>> rows_as_tensor(X[1:]).shape
    torch.Size([2, 2])
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="The given NumPy array is not writable",
            category=UserWarning,
        )
        return torch.as_tensor(rows, device=device)
