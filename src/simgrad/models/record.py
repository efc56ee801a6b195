"""``sg.activations``: every chosen layer of a PyTorch model as a ``(samples, units)`` tensor.

The rules for layers, inputs, outputs and reductions are in :mod:`simgrad.models.extract`
and :mod:`simgrad.models.reduce`. The model is run in ``eval()`` mode under
``torch.no_grad()`` by default; each module's ``training`` flag, the grad mode and the
model's device are restored afterwards, and the hooks removed, also when an error is raised.

>>> import torch, simgrad as sg
>>> net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
>>> acts = sg.activations(net, torch.randn(20, 5, generator=torch.Generator().manual_seed(0)))
>>> {k: tuple(v.shape) for k, v in acts.items()}
{'0': (20, 8), '1': (20, 8), '2': (20, 3)}
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..allpairs.inputs import parse_bytes
from .extract import (
    LayerSpec,
    batches,
    feed,
    model_input,
    pick_output,
    resolve_layers,
    sample_count,
)
from .reduce import Reduce, apply_batch, finish_pca, parse_reduce
from .spill import LayerStore

__all__ = ["Extraction", "activations", "iter_batches"]


@dataclass
class Extraction:
    """What :func:`iter_batches` needs: the model, the chosen layers and how to reduce them."""

    model: nn.Module
    layers: list[tuple[str, nn.Module]]
    reduce: Reduce
    batch_size: int = 256
    device: torch.device | None = None
    dtype: torch.dtype = torch.float64
    seed: int = 0
    select: Callable[[Any], Any] | None = None
    output: Any = None
    batch_dim: int = 0
    train: bool = False
    grad: bool = False


def make_extraction(
    model: nn.Module,
    *,
    layers: LayerSpec = None,
    reduce: str | Reduce = "flatten",
    batch_size: int = 256,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    select: Callable[[Any], Any] | None = None,
    output: Any = None,
    batch_dim: int = 0,
    train: bool = False,
    grad: bool = False,
) -> Extraction:
    """Validate the options (one clear error each, before any forward pass)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}.")
    if select is not None and not callable(select):
        raise TypeError(f"select must be a callable batch -> model input, got {select!r}.")
    if isinstance(batch_dim, bool) or not isinstance(batch_dim, int) or batch_dim < 0:
        raise ValueError(f"batch_dim must be a non-negative int, got {batch_dim!r}.")
    return Extraction(
        model=model,
        layers=resolve_layers(model, layers),
        reduce=parse_reduce(reduce),
        batch_size=batch_size,
        device=None if device is None else torch.device(device),
        dtype=dtype,
        seed=int(seed),
        select=select,
        output=output,
        batch_dim=batch_dim,
        train=bool(train),
        grad=bool(grad),
    )


def _model_dtype(model: nn.Module) -> torch.dtype | None:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


def _model_device(model: nn.Module) -> torch.device | None:
    for p in model.parameters():
        return p.device
    return None


@contextlib.contextmanager
def _prepared(
    ex: Extraction, transform: Callable[[str, torch.Tensor], torch.Tensor]
) -> Iterator[dict[str, torch.Tensor]]:
    """Hooks on, eval/no_grad, model on device; everything restored on exit. Each hook
    stores ``transform(name, output tensor)`` (reduced at once, so the full maps are freed
    during the forward pass)."""
    model = ex.model
    flags = [(m, m.training) for m in model.modules()]
    home = _model_device(model)
    record: dict[str, torch.Tensor] = {}
    handles = []

    def hook(name: str) -> Callable[..., None]:
        def fn(_module: nn.Module, _inp: Any, out: Any) -> None:
            record[name] = transform(name, pick_output(name, out, ex.output))

        return fn

    try:
        if ex.device is not None and home is not None and home != ex.device:
            model.to(ex.device)
        model.train(ex.train)
        for name, module in ex.layers:
            handles.append(module.register_forward_hook(hook(name)))
        with torch.set_grad_enabled(ex.grad):
            yield record
    finally:
        for h in handles:
            h.remove()
        for m, flag in flags:
            m.training = flag
        if ex.device is not None and home is not None and home != ex.device:
            model.to(home)


def _reduced(
    ex: Extraction, name: str, act: torch.Tensor, n: int, k: int, start: int
) -> torch.Tensor:
    if act.ndim <= ex.batch_dim or act.shape[ex.batch_dim] != n:
        raise ValueError(
            f"layer {name!r} returned shape {tuple(act.shape)} for a batch of {n} samples "
            f"(batch {k}): its dimension {ex.batch_dim} is not the samples. Pass output= to "
            "pick another tensor, or batch_dim= for (time, batch, ...) models."
        )
    if ex.batch_dim:
        act = act.movedim(ex.batch_dim, 0)
    if not act.is_floating_point() and not act.is_complex():
        act = act.to(torch.float64)
    out = apply_batch(ex.reduce, act.detach(), seed=ex.seed, dtype=ex.dtype)
    if not bool(torch.isfinite(out).all()):
        raise ValueError(
            f"layer {name!r} has non-finite activations (NaN or inf) in batch {k} "
            f"(samples {start}..{start + n - 1}): check the model or its inputs."
        )
    return out


def iter_batches(ex: Extraction, inputs: Any) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
    """Yield ``(n_rows, {layer: (n_rows, units) tensor})`` per batch (PCA not applied)."""
    mdtype = _model_dtype(ex.model)
    device = ex.device if ex.device is not None else _model_device(ex.model)
    state = {"n": 0, "k": 0, "start": 0}

    def transform(name: str, act: torch.Tensor) -> torch.Tensor:
        return _reduced(ex, name, act, state["n"], state["k"], state["start"])

    with _prepared(ex, transform) as record:
        for k, batch in enumerate(batches(inputs, ex.batch_size, ex.batch_dim)):
            args, kwargs = model_input(batch, ex.select)
            n = sample_count(args, kwargs, ex.batch_dim)
            state.update(n=n, k=k)
            record.clear()
            feed(ex.model, args, kwargs, device, mdtype)
            missing = [name for name, _ in ex.layers if name not in record]
            if missing:
                raise ValueError(
                    f"layers {missing} were not called in the forward pass; choose layers "
                    "the model uses."
                )
            acts = {name: record[name] for name, _ in ex.layers}
            record.clear()
            yield n, acts
            state["start"] += n


def activations(
    model: nn.Module,
    inputs: Any,
    *,
    layers: LayerSpec = None,
    reduce: str = "flatten",
    batch_size: int = 256,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    select: Callable[[Any], Any] | None = None,
    output: Any = None,
    batch_dim: int = 0,
    train: bool = False,
    grad: bool = False,
    memory_budget: int | str | None = None,
    spill_dir: str | None = None,
) -> dict[str, torch.Tensor]:
    """Activations of the chosen layers: an ordered ``dict`` layer name → ``(samples, units)``
    **torch tensor** on the CPU in ``dtype`` (float64 by default; half and bfloat16
    activations are upcast). ``torch.Tensor.numpy()`` gives numpy without a copy.

    Parameters
    ----------
    model : a ``torch.nn.Module``.
    inputs : a tensor/array (split into ``batch_size`` rows) or an iterable of batches.
    layers : ``None`` (every leaf module), qualified names, a module type, or a predicate
        ``(name, module) -> bool``.
    reduce : ``"flatten"``, ``"mean"`` (spatial average of channels-first maps), ``"pca-K"``
        or ``"project-K"`` (seeded Gaussian random projection; see :mod:`.reduce`).
    select : ``batch -> model input`` for batches of any structure.
    output : picks the tensor from modules returning tuples, mappings or dataclasses.
    batch_dim : the samples' dimension in the input and the outputs (1 for time-major RNNs).
    train, grad : run in training mode / with gradients (both off by default).
    memory_budget : bytes (or ``"2GB"``) of activations kept in memory; past it layers spill
        to memory-mapped files under ``spill_dir`` (a temporary directory by default).
    seed : seeds the random projection.
    """
    ex = make_extraction(
        model,
        layers=layers,
        reduce=reduce,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        seed=seed,
        select=select,
        output=output,
        batch_dim=batch_dim,
        train=train,
        grad=grad,
    )
    budget = None if memory_budget is None else parse_bytes(memory_budget)
    names = [n for n, _ in ex.layers]
    store = LayerStore(names, memory_budget=budget, spill_dir=spill_dir, dtype=dtype)
    for _, acts in iter_batches(ex, inputs):
        store.add({k: v.cpu() for k, v in acts.items()})
    out = store.finish()
    if ex.reduce.kind == "pca":
        assert ex.reduce.k is not None
        out = {k: finish_pca(v, ex.reduce.k) for k, v in out.items()}
    return out
