"""Preprocessing as explicit, pure functions (each returns a new :class:`Dataset` or array).

- :func:`time_window` — keep the time bins whose time stamp lies in ``[start, stop)``.
- :func:`rebin` — average ``factor`` consecutive time bins.
- :func:`average_conditions` — average conditions (or samples) sharing the same labels.
- :func:`pca` — project the units onto the leading principal components.
- :func:`soft_normalize` — divide each unit by its range plus a constant.
- :func:`pseudo_population` — build pseudo-population trials from separately recorded units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .dataset import Dataset

__all__ = [
    "average_conditions",
    "pca",
    "pseudo_population",
    "rebin",
    "soft_normalize",
    "time_window",
]


def _need_temporal(ds: Dataset, fn: str) -> None:
    if not isinstance(ds, Dataset):
        raise TypeError(f"{fn}: dataset must be a simgrad Dataset, got {type(ds).__name__}.")
    if not ds.is_temporal:
        raise ValueError(f"{fn}: dataset {ds.name!r} has no time axis (shape {ds.shape}).")


def time_window(ds: Dataset, start: float | None = None, stop: float | None = None) -> Dataset:
    """Keep time bins with ``start <= time < stop`` (ms; ``None`` = open end).

    >>> import numpy as np
    >>> ds = Dataset(np.ones((6, 2, 3)), {"c": [0, 1]}, time=np.arange(6) * 50.0)
    >>> time_window(ds, 50, 200).time.tolist()
    [50.0, 100.0, 150.0]
    """
    _need_temporal(ds, "time_window")
    t = ds.time if ds.time is not None else np.arange(ds.shape[0], dtype=float)
    keep = np.ones(t.shape, bool)
    if start is not None:
        keep &= t >= start
    if stop is not None:
        keep &= t < stop
    if not keep.any():
        raise ValueError(
            f"time_window: no time bin of {ds.name!r} lies in [{start}, {stop}); "
            f"its times run from {t[0]} to {t[-1]}."
        )
    return ds.replace(data=ds.data[keep], time=t[keep])


def rebin(ds: Dataset, factor: int) -> Dataset:
    """Average groups of ``factor`` consecutive time bins; a trailing partial group is dropped.

    New time stamps are the mean time stamp of each group:
    ``new[k] = mean(data[k*factor:(k+1)*factor])``.

    >>> import numpy as np
    >>> ds = Dataset(np.arange(8.0).reshape(4, 2, 1), {"c": [0, 1]}, time=[0, 10, 20, 30])
    >>> r = rebin(ds, 2); r.data[:, 0, 0].tolist(), r.time.tolist()
    ([1.0, 5.0], [5.0, 25.0])
    """
    _need_temporal(ds, "rebin")
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"rebin: factor must be a positive integer, got {factor!r}.")
    n = ds.shape[0] // factor
    if n == 0:
        raise ValueError(f"rebin: factor {factor} exceeds the {ds.shape[0]} time bins.")
    data = ds.data[: n * factor].reshape(n, factor, *ds.shape[1:]).mean(axis=1)
    t = ds.time if ds.time is not None else np.arange(ds.shape[0], dtype=float)
    time = t[: n * factor].reshape(n, factor).mean(axis=1)
    return ds.replace(data=data, time=time)


def average_conditions(ds: Dataset, by: Sequence[str] | None = None) -> Dataset:
    """Average the conditions (3-D) or samples (2-D) that share the same values of labels ``by``.

    ``by`` defaults to all labels. Groups come out sorted by label values; the returned labels
    hold one entry per group.

    >>> import numpy as np
    >>> ds = Dataset(np.array([[1.0], [3.0], [10.0]]), {"y": [0, 0, 1]})
    >>> average_conditions(ds).data.ravel().tolist()
    [2.0, 10.0]
    """
    if not isinstance(ds, Dataset):
        raise TypeError("average_conditions: dataset must be a simgrad Dataset.")
    by = list(ds.labels) if by is None else list(by)
    if not by:
        raise ValueError("average_conditions: the dataset has no labels to group by.")
    missing = [b for b in by if b not in ds.labels]
    if missing:
        raise ValueError(f"average_conditions: unknown label(s) {missing}; have {list(ds.labels)}.")
    codes = []
    uniques = []
    for b in by:
        u, inv = np.unique(ds.labels[b], return_inverse=True)
        uniques.append(u)
        codes.append(inv)
    key = np.ravel_multi_index(codes, [len(u) for u in uniques])
    groups, inv = np.unique(key, return_inverse=True)
    counts = np.bincount(inv, minlength=len(groups)).astype(float)
    axis = ds.data.ndim - 2
    moved = np.moveaxis(ds.data, axis, 0)
    sums = np.zeros((len(groups), *moved.shape[1:]))
    np.add.at(sums, inv, moved)
    data = np.moveaxis(sums / counts.reshape(-1, *([1] * (moved.ndim - 1))), 0, axis)
    idx = np.unravel_index(groups, [len(u) for u in uniques])
    labels = {b: uniques[i][idx[i]] for i, b in enumerate(by)}
    return ds.replace(data=data, labels=labels)


def pca(ds: Dataset, variance: float = 0.99, center: bool = True) -> Dataset:
    """Project the units onto the fewest principal components explaining ``variance``.

    PCs of the flattened, centred data ``X = U S Vᵀ``; keep ``k`` = smallest number with
    ``sum(S[:k]²) / sum(S²) >= variance``; the new units are ``X V[:, :k]`` (the mean is
    added back through ``mean @ V[:, :k]`` when ``center`` is False). Same as
    ``sklearn.decomposition.PCA(variance).fit_transform`` up to the sign of each component.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 10)) * np.arange(1, 11)
    >>> pca(Dataset(X), 0.9).n_units < 10
    True
    """
    if not isinstance(ds, Dataset):
        raise TypeError("pca: dataset must be a simgrad Dataset.")
    if not 0 < variance <= 1:
        raise ValueError(f"pca: variance must be a fraction in (0, 1], got {variance!r}.")
    X = ds.flat()
    mu = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mu, full_matrices=False)
    ratio = np.cumsum(s**2) / np.sum(s**2)
    k = int(np.searchsorted(ratio, variance - 1e-12) + 1)
    k = min(k, len(s))
    Z = (X - mu) @ vt[:k].T
    if not center:
        Z = Z + mu @ vt[:k].T
    return ds.replace(data=Z.reshape(*ds.shape[:-1], k), units=f"PCs of {ds.units}")


def soft_normalize(ds: Dataset, constant: float = 5.0) -> Dataset:
    """Soft normalization: ``x_u / (max_u - min_u + constant)`` per unit (Churchland et al. 2012).

    Keeps weakly responding units from being inflated (range in ``ds.units``).

    >>> import numpy as np
    >>> soft_normalize(Dataset(np.array([[0.0], [5.0]])), 5).data.ravel().tolist()
    [0.0, 0.5]
    """
    if not isinstance(ds, Dataset):
        raise TypeError("soft_normalize: dataset must be a simgrad Dataset.")
    if not np.isfinite(constant) or constant < 0:
        raise ValueError(f"soft_normalize: constant must be finite and >= 0, got {constant!r}.")
    X = ds.flat()
    rng = X.max(axis=0) - X.min(axis=0) + constant
    if np.any(rng == 0):
        raise ValueError("soft_normalize: a unit is constant and constant=0; use constant > 0.")
    return ds.replace(data=ds.data / rng, units=f"{ds.units} / (range + {constant:g})")


def pseudo_population(
    trials: np.ndarray,
    unit: np.ndarray,
    condition: np.ndarray,
    n_per_condition: int,
    *,
    n_units: int | None = None,
    n_conditions: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-population trials from units recorded separately.

    For every unit ``u`` and condition ``c``, ``n_per_condition`` of the unit's trials in
    ``c`` are drawn at random (seeded); pseudo-trial ``c*k + j`` of the population stacks, for
    each unit, its ``j``-th draw. Draws are distinct recorded trials while the unit has enough
    of them in ``c``; the remainder (if it has fewer than ``k``) is drawn with replacement.

    Parameters
    ----------
    trials : ``(n_trials, time)`` or ``(n_trials,)`` array, one row per recorded trial.
    unit, condition : ``(n_trials,)`` integer arrays (0-based codes).
    Returns ``(data, cond)``: ``data`` shaped ``(time, n_conditions*k, n_units)`` (time axis
    omitted for 1-D ``trials``), and ``cond`` the condition code of each pseudo-trial.

    >>> import numpy as np
    >>> x = np.arange(8.0)[:, None]; u = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> c = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> d, cond = pseudo_population(x, u, c, 2, seed=0); d.shape, cond.tolist()
    ((1, 4, 2), [0, 0, 1, 1])
    """
    trials = np.asarray(trials)
    squeeze = trials.ndim == 1
    if squeeze:
        trials = trials[:, None]
    if trials.ndim != 2:
        raise ValueError(f"pseudo_population: trials must be 1-D or 2-D, got {trials.shape}.")
    unit = np.asarray(unit).astype(np.int64)
    condition = np.asarray(condition).astype(np.int64)
    n = trials.shape[0]
    for nm, a in (("unit", unit), ("condition", condition)):
        if a.shape != (n,):
            raise ValueError(f"pseudo_population: {nm} must have one entry per trial ({n}).")
        if n and a.min() < 0:
            raise ValueError(f"pseudo_population: {nm} codes must be >= 0.")
    if not isinstance(n_per_condition, (int, np.integer)) or n_per_condition < 1:
        raise ValueError(
            f"pseudo_population: n_per_condition must be a positive integer, "
            f"got {n_per_condition!r}."
        )
    U = int(n_units if n_units is not None else unit.max() + 1)
    C = int(n_conditions if n_conditions is not None else condition.max() + 1)
    k = int(n_per_condition)
    group = unit * C + condition
    counts = np.bincount(group, minlength=U * C)
    if np.any(counts == 0):
        g = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(
            f"pseudo_population: unit {g // C} has no trial in condition {g % C}; "
            "drop it or merge conditions."
        )
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(n), group))  # trials grouped, shuffled within each group
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    j = np.arange(k)
    # draw j < count: the j-th shuffled trial (distinct); j >= count: a uniform draw
    extra = (rng.random((U * C, k)) * counts[:, None]).astype(np.int64)
    offset = np.where(j[None, :] < counts[:, None], j[None, :], extra)
    picks = order[starts[:, None] + offset]  # (U*C, k)
    sel = trials[picks.reshape(U, C * k)]  # (U, C*k, time)
    data = np.transpose(sel, (2, 1, 0)).astype(np.float64)
    cond = np.repeat(np.arange(C), k)
    return (data[0] if squeeze else data), cond
