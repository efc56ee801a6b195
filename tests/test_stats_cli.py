"""``simgrad compare --permutations/--bootstrap/--ceiling-trials/--out``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import simgrad as sg
from simgrad.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    s = rng.normal(size=(20, 15))
    np.save(tmp_path / "x.npy", s)
    np.save(tmp_path / "y.npy", s[:, :8] + rng.normal(size=(20, 8)))
    np.save(tmp_path / "trials.npy", s + rng.normal(size=(6, 20, 15)))
    return tmp_path


def test_compare_statistics_csv_and_json(files, capsys):
    d = files
    args = ["compare", str(d / "x.npy"), str(d / "y.npy"), "--measures", "cka,linreg"]
    args += ["--permutations", "99", "--bootstrap", "99", "--ceiling-trials", str(d / "t.npy")]
    assert main(args) == 2  # a missing trials file: one line, before work
    assert "no such file" in capsys.readouterr().err
    args[-1] = str(d / "trials.npy")
    assert main([*args, "--out", str(d / "o.csv")]) == 0
    out = capsys.readouterr().out
    assert "pvalue" in out and "score_over_ceiling" in out
    rows = list(csv.DictReader((d / "o.csv").open()))
    x, y = np.load(d / "x.npy"), np.load(d / "y.npy")
    perm = sg.stats.permutation_test("cka", x, y, n_resamples=99)
    assert float(rows[0]["pvalue"]) == pytest.approx(perm.pvalue)
    assert float(rows[0]["null_mean"]) == pytest.approx(perm.null_mean, rel=1e-5)
    ceil = sg.stats.noise_ceiling("cka", np.load(d / "trials.npy")).ceiling
    assert float(rows[0]["ceiling"]) == pytest.approx(ceil, rel=1e-5)
    assert main([*args, "--out", str(d / "o.json")]) == 0
    res = json.loads((d / "o.json").read_text())["results"]
    assert res[1]["ci_low"] <= res[1]["ci_high"] and res[1]["ci_method"] in ("BCa", "percentile")
