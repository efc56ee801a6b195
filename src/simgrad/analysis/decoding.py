"""Decoding of task variables along an optimization trajectory (Cloos et al., ICLR 2025).

For each label, an L2 logistic regression (``C = 1``, no standardization, intercept free) is
cross-validated on the data; accuracy is the mean over folds. Schemes, recorded in the
result's ``scheme`` field:

``"per-time"``
    3-D data ``(time, conditions, units)``: one decoder per time step over the conditions,
    ``StratifiedKFold(n_splits, shuffle=True, random_state=seed)`` (the same folds at every
    time step and for every iterate), accuracy averaged over folds then over time.
``"samples"``
    2-D data ``(samples, units)``: the same over samples (one "time step").
``"pooled-time-blocks"``
    3-D data whose rarest class has fewer conditions than folds (e.g. condition-averaged M1:
    8 directions, one condition each). Every (time, condition) pair is a sample; the time axis
    is cut into ``n_splits`` contiguous blocks and each fold tests on one block after training
    on the others, so every class is present in training and no time bin is in both sets
    (honest up to the smoothing across block edges). Needs ``time >= n_splits``.

Chance is the accuracy of always predicting the most frequent class, ``max_k p_k`` (equal to
``1/K`` for balanced labels), computed from the label distribution over the decoded samples.

Two solvers give the same fit: ``method="torch"`` (default) solves every (iterate × time step
× fold) problem at once with the batched Newton solver of :mod:`._logreg`; ``method="sklearn"``
loops over ``sklearn.linear_model.LogisticRegression(C=C)``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = np.repeat([0, 1], 10)
>>> X = rng.normal(size=(3, 20, 5)) + 3 * y[None, :, None]       # (time, conditions, units)
>>> res = decode(X, {"side": y}, seed=0)
>>> res.accuracy["side"], res.scheme["side"]
(1.0, 'per-time')
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from ._logreg import centered_fold_grams, fit_predict, fit_predict_kernel, orthogonal_features
from .thresholds import first_crossing

__all__ = [
    "TrajectoryDecoding",
    "DecodingResult",
    "chance_level",
    "decode",
    "decode_iterates",
    "decode_trajectory",
    "decoding_thresholds",
    "make_folds",
]


@dataclass
class DecodingResult:
    """Cross-validated decoding accuracies.

    ``accuracy[label]``: ``(k,)`` array (one per iterate) from :func:`decode_iterates`, or a
    float from :func:`decode`. ``chance[label]``: majority-class rate. ``scheme[label]``: the
    cross-validation scheme (see module docstring). ``per_time[label]``: ``(k, time)``
    accuracies for the ``"per-time"`` scheme, else ``None``. ``iterates[label]``: which
    iterates were decoded (:func:`decode_trajectory` with a budget).
    """

    accuracy: dict[str, Any]
    chance: dict[str, float]
    scheme: dict[str, str]
    per_time: dict[str, np.ndarray | None] = field(default_factory=dict)
    seed: int = 0
    method: str = "torch"
    iterates: dict[str, np.ndarray] = field(default_factory=dict)


def chance_level(labels: Any) -> float:
    """Accuracy of always predicting the most frequent class: ``max_k n_k / n``.

    >>> chance_level([0, 0, 1, 2])
    0.5
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {y.shape}.")
    _, counts = np.unique(y, return_counts=True)
    return float(counts.max() / y.size)


def _check_labels(labels: Any, n: int) -> dict[str, np.ndarray]:
    if not isinstance(labels, dict) or not labels:
        raise TypeError("labels must be a non-empty dict name -> 1-D array (one per condition).")
    out = {}
    for name, y in labels.items():
        arr = np.asarray(y)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(
                f"label {name!r} must be 1-D with one entry per condition/sample ({n}), "
                f"got shape {arr.shape}."
            )
        if np.unique(arr).size < 2:
            raise ValueError(f"label {name!r} has a single class; nothing to decode.")
        out[str(name)] = np.unique(arr, return_inverse=True)[1].reshape(-1)  # class codes
    return out


def _check_iterates(iterates: Any) -> np.ndarray:
    if isinstance(iterates, torch.Tensor):
        iterates = iterates.detach().cpu().numpy()
    arr = np.asarray(iterates)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"iterates must be a real numeric array, got dtype {arr.dtype}.")
    if arr.ndim not in (3, 4):
        raise ValueError(
            "iterates must be (k, samples, units) or (k, time, conditions, units), "
            f"got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError("iterates is empty (k = 0).")
    if not np.isfinite(arr).all():
        raise ValueError("iterates contains NaN or infinite values.")
    return arr.astype(np.float64, copy=False)


def make_folds(
    y: np.ndarray, n_time: int | None, n_splits: int = 5, seed: int = 0
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Choose the scheme and build its folds.

    Returns ``(scheme, folds, y_samples)``: ``folds`` index the decoded samples (conditions
    for ``"per-time"``/``"samples"``, rows ``t*C + c`` for ``"pooled-time-blocks"``) and
    ``y_samples`` are their labels.
    """
    from sklearn.model_selection import StratifiedKFold

    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2, got {n_splits!r}.")
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() >= n_splits:
        skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = list(skf.split(np.zeros(y.size), codes))
        return ("per-time" if n_time is not None else "samples"), folds, y
    if n_time is None:
        raise ValueError(
            f"a class has only {counts.min()} sample(s), fewer than n_splits={n_splits}; "
            "lower n_splits (>= 2 samples per class are needed)."
        )
    if n_time < n_splits:
        raise ValueError(
            f"a class has only {counts.min()} condition(s) (< n_splits={n_splits}) and there "
            f"are only {n_time} time steps to pool into {n_splits} blocks; lower n_splits."
        )
    C = y.size
    blocks = np.array_split(np.arange(n_time), n_splits)
    t_of_row = np.repeat(np.arange(n_time), C)
    folds = []
    for b in blocks:
        test = np.isin(t_of_row, b)
        folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return "pooled-time-blocks", folds, np.tile(y, n_time)


def _sklearn_acc(
    Xs: np.ndarray, y: np.ndarray, folds, C: float, max_iter: int, tol: float
) -> np.ndarray:
    """``Xs`` (P, S, d) → (P,) fold-mean accuracies, one sklearn fit per problem and fold."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    out = np.zeros(Xs.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for p in range(Xs.shape[0]):
            accs = []
            for tr, te in folds:
                clf = LogisticRegression(C=C, max_iter=max_iter, tol=tol)
                clf.fit(Xs[p, tr], y[tr])
                accs.append(np.mean(clf.predict(Xs[p, te]) == y[te]))
            out[p] = np.mean(accs)
    return out


def _pad(folds) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = max(len(tr) for tr, _ in folds)
    m = max(len(te) for _, te in folds)
    tr_idx = np.zeros((len(folds), n), dtype=np.int64)
    te_idx = np.zeros((len(folds), m), dtype=np.int64)
    tr_m = np.zeros((len(folds), n))
    te_m = np.zeros((len(folds), m))
    for f, (tr, te) in enumerate(folds):
        tr_idx[f, : len(tr)], tr_m[f, : len(tr)] = tr, 1.0
        te_idx[f, : len(te)], te_m[f, : len(te)] = te, 1.0
    return tr_idx, tr_m, te_idx, te_m


def _torch_acc(
    Xs: np.ndarray,
    y: np.ndarray,
    folds,
    C: float,
    dtype: torch.dtype,
    chunk: int,
    max_newton: int,
    max_cg: int,
    tol: float,
) -> np.ndarray:
    """``Xs`` (P, S, d) → (P,) fold-mean accuracies, all (problem × fold) fits batched."""
    classes, yi = np.unique(y, return_inverse=True)
    K = classes.size
    tr_idx, tr_m, te_idx, te_m = _pad(folds)
    nF = len(folds)
    if K == 2:
        Yall = torch.as_tensor((yi == 1)[:, None], dtype=dtype)
    else:
        Yall = torch.nn.functional.one_hot(torch.as_tensor(yi), K).to(dtype)
    Ytr = Yall[torch.as_tensor(tr_idx)]  # (F, n, K)
    yte = torch.as_tensor(yi)[torch.as_tensor(te_idx)]  # (F, m)
    mtr = torch.as_tensor(tr_m, dtype=dtype)
    mte = torch.as_tensor(te_m, dtype=dtype)
    n_te = mte.sum(-1)
    P = Xs.shape[0]
    out = np.zeros(P)
    per = max(1, chunk // nF)
    kernel = K == 2 and tr_idx.shape[1] <= Xs.shape[2]
    tr_t, te_t = torch.as_tensor(tr_idx), torch.as_tensor(te_idx)
    for s in range(0, P, per):
        X = torch.as_tensor(Xs[s : s + per], dtype=dtype)  # (p, S, d)
        p = X.shape[0]
        w = mtr.repeat(p, 1)
        if kernel:  # fewer training samples than units: n × n Grams, exact Newton
            Xc = X - X.mean(1, keepdim=True)  # fold centring below; this only helps round-off
            Kf, Kte = centered_fold_grams(Xc @ Xc.transpose(1, 2), tr_t, mtr, te_t)
            logits = fit_predict_kernel(
                Kf, Ytr[..., 0].repeat(p, 1), w, Kte, C=C, max_newton=max_newton, tol=tol
            )
            pred = (logits > 0).long()
        else:
            Xtr = X[:, tr_t].flatten(0, 1)  # (p*F, n, d)
            Xte = X[:, te_t].flatten(0, 1)
            F, Fte = orthogonal_features(Xtr, w, Xte)
            logits = fit_predict(
                F, Ytr.repeat(p, 1, 1), w, Fte, C=C, max_newton=max_newton, max_cg=max_cg, tol=tol
            )
            pred = (logits[..., 0] > 0).long() if K == 2 else logits.argmax(-1)
        correct = (pred.view(p, nF, -1) == yte).to(dtype) * mte
        acc = correct.sum(-1) / n_te  # (p, F)
        out[s : s + p] = acc.mean(-1).double().numpy()
    return out


def decode_iterates(
    iterates: Any,
    labels: dict[str, Any],
    *,
    seed: int = 0,
    C: float = 1.0,
    n_splits: int = 5,
    method: str = "torch",
    dtype: torch.dtype = torch.float64,
    chunk: int = 800,
    max_iter: int = 10000,
    sklearn_tol: float = 1e-8,
    max_newton: int = 30,
    max_cg: int = 25,
    tol: float = 1e-4,
) -> DecodingResult:
    """Cross-validated decoding accuracy of every label for every iterate.

    ``iterates`` is ``(k, time, conditions, units)`` or ``(k, samples, units)``; ``labels``
    one 1-D array per condition (sample). Returns a :class:`DecodingResult` whose
    ``accuracy[label]`` is a ``(k,)`` array. ``method="sklearn"`` is the exact reference
    path, run to convergence (``max_iter``, ``sklearn_tol``): scikit-learn's defaults
    (``tol=1e-4``, the paper's ``max_iter=200``) stop lbfgs early on unscaled firing rates and
    can change accuracies by several points (park2025-pfc direction: 0.69 vs 0.75 converged).
    ``method="torch"`` batches all fits (``chunk`` problems at a time; ``max_newton`` /
    ``max_cg`` bound its Newton iterations and CG steps, and a fit stops when a Newton step
    changes no training logit by more than ``tol``, an absolute precision of the logits
    whatever the scale of the data).
    """
    if method not in ("torch", "sklearn"):
        raise ValueError(f"method must be 'torch' or 'sklearn', got {method!r}.")
    if not isinstance(C, (int, float)) or isinstance(C, bool) or not C > 0:
        raise ValueError(f"C must be a positive number, got {C!r}.")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, got {seed!r}.")
    arr = _check_iterates(iterates)
    temporal = arr.ndim == 4
    n_items = arr.shape[2] if temporal else arr.shape[1]
    labs = _check_labels(labels, n_items)
    k = arr.shape[0]
    res = DecodingResult({}, {}, {}, {}, seed=int(seed), method=method)
    for name, y in labs.items():
        scheme, folds, ys = make_folds(y, arr.shape[1] if temporal else None, n_splits, seed)
        if scheme == "per-time":
            T = arr.shape[1]
            Xs = arr.reshape(k * T, arr.shape[2], arr.shape[3])
        elif scheme == "pooled-time-blocks":
            Xs = arr.reshape(k, -1, arr.shape[3])
        else:
            Xs = arr
        if method == "sklearn":
            acc = _sklearn_acc(Xs, ys, folds, float(C), max_iter, sklearn_tol)
        else:
            acc = _torch_acc(Xs, ys, folds, float(C), dtype, chunk, max_newton, max_cg, tol)
        if scheme == "per-time":
            per_time = acc.reshape(k, arr.shape[1])
            res.per_time[name] = per_time
            res.accuracy[name] = per_time.mean(1)
        else:
            res.per_time[name] = None
            res.accuracy[name] = acc
        res.chance[name] = chance_level(ys)
        res.scheme[name] = scheme
    return res


def decode(data: Any, labels: dict[str, Any], **kwargs: Any) -> DecodingResult:
    """Decode one array (e.g. the reference): like :func:`decode_iterates` with ``k = 1``;
    ``accuracy[label]`` is a float. Accepts a ``Dataset`` (its ``.data``)."""
    if hasattr(data, "data") and hasattr(data, "labels"):
        data = data.data
    arr = np.asarray(data.detach().cpu() if isinstance(data, torch.Tensor) else data)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"data must be (samples, units) or (time, conditions, units), got shape {arr.shape}."
        )
    res = decode_iterates(arr[None], labels, **kwargs)
    res.accuracy = {k: float(v[0]) for k, v in res.accuracy.items()}
    res.per_time = {k: (None if v is None else v[0]) for k, v in res.per_time.items()}
    return res


def decoding_thresholds(
    scores: Any,
    accuracy: dict[str, Any],
    reference: dict[str, float],
    chance: dict[str, float],
    fraction: float = 0.9,
) -> dict[str, dict[str, Any]]:
    """Score at which each label's accuracy first reaches ``chance + fraction·(ref − chance)``.

    Linear interpolation between the two recorded iterates that bracket the first crossing;
    ``threshold_score`` is ``None`` when the accuracy never gets there (never the last score).
    Returns ``{label: {"chance", "reference_accuracy", "threshold_accuracy",
    "threshold_score"}}``.
    """
    if not 0 < float(fraction) <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    out = {}
    for name, acc in accuracy.items():
        if name not in reference or name not in chance:
            raise ValueError(f"label {name!r} lacks a reference accuracy or a chance level.")
        thr = chance[name] + fraction * (reference[name] - chance[name])
        out[name] = {
            "chance": float(chance[name]),
            "reference_accuracy": float(reference[name]),
            "threshold_accuracy": float(thr),
            "threshold_score": first_crossing(scores, acc, thr),
        }
    return out


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


def _budgeted(
    recorded: np.ndarray,
    scores: np.ndarray,
    labels: dict[str, Any],
    thr: dict[str, float],
    budget: int | None,
    kwargs: dict[str, Any],
) -> tuple[dict[str, dict[int, float]], DecodingResult]:
    """Accuracy per label at the decoded iterates ``{label: {index: accuracy}}`` and the
    coarse pass's result (see :func:`decode_trajectory` for the budget)."""
    k = len(scores)
    every = np.arange(k)
    if not budget or k <= budget:
        coarse = every
    else:
        coarse = np.asarray(_spread(scores, every, max(2, budget - 3)))
    along = decode_iterates(recorded[coarse], labels, **kwargs)
    acc = {n: {int(i): float(a) for i, a in zip(coarse, along.accuracy[n])} for n in labels}
    if len(coarse) == k:
        return acc, along
    for n in labels:
        idx = sorted(acc[n])
        hit = np.flatnonzero(np.array([acc[n][i] for i in idx]) >= thr[n])
        if hit.size == 0 or hit[0] == 0:
            continue
        inside = np.arange(idx[hit[0] - 1] + 1, idx[hit[0]])
        if inside.size == 0:
            continue
        extra = _spread(scores, inside, min(3, inside.size))
        more = decode_iterates(recorded[extra], {n: labels[n]}, **kwargs)
        acc[n].update({int(i): float(a) for i, a in zip(extra, more.accuracy[n])})
    return acc, along


class TrajectoryDecoding(NamedTuple):
    """What :func:`decode_trajectory` returns; unpacks as ``(along, reference, thresholds)``.

    - ``along``: :class:`DecodingResult` of the decoded recorded iterates (``along.iterates``
      their indices, ``along.accuracy`` their accuracies per label);
    - ``reference``: :class:`DecodingResult` of the reference data;
    - ``thresholds``: per label, the first crossing of ``chance + fraction·(reference −
      chance)`` (see :func:`decoding_thresholds`; ``None`` values where never reached).
    """

    along: DecodingResult
    reference: DecodingResult
    thresholds: dict[str, dict[str, Any]]


def decode_trajectory(
    trajectory: Any,
    reference: Any,
    labels: dict[str, Any] | None = None,
    *,
    fraction: float = 0.9,
    budget: int | None = None,
    **kwargs: Any,
) -> TrajectoryDecoding:
    """Decode a :class:`~simgrad.optim.Trajectory`'s recorded iterates and the reference.

    ``reference`` is a ``Dataset`` (its labels are used when ``labels`` is None) or an array.
    Returns a :class:`TrajectoryDecoding` ``(along, reference, thresholds)`` (a named tuple:
    ``along, on_ref, thr = decode_trajectory(...)`` still unpacks); thresholds are first crossings
    of ``chance + fraction·(reference − chance)`` over the decoded iterates, against the
    trajectory's ``recorded_scores``. ``along.iterates[label]`` holds the indices (into the
    recorded iterates) that were decoded and ``along.accuracy[label]`` their accuracies.

    ``budget`` bounds the iterates decoded per label. ``None`` or ``0``, or a budget covering
    every recorded iterate, decodes them all. Otherwise a coarse pass decodes ``budget − 3``
    iterates (at least 2) whose scores are spread evenly over the score range, then, for each
    label, up to 3 more inside the bracket where its accuracy first crosses the threshold
    (subsample the curve, keep it dense near the threshold); ``per_time`` is
    then left empty.
    """
    if labels is None:
        labels = getattr(reference, "labels", None)
        if not labels:
            raise ValueError("labels are required when reference is not a Dataset with labels.")
    if budget is not None and (not isinstance(budget, (int, np.integer)) or budget < 0):
        raise ValueError(f"budget must be None or a non-negative integer, got {budget!r}.")
    ref = decode(reference, labels, **kwargs)
    thr_acc = {
        n: ref.chance[n] + fraction * (ref.accuracy[n] - ref.chance[n]) for n in ref.accuracy
    }
    scores = np.asarray(trajectory.recorded_scores, dtype=np.float64)
    acc, coarse = _budgeted(trajectory.recorded, scores, labels, thr_acc, budget, kwargs)
    full = all(len(acc[n]) == len(scores) for n in labels)
    along = DecodingResult(
        accuracy={n: np.array([acc[n][i] for i in sorted(acc[n])]) for n in labels},
        chance=coarse.chance,
        scheme=coarse.scheme,
        per_time=coarse.per_time if full else {},
        seed=coarse.seed,
        method=coarse.method,
        iterates={n: np.array(sorted(acc[n]), dtype=np.int64) for n in labels},
    )
    thr = {
        n: decoding_thresholds(
            scores[along.iterates[n]],
            {n: along.accuracy[n]},
            ref.accuracy,
            ref.chance,
            fraction,
        )[n]
        for n in labels
    }
    return TrajectoryDecoding(along, ref, thr)
