"""The captions of the run report's figures (``report.html``), keyed like ``figures/*.png``.

Placeholders ``{lr}`` and ``{target}`` are filled from the run's options by
:func:`caption`.

>>> caption("spectrum", lr=0.1, target=0.99).startswith("Explained-variance ratio")
True
"""

from __future__ import annotations

__all__ = ["CAPTIONS", "caption"]

CAPTIONS = {
    "scores": "Score of the synthetic data against the reference at each iteration, one line "
    "per measure and seed (Adam, lr {lr:g}, Y₀ ~ N(0, 1); stops at score {target:g}).",
    "decoding": "Decoding accuracy of each label from the synthetic data against the score it "
    "reached (5-fold cross-validated logistic regression per time bin). Black dashed: the "
    "same decoder on the reference; grey dashed: chance. Dots below the axis: the score at "
    "which accuracy first reaches 90% of the way from chance to the reference (threshold "
    "score); runs that never reach it have no dot.",
    "pc_r2": "Fraction of each reference principal component's variance captured by a linear "
    "read-out of the synthetic data (R²), against score; one curve per PC, coloured by the "
    "PC's explained-variance ratio (plasma, log scale).",
    "capture": "Score needed to capture each principal component (R² half-way from its initial "
    "value to 1) against the PC's explained-variance ratio. Dots: measured; lines: the "
    "spectrum-only theory (top-k reconstruction, sg.theory) where a closed form exists.",
    "spectrum": "Explained-variance ratio of the reference's principal components (log scale) "
    "and their cumulative sum (grey).",
}


def caption(key: str, *, lr: float, target: float) -> str:
    """The caption of figure ``key`` for a run with step size ``lr`` and ``target``."""
    return CAPTIONS[key].format(lr=lr, target=target)
