"""Decoding along trajectories: batched torch solver vs scikit-learn, CV schemes, thresholds."""

from __future__ import annotations

import numpy as np
import pytest

import simgrad as sg
from simgrad.analysis import (
    chance_level,
    decode,
    decode_iterates,
    decoding_thresholds,
    first_crossing,
    make_folds,
)
from simgrad.analysis._logreg import fit_predict, orthogonal_features


def test_solver_matches_sklearn_objective(rng):
    """Decision functions of the batched solver equal sklearn's converged fit (binary, 3-class)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    for K in (2, 3):
        X = rng.normal(size=(4, 30, 12)) * 3
        y = rng.integers(0, K, size=(4, 30))
        Xte = rng.normal(size=(4, 7, 12)) * 3
        w = torch.ones(4, 30, dtype=torch.float64)
        F, Fte = orthogonal_features(torch.as_tensor(X), w, torch.as_tensor(Xte))
        Y = torch.nn.functional.one_hot(torch.as_tensor(y), K).double()
        Y = Y[..., 1:] if K == 2 else Y
        out = fit_predict(F, Y, w, Fte, tol=1e-10, max_newton=100, max_cg=100).numpy()
        for b in range(4):
            clf = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(X[b], y[b])
            ref = clf.decision_function(Xte[b])
            mine = out[b, :, 0] if K == 2 else out[b] - out[b].mean(-1, keepdims=True)
            ref = ref if K == 2 else ref - ref.mean(-1, keepdims=True)
            assert np.allclose(mine, ref, atol=1e-4 * np.abs(ref).max())


def test_padding_weights_are_exact(rng):
    """A padded (weight-0) sample does not change the fit."""
    import torch

    X = torch.as_tensor(rng.normal(size=(1, 20, 5)))
    y = torch.as_tensor(rng.integers(0, 2, size=(1, 20, 1))).double()
    w = torch.ones(1, 20, dtype=torch.float64)
    w[0, -3:] = 0
    Xte = torch.as_tensor(rng.normal(size=(1, 4, 5)))
    F, Fte = orthogonal_features(X, w, Xte)
    a = fit_predict(F, y, w, Fte, tol=1e-10)
    F2, Fte2 = orthogonal_features(X[:, :17], w[:, :17], Xte)
    b = fit_predict(F2, y[:, :17], w[:, :17], Fte2, tol=1e-10)
    assert torch.allclose(a, b, atol=1e-8)


@pytest.mark.parametrize("n,d,scale", [(30, 12, 3.0), (40, 100, 1.0), (40, 100, 30.0)])
def test_kernel_solver_matches_sklearn(rng, n, d, scale):
    """Binary kernel-form Newton = sklearn's converged decision function, including unscaled
    (nearly separable) data where the line search must extend the Newton step. (At scale
    300 lbfgs itself stops ~1e-3 short; the primal-vs-kernel test covers that scale.)"""
    import torch
    from sklearn.linear_model import LogisticRegression

    from simgrad.analysis._logreg import fit_predict_kernel

    X = rng.normal(size=(3, n, d)) * scale + 5 * scale
    y = rng.integers(0, 2, size=(3, n))
    Xte = rng.normal(size=(3, 7, d)) * scale + 5 * scale
    mu = X.mean(1, keepdims=True)
    Xc, Xtc = torch.as_tensor(X - mu), torch.as_tensor(Xte - mu)
    out = fit_predict_kernel(
        Xc @ Xc.mT,
        torch.as_tensor(y).double(),
        torch.ones(3, n, dtype=torch.float64),
        Xtc @ Xc.mT,
        tol=1e-10,
    )
    for b in range(3):  # sklearn on centred data: the same optimum (free intercept), but
        # lbfgs stalls ~1e-2 short on the raw offset data
        clf = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(X[b] - mu[b], y[b])
        ref = clf.decision_function(Xte[b] - mu[b])
        assert np.allclose(out[b].numpy(), ref, atol=1e-4 * np.abs(ref).max())


def test_fold_grams_and_padding_are_exact(rng):
    """Fold Grams from one Gram equal the centred products written out; a padded
    (weight-0) training row changes nothing."""
    import torch

    from simgrad.analysis._logreg import centered_fold_grams, fit_predict_kernel

    X = torch.as_tensor(rng.normal(size=(2, 20, 30)) + 4)
    tr = torch.tensor([list(range(12)) + [0], list(range(5, 18))])
    w = torch.ones(2, 13, dtype=torch.float64)
    w[0, -1] = 0
    te = torch.tensor([[12, 13, 14], [0, 1, 2]])
    K, Kte = centered_fold_grams(X @ X.mT, tr, w, te)
    y = torch.as_tensor(rng.integers(0, 2, size=20)).double()
    for p in range(2):
        for f in range(2):
            m = int(w[f].sum())
            xtr = X[p, tr[f, :m]]
            mu = xtr.mean(0)
            k, kte = K[2 * p + f], Kte[2 * p + f]
            assert torch.allclose(k[:m, :m], (xtr - mu) @ (xtr - mu).T, atol=1e-10)
            assert torch.allclose(kte[:, :m], (X[p, te[f]] - mu) @ (xtr - mu).T, atol=1e-10)
            assert float(k[m:].abs().sum() + k[:, m:].abs().sum() + kte[:, m:].abs().sum()) == 0
    padded = fit_predict_kernel(K[:1], y[tr[0]][None], w[:1], Kte[:1], tol=1e-10)
    K2, Kte2 = centered_fold_grams(X[:1] @ X[:1].mT, tr[:1, :12], w[:1, :12], te[:1])
    plain = fit_predict_kernel(K2, y[tr[0, :12]][None], w[:1, :12], Kte2, tol=1e-10)
    assert torch.allclose(padded, plain, atol=1e-8)


@pytest.mark.parametrize("scale", [1.0, 300.0])
def test_kernel_and_primal_paths_agree(rng, scale):
    """The two torch solvers give the same decision functions at their default tolerance,
    also on unscaled data (offset 5·scale), where a relative-gradient stop used to leave the
    logits off by units."""
    import torch

    from simgrad.analysis._logreg import fit_predict_kernel

    X = torch.as_tensor(rng.normal(size=(2, 25, 60)) * scale + 5 * scale)
    y = torch.as_tensor(rng.integers(0, 2, size=(2, 25))).double()
    Xte = torch.as_tensor(rng.normal(size=(2, 6, 60)) * scale + 5 * scale)
    w = torch.ones(2, 25, dtype=torch.float64)
    F, Fte = orthogonal_features(X, w, Xte)
    a = fit_predict(F, y[..., None], w, Fte)[..., 0]
    mu = X.mean(1, keepdim=True)
    b = fit_predict_kernel((X - mu) @ (X - mu).mT, y, w, (Xte - mu) @ (X - mu).mT)
    assert torch.allclose(a, b, atol=1e-5 * float(a.abs().max()))


@pytest.mark.parametrize("name", ["park2025-pfc", "hatsopoulos-reach-trials"])
def test_torch_agrees_with_sklearn_on_shared_data(data_dir, name, rng):
    ds = sg.datasets.load(name)
    data = ds.data[::8] if ds.data.ndim == 3 else ds.data  # 3 time steps keep it affordable
    labels = {k: v for k, v in ds.labels.items() if np.unique(v).size <= 8}
    noisy = data + rng.normal(size=data.shape) * data.std()
    its = np.stack([data, noisy]) if data.ndim == 3 else data[None]  # 8-class 2-D fit is slow
    a = decode_iterates(its, labels, seed=0)
    b = decode_iterates(its, labels, seed=0, method="sklearn")
    for k in labels:
        assert a.scheme[k] == b.scheme[k]
        assert np.abs(a.accuracy[k] - b.accuracy[k]).max() <= 0.02, (k, a.accuracy, b.accuracy)
        assert a.accuracy[k][0] > a.chance[k] + 0.1  # the recordings carry the label


def test_condition_averaged_falls_back_to_time_blocks(rng):
    T, C, N = 10, 4, 6
    y = np.arange(C)  # one condition per class: no stratified 5-fold over conditions
    proto = rng.normal(size=(C, N)) * 4
    X = proto[None] + 0.3 * rng.normal(size=(T, C, N))
    scheme, folds, ys = make_folds(y, T, 5, 0)
    assert scheme == "pooled-time-blocks" and ys.size == T * C
    for tr, te in folds:
        t_tr, t_te = set(tr // C), set(te // C)
        assert not t_tr & t_te  # no time bin on both sides
        assert sorted(t_te) == list(range(min(t_te), max(t_te) + 1))  # contiguous block
        assert set(ys[tr]) == set(y)  # every class is trained on
    res = decode(X, {"d": y}, seed=0)
    assert res.scheme["d"] == "pooled-time-blocks" and res.per_time["d"] is None
    assert res.accuracy["d"] == 1.0 and res.chance["d"] == 0.25
    with pytest.raises(ValueError, match="time steps"):
        decode(X[:3], {"d": y})


def test_chance_and_shuffled_labels(rng):
    assert chance_level([0, 0, 0, 1]) == 0.75
    assert chance_level(["a", "b", "c", "a", "b", "c"]) == pytest.approx(1 / 3)
    y = np.repeat([0, 1], 30)
    X = rng.normal(size=(60, 8)) + 2.5 * y[:, None]
    assert decode(X, {"y": y}).accuracy["y"] > 0.9
    shuffled = decode_iterates(rng.normal(size=(6, 60, 8)), {"y": y}, seed=1).accuracy["y"]
    assert abs(shuffled.mean() - 0.5) < 0.12


def test_seeded_and_label_types(rng):
    X = rng.normal(size=(3, 4, 25, 5))
    lab = {"c": np.array([-0.5, 0.15, 0.5, 0.15, -0.5] * 5)}  # float codes are fine
    a = decode_iterates(X, lab, seed=3).accuracy["c"]
    assert np.array_equal(a, decode_iterates(X, lab, seed=3).accuracy["c"])
    assert not np.array_equal(a, decode_iterates(X, lab, seed=4).accuracy["c"])


def test_first_crossing_and_thresholds():
    s = [0.1, 0.3, 0.5, 0.7, 0.9]
    assert first_crossing(s, [0.0, 0.8, 0.2, 0.9, 1.0], 0.4) == pytest.approx(0.1 + 0.2 * 0.5)
    assert first_crossing(s, [0.5, 0.0, 0.0, 0.0, 0.0], 0.4) == 0.1
    assert first_crossing(s, [0.0, 0.1, 0.2, 0.3, 0.35], 0.4) is None
    thr = decoding_thresholds(
        s,
        {"a": np.array([0.5, 0.5, 0.6, 0.8, 0.9]), "b": np.full(5, 0.5)},
        {"a": 0.9, "b": 0.9},
        {"a": 0.5, "b": 0.5},
    )
    assert thr["a"]["threshold_accuracy"] == pytest.approx(0.86)
    assert thr["a"]["threshold_score"] == pytest.approx(0.7 + 0.2 * 0.6)
    assert thr["b"]["threshold_score"] is None


def test_errors(rng):
    X = rng.normal(size=(2, 20, 3))
    y = np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match="one entry per"):
        decode_iterates(X, {"y": y[:-1]})
    with pytest.raises(ValueError, match="single class"):
        decode_iterates(X, {"y": np.zeros(20)})
    with pytest.raises(TypeError, match="labels"):
        decode_iterates(X, [y])
    with pytest.raises(ValueError, match="method"):
        decode_iterates(X, {"y": y}, method="svm")
    with pytest.raises(ValueError, match="NaN"):
        decode_iterates(np.full((1, 20, 3), np.nan), {"y": y})
    with pytest.raises(ValueError, match="n_splits"):
        decode(X[0], {"y": np.array([0] * 18 + [1] * 2)})
    with pytest.raises(ValueError, match="iterates"):
        decode_iterates(rng.normal(size=(20,)), {"y": y})
    with pytest.raises(ValueError, match="fraction"):
        decoding_thresholds([0.1], {"y": [0.5]}, {"y": 0.9}, {"y": 0.5}, fraction=1.5)


def test_grid_line_search_takes_the_lowest_armijo_step():
    """f(t) = (t − 3)² along the grid: the sufficient-decrease steps are t ≤ 6 and the lowest
    value among them is at t = 4 (grid 16, 8, 4, ...); a rising direction takes no step."""
    import torch

    from simgrad.analysis._logreg import LINE_SEARCH_STEPS, _grid_line_search

    steps = torch.tensor(LINE_SEARCH_STEPS, dtype=torch.float64)
    f0 = torch.tensor([9.0, 9.0], dtype=torch.float64)
    slope = torch.tensor([-6.0, 6.0], dtype=torch.float64)
    start = torch.zeros(2, dtype=torch.float64)
    direction = torch.tensor([1.0, -1.0], dtype=torch.float64)

    def objective(t, shift):
        return (t - shift) ** 2

    best_t, best_f = _grid_line_search(f0, slope, steps, objective, (start,), (direction,), 3.0)
    assert best_t.tolist() == [4.0, 0.0]
    assert best_f.tolist() == [1.0, 9.0]


@pytest.mark.parametrize("K", [1, 3])
def test_hessian_products_and_pcg_solve_the_newton_system(rng, K):
    """The Hessian-vector product equals autograd's Hessian of the objective, its diagonal is
    the Hessian's diagonal, and PCG solves the Newton system H d = −g for the gradient g (for
    K classes H is singular along the softmax's shift of the intercepts; g is orthogonal to
    that direction)."""
    import torch

    from simgrad.analysis._logreg import _hessian, _objective_logits, _pcg, _probs

    B, n, r = 2, 15, 4
    F1 = torch.cat([torch.as_tensor(rng.normal(size=(B, n, r))), torch.ones(B, n, 1)], -1)
    y = rng.integers(0, max(K, 2), size=(B, n))
    Y = torch.nn.functional.one_hot(torch.as_tensor(y), max(K, 2)).double()
    Y = Y[..., 1:] if K == 1 else Y
    w = torch.ones(B, n, dtype=torch.float64)
    pen = torch.ones(r + 1, 1, dtype=torch.float64)
    pen[-1] = 0.0
    theta = torch.as_tensor(rng.normal(size=(B, r + 1, K)) * 0.3)
    binary = K == 1
    P = _probs(F1 @ theta, binary)
    hvp, diag = _hessian(F1, F1.pow(2), w.unsqueeze(-1), P, pen, binary)
    for b in range(B):

        def f(t, b=b):
            return _objective_logits(F1[b] @ t, t, Y[b], w[b], pen, binary)

        H = torch.autograd.functional.hessian(f, theta[b]).reshape((r + 1) * K, (r + 1) * K)
        v = torch.as_tensor(rng.normal(size=(B, r + 1, K)))
        torch.testing.assert_close(hvp(v)[b].reshape(-1), H @ v[b].reshape(-1))
        torch.testing.assert_close(diag[b].reshape(-1), H.diagonal())
    g = F1.transpose(-1, -2) @ (w.unsqueeze(-1) * (P - Y)) + pen * theta
    d = _pcg(hvp, diag, g, max_cg=200)
    # PCG stops once the preconditioned residual fell by 1e-10 (squared): ~1e-5 relative
    torch.testing.assert_close(hvp(d), -g, rtol=0, atol=1e-4 * float(g.abs().max()))
