"""simgrad.streaming: minibatch accumulation equals the full-batch measures, holds no samples,
and keeps memory flat; peak memory of full-batch CKA on 50 000 samples stays small."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.streaming import StreamingSimilarity, stream_score, streamable


@pytest.fixture(autouse=True)
def _one_thread():
    """Small matrices: one thread avoids OpenMP hand-off costs on a shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _data(n=5000, p=30, q=25, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, size=p) + 5.0  # offsets: shift matters
    k = min(p, 20)
    y = x[:, :k] @ rng.normal(size=(k, q)) + 2 * rng.normal(size=(n, q)) - 40.0
    return x, y


STREAMABLE = [
    "cka",
    "cka-hsic_song",
    "cka-lange",
    "cka-angular_score",
    "ensd",
    "nbs",
    "procrustes-angular_score",
    "procrustes-distance=euclidean",
    "bures_distance",
    "shape_metric-alpha=0.5-score",
    "cca",
    "cca-squared_score",
    "linreg",
    "ridge-lambda=100-pearsonr",
    "linear_regression-r2-sym",
]


def test_minibatches_of_512_equal_the_full_computation():
    x, y = _data()
    acc = StreamingSimilarity(STREAMABLE)
    for s in range(0, len(x), 512):  # 9 full batches and a ragged one of 392
        acc.update(x[s : s + 512], y[s : s + 512])
    got = acc.compute()
    assert acc.n_samples == len(x)
    for name in STREAMABLE:
        full = sg.score(name, x, y)
        tol = 1e-10 * max(1.0, abs(full))  # the Euclidean distance is in data units (~1e3)
        assert abs(got[name] - full) < tol, (name, got[name], full)


def test_unbiased_hsic_against_written_out_song_formula():
    x, y = _data(n=300, p=6, q=4, seed=1)
    k, l = x @ x.T, y @ y.T
    n = len(x)
    kt, lt = k - np.diag(np.diag(k)), l - np.diag(np.diag(l))
    one = np.ones(n)

    def hsic(a, b):
        return (
            np.trace(a @ b)
            + (one @ a @ one) * (one @ b @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ a @ b @ one
        ) / (n * (n - 3))

    ref = hsic(kt, lt) / np.sqrt(hsic(kt, kt) * hsic(lt, lt))
    got = stream_score("cka-hsic_song", zip(np.array_split(x, 7), np.array_split(y, 7)))
    assert abs(got - ref) < 1e-10


def test_averaging_batch_cka_would_be_biased():
    """The point of accumulating: the mean of per-batch biased CKA is inflated."""
    x, y = _data(n=2048, p=40, q=40, seed=2)
    streamed = stream_score("cka", zip(np.split(x, 32), np.split(y, 32)))
    averaged = np.mean([sg.score("cka", a, b) for a, b in zip(np.split(x, 32), np.split(y, 32))])
    assert abs(streamed - sg.score("cka", x, y)) < 1e-10
    assert averaged > streamed + 0.05


def test_accumulator_keeps_no_batch():
    """Each batch can be freed as soon as update() returns: at most one is alive."""
    x, y = _data(n=4096, p=20, q=10, seed=3)
    refs: list[weakref.ref] = []

    def batches():
        for s in range(0, len(x), 512):
            gc.collect()
            alive = sum(r() is not None for r in refs)
            assert alive == 0, f"{alive} earlier batch(es) still referenced"
            bx = torch.as_tensor(x[s : s + 512]).clone()
            by = torch.as_tensor(y[s : s + 512]).clone()
            refs.extend([weakref.ref(bx), weakref.ref(by)])
            yield bx, by
            del bx, by  # the generator's own references

    acc = StreamingSimilarity(["cka-hsic_song", "nbs"])
    held = []
    for bx, by in batches():
        acc.update(bx, by)
        held.append(acc.nbytes)
        del bx, by
    res = acc.compute()
    # only width-sized sums are kept: the state does not grow with the samples seen, and it is
    # smaller than one batch of 512 × (20 + 10) float64 values
    assert len(set(held)) == 1 and 0 < held[0] < 512 * 30 * 8, held
    assert abs(res["nbs"] - sg.score("nbs", x, y)) < 1e-10


def test_two_iterables_and_a_dataloader():
    x, y = _data(n=1000, p=8, q=5, seed=4)
    xs = torch.utils.data.DataLoader(torch.as_tensor(x), batch_size=128)
    ys = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(y)), batch_size=128
    )
    got = stream_score(["cka-lange", "cca"], xs, ys)
    assert abs(got["cka-lange"] - sg.score("cka-lange", x, y)) < 1e-10
    assert abs(got["cca"] - sg.score("cca", x, y)) < 1e-10
    paired = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=100
    )
    assert abs(stream_score("nbs", paired) - sg.score("nbs", x, y)) < 1e-10


def test_float32_batches_accumulate_in_float64():
    x, y = _data(n=3000, p=10, q=10, seed=5)
    got = stream_score(
        "cka", zip(torch.as_tensor(x).float().split(256), torch.as_tensor(y).float().split(256))
    )
    ref = sg.score("cka", torch.as_tensor(x).float().double(), torch.as_tensor(y).float().double())
    assert abs(got - ref) < 1e-10


def test_errors_name_the_problem():
    assert not streamable("rsa-rdm=correlation-compare=spearman-score")  # ranks need samples
    with pytest.raises(ValueError, match="cannot be streamed"):
        StreamingSimilarity(["cka-kernel=(rbf-sigma=1)-hsic=gretton-score"])
    with pytest.raises(ValueError, match="Unknown measure"):
        StreamingSimilarity(["ckka"])
    acc = StreamingSimilarity("cka")
    with pytest.raises(ValueError, match="same samples"):
        acc.update(np.ones((4, 2)), np.ones((5, 2)))
    acc.update(np.random.default_rng(0).normal(size=(3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="Unit counts changed"):
        acc.update(np.ones((3, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        acc.update(np.full((3, 2), np.nan), np.ones((3, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        StreamingSimilarity("cka").compute()
    with pytest.raises(ValueError, match="ran out"):
        stream_score("cka", [np.ones((3, 2))] * 2, [np.ones((3, 2))] * 3)
    with pytest.raises(TypeError, match="pair"):
        stream_score("cka", [np.ones((3, 2))])


_PEAK_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np, torch
    import simgrad as sg
    from simgrad.streaming import StreamingSimilarity

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    # safety net: refuse any allocation that would need > 3 GB more address space
    with open("/proc/self/statm") as f:
        vm = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + 3 * 2**30, resource.RLIM_INFINITY))
    torch.set_num_threads(1)
    mode = sys.argv[1]
    n, d = 50_000, 100
    if mode == "score":
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, d)); Y = X[:, :50] @ rng.standard_normal((50, d))
        sg.score("cka", X[:100], Y[:100])  # warm-up: lazy imports, allocator pools
        before = rss_mb()
        base_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        value = sg.score("cka", X, Y)
    else:
        def batches():
            rng = np.random.default_rng(0)
            for _ in range(n // 500):
                x = rng.standard_normal((500, d))
                yield x, x[:, :50] @ np.ones((50, d))
        acc = StreamingSimilarity(["cka", "cka-hsic_song", "nbs"])
        acc.update(*next(batches())); acc.reset()
        before = rss_mb()
        base_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for x, y in batches():
            acc.update(x, y)
        value = acc.compute()["cka"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"extra_mb": peak - max(before, base_peak), "value": value,
                      "baseline_mb": before}))
    """
)


@pytest.mark.parametrize("mode", ["score", "stream"])
def test_peak_memory_of_cka_on_50000_samples(mode, tmp_path):
    """No n×n matrix: the extra peak RSS stays far under 200 MB (an n×n float64 would be
    20 GB). Measured in a fresh process as the rise of the peak resident set."""
    script = tmp_path / "peak.py"
    script.write_text(_PEAK_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert 0 < res["value"] <= 1
    assert res["extra_mb"] < 200, res


def test_real_recordings_streamed_over_samples(data_dir):
    f = np.load(data_dir / "hatsopoulos2007_m1_condavg" / "hatsopoulos2007_condavg.npz")
    rates = f["firing_rate_hz"].transpose(1, 2, 0).reshape(-1, 141)  # (time·condition, unit)
    x, y = rates[:, :70], rates[:, 70:]
    names = ["cka", "cka-hsic_song", "nbs", "cca", "linreg"]
    got = stream_score(names, zip(np.array_split(x, 9), np.array_split(y, 9)))
    for name in names:
        assert abs(got[name] - sg.score(name, x, y)) < 1e-10, name


def test_docstring_examples_run():
    import doctest

    import simgrad.streaming

    res = doctest.testmod(simgrad.streaming)
    assert res.attempted > 5 and res.failed == 0
