"""One unit of the main job: optimize, decode and measure PC capture for a (measure, seed).

:func:`optimize_units` optimizes a measure's seeds as one batch and :func:`analyse_unit` turns
each trajectory into plain arrays (what a checkpoint holds); :func:`unit_key` is the
hash of everything that determines them (dataset content via :func:`fingerprint`, measure,
seed, target, max_iter, lr, labels, decode budget, device type).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._io import args_hash
from .tables import captured

__all__ = [
    "FORMAT",
    "analyse_unit",
    "decodable_labels",
    "fingerprint",
    "load_dataset",
    "optimize_units",
    "required_arrays",
    "unit_key",
]

#: bump when the content of a checkpoint changes meaning (old checkpoints are then ignored)
FORMAT = 1

_ALWAYS = (
    "scores",
    "recorded_iterations",
    "recorded_scores",
    "converged",
    "n_iter",
    "pc_r2",
    "explained_variance_ratio",
    "capture_score",
    "timings",
)
_DECODING = (
    "labels",
    "decoded_iterations",
    "decoded_scores",
    "decoded_label",
    "decoded_accuracy",
    "chance",
    "reference_accuracy",
    "threshold_accuracy",
    "threshold_score",
)


def required_arrays(labels: Sequence[str]) -> tuple[str, ...]:
    """The arrays a unit's checkpoint must hold to be used (see :func:`analyse_unit`)."""
    return _ALWAYS + (_DECODING if labels else ())


def load_dataset(options: Any) -> Any:
    """The reference of ``options`` (a :class:`~simgrad.options.RunOptions`): its ``data``
    file, its dataset name, or its ``Dataset``; load failures raise ``ValueError``."""
    from .. import datasets

    if options.data is not None:
        try:
            return datasets.from_file(options.data)
        except (ValueError, TypeError, KeyError, OSError) as exc:
            raise ValueError(f"data: cannot use {str(options.data)!r}: {exc}") from None
    if isinstance(options.dataset, str):
        try:
            return datasets.load(options.dataset)
        except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
            raise ValueError(f"dataset: {exc}") from None
    return options.dataset


def decodable_labels(ds: Any, names: Sequence[str] | None = None) -> list[str]:
    """The labels to decode: ``names`` if given (checked), else every categorical label
    (integer, boolean or string values, or floats that are all whole numbers) with 2 to 50
    classes (fewer classes than samples for 2-D data)."""
    if names is not None:
        missing = [n for n in names if n not in ds.labels]
        if missing:
            raise ValueError(
                f"labels: {', '.join(map(repr, missing))} not in the dataset's labels "
                f"({', '.join(ds.labels) or 'none'})."
            )
        return list(names)
    out = []
    for name, v in ds.labels.items():
        v = np.asarray(v)
        if v.dtype.kind == "f" and not np.all(v == np.round(v)):
            continue
        if v.dtype.kind not in "biufUS":
            continue
        n_classes = len(np.unique(v))
        if 2 <= n_classes <= 50 and (ds.is_temporal or n_classes < len(v)):
            out.append(name)
    return out


def fingerprint(ds: Any) -> str:
    """A hash of the dataset's content (data and labels)."""
    h = hashlib.sha256()
    h.update(repr(ds.data.shape).encode())
    h.update(np.ascontiguousarray(ds.data, dtype=np.float64).tobytes())
    for k in sorted(ds.labels):
        v = np.asarray(ds.labels[k])
        h.update(k.encode())
        h.update(str(v.dtype).encode())
        h.update(v.astype(str).tobytes() if v.dtype.kind in "US" else v.tobytes())
    return h.hexdigest()[:20]


def unit_key(fp: str, options: Any, measure: str, seed: int, labels: Sequence[str]) -> str:
    """The checkpoint key of one unit (``measure`` is its canonical name)."""
    return args_hash(
        {
            "format": FORMAT,
            "dataset": fp,
            "measure": measure,
            "seed": seed,
            "target": options.target,
            "max_iter": options.max_iter,
            "lr": options.lr,
            "labels": list(labels),
            "decode_iterates": options.decode_budget,
            "device": options.device.split(":")[0],
        }
    )


def _decoding_arrays(traj: Any, ds: Any, labels: Sequence[str], seed: int, budget: int | None):
    """The decoding part of a checkpoint (see :func:`simgrad.analysis.decode_trajectory`)."""
    from ..analysis import decode_trajectory

    lab = {n: ds.labels[n] for n in labels}
    along, _, thr = decode_trajectory(traj, ds, lab, budget=budget, seed=seed)
    rows = np.concatenate([along.iterates[n] for n in labels]).astype(np.int64)
    rec_scores = np.asarray(traj.recorded_scores, dtype=np.float64)
    t_score = [thr[n]["threshold_score"] for n in labels]
    return {
        "labels": np.asarray(list(labels), dtype=str),
        "decoded_iterations": np.asarray(traj.recorded_iterations)[rows],
        "decoded_scores": rec_scores[rows],
        "decoded_label": np.repeat(
            np.arange(len(labels), dtype=np.int64), [len(along.iterates[n]) for n in labels]
        ),
        "decoded_accuracy": np.concatenate([along.accuracy[n] for n in labels]).astype(np.float64),
        "chance": np.asarray([thr[n]["chance"] for n in labels], dtype=np.float64),
        "reference_accuracy": np.asarray(
            [thr[n]["reference_accuracy"] for n in labels], dtype=np.float64
        ),
        "threshold_accuracy": np.asarray(
            [thr[n]["threshold_accuracy"] for n in labels], dtype=np.float64
        ),
        "threshold_score": np.asarray(
            [np.nan if v is None else v for v in t_score], dtype=np.float64
        ),
    }


def optimize_units(
    ds: Any, measure: str, seeds: Sequence[int], options: Any, bar: Any
) -> tuple[list[Any], float]:
    """Optimize every seed of ``seeds`` for ``measure`` in one batched run
    (:func:`simgrad.optim.optimize.optimize_seeds`): the trajectories, in the order of
    ``seeds``, and the seconds the batch took. ``bar`` follows the first seed's score."""
    from ..optim.optimize import optimize_seeds

    t0 = time.perf_counter()
    trajs = optimize_seeds(
        ds,
        measure,
        list(seeds),
        target=options.target,
        max_iter=options.max_iter,
        lr=options.lr,
        device=options.device,
        record="auto",
        callback=lambda it, scores: bar.update(it, float(np.ravel(scores)[0])),
    )
    if any(getattr(t, "interrupted", False) for t in trajs):  # Ctrl-C: keep nothing partial
        raise KeyboardInterrupt
    return trajs, time.perf_counter() - t0


def analyse_unit(
    traj: Any,
    t_opt: float,
    ds: Any,
    options: Any,
    labels: Sequence[str],
    log: Callable[[str], None],
) -> dict[str, np.ndarray]:
    """Decode and measure PC capture along one optimized trajectory (``t_opt``: the seconds
    its optimization took): the checkpoint arrays of its unit (see :func:`required_arrays`)."""
    from ..analysis import pc_capture_trajectory

    seed = int(traj.seed)
    log(
        f"  optimized: {traj.n_iter} iterations, score {traj.scores[-1]:.4f}"
        f"{'' if traj.converged else ' (target not reached)'}  [{t_opt:.1f} s]"
    )
    t1 = time.perf_counter()
    arrays: dict[str, np.ndarray] = {
        "scores": np.asarray(traj.scores, dtype=np.float64),
        "recorded_iterations": np.asarray(traj.recorded_iterations).astype(np.int64),
        "recorded_scores": np.asarray(traj.recorded_scores, dtype=np.float64),
        "converged": np.asarray(bool(traj.converged)),
        "n_iter": np.asarray(int(traj.n_iter)),
    }
    if labels:
        arrays.update(_decoding_arrays(traj, ds, labels, seed, options.decode_budget))
    t_dec = time.perf_counter() - t1
    n_dec = len(arrays.get("decoded_iterations", []))
    log(f"  decoded {len(labels)} label(s) at {n_dec} iterates  [{t_dec:.1f} s]")

    t2 = time.perf_counter()
    pcs = pc_capture_trajectory(traj, ds)
    cap = [np.nan if v is None else v for v in pcs.capture_score]
    arrays["pc_r2"] = np.asarray(pcs.r2, dtype=np.float64)  # (k, n_pcs)
    arrays["explained_variance_ratio"] = np.asarray(pcs.explained_variance_ratio, np.float64)
    arrays["capture_score"] = np.asarray(cap, dtype=np.float64)
    t_pc = time.perf_counter() - t2
    n_cap = int(captured(arrays["capture_score"], options.cutoff).sum())
    log(
        f"  PC capture: {n_cap}/{len(arrays['capture_score'])} PCs captured before the score "
        f"reached {options.cutoff:g}  [{t_pc:.1f} s]"
    )
    arrays["timings"] = np.asarray([t_opt, t_dec, t_pc], dtype=np.float64)
    return arrays
