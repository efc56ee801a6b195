"""The ``simgrad compare``, ``simgrad region`` and ``simgrad run`` commands: values checked
against closed forms written out here (numpy / scipy), files, and one-line user errors."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import orthogonal_procrustes

import simgrad as sg
from simgrad.cli import build_parser, main
from simgrad.options import PANEL, RunOptions, spec

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
    o = RunOptions.create(out=tmp_path / "o")
    assert o.dataset == "context" and o.data is None
    assert o.measures == PANEL
    assert o.canonical_measures == tuple(sg.measure(m).name for m in PANEL)
    assert o.seeds == (0,) and o.target == 0.99 and o.device == "cpu"
    assert RunOptions().out == Path("simgrad-out")
    assert not (tmp_path / "o").exists()  # validating writes nothing


def test_config_file_and_override(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'dataset = "toy2d"\nmeasures = ["cka", "nbs"]\nseeds = 3\nmax_iter = 50\n'
        f'target = 0.95\nout = "{tmp_path / "o"}"\n'
    )
    o = RunOptions.create(cfg)
    assert (o.dataset, o.canonical_measures, o.seeds, o.max_iter, o.target) == (
        "toy2d",
        ("cka-kernel=linear-hsic=gretton-score", "nbs-score"),
        (0, 1, 2),
        50,
        0.95,
    )
    o2 = RunOptions.create(cfg, max_iter=7, seeds=[4, 5])
    assert o2.max_iter == 7 and o2.seeds == (4, 5) and o2.dataset == "toy2d"
    o3 = RunOptions.create(cfg, data=str(cfg))  # an explicit --data replaces the config's dataset
    assert o3.dataset is None and o3.data == cfg


def test_config_toml_round_trip(tmp_path):
    from simgrad._toml import dumps_toml

    o = RunOptions.create(
        dataset="toy2d",
        measures="cka, nbs",
        seeds=[2, 5],
        target=0.9,
        max_iter=12,
        lr=0.05,
        out=tmp_path / "o",
        labels=["a", "b"],
        cutoff=0.8,
        decode_iterates=0,
    )
    cfg = tmp_path / "round.toml"
    cfg.write_text(dumps_toml(o.to_mapping()))
    assert RunOptions.create(cfg) == o
    assert RunOptions.from_mapping(o.to_mapping()) == o
    # a [run] table holds the same keys
    cfg.write_text("[run]\n" + dumps_toml(o.to_mapping()))
    assert RunOptions.create(cfg) == o


@pytest.mark.parametrize(
    "text, needle",
    [
        ('measure = "cka"\n', "unknown key(s) 'measure' (did you mean 'measures'?)"),
        ("seeds = \n", "not valid TOML"),
        ('dataset = "toy2d"\ndata = "x.npz"\n', "either 'dataset' or 'data'"),
        ("max_iter = 0\n", "max_iter must be a positive integer"),
        ('config = "other.toml"\n', "may not name another config file"),
    ],
)
def test_bad_config(tmp_path, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ValueError) as e:
        RunOptions.create(cfg, out=tmp_path / "o")
    assert needle in str(e.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ValueError, match="config: no such file"):
        RunOptions.create(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"measures": ["cka", "foo-bar"]}, "measures: Unknown measure 'foo-bar'"),
        ({"measures": "cka,cka"}, "twice"),
        ({"measures": ["procrustes-distance=angular"]}, "is a distance (0 = identical)"),
        ({"measures": "procrustes-distance=angular"}, "procrustes-angular_score"),
        ({"measures": []}, "measures must be non-empty names"),
        ({"measures": 3}, "measures must be a list of names"),
        ({"seeds": 0}, "seeds must be a positive number"),
        ({"seeds": [1, 1]}, "distinct"),
        ({"seeds": [-1]}, "non-negative integers"),
        ({"seeds": 1.5}, "seeds must be a count or a list"),
        ({"target": float("nan")}, "target must be a finite number"),
        ({"target": "high"}, "target must be a number"),
        ({"max_iter": 0}, "max_iter must be a positive integer"),
        ({"max_iter": 2.5}, "max_iter must be a positive integer"),
        ({"max_iter": True}, "max_iter must be a positive integer"),
        ({"lr": -1.0}, "lr must be a positive"),
        ({"lr": 0}, "lr must be a positive"),
        ({"lr": float("inf")}, "lr must be a positive"),
        ({"cutoff": float("inf")}, "cutoff must be a finite number"),
        ({"device": "tpu"}, "device must be 'cpu' or 'cuda'"),
        ({"labels": [1, 2]}, "labels must be a list of label names"),
        ({"decode_iterates": 2}, "decode_iterates must be 0"),
        ({"decode_iterates": -1}, "decode_iterates must be 0"),
        ({"decode_iterates": "some"}, "decode_iterates must be 0"),
        ({"out": 3}, "out must be a folder path"),
        ({"dataset": 3}, "dataset must be a dataset name or a simgrad Dataset"),
        ({"dataset": "toy2d", "data": "x.npz"}, "not both"),
        ({"data": "does-not-exist.npz"}, "data: no such file"),
        ({"data": 3}, "data must be a file path"),
        ({"mesures": "cka"}, "unknown option(s) 'mesures' (did you mean 'measures'?)"),
    ],
)
def test_bad_options_name_the_argument(tmp_path, kwargs, needle):
    with pytest.raises((ValueError, TypeError)) as e:
        RunOptions.create(**{"out": tmp_path / "o", **kwargs})
    assert needle in str(e.value)


def test_cuda_refused_without_a_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        RunOptions(device="cuda")


@pytest.mark.parametrize(
    "value, expected",
    [(4, 4), (0, 0), ("all", 0), ("ALL", 0), (10, 10)],
)
def test_decode_iterates_range(value, expected):
    assert RunOptions(decode_iterates=value).decode_iterates == expected


def test_from_mapping_names_where_and_updated():
    with pytest.raises(ValueError, match=r"^grid row 3: lr must be a positive"):
        RunOptions.from_mapping({"lr": -1}, where="grid row 3")
    with pytest.raises(ValueError, match=r"^grid row 3: unknown key\(s\) 'mesures'"):
        RunOptions.from_mapping({"mesures": "cka"}, where="grid row 3")
    o = RunOptions.from_mapping({"measures": ["cka"], "seeds": [4], "target": None})
    assert o.target == 0.99 and o.seeds == (4,)
    # one unit of a sweep: a Dataset, one measure, one seed, its own folder; picklable
    ds = sg.datasets.load("toy2d")
    u = o.updated(dataset=ds, out="units/u1")
    assert u.dataset is ds and u.out == Path("units/u1") and u.measures == ("cka",)
    back = pickle.loads(pickle.dumps(u))
    assert back.out == u.out and back.measures == u.measures and back.dataset.name == ds.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.seeds = (1,)  # frozen


def test_spec_lists_every_field_with_help_and_range():
    names = [s.name for s in spec()]
    assert names == [f.name for f in dataclasses.fields(RunOptions)]
    for s in spec():
        assert s.help and s.range and s.default and s.type, s.name


def test_cli_help_lists_every_option():
    p = build_parser()
    sub = next(a for a in p._actions if a.dest == "command").choices["run"]
    text = sub.format_help()
    for s in spec():
        assert s.flag in text, s.flag
    flags = {o for a in sub._actions for o in a.option_strings}
    assert {s.flag for s in spec()} | {"--config", "--quiet"} <= flags
    assert "(default: 0.9)" in " ".join(text.split())  # --cutoff has its flag and default
    args = p.parse_args(["run", "--seeds", "0,3", "--decode-iterates", "all", "--cutoff", "0.5"])
    assert (args.seeds, args.decode_iterates, args.cutoff) == ([0, 3], "all", 0.5)


def test_cli_bad_number_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["run", "--max-iter", "many"])
    assert e.value.code == 2
    assert "--max-iter: expected int, got 'many'" in capsys.readouterr().err


def test_options_table_in_docs_is_current():
    from simgrad.options import markdown_table

    text = (ROOT / "docs" / "report.md").read_text()
    start, end = "<!-- options-table:start -->\n", "<!-- options-table:end -->"
    assert start in text and end in text, "docs/report.md lacks the options-table markers"
    got = text.split(start, 1)[1].split(end, 1)[0]
    assert got == markdown_table(), (
        "docs/report.md's options table is stale; regenerate it with\n"
        "  python -m simgrad.options --write-docs docs/report.md"
    )


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


def test_run_user_errors_fail_before_any_work(tmp_path):
    """Every user error is raised before the first unit: no checkpoint, no result."""
    cases = _bad_inputs(tmp_path)
    for name, args in cases.items():
        kw = {"out": str(tmp_path / "o")}
        for flag, value in zip(args[::2], args[1::2]):
            kw[flag.lstrip("-")] = value
        with pytest.raises((ValueError, TypeError)):
            sg.run(progress=False, **kw)
        assert not (tmp_path / "o" / ".checkpoints").exists(), name
        assert not (tmp_path / "o" / "results").exists(), name


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
