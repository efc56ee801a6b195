"""The paper's datasets: each parser on small files written here in the original format, and
the download path (pooch: checksum + cache) against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import itertools
import sys
import threading
import types
import zipfile
from functools import partial

import h5py
import numpy as np
import pytest
import scipy.io
import xarray as xr

from simgrad.datasets import load
from simgrad.datasets.download import fetch
from simgrad.datasets.paper import UnavailableDatasetError


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """BLAS threads oversubscribe the shared 2-core machine; one thread is faster here."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


MOT = [-0.5, -0.15, -0.05, 0.05, 0.15, 0.5]
COL = [-0.5, -0.18, -0.06, 0.06, 0.18, 0.5]


# ------------------------------------------------------------------ local file server
@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=root))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def sha256(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_verifies_checksum_and_caches(server, tmp_path):
    root, url, hits = server
    (root / "f.bin").write_bytes(b"simgrad" * 100)
    good = sha256(root / "f.bin")
    cache = tmp_path / "cache"
    p1 = fetch(f"{url}/f.bin", good, "mydata", "f.bin", root=cache)
    p2 = fetch(f"{url}/f.bin", good, "mydata", "f.bin", root=cache)
    assert p1 == p2 == str(cache / "mydata" / "f.bin") and len(hits) == 1  # second: cache
    with pytest.raises(ValueError, match="(?i)hash"):
        fetch(f"{url}/f.bin", "sha256:" + "0" * 64, "other", "f.bin", root=cache)
    assert not (cache / "other" / "f.bin").exists()  # a corrupt download is not kept


# ------------------------------------------------------------------------- Mante 2013
def mante_unit(rng, shift=0.0, drop=None, n_rep=3):
    """A unit file's struct: correct trials in all 72 conditions (unless ``drop``) + errors."""
    rows, tv = (
        [],
        {
            k: []
            for k in ("context", "stim_dir", "stim_col2dir", "targ_dir", "correct", "stim_trial")
        },
    )
    for i, (ctx, m, c) in enumerate(itertools.product((-1, 1), MOT, COL)):
        if i == drop:
            continue
        choice = np.sign(m if ctx == 1 else c)
        for correct in [1] * n_rep + [0]:
            rows.append(i + rng.normal(size=15) * 0.1 + (0 if correct else 1000))
            tv["context"].append(ctx)
            tv["stim_dir"].append(m + shift)  # session-specific coherence values
            tv["stim_col2dir"].append(c)
            tv["targ_dir"].append(choice if correct else -choice)
            tv["correct"].append(correct)
            tv["stim_trial"].append(len(rows))
    order = rng.permutation(len(rows))
    resp = np.array(rows)[order]
    tv = {k: np.array(v, float)[order] for k, v in tv.items()}
    return {"unit": {"response": resp, "time": 0.125 + 0.05 * np.arange(15), "task_variable": tv}}


def expected_unit(struct):
    u = struct["unit"]
    tv = u["task_variable"]
    out = np.zeros((15, 72))
    for i, (ctx, mi, ci) in enumerate(itertools.product((-1, 1), range(6), range(6))):
        m = np.unique(tv["stim_dir"])[mi]
        c = np.unique(tv["stim_col2dir"])[ci]
        sel = (
            (tv["context"] == ctx)
            & (tv["stim_dir"] == m)
            & (tv["stim_col2dir"] == c)
            & (tv["correct"] == 1)
        )
        out[:, i] = u["response"][sel].mean(0)
    return out


def write_mante_zip(rng, tmp, units):
    zpath = tmp / "PFC data.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, struct in units.items():
            p = tmp / f"{name}.mat"
            scipy.io.savemat(p, struct)
            zf.write(p, f"PFC data/PFC data 1/{name}.mat")
            zf.writestr(f"__MACOSX/PFC data/PFC data 1/._{name}.mat", b"junk")
    return zpath


def test_mante2013_download_parse_cache(server, tmp_path, rng):
    root, url, hits = server
    units = {
        "ar090313_1_a1": mante_unit(rng),
        "ar090314_2_b1": mante_unit(rng, shift=0.01),
        "ar090315_1_c1": mante_unit(rng, drop=5),
    }  # last: one condition missing
    zpath = write_mante_zip(rng, tmp_path, units)
    (root / "PFC data.zip").write_bytes(zpath.read_bytes())
    cache = tmp_path / "cache"
    kw = {"data_dir": cache, "url": f"{url}/PFC%20data.zip", "known_hash": sha256(zpath)}
    ds = load("mante2013", **kw)
    assert len(hits) == 1 and ds.shape == (15, 72, 2)  # unit with 71 conditions dropped
    for j, name in enumerate(["ar090313_1_a1", "ar090314_2_b1"]):
        np.testing.assert_allclose(ds.data[:, :, j], expected_unit(units[name]))
    lab = ds.labels
    assert lab["context"].tolist() == [-1] * 36 + [1] * 36
    assert lab["motion_coherence"][:12].tolist() == [MOT[0]] * 6 + [MOT[1]] * 6
    assert lab["colour_coherence"][:6].tolist() == COL
    np.testing.assert_array_equal(lab["motion"], np.sign(lab["motion_coherence"]))
    relevant = np.where(lab["context"] == 1, lab["motion_coherence"], lab["colour_coherence"])
    np.testing.assert_array_equal(lab["choice"], np.sign(relevant))
    np.testing.assert_allclose(ds.time, 125 + 50 * np.arange(15))
    # parsed result cached: reloading neither downloads nor re-parses
    parsed = cache / "mante2013" / "mante2013_ar_parsed_v1.npz"
    assert parsed.is_file()
    again = load("mante2013", **kw)
    np.testing.assert_array_equal(again.data, ds.data)
    assert len(hits) == 1 and again.labels.keys() == ds.labels.keys()
    # a download with the wrong checksum is refused
    with pytest.raises(ValueError, match="(?i)hash"):
        load("mante2013", data_dir=tmp_path / "c2", url=kw["url"], known_hash="sha256:" + "1" * 64)


def test_mante2013_bad_unit_file(tmp_path, rng):
    folder = tmp_path / "mante2013" / "PFC data" / "PFC data 1"
    folder.mkdir(parents=True)
    bad = mante_unit(rng)
    del bad["unit"]["task_variable"]["correct"]
    scipy.io.savemat(folder / "u1.mat", bad)
    with pytest.raises(ValueError, match=r"u1\.mat: .*missing field 'correct'"):
        load("mante2013", data_dir=tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match="PFC data.zip"):
        load("mante2013", data_dir=tmp_path / "empty", download=False)
    with pytest.raises(ValueError, match="subject"):
        load("mante2013", subject="xx")


# -------------------------------------------------------------------- Hatsopoulos 2007
def reach_session(rng):
    onsets = [np.sort(rng.uniform(1 + 10 * k, 9 + 10 * k, 3 + k % 2)) for k in range(8)]
    spikes = [np.sort(rng.uniform(0, 85, 400)) for _ in range(4)]
    return spikes, onsets


def expected_counts(spikes, onsets):
    trials = np.concatenate(onsets)
    out = np.zeros((10, len(trials), len(spikes)))
    for i, t in enumerate(trials):
        for u, s in enumerate(spikes):
            out[:, i, u] = np.histogram(s * 1000, bins=t * 1000 + 50 * np.arange(11))[0]
    return out


def write_v73(path, spikes, onsets):
    """MATLAB v7.3 layout: cells are arrays of object references, arrays are transposed."""
    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")

        def put(name, arr):
            d = refs.create_dataset(name, data=np.asarray(arr, float)[None, :])  # 1 x n -> n x 1
            return d.ref

        # channel 0: one unit; channel 1: a cell of two units; channel 2: empty; channel 3: one
        empty = refs.create_dataset("e", data=np.zeros(2, np.uint64))
        empty.attrs["MATLAB_empty"] = 1
        inner = refs.create_dataset("c1", (2, 1), dtype=h5py.ref_dtype)
        inner[0, 0], inner[1, 0] = put("u1", spikes[1]), put("u2", spikes[2])
        chan = f.create_dataset("spikes", (4, 1), dtype=h5py.ref_dtype)
        chan[0, 0], chan[1, 0], chan[2, 0], chan[3, 0] = (
            put("u0", spikes[0]),
            inner.ref,
            empty.ref,
            put("u3", spikes[3]),
        )
        st = f.create_dataset("stmv_cell", (8, 1), dtype=h5py.ref_dtype)
        for k, o in enumerate(onsets):
            st[k, 0] = put(f"o{k}", o)


def test_hatsopoulos2007_v73_and_v7(tmp_path, rng):
    spikes, onsets = reach_session(rng)
    folder = tmp_path / "hatsopoulos2007"
    folder.mkdir()
    path = folder / "Dataset5_Monkey4_Session1_ReachDataSimultaneousRecording.mat"
    write_v73(path, spikes, onsets)
    ds = load("hatsopoulos2007", data_dir=tmp_path, download=False, smooth_ms=None)
    n_trials = sum(len(o) for o in onsets)
    assert ds.shape == (10, n_trials, 4)
    np.testing.assert_array_equal(ds.data, expected_counts(spikes, onsets))
    assert ds.labels["target"].tolist() == sum([[k] * len(o) for k, o in enumerate(onsets)], [])
    np.testing.assert_allclose(ds.time, 25 + 50 * np.arange(10))
    smooth = load("hatsopoulos2007", data_dir=tmp_path, download=False)
    assert smooth.shape == ds.shape and "smoothed" in smooth.units
    np.testing.assert_allclose(smooth.data.sum(0), ds.data.sum(0))  # smoothing keeps counts
    # the v7 copy (scipy-readable) gives the same result
    cells = np.empty(3, dtype=object)
    cells[0], cells[2] = spikes[0], spikes[3]
    sub = np.empty(2, dtype=object)
    sub[0], sub[1] = spikes[1], spikes[2]
    cells[1] = sub
    st = np.empty(8, dtype=object)
    st[:] = onsets
    path.unlink()
    scipy.io.savemat(path, {"spikes": cells, "stmv_cell": st})
    v7 = load("hatsopoulos2007", data_dir=tmp_path, download=False, smooth_ms=None)
    np.testing.assert_array_equal(v7.data, ds.data)
    scipy.io.savemat(path, {"spikes": cells})
    with pytest.raises(ValueError, match=r"ReachDataSimultaneousRecording\.mat: .*stmv_cell"):
        load("hatsopoulos2007", data_dir=tmp_path, download=False)


# ------------------------------------------------------------------------- Brain-Score
def fake_brainscore(monkeypatch, assemblies):
    mod = types.ModuleType("brainscore_vision")
    mod.load_dataset = lambda name: assemblies[name]
    monkeypatch.setitem(sys.modules, "brainscore_vision", mod)


def test_majajhong_and_freemanziemba_through_brainscore(monkeypatch, rng):
    stim = np.repeat(np.arange(16), 3)  # 16 images x 3 repetitions, shuffled
    perm = rng.permutation(len(stim))
    stim = stim[perm]
    cat = np.array([f"cat{s % 8}" for s in stim])
    region = np.array(["IT"] * 5 + ["V4"] * 3)
    vals = rng.normal(size=(len(stim), 8, 1))
    mh = xr.DataArray(
        vals,
        dims=("presentation", "neuroid", "time_bin"),
        coords={
            "stimulus_id": ("presentation", [f"im{s}" for s in stim]),
            "category_name": ("presentation", cat),
            "region": ("neuroid", region),
        },
    )
    fz_vals = rng.normal(size=(6, 2 * len(stim), 300))
    fz = xr.DataArray(
        fz_vals,
        dims=("neuroid", "presentation", "time_bin"),
        coords={
            "stimulus_id": ("presentation", np.tile(stim, 2)),
            "texture_type": ("presentation", np.where(np.tile(stim, 2) % 2, "texture", "noise")),
        },
    )
    fake_brainscore(monkeypatch, {"MajajHong2015.public": mh, "FreemanZiemba2013.public": fz})
    ds = load("majajhong2015")
    assert ds.shape == (16, 5)
    first = stim[np.sort(np.unique(stim, return_index=True)[1])]
    for i, s in enumerate(first):
        np.testing.assert_allclose(ds.data[i], vals[stim == s][:, :5, 0].mean(0))
    names = ds.extra["categories"]["category"]
    assert [names[c] for c in ds.labels["category"]] == [f"cat{s % 8}" for s in first]
    fzd = load("freemanziemba2013")
    assert fzd.shape == (2, 16, 6)
    s0 = np.tile(stim, 2) == first[0]
    np.testing.assert_allclose(fzd.data[1, 0], fz_vals[:, s0, 150:].mean(axis=(1, 2)))
    kinds = fzd.extra["categories"]["texture_type"]
    assert kinds[fzd.labels["texture_type"][0]] == ("texture" if first[0] % 2 else "noise")


def test_missing_brainscore_and_siegel(monkeypatch):
    monkeypatch.setitem(sys.modules, "brainscore_vision", None)
    with pytest.raises(UnavailableDatasetError, match="pip install brainscore_vision"):
        load("majajhong2015")
    with pytest.raises(UnavailableDatasetError, match="not public"):
        load("siegel2015")
