"""report.html in a real browser: headless Chromium (Debian's package) driven by Playwright.

Checks that the page opens offline (no request leaves the file), every figure decodes
(natural width > 0), the console shows no error, and every number shown in the tables is
the CSV's value. Skips when Chromium or the ``playwright`` package is absent.
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


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report")
    data = sg.datasets.load("context", n_units=30, n_time=5, seed=2).to_npz(d / "ref.npz")
    sg.run(
        data=data,
        measures=["nbs", "cka-angular_score"],
        max_iter=30,
        labels=["context", "choice"],
        decode_iterates=6,
        out=d / "out",
        progress=False,
    )
    return d / "out"


@pytest.fixture(scope="module")
def page_data(report):
    sync_api = pytest.importorskip("playwright.sync_api")
    console, errors, requests = [], [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((report / "report.html").as_uri(), wait_until="load")
            images = page.evaluate(
                """() => Array.from(document.images).map(i => ({
                    complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
                    figure: i.closest('figure') ? i.closest('figure').dataset.figure : null}))"""
            )
            tables = page.evaluate(
                """() => Object.fromEntries(Array.from(document.querySelectorAll(
                    'table[data-table]')).map(t => [t.dataset.table,
                    Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => ({
                        col: c.dataset.col, value: c.dataset.value,
                        text: c.textContent.trim()})))]))"""
            )
            page.screenshot(path=str(report / "screenshot.png"), full_page=False)
        finally:
            browser.close()
    return {
        "console": console,
        "errors": errors,
        "requests": requests,
        "images": images,
        "tables": tables,
    }


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_figure_renders(page_data):
    imgs = page_data["images"]
    assert {i["figure"] for i in imgs} == {"scores", "decoding", "pc_r2", "capture", "spectrum"}
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
