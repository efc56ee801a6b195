"""The ``simgrad compare``, ``simgrad region`` and ``simgrad run`` commands: values checked
against closed forms written out here (numpy / scipy), files, and one-line user errors."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import orthogonal_procrustes

import simgrad as sg
from simgrad.cli import main
from simgrad.pipeline import DEFAULTS, PANEL, resolve_options

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "simgrad.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def _centered(a: np.ndarray) -> np.ndarray:
    a = a.reshape(-1, a.shape[-1])
    return a - a.mean(0)


@pytest.fixture
def pair(tmp_path, rng):
    X = rng.normal(size=(60, 10))
    Y = X @ rng.normal(size=(10, 12)) + 0.5 * rng.normal(size=(60, 12))
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "y.npz", data=Y, label_z=np.arange(60) % 2)
    return X, Y, tmp_path


# ----------------------------------------------------------------------------- compare
def test_compare_values_match_closed_forms(pair, capsys):
    X, Y, d = pair
    names = "cka,nbs,procrustes-angular_score,procrustes-distance=angular,linreg"
    rc = main(["compare", str(d / "x.npy"), str(d / "y.npz"), "--measures", names, "--json"])
    assert rc == 0
    res = {r["name"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    Xc, Yc = _centered(X), _centered(Y)
    cka = np.linalg.norm(Xc.T @ Yc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))
    # NBS via the optimal rotation (scipy), Y zero-padded to X's width is not needed: use the
    # nuclear norm definition and cross-check with orthogonal Procrustes on padded data.
    nbs = np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum() / (
        np.linalg.norm(Xc) * np.linalg.norm(Yc)
    )
    Xp = np.hstack([Xc, np.zeros((60, 2))])
    R, _ = orthogonal_procrustes(Yc, Xp)
    assert np.isclose(np.sum(Xp * (Yc @ R)) / (np.linalg.norm(Xc) * np.linalg.norm(Yc)), nbs)
    beta, *_ = np.linalg.lstsq(Yc, Xc, rcond=None)
    r2 = 1 - np.linalg.norm(Xc - Yc @ beta) ** 2 / np.linalg.norm(Xc) ** 2
    assert res["cka"]["value"] == pytest.approx(cka, abs=1e-10)
    assert res["nbs"]["value"] == pytest.approx(nbs, abs=1e-10)
    ang = np.arccos(nbs)
    assert res["procrustes-angular_score"]["value"] == pytest.approx(1 - 2 * ang / np.pi, abs=1e-8)
    assert res["procrustes-distance=angular"]["value"] == pytest.approx(ang, abs=1e-8)
    assert res["linreg"]["value"] == pytest.approx(r2, abs=1e-10)
    # card-aware reading
    assert res["procrustes-distance=angular"]["form"] == "distance"
    assert res["procrustes-distance=angular"]["range"][1] == pytest.approx(math.pi / 2)
    assert res["cka"]["form"] == "score" and res["cka"]["range"] == [0.0, 1.0]


def test_compare_table_output(pair, capsys):
    _, _, d = pair
    assert main(["compare", str(d / "x.npy"), str(d / "y.npz")]) == 0
    out = capsys.readouterr().out
    for name in PANEL:
        assert name in out
    assert "↑ score" in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["x.npy", "missing.npz"], "no such file"),
        (["x.npy", "nodata.npz"], "no array 'data'"),
        (["x.npy", "y.npz", "--measures", "ckaa"], "Unknown measure 'ckaa'"),
        (["x.npy", "short.npy"], "same samples"),
    ],
)
def test_compare_errors_are_one_line(pair, capsys, monkeypatch, args, needle):
    X, _, d = pair
    np.savez(d / "nodata.npz", values=X)
    np.save(d / "short.npy", X[:10])
    monkeypatch.chdir(d)
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


# ----------------------------------------------------------------------------- region
def test_region_writes_png_and_csv(tmp_path, rng):
    from simgrad.optim.region import boundary_targets

    X = rng.normal(size=(30, 6))
    np.savez(tmp_path / "ref.npz", data=X)
    rc = main(
        [
            "region",
            "--measures",
            "cka,procrustes-angular_score",
            "--data",
            str(tmp_path / "ref.npz"),
            "--points-per-side",
            "3",
            "--max-iter",
            "60",
            "--out",
            str(tmp_path / "reg"),
        ]
    )
    assert rc == 0
    png = (tmp_path / "reg" / "region.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    t = pd.read_csv(tmp_path / "reg" / "region.csv")
    assert list(t.columns) == ["kind", "target_a", "target_b", "reached_a", "reached_b"]
    b = t[t["kind"] == "boundary"]
    np.testing.assert_array_equal(b[["target_a", "target_b"]].to_numpy(), boundary_targets(3))
    assert (t["kind"] == "slope").sum() == 2
    assert t[["reached_a", "reached_b"]].apply(lambda c: c.between(-1e-9, 1 + 1e-9)).all().all()
    # the run sent to (0, 0) ends far below the one sent to (1, 1)
    lo = b[(b["target_a"] == 0) & (b["target_b"] == 0)].iloc[0]
    hi = b[(b["target_a"] == 1) & (b["target_b"] == 1)].iloc[0]
    assert hi["reached_a"] > lo["reached_a"] + 0.5 and hi["reached_b"] > lo["reached_b"] + 0.5


def test_region_needs_two_measures(capsys):
    assert main(["region", "--measures", "cka"]) == 2
    assert "exactly two measures" in capsys.readouterr().err


# ----------------------------------------------------------------------------- run: options
def test_defaults_need_no_argument(tmp_path):
    o = resolve_options(out=tmp_path / "o")
    assert o.dataset == "context" and o.data is None
    assert o.given_names == PANEL
    assert o.measures == tuple(sg.measure(m).name for m in PANEL)
    assert o.seeds == (0,) and o.target == 0.99 and o.device == "cpu"
    assert DEFAULTS["out"] == "simgrad-out"


def test_config_file_and_override(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'dataset = "toy2d"\nmeasures = ["cka", "nbs"]\nseeds = 3\nmax_iter = 50\n'
        f'target = 0.95\nout = "{tmp_path / "o"}"\n'
    )
    o = resolve_options(cfg)
    assert (o.dataset, o.measures, o.seeds, o.max_iter, o.target) == (
        "toy2d",
        ("cka-kernel=linear-hsic=gretton-score", "nbs-score"),
        (0, 1, 2),
        50,
        0.95,
    )
    o2 = resolve_options(cfg, max_iter=7, seeds=[4, 5])
    assert o2.max_iter == 7 and o2.seeds == (4, 5) and o2.dataset == "toy2d"
    o3 = resolve_options(cfg, data=str(cfg))  # an explicit --data replaces the config's dataset
    assert o3.dataset is None and o3.data == cfg


@pytest.mark.parametrize(
    "text, needle",
    [
        ('measure = "cka"\n', "unknown key(s) 'measure' (did you mean 'measures'?)"),
        ("seeds = \n", "not valid TOML"),
        ('dataset = "toy2d"\ndata = "x.npz"\n', "either 'dataset' or 'data'"),
        ("max_iter = 0\n", "max_iter must be a positive integer"),
    ],
)
def test_bad_config(tmp_path, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ValueError) as e:
        resolve_options(cfg, out=tmp_path / "o")
    assert needle in str(e.value)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"measures": ["cka", "foo-bar"]}, "measures: Unknown measure 'foo-bar'"),
        ({"measures": "cka,cka"}, "twice"),
        ({"measures": ["procrustes-distance=angular"]}, "is a distance (0 = identical)"),
        ({"seeds": 0}, "seeds must be a positive number"),
        ({"seeds": [1, 1]}, "distinct"),
        ({"target": float("nan")}, "target must be a finite number"),
        ({"lr": -1.0}, "lr must be a positive"),
        ({"device": "tpu"}, "device must be 'cpu' or 'cuda'"),
        ({"dataset": "toy2d", "data": "x.npz"}, "not both"),
        ({"data": "does-not-exist.npz"}, "data: no such file"),
    ],
)
def test_bad_options_name_the_argument(tmp_path, kwargs, needle):
    with pytest.raises((ValueError, TypeError)) as e:
        resolve_options(out=tmp_path / "o", **kwargs)
    assert needle in str(e.value)


# ----------------------------------------------------------------------------- run: errors
def _bad_inputs(d: Path) -> dict[str, list[str]]:
    (d / "garbage.npz").write_bytes(b"this is not a zip file")
    np.savez(d / "nodata.npz", values=np.ones((5, 3)))
    np.savez(d / "nan.npz", data=np.full((6, 3), np.nan))
    (d / "afile").write_text("x")
    cases = {
        "malformed": ["--data", str(d / "garbage.npz")],
        "no data array": ["--data", str(d / "nodata.npz")],
        "nan data": ["--data", str(d / "nan.npz")],
        "unknown measure": ["--measures", "cka,procrustes-angular-scor"],
        "unwritable out": ["--out", str(d / "afile" / "sub")],
    }
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root writes anywhere
        ro = d / "readonly"
        ro.mkdir()
        ro.chmod(0o500)
        cases["readonly out"] = ["--out", str(ro / "sub")]
    return cases


def test_run_user_errors_fail_fast_in_process(tmp_path):
    """Validation (everything before the first optimization) takes well under a second."""
    cases = _bad_inputs(tmp_path)
    import simgrad.datasets  # noqa: F401 - import the layers before timing
    import simgrad.pipeline  # noqa: F401

    for name, args in cases.items():
        kw = {"out": str(tmp_path / "o")}
        for flag, value in zip(args[::2], args[1::2]):
            kw[flag.lstrip("-")] = value
        t0 = time.perf_counter()
        with pytest.raises((ValueError, TypeError)):
            sg.run(progress=False, **kw)
        assert time.perf_counter() - t0 < 1.0, name
        assert not (tmp_path / "o" / ".checkpoints").exists(), name


def test_run_user_errors_are_one_line(tmp_path):
    """Through the real command: one line on stderr, exit code 2, no traceback, no results."""
    cases = _bad_inputs(tmp_path)
    for name in ("malformed", "unknown measure", "unwritable out"):
        args = cases[name]
        out = ["--out", str(tmp_path / "o")] if "--out" not in args else []
        p = _cli("run", *args, *out, cwd=tmp_path)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2, (name, p.stderr)
        assert len(lines) == 1 and lines[0].startswith("simgrad run: error: "), (name, p.stderr)
        assert "Traceback" not in p.stderr
        assert not (tmp_path / "o" / "results").exists()
