"""Synthetic reference datasets, all seeded (same seed → identical arrays).

- :func:`context` — a population performing a context-dependent integration task (the
  default reference of the main job).
- :func:`toy2d` — the paper's 2-D toy trajectories (10 time × 6 conditions × 2 dims).
- :func:`exp_gaussian` — Gaussian data with an exponentially decaying PCA spectrum.
- :func:`ultrametric` — hierarchical binary patterns (100 leaves × 50 features).
- :func:`matched_spectrum` — Gaussian surrogate with a dataset's singular values.
"""

from __future__ import annotations

import itertools

import numpy as np

from .dataset import Dataset

__all__ = ["context", "exp_gaussian", "matched_spectrum", "toy2d", "ultrametric"]

MOTION_COHERENCES = (-0.5, -0.15, -0.05, 0.05, 0.15, 0.5)
COLOUR_COHERENCES = (-0.5, -0.18, -0.06, 0.06, 0.18, 0.5)


def _check_int(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _standardize(z: np.ndarray) -> np.ndarray:
    z = z - z.mean(axis=0)
    sd = z.std(axis=0)
    return z / np.where(sd > 0, sd, 1.0)


def _random_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def context(
    n_units: int = 200,
    n_time: int = 15,
    seed: int = 0,
    alpha: float = 1.0,
    baseline_hz: float = 10.0,
    modulation_hz: float = 6.0,
) -> Dataset:
    """Population responses in a context-dependent integration task (Mante et al. 2013 design).

    Conditions: 2 contexts × 6 motion × 6 colour coherences = 72, ordered
    ``itertools.product(context, motion, colour)``; ``n_time`` 50 ms bins from 100 ms after
    stimulus onset (time stamps = bin centres, ms). Generative model, for condition c at
    normalized time τ ∈ [0, 1] (sensory onset kernel ``g(τ) = 1 − exp(−τ/0.15)``):

    - task latents: context ``k``; motion ``m·g``; colour ``q·g``; context-gated inputs
      ``k·m·g`` and ``k·q·g``; integrated relevant evidence (choice axis)
      ``tanh(3·e·τ)`` with ``e = m`` in the motion context, ``q`` in the colour context;
      condition-independent ``τ`` and ``sin(πτ)`` (coherences normalized to max 1);
    - ``n_units − 8`` extra latents: random smooth (Gaussian-kernel) per-condition time
      courses, with decreasing power, standing for unmodelled structure;
    - mixing: latents (standardized, task latents weighted first) × a random orthogonal
      matrix → every unit has mixed selectivity; the centred population matrix ``U S Vᵀ``
      (``(time*conditions, units)``) gets the power-law spectrum ``s_i² ∝ i^(−alpha)``
      (PC variance decays like recordings, Stringer et al. 2019);
    - rates: ``baseline_u + modulation_hz · x`` rectified by a softplus (sharpness 2 Hz), with
      per-unit baselines drawn log-normally around ``baseline_hz``. The softplus makes the
      spectrum only approximately a power law.

    Labels (one per condition): ``context`` (−1 = motion context, +1 = colour context),
    ``motion`` and ``colour`` (sign of the coherence, ±1: the paper's median binarization),
    ``choice`` (±1, sign of the relevant coherence), and the signed coherences
    ``motion_coherence``, ``colour_coherence``.

    >>> ds = context(seed=0)
    >>> ds.shape, sorted(ds.labels)[:2]
    ((15, 72, 200), ['choice', 'colour'])
    """
    n_units = _check_int(n_units, "n_units", 8)
    n_time = _check_int(n_time, "n_time", 2)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a positive power-law exponent, got {alpha!r}.")
    rng = np.random.default_rng(seed)
    conds = np.array(list(itertools.product((-1, 1), MOTION_COHERENCES, COLOUR_COHERENCES)))
    ctx, mot, col = conds[:, 0], conds[:, 1], conds[:, 2]
    evidence = np.where(ctx < 0, mot / 0.5, col / 0.5)
    C, T = len(conds), n_time
    task = _context_task_latents(ctx, mot / 0.5, col / 0.5, T)
    extra = _smooth_latents(rng, T, C, n_units - 8)
    X = _power_law_mixture(task, extra, rng, n_units, alpha)
    base = baseline_hz * np.exp(0.5 * rng.normal(size=n_units))
    r = base + modulation_hz * X
    rates = 2.0 * np.logaddexp(0.0, r / 2.0)
    labels = {
        "context": ctx.astype(np.int64),
        "motion": np.sign(mot).astype(np.int64),
        "colour": np.sign(col).astype(np.int64),
        "choice": np.sign(evidence).astype(np.int64),
        "motion_coherence": mot,
        "colour_coherence": col,
    }
    return Dataset(
        rates.reshape(T, C, n_units),
        labels,
        name="context",
        units="spikes/s (simulated)",
        time=100.0 + 50.0 * np.arange(T) + 25.0,
        area="simulated PFC-like population",
        task="context-dependent integration (2 contexts x 6 motion x 6 colour coherences)",
        citation="Synthetic; task design of Mante V, Sussillo D, Shenoy KV, Newsome WT (2013) "
        "Nature 503:78-84.",
        license="MIT (generated by simgrad)",
        source=f"simgrad.datasets.synthetic.context(seed={seed})",
        description="Simulated mixed-selectivity population with a power-law PCA spectrum.",
        extra={"seed": seed, "alpha": alpha},
    )


def _context_task_latents(ctx: np.ndarray, m: np.ndarray, q: np.ndarray, T: int) -> np.ndarray:
    """The 8 task latents of :func:`context`, ``(T·C, 8)`` time-major: choice axis
    ``tanh(3·e·τ)``, context, motion ``m·g``, colour ``q·g``, the context-gated inputs, ``τ``
    and ``sin(πτ)`` (``g(τ) = 1 − exp(−τ/0.15)``, ``e`` the relevant normalized coherence)."""
    C = len(ctx)
    tau = np.linspace(0, 1, T)[:, None]  # (T, 1)
    g = 1 - np.exp(-tau / 0.15)
    evidence = np.where(ctx < 0, m, q)
    return np.stack(
        [
            np.tanh(3 * evidence * tau),
            np.broadcast_to(ctx, (T, C)),
            m * g,
            q * g,
            ctx * m * g,
            ctx * q * g,
            np.broadcast_to(tau, (T, C)),
            np.broadcast_to(np.sin(np.pi * tau), (T, C)),
        ],
        axis=-1,
    ).reshape(T * C, 8)


def _smooth_latents(rng: np.random.Generator, T: int, C: int, n: int) -> np.ndarray:
    """``n`` random smooth time courses per condition, ``(T·C, n)``: white noise convolved over
    time with a Gaussian kernel (width 2 bins)."""
    kern = np.exp(-0.5 * (np.subtract.outer(np.arange(T), np.arange(T)) / 2.0) ** 2)
    return np.einsum("st,tce->sce", kern, rng.normal(size=(T, C, n))).reshape(T * C, -1)


def _power_law_mixture(
    task: np.ndarray, extra: np.ndarray, rng: np.random.Generator, n_units: int, alpha: float
) -> np.ndarray:
    """Standardized, weighted latents (task first, extra with power ``0.8·i^(−1/2)``) mixed
    by a random rotation, centred, given the spectrum ``s_i ∝ i^(−alpha/2)`` and scaled to
    unit overall standard deviation: ``(T·C, n_units)``."""
    weights = np.array([3.0, 2.5, 2.0, 2.0, 1.0, 1.0, 1.5, 1.0])
    extra_w = 0.8 * np.arange(1, extra.shape[1] + 1) ** -0.5
    Z = np.concatenate([_standardize(task) * weights, _standardize(extra) * extra_w], axis=1)
    X = Z @ _random_orthogonal(rng, n_units)
    X -= X.mean(axis=0)
    U, _, Vt = np.linalg.svd(X, full_matrices=False)
    s = np.arange(1, len(Vt) + 1) ** (-alpha / 2)
    X = (U * s) @ Vt
    X /= X.std()
    return X


def toy2d(noise: float = 0.0, seed: int = 0, a: float = 0.5) -> Dataset:
    """The paper's 2-D toy: ``(10 time, 6 conditions, 2 dims)``.

    One curved trajectory ``p(t) = (t, 0.8·sin(0.9·π·t))``, ``t = linspace(0, 1, 10)``; for
    stimulus strength ``l ∈ {1, 2, 3}`` its second coordinate is scaled by ``1 + (l−1)·a``
    (a = 0.5), and for choice −1 it is rotated by π. Conditions ordered
    ``(choice +1: l=1,2,3), (choice −1: l=1,2,3)``. Labels ``choice`` (±1) and ``stimulus``
    (``choice·l`` ∈ ±1..3). Optional i.i.d. Gaussian ``noise`` (seeded).

    >>> toy2d().shape
    (10, 6, 2)
    """
    t = np.linspace(0, 1, 10)
    curve = np.stack([t, 0.8 * np.sin(0.9 * np.pi * t)], axis=-1)  # (10, 2)
    data, choice, stim = [], [], []
    for ch in (1, -1):
        for lvl in (1, 2, 3):
            p = curve * np.array([1.0, 1 + (lvl - 1) * a])
            data.append(p if ch == 1 else -p)
            choice.append(ch)
            stim.append(ch * lvl)
    X = np.stack(data, axis=1)
    if noise:
        X = X + noise * np.random.default_rng(seed).normal(size=X.shape)
    return Dataset(
        X,
        {"choice": np.array(choice), "stimulus": np.array(stim)},
        name="toy2d",
        time=np.arange(10.0),
        task="toy decision trajectories",
        citation="Cloos et al. (2025) ICLR, toy example (re-drawn).",
        license="MIT (generated by simgrad)",
        source="simgrad.datasets.synthetic.toy2d",
        description="Hand-drawn curved 2-D trajectories: 2 choices x 3 stimulus strengths.",
    )


def exp_gaussian(
    n_samples: int = 200,
    n_units: int = 50,
    decay: float = 5.0,
    seed: int = 0,
    label_pcs: tuple[int, ...] = (1, 5),
) -> Dataset:
    """Gaussian data with an exponentially decaying spectrum, ``(n_samples, n_units)``.

    ``X = U diag(s) Vᵀ`` with ``U``, ``V`` random orthonormal (from the QR of Gaussian
    matrices) and PC variances ``s_i² ∝ exp(−(i−1)/decay)``, scaled so that the total variance
    per unit is 1; columns are centred. Labels ``pc<k>`` (for ``k`` in ``label_pcs``): the sign
    (±1) of each sample's score on PC k, so a decoder tests whether PC k is present.

    >>> exp_gaussian(seed=0).shape
    (200, 50)
    """
    n_samples = _check_int(n_samples, "n_samples", 2)
    n_units = _check_int(n_units, "n_units", 1)
    if not np.isfinite(decay) or decay <= 0:
        raise ValueError(f"decay must be positive, got {decay!r}.")
    rng = np.random.default_rng(seed)
    r = min(n_samples - 1, n_units)
    G = rng.normal(size=(n_samples, r))
    G -= G.mean(axis=0)
    U, _ = np.linalg.qr(G)
    V, _ = np.linalg.qr(rng.normal(size=(n_units, r)))
    lam = np.exp(-np.arange(r) / decay)
    lam *= n_units * (n_samples - 1) / lam.sum()
    X = (U * np.sqrt(lam)) @ V.T
    labels = {}
    for k in label_pcs:
        if not 1 <= k <= r:
            raise ValueError(f"label_pcs entries must lie in 1..{r}, got {k}.")
        labels[f"pc{k}"] = np.where(U[:, k - 1] >= 0, 1, -1)
    return Dataset(
        X,
        labels,
        name="exp-gaussian",
        citation="Synthetic (simgrad).",
        license="MIT (generated by simgrad)",
        source=f"simgrad.datasets.synthetic.exp_gaussian(seed={seed})",
        description=f"Gaussian data, PC variance exp(-(i-1)/{decay:g}).",
        extra={"seed": seed, "decay": decay},
    )


def ultrametric(
    n_features: int = 50,
    branching: tuple[int, ...] = (2, 5, 10),
    gamma: float = 0.8,
    seed: int = 0,
) -> Dataset:
    """Hierarchical (ultrametric) binary patterns: leaves × features, values ±1.

    A random ±1 root pattern is copied down a tree with ``branching`` children per level; at
    each level every feature of a child is redrawn (uniform ±1) with probability
    ``1 − gamma`` (0.2). Default: 2·5·10 = 100 leaves × 50 features. Labels ``category``
    (the level-2 branch, 10 classes — the paper's label) and ``superclass`` (level-1 branch).

    >>> ultrametric().shape
    (100, 50)
    """
    n_features = _check_int(n_features, "n_features", 1)
    if not 0 <= gamma <= 1:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma!r}.")
    if not branching or any(int(b) < 1 for b in branching):
        raise ValueError(f"branching must be positive integers, got {branching!r}.")
    rng = np.random.default_rng(seed)
    patterns = rng.choice([-1.0, 1.0], size=(1, n_features))
    paths = np.zeros((1, 0), dtype=np.int64)
    for b in branching:
        b = int(b)
        child = np.repeat(patterns, b, axis=0)
        flip = rng.random(child.shape) < 1 - gamma
        child[flip] = rng.choice([-1.0, 1.0], size=int(flip.sum()))
        paths = np.concatenate(
            [np.repeat(paths, b, axis=0), np.tile(np.arange(b), len(patterns))[:, None]], axis=1
        )
        patterns = child
    labels = {}
    if len(branching) >= 2:
        labels["category"] = np.ravel_multi_index(paths[:, :2].T, branching[:2])
    labels["superclass"] = paths[:, 0]
    return Dataset(
        patterns,
        labels,
        name="ultrametric",
        citation="Synthetic; ultrametric toy of Cloos et al. (2025).",
        license="MIT (generated by simgrad)",
        source=f"simgrad.datasets.synthetic.ultrametric(seed={seed})",
        description=f"Ultrametric binary patterns, branching {tuple(branching)}, gamma {gamma}.",
        extra={"seed": seed},
    )


def matched_spectrum(dataset: Dataset, seed: int = 0) -> Dataset:
    """Gaussian surrogate with the same centred singular values (paper §4.4/E6).

    ``X̃ = X − mean`` (flattened time-major) has singular values ``s``; draw ``G ~ N(0, 1)`` of
    the same shape, ``G = U_G S_G V_Gᵀ`` (thin SVD), and return ``U_G diag(s) V_Gᵀ`` reshaped to
    the dataset's shape, with the same labels and time axis. The result has zero mean.

    >>> import numpy as np
    >>> ds = Dataset(np.random.default_rng(1).normal(size=(30, 5)))
    >>> g = matched_spectrum(ds, seed=0)
    >>> bool(np.allclose(np.linalg.svd(g.data, compute_uv=False),
    ...                  np.linalg.svd(ds.data - ds.data.mean(0), compute_uv=False)))
    True
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"matched_spectrum: dataset must be a Dataset, got {type(dataset)}.")
    X = dataset.flat()
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    G = np.random.default_rng(seed).normal(size=X.shape)
    Ug, _, Vgt = np.linalg.svd(G, full_matrices=False)
    Xg = (Ug * s) @ Vgt
    return dataset.replace(
        data=Xg.reshape(dataset.shape),
        name=f"{dataset.name}-matched_spectrum",
        source=f"matched_spectrum({dataset.name}, seed={seed})",
        description=f"Gaussian surrogate with the singular values of {dataset.name}.",
        extra={**dataset.extra, "seed": seed},
    )
