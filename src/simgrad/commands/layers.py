"""``simgrad layers``: every layer of a PyTorch model against recordings, with figures.

    simgrad layers --model "package.module:factory" --inputs stimuli.npy \\
        --target hatsopoulos2007-condavg --measures cka,rsa --out results/layers

``factory()`` returns the model, or ``(model, inputs)`` (then ``--inputs`` may be omitted);
``--model path/to/file.py:factory`` loads a file. ``--inputs``: ``.npy``, ``.npz`` (array
``data``) or ``.pt`` (a tensor). ``--target``: a dataset name (``simgrad.datasets``) or a
file (``.npy``, ``.npz``, any format ``sg.datasets.from_file`` reads); its rows (time-major
for ``(time, conditions, units)``) must be the model's input samples in order. Writes
``scores.csv``, ``best_layers.csv``, figures and ``report.html`` under ``--out``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .compare import _Error, load_array, measure_names


def load_factory(spec: str) -> Any:
    """``"pkg.mod:factory"`` or ``"file.py:factory"`` → the callable (one clear error)."""
    mod_name, sep, attr = spec.rpartition(":")
    if not sep or not mod_name or not attr:
        raise _Error(f"--model: {spec!r} is not 'package.module:factory' (or 'file.py:factory').")
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if not path.is_file():
                raise _Error(f"--model: no such file: {mod_name}")
            loader = importlib.util.spec_from_file_location(path.stem, path)
            assert loader is not None and loader.loader is not None
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except _Error:
        raise
    except Exception as exc:  # any import-time failure of user code is reported as one line
        raise _Error(f"--model: cannot import {mod_name!r}: {type(exc).__name__}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise _Error(f"--model: {mod_name!r} has no callable {attr!r}.")
    return factory


def _inputs(path: str) -> Any:
    if path.endswith(".pt"):
        import torch

        p = Path(path)
        if not p.is_file():
            raise _Error(f"--inputs: no such file: {path}")
        try:
            return torch.load(p, weights_only=True)
        except Exception as exc:
            raise _Error(f"--inputs: cannot read {path}: {exc}") from None
    p = Path(path)
    if not p.is_file():
        raise _Error(f"--inputs: no such file: {path}")
    if p.suffix == ".npy":
        return np.load(p, allow_pickle=False)
    with np.load(p, allow_pickle=False) as z:
        if "data" not in z.files:
            raise _Error(f"--inputs: {path} has no array 'data'.")
        return z["data"]


def _target(spec: str) -> Any:
    import simgrad as sg

    if Path(spec).is_file():
        return {Path(spec).stem: load_array(spec, "--target")}
    try:
        return sg.datasets.load(spec)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise _Error(f"--target: {spec!r} is neither a file nor a dataset: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    import simgrad as sg
    from simgrad.report.layers import write_layers

    try:
        names = measure_names(args.measures)
        factory = load_factory(args.model)
        target = _target(args.target)
        made = factory()
        model, inputs = made if isinstance(made, tuple) else (made, None)
        if args.inputs is not None:
            inputs = _inputs(args.inputs)
        if inputs is None:
            raise _Error("--inputs: give a file, or let the factory return (model, inputs).")
        layers = [s.strip() for s in args.layers.split(",")] if args.layers else None
        try:
            df = sg.compare_model(
                model,
                inputs,
                target,
                names,
                layers=layers,
                reduce=args.reduce,
                batch_size=args.batch_size,
                seed=args.seed,
                memory_budget=args.memory_budget,
            )
        except (ValueError, TypeError) as exc:
            raise _Error(str(exc)) from None
    except _Error as exc:
        print(f"simgrad layers: error: {exc}", file=sys.stderr)
        return 2
    info = {
        "model": args.model,
        "inputs": args.inputs,
        "target": args.target,
        "measures": names,
        "reduce": args.reduce,
        "seed": args.seed,
    }
    page = write_layers(
        df, args.out, title=f"Layers of {args.model}", info=info, figures=not args.no_figures
    )
    print(f"wrote {page}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "layers",
        help="every layer of a PyTorch model against recordings: CSV, figures, report",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="MOD:FACTORY",
        help="'package.module:factory' or 'file.py:factory'",
    )
    p.add_argument("--inputs", default=None, metavar="FILE", help=".npy, .npz (data) or .pt")
    p.add_argument("--target", required=True, metavar="DATASET|FILE")
    p.add_argument("--measures", default="cka", metavar="A,B,...")
    p.add_argument("--layers", default=None, metavar="NAME,...", help="default: every leaf")
    p.add_argument("--reduce", default="flatten", help="flatten, mean, pca-K or project-K")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--memory-budget", default="1GB")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-figures", action="store_true", help="CSV only")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=_run)
