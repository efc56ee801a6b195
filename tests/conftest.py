"""Shared fixtures. The real recordings live in ``../shared/data`` beside the repository (or
wherever ``SIMGRAD_DATA_DIR`` points); tests that need them skip cleanly when absent. Plain
helper functions shared by test modules live in ``helpers.py`` (``from helpers import ...``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import SHARED_DATA, shared_data_dir

if "SIMGRAD_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SIMGRAD_DATA_DIR"] = str(SHARED_DATA)

# Small-matrix work dominates the suite: one intra-op thread avoids oversubscription.
torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _limit_blas_threads():
    """One BLAS thread for numpy/scipy: the suite runs on 2 cores beside torch's own threads,
    and oversubscribed OpenBLAS makes small decompositions several times slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture
def data_dir() -> Path:
    """The folder holding the shared recordings; skips the test when it is absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("shared data folder (../shared/data or SIMGRAD_DATA_DIR) not available")
    return d


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
