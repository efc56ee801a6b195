"""`simgrad layers`: factory import, inputs, target, outputs; one clear error each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simgrad.cli import main

FACTORY = """
import torch
from torch import nn

def make():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3)).double()

def with_inputs():
    x = torch.randn(60, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    return make(), x
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "fac.py").write_text(FACTORY)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(60, 5)))
    np.save(tmp_path / "V1.npy", rng.normal(size=(60, 4)))
    return tmp_path


def test_layers_writes_csv_figures_and_page(files, capsys):
    out = files / "out"
    rc = main(
        [
            "layers",
            "--model",
            f"{files}/fac.py:make",
            "--inputs",
            str(files / "x.npy"),
            "--target",
            str(files / "V1.npy"),
            "--measures",
            "cka,rsa",
            "--out",
            str(out),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    df = pd.read_csv(out / "scores.csv", dtype={"layer": str})
    assert set(df["layer"]) == {"0", "1", "2"} and set(df["measure"]) == {"cka", "rsa"}
    best = pd.read_csv(out / "best_layers.csv")
    assert len(best) == 2
    assert (out / "report.html").read_text().count("<figure") == 4


def test_factory_returning_inputs(files):
    rc = main(
        [
            "layers",
            "--model",
            f"{files}/fac.py:with_inputs",
            "--target",
            str(files / "V1.npy"),
            "--out",
            str(files / "o2"),
            "--no-figures",
        ]
    )
    assert rc == 0 and (files / "o2" / "scores.csv").is_file()


@pytest.mark.parametrize(
    ("model", "target", "message"),
    [
        ("no_such_pkg_xyz.mod:make", "V1.npy", "cannot import 'no_such_pkg_xyz.mod'"),
        ("{d}/fac.py:nothing", "V1.npy", "has no callable 'nothing'"),
        ("justaname", "V1.npy", "is not 'package.module:factory'"),
        ("{d}/fac.py:make", "missing.npy", "neither a file nor a dataset"),
        ("{d}/fac.py:make", "short.npy", "sample counts differ"),
    ],
)
def test_one_clear_error_each(files, capsys, model, target, message):
    np.save(files / "short.npy", np.zeros((59, 2)))
    rc = main(
        [
            "layers",
            "--model",
            model.format(d=files),
            "--inputs",
            str(files / "x.npy"),
            "--target",
            str(files / target),
            "--out",
            str(files / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1
    assert not (files / "o" / "scores.csv").exists()
