"""Speed of the similarity-repository names of issue 16 (part 1) against their unavoidable work.

Each new family is timed (forward, and forward + backward where differentiable) next to a
baseline measured in the same run, interleaved, and the ratio of the best (minimum) times is
printed — the statistic least disturbed by other load on a shared machine:

- the derived forms (``distance=euclidean``, ``squared_euclidean``, ``one_minus_score``,
  ``score-negative_log``, ``mean_cca_corr``, ``ensd-distance=angular_normalized``): against
  the family's own ``score`` (the extra work is two centred norms; target ≈ 1×);
- CKA with the Laplace kernel: against forming the two n×n distance matrices, and against
  RBF CKA (the same median-bandwidth kernel pipeline; the median's ``kthvalue`` over the
  n(n−1)/2 distances dominates both);
- cross-validated alignment (``...-distance=angular-cv=5folds``): against 5 in-sample fits
  of the same measure on the full data (each fold needs its training Grams and an SVD);
- SVCCA Euclidean: against the SVCCA score (same PCA and whitening);
- ``kernel_ridge``: against one n×n solve with p right-hand sides (the dual's core) and
  scikit-learn's ``KernelRidge`` (peer);
- ``ridge-pearsonr-cv=5folds``: against scikit-learn's ``RidgeCV`` over the same folds;
- ``pls``: against scikit-learn's ``PLSRegression`` fit + predict (peer, NIPALS).

Usage::

    python benchmarks/bench_names.py                    # n = 1000, p = 64, q = 48
    python benchmarks/bench_names.py --n 2000 --p 128 --q 96 --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

import simgrad as sg


def _best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _fwd(name: str, X, Y) -> Callable[[], object]:
    m = sg.measure(name)
    return lambda: m(X, Y)


def _fwd_bwd(name: str, X, Y) -> Callable[[], object]:
    m = sg.measure(name)

    def run():
        y = Y.clone().requires_grad_()
        m(X, y).backward()

    return run


def _folds(n: int, k: int = 5):
    return np.array_split(np.random.default_rng(0).permutation(n), k)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--p", type=int, default=64)
    ap.add_argument("--q", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    Xn = rng.normal(size=(a.n, a.p))
    Yn = Xn[:, : a.q] @ rng.normal(size=(a.q, a.q)) + rng.normal(size=(a.n, a.q))
    X, Y = torch.tensor(Xn), torch.tensor(Yn)
    rows: list[tuple[str, str, float, float]] = []

    def row(label, fn, base_label, base, grad=None, base_grad=None):
        t, b = _best(fn, a.repeats), _best(base, a.repeats)
        rows.append((label, base_label, t, t / b))
        if grad is not None:
            tg, bg = _best(grad, a.repeats), _best(base_grad, a.repeats)
            rows.append((label + " (fwd+bwd)", base_label + " (fwd+bwd)", tg, tg / bg))

    cka = "cka-kernel=linear-hsic=gretton-"
    for form in ("distance=euclidean", "distance=one_minus_score", "score-negative_log"):
        row(cka + form, _fwd(cka + form, X, Y), "cka score", _fwd(cka + "score", X, Y),
            _fwd_bwd(cka + form, X, Y), _fwd_bwd(cka + "score", X, Y))  # fmt: skip
    row("nbs-distance=euclidean", _fwd("nbs-distance=euclidean", X, Y), "nbs score",
        _fwd("nbs", X, Y))  # fmt: skip
    row("cca-distance=euclidean", _fwd("cca-distance=euclidean", X, Y), "cca score",
        _fwd("cca-score", X, Y))  # fmt: skip
    row("mean_cca_corr-score", _fwd("mean_cca_corr-score", X, Y), "cca score",
        _fwd("cca-score", X, Y))  # fmt: skip
    row("ensd-distance=angular_normalized", _fwd("ensd-distance=angular_normalized", X, Y),
        "ensd", _fwd("ensd", X, Y))  # fmt: skip
    row("svcca-var=0.99-distance=euclidean", _fwd("svcca-var=0.99-distance=euclidean", X, Y),
        "svcca score", _fwd("svcca-var=0.99-score", X, Y))  # fmt: skip

    lap = "cka-kernel=(laplace-sigma=1)-hsic=gretton-score"
    rbf = "cka-kernel=(rbf-sigma=1)-hsic=gretton-score"
    row(lap, _fwd(lap, X, Y), "two n×n cdist", lambda: (torch.cdist(X, X), torch.cdist(Y, Y)),
        _fwd_bwd(lap, X, Y), lambda: (torch.cdist(X, X), torch.cdist(Y, Y)))  # fmt: skip
    # the same kernel pipeline with exp(−d²/2σ²): median bandwidth, centring, HSIC
    row(lap, _fwd(lap, X, Y), "RBF CKA (same pipeline)", _fwd(rbf, X, Y),
        _fwd_bwd(lap, X, Y), _fwd_bwd(rbf, X, Y))  # fmt: skip

    for fam in ("procrustes", "cca"):
        cv = f"{fam}-distance=angular-cv=5folds"
        ins = _fwd(f"{fam}-distance=angular", X, Y)
        row(cv, _fwd(cv, X, Y), f"5 × in-sample {fam}", lambda ins=ins: [ins() for _ in range(5)],
            _fwd_bwd(cv, X, Y), lambda f=fam: [_fwd_bwd(f"{f}-distance=angular", X, Y)()
                                              for _ in range(5)])  # fmt: skip

    eye = torch.eye(a.n, dtype=X.dtype)
    row("kernel_ridge-lambda=1-r2", _fwd("kernel_ridge-lambda=1-r2", X, Y),
        "n×n solve", lambda: torch.linalg.solve(Y @ Y.T + eye, X))  # fmt: skip
    try:
        from sklearn.cross_decomposition import PLSRegression
        from sklearn.kernel_ridge import KernelRidge
        from sklearn.linear_model import RidgeCV
    except ImportError:
        print("scikit-learn not installed: peer rows skipped")
    else:

        def kr_peer():
            return KernelRidge(alpha=1.0).fit(Yn, Xn).predict(Yn)

        row("kernel_ridge-lambda=1-r2", _fwd("kernel_ridge-lambda=1-r2", X, Y),
            "sklearn KernelRidge", kr_peer)  # fmt: skip

        def ridgecv_peer():
            for test in _folds(a.n):
                train = np.setdiff1d(np.arange(a.n), test)
                RidgeCV(alphas=np.logspace(-8, 8, 17)).fit(Yn[train], Xn[train]).predict(Yn[test])

        row("ridge-pearsonr-cv=5folds", _fwd("ridge-pearsonr-cv=5folds", X, Y),
            "sklearn RidgeCV × 5 folds", ridgecv_peer)  # fmt: skip
        for k in (5, min(25, a.q)):
            name = f"pls-pearsonr-components={k}"

            def pls_peer(k=k):
                return PLSRegression(k, scale=False).fit(Yn, Xn).predict(Yn)

            row(name, _fwd(name, X, Y), f"sklearn PLSRegression({k})", pls_peer,
                _fwd_bwd(name, X, Y), pls_peer)  # fmt: skip

    print(f"n = {a.n}, p = {a.p}, q = {a.q}, float64, {a.threads} thread(s), best of {a.repeats}")
    print(f"{'measure':52s} {'baseline':34s} {'time':>9s} {'ratio':>7s}")
    for label, base, t, r in rows:
        print(f"{label:52s} {base:34s} {t * 1e3:8.1f}ms {r:6.2f}×")


if __name__ == "__main__":
    main()
