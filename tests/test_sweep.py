"""Sweeps: grid validation, crash-safe units, Dask execution, aggregation, resuming.

The end-to-end tests run real ``sg.run`` units (tiny synthetic datasets, ``max_iter`` 30) on
one module-wide ``LocalCluster`` of two worker processes, and compare the aggregated tables
with the same runs done one by one.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simgrad as sg
from simgrad.sweeps import (
    MARKER,
    TABLES,
    LinePrinter,
    Progress,
    Unit,
    execute_unit,
    mean_interval,
    summarize_thresholds,
    unit_dir,
)
from simgrad.sweeps.grid import grid_from_mapping

# ----------------------------------------------------------------------------- pure parts


def test_mean_interval_matches_scipy_t_interval():
    rng = np.random.default_rng(0)
    for n in (2, 3, 7):
        x = rng.normal(0.6, 0.1, size=n)
        m, lo, hi = mean_interval(x, 0.95)
        ref_lo, ref_hi = stats.t.interval(0.95, n - 1, loc=x.mean(), scale=stats.sem(x))
        assert m == pytest.approx(x.mean(), abs=1e-15)
        assert (lo, hi) == pytest.approx((ref_lo, ref_hi), abs=1e-12)
    # written out for n = 3: t_{0.975,2} = 4.30265 (the textbook table value)
    x = np.array([0.4, 0.5, 0.6])
    half = 4.30265 * 0.1 / np.sqrt(3)
    assert mean_interval(x) == pytest.approx((0.5, 0.5 - half, 0.5 + half), abs=1e-6)
    m, lo, hi = mean_interval([0.3, np.nan])  # NaN = never reached: ignored
    assert m == 0.3 and np.isnan(lo) and np.isnan(hi)
    assert all(np.isnan(mean_interval([])))
    with pytest.raises(ValueError, match="level"):
        mean_interval([1.0, 2.0], level=1.5)


def test_summarize_thresholds_counts_never_reached():
    thr = pd.DataFrame(
        {
            "dataset": "d",
            "measure": "m",
            "seed": [0, 1, 2],
            "label": "ctx",
            "chance": 0.5,
            "reference_accuracy": [0.9, 0.8, 0.85],
            "threshold_accuracy": 0.86,
            "threshold_score": [0.4, np.nan, 0.6],
        }
    )
    s = summarize_thresholds(thr)
    assert len(s) == 1
    row = s.iloc[0]
    assert (row["seeds"], row["reached"]) == (3, 2)
    assert row["threshold_score"] == pytest.approx(0.5)
    half = stats.t.ppf(0.975, 1) * np.std([0.4, 0.6], ddof=1) / np.sqrt(2)
    assert row["threshold_score_high"] == pytest.approx(0.5 + half)
    assert row["reference_accuracy"] == pytest.approx(0.85)


def test_progress_line_and_eta():
    p = Progress(
        total=8,
        finished=3,
        skipped=1,
        running=2,
        failed=1,
        elapsed=65.0,
        computed=2,
        unit_seconds=10.0,
        slots=2,
    )
    assert p.remaining == 4 and p.eta == pytest.approx(20.0)
    line = p.line(width=8)
    assert "3/8 finished (1 skipped)" in line and "2 running" in line and "1 failed" in line
    assert "1m05s" in line and "~20s left" in line and "[###-----]" in line
    assert Progress(8, 0, 0, 0, 0, 1.0).eta is None
    import io

    buf = io.StringIO()
    printer = LinePrinter(buf, every=1e9, tty=True)
    printer(p)
    printer(p)  # unchanged counts: not printed twice
    assert buf.getvalue().count("sweep [") == 1


def test_progress_without_a_terminal_is_one_line_per_finished_unit():
    """A log file (StringIO is no TTY) gets one line per unit that finished or failed, naming
    it, and nothing for the periodic snapshots in between; no carriage returns."""
    import io

    buf = io.StringIO()
    printer = LinePrinter(buf, every=0.0)
    snaps = [
        Progress(3, 0, 0, 0, 0, 0.0),
        Progress(3, 0, 0, 1, 0, 1.0),
        Progress(3, 0, 0, 1, 0, 2.0),  # periodic: the clock moved
        Progress(3, 1, 0, 1, 0, 3.0, computed=1, last="u1", last_status="done"),
        Progress(3, 1, 0, 0, 1, 4.0, computed=1, last="u2", last_status="failed"),
        Progress(3, 2, 0, 0, 1, 5.0, computed=2, last="u3", last_status="done"),
        Progress(3, 2, 0, 0, 1, 5.0, computed=2),
    ]
    for p in snaps:
        printer(p)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in buf.getvalue()
    assert [ln.rsplit(" · ", 1)[1] for ln in lines] == ["u1 done", "u2 failed", "u3 done"]
    assert "1/3 finished" in lines[0] and "1 failed" in lines[1] and "2/3 finished" in lines[2]
    tty = io.StringIO()
    tty.isatty = lambda: True  # a terminal: a line per change of the counts, as before
    term = LinePrinter(tty, every=1e9)
    for p in snaps:
        term(p)
    assert tty.getvalue().count("sweep [") == 5


def _write_marker_file(unit, folder):
    (Path(folder) / "results").mkdir()
    (Path(folder) / "results" / "x.txt").write_text(unit.measure)


def test_unit_appears_atomically_and_is_idempotent(tmp_path):
    u = Unit("toy2d", "cka", 0, {"max_iter": 30})

    def crash(unit, folder):
        (Path(folder) / "half.txt").write_text("partial")
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        execute_unit(u, tmp_path, crash)
    assert not unit_dir(tmp_path, u).exists()  # nothing that looks finished
    assert list((tmp_path / "units" / ".tmp").iterdir()) == []

    res = execute_unit(u, tmp_path, _write_marker_file)
    assert res["status"] == "done"
    marker = unit_dir(tmp_path, u) / MARKER
    assert json.loads(marker.read_text())["measure"] == "cka"
    before = marker.stat().st_mtime_ns
    calls = []
    res = execute_unit(u, tmp_path, lambda unit, folder: calls.append(1))
    assert res["status"] == "skipped" and calls == []
    assert marker.stat().st_mtime_ns == before

    # two attempts of one unit (a worker presumed dead was only slow): the first to finish
    # wins, the other's copy is discarded
    v = Unit("toy2d", "cka", 1, {"max_iter": 30})

    def slow(unit, folder):
        execute_unit(unit, tmp_path, _write_marker_file)  # the "other" attempt finishes first
        (Path(folder) / "results").mkdir()
        (Path(folder) / "results" / "x.txt").write_text("late copy")

    res = execute_unit(v, tmp_path, slow)
    assert res["status"] == "skipped"
    assert (unit_dir(tmp_path, v) / "results" / "x.txt").read_text() == "cka"
    assert list((tmp_path / "units" / ".tmp").iterdir()) == []


def test_unit_ids_are_unique_and_depend_on_every_setting():
    a = Unit("toy2d", "cka-kernel=(rbf-sigma=1.0)-score", 0, {"max_iter": 30})
    b = Unit("toy2d", "cka-kernel=(rbf-sigma=1.0)-score", 0, {"max_iter": 31})
    c = Unit("toy2d", "cka-kernel=(rbf-sigma=1.0)-score", 0, {"max_iter": 30}, {"seed": 1})
    assert len({a.uid, b.uid, c.uid}) == 3
    assert all("/" not in u.uid and "(" not in u.uid for u in (a, b, c))
    assert (
        Unit("toy2d", "cka", 0, {"max_iter": 30}).uid
        == Unit("toy2d", "cka", 0, {"max_iter": 30}).uid
    )


# ----------------------------------------------------------------------------- grids

GRID = {
    "datasets": ["toy2d", "ultrametric"],
    "measures": ["cka", "procrustes-angular_score"],
    "seeds": [0, 1],
    "max_iter": 30,
}


def _toml(d: dict) -> str:
    def val(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
        return repr(v)

    return "".join(f"{k} = {val(v)}\n" for k, v in d.items())


def test_grid_expands_lists_into_settings_and_units():
    g = grid_from_mapping({**GRID, "seeds": 3, "lr": [0.1, 0.05]})
    assert g.seeds == (0, 1, 2)
    assert g.swept == ("lr",)
    assert g.settings == ({"max_iter": 30, "lr": 0.1}, {"max_iter": 30, "lr": 0.05})
    units = g.units()
    assert len(units) == 2 * 2 * 2 * 3
    assert [(u.dataset, u.options["lr"], u.measure, u.seed) for u in units[:4]] == [
        ("toy2d", 0.1, "cka", 0),
        ("toy2d", 0.1, "cka", 1),
        ("toy2d", 0.1, "cka", 2),
        ("toy2d", 0.1, "procrustes-angular_score", 0),
    ]
    g2 = grid_from_mapping(
        {
            **GRID,
            "datasets": [
                {"name": "ultrametric", "n_features": 20},
                {"name": "ultrametric", "n_features": 30, "id": "ultra30"},
            ],
        }
    )
    assert g2.datasets == (("ultrametric", {"n_features": 20}), ("ultrametric", {"n_features": 30}))
    labels = list(dict.fromkeys(u.label for u in g2.units()))
    assert labels == ["ultrametric(n_features=20)", "ultra30"]  # the tables' dataset column


@pytest.mark.parametrize(
    ("change", "error", "names"),
    [
        ({"max_iterations": 30}, ValueError, "'max_iterations'"),  # unknown key
        ({"max_iter": "thirty"}, ValueError, "max_iter must be"),  # wrong type (RunOptions)
        ({"max_iter": [30, 2.5]}, ValueError, "max_iter must be"),  # wrong type inside a sweep
        ({"seeds": [0, "1"]}, TypeError, "'seeds'"),
        ({"seeds": [0, 0]}, ValueError, "'seeds'"),
        ({"datasets": ["toy2d", "ultrametrc"]}, ValueError, "'ultrametrc'"),  # unknown dataset
        ({"measures": ["cka", "ckaa"]}, ValueError, "'ckaa'"),  # unknown measure
        ({"measures": ["cka", "cka-kernel=linear-hsic=gretton-score"]}, ValueError, "twice"),
        ({"workers": "two"}, TypeError, "'workers'"),
        ({"out": 3}, TypeError, "'out'"),
        ({"unit_reports": "yes"}, TypeError, "'unit_reports'"),
        ({"report": 1}, TypeError, "'report'"),
        ({"lr": [0.1, 0.0]}, ValueError, "lr must be"),  # refused by the unit's RunOptions
        ({"dataset": "toy2d"}, ValueError, "'dataset'"),  # set by the sweep itself
        ({"datasets": [{"name": "toy2d", "nois": 0.1}]}, ValueError, "'nois'"),  # load option
        (
            {"datasets": [{"name": "toy2d", "id": "a"}, {"name": "ultrametric", "id": "a"}]},
            ValueError,
            "'id'",
        ),
    ],
)
def test_malformed_grid_fails_before_any_unit(tmp_path, capsys, change, error, names):
    from simgrad.cli import main

    bad = {**GRID, **change}
    path = tmp_path / "grid.toml"
    path.write_text(_toml(bad))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert names in err, err
    assert not out.exists()  # nothing started, nothing written
    with pytest.raises(error, match=names.replace("(", r"\(")):
        grid_from_mapping(bad)


@pytest.mark.parametrize(
    ("option", "values"),
    [
        ("lr", [0.1, -1.0]),
        ("decode_iterates", [10, 2]),
        ("target", [0.9, "high"]),
        ("labels", [["choice"], [1, 2]]),  # a list of lists sweeps the option
        ("device", "tpu"),
    ],
)
def test_grid_row_is_refused_with_the_run_options_message(option, values):
    """Each unit's options are checked by building its RunOptions: the grid's error is the
    message ``RunOptions`` gives for the bad value (which names the option)."""
    from simgrad.options import RunOptions

    bad = values[-1] if isinstance(values, list) else values
    with pytest.raises((ValueError, TypeError)) as want:
        RunOptions.create(**{option: bad})
    with pytest.raises(want.type) as got:
        grid_from_mapping({**GRID, option: values})
    assert str(want.value) in str(got.value) and option in str(got.value)


def test_grid_refuses_a_distance_measure_like_run_does():
    with pytest.raises(ValueError, match="is a distance"):
        grid_from_mapping({**GRID, "measures": ["cka", "cka-distance=angular"]})


def test_grid_file_errors(tmp_path, capsys):
    from simgrad.cli import main

    p = tmp_path / "g.toml"
    p.write_text("datasets = [toy2d\n")
    assert main(["sweep", str(p), "--workers", "0"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
    p.write_text('datasets = ["toy2d"]\nseeds = 1\n')
    assert main(["sweep", str(p)]) == 2
    assert "'measures'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- end to end

RUN_OPTIONS = {"max_iter": 30}


@pytest.fixture(scope="module")
def client():
    """One LocalCluster of two single-threaded worker processes for the whole module."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"OMP_NUM_THREADS": "1"},
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _one_by_one_tables(root: Path, client) -> dict[str, pd.DataFrame]:
    """The grid's 8 units as 8 separate ``sg.run`` calls (independent of the sweep code; run
    side by side on the cluster's workers to save time), stacked with a dataset column."""
    runs = {}
    for ds in GRID["datasets"]:
        for m in GRID["measures"]:
            for seed in GRID["seeds"]:
                out = root / f"{ds}-{m}-{seed}"
                runs[out, ds] = client.submit(
                    sg.run,
                    dataset=ds,
                    measures=[m],
                    seeds=[seed],
                    out=str(out),
                    progress=False,
                    pure=False,
                    **RUN_OPTIONS,
                )
    client.gather(list(runs.values()))
    parts: dict[str, list] = {name: [] for name in TABLES}
    for out, ds in runs:
        for name in TABLES:
            df = pd.read_csv(out / "results" / f"{name}.csv")
            df.insert(0, "dataset", ds)
            parts[name].append(df)
    return {name: pd.concat(dfs, ignore_index=True) for name, dfs in parts.items()}


@pytest.fixture(scope="module")
def expected(tmp_path_factory, client):
    return _one_by_one_tables(tmp_path_factory.mktemp("one-by-one"), client)


def _assert_same_tables(res, expected, out: Path):
    for name in TABLES:
        got = getattr(res, name)
        pd.testing.assert_frame_equal(
            got, expected[name], check_exact=False, rtol=1e-9, atol=1e-12, obj=name
        )
        on_disk = pd.read_csv(out / "results" / f"{name}.csv")
        pd.testing.assert_frame_equal(
            on_disk,
            expected[name],
            check_exact=False,
            rtol=1e-9,
            atol=1e-12,
            obj=f"results/{name}.csv",
        )


def _sweep(out, client, **kw):
    return sg.sweep(
        datasets=GRID["datasets"],
        measures=GRID["measures"],
        seeds=GRID["seeds"],
        out=out,
        scheduler=client,
        **RUN_OPTIONS,
        **kw,
    )


def test_sweep_on_two_workers_equals_runs_one_by_one(tmp_path, client, expected):
    lines = []
    res = _sweep(tmp_path, client, progress=lines.append)
    assert res.ok and len(res.units) == 8 and res.computed == 8
    _assert_same_tables(res, expected, tmp_path)
    # progress covered the whole sweep
    assert lines[-1].finished == 8 and lines[-1].failed == 0 and lines[-1].eta == 0.0
    assert max(p.running for p in lines) >= 1
    # summaries: across-seed mean and t interval of the per-seed thresholds
    s = res.summary_thresholds
    assert set(s["dataset"]) == set(GRID["datasets"])
    for _, row in s.iterrows():
        sel = expected["thresholds"]
        sel = sel[
            (sel["dataset"] == row["dataset"])
            & (sel["measure"] == row["measure"])
            & (sel["label"] == row["label"])
        ]
        vals = sel["threshold_score"].dropna().to_numpy()
        assert row["reached"] == len(vals) and row["seeds"] == 2
        if len(vals):
            assert row["threshold_score"] == pytest.approx(vals.mean())
        if len(vals) == 2:
            lo, hi = stats.t.interval(0.95, 1, loc=vals.mean(), scale=stats.sem(vals))
            assert (row["threshold_score_low"], row["threshold_score_high"]) == pytest.approx(
                (lo, hi)
            )
    # the report: self-contained, with the summary figure and every unit
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and 'data-figure="thresholds"' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert all(uid in html for uid in res.units["unit"])
    assert 'href="units/' not in html  # units made no report pages: none is linked
    assert (tmp_path / "figures" / "thresholds.png").read_bytes()[:4] == b"\x89PNG"
    manifest = json.loads((tmp_path / "sweep.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["units"]) == 8


def test_sweep_survives_a_killed_worker(tmp_path, client, expected):
    killed = []

    def kill_a_busy_worker(p: Progress) -> None:
        if killed or p.running == 0:
            return
        pids = client.run(os.getpid)
        for addr, keys in client.processing().items():
            if any(str(k).startswith("simgrad-unit-") for k in keys) and addr in pids:
                os.kill(pids[addr], signal.SIGKILL)
                killed.append(addr)
                return

    res = _sweep(tmp_path, client, progress=kill_a_busy_worker)
    assert killed, "no worker was killed while a unit was running"
    assert res.ok and len(res.units) == 8
    _assert_same_tables(res, expected, tmp_path)
    client.wait_for_workers(2, timeout=120)  # the nanny restarts it for the next tests


class _Stop(Exception):
    pass


def test_interrupted_sweep_resumes_without_recomputing(tmp_path, client, expected, capsys):
    """Stop a sweep (toy2d only: 4 units) once a unit is finished, then resume it through the
    command line: finished units keep their files, only the others are computed."""
    from simgrad.cli import main

    small = {**GRID, "datasets": ["toy2d"]}

    def stop_after_first(p: Progress) -> None:
        if p.finished >= 1:
            raise _Stop

    with pytest.raises(_Stop):
        sg.sweep(
            datasets=small["datasets"],
            measures=small["measures"],
            seeds=small["seeds"],
            out=tmp_path,
            scheduler=client,
            progress=stop_after_first,
            **RUN_OPTIONS,
        )
    finished = {p: p.stat().st_mtime_ns for p in tmp_path.glob(f"units/*/{MARKER}")}
    # workers write their unit's marker themselves: on a fast machine the other units may
    # finish while the first completion is being reported, so up to all 4 can be done here
    # (the resume below must then recompute none of them)
    assert 1 <= len(finished) <= 4
    assert json.loads((tmp_path / "sweep.json").read_text())["status"] == "running"
    assert not (tmp_path / "results").exists()

    grid = tmp_path / "grid.toml"
    grid.write_text(_toml(small))
    code = main(
        ["sweep", str(grid), "--out", str(tmp_path), "--scheduler", client.scheduler.address]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "4/4 units finished" in captured.out
    units = pd.read_csv(tmp_path / "results" / "units.csv").set_index("unit")
    assert (units["status"] == "finished").all()
    for marker, mtime in finished.items():  # finished units were not recomputed
        assert marker.stat().st_mtime_ns == mtime
        assert units.loc[marker.parent.name, "this_run"] == "skipped"
    assert (units["this_run"] == "done").sum() <= 4 - len(finished)
    for name in TABLES:
        exp = expected[name][expected[name]["dataset"] == "toy2d"].reset_index(drop=True)
        got = pd.read_csv(tmp_path / "results" / f"{name}.csv")
        pd.testing.assert_frame_equal(got, exp, check_exact=False, rtol=1e-9, atol=1e-12)
    # a third run computes nothing and leaves every marker alone
    again = sg.sweep(
        datasets=small["datasets"],
        measures=small["measures"],
        seeds=small["seeds"],
        out=tmp_path,
        scheduler=client,
        progress=False,
        report=False,
        **RUN_OPTIONS,
    )
    assert again.computed == 0 and (again.units["this_run"] == "skipped").all()
    assert all(m.stat().st_mtime_ns == t for m, t in finished.items())


def test_failed_unit_is_reported_and_the_rest_kept(tmp_path, capsys):
    """In-process mode (no Dask): a unit that raises (ultrametric has no 'choice' label) is
    listed as failed, the sweep goes on, the command exits 1, and a rerun retries only it."""
    from simgrad.cli import main

    grid = tmp_path / "grid.toml"
    grid.write_text(
        _toml(
            {
                "datasets": ["toy2d", "ultrametric"],
                "measures": ["cka"],
                "seeds": [0],
                "labels": ["choice"],
                "retries": 0,
                **RUN_OPTIONS,
            }
        )
    )
    out = tmp_path / "out"
    with pytest.warns(RuntimeWarning, match="1 of 2 units failed"):
        code = main(["sweep", str(grid), "--out", str(out), "--workers", "0", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "failed: ultrametric__cka__seed0" in err and "choice" in err
    units = pd.read_csv(out / "results" / "units.csv").set_index("dataset")
    assert units.loc["toy2d", "status"] == "finished"
    assert units.loc["ultrametric", "status"] == "failed"
    thr = pd.read_csv(out / "results" / "thresholds.csv")
    assert set(thr["dataset"]) == {"toy2d"} and set(thr["label"]) == {"choice"}
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "incomplete" and len(manifest["failed"]) == 1
    assert "Not finished" in (out / "report.html").read_text()
    done = out / "units" / units.loc["toy2d", "unit"] / MARKER
    mtime = done.stat().st_mtime_ns
    with pytest.warns(RuntimeWarning):
        assert main(["sweep", str(grid), "--out", str(out), "--workers", "0", "--quiet"]) == 1
    assert done.stat().st_mtime_ns == mtime
    assert "0 computed now" in capsys.readouterr().out


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_units_write_tables_only_unless_unit_reports_are_asked_for(tmp_path, capsys):
    """By default a unit writes its tables, run.json and done.json, no figures and no HTML,
    and the sweep report links no unit page; with --unit-reports (or unit_reports=True) each
    unit also has its figures and report.html, and the sweep report links them."""
    from simgrad.cli import main

    grid = tmp_path / "grid.toml"
    grid.write_text(
        _toml({"datasets": ["toy2d"], "measures": ["cka"], "seeds": [0], **RUN_OPTIONS})
    )
    plain, full = tmp_path / "plain", tmp_path / "full"
    assert main(["sweep", str(grid), "--out", str(plain), "--workers", "0", "--quiet"]) == 0
    assert (
        main(
            ["sweep", str(grid), "--out", str(full), "--workers", "0", "--quiet", "--unit-reports"]
        )
        == 0
    )
    capsys.readouterr()
    (uid,) = [p.name for p in (plain / "units").iterdir() if not p.name.startswith(".")]
    tables = {f"results/{name}.csv" for name in TABLES} | {"run.json", MARKER}
    got = _files(plain / "units" / uid)
    assert tables <= got
    assert not any(f.endswith((".png", ".html")) for f in got), got
    assert f'href="units/{uid}/report.html"' not in (plain / "report.html").read_text()
    got = _files(full / "units" / uid)  # same unit: reports do not change the unit id
    assert tables <= got and "report.html" in got
    assert any(f.startswith("figures/") and f.endswith(".png") for f in got), got
    assert f'href="units/{uid}/report.html"' in (full / "report.html").read_text()
    for name in TABLES:  # the same tables either way
        a = (plain / "units" / uid / "results" / f"{name}.csv").read_bytes()
        assert a == (full / "units" / uid / "results" / f"{name}.csv").read_bytes()
    assert json.loads((full / "sweep.json").read_text())["unit_reports"] is True
    # asking for unit reports over units finished without them says so (they keep none)
    cmd = ["sweep", str(grid), "--out", str(plain), "--workers", "0", "--quiet"]
    assert main([*cmd, "--unit-reports"]) == 0
    assert "1 finished unit(s) were computed without unit reports" in capsys.readouterr().err
    assert "report.html" not in _files(plain / "units" / uid)
    # --no-unit-reports overrides a grid file's unit_reports = true
    grid.write_text(grid.read_text() + "unit_reports = true\n")
    assert main([*cmd[:3], str(tmp_path / "off"), *cmd[4:], "--no-unit-reports"]) == 0
    assert "report.html" not in _files(tmp_path / "off" / "units" / uid)
    lib = sg.sweep(  # the library's switch, and the grid file's key, do the same
        datasets=["toy2d"],
        measures=["cka"],
        seeds=[0],
        out=tmp_path / "lib",
        workers=0,
        progress=False,
        unit_reports=True,
        **RUN_OPTIONS,
    )
    assert "report.html" in _files(lib.out / "units" / uid)
    g = grid_from_mapping(
        {"datasets": ["toy2d"], "measures": ["cka"], "seeds": 1, "unit_reports": True}
    )
    assert g.sweep_options == {"unit_reports": True}
