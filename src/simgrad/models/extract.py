"""Forward hooks that record chosen layers of a PyTorch model, batch by batch.

Rules (documented in ``docs/models.md``):

- **layers**: ``None`` = every leaf module (a module without children; the model itself when
  it has none); a list of qualified names (``model.named_modules()``); a module type (or
  tuple of types); or a predicate ``(name, module) -> bool``. An unknown name is a
  ``ValueError`` naming the close matches.
- **inputs**: a tensor or numpy array (split into ``batch_size`` rows), or any iterable of
  batches (a list of tensors, a DataLoader). A batch is fed to the model by ``select(batch)``
  when given, else: a tensor → ``model(batch)``; a tuple/list → ``model(batch[0])`` (the
  ``(x, y)`` of a DataLoader); a mapping → ``model(**batch)`` (Hugging Face). What ``select``
  returns is fed the same way, except that a tuple is spread: ``model(*inputs)``.
- **outputs**: a module's output becomes one tensor by ``output`` when given (a callable, a
  key or attribute name, or a tuple index; or a mapping layer name → one of these), else: a
  tensor is itself; a tuple/list gives its first tensor (``nn.LSTM``, Hugging Face tuples);
  a mapping (Hugging Face ``ModelOutput``) gives ``last_hidden_state`` if present, else its
  first tensor value; a dataclass gives its first tensor field.
- samples lie along ``batch_dim`` (0; 1 for ``(time, batch, features)`` recurrent models)
  of the model input and of every recorded output.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["batches", "feed", "first_tensor", "pick_output", "resolve_layers", "sample_count"]

LayerSpec = None | str | Sequence[str] | type | tuple | Callable[[str, nn.Module], bool]


def resolve_layers(model: nn.Module, layers: LayerSpec) -> list[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of the layers to record, in ``named_modules`` order.

    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> [n for n, _ in resolve_layers(net, None)]
    ['0', '1', '2']
    >>> [n for n, _ in resolve_layers(net, nn.Linear)]
    ['0', '2']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    named = [(n, m) for n, m in model.named_modules()]
    if layers is None:
        chosen = [(n, m) for n, m in named if n and not any(True for _ in m.children())]
        return chosen or [("output", model)]
    if isinstance(layers, type) or (
        isinstance(layers, tuple) and layers and all(isinstance(t, type) for t in layers)
    ):
        chosen = [(n, m) for n, m in named if n and isinstance(m, layers)]
        if not chosen:
            raise ValueError(f"the model has no module of type {layers!r}.")
        return chosen
    if callable(layers) and not isinstance(layers, str):
        chosen = [(n, m) for n, m in named if n and layers(n, m)]
        if not chosen:
            raise ValueError("the layers predicate selected no module.")
        return chosen
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError("layers is empty; give names, a module type, a predicate or None.")
    table = dict(named)
    for name in names:
        if not isinstance(name, str) or name not in table or name == "":
            known = [n for n in table if n]
            close = difflib.get_close_matches(str(name), known, n=5, cutoff=0.5)
            hint = f"close: {close}" if close else f"the model has: {known[:20]}"
            raise ValueError(f"layer {name!r} does not exist in the model; {hint}.")
    if len(set(names)) != len(names):
        raise ValueError(f"layers names a module twice: {names}.")
    return [(n, table[n]) for n in names]


def first_tensor(obj: Any) -> torch.Tensor | None:
    """The first tensor in ``obj`` by the output rule (``None`` if there is none)."""
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, Mapping):
        if isinstance(obj.get("last_hidden_state"), torch.Tensor):
            return obj["last_hidden_state"]
        values: Iterable[Any] = obj.values()
    elif isinstance(obj, (tuple, list)):
        values = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = (getattr(obj, f.name) for f in dataclasses.fields(obj))
    else:
        return None
    for v in values:
        t = first_tensor(v) if isinstance(v, (tuple, list, Mapping)) else v
        if isinstance(t, torch.Tensor):
            return t
    return None


def pick_output(name: str, out: Any, output: Any) -> torch.Tensor:
    """Layer ``name``'s output as one tensor (see the module's rules)."""
    sel = output.get(name) if isinstance(output, Mapping) else output
    if sel is None:
        t = first_tensor(out)
    elif callable(sel):
        t = sel(out)
    elif isinstance(sel, int):
        t = out[sel]
    elif isinstance(sel, str):
        t = out[sel] if isinstance(out, Mapping) else getattr(out, sel, None)
    else:
        raise TypeError(f"output must be a callable, a key, an index or a mapping; got {sel!r}.")
    if not isinstance(t, torch.Tensor):
        raise ValueError(
            f"layer {name!r} returned {type(out).__name__} and no tensor could be taken from "
            "it; pass output= (a callable, key or index) to choose one."
        )
    return t


def batches(inputs: Any, batch_size: int, batch_dim: int = 0) -> Iterator[Any]:
    """Batches of ``inputs``: a tensor/array is split along ``batch_dim``; anything else is
    iterated as it is."""
    if isinstance(inputs, np.ndarray):
        inputs = torch.from_numpy(inputs)
    if isinstance(inputs, torch.Tensor):
        if inputs.ndim == 0:
            raise ValueError("inputs is a 0-d tensor; give (samples, ...) inputs.")
        yield from inputs.split(batch_size, dim=batch_dim)
        return
    if isinstance(inputs, (str, bytes, Mapping)) or not isinstance(inputs, Iterable):
        raise TypeError(
            "inputs must be a tensor, an array, or an iterable of batches (a list of tensors, "
            f"a DataLoader); got {type(inputs).__name__}."
        )
    yield from inputs


def model_input(batch: Any, select: Callable[[Any], Any] | None) -> tuple[tuple, dict]:
    """The ``(args, kwargs)`` the model is called with for ``batch``."""
    if select is not None:
        x = select(batch)
        if isinstance(x, tuple):
            return x, {}
        if isinstance(x, Mapping):
            return (), dict(x)
        return (x,), {}
    if isinstance(batch, (tuple, list)):
        if not batch:
            raise ValueError("a batch is an empty tuple; pass select= to pick the input.")
        return (batch[0],), {}
    if isinstance(batch, Mapping):
        return (), dict(batch)
    return (batch,), {}


def sample_count(args: tuple, kwargs: dict, batch_dim: int) -> int:
    """Rows in the first tensor of the model's input (along ``batch_dim``)."""
    t = first_tensor(list(args) + list(kwargs.values()))
    if t is None:
        raise ValueError("the model input holds no tensor; pass select= to pick it.")
    if t.ndim <= batch_dim:
        raise ValueError(f"model input of shape {tuple(t.shape)} has no batch_dim={batch_dim}.")
    return int(t.shape[batch_dim])


def feed(
    model: nn.Module,
    args: tuple,
    kwargs: dict,
    device: torch.device | None,
    dtype: torch.dtype | None,
) -> Any:
    """Call the model with floating tensors moved to ``device`` (and the model's dtype)."""

    def move(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            v = torch.from_numpy(v)
        if isinstance(v, torch.Tensor):
            if v.is_floating_point() and dtype is not None:
                v = v.to(dtype)
            return v.to(device) if device is not None else v
        return v

    return model(*[move(a) for a in args], **{k: move(v) for k, v in kwargs.items()})
