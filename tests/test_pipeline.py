"""End-to-end checks of ``sg.run``: the output layout, numbers against independent
computations (scikit-learn PCA and logistic regression, first crossings written out here),
determinism, resuming after a SIGKILL, and the split into ``compute`` (checkpoints only) and
``write_run`` (the files)."""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

import simgrad as sg
from simgrad.options import RunOptions
from simgrad.pipeline import TABLE_COLUMNS, compute, decodable_labels
from simgrad.report import write_run

ROOT = Path(__file__).resolve().parents[1]
MEASURES = ["cka", "procrustes-angular_score"]
SMALL = ["--max-iter", "40", "--labels", "context,choice", "--decode-iterates", "6"]
FILES = [
    "report.html",
    "figures/scores.png",
    "figures/decoding.png",
    "figures/pc_r2.png",
    "figures/capture.png",
    "figures/spectrum.png",
    "results/scores.csv",
    "results/decoding.csv",
    "results/thresholds.csv",
    "results/pc_capture.csv",
]


def small_dataset(path: Path) -> Path:
    """A small context-task reference (5 time bins × 72 conditions × 30 units) as .npz."""
    return sg.datasets.load("context", n_units=30, n_time=5, seed=1).to_npz(path)


def run_kwargs(data: Path, out: Path) -> dict:
    return dict(
        data=data,
        measures=MEASURES,
        max_iter=40,
        labels=["context", "choice"],
        decode_iterates=6,
        out=out,
        progress=False,
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipeline")
    data = small_dataset(d / "ref.npz")
    res = sg.run(**run_kwargs(data, d / "out"))
    return data, d / "out", res


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "simgrad.cli", *args]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")


# ----------------------------------------------------------------------------- layout
def test_every_file_is_written_with_the_contract_columns(small):
    _, out, res = small
    for f in FILES + ["run.json"]:
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    for name, cols in TABLE_COLUMNS.items():
        df = pd.read_csv(out / "results" / f"{name}.csv")
        assert list(df.columns) == cols, name
        # the library returns the same tables as the files
        got = getattr(res, name).reset_index(drop=True)
        pd.testing.assert_frame_equal(df, got, check_dtype=False, obj=name)
    info = json.loads((out / "run.json").read_text())
    assert {"versions", "arguments", "seeds", "timings"} <= set(info)
    assert info["seeds"] == [0]
    assert info["arguments"]["measures"] == MEASURES
    assert {"torch", "numpy", "simgrad"} <= set(info["versions"])


def test_scores_are_the_optimizer_trajectories(small):
    data, _, res = small
    ds = sg.datasets.from_file(data)
    for m in MEASURES:
        traj = sg.optimize(ds, m, seed=0, max_iter=40, target=0.99, lr=0.1)
        got = res.scores[res.scores["measure"] == sg.measure(m).name]
        np.testing.assert_array_equal(got["iteration"], np.arange(len(traj.scores)))
        np.testing.assert_allclose(got["score"], traj.scores, rtol=0, atol=1e-12)
        # the recorded score is the measure's value of Y_0 ~ N(0, 1): in a plausible range
        assert 0 <= got["score"].iloc[0] < 0.5


def test_pc_variance_ratios_match_sklearn(small):
    data, _, res = small
    ds = sg.datasets.from_file(data)
    evr = PCA().fit(ds.flat()).explained_variance_ratio_
    for m, g in res.pc_capture.groupby("measure"):
        np.testing.assert_allclose(g["explained_variance_ratio"], evr[: len(g)], atol=1e-10)
        assert list(g["pc"]) == list(range(1, len(g) + 1))
        s = res.scores[res.scores["measure"] == m]["score"]
        cap = g["capture_score"].dropna()
        assert ((cap >= s.min() - 1e-12) & (cap <= s.max() + 1e-12)).all()
    # procrustes captures more PCs than CKA by the same score (the paper's message)
    n = res.summary.set_index("measure")["pcs_captured"]
    assert n["procrustes-angular_score"] >= n["cka-kernel=linear-hsic=gretton-score"]


def _sklearn_reference_accuracy(ds, label: str, seed: int) -> float:
    y = ds.labels[label]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    accs = []
    for t in range(ds.shape[0]):
        X = ds.data[t]
        fold_acc = []
        for tr, te in folds.split(X, y):
            clf = LogisticRegression(C=1.0, max_iter=2000).fit(X[tr], y[tr])
            fold_acc.append(np.mean(clf.predict(X[te]) == y[te]))
        accs.append(np.mean(fold_acc))
    return float(np.mean(accs))


def test_thresholds_match_independent_computations(small):
    data, _, res = small
    ds = sg.datasets.from_file(data)
    thr, dec = res.thresholds, res.decoding
    assert set(thr["label"]) == {"context", "choice"}
    for _, r in thr.iterrows():
        y = ds.labels[r["label"]]
        _, counts = np.unique(y, return_counts=True)
        assert r["chance"] == pytest.approx(counts.max() / counts.sum())
        assert r["threshold_accuracy"] == pytest.approx(
            r["chance"] + 0.9 * (r["reference_accuracy"] - r["chance"])
        )
        # first crossing of the decoded accuracy curve, written out here
        d = dec[(dec["measure"] == r["measure"]) & (dec["label"] == r["label"])]
        d = d.sort_values("iteration")
        acc, sc = d["accuracy"].to_numpy(), d["score"].to_numpy()
        hit = np.flatnonzero(acc >= r["threshold_accuracy"])
        if hit.size == 0:
            assert pd.isna(r["threshold_score"])
        elif hit[0] == 0:
            assert r["threshold_score"] == pytest.approx(sc[0])
        else:
            j = hit[0]
            f = (r["threshold_accuracy"] - acc[j - 1]) / (acc[j] - acc[j - 1])
            assert r["threshold_score"] == pytest.approx(sc[j - 1] + f * (sc[j] - sc[j - 1]))
    # the reference accuracy is scikit-learn's cross-validated logistic regression
    for label in ("context", "choice"):
        ref = thr[thr["label"] == label]["reference_accuracy"].iloc[0]
        assert ref == pytest.approx(_sklearn_reference_accuracy(ds, label, 0), abs=0.02)
    # decoding starts near chance at the random initialization
    first = dec[dec["iteration"] == 0]
    assert (first["accuracy"] < 0.8).all()


def test_report_is_offline_and_self_contained(small):
    _, out, _ = small
    html = (out / "report.html").read_text()
    assert "<script src" not in html and "<link" not in html
    # the only code is plotly.js, inlined at the end (its source names URLs it never
    # requests offline: tests/test_report_browser.py watches the requests)
    page = html.split("<script>", 1)[0]
    for bad in ("http://", "https://", "@import", "url("):
        assert bad not in page, bad
    assert page.count('src="data:image/png;base64,') == 5


def test_decodable_labels_skip_continuous_ones():
    ds = sg.datasets.load("context", n_units=10, n_time=3)
    assert decodable_labels(ds) == ["context", "motion", "colour", "choice"]
    with pytest.raises(ValueError, match="labels: 'nope' not in"):
        decodable_labels(ds, ["nope"])


# ----------------------------------------------------------------------------- resume
def _files(out: Path) -> dict[str, bytes]:
    return {f: (out / f).read_bytes() for f in FILES}


def _json_wo_timings(out: Path) -> dict:
    info = json.loads((out / "run.json").read_text())
    info.pop("timings")
    info["arguments"].pop("out")
    return info


def test_rerun_loads_checkpoints_and_rewrites_identical_files(small, tmp_path):
    data, out, _ = small
    before = _files(out)
    sg.run(**run_kwargs(data, out))
    assert _files(out) == before
    info = json.loads((out / "run.json").read_text())
    assert all(u["resumed"] for u in info["timings"]["units"])


def test_sigkill_midway_then_resume_gives_the_same_files(small, tmp_path):
    """Both runs go through the command in a fresh process with the same thread count (torch
    reductions, hence the last digits, depend on it)."""
    data = small[0]

    def args(out: Path) -> list[str]:
        return _cli(
            "run",
            "--data",
            str(data),
            "--measures",
            ",".join(MEASURES),
            *SMALL,
            "--out",
            str(out),
            "--quiet",
        )

    ref_out, out = tmp_path / "uninterrupted", tmp_path / "killed"
    p = subprocess.run(args(ref_out), env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    proc = subprocess.Popen(
        args(out), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    ck = out / ".checkpoints"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if ck.is_dir() and any(p.suffix == ".npz" for p in ck.iterdir()):
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = [p for p in ck.iterdir() if p.suffix == ".npz"]
    assert len(done) == 1 and not (out / "results").exists()  # killed midway
    p = subprocess.run(args(out), env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert _files(out) == _files(ref_out)
    assert _json_wo_timings(out) == _json_wo_timings(ref_out)
    units = json.loads((out / "run.json").read_text())["timings"]["units"]
    assert [u["resumed"] for u in units] == [True, False]


# ----------------------------------------------------------------------------- compute / write
def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _tiny(data: Path, out: Path, **kw) -> RunOptions:
    opts = dict(data=data, measures=["cka"], max_iter=15, labels=["context"], out=out)
    return RunOptions.create(**{**opts, **kw})


def test_compute_writes_nothing_but_checkpoints(small, tmp_path):
    res = compute(_tiny(small[0], tmp_path / "o"), progress=False)
    files = _tree(tmp_path / "o")
    assert len(files) == 1 and all(f.startswith(".checkpoints/") for f in files), files
    assert list(res.scores.columns) == TABLE_COLUMNS["scores"]
    assert res.info["measures"] == ["cka-kernel=linear-hsic=gretton-score"]
    assert res.info["arguments"]["measures"] == ["cka"] and res.options.max_iter == 15
    assert len(res.summary) == 1 and len(res.thresholds) == 1


def test_write_run_without_figures_or_html_writes_tables_and_run_json(small, tmp_path):
    res = compute(_tiny(small[0], tmp_path / "o"), progress=False)
    log = io.StringIO()
    written = write_run(res, tmp_path / "w", figures=False, html=False, progress=log)
    out = written.out
    assert out == tmp_path / "w" and log.getvalue().startswith("wrote tables  [")
    assert _tree(out) == {f"results/{n}.csv" for n in [*TABLE_COLUMNS, "chance"]} | {"run.json"}
    info = json.loads((out / "run.json").read_text())
    assert info["arguments"]["out"] == str(out) and "csv_s" in info["timings"]
    assert written.info == info  # the result carries what run.json holds
    assert "total_s" not in res.info["timings"]  # the computed result is left as it was
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "results" / "scores.csv"), res.scores, check_dtype=False
    )
    # the full write adds exactly the figures and the report
    write_run(res, tmp_path / "full")
    extra = _tree(tmp_path / "full") - _tree(out)
    assert extra == {f for f in FILES if not f.startswith("results/")}


def test_progress_without_a_terminal_has_no_bars(small, tmp_path):
    log = io.StringIO()
    compute(_tiny(small[0], tmp_path / "a"), progress=log)
    text = log.getvalue()
    assert "\r" not in text and "it/s" not in text
    lines = text.splitlines()  # one line per stage, nothing else
    starts = ["simgrad run: ", "[1/1] cka · seed 0", "  optimized: ", "  decoded ", "  PC cap"]
    assert len(lines) == len(starts) and all(map(str.startswith, lines, starts)), lines


def test_progress_on_a_terminal_shows_a_bar(small, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Terminal()
    compute(_tiny(small[0], tmp_path / "b"), progress=tty)
    assert "\r" in tty.getvalue() and "score" in tty.getvalue()


def test_every_decoded_iterate_when_the_budget_is_off(small, tmp_path):
    """decode_iterates=0: every recorded iterate, each label, same numbers as decoding them
    all at once with sg.analysis."""
    data = small[0]
    res = compute(_tiny(data, tmp_path / "o", decode_iterates=0), progress=False)
    ds = sg.datasets.from_file(data)
    traj = sg.optimize(ds, "cka", seed=0, max_iter=15, target=0.99, lr=0.1, record="auto")
    along = sg.analysis.decode_iterates(traj.recorded, {"context": ds.labels["context"]}, seed=0)
    np.testing.assert_array_equal(res.decoding["iteration"], traj.recorded_iterations)
    np.testing.assert_array_equal(res.decoding["accuracy"], along.accuracy["context"])


def test_run_signature_is_the_options_fields():
    params = list(inspect.signature(sg.run).parameters)
    fields = [f.name for f in dataclasses.fields(RunOptions)]
    assert params == [*fields, "config", "progress"]
    with pytest.raises(TypeError, match="unknown option"):
        sg.run(max_iters=3)


def test_decode_trajectory_budget(small):
    """The budget: the first and last recorded iterates, at most ``budget`` per label, and
    the threshold is the first crossing over the decoded iterates."""
    ds = sg.datasets.from_file(small[0])
    traj = sg.optimize(ds, "cka", seed=0, max_iter=40, target=0.99, lr=0.1, record="auto")
    k = len(traj.recorded_iterations)
    lab = {"context": ds.labels["context"]}
    along, ref, thr = sg.analysis.decode_trajectory(traj, ds, lab, budget=6, seed=0)
    idx, acc = along.iterates["context"], along.accuracy["context"]
    assert k > 6 and 2 <= len(idx) <= 6 and idx[0] == 0 and idx[-1] == k - 1
    assert list(idx) == sorted(set(idx)) and len(acc) == len(idx)
    t = thr["context"]
    assert t["threshold_accuracy"] == pytest.approx(
        t["chance"] + 0.9 * (ref.accuracy["context"] - t["chance"])
    )
    scores = np.asarray(traj.recorded_scores)[idx]
    assert t["threshold_score"] == sg.analysis.first_crossing(scores, acc, t["threshold_accuracy"])
    # budget None / 0 / covering every iterate: all of them, per-time accuracies kept
    for b in (None, 0, k):
        full, _, _ = sg.analysis.decode_trajectory(traj, ds, lab, budget=b, seed=0)
        assert list(full.iterates["context"]) == list(range(k))
        assert full.per_time["context"].shape == (k, ds.shape[0])
    with pytest.raises(ValueError, match="budget"):
        sg.analysis.decode_trajectory(traj, ds, lab, budget=-1)
