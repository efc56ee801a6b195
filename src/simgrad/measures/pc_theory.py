"""The ``theory`` hook's type: how a similarity responds to one principal component.

Flatten ``X`` to ``(n, p)``, centre it, ``X̃ = Σ_k s_k u_k v_kᵀ``, ``λ_k = s_k²`` (descending,
non-zero). Scaling PC ``i`` by ``a`` gives ``Y = X̃ + (a − 1) s_i u_i v_iᵀ``. A family with a
closed form for its similarity ``s(X̃, Y)`` in this model returns a :class:`PCTheory` from its
``theory`` hook (see :class:`~simgrad.measures.registry.Hooks`); ``sg.theory`` (the driver,
``simgrad.analysis.theory``) applies the output form and checks the arguments.

>>> import numpy as np
>>> nbs_like = PCTheory(
...     weights=lambda lam: lam,
...     perturbed=lambda lam, i, a: (lam.sum() - lam[i] + abs(a) * lam[i],
...                                  np.sqrt(lam.sum() * (lam.sum() - lam[i] + a**2 * lam[i]))),
...     leading=lambda lam, i, eps: 0.5 * (lam[i] / lam.sum()) * (1 - lam[i] / lam.sum()) * eps**2,
... )
>>> num, den = nbs_like.perturbed(np.array([9.0, 4.0, 1.0]), 0, 0.0)
>>> round(float(num / den), 6)   # sqrt(1 − 9/14)
0.597614
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["PCTheory"]


@dataclass(frozen=True)
class PCTheory:
    """Closed forms of a similarity under the principal-component model (module docstring).

    - ``perturbed(lam, i, a) -> (num, den)``: ``s(X̃, Y) = num / den`` with PC ``i`` (an
      index array) scaled by ``a``; ``den`` is 0 exactly when ``Y`` is all zero.
    - ``weights(lam) -> w``: the top-``k`` reconstruction of ``X̃`` has
      ``s = sqrt(Σ_{j<k} w_j / Σ_j w_j)`` (CKA: ``λ²``, NBS: ``λ``).
    - ``leading(lam, i, eps) -> δ``: ``1 − s ≈ δ`` at ``a = 1 + eps`` to leading order
      (second order in ``eps``; the driver derives the angular score's first-order term).
    """

    perturbed: Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
    weights: Callable[[np.ndarray], np.ndarray]
    leading: Callable[[np.ndarray, int, float], float]
