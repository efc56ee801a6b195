"""report.html in a real browser: headless Chromium (Debian's package) driven by Playwright.

Checks, at 1280 and 420 px wide, that the page opens offline (no request leaves the file),
every figure decodes (natural width > 0) and fits the page, the page never scrolls sideways,
the interactive charts draw (plotly bundled in the page) with their legend text inside the
chart and show measure, iteration, score and value on hover, the console shows no error, and
every number shown in the tables and the findings is the CSV's value. Skips when Chromium or
the ``playwright`` package is absent.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

import simgrad as sg

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
WIDTHS = (1280, 420)

_LAYOUT_JS = """() => {
  const cw = document.documentElement.clientWidth;
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('.scroll') || e.closest('svg')) continue;
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > cw + 1) out.push(e.tagName + '.' + e.className);
  }
  const legends = [];
  for (const c of document.querySelectorAll('figure.interactive .chart')) {
    const box = c.getBoundingClientRect();
    for (const t of c.querySelectorAll('.legendtext')) {
      const r = t.getBoundingClientRect();
      legends.push({text: t.textContent, left: r.left - box.left, right: box.right - r.right,
                    width: r.width});
    }
  }
  const summary = document.querySelector('table.summary').closest('.scroll');
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: cw,
          summary: [summary.scrollWidth, summary.clientWidth],
          outside: out.slice(0, 10), legends: legends,
          ready: Array.from(document.querySelectorAll('figure.interactive .chart')).map(
            c => [c.id, c.dataset.ready === '1', c.querySelectorAll('.point').length]),
          imgs: Array.from(document.images).map(i => i.getBoundingClientRect().width)};
}"""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    pytest.importorskip("plotly")
    d = tmp_path_factory.mktemp("report")
    data = sg.datasets.load("context", n_units=30, n_time=5, seed=2).to_npz(d / "ref.npz")
    sg.run(
        data=data,
        measures=["nbs", "cka-angular_score", "ridge-lambda=100-r2-cv=5folds"],
        max_iter=30,
        labels=["context", "choice"],
        decode_iterates=6,
        out=d / "out",
        progress=False,
    )
    return d / "out"


def _hover(page) -> str:
    """The hover label of the first point of the decoding chart."""
    point = page.locator("#ix-decoding .point").first
    point.scroll_into_view_if_needed()
    point.hover(force=True)
    page.wait_for_timeout(300)
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('#ix-decoding .hoverlayer text'))"
        ".map(t => t.textContent).join(' ')"
    )


@pytest.fixture(scope="module")
def page_data(report):
    sync_api = pytest.importorskip("playwright.sync_api")
    console, errors, requests = [], [], []
    layout, hover = {}, ""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("console", lambda m: console.append((m.type, m.text)))
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                page.goto((report / "report.html").as_uri(), wait_until="load")
                page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('figure.interactive .chart'))"
                    ".every(c => c.dataset.ready === '1')",
                    timeout=20000,
                )
                layout[width] = page.evaluate(_LAYOUT_JS)
                if width == WIDTHS[0]:
                    hover = _hover(page)
                    images = page.evaluate(
                        """() => Array.from(document.images).map(i => ({
                            complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
                            figure: i.closest('figure') ? i.closest('figure').dataset.figure
                            : null}))"""
                    )
                    tables = page.evaluate(
                        """() => Object.fromEntries(Array.from(document.querySelectorAll(
                            'table[data-table]')).map(t => [t.dataset.table,
                            Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(
                            c => ({col: c.dataset.col, value: c.dataset.value,
                            text: c.textContent.trim()})))]))"""
                    )
                    findings = page.evaluate(
                        """() => Array.from(document.querySelectorAll('ul.findings span.num'))
                            .map(s => Object.assign({text: s.textContent}, s.dataset))"""
                    )
                page.screenshot(path=str(report / f"screenshot-{width}.png"), full_page=False)
                page.close()
        finally:
            browser.close()
    return {
        "console": console,
        "errors": errors,
        "requests": requests,
        "images": images,
        "tables": tables,
        "layout": layout,
        "hover": hover,
        "findings": findings,
    }


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_figure_renders(page_data):
    imgs = page_data["images"]
    assert {i["figure"] for i in imgs} == {"scores", "decoding", "pc_r2", "capture", "spectrum"}
    assert len(imgs) == 5
    for i in imgs:
        assert i["complete"] and i["width"] > 0 and i["height"] > 0, i


def test_no_console_error_and_no_network(page_data, report):
    assert page_data["errors"] == []
    assert [t for t, _ in page_data["console"] if t in ("error", "warning")] == []
    own = (report / "report.html").as_uri()
    others = [u for u in page_data["requests"] if u != own and not u.startswith("data:")]
    assert others == []


@pytest.mark.parametrize("name", ["thresholds", "pc_capture"])
def test_numbers_shown_equal_the_csv(page_data, report, name):
    rows = _csv(report / "results" / f"{name}.csv")
    shown = page_data["tables"][name]
    assert len(shown) == len(rows) > 0
    for cells, row in zip(shown, rows):
        assert [c["col"] for c in cells] == list(row)
        for c in cells:
            assert c["value"] == row[c["col"]], (name, c)
            if c["value"] == "":
                assert c["text"].startswith("never")
            elif c["col"] not in ("measure", "label"):
                v = float(c["value"])
                digits = 3 if c["col"] != "explained_variance_ratio" else None
                if c["col"] in ("seed", "pc"):
                    assert c["text"] == str(int(v))
                elif digits is None:
                    assert float(c["text"]) == pytest.approx(v, rel=5e-3)
                else:
                    assert c["text"] == f"{v:.3f}"
            else:
                assert c["text"] == c["value"]


def test_summary_shows_the_thresholds(page_data, report):
    import pandas as pd

    thr = pd.read_csv(report / "results" / "thresholds.csv")
    summary = {r[0]["value"]: {c["col"]: c for c in r} for r in page_data["tables"]["summary"]}
    for (m, label), g in thr.groupby(["measure", "label"]):
        cell = summary[m][f"threshold_score:{label}"]
        reached = g["threshold_score"].dropna()
        if len(reached):
            assert float(cell["value"]) == pytest.approx(reached.mean(), abs=1e-12)
            assert cell["text"] == f"{reached.mean():.3f}"
        else:
            assert cell["value"] == "" and cell["text"] == "never reached"


@pytest.mark.parametrize("width", WIDTHS)
def test_page_never_scrolls_sideways(page_data, width):
    lay = page_data["layout"][width]
    assert lay["scrollWidth"] <= lay["clientWidth"], lay["outside"]
    assert lay["outside"] == []
    assert all(0 < w <= lay["clientWidth"] for w in lay["imgs"])


def test_summary_table_fits_a_laptop_screen(page_data):
    scroll_width, client_width = page_data["layout"][1280]["summary"]
    assert scroll_width <= client_width


@pytest.mark.parametrize("width", WIDTHS)
def test_interactive_charts_draw_with_their_legend_inside(page_data, width):
    lay = page_data["layout"][width]
    assert {c[0] for c in lay["ready"]} == {"ix-decoding", "ix-capture"}
    assert all(ready and n_points > 0 for _, ready, n_points in lay["ready"]), lay["ready"]
    assert lay["legends"], "no legend text rendered"
    for leg in lay["legends"]:
        assert leg["width"] > 0 and leg["left"] >= 0 and leg["right"] >= 0, leg


def test_hover_shows_measure_iteration_score_and_value(page_data):
    hover = page_data["hover"]
    for word in ("measure", "iteration", "score", "accuracy"):
        assert word in hover, hover


def test_findings_numbers_match_their_cells(page_data, report):
    from test_findings_text import recompute

    assert page_data["findings"]
    for s in page_data["findings"]:
        span = {f"data-{k}": v for k, v in s.items() if k != "text"}
        assert float(s["value"]) == pytest.approx(recompute(report, span), rel=1e-12), s


def test_legends_of_png_figures_fit_long_names():
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from simgrad.report import figures as F

    names = [f"a-very-long-measure-name-number-{i}-with-parameters=100" for i in range(5)]
    dec = pd.DataFrame(
        [
            {
                "measure": m,
                "seed": 0,
                "iteration": it,
                "score": it / 10,
                "label": lab,
                "accuracy": 0.5 + it / 30,
            }
            for m in names
            for lab in ("a", "b", "c")
            for it in range(0, 11, 5)
        ]
    )
    thr = pd.DataFrame(
        [
            {
                "measure": m,
                "seed": 0,
                "label": lab,
                "chance": 0.5,
                "reference_accuracy": 0.9,
                "threshold_accuracy": 0.86,
                "threshold_score": 0.6,
            }
            for m in names
            for lab in ("a", "b", "c")
        ]
    )
    fig = F.decoding_vs_score(dec, thr, F.measure_colors(names))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    for text in fig.legends[0].get_texts():
        ext = text.get_window_extent(renderer)
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1, (text.get_text(), ext, box)
