"""Test-suite settings: one torch thread (CI has 2 cores), quiet warnings."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
import torch

from skimbalance._warnings import reset_warned

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fresh_warnings_once():
    """Every test sees the library's warn-once warnings afresh (they are issued
    once per configuration and process, and the suite is one process)."""
    reset_warned()
    yield


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when no CUDA device is visible."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
