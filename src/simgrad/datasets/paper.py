"""The five datasets of Cloos et al. (2025): download, parse and preprocess as in the paper.

- :func:`load_mante2013` — PFC, context-dependent integration (public zip, per-unit ``.mat``).
- :func:`load_hatsopoulos2007` — M1 single reach trials (Dryad ``.mat``, v7.3 or v7).
- :func:`load_majajhong2015`, :func:`load_freemanziemba2013` — through ``brainscore_vision``.
- :func:`load_siegel2015` — not public; raises :class:`UnavailableDatasetError`.

Downloads go through :func:`simgrad.datasets.download.fetch` (pooch: cache + checksum). The
checksums of the public files were not available to us offline, so they are ``None`` (no
verification) — see ``MANTE2013_SHA256`` / ``HATSOPOULOS2007_SHA256``: a download warns that
it is unverified, and the loaded dataset records the SHA-256 of the file it read in
``extra["download"]`` (copied into ``run.json``). Pass ``known_hash="sha256:..."`` to verify.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .download import data_dir as _data_dir
from .download import fetch_for, provenance
from .files import from_file

__all__ = [
    "UnavailableDatasetError",
    "bin_trials",
    "load_freemanziemba2013",
    "load_hatsopoulos2007",
    "load_majajhong2015",
    "load_mante2013",
    "load_siegel2015",
    "parse_mante_units",
    "read_hatsopoulos_mat",
]

PathLike = str | os.PathLike | None

MANTE2013_URL = "https://www.ini.uzh.ch/dam/jcr:ca4213cf-1692-4c3d-8aeb-d4c5081d2fd1/PFC%20data.zip"
#: Unknown: the archive could not be downloaded where this code was written. ``None`` makes
#: pooch skip verification (it logs the hash it computed); pin it here once known.
MANTE2013_SHA256: str | None = None
HATSOPOULOS2007_URL = "https://datadryad.org/stash/downloads/file_stream/397190"
HATSOPOULOS2007_FILE = "Dataset5_Monkey4_Session1_ReachDataSimultaneousRecording.mat"
#: Unknown for the same reason as ``MANTE2013_SHA256``.
HATSOPOULOS2007_SHA256: str | None = None
_PARSED_VERSION = 1


class UnavailableDatasetError(RuntimeError):
    """The dataset cannot be obtained (not public, or an optional package is missing)."""


# ---------------------------------------------------------------------------- Mante 2013
_MANTE_VARS = ("context", "stim_dir", "stim_col2dir", "targ_dir", "correct")


def _struct_get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj[key]
    return getattr(obj, key)


def _read_mante_unit(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(path, simplify_cells=True)
        unit = mat["unit"]
        response = np.atleast_2d(np.asarray(_struct_get(unit, "response"), dtype=float))
        time = np.atleast_1d(np.asarray(_struct_get(unit, "time"), dtype=float))
        tv = _struct_get(unit, "task_variable")
        task = {k: np.atleast_1d(np.asarray(_struct_get(tv, k), dtype=float)) for k in _MANTE_VARS}
    except KeyError as exc:
        raise ValueError(
            f"{path}: not a Mante et al. unit file (missing field {exc}; expected unit.response, "
            "unit.time and unit.task_variable.{context,stim_dir,stim_col2dir,targ_dir,correct})."
        ) from None
    except Exception as exc:
        raise ValueError(f"{path}: cannot read Mante unit file ({exc}).") from None
    n = response.shape[0]
    for k, v in task.items():
        if v.shape[0] < n:
            raise ValueError(f"{path}: task_variable.{k} has {v.shape[0]} entries for {n} trials.")
        task[k] = v[:n]
    if response.shape[1] != time.shape[0]:
        raise ValueError(
            f"{path}: response has {response.shape[1]} time samples but time has {time.shape[0]}."
        )
    return response, time, task


def parse_mante_units(
    files: list[Path],
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, list[str]]:
    """Condition averages of correct trials from Mante et al. per-unit ``.mat`` files.

    For every unit: keep correct trials, group them by (context, motion coherence
    ``stim_dir``, colour coherence ``stim_col2dir``), average each group. Coherence values are
    replaced by their rank within the unit (sessions used slightly different coherences), and
    conditions are ordered ``(context, motion rank, colour rank)``. Units without all
    2 × 6 × 6 = 72 conditions are dropped. Returns ``(data (time, 72, units), labels, time_ms,
    kept_unit_names)``; label values (signed coherences, choice) come from the first kept unit.
    """
    if not files:
        raise ValueError("parse_mante_units: no unit files given.")
    rows, names, labels, time_ms = [], [], None, None
    for path in sorted(files):
        response, time, task = _read_mante_unit(Path(path))
        ok = task["correct"] == 1
        ctx_u, ctx_i = np.unique(task["context"][ok], return_inverse=True)
        mot_u, mot_i = np.unique(task["stim_dir"][ok], return_inverse=True)
        col_u, col_i = np.unique(task["stim_col2dir"][ok], return_inverse=True)
        if (len(ctx_u), len(mot_u), len(col_u)) != (2, 6, 6):
            continue
        cond = (ctx_i * 6 + mot_i) * 6 + col_i
        counts = np.bincount(cond, minlength=72)
        if np.any(counts == 0):
            continue
        sums = np.zeros((72, response.shape[1]))
        np.add.at(sums, cond, response[ok])
        rows.append(sums / counts[:, None])
        names.append(Path(path).stem)
        if labels is None:
            c = np.arange(72)
            choice = np.zeros(72)
            np.add.at(choice, cond, task["targ_dir"][ok])
            labels = {
                "context": ctx_u[c // 36],
                "motion_coherence": mot_u[(c // 6) % 6],
                "colour_coherence": col_u[c % 6],
                "choice": np.sign(choice),  # targ_dir of correct trials (+1 / -1)
            }
            time_ms = 1000.0 * time
        elif len(time) != len(time_ms):
            raise ValueError(f"{path}: {len(time)} time samples, other units have {len(time_ms)}.")
    if not rows:
        raise ValueError("parse_mante_units: no unit has correct trials in all 72 conditions.")
    labels["motion"] = np.sign(labels["motion_coherence"]).astype(np.int64)
    labels["colour"] = np.sign(labels["colour_coherence"]).astype(np.int64)
    labels["context"] = labels["context"].astype(np.int64)
    labels["choice"] = labels["choice"].astype(np.int64)
    data = np.stack(rows, axis=-1).transpose(1, 0, 2)  # (time, 72, units)
    return data, labels, time_ms, names


def load_mante2013(
    subject: str = "ar",
    *,
    data_dir: PathLike = None,
    download: bool = True,
    url: str = MANTE2013_URL,
    known_hash: str | None = MANTE2013_SHA256,
    cache: bool = True,
) -> Dataset:
    """Mante, Sussillo, Shenoy & Newsome (2013): PFC in a context-dependent integration task.

    Files: ``<data_dir>/mante2013/PFC data.zip`` (downloaded with pooch from ``url`` when
    missing and ``download``), unpacked to ``PFC data/PFC data 1`` (monkey A, ``subject="ar"``,
    the paper's choice) or ``PFC data 2`` (monkey F, ``"fe"``). Each per-unit ``.mat`` holds
    ``unit.response`` (trials × 15 samples, 50 ms steps, 100–850 ms after stimulus onset) and
    ``unit.task_variable``. Preprocessing (paper §6, details 1–6): correct trials only,
    averaged per (context, motion, colour) condition, units with all 72 conditions kept →
    ``(15, 72, units)`` (727 units for monkey A per the paper). Labels ``context`` (±1),
    ``motion``/``colour`` (sign of the coherence: the paper's median binarization),
    ``choice`` (±1) and the signed ``motion_coherence``/``colour_coherence``. The parsed
    result is cached as ``mante2013/mante2013_<subject>_parsed_v1.npz`` (``cache=False`` to
    re-parse).
    """
    folders = {"ar": "PFC data 1", "fe": "PFC data 2"}
    if subject not in folders:
        raise ValueError(f"mante2013: subject must be 'ar' (monkey A) or 'fe', got {subject!r}.")
    base = _data_dir(data_dir) / "mante2013"
    parsed = base / f"mante2013_{subject}_parsed_v{_PARSED_VERSION}.npz"
    zpath = base / "PFC data.zip"
    if cache and parsed.is_file():
        ds = from_file(parsed)
        if zpath.is_file():
            ds.extra["download"] = provenance(zpath, known_hash)
        return ds
    unit_dir = _find_mante_folder(base, folders[subject])
    if unit_dir is None:
        if not zpath.is_file() and not download:
            raise FileNotFoundError(
                f"mante2013: {zpath} not found; download it from {MANTE2013_URL} "
                "or call load('mante2013', download=True)."
            )
        import pooch

        put = f"'PFC data.zip' (or its extracted 'PFC data' folder) in {base}"
        unzip = pooch.Unzip(extract_dir=".")
        fetch_for("mante2013", url, known_hash, "mante2013", "PFC data.zip", root=data_dir,
                 put=put, processor=unzip)  # fmt: skip
        unit_dir = _find_mante_folder(base, folders[subject])
        if unit_dir is None:
            raise ValueError(f"mante2013: the archive holds no folder {folders[subject]!r}.")
    files = _unit_files(unit_dir)
    data, labels, time_ms, names = parse_mante_units(files)
    ds = Dataset(
        data,
        labels,
        name="mante2013",
        units="spikes/s",
        time=time_ms,
        area="PFC (FEF/arcuate)",
        task="context-dependent integration of motion or colour (2 x 6 x 6 conditions)",
        citation="Mante V, Sussillo D, Shenoy KV, Newsome WT (2013) Context-dependent "
        "computation by recurrent dynamics in prefrontal cortex. Nature 503:78-84.",
        license="public download from the authors (INI Zurich); terms not stated",
        source=url,
        description=f"Monkey {subject}: {data.shape[-1]} units, correct-trial condition averages.",
        extra={"units": names},
    )
    if zpath.is_file():
        ds.extra["download"] = provenance(zpath, known_hash)
    if cache:
        ds.to_npz(parsed)
    return ds


def _find_mante_folder(base: Path, name: str) -> Path | None:
    if not base.is_dir():
        return None
    for cand in sorted(base.rglob(name)):
        if "__MACOSX" in cand.parts:
            continue
        if cand.is_dir() and any(_unit_files(cand)):
            return cand
    return None


def _unit_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.mat") if not p.name.startswith("._"))


# ---------------------------------------------------------------------- Hatsopoulos 2007
def _h5_value(f: Any, obj: Any) -> Any:
    """A MATLAB v7.3 value (dataset or object reference) as numpy / nested lists."""
    import h5py

    if isinstance(obj, h5py.Reference):
        obj = f[obj]
    if isinstance(obj, h5py.Group):
        return {k: _h5_value(f, v) for k, v in obj.items()}
    if obj.attrs.get("MATLAB_empty", 0):
        return np.zeros(0)
    value = obj[()]
    if value.dtype == object or value.dtype.kind == "O" or h5py.check_ref_dtype(value.dtype):
        return [_h5_value(f, r) for r in np.asarray(value).T.ravel()]  # column-major order
    return np.asarray(value).T


def _flatten_spike_cells(value: Any) -> list[np.ndarray]:
    """Spike-time cells (per channel, optionally a cell of units per channel) → list of units."""
    out: list[np.ndarray] = []
    is_cell = isinstance(value, np.ndarray) and value.dtype == object
    if isinstance(value, (list, tuple)) or is_cell:
        for v in value.ravel() if isinstance(value, np.ndarray) else value:
            out.extend(_flatten_spike_cells(v))
        return out
    arr = np.asarray(value, dtype=float).ravel()
    if arr.size:
        out.append(np.sort(arr))
    return out


def read_hatsopoulos_mat(path: str | os.PathLike) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(units, onsets)`` from the Dryad reach file: spike times (s) of every unit and, per
    target 0..7, the movement-onset times (s) of its trials (``spikes`` and ``stmv_cell``).
    Reads MATLAB v7.3 (h5py) and v7 (scipy) files."""
    import h5py

    path = Path(path)
    try:
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                missing = [k for k in ("spikes", "stmv_cell") if k not in f]
                if missing:
                    raise KeyError(missing[0])
                spikes = _h5_value(f, f["spikes"])
                onsets = _h5_value(f, f["stmv_cell"])
        else:
            import scipy.io

            mat = scipy.io.loadmat(path, simplify_cells=True)
            spikes, onsets = mat["spikes"], mat["stmv_cell"]
    except KeyError as exc:
        raise ValueError(
            f"{path}: missing variable {exc} (expected 'spikes' and 'stmv_cell')."
        ) from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the reach file ({exc}).") from None
    units = _flatten_spike_cells(spikes)
    onset_list = [
        np.asarray(o, dtype=float).ravel()
        for o in (onsets.ravel() if isinstance(onsets, np.ndarray) else onsets)
    ]
    if not units:
        raise ValueError(f"{path}: 'spikes' holds no spike times.")
    if len(onset_list) != 8:
        raise ValueError(f"{path}: 'stmv_cell' must hold 8 targets, got {len(onset_list)}.")
    return units, onset_list


def bin_trials(
    units: list[np.ndarray], onsets: np.ndarray, window_ms: tuple[float, float], bin_ms: float
) -> np.ndarray:
    """Spike counts ``(time, trials, units)`` in bins ``[onset + window[0] + k·bin, +bin)`` ms."""
    lo, hi = window_ms
    n_bins = int(round((hi - lo) / bin_ms))
    edges = (
        np.asarray(onsets, float)[:, None] * 1000.0 + lo + bin_ms * np.arange(n_bins + 1)[None, :]
    )  # ms
    out = np.empty((n_bins, len(onsets), len(units)))
    for u, s in enumerate(units):
        out[:, :, u] = np.diff(np.searchsorted(s * 1000.0, edges, side="left"), axis=1).T
    return out


def load_hatsopoulos2007(
    *,
    window: tuple[float, float] = (0, 500),
    bin_ms: float = 50,
    smooth_ms: float | None = 25,
    data_dir: PathLike = None,
    download: bool = True,
    url: str = HATSOPOULOS2007_URL,
    known_hash: str | None = HATSOPOULOS2007_SHA256,
) -> Dataset:
    """Hatsopoulos et al. (2007) M1 center-out reaching, single trials (paper §6, 7–10).

    File: ``<data_dir>/hatsopoulos2007/Dataset5_Monkey4_Session1_ReachDataSimultaneousRecording
    .mat`` (Dryad doi:10.5061/dryad.xsj3tx9cm; MATLAB v7.3, a v7 copy works too), downloaded
    with pooch when missing. Every unit's spikes are counted in ``bin_ms`` bins over
    ``window`` ms after movement onset (``stmv_cell``) → ``(10, trials, units)`` counts per
    bin; no condition averaging. ``smooth_ms``: Gaussian smoothing over time (SD in ms; a
    normalized kernel with reflecting edges, *not* the original code's truncated, shifted
    filter — paper §7.15). Label ``target`` (0..7).
    """
    path = _data_dir(data_dir) / "hatsopoulos2007" / HATSOPOULOS2007_FILE
    if not path.is_file():
        if not download:
            raise FileNotFoundError(f"hatsopoulos2007: {path} not found (Dryad: {url}).")
        put = f"{HATSOPOULOS2007_FILE} in {path.parent}"
        fetch_for("hatsopoulos2007", url, known_hash, "hatsopoulos2007", HATSOPOULOS2007_FILE,
                 root=data_dir, put=put)  # fmt: skip
    units, onsets = read_hatsopoulos_mat(path)
    target = np.concatenate([np.full(len(o), k) for k, o in enumerate(onsets)])
    counts = bin_trials(units, np.concatenate(onsets), window, bin_ms)
    if smooth_ms:
        from scipy.ndimage import gaussian_filter1d

        counts = gaussian_filter1d(counts, smooth_ms / bin_ms, axis=0, mode="reflect")
    n_bins = counts.shape[0]
    ds = Dataset(
        counts,
        {"target": target},
        name="hatsopoulos2007",
        units=f"spikes per {bin_ms:g} ms bin" + (" (smoothed)" if smooth_ms else ""),
        time=window[0] + bin_ms * (np.arange(n_bins) + 0.5),
        area="M1",
        task="center-out reaching to 8 targets; aligned to movement onset",
        citation="Hatsopoulos NG, Xu Q, Amit Y (2007) J Neurosci 27:5105; Suresh AK et al. "
        "(2020) eLife 9:e58848; Dryad doi:10.5061/dryad.xsj3tx9cm.",
        license="CC0 (Dryad)",
        source=str(path),
        description=f"{counts.shape[1]} single trials x {counts.shape[2]} units.",
    )
    ds.extra["download"] = provenance(path, known_hash)
    return ds


# ------------------------------------------------------------------------ Brain-Score
def _brainscore(name: str) -> Any:
    try:
        import brainscore_vision
    except ImportError:
        raise UnavailableDatasetError(
            f"{name} is loaded through Brain-Score: pip install brainscore_vision "
            "(or pip install 'simgrad[brainscore]'), then retry."
        ) from None
    return brainscore_vision


def _coord(assembly: Any, key: str, where: str) -> np.ndarray:
    try:
        return np.asarray(assembly[key].values)
    except KeyError:
        raise ValueError(f"{where}: the assembly has no coordinate {key!r}.") from None


def _average_presentations(values: np.ndarray, stim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average axis 0 over repetitions of the same stimulus id; returns (means, first index)."""
    uniq, first, inv = np.unique(stim, return_index=True, return_inverse=True)
    order = np.argsort(first)  # keep the order of first appearance
    sums = np.zeros((len(uniq), *values.shape[1:]))
    np.add.at(sums, inv, values)
    means = sums / np.bincount(inv)[:, None, None]
    return means[order], first[order]


def _assembly_array(assembly: Any, where: str) -> np.ndarray:
    dims = tuple(assembly.dims)
    need = ("presentation", "neuroid")
    if not all(d in dims for d in need):
        raise ValueError(f"{where}: expected dims presentation, neuroid (+ time_bin); got {dims}.")
    order = ["presentation", "neuroid"] + (["time_bin"] if "time_bin" in dims else [])
    arr = np.asarray(assembly.transpose(*order).values, dtype=float)
    return arr if arr.ndim == 3 else arr[..., None]


def load_majajhong2015(region: str = "IT") -> Dataset:
    """MajajHong2015 (public part) through ``brainscore_vision``: ``(3200 images, 168 units)``.

    Paper §6: neuroids of ``region`` (IT), repetitions averaged per ``stimulus_id``, the single
    time bin squeezed (bins are averaged if there are several). Label ``category`` (8 classes,
    codes into ``extra["categories"]["category"]``, from ``category_name``).
    """
    bs = _brainscore("majajhong2015")
    assembly = bs.load_dataset("MajajHong2015.public")
    where = "majajhong2015"
    arr = _assembly_array(assembly, where)
    keep = _coord(assembly, "region", where) == region
    if not keep.any():
        raise ValueError(f"{where}: no neuroid in region {region!r}.")
    means, first = _average_presentations(arr[:, keep], _coord(assembly, "stimulus_id", where))
    names = _coord(assembly, "category_name", where)[first].astype(str)
    cats, codes = np.unique(names, return_inverse=True)
    return Dataset(
        means.mean(axis=-1),
        {"category": codes},
        name="majajhong2015",
        units="a.u. (Brain-Score)",
        area=region,
        task="passive viewing of object images (8 categories)",
        citation="Majaj NJ, Hong H, Solomon EA, DiCarlo JJ (2015) J Neurosci 35:13402.",
        license="Brain-Score public data (see brainscore_vision)",
        source="brainscore_vision.load_dataset('MajajHong2015.public')",
        description="Repetition-averaged responses per image.",
        extra={"categories": {"category": [str(c) for c in cats]}},
    )


def load_freemanziemba2013(time_bin_samples: int = 150) -> Dataset:
    """FreemanZiemba2013 (public part) through ``brainscore_vision``: ``(2, 135, 205)``.

    Paper §6: V1 and V2 neuroids both kept, repetitions averaged per ``stimulus_id``, the time
    bins averaged in groups of ``time_bin_samples`` (300 bins → 2). Label ``texture_type``
    (codes into ``extra["categories"]``: texture vs spectrally matched noise).
    """
    bs = _brainscore("freemanziemba2013")
    assembly = bs.load_dataset("FreemanZiemba2013.public")
    where = "freemanziemba2013"
    arr = _assembly_array(assembly, where)
    means, first = _average_presentations(arr, _coord(assembly, "stimulus_id", where))
    n_t = means.shape[-1] // time_bin_samples
    if n_t < 1:
        raise ValueError(f"{where}: {means.shape[-1]} time bins < time_bin_samples.")
    binned = means[..., : n_t * time_bin_samples].reshape(*means.shape[:2], n_t, -1).mean(-1)
    kinds = _coord(assembly, "texture_type", where)[first].astype(str)
    cats, codes = np.unique(kinds, return_inverse=True)
    return Dataset(
        binned.transpose(2, 0, 1),
        {"texture_type": codes},
        name="freemanziemba2013",
        units="a.u. (Brain-Score)",
        area="V1+V2",
        task="passive viewing of naturalistic textures and spectrally matched noise",
        citation="Freeman J, Ziemba CM, Heeger DJ, Simoncelli EP, Movshon JA (2013) Nat "
        "Neurosci 16:974.",
        license="Brain-Score public data (see brainscore_vision)",
        source="brainscore_vision.load_dataset('FreemanZiemba2013.public')",
        description="Repetition-averaged responses, time averaged into bins.",
        extra={"categories": {"texture_type": [str(c) for c in cats]}},
    )


def load_siegel2015(**_: Any) -> Dataset:
    """Siegel, Buschman & Miller (2015): not publicly downloadable — always raises."""
    raise UnavailableDatasetError(
        "siegel2015 (Siegel, Buschman & Miller 2015, Science 348:1352) is not public: the paper's "
        "code loads it through a private package. Ask the authors for the data, then read it "
        "with sg.datasets.from_file (e.g. an .npz with 'data' and 'label_context', "
        "'label_response', 'label_color', 'label_direction')."
    )
