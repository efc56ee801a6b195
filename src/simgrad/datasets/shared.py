"""The four recordings of the project's shared data folder (see each folder's README).

=========================== ============================================ =====================
name                        default output                               labels
=========================== ============================================ =====================
hatsopoulos2007-condavg     (14 time, 8 directions, 141 units), spikes/s direction (deg)
hatsopoulos-reach-trials    (158 trials, 143 units), spikes/s            direction (deg)
zhang-desimone2011-it       (6 time, 210 pseudo-trials, 132 units)       object, position
park2025-pfc                (24 time, 40 pseudo-trials, 319 units)       context, direction
=========================== ============================================ =====================

Time stamps are bin centres (mean of the native bin centres) in ms relative to the
alignment event of each recording.
Pseudo-population trials (``mode="trials"``, the default for the two pseudo-population
datasets) give several samples per class at every time step, so that per-time-step decoding
can be cross-validated; ``mode="condavg"`` returns trial averages instead.
"""

from __future__ import annotations

import os

import numpy as np

from .dataset import Dataset
from .download import find_file
from .preprocess import pseudo_population, rebin, time_window

__all__ = [
    "load_hatsopoulos2007_condavg",
    "load_hatsopoulos_reach_trials",
    "load_park2025_pfc",
    "load_zhang_desimone2011_it",
]

PathLike = str | os.PathLike | None

HATSOPOULOS_CITATION = (
    "Hatsopoulos NG, Xu Q, Amit Y (2007) Encoding of movement fragments in the motor cortex. "
    "J Neurosci 27:5105. Suresh AK et al. (2020) eLife 9:e58848 (Dryad "
    "doi:10.5061/dryad.xsj3tx9cm). Preprocessed by Liu YH, Yang GR, Cueva CJ (2025), ICML."
)
ZHANG_CITATION = (
    "Zhang Y, Meyers EM, Bichot NP, Serre T, Poggio TA, Desimone R (2011) Object decoding with "
    "attention in inferior temporal cortex. PNAS 108(21):8850-8855; Meyers E (2013) The Neural "
    "Decoding Toolbox, Front Neuroinform."
)
PARK_CITATION = (
    "Park J. et al. (2025) Orthogonal neural codes for task context and spatial memory in "
    "prefrontal cortex. bioRxiv doi:10.1101/2025.02.25.640211."
)


REACH_CITATION = "Hatsopoulos-lab ReachData (teaching dataset, MIT 9.40, 2022)."

#: where each recording comes from (said when its file is missing): the public source of the
#: original data, and the citation; the ``.npz`` is the project's conversion of it
SOURCES = {
    "hatsopoulos2007-condavg": (
        "github.com/Helena-Yuhan-Liu/LearningRuleSimilarities, multisys_pipeline/"
        "experimental_data/Hatsopoulos2007/ (original: Dryad doi:10.5061/dryad.xsj3tx9cm)",
        HATSOPOULOS_CITATION,
    ),
    "hatsopoulos-reach-trials": (
        "github.com/MK-Ale/2023BCI_decoding_lab, ReachData.mat",
        REACH_CITATION,
    ),
    "zhang-desimone2011-it": (
        "github.com/emeyers/NeuroDecodeR, data-raw/raster/Zhang_Desimone_7object_raster_data_mat/",
        ZHANG_CITATION,
    ),
    "park2025-pfc": (
        "github.com/pjjeongjun/Orthogonal_Code, Figure2/2D_psth/firingRates_pref_null.mat",
        PARK_CITATION,
    ),
}


def _find(folder: str, filename: str, name: str, data_dir: PathLike) -> os.PathLike:
    """The recording's file, or a ``FileNotFoundError`` saying where to obtain it."""
    source, citation = SOURCES[name]
    hint = (
        f"The recording is not distributed with simgrad: obtain it from {source} and convert "
        f'it to {filename} as described in docs/datasets.md ("Shared recordings"). '
        f"Cite: {citation}"
    )
    return find_file(folder, filename, name, data_dir, hint=hint)


def _check_mode(mode: str, name: str) -> None:
    if mode not in ("trials", "condavg"):
        raise ValueError(f"{name}: mode must be 'trials' or 'condavg', got {mode!r}.")


def _bin_factor(bin_ms: int, native: int, name: str) -> int:
    if not isinstance(bin_ms, (int, np.integer)) or bin_ms < native or bin_ms % native:
        raise ValueError(
            f"{name}: bin_ms must be a positive multiple of the native {native} ms bins, "
            f"got {bin_ms!r}."
        )
    return int(bin_ms // native)


def _window_bins(starts: np.ndarray, width: float, window, name: str) -> np.ndarray:
    """Boolean mask of native bins lying inside ``window = (start, stop)`` ms."""
    if window is None:
        return np.ones(starts.shape, bool)
    try:
        lo, hi = (float(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: window must be (start_ms, stop_ms), got {window!r}.") from None
    keep = (starts >= lo) & (starts + width <= hi + 1e-9)
    if not keep.any():
        raise ValueError(
            f"{name}: window {window} holds no bin "
            f"(data span {starts[0]}..{starts[-1] + width} ms)."
        )
    return keep


def load_hatsopoulos2007_condavg(
    window: tuple[float, float] | None = None,
    bin_ms: int = 10,
    data_dir: PathLike = None,
) -> Dataset:
    """Macaque M1, 8-direction center-out reach, condition averages (141 units).

    The file holds Gaussian-smoothed (SD 25 ms) trial-averaged rates sampled every 10 ms from
    −800 to +400 ms around movement onset. Defaults: the file as it is, ``(121, 8, 141)``,
    spikes/s. ``window=(start, stop)`` keeps samples with ``start <= t < stop`` and ``bin_ms``
    (a multiple of 10) averages groups of ``bin_ms / 10`` samples, e.g. ``window=(-300, 400),
    bin_ms=50`` → ``(14, 8, 141)``. The full resolution is the default because coarser versions
    have fewer samples (time × 8) than units (141): in-sample regression scores are then 1 for
    any Y, and whole-condition cross-validated regression has a ceiling below 0.99.
    Label ``direction``: reach angle in degrees (0 = rightward, 90 = up). ``time``: mean
    sample time of each bin (ms).

    >>> ds = load_hatsopoulos2007_condavg()  # doctest: +SKIP
    >>> ds.shape  # doctest: +SKIP
    (121, 8, 141)
    """
    name = "hatsopoulos2007-condavg"
    path = _find("hatsopoulos2007_m1_condavg", "hatsopoulos2007_condavg.npz", name, data_dir)
    factor = _bin_factor(bin_ms, 10, name)
    with np.load(path) as z:
        rates = z["firing_rate_hz"]  # units x time x condition
        t = z["time_ms"].astype(float)
        deg = z["reach_direction_deg"].astype(np.int64)
    ds = Dataset(
        rates.transpose(1, 2, 0),
        {"direction": deg},
        name=name,
        units="spikes/s",
        time=t,
        area="M1",
        task="center-out reaching, 8 directions; aligned to movement onset",
        citation=HATSOPOULOS_CITATION,
        license="CC0 (Dryad source); preprocessed file from a repository without a license",
        source=str(path),
        description="Trial-averaged smoothed rates of 141 M1 units, 8 reach directions.",
    )
    if window is not None:
        ds = time_window(ds, *window)
    return rebin(ds, factor) if factor > 1 else ds


def load_hatsopoulos_reach_trials(data_dir: PathLike = None) -> Dataset:
    """Macaque motor cortex, mean rate per trial: ``(158 trials, 143 units)``, spikes/s.

    Label ``direction``: reach angle in degrees, ``(direction_idx - 1) * 45``. Trials per
    direction: 14, 12, 22, 20, 25, 24, 24, 17.
    """
    name = "hatsopoulos-reach-trials"
    path = _find("hatsopoulos_reachdata_m1_trials", "reachdata_trials.npz", name, data_dir)
    with np.load(path) as z:
        rates = z["rate_hz"]
        deg = z["direction_deg"].astype(np.int64)
    return Dataset(
        rates,
        {"direction": deg},
        name=name,
        units="spikes/s",
        area="motor cortex (both hemispheres)",
        task="center-out reaching, 8 directions; one mean rate per trial",
        citation=REACH_CITATION,
        license="none stated (course teaching file; research or teaching use only)",
        source=str(path),
        description="Single-trial mean rates of 143 motor-cortex neurons over 158 reaches.",
    )


def load_zhang_desimone2011_it(
    mode: str = "trials",
    trials_per_condition: int = 10,
    window: tuple[float, float] | None = (-100, 500),
    bin_ms: int = 100,
    seed: int = 0,
    data_dir: PathLike = None,
) -> Dataset:
    """Macaque IT, 7 objects × 3 positions, 132 separately recorded neurons, spikes/s.

    ``mode="trials"`` (default): pseudo-population trials — for each of the 21 conditions
    (condition ``c = 3*object + position``), ``trials_per_condition`` recorded trials are drawn
    per neuron (seeded by ``seed``, see :func:`~simgrad.datasets.preprocess.pseudo_population`)
    → ``(6, 21*10, 132)`` by default. ``mode="condavg"``: trial averages ``(6, 21, 132)``.
    The file's 50 ms bins whose span lies in ``window`` (ms from stimulus onset; default
    −100..500) are averaged in groups to ``bin_ms`` (default 100 ms: 1 baseline bin, 5 stimulus
    bins; single-trial counts in 50 ms bins are too sparse, ~0.55 spikes, for per-bin decoding
    of position; ``bin_ms=50`` gives 12 bins). Labels ``object`` (0..6 =
    car, couch, face, flower, guitar, hand, kiwi), ``position`` (0..2 = upper, middle, lower).
    """
    name = "zhang-desimone2011-it"
    _check_mode(mode, name)
    path = _find("zhang_desimone2011_it_objects", "zhang_desimone_it.npz", name, data_dir)
    factor = _bin_factor(bin_ms, 50, name)
    with np.load(path) as z:
        edges = z["bin_edges_50ms"].astype(float)
        keep = _window_bins(edges[:-1], 50.0, window, name)
        objects = [str(s) for s in z["object_names"]]
        positions = [str(s) for s in z["position_names"]]
        if mode == "trials":
            counts = z["counts_50ms"][:, keep]
            neuron = z["trial_neuron_idx"]
            cond = z["trial_object_idx"].astype(np.int64) * 3 + z["trial_position_idx"]
            data, c = pseudo_population(
                counts, neuron, cond, trials_per_condition, n_conditions=21, seed=seed
            )
            data /= 0.05
        else:
            avg = z["cond_avg_rate_hz"][:, :, keep, :].astype(np.float64)  # obj, pos, t, n
            data = avg.reshape(21, avg.shape[2], avg.shape[3]).transpose(1, 0, 2)
            c = np.arange(21)
    kind = (
        f"{trials_per_condition} pseudo-trials per condition"
        if mode == "trials"
        else "condition averages"
    )
    ds = Dataset(
        data,
        {"object": c // 3, "position": c % 3},
        name=name,
        units="spikes/s",
        time=edges[:-1][keep] + 25.0,
        area="IT",
        task="passive viewing of 7 objects at 3 positions; aligned to stimulus onset",
        citation=ZHANG_CITATION,
        license="GPL-3 (NeuroDecodeR package); no separate data license",
        source=str(path),
        description=f"132 IT neurons (pseudo-population), 21 object x position conditions, {kind}.",
        extra={
            "categories": {"object": objects, "position": positions},
            "mode": mode,
            "seed": seed if mode == "trials" else None,
        },
    )
    return rebin(ds, factor) if factor > 1 else ds


def load_park2025_pfc(
    mode: str = "trials",
    trials_per_condition: int = 10,
    window: tuple[float, float] | None = (0, 1200),
    bin_ms: int = 50,
    seed: int = 0,
    data_dir: PathLike = None,
) -> Dataset:
    """Macaque PFC memory cells, context (no-look/look) × target direction (null/preferred).

    319 separately recorded units. ``mode="trials"`` (default): pseudo-population trials, per
    unit ``trials_per_condition`` trials drawn for each of the 4 conditions (condition
    ``c = 2*context + direction``; seeded) → ``(24, 4*10, 319)``. ``mode="condavg"``: trial
    averages ``(24, 4, 319)``. 50 ms bins whose span lies in ``window`` (ms from target onset;
    default 0..1200 = target presentation and memory delay, where both variables are encoded;
    the file spans −500..1200, pass ``window=None`` for all 34 bins). Labels ``context``
    (0 = no-look, 1 = look) and ``direction`` (0 = null, 1 = preferred direction of the unit).
    Rates in spikes/s (counts per 50 ms / 0.05).
    """
    name = "park2025-pfc"
    _check_mode(mode, name)
    path = _find("park2025_pfc_look_nolook", "park_pfc.npz", name, data_dir)
    factor = _bin_factor(bin_ms, 50, name)
    with np.load(path) as z:
        starts = z["bin_start_ms"].astype(float)
        keep = _window_bins(starts, 50.0, window, name)
        if mode == "trials":
            counts = z["spike_counts_50ms"][:, keep]
            unit = z["trial_unit_idx"]
            cond = z["trial_task_idx"].astype(np.int64) * 2 + z["trial_direction_idx"]
            data, c = pseudo_population(
                counts, unit, cond, trials_per_condition, n_conditions=4, seed=seed
            )
            data /= 0.05
        else:
            avg = z["cond_avg_rate_hz"][..., keep].astype(np.float64)  # unit, dir, task, t
            data = avg.transpose(3, 2, 1, 0).reshape(int(keep.sum()), 4, avg.shape[0])
            c = np.arange(4)
    kind = (
        f"{trials_per_condition} pseudo-trials per condition"
        if mode == "trials"
        else "condition averages"
    )
    ds = Dataset(
        data,
        {"context": c // 2, "direction": c % 2},
        name=name,
        units="spikes/s",
        time=starts[keep] + 25.0,
        area="PFC",
        task="memory-guided saccade task in two contexts (look / no-look); aligned to target onset",
        citation=PARK_CITATION,
        license="none stated in the source repository (posted to reproduce the figures)",
        source=str(path),
        description=f"319 PFC memory cells (pseudo-population), context x direction, {kind}.",
        extra={
            "categories": {"context": ["no-look", "look"], "direction": ["null", "preferred"]},
            "mode": mode,
            "seed": seed if mode == "trials" else None,
        },
    )
    return rebin(ds, factor) if factor > 1 else ds
