"""User files: .npz (design.md contract), .mat v5/v7.3, xarray/netCDF, NWB; bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
import xarray as xr

from simgrad.datasets import Dataset, from_file, from_xarray, load


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """BLAS threads oversubscribe the shared 2-core machine; one thread is faster here."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture
def ds3(rng):
    return Dataset(
        rng.normal(size=(4, 6, 3)),
        {"choice": [0, 1] * 3, "kind": list("aabbcc")},
        name="mine",
        units="Hz",
        time=[0.0, 50, 100, 150],
        area="V1",
        citation="Me (2025)",
        license="CC0",
    )


def test_npz_round_trip(ds3, tmp_path):
    p = ds3.to_npz(tmp_path / "x.npz")
    with np.load(p, allow_pickle=False) as z:  # the contract, read without simgrad
        assert {"data", "label_choice", "label_kind", "time"} <= set(z.files)
        np.testing.assert_array_equal(z["data"], ds3.data)
    back = from_file(p)
    np.testing.assert_array_equal(back.data, ds3.data)
    assert back.labels["kind"].tolist() == list("aabbcc")
    assert back.labels["choice"].tolist() == [0, 1] * 3
    np.testing.assert_array_equal(back.time, ds3.time)
    assert back.meta() == ds3.meta()
    # a plain user file: only data + labels
    np.savez(tmp_path / "plain.npz", data=np.ones((5, 2)), label_y=np.arange(5))
    plain = from_file(tmp_path / "plain.npz")
    assert plain.name == "plain" and plain.labels["y"].tolist() == list(range(5))
    assert plain.source.endswith("plain.npz")


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"X": np.ones((3, 2))}, r"bad\.npz: missing the array 'data' \(found: X\)"),
        ({"data": np.ones((3, 2)), "label_y": [0, 1]}, r"bad\.npz: .*label 'y' has 2 entries"),
        ({"data": np.array([[1.0, np.nan], [0, 1]])}, r"bad\.npz: .*NaN"),
        ({"data": np.ones(4)}, r"bad\.npz: .*1-D shape"),
        ({"data": np.ones((2, 2, 2, 2))}, r"bad\.npz: .*4-D"),
        ({"data": np.ones((3, 2)), "label_y": np.ones((3, 2))}, r"bad\.npz: .*must be 1-D"),
        ({"data": np.ones((2, 3, 2)), "time": [1.0]}, r"bad\.npz: .*time"),
    ],
)
def test_bad_npz_files(tmp_path, arrays, match):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(ValueError, match=match):
        from_file(p)


def test_bad_npz_object_and_garbage(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, data=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="obj.npz.*pickle"):
        from_file(p)
    g = tmp_path / "garbage.npz"
    g.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="garbage.npz: not a valid .npz file"):
        from_file(g)
    with pytest.raises(ValueError, match="unsupported file type '.csv'"):
        (tmp_path / "a.csv").write_text("1,2")
        from_file(tmp_path / "a.csv")
    np.savez(tmp_path / "ok.npz", data=np.ones((3, 2)))
    with pytest.raises(TypeError, match="ok.npz: .npz files take no reading options"):
        from_file(tmp_path / "ok.npz", window=(0, 1))
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        from_file(tmp_path / "nope.npz")


def test_mat_v5(ds3, tmp_path):
    p = tmp_path / "v5.mat"
    scipy.io.savemat(
        p,
        {
            "data": ds3.data,
            "label_choice": ds3.labels["choice"],
            "label_kind": np.array(list("aabbcc"), dtype=object),
            "time": ds3.time,
            "meta_units": "Hz",
        },
    )
    back = from_file(p)
    np.testing.assert_array_equal(back.data, ds3.data)
    assert back.labels["kind"].tolist() == list("aabbcc")
    assert back.labels["choice"].tolist() == [0, 1] * 3 and back.units == "Hz"
    bad = tmp_path / "bad5.mat"
    scipy.io.savemat(bad, {"data": ds3.data, "label_choice": [0, 1]})
    with pytest.raises(ValueError, match=r"bad5\.mat: .*label 'choice' has 2 entries"):
        from_file(bad)
    scipy.io.savemat(bad, {"rates": ds3.data})
    with pytest.raises(ValueError, match=r"bad5\.mat: missing the array 'data'"):
        from_file(bad)


def test_mat_v73_written_like_matlab(ds3, tmp_path):
    p = tmp_path / "v73.mat"
    with h5py.File(p, "w") as f:  # MATLAB stores column-major: HDF5 shape is reversed
        f["data"] = ds3.data.T
        f["data"].attrs["MATLAB_class"] = np.bytes_("double")
        f["label_choice"] = np.asarray(ds3.labels["choice"], float)[None, :]
        f["meta_units"] = np.array([[ord(c)] for c in "Hz"], dtype=np.uint16)
        f["meta_units"].attrs["MATLAB_class"] = np.bytes_("char")
    back = from_file(p)
    np.testing.assert_array_equal(back.data, ds3.data)
    assert back.labels["choice"].tolist() == [0, 1] * 3 and back.units == "Hz"
    with h5py.File(p, "a") as f:
        f["label_bad"] = np.ones((2, 6))
    with pytest.raises(ValueError, match=r"v73\.mat: label_bad must be a vector"):
        from_file(p)


def test_xarray_named_dims(ds3, tmp_path):
    da = xr.DataArray(
        ds3.data.transpose(2, 0, 1),
        dims=("neuron", "time", "condition"),
        coords={
            "time": ds3.time,
            "choice": ("condition", ds3.labels["choice"]),
            "kind": ("condition", ds3.labels["kind"]),
            "depth": ("neuron", [1.0, 2.0, 3.0]),
        },
        name="rates",
        attrs={"units": "Hz", "area": "V1"},
    )
    back = from_xarray(da)
    np.testing.assert_array_equal(back.data, ds3.data)
    assert set(back.labels) == {"choice", "kind"} and back.units == "Hz" and back.area == "V1"
    np.testing.assert_array_equal(back.time, ds3.time)
    da.to_netcdf(tmp_path / "x.nc", engine="scipy")
    nc = from_file(tmp_path / "x.nc")
    np.testing.assert_allclose(nc.data, ds3.data)
    assert nc.labels["kind"].tolist() == list("aabbcc")
    flat = xr.DataArray(np.ones((5, 2)), dims=("stimulus", "neuroid"))
    assert from_xarray(flat).shape == (5, 2)
    with pytest.raises(ValueError, match="unrecognised dimension"):
        from_xarray(xr.DataArray(np.ones((2, 5, 2)), dims=("rep", "stimulus", "neuroid")))
    with pytest.raises(ValueError, match="condition dimension"):
        from_xarray(xr.DataArray(np.ones((5, 2)), dims=("a", "b")))
    with pytest.raises(TypeError, match="DataArray"):
        from_xarray(np.ones((2, 2)))


def _write_nwb(path, spikes, trials):
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile

    nwb = NWBFile("test", "id0", datetime(2025, 1, 1, tzinfo=timezone.utc))
    nwb.add_trial_column("direction", "reach direction")
    nwb.add_trial_column("go_cue_time", "go cue")
    for start, direction, go in trials:
        nwb.add_trial(start_time=start, stop_time=start + 1.0, direction=direction, go_cue_time=go)
    for s in spikes:
        nwb.add_unit(spike_times=s)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_nwb_units_and_trials(tmp_path):
    pytest.importorskip("pynwb")
    rng = np.random.default_rng(0)
    trials = [(2.0 * i, d, 2.0 * i + 0.2) for i, d in enumerate([0, 90, 0, 90, 0, 90])]
    spikes = [np.sort(rng.uniform(0, 12, 300)) for _ in range(3)]
    p = tmp_path / "s.nwb"
    _write_nwb(p, spikes, trials)
    ds = from_file(p, align="go_cue_time", window=(0.0, 0.3), bin_ms=100)
    assert ds.shape == (3, 2, 3) and ds.labels["direction"].tolist() == [0, 90]
    np.testing.assert_allclose(ds.time, [50, 150, 250])
    # independent count: loop over trials, bins and units
    expect = np.zeros((3, 2, 3))
    for _start, d, go in trials:
        for b in range(3):
            lo = go + 0.1 * b
            for u, s in enumerate(spikes):
                expect[b, d // 90, u] += ((s >= lo) & (s < lo + 0.1)).sum() / 0.1 / 3
    np.testing.assert_allclose(ds.data, expect)
    single = from_file(p, align="go_cue_time", window=(0.0, 0.3), bin_ms=100, average=False)
    assert single.shape == (3, 6, 3)
    with pytest.raises(ValueError, match=r"s\.nwb: align column 'nope'"):
        from_file(p, align="nope")


def test_from_file_feeds_load_style_pipeline(tmp_path):
    ctx = load("toy2d")
    p = ctx.to_npz(tmp_path / "toy")
    assert p.name == "toy.npz" and from_file(p).shape == ctx.shape
