"""The report's figures, drawn from the results tables.

Every function takes pandas DataFrames with the columns of the CSVs in ``results/`` (plus a
``colors`` mapping from measure name to an RGB tuple, see :func:`measure_colors`) and returns
a :class:`matplotlib.figure.Figure`. No pyplot state is touched, so the functions are safe to
call from a library or a worker thread. :func:`png_bytes` renders a figure to PNG bytes that
depend only on the figure's content (no software or date stamp), so reruns give identical
files.

>>> import pandas as pd
>>> scores = pd.DataFrame({"measure": "nbs-score", "seed": 0, "iteration": [0, 1, 2],
...                        "score": [0.1, 0.5, 0.9]})
>>> fig = score_curves(scores, measure_colors(["nbs-score"]))
>>> png_bytes(fig)[:4] == b"\\x89PNG"
True
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, to_hex
from matplotlib.figure import Figure

from ..measures import short_name

__all__ = [
    "PAPER_COLORS",
    "capture_vs_variance",
    "decoding_vs_score",
    "legend_columns",
    "measure_colors",
    "pc_r2_vs_score",
    "png_bytes",
    "region_plot",
    "score_curves",
    "spectrum",
]

# The paper's colours (Cloos et al. 2025, Fig. 3), keyed by canonical measure name.
PAPER_COLORS: dict[str, tuple[float, float, float]] = {
    "cka-kernel=linear-hsic=gretton-score": (0.84, 0.37, 0.37),  # red
    "cka-kernel=linear-hsic=gretton-angular_score": (0.95, 0.62, 0.24),  # orange
    "nbs-score": (0.22, 0.38, 0.74),  # blue
    "procrustes-angular_score": (0.45, 0.72, 0.92),  # light blue
    "ridge-lambda=100-r2-cv=5folds": (0.56, 0.82, 0.45),  # light green
    "ridge-lambda=100-r2-cv=5folds_rows": (0.56, 0.82, 0.45),
    "linear_regression-r2": (0.13, 0.47, 0.24),  # dark green
}

# Colours for measures outside the paper's panel, in order of appearance.
_EXTRA = [
    (0.50, 0.35, 0.70),
    (0.55, 0.40, 0.30),
    (0.85, 0.45, 0.70),
    (0.45, 0.45, 0.45),
    (0.70, 0.70, 0.15),
    (0.10, 0.70, 0.70),
    (0.30, 0.25, 0.55),
    (0.75, 0.25, 0.25),
]

_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}


def measure_colors(measures: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per measure: the paper's for its panel, then a fixed palette in order.

    >>> measure_colors(["cka-kernel=linear-hsic=gretton-score"])
    {'cka-kernel=linear-hsic=gretton-score': (0.84, 0.37, 0.37)}
    """
    out: dict[str, tuple[float, float, float]] = {}
    used = set()
    extra = iter(_EXTRA)
    for m in measures:
        if m in out:
            continue
        c = PAPER_COLORS.get(m)
        if c is None or c in used:
            c = next(extra, None)
            if c is None:  # more measures than colours: cycle through tab20
                c = tuple(colormaps["tab20"](len(out) % 20)[:3])
        out[m] = c
        used.add(c)
    return out


def color_hex(color: Sequence[float]) -> str:
    """``#rrggbb`` for an RGB tuple (for the HTML legend)."""
    return to_hex(color)


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """Render ``fig`` to PNG bytes without software/date metadata (deterministic)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _styled(func):
    """Draw under the report's rc settings, without touching global state."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_RC):
            return func(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#888888")
    ax.grid(True, color="#e9e9e9", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8, color="#888888")


def _legend(ax, measures: Sequence[str], colors: Mapping[str, Sequence[float]], **kw) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[m], lw=2) for m in measures]
    ax.legend(handles, [short_name(m) for m in measures], frameon=False, fontsize=8, **kw)


def _measures_in(df: pd.DataFrame, colors: Mapping[str, object]) -> list[str]:
    present = list(dict.fromkeys(df["measure"]))
    return [m for m in colors if m in present] + [m for m in present if m not in colors]


def _band(g: pd.DataFrame, x: str, y: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max of ``y`` over seeds on the union of their ``x`` (a run that stopped
    early keeps its last value)."""
    grid = np.unique(g[x].to_numpy())
    curves = []
    for _, d in g.groupby("seed", sort=True):
        d = d.sort_values(x)
        xs, ys = d[x].to_numpy(float), d[y].to_numpy(float)
        curves.append(np.interp(grid, xs, ys, left=ys[0], right=ys[-1]))
    c = np.asarray(curves)
    return grid, c.mean(0), c.min(0), c.max(0)


@_styled
def score_curves(
    scores: pd.DataFrame,
    colors: Mapping[str, Sequence[float]],
    *,
    target: float | None = None,
    missed: Sequence[str] = (),
) -> Figure:
    """Score against iteration, coloured by measure: one line per seed, or with several
    seeds the mean and a min–max band. Measures in ``missed`` (canonical names) are dashed
    and marked "(missed)" in the legend; ``target`` is a dotted line."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    _style(ax)
    measures = _measures_in(scores, colors)
    for m in measures:
        d = scores[scores["measure"] == m]
        ls = "--" if m in missed else "-"
        c = colors.get(m, "k")
        if d["seed"].nunique() > 1:
            grid, mean, lo, hi = _band(d, "iteration", "score")
            ax.fill_between(grid, lo, hi, color=c, alpha=0.18, lw=0)
            ax.plot(grid, mean, color=c, lw=1.4, ls=ls)
        else:
            ax.plot(d["iteration"], d["score"], color=c, lw=1.4, alpha=0.9, ls=ls)
    if target is not None:
        ax.axhline(target, color="#777777", ls=":", lw=0.9)
    ax.set_xlabel("iteration")
    ax.set_ylabel("score")
    ax.set_title("Optimization: score vs iteration")
    if measures:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color=colors.get(m, "k"), lw=2, ls="--" if m in missed else "-")
            for m in measures
        ]
        names = [short_name(m) + (" (missed)" if m in missed else "") for m in measures]
        ax.legend(handles, names, loc="lower right", frameon=False, fontsize=8)
    return fig


def legend_columns(names: Sequence[str], width_in: float, fontsize: float = 8) -> int:
    """How many legend columns fit ``names`` across ``width_in`` inches (a handle and
    padding take about 5 characters; a character about 0.6 of the font size).

    >>> legend_columns(["a"] * 6, 10.3), legend_columns(["x" * 40] * 6, 6.0)
    (6, 1)
    """
    if not names:
        return 1
    char = 0.6 * fontsize / 72
    widest = (max(len(n) for n in names) + 5) * char
    return max(1, min(len(names), int(0.95 * width_in // widest)))


def _reference_and_dots(ax, d: pd.DataFrame, t: pd.DataFrame, measures, colors) -> None:
    """The reference and chance lines of one label's panel and, below the axis, one row of
    threshold dots per measure (so dots of different measures never overlap)."""
    ref = float(t["reference_accuracy"].iloc[0])
    chance = float(t["chance"].iloc[0])
    ax.axhline(ref, color="black", ls="--", lw=1, label="reference")
    ax.axhline(chance, color="#999999", ls="--", lw=1, label="chance")
    lo = min(chance, float(d["accuracy"].min()) if len(d) else chance)
    span = max(ref, float(d["accuracy"].max()) if len(d) else ref) - lo
    step = 0.045 * max(span, 0.05)
    y_mark = lo - 0.06 * max(span, 0.05)
    for i, m in enumerate(measures):  # one row of dots per measure: no overlap
        ts = t[(t["measure"] == m)]["threshold_score"].dropna()
        if len(ts):
            ax.scatter(
                ts,
                np.full(len(ts), y_mark - i * step),
                color=colors.get(m, "k"),
                s=28,
                zorder=5,
                clip_on=False,
                edgecolor="white",
                linewidth=0.6,
            )
    ax.set_ylim(y_mark - (len(measures) - 1) * step - 0.04 * max(span, 0.05), None)


@_styled
def decoding_vs_score(
    decoding: pd.DataFrame,
    thresholds: pd.DataFrame,
    colors: Mapping[str, Sequence[float]],
) -> Figure:
    """Decoding accuracy against score, one panel per label.

    Black dashed line: the decoder's accuracy on the reference; grey dashed line: chance.
    A dot below the axis marks each run's threshold score (90 % of the way from chance to the
    reference accuracy); runs that never reached it have no dot.
    """
    labels = list(dict.fromkeys(thresholds["label"])) or list(dict.fromkeys(decoding["label"]))
    n = max(1, len(labels))
    ncol = min(n, 3)
    nrow = int(np.ceil(n / ncol))
    width = 3.3 * ncol + 0.4
    fig = _figure(width, 3.0 * nrow + 0.3 + 0.12 * len(_measures_in(decoding, colors)))
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    measures = _measures_in(decoding, colors)
    smin = float(decoding["score"].min()) if len(decoding) else 0.0
    for ax, label in zip(axes, labels):
        _style(ax)
        d = decoding[decoding["label"] == label]
        t = thresholds[thresholds["label"] == label]
        for m in measures:
            for _, g in d[d["measure"] == m].groupby("seed", sort=True):
                g = g.sort_values("score")
                ax.plot(
                    g["score"],
                    g["accuracy"],
                    color=colors.get(m, "k"),
                    lw=1.2,
                    alpha=0.9,
                    marker="o",
                    ms=2.2,
                )
        if len(t):
            _reference_and_dots(ax, d, t, measures, colors)
        ax.set_xlim(min(smin, 0.0), 1.0)
        ax.set_title(f"label: {label}")
        ax.set_xlabel("score")
        ax.set_ylabel("decoding accuracy")
    for ax in axes[len(labels) :]:
        ax.set_visible(False)
    if measures:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=colors.get(m, "k"), lw=2) for m in measures]
        handles += [
            Line2D([], [], color="black", ls="--", lw=1),
            Line2D([], [], color="#999999", ls="--", lw=1),
            Line2D([], [], color="#555555", marker="o", ls="none", ms=5),
        ]
        names = [short_name(m) for m in measures]
        names += ["reference accuracy", "chance", "threshold score"]
        fig.legend(
            handles,
            names,
            loc="outside lower center",
            ncol=legend_columns(names, width),
            fontsize=8,
        )
    return fig


@_styled
def pc_r2_vs_score(
    pc_r2: pd.DataFrame,
    pc_capture: pd.DataFrame,
    measures: Sequence[str] | None = None,
) -> Figure:
    """R² of each principal component of the reference against score, one panel per measure.

    ``pc_r2`` has columns ``measure, seed, iteration, score, pc, r2``; curves are coloured by
    the PC's explained-variance ratio (plasma, log scale). The first seed of each measure is
    drawn.
    """
    ms = list(measures) if measures is not None else list(dict.fromkeys(pc_r2["measure"]))
    n = max(1, len(ms))
    ncol = min(n, 3)
    nrow = int(np.ceil(n / ncol))
    fig = _figure(3.2 * ncol + 0.9, 2.9 * nrow + 0.3)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    evr = pc_capture.drop_duplicates("pc").set_index("pc")["explained_variance_ratio"]
    pos = evr[evr > 0]
    vmin = float(pos.min()) if len(pos) else 1e-6
    vmax = float(pos.max()) if len(pos) else 1.0
    norm = LogNorm(vmin=vmin, vmax=max(vmax, vmin * 1.0001))
    cmap = colormaps["plasma"]
    flat = axes.ravel()
    for ax, m in zip(flat, ms):
        _style(ax)
        d = pc_r2[pc_r2["measure"] == m]
        if len(d):
            seed = int(d["seed"].min())
            d = d[d["seed"] == seed]
            # low-variance PCs first so the leading ones are drawn on top
            for pc in sorted(d["pc"].unique(), reverse=True):
                g = d[d["pc"] == pc]
                v = float(evr.get(pc, vmin))
                ax.plot(g["score"], g["r2"], color=cmap(norm(max(v, vmin))), lw=0.9, alpha=0.85)
            ax.set_title(f"{short_name(m)}  (seed {seed})", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("score")
        ax.set_ylabel("R² of PC")
    for ax in flat[len(ms) :]:
        ax.set_visible(False)
    sm = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=list(axes.ravel()), label="explained variance ratio", shrink=0.8)
    return fig


@_styled
def capture_vs_variance(
    pc_capture: pd.DataFrame,
    colors: Mapping[str, Sequence[float]],
    theory: pd.DataFrame | None = None,
) -> Figure:
    """Score needed to capture each PC against its explained-variance ratio (log x).

    Dots: measured (``pc_capture``, all seeds; PCs never captured are left out). Lines: the
    theory's prediction (``theory`` with columns ``measure, pc, explained_variance_ratio,
    predicted_capture_score``), in the measure's colour.
    """
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    _style(ax)
    measures = _measures_in(pc_capture, colors)
    for m in measures:
        d = pc_capture[(pc_capture["measure"] == m)].dropna(subset=["capture_score"])
        d = d[d["explained_variance_ratio"] > 0]
        ax.scatter(
            d["explained_variance_ratio"],
            d["capture_score"],
            color=colors.get(m, "k"),
            s=14,
            alpha=0.85,
            edgecolor="none",
        )
        if theory is not None and len(theory):
            t = theory[theory["measure"] == m].dropna(subset=["predicted_capture_score"])
            t = t[t["explained_variance_ratio"] > 0].sort_values("explained_variance_ratio")
            if len(t):
                ax.plot(
                    t["explained_variance_ratio"],
                    t["predicted_capture_score"],
                    color=colors.get(m, "k"),
                    lw=1.4,
                    alpha=0.9,
                )
    ax.set_xscale("log")
    ax.set_xlabel("explained variance ratio of the PC")
    ax.set_ylabel("score needed to capture the PC")
    title = "PC capture: measured (dots)"
    ax.set_title(title + (" and theory (lines)" if theory is not None and len(theory) else ""))
    if measures:
        _legend(ax, measures, colors, loc="best")
    return fig


@_styled
def spectrum(explained_variance_ratio: Sequence[float], max_pcs: int | None = None) -> Figure:
    """The reference's explained-variance ratio per PC (log y) and its cumulative sum: all
    PCs, or the first ``max_pcs`` (the title says how many of how many)."""
    full = np.asarray(explained_variance_ratio, dtype=float)
    evr = full[:max_pcs] if max_pcs is not None else full
    fig = _figure(4.6, 2.6)
    ax = fig.add_subplot()
    _style(ax)
    k = np.arange(1, len(evr) + 1)
    pos = evr > 0
    ax.semilogy(k[pos], evr[pos], "o-", ms=2.5, lw=1, color="#4a3b8f")
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio")
    ax2 = ax.twinx()
    ax2.plot(k, np.cumsum(evr), color="#bbbbbb", lw=1)
    ax2.set_ylim(0, 1.02)
    ax2.set_ylabel("cumulative", color="#888888")
    ax2.spines["top"].set_visible(False)
    ax2.tick_params(labelsize=8, colors="#888888")
    shown = (
        f"all {len(full)} PCs" if len(evr) == len(full) else f"first {len(evr)} of {len(full)} PCs"
    )
    ax.set_title(f"Reference spectrum ({shown})")
    return fig


@_styled
def region_plot(table: pd.DataFrame, measure_a: str, measure_b: str) -> Figure:
    """Allowed region of two scores from ``simgrad region``'s table.

    ``table`` has columns ``kind`` (``boundary`` or ``slope``), ``target_a, target_b,
    reached_a, reached_b``: crosses mark the targets, the filled polygon joins the reached
    boundary pairs, dashed red lines join the slope runs' end points to (1, 1).
    """
    fig = _figure(4.6, 4.4)
    ax = fig.add_subplot()
    _style(ax)
    b = table[table["kind"] == "boundary"]
    if len(b):
        xs = np.r_[b["reached_a"].to_numpy(), b["reached_a"].iloc[0]]
        ys = np.r_[b["reached_b"].to_numpy(), b["reached_b"].iloc[0]]
        ax.fill(xs, ys, color="#5a6cc4", alpha=0.18, lw=0)
        ax.plot(xs, ys, "-o", color="#3b4a9c", ms=3.5, lw=1.3, label="reached")
        ax.scatter(
            b["target_a"],
            b["target_b"],
            marker="x",
            s=16,
            color="#888888",
            label="targets",
            zorder=3,
        )
    s = table[table["kind"] == "slope"]
    for _, r in s.iterrows():
        ax.plot([r["reached_a"], 1], [r["reached_b"], 1], "--", color="#c0392b", lw=1)
        ax.scatter([r["reached_a"]], [r["reached_b"]], color="#c0392b", s=14, zorder=4)
    ax.axhline(0.9, ls=":", color="#999999", lw=0.8)
    ax.axvline(0.9, ls=":", color="#999999", lw=0.8)
    lo = min(0.0, float(table[["reached_a", "reached_b"]].min().min()) if len(table) else 0.0)
    ax.set_xlim(lo - 0.03, 1.03)
    ax.set_ylim(lo - 0.03, 1.03)
    ax.set_aspect("equal")
    ax.set_xlabel(short_name(measure_a))
    ax.set_ylabel(short_name(measure_b))
    ax.set_title("Allowed region of two scores")
    ax.legend(loc="lower right")
    return fig
