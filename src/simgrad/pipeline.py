"""The main job: from a dataset to the tables, figures and report a paper can cite.

For each measure and seed, :func:`run` optimizes synthetic data towards the reference
(``sg.optimize``), decodes every label along the trajectory, measures which principal
components of the reference are captured as the score rises, and compares the capture scores
with the theory's predictions (``sg.theory``). It writes (``design.md``, "The main job")::

    OUT/report.html                  one self-contained page (figures embedded)
    OUT/figures/*.png
    OUT/results/scores.csv           measure, seed, iteration, score
    OUT/results/decoding.csv         measure, seed, iteration, score, label, accuracy
    OUT/results/thresholds.csv       measure, seed, label, chance, reference_accuracy,
                                     threshold_accuracy, threshold_score (empty = never reached)
    OUT/results/pc_capture.csv       measure, seed, pc, explained_variance_ratio,
                                     capture_score (empty = never captured)
    OUT/run.json                     versions, arguments, seeds, timings

and returns the same tables as DataFrames (:class:`RunResult`).

Every option is validated before any optimization starts. Each (measure, seed) unit is saved
to ``OUT/.checkpoints/<hash>.npz`` (hash of everything that determines its numbers) as soon
as it finishes, and every file is written atomically, so a run interrupted at any point and
restarted with the same arguments resumes and ends with the same files as an uninterrupted
run (only the timings in ``run.json`` differ).

Example (about a minute on a laptop)::

    import simgrad as sg
    res = sg.run(measures=["cka", "procrustes-angular_score"], max_iter=200, out="out")
    res.thresholds          # one row per measure × seed × label
    res.report              # out/report.html
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._io import (
    Checkpoints,
    args_hash,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    check_writable_dir,
)

__all__ = ["DEFAULTS", "PANEL", "RunResult", "load_config", "resolve_options", "run"]

#: the paper's panel of measures (Fig. 3)
PANEL = (
    "cka",
    "cka-angular_score",
    "nbs",
    "procrustes-angular_score",
    "linreg",
    "ridge-lambda=100-r2-cv=5folds",
)

#: options of :func:`run` (and keys of a ``--config`` TOML file) with their defaults
DEFAULTS: dict[str, Any] = {
    "dataset": "context",
    "data": None,
    "measures": PANEL,
    "seeds": 1,
    "target": 0.99,
    "max_iter": 300,
    "lr": 0.1,
    "out": "simgrad-out",
    "device": "cpu",
    "labels": None,
    "cutoff": 0.9,
    "decode_iterates": 10,
}

#: bump when the content of a checkpoint changes meaning (old checkpoints are then ignored)
_FORMAT = 1

TABLE_COLUMNS = {
    "scores": ["measure", "seed", "iteration", "score"],
    "decoding": ["measure", "seed", "iteration", "score", "label", "accuracy"],
    "thresholds": [
        "measure",
        "seed",
        "label",
        "chance",
        "reference_accuracy",
        "threshold_accuracy",
        "threshold_score",
    ],
    "pc_capture": ["measure", "seed", "pc", "explained_variance_ratio", "capture_score"],
}


@dataclass
class RunResult:
    """What :func:`run` returns: the results tables as DataFrames and where they were written.

    ``scores``, ``decoding``, ``thresholds`` and ``pc_capture`` hold exactly the CSVs'
    columns; ``pc_r2`` (``measure, seed, iteration, score, pc, r2``) and ``theory``
    (``measure, pc, explained_variance_ratio, predicted_capture_score``) are the data behind
    the PC figures; ``summary`` is one row per measure (see
    :func:`simgrad.report.summary_table`); ``info`` is the content of ``run.json``.
    """

    scores: pd.DataFrame
    decoding: pd.DataFrame
    thresholds: pd.DataFrame
    pc_capture: pd.DataFrame
    pc_r2: pd.DataFrame
    theory: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    info: dict = field(default_factory=dict)

    @property
    def report(self) -> Path:
        return self.out / "report.html"


# ============================================================================ options
@dataclass(frozen=True)
class Options:
    """Validated options of one run."""

    dataset: Any
    data: Path | None
    measures: tuple[str, ...]  # canonical names, in the order given
    given_names: tuple[str, ...]  # as the user wrote them
    seeds: tuple[int, ...]
    target: float
    max_iter: int
    lr: float
    out: Path
    device: str
    labels: tuple[str, ...] | None
    cutoff: float
    decode_iterates: int | None

    def as_json(self) -> dict:
        ds = self.dataset if isinstance(self.dataset, str) or self.dataset is None else "<Dataset>"
        return {
            "dataset": None if self.data is not None else ds,
            "data": None if self.data is None else str(self.data),
            "measures": list(self.given_names),
            "seeds": list(self.seeds),
            "target": self.target,
            "max_iter": self.max_iter,
            "lr": self.lr,
            "out": str(self.out),
            "device": self.device,
            "labels": None if self.labels is None else list(self.labels),
            "cutoff": self.cutoff,
            "decode_iterates": self.decode_iterates,
        }


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file holding :func:`run`'s options (keys as in :data:`DEFAULTS`).

    Raises ``ValueError`` for a missing or malformed file or an unknown key.
    """
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config: no such file: {str(p)!r}.")
    try:
        with open(p, "rb") as fh:
            cfg = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"config: {str(p)!r} is not valid TOML ({exc}).") from None
    if "run" in cfg and isinstance(cfg["run"], dict) and len(cfg) == 1:
        cfg = cfg["run"]  # a [run] table is accepted too
    unknown = sorted(set(cfg) - set(DEFAULTS) - {"config"})
    if unknown:
        import difflib

        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, list(DEFAULTS), n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"config: unknown key(s) {', '.join(hints)} in {str(p)!r}; "
            f"known keys: {', '.join(DEFAULTS)}."
        )
    if "config" in cfg:
        raise ValueError(f"config: {str(p)!r} may not name another config file.")
    return cfg


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_number(name: str, v: Any, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {v!r}.")
    f = float(v)
    if not math.isfinite(f) or (positive and f <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {v!r}.")
    return f


def _measure_list(value: Any) -> list[str]:
    if isinstance(value, str):
        names = [m.strip() for m in value.split(",")]
    elif isinstance(value, Sequence):
        names = list(value)
    else:
        raise TypeError(
            f"measures must be a list of names or a comma-separated string, got {value!r}."
        )
    if not names or any(not isinstance(n, str) or not n.strip() for n in names):
        raise ValueError(f"measures must be non-empty names, got {value!r}.")
    return [n.strip() for n in names]


def resolve_options(config: str | os.PathLike | None = None, **given: Any) -> Options:
    """Merge explicit options over a config file over :data:`DEFAULTS` and validate them.

    Options left as ``None`` take the config's value, then the default. Raises
    ``ValueError``/``TypeError`` naming the option and the problem.
    """
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(unknown)}.")
    cfg = load_config(config) if config is not None else {}
    opts = dict(DEFAULTS)
    opts.update({k: v for k, v in cfg.items() if v is not None})
    opts.update({k: v for k, v in given.items() if v is not None})
    # where the reference comes from: explicit arguments, else the config, else the default
    src_given = {k: given[k] for k in ("dataset", "data") if given.get(k) is not None}
    src_cfg = {k: cfg[k] for k in ("dataset", "data") if cfg.get(k) is not None}
    if len(src_given) == 2:
        raise ValueError("give either dataset (a name) or data (a file), not both.")
    if len(src_cfg) == 2 and not src_given:
        raise ValueError("config: give either 'dataset' or 'data', not both.")
    src = src_given or src_cfg or {"dataset": DEFAULTS["dataset"]}
    opts["dataset"], opts["data"] = src.get("dataset"), src.get("data")
    data = None
    if opts["data"] is not None:
        if not isinstance(opts["data"], (str, os.PathLike)):
            raise TypeError(f"data must be a file path, got {opts['data']!r}.")
        data = Path(opts["data"])
        if not data.is_file():
            raise ValueError(f"data: no such file: {str(data)!r}.")
        dataset = None
    else:
        dataset = opts["dataset"]
        if not isinstance(dataset, str):
            from .datasets import Dataset

            if not isinstance(dataset, Dataset):
                raise TypeError(
                    f"dataset must be a dataset name or a simgrad Dataset, got {dataset!r}."
                )

    # measures: resolve every name now (unknown names fail here, with suggestions)
    from .measures import measure as _measure

    given_names = _measure_list(opts["measures"])
    canon: list[str] = []
    for n in given_names:
        try:
            c = _measure(n).name
        except ValueError as exc:
            raise ValueError(f"measures: {exc}") from None
        if c in canon:
            raise ValueError(f"measures: {n!r} names {c!r} twice; give each measure once.")
        if _measure(n).is_distance:
            from .measures import measures as _names

            alt = [m for m in _names(c.split("-distance")[0] + "-*") if m.endswith("score")]
            hint = f" such as {', '.join(alt[:3])}" if alt else ""
            raise ValueError(
                f"measures: {n!r} is a distance (0 = identical); the main job drives scores "
                f"towards a target, so give a score form{hint} (see `simgrad measures`)."
            )
        canon.append(c)

    seeds_v = opts["seeds"]
    if _is_int(seeds_v):
        if seeds_v < 1:
            raise ValueError(f"seeds must be a positive number of seeds, got {seeds_v!r}.")
        seeds = tuple(range(int(seeds_v)))
    elif isinstance(seeds_v, Sequence) and not isinstance(seeds_v, str):
        if not seeds_v or not all(_is_int(s) and s >= 0 for s in seeds_v):
            raise ValueError(f"seeds must be non-negative integers, got {seeds_v!r}.")
        if len(set(seeds_v)) != len(seeds_v):
            raise ValueError(f"seeds must be distinct, got {seeds_v!r}.")
        seeds = tuple(int(s) for s in seeds_v)
    else:
        raise TypeError(f"seeds must be a count or a list of seeds, got {seeds_v!r}.")

    target = _check_number("target", opts["target"])
    if not _is_int(opts["max_iter"]) or opts["max_iter"] < 1:
        raise ValueError(f"max_iter must be a positive integer, got {opts['max_iter']!r}.")
    lr = _check_number("lr", opts["lr"], positive=True)
    cutoff = _check_number("cutoff", opts["cutoff"])

    device = opts["device"]
    if not isinstance(device, str) or device.split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}.")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError("device: 'cuda' was asked for but no CUDA GPU is available.")

    labels = opts["labels"]
    if labels is not None:
        if isinstance(labels, str):
            labels = [s.strip() for s in labels.split(",") if s.strip()]
        if not isinstance(labels, Sequence) or not all(isinstance(s, str) for s in labels):
            raise TypeError(f"labels must be a list of label names, got {labels!r}.")
        labels = tuple(labels)

    dec_it = opts["decode_iterates"]
    if isinstance(dec_it, str) and dec_it.lower() == "all":
        dec_it = 0
    if not _is_int(dec_it) or dec_it < 0 or dec_it in (1, 2, 3):
        raise ValueError(
            f"decode_iterates must be 0 (every recorded iterate) or an integer ≥ 4, "
            f"got {opts['decode_iterates']!r}."
        )

    if not isinstance(opts["out"], (str, os.PathLike)):
        raise TypeError(f"out must be a folder path, got {opts['out']!r}.")
    out = check_writable_dir(opts["out"], "out")
    return Options(
        dataset=dataset,
        data=data,
        measures=tuple(canon),
        given_names=tuple(given_names),
        seeds=seeds,
        target=target,
        max_iter=int(opts["max_iter"]),
        lr=lr,
        out=out,
        device=device,
        labels=labels,
        cutoff=cutoff,
        decode_iterates=int(dec_it) or None,
    )


def _load_dataset(opts: Options) -> Any:
    from . import datasets

    if opts.data is not None:
        try:
            return datasets.from_file(opts.data)
        except (ValueError, TypeError, KeyError, OSError) as exc:
            raise ValueError(f"data: cannot use {str(opts.data)!r}: {exc}") from None
    if isinstance(opts.dataset, str):
        try:
            return datasets.load(opts.dataset)
        except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
            raise ValueError(f"dataset: {exc}") from None
    return opts.dataset


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


def _fingerprint(ds: Any) -> str:
    h = hashlib.sha256()
    h.update(repr(ds.data.shape).encode())
    h.update(np.ascontiguousarray(ds.data, dtype=np.float64).tobytes())
    for k in sorted(ds.labels):
        v = np.asarray(ds.labels[k])
        h.update(k.encode())
        h.update(str(v.dtype).encode())
        h.update(v.astype(str).tobytes() if v.dtype.kind in "US" else v.tobytes())
    return h.hexdigest()[:20]


# ============================================================================ one unit
def _unit_key(fp: str, opts: Options, measure: str, seed: int, labels: Sequence[str]) -> str:
    return args_hash(
        {
            "format": _FORMAT,
            "dataset": fp,
            "measure": measure,
            "seed": seed,
            "target": opts.target,
            "max_iter": opts.max_iter,
            "lr": opts.lr,
            "labels": list(labels),
            "decode_iterates": opts.decode_iterates,
            "device": opts.device.split(":")[0],
        }
    )


def _spread(scores: np.ndarray, candidates: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` of the ``candidates`` (indices into ``scores``) whose scores are closest to
    ``n`` evenly spaced values between the first and the last candidate's score."""
    if len(candidates) <= n:
        return [int(c) for c in candidates]
    s = scores[candidates]
    picks = {int(candidates[0]), int(candidates[-1])}
    for v in np.linspace(s[0], s[-1], n)[1:-1]:
        picks.add(int(candidates[int(np.argmin(np.abs(s - v)))]))
    return sorted(picks)


def _decode_unit(
    traj: Any, ds: Any, labels: Sequence[str], seed: int, budget: int | None
) -> dict[str, np.ndarray]:
    """Decode every label along the trajectory, at most ``budget`` iterates per label.

    All recorded iterates when ``budget`` is None or covers them. Otherwise: a coarse pass at
    ``budget − 3`` iterates spread evenly over the score range, then, for each label, up to 3
    more iterates inside the bracket where its accuracy first crosses the threshold (paper.md
    §7.16: subsample the curve, keep it dense near the threshold). Thresholds are first
    crossings over the decoded iterates (``None`` = never reached).
    """
    from . import analysis

    lab = {n: ds.labels[n] for n in labels}
    rec_scores = np.asarray(traj.recorded_scores, dtype=np.float64)
    recorded = traj.recorded
    k = len(rec_scores)
    ref = analysis.decode(ds, lab, seed=seed)
    chance = {n: float(ref.chance[n]) for n in labels}
    ref_acc = {n: float(ref.accuracy[n]) for n in labels}
    thr_acc = {n: chance[n] + 0.9 * (ref_acc[n] - chance[n]) for n in labels}
    every = np.arange(k)
    if budget is None or k <= budget:
        coarse = every
    else:
        coarse = np.asarray(_spread(rec_scores, every, max(2, budget - 3)))
    along = analysis.decode_iterates(recorded[coarse], lab, seed=seed)
    acc: dict[str, dict[int, float]] = {
        n: {int(i): float(a) for i, a in zip(coarse, along.accuracy[n])} for n in labels
    }
    if len(coarse) < k:
        for n in labels:
            idx = sorted(acc[n])
            vals = np.array([acc[n][i] for i in idx])
            hit = np.flatnonzero(vals >= thr_acc[n])
            if hit.size == 0 or hit[0] == 0:
                continue
            lo, hi = idx[hit[0] - 1], idx[hit[0]]
            inside = np.arange(lo + 1, hi)
            if inside.size == 0:
                continue
            extra = _spread(rec_scores, inside, min(3, inside.size))
            more = analysis.decode_iterates(recorded[extra], {n: lab[n]}, seed=seed)
            acc[n].update({int(i): float(a) for i, a in zip(extra, more.accuracy[n])})
    rows_iter, rows_label, rows_acc = [], [], []
    t_score = []
    for j, n in enumerate(labels):
        idx = sorted(acc[n])
        vals = [acc[n][i] for i in idx]
        rows_iter += idx
        rows_label += [j] * len(idx)
        rows_acc += vals
        t_score.append(analysis.first_crossing(rec_scores[idx], vals, thr_acc[n]))
    rec_it = np.asarray(traj.recorded_iterations)
    return {
        "labels": np.asarray(list(labels), dtype=str),
        "decoded_iterations": rec_it[np.asarray(rows_iter, dtype=np.int64)],
        "decoded_scores": rec_scores[np.asarray(rows_iter, dtype=np.int64)],
        "decoded_label": np.asarray(rows_label, dtype=np.int64),
        "decoded_accuracy": np.asarray(rows_acc, dtype=np.float64),
        "chance": np.asarray([chance[n] for n in labels], dtype=np.float64),
        "reference_accuracy": np.asarray([ref_acc[n] for n in labels], dtype=np.float64),
        "threshold_accuracy": np.asarray([thr_acc[n] for n in labels], dtype=np.float64),
        "threshold_score": np.asarray(
            [np.nan if v is None else v for v in t_score], dtype=np.float64
        ),
    }


def _compute_unit(
    ds: Any, measure: str, seed: int, opts: Options, labels: Sequence[str], bar: Any, log: Any
) -> dict[str, np.ndarray]:
    """Optimize, decode and measure PC capture for one (measure, seed)."""
    from . import analysis
    from .optim import optimize

    t0 = time.perf_counter()

    def callback(it: int, scores: np.ndarray) -> None:
        if bar is not None:
            bar.n = it
            bar.set_postfix_str(f"score {float(np.ravel(scores)[0]):.4f}", refresh=False)
            bar.refresh()

    traj = optimize(
        ds,
        measure,
        seed=seed,
        target=opts.target,
        max_iter=opts.max_iter,
        lr=opts.lr,
        device=opts.device,
        record="auto",
        callback=callback,
    )
    if getattr(traj, "interrupted", False):  # Ctrl-C inside the loop: keep nothing partial
        raise KeyboardInterrupt
    if bar is not None:
        bar.n = traj.n_iter
        bar.refresh()
        bar.close()
    t_opt = time.perf_counter() - t0
    log(
        f"  optimized: {traj.n_iter} iterations, score {traj.scores[-1]:.4f}"
        f"{'' if traj.converged else ' (target not reached)'}  [{t_opt:.1f} s]"
    )

    t1 = time.perf_counter()
    rec = np.asarray(traj.recorded_iterations)
    arrays: dict[str, np.ndarray] = {
        "scores": np.asarray(traj.scores, dtype=np.float64),
        "recorded_iterations": rec.astype(np.int64),
        "recorded_scores": np.asarray(traj.recorded_scores, dtype=np.float64),
        "converged": np.asarray(bool(traj.converged)),
        "n_iter": np.asarray(int(traj.n_iter)),
    }
    if labels:
        arrays.update(_decode_unit(traj, ds, labels, seed, opts.decode_iterates))
    t_dec = time.perf_counter() - t1
    n_dec = len(arrays.get("decoded_iterations", []))
    log(f"  decoded {len(labels)} label(s) at {n_dec} iterates  [{t_dec:.1f} s]")

    t2 = time.perf_counter()
    pcs = analysis.pc_capture_trajectory(traj, ds)
    arrays.update(
        {
            "pc_r2": np.asarray(pcs.r2, dtype=np.float64),  # (k, n_pcs)
            "explained_variance_ratio": np.asarray(pcs.explained_variance_ratio, dtype=np.float64),
            "capture_score": np.asarray(
                [np.nan if v is None else v for v in pcs.capture_score], dtype=np.float64
            ),
        }
    )
    t_pc = time.perf_counter() - t2
    n_cap = int(np.isfinite(arrays["capture_score"]).sum())
    log(f"  PC capture: {n_cap}/{len(arrays['capture_score'])} PCs captured  [{t_pc:.1f} s]")
    arrays["timings"] = np.asarray([t_opt, t_dec, t_pc], dtype=np.float64)
    return arrays


# ============================================================================ tables
def _unit_tables(measure: str, seed: int, a: Mapping[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    scores = a["scores"]
    t_scores = pd.DataFrame(
        {
            "measure": measure,
            "seed": seed,
            "iteration": np.arange(len(scores), dtype=np.int64),
            "score": scores,
        }
    )
    rec, rs = a["recorded_iterations"], a["recorded_scores"]
    dec_rows, thr_rows = [], []
    if "labels" in a:
        for j, lab in enumerate(a["labels"].tolist()):
            sel = a["decoded_label"] == j
            dec_rows.append(
                pd.DataFrame(
                    {
                        "measure": measure,
                        "seed": seed,
                        "iteration": a["decoded_iterations"][sel],
                        "score": a["decoded_scores"][sel],
                        "label": lab,
                        "accuracy": a["decoded_accuracy"][sel],
                    }
                )
            )
            ts = float(a["threshold_score"][j])
            thr_rows.append(
                {
                    "measure": measure,
                    "seed": seed,
                    "label": lab,
                    "chance": float(a["chance"][j]),
                    "reference_accuracy": float(a["reference_accuracy"][j]),
                    "threshold_accuracy": float(a["threshold_accuracy"][j]),
                    "threshold_score": ts if math.isfinite(ts) else None,
                }
            )
    evr, cap = a["explained_variance_ratio"], a["capture_score"]
    t_pc = pd.DataFrame(
        {
            "measure": measure,
            "seed": seed,
            "pc": np.arange(1, len(evr) + 1, dtype=np.int64),
            "explained_variance_ratio": evr,
            "capture_score": [float(c) if math.isfinite(c) else None for c in cap],
        }
    )
    r2 = a["pc_r2"]
    k, p = r2.shape
    t_r2 = pd.DataFrame(
        {
            "measure": measure,
            "seed": seed,
            "iteration": np.repeat(rec, p),
            "score": np.repeat(rs, p),
            "pc": np.tile(np.arange(1, p + 1, dtype=np.int64), k),
            "r2": r2.ravel(),
        }
    )
    return {
        "scores": t_scores,
        "decoding": pd.concat(dec_rows, ignore_index=True) if dec_rows else None,
        "thresholds": pd.DataFrame(thr_rows) if thr_rows else None,
        "pc_capture": t_pc,
        "pc_r2": t_r2,
    }


def _concat(parts: list, columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    df = pd.concat(parts, ignore_index=True)
    return df[columns]


def _theory_table(ds: Any, measures: Sequence[str]) -> pd.DataFrame:
    from .analysis import theory

    rows = []
    flat = ds.flat()
    lam = theory.spectrum(flat)
    evr = lam / lam.sum() if lam.sum() > 0 else lam
    for m in measures:
        try:
            pred = theory.capture_scores_topk(flat, m)
        except ValueError:  # no closed form for this measure
            continue
        for i, v in enumerate(pred):
            rows.append(
                {
                    "measure": m,
                    "pc": i + 1,
                    "explained_variance_ratio": float(evr[i]),
                    "predicted_capture_score": float(v),
                }
            )
    cols = ["measure", "pc", "explained_variance_ratio", "predicted_capture_score"]
    return pd.DataFrame(rows, columns=cols)


# ============================================================================ report
def _dataset_info(ds: Any, labels: Sequence[str], source_text: str) -> dict[str, Any]:
    kind = "(time, conditions, units)" if ds.is_temporal else "(samples, units)"
    lab = {}
    for name in ds.labels:
        v = np.asarray(ds.labels[name])
        vals, counts = np.unique(v, return_counts=True)
        if len(vals) <= 12:
            text = ", ".join(f"{_label_text(x)} ({c})" for x, c in zip(vals, counts))
        else:
            text = f"{len(vals)} distinct values"
        if name not in labels:
            text += " — not decoded"
        lab[name] = text
    time_text = ""
    if ds.time is not None and len(ds.time):
        time_text = f"{len(ds.time)} bins, {ds.time[0]:g} … {ds.time[-1]:g} ms"
    return {
        "name": ds.name,
        "description": ds.description,
        "area": ds.area,
        "task": ds.task,
        "shape": f"{' × '.join(map(str, ds.shape))}  {kind}",
        "units": ds.units,
        "time": time_text,
        "source": ds.source or source_text,
        "citation": ds.citation,
        "license": ds.license,
        "labels": lab,
    }


def _label_text(x: Any) -> str:
    if isinstance(x, (float, np.floating)) and float(x) == int(x):
        return str(int(x))
    return str(x)


_CAPTIONS = {
    "scores": "Score of the synthetic data against the reference at each iteration, one line "
    "per measure and seed (Adam, lr {lr:g}, Y₀ ~ N(0, 1); stops at score {target:g}).",
    "decoding": "Decoding accuracy of each label from the synthetic data against the score it "
    "reached (5-fold cross-validated logistic regression per time bin). Black dashed: the "
    "same decoder on the reference; grey dashed: chance. Dots below the axis: the score at "
    "which accuracy first reaches 90% of the way from chance to the reference (threshold "
    "score); runs that never reach it have no dot.",
    "pc_r2": "Fraction of each reference principal component's variance captured by a linear "
    "read-out of the synthetic data (R²), against score; one curve per PC, coloured by the "
    "PC's explained-variance ratio (plasma, log scale).",
    "capture": "Score needed to capture each principal component (R² half-way from its initial "
    "value to 1) against the PC's explained-variance ratio. Dots: measured; lines: the "
    "spectrum-only theory (top-k reconstruction, sg.theory) where a closed form exists.",
    "spectrum": "Explained-variance ratio of the reference's principal components (log scale) "
    "and their cumulative sum (grey).",
}


def _write_outputs(
    res: RunResult, ds: Any, opts: Options, labels: Sequence[str], log: Any
) -> dict[str, float]:
    from .measures import card
    from .report import figures as F
    from .report.html import render_report

    t0 = time.perf_counter()
    results = opts.out / "results"
    for name in TABLE_COLUMNS:
        atomic_write_csv(results / f"{name}.csv", getattr(res, name))
    t_csv = time.perf_counter() - t0

    t1 = time.perf_counter()
    colors = F.measure_colors(list(opts.measures))
    evr = (
        res.pc_capture.drop_duplicates("pc")["explained_variance_ratio"].to_numpy()
        if len(res.pc_capture)
        else np.zeros(0)
    )
    figs = {
        "scores": F.score_curves(res.scores, colors),
        "decoding": F.decoding_vs_score(res.decoding, res.thresholds, colors)
        if len(res.thresholds)
        else None,
        "pc_r2": F.pc_r2_vs_score(res.pc_r2, res.pc_capture, list(opts.measures)),
        "capture": F.capture_vs_variance(res.pc_capture, colors, res.theory),
        "spectrum": F.spectrum(evr),
    }
    pngs: dict[str, tuple[bytes, str]] = {}
    fmt = {"lr": opts.lr, "target": opts.target}
    for key, fig in figs.items():
        if fig is None:
            continue
        png = F.png_bytes(fig)
        atomic_write_bytes(opts.out / "figures" / f"{key}.png", png)
        pngs[key] = (png, _CAPTIONS[key].format(**fmt))
    t_fig = time.perf_counter() - t1

    t2 = time.perf_counter()
    from . import __version__

    names = ", ".join(F.short_name(m) for m in opts.measures)
    n_seeds = len(opts.seeds)
    subtitle = (
        f"Reference <b>{_esc(ds.name)}</b> · {len(opts.measures)} measure(s): {_esc(names)} · "
        f"{n_seeds} seed{'s' if n_seeds != 1 else ''} · target {opts.target:g} · "
        f"simgrad {__version__}"
    )
    settings = {k: v for k, v in opts.as_json().items() if k != "out"}
    settings["simgrad"] = __version__
    cite = (
        "Method: Cloos N, Li M, Siegel M, Brincat SL, Miller EK, Yang GR, Cueva CJ (2025). "
        "<i>Differentiable optimization of similarity scores between models and brains.</i> "
        f"ICLR 2025. Software: simgrad {__version__}."
    )
    if ds.citation:
        cite = f"Data: {_esc(ds.citation)}<br>" + cite
    html = render_report(
        title=f"simgrad report — {ds.name}",
        subtitle=subtitle,
        dataset=_dataset_info(ds, labels, str(opts.data or opts.dataset)),
        cards=[card(m) for m in opts.measures],
        colors=colors,
        summary=res.summary,
        thresholds=res.thresholds,
        pc_capture=res.pc_capture,
        figures=pngs,
        settings=settings,
        cutoff=opts.cutoff,
        citation=cite,
    )
    atomic_write_text(opts.out / "report.html", html)
    t_html = time.perf_counter() - t2
    log(f"wrote tables, {len(pngs)} figures and the report  [{t_csv + t_fig + t_html:.1f} s]")
    return {"csv": t_csv, "figures": t_fig, "report": t_html}


def _esc(s: str) -> str:
    from html import escape

    return escape(str(s))


def _versions() -> dict[str, str]:
    import matplotlib
    import sklearn
    import torch

    from . import __version__

    return {
        "simgrad": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
    }


# ============================================================================ run
def run(
    dataset: Any = None,
    *,
    data: str | os.PathLike | None = None,
    measures: Sequence[str] | str | None = None,
    seeds: int | Sequence[int] | None = None,
    target: float | None = None,
    max_iter: int | None = None,
    lr: float | None = None,
    out: str | os.PathLike | None = None,
    device: str | None = None,
    labels: Sequence[str] | None = None,
    cutoff: float | None = None,
    decode_iterates: int | None = None,
    config: str | os.PathLike | None = None,
    progress: bool = True,
) -> RunResult:
    """Run the main job and write its outputs into ``out`` (default ``simgrad-out``).

    Parameters
    ----------
    dataset : a dataset name (``sg.datasets.available()``; default ``"context"``) or a
        ``Dataset``. ``data`` instead reads a file (``.npz`` with ``data`` and ``label_<name>``
        arrays, or any format ``sg.datasets.from_file`` reads).
    measures : names or aliases (default: the paper's panel, :data:`PANEL`).
    seeds : a number of seeds (``0 … N−1``) or a list of seeds (default 1).
    target, max_iter, lr : stop at this score / after this many Adam steps / step size
        (defaults 0.99, 300, 0.1).
    device : ``"cpu"`` (default) or ``"cuda"``.
    labels : the labels to decode (default: every categorical label).
    cutoff : the score for "PCs captured before" in the summary (default 0.9).
    decode_iterates : decode each label at most at this many iterates per run (default 10:
        7 spread over the score range + up to 3 where the accuracy crosses its threshold);
        0 decodes every recorded iterate.
    config : a TOML file holding any of these options; explicit arguments win over it.
    progress : show a progress bar per run and a line per finished stage (on stderr).

    Returns
    -------
    :class:`RunResult` with the tables as DataFrames.
    """
    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    opts = resolve_options(
        config,
        dataset=dataset,
        data=data,
        measures=measures,
        seeds=seeds,
        target=target,
        max_iter=max_iter,
        lr=lr,
        out=out,
        device=device,
        labels=labels,
        cutoff=cutoff,
        decode_iterates=decode_iterates,
    )
    ds = _load_dataset(opts)
    lab = decodable_labels(ds, opts.labels)
    if ds.n_conditions < 2 or ds.flat().shape[0] < 3:
        raise ValueError(f"dataset {ds.name!r} is too small to optimize against ({ds.shape}).")
    fp = _fingerprint(ds)
    t_validate = time.perf_counter() - t_start

    def log(msg: str) -> None:
        if progress:
            print(msg, file=sys.stderr, flush=True)

    log(
        f"simgrad run: {ds.name} {ds.shape}, {len(opts.measures)} measure(s) × "
        f"{len(opts.seeds)} seed(s), decoding {', '.join(lab) or 'no labels'} → {opts.out}"
    )
    ckpt = Checkpoints(opts.out / ".checkpoints")
    units = [(m, s) for m in opts.measures for s in opts.seeds]
    parts: dict[str, list] = {k: [] for k in ("scores", "decoding", "thresholds", "pc_capture")}
    parts["pc_r2"] = []
    unit_info = []
    from .report.figures import short_name

    for i, (m, seed) in enumerate(units, 1):
        key = _unit_key(fp, opts, m, seed, lab)
        tu = time.perf_counter()
        arrays = ckpt.load(key)
        resumed = arrays is not None
        head = f"[{i}/{len(units)}] {short_name(m)} · seed {seed}"
        if resumed:
            log(f"{head}: already done (checkpoint {key})")
        else:
            log(f"{head}")
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(
                    total=opts.max_iter,
                    desc=f"  {short_name(m)}",
                    unit="it",
                    leave=False,
                    file=sys.stderr,
                    dynamic_ncols=True,
                )
            try:
                arrays = _compute_unit(ds, m, seed, opts, lab, bar, log)
            finally:
                if bar is not None:
                    bar.close()
            ckpt.save(key, arrays)
        assert arrays is not None
        tables = _unit_tables(m, seed, arrays)
        for k in parts:
            parts[k].append(tables[k])
        unit_info.append(
            {
                "measure": m,
                "seed": seed,
                "checkpoint": key,
                "n_iter": int(arrays["n_iter"]),
                "converged": bool(arrays["converged"]),
                "resumed": resumed,
                "seconds": time.perf_counter() - tu,
                "optimize_s": float(arrays["timings"][0]),
                "decode_s": float(arrays["timings"][1]),
                "pc_capture_s": float(arrays["timings"][2]),
            }
        )

    from .report.summary import format_summary, summary_table

    tables = {k: _concat(parts[k], TABLE_COLUMNS[k]) for k in TABLE_COLUMNS}
    pc_r2 = _concat(parts["pc_r2"], ["measure", "seed", "iteration", "score", "pc", "r2"])
    theory_df = _theory_table(ds, opts.measures)
    summary = summary_table(
        tables["scores"],
        tables["thresholds"],
        tables["pc_capture"],
        cutoff=opts.cutoff,
        measures=list(opts.measures),
    )
    res = RunResult(**tables, pc_r2=pc_r2, theory=theory_df, summary=summary, out=opts.out, info={})
    t_units = sum(u["seconds"] for u in unit_info)
    write_t = _write_outputs(res, ds, opts, lab, log)
    info = {
        "versions": _versions(),
        "arguments": opts.as_json(),
        "dataset": {
            "name": ds.name,
            "shape": list(ds.shape),
            "fingerprint": fp,
            "labels_decoded": list(lab),
            "citation": ds.citation,
        },
        "measures": list(opts.measures),
        "seeds": list(opts.seeds),
        "timings": {
            "started": started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "total_s": time.perf_counter() - t_start,
            "validate_s": t_validate,
            "units_s": t_units,
            **{f"{k}_s": v for k, v in write_t.items()},
            "units": unit_info,
        },
    }
    atomic_write_json(opts.out / "run.json", info)
    res.info = info
    if progress:
        names = {m: short_name(m) for m in opts.measures}
        print("\n" + format_summary(summary, cutoff=opts.cutoff, names=names), flush=True)
        print(f"\nreport: {opts.out / 'report.html'}", flush=True)
    return res
