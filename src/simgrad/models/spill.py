"""Collect per-layer activation batches in memory, spilling to memory-mapped files past a
budget.

Each layer appends ``(b, units)`` batches. While the bytes held in memory stay within
``memory_budget``, batches are kept as tensors; when a new batch would exceed it, the layer
holding the most bytes is written to ``<dir>/<k>.f64`` (raw, row-major) and every later batch
of that layer is appended to its file. :meth:`LayerStore.finish` returns, per layer, either a
tensor (in memory) or a tensor viewing a read-only ``numpy.memmap`` of the file (pages are
read on demand by the OS, not all at once).

>>> import torch
>>> st = LayerStore(["a", "b"], memory_budget=100)
>>> for _ in range(3):
...     st.add({"a": torch.ones(2, 3, dtype=torch.float64), "b": torch.zeros(2, 1)})
>>> out = st.finish()
>>> tuple(out["a"].shape), st.spilled
((6, 3), ['a'])
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = ["LayerStore"]


class LayerStore:
    """Per-layer batches within ``memory_budget`` bytes (``None``: no limit)."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        memory_budget: int | None = None,
        spill_dir: str | os.PathLike | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        self.names = list(names)
        self.budget = memory_budget
        self.dtype = dtype
        self._np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
        self._mem: dict[str, list[torch.Tensor]] = {n: [] for n in self.names}
        self._bytes: dict[str, int] = dict.fromkeys(self.names, 0)
        self._files: dict[str, Path] = {}
        self._widths: dict[str, int] = {}
        self._rows: dict[str, int] = dict.fromkeys(self.names, 0)
        self._dir_arg = spill_dir
        self._dir: Path | None = None

    @property
    def spilled(self) -> list[str]:
        """Layers written to disk."""
        return [n for n in self.names if n in self._files]

    @property
    def nbytes_in_memory(self) -> int:
        return sum(self._bytes.values())

    def _path(self, name: str) -> Path:
        if self._dir is None:
            base = None if self._dir_arg is None else str(self._dir_arg)
            if base is not None:
                os.makedirs(base, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(prefix="simgrad-activations-", dir=base))
        return self._dir / f"{self.names.index(name)}.bin"

    def _spill(self, name: str) -> None:
        path = self._path(name)
        with open(path, "ab") as fh:
            for t in self._mem[name]:
                fh.write(t.detach().cpu().contiguous().numpy().tobytes())
        self._files[name] = path
        self._mem[name] = []
        self._bytes[name] = 0

    def add(self, batch: dict[str, torch.Tensor]) -> None:
        """Append one batch per layer (``(b, units)``, already in ``dtype``)."""
        for name, t in batch.items():
            t = t.to(self.dtype)
            width = int(t.shape[1])
            if self._widths.setdefault(name, width) != width:
                raise ValueError(f"layer {name!r} changed width between batches.")
            self._rows[name] += int(t.shape[0])
            size = t.numel() * t.element_size()
            if name not in self._files:
                while (
                    self.budget is not None
                    and self.nbytes_in_memory + size > self.budget
                    and any(self._bytes.values())
                ):
                    self._spill(max(self._bytes, key=self._bytes.__getitem__))
            if name not in self._files and (self.budget is None or size <= self.budget):
                self._mem[name].append(t.detach())
                self._bytes[name] += size
                continue
            with open(self._path(name), "ab") as fh:
                fh.write(t.detach().cpu().contiguous().numpy().tobytes())
            self._files[name] = self._path(name)

    def finish(self) -> dict[str, torch.Tensor]:
        """Each layer as one ``(samples, units)`` tensor (memory-mapped if spilled)."""
        out: dict[str, torch.Tensor] = {}
        for name in self.names:
            if name in self._files:
                mm = np.memmap(
                    self._files[name],
                    dtype=self._np_dtype,
                    mode="r",
                    shape=(self._rows[name], self._widths[name]),
                )
                out[name] = _readonly(mm)
            elif self._mem[name]:
                out[name] = torch.cat(self._mem[name])
                self._mem[name] = []
            else:
                out[name] = torch.empty(0, self._widths.get(name, 0), dtype=self.dtype)
        return out


def _readonly(mm: np.memmap) -> torch.Tensor:
    """A tensor viewing a read-only memmap (torch warns about non-writable arrays; the view
    is never written)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(mm)
