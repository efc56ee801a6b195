"""Hardening of files, the command line, sweeps and datasets (issue 17 items 4, 5, 6, 9-14;
issue 18's help text, dataset descriptions and missing-recording errors). Each test failed on
the code before the fix."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import simgrad as sg
from simgrad import _io, cli
from simgrad.datasets import download

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hardening")
    return sg.datasets.load("context", n_units=12, n_time=3, seed=1).to_npz(d / "ref.npz")


def tiny(data: Path, out: Path, **kw) -> dict:
    opts = dict(data=data, measures=["cka"], max_iter=8, labels=["context"], out=out)
    return {**opts, "progress": False, **kw}


# ----------------------------------------------------------------------------- item 4
@pytest.mark.parametrize("damage", ["truncate", "missing_key", "garbage"])
def test_damaged_checkpoint_is_recomputed_with_a_warning(ref, tmp_path, damage):
    out = tmp_path / "o"
    first = sg.run(**tiny(ref, out))
    (ck,) = (out / ".checkpoints").glob("*.npz")
    if damage == "truncate":
        ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2])
    elif damage == "garbage":
        ck.write_bytes(b"not a zip at all")
    else:
        with np.load(ck) as z:
            kept = {k: z[k] for k in z.files if k != "n_iter"}
        np.savez(ck, **kept)
    with pytest.warns(RuntimeWarning, match="recomputing"):
        again = sg.run(**tiny(ref, out))
    assert not again.info["timings"]["units"][0]["resumed"]
    np.testing.assert_array_equal(again.scores["score"], first.scores["score"])
    # the checkpoint was replaced by a good one: the next rerun resumes silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third = sg.run(**tiny(ref, out))
    assert third.info["timings"]["units"][0]["resumed"]


# ----------------------------------------------------------------------------- item 5
def test_a_second_run_into_a_locked_folder_waits(ref, tmp_path, capfd):
    from filelock import FileLock

    out = tmp_path / "o"
    out.mkdir()
    held = FileLock(str(out / _io.LOCK_NAME))
    held.acquire()
    done = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            sg.run(**tiny(ref, out))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        done.set()

    t = threading.Thread(target=second)
    t.start()
    try:
        time.sleep(1.0)
        assert not done.is_set() and not (out / "run.json").exists()
        assert "in use by another run; waiting" in capfd.readouterr().err
    finally:
        held.release()
    t.join(120)
    assert done.is_set() and not errors and (out / "run.json").is_file()


def test_locked_dir_without_waiting_stops_clearly(tmp_path):
    with _io.locked_dir(tmp_path / "o"):
        with pytest.raises(ValueError, match="in use by another simgrad run"):
            with _io.locked_dir(tmp_path / "o", wait=0):
                pass
    with _io.locked_dir(tmp_path / "o", wait=0):  # released: free again
        pass


# ----------------------------------------------------------------------------- item 6
def test_huge_seed_count_is_a_clear_error():
    from simgrad.sweeps.grid import make_grid

    with pytest.raises(ValueError, match="1,000,000,000,000 seeds; at most"):
        make_grid(datasets=["toy2d"], measures=["cka"], seeds=1000000000000)


def test_large_grid_needs_yes_and_says_its_size(tmp_path):
    from simgrad.sweeps.grid import make_grid

    with pytest.raises(ValueError, match=r"20,000 units \(1 dataset × 1 setting × 2 measures"):
        make_grid(datasets=["toy2d"], measures=["cka", "nbs"], seeds=10_000)
    g = make_grid(datasets=["toy2d"], measures=["cka", "nbs"], seeds=10_000, max_units=None)
    assert g.size == 20_000 == len(g.units())
    grid = tmp_path / "g.toml"
    grid.write_text('datasets = ["toy2d"]\nmeasures = ["cka", "nbs"]\nseeds = 10000\n')
    code = cli.main(["sweep", str(grid), "--out", str(tmp_path / "s"), "--workers", "0"])
    assert code == 2 and not (tmp_path / "s" / "sweep.json").exists()


def test_sweep_bookkeeping_is_linear(tmp_path, monkeypatch):
    """The progress bookkeeping of units run here costs O(1) per unit (it was a scan of every
    finished unit per unit): 4× the units take about 4× the time, not 16×."""
    from simgrad.sweeps import execute
    from simgrad.sweeps.units import Unit

    monkeypatch.setattr(
        execute, "execute_unit", lambda u, out, fn: {"status": "done", "seconds": 1.0}
    )

    def cost(n: int) -> float:
        units = [Unit("toy2d", "cka", s) for s in range(n)]
        t0 = time.perf_counter()
        execute.run_units(
            units, tmp_path, None, total=n, skipped=0, workers=0, scheduler=None,
            retries=0, torch_threads=1, progress=lambda p: p.eta,
        )  # fmt: skip
        return time.perf_counter() - t0

    cost(500)
    small, large = min(cost(2_000) for _ in range(2)), min(cost(8_000) for _ in range(2))
    assert large / small < 8, (small, large)


# ----------------------------------------------------------------------------- item 9
def test_outputs_respect_the_umask(ref, tmp_path):
    old = os.umask(0o022)
    try:
        res = sg.run(**tiny(ref, tmp_path / "o"))
    finally:
        os.umask(old)
    for f in ["run.json", "report.html", "results/scores.csv"]:
        mode = stat.S_IMODE((res.out / f).stat().st_mode)
        assert mode == 0o644, (f, oct(mode))
    os.umask(0o077)
    try:
        p = _io.atomic_write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


# ----------------------------------------------------------------------------- item 10
def test_rerun_without_labels_leaves_no_stale_decoding_figure(ref, tmp_path):
    out = tmp_path / "o"
    sg.run(**tiny(ref, out))
    assert (out / "figures" / "decoding.png").is_file()
    (out / "notes.txt").write_text("mine")  # a user's file is never touched
    data = np.random.default_rng(0).normal(size=(3, 8, 12))
    no_labels = sg.datasets.Dataset(data, {}, name="plain")
    kw = tiny(ref, out)
    kw.pop("data")
    sg.run(no_labels, **{**kw, "labels": []})
    assert not (out / "figures" / "decoding.png").exists()
    assert (out / "notes.txt").read_text() == "mine"
    info = json.loads((out / "run.json").read_text())
    assert all((out / f).is_file() for f in info["files"])


def test_remove_outputs_stays_inside_the_folder(tmp_path):
    (tmp_path / "outside.txt").write_text("keep")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "a.png").write_text("old")
    removed = _io.remove_outputs(tmp_path / "o", ["a.png", "../outside.txt", "/etc/passwd"])
    assert removed == ["a.png"] and (tmp_path / "outside.txt").is_file()


# ----------------------------------------------------------------------------- item 11
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_data_dir_is_a_warning_not_a_crash(tmp_path, monkeypatch):
    locked = tmp_path / "data"
    (locked / "hatsopoulos2007_m1_condavg").mkdir(parents=True)
    locked.chmod(0)
    monkeypatch.setenv("SIMGRAD_DATA_DIR", str(locked))
    try:
        with pytest.warns(UserWarning, match="cannot be read"):
            infos = {d.name: d for d in sg.datasets.available()}
        assert infos["toy2d"].present and not infos["hatsopoulos2007-condavg"].present
        from simgrad.sweeps.grid import make_grid

        with pytest.warns(UserWarning):
            make_grid(datasets=["toy2d"], measures=["cka"], seeds=1)
    finally:
        locked.chmod(0o755)


def test_available_survives_a_permission_error(tmp_path, monkeypatch):
    """The same through a patched ``Path.exists`` (runs as root too)."""
    real = Path.exists

    def exists(self, *a, **k):
        if str(self).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setenv("SIMGRAD_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(Path, "exists", exists)
    with pytest.warns(UserWarning, match="Permission denied"):
        infos = {d.name: d for d in sg.datasets.available()}
    assert infos["context"].present and not infos["park2025-pfc"].present


# ----------------------------------------------------------------------------- item 12
def test_target_outside_the_measures_range_is_refused():
    with pytest.raises(ValueError, match=r"target: 1.5 is outside the range of 'cka' \(\[0, 1\]\)"):
        sg.RunOptions.create(target=1.5, measures=["cka"])
    assert cli.main(["run", "--target", "1.5", "--measures", "cka", "--quiet"]) == 2


def test_sweep_grid_refuses_bad_options_up_front():
    from simgrad.sweeps.grid import make_grid

    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        make_grid(datasets=["toy2d"], measures=["cka"], seeds=1, run_options={"max_iter": -5})
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            make_grid(datasets=["toy2d"], measures=["cka"], seeds=1, run_options={"device": "cuda"})


# ----------------------------------------------------------------------------- item 13
def test_non_finite_run_is_one_line_exit_1(ref, tmp_path, capsys):
    args = ["run", "--data", str(ref), "--measures", "cka", "--max-iter", "5"]
    code = cli.main([*args, "--lr", "1e300", "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "smaller learning rate" in err
    with pytest.raises(FloatingPointError):
        cli.main([*args, "--lr", "1e300", "--out", str(tmp_path / "o"), "--quiet", "--debug"])


def test_disk_full_is_one_line_exit_3(ref, tmp_path, capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_io.os, "fsync", full)
    code = cli.main(["run", "--data", str(ref), "--measures", "cka", "--max-iter", "5",
                     "--out", str(tmp_path / "o"), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "No space left on device" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_compare_failure_and_json_null(tmp_path, capsys, monkeypatch):
    x = np.random.default_rng(0).normal(size=(20, 5))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x[:, :3] * 2)
    from simgrad.commands import compare as cmp

    real = sg.score

    def score(name, *a, **k):
        if name.startswith("procrustes"):
            raise np.linalg.LinAlgError("SVD did not converge")
        return real(name, *a, **k)

    monkeypatch.setattr(sg, "score", score)
    names = "cka,procrustes-angular_score,ridge-lambda=100-r2-cv=5folds"
    code = cli.main(["compare", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                     "--measures", names, "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1 and "LinAlgError: SVD did not converge" in err and "Traceback" not in err
    assert "NaN" not in out and "Infinity" not in out
    doc = json.loads(out)
    rows = {r["name"]: r for r in doc["results"]}
    assert rows["procrustes-angular_score"]["value"] is None
    assert rows["ridge-lambda=100-r2-cv=5folds"]["range"][0] is None  # -inf
    assert cmp._json_safe([float("nan"), 1.0]) == [None, 1.0]


def test_keyboard_interrupt_is_one_line_130(capsys, monkeypatch):
    from simgrad.commands import measures

    def boom(args):
        raise KeyboardInterrupt

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), "measures", boom))
    assert cli.main(["measures"]) == 130
    assert capsys.readouterr().err.strip() == "simgrad measures: interrupted"
    del measures


def _with_func(parser, command, func):
    sub = next(a for a in parser._actions if a.dest == "command")
    sub.choices[command].set_defaults(func=func)
    return parser


# ----------------------------------------------------------------------------- item 14
def test_fetch_does_not_create_a_missing_data_dir(tmp_path, monkeypatch):
    missing = tmp_path / "nope"
    monkeypatch.setenv("SIMGRAD_DATA_DIR", str(missing))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        download.fetch("http://127.0.0.1:9/x.zip", None, "mante2013", "PFC data.zip")
    with pytest.raises((FileNotFoundError, OSError)):
        sg.datasets.load("mante2013")
    assert not missing.exists()


def test_unverified_download_warns_and_records_its_sha256(tmp_path, monkeypatch):
    import hashlib

    import pooch

    payload = b"recording bytes"

    def retrieve(url, known_hash, fname, path, **kw):
        (Path(path) / fname).write_bytes(payload)
        return str(Path(path) / fname)

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    digest = hashlib.sha256(payload).hexdigest()
    with pytest.warns(UserWarning, match=f"without verifying.*{digest}"):
        download.fetch("http://x/f.mat", None, "d", "f.mat", root=tmp_path)
    rec = download.provenance(tmp_path / "d" / "f.mat", None)
    assert rec["sha256"] == digest and rec["verified"] is False


def test_sweep_cluster_does_not_listen_on_8787():
    from simgrad.sweeps.execute import _open_client

    client, close = _open_client(None, 1, 1)
    try:
        ports = [s.getsockname() for s in client.cluster.scheduler.http_server._sockets.values()]
    finally:
        close()
    assert ports and all(host == "127.0.0.1" and port != 8787 for host, port in ports)


# ----------------------------------------------------------------------------- issue 18
@pytest.mark.parametrize("command", ["run", "compare", "sweep", "region", "measures"])
def test_help_has_no_raw_markup(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = capsys.readouterr().out
    assert not re.search(r"`|:(class|func|mod|data|meth|attr):", text), text


def _described(description: str) -> dict:
    got = {}
    if m := re.search(r"shape \(([\d, ]+)\)", description):
        got["shape"] = tuple(int(v) for v in m.group(1).split(","))
    if m := re.search(r"t = (-?[\d.]+)\.\.(-?[\d.]+)(?: ms)?, step ([\d.]+)", description):
        got["time"] = tuple(float(v) for v in m.groups())
    if m := re.search(r"labels ([\w, ]+)$", description):
        got["labels"] = [s.strip() for s in m.group(1).split(",")]
    return got


def test_dataset_descriptions_match_what_load_returns(monkeypatch):
    monkeypatch.setenv("SIMGRAD_DATA_DIR", os.environ.get("SIMGRAD_DATA_DIR", "/nonexistent"))
    checked = 0
    for info in sg.datasets.available():
        said = _described(info.description)
        if not info.present or info.kind == "paper":
            continue
        ds = sg.datasets.load(info.name)
        assert "shape" in said and said["shape"] == ds.shape, (info.name, ds.shape)
        if ds.time is not None:
            assert said["time"] == (ds.time[0], ds.time[-1], float(np.diff(ds.time)[0]))
        assert said["labels"] == list(ds.labels), info.name
        checked += 1
    assert checked >= 4


def test_missing_recording_says_where_to_obtain_it(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        sg.datasets.load("hatsopoulos2007-condavg", data_dir=tmp_path)
    msg = str(e.value)
    path = tmp_path / "hatsopoulos2007_m1_condavg" / "hatsopoulos2007_condavg.npz"
    assert str(path) in msg and "'hatsopoulos2007_condavg.npz'" in msg
    assert "github.com/Helena-Yuhan-Liu/LearningRuleSimilarities" in msg
    assert "Hatsopoulos NG" in msg  # the citation


def test_ctrl_c_on_a_dask_sweep_is_one_line_130(tmp_path):
    """SIGINT to the whole foreground group, as a terminal's Ctrl-C does: the workers ignore
    it (they are closed by the sweep), the command prints one line."""
    import signal
    import subprocess
    import sys

    grid = tmp_path / "g.toml"
    grid.write_text(
        'datasets = ["context"]\nmeasures = ["cka", "nbs"]\nseeds = 2\n'
        "max_iter = 3000\ntarget = 0.9999\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    args = ["sweep", str(grid), "--out", str(tmp_path / "o"), "--workers", "1"]
    p = subprocess.Popen(
        [sys.executable, "-m", "simgrad.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    tmp = tmp_path / "o" / "units" / ".tmp"
    while time.monotonic() < deadline and not (tmp.is_dir() and any(tmp.iterdir())):
        time.sleep(0.1)
    time.sleep(2)  # a unit is running on the worker
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=180)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "WARNING" not in err, err
    assert err.strip().splitlines()[-1] == "simgrad sweep: interrupted"


def test_compare_on_huge_values_is_valid_json_with_one_line_per_failure(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(30, 5)) * 1e200)
    np.save(tmp_path / "y.npy", rng.normal(size=(30, 4)) * 1e200)
    code = cli.main(["compare", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)  # strict JSON: no NaN or Infinity tokens
    assert "NaN" not in out and "Traceback" not in err
    bad = [r for r in doc["results"] if r["value"] is None]
    assert code == (1 if bad else 0)
    assert len(err.strip().splitlines()) == len(bad)
    assert all(r["error"] for r in bad)


def test_yes_lets_a_large_grid_through(tmp_path, monkeypatch):
    from simgrad.sweeps import run as sweep_run

    seen = {}

    def fake(grid, **kw):
        seen["size"] = grid.size
        raise KeyboardInterrupt  # stop before any unit

    monkeypatch.setattr(sweep_run, "_run_grid", fake)
    grid = tmp_path / "g.toml"
    grid.write_text('datasets = ["toy2d"]\nmeasures = ["cka", "nbs"]\nseeds = 10000\n')
    assert cli.main(["sweep", str(grid), "--yes", "--workers", "0"]) == 130
    assert seen["size"] == 20_000
