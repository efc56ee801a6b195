"""Reading user files (placeholder; filled in below)."""
from __future__ import annotations

from .dataset import Dataset


def from_file(path, **options) -> Dataset:
    raise NotImplementedError


def from_xarray(da, **options) -> Dataset:
    raise NotImplementedError
