"""Sweeps: grid validation, crash-safe units, Dask execution, aggregation, resuming.

The end-to-end tests run real ``sg.run`` units (tiny synthetic datasets, ``max_iter`` 30) on
one module-wide ``LocalCluster`` of two worker processes, and compare the aggregated tables
with the same runs done one by one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
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
    make_grid,
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
    thr = pd.DataFrame({
        "dataset": "d", "measure": "m", "seed": [0, 1, 2], "label": "ctx", "chance": 0.5,
        "reference_accuracy": [0.9, 0.8, 0.85], "threshold_accuracy": 0.86,
        "threshold_score": [0.4, np.nan, 0.6],
    })
    s = summarize_thresholds(thr)
    assert len(s) == 1
    row = s.iloc[0]
    assert (row["seeds"], row["reached"]) == (3, 2)
    assert row["threshold_score"] == pytest.approx(0.5)
    half = stats.t.ppf(0.975, 1) * np.std([0.4, 0.6], ddof=1) / np.sqrt(2)
    assert row["threshold_score_high"] == pytest.approx(0.5 + half)
    assert row["reference_accuracy"] == pytest.approx(0.85)


def test_progress_line_and_eta():
    p = Progress(total=8, finished=3, skipped=1, running=2, failed=1, elapsed=65.0, computed=2,
                 unit_seconds=10.0, slots=2)
    assert p.remaining == 4 and p.eta == pytest.approx(20.0)
    line = p.line(width=8)
    assert "3/8 finished (1 skipped)" in line and "2 running" in line and "1 failed" in line
    assert "1m05s" in line and "~20s left" in line and "[###-----]" in line
    assert Progress(8, 0, 0, 0, 0, 1.0).eta is None
    import io

    buf = io.StringIO()
    printer = LinePrinter(buf, every=1e9)
    printer(p)
    printer(p)  # unchanged counts: not printed twice
    assert buf.getvalue().count("sweep [") == 1


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
    assert Unit("toy2d", "cka", 0, {"max_iter": 30}).uid == Unit(
        "toy2d", "cka", 0, {"max_iter": 30}).uid
