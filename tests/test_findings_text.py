"""The report's findings: every number shown is recomputed here from results/*.csv (with
the csv module, independently of the code that wrote it), and every claim ("reached",
"missed", "never decodable") is checked against the cells it names."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import simgrad as sg
from simgrad.report.findings import Num, run_findings, text


class _Spans(HTMLParser):
    """The ``span.num`` / ``span.claim`` elements of ``ul.findings`` with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[dict] = []
        self.items: list[str] = []
        self.n_spans: list[int] = []
        self._cur: dict | None = None
        self._in_list = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "ul" and "findings" in (a.get("class") or ""):
            self._in_list = True
        elif tag == "li" and self._in_list:
            self.items.append("")
            self.n_spans.append(0)
        elif tag == "span" and self._in_list and a.get("class") in ("num", "claim"):
            self._cur = {**a, "text": ""}
            self.n_spans[-1] += 1

    def handle_endtag(self, tag):
        if tag == "span" and self._cur is not None:
            self.spans.append(self._cur)
            self._cur = None
        elif tag == "ul":
            self._in_list = False

    def handle_data(self, data):
        if self._cur is not None:
            self._cur["text"] += data
        if self._in_list and self.items:
            self.items[-1] += data


def _rows(out: Path, table: str) -> list[dict[str, str]]:
    with open(out / "results" / f"{table}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _match(rows, where):
    return [r for r in rows if all(r[k] == str(v) for k, v in where.items())]


def _by_seed(rows):
    seeds = defaultdict(list)
    for r in rows:
        seeds[r["seed"]].append(r)
    return seeds


def recompute(out: Path, span: dict) -> float:
    """The value a number claims, from the CSV cells it names."""
    rows = _match(_rows(out, span["data-table"]), json.loads(span["data-where"]))
    col, agg = span["data-col"], span["data-agg"]
    assert rows, span
    per_seed = _by_seed(rows)
    if agg == "mean":
        vals = [float(r[col]) for r in rows if r[col] != ""]
    elif agg == "last":
        vals = [float(max(g, key=lambda r: int(r["iteration"]))[col]) for g in per_seed.values()]
    elif agg == "count_le":
        b = float(span["data-bound"])
        vals = [sum(r[col] != "" and float(r[col]) <= b for r in g) for g in per_seed.values()]
    elif agg == "count":
        return float(max(len(g) for g in per_seed.values()))
    elif agg == "window_max":
        a, b = (int(x) for x in span["data-window"].split(","))
        vals = []
        for g in per_seed.values():
            last = max(int(r["iteration"]) for r in g)
            w = [float(r[col]) for r in g if last - b < int(r["iteration"]) <= last - a]
            vals.append(max(w))
    else:
        raise AssertionError(f"unknown aggregation {agg}")
    return sum(vals) / len(vals)


def check_claim(out: Path, span: dict, options: dict) -> None:
    where = json.loads(span["data-where"])
    kind = span["data-claim"]
    if kind == "never":
        rows = _match(_rows(out, "thresholds"), where)
        assert rows and all(r["threshold_score"] == "" for r in rows), span
        return
    target = float(span["data-target"])
    finals = [
        float(max(g, key=lambda r: int(r["iteration"]))["score"])
        for g in _by_seed(_match(_rows(out, "scores"), where)).values()
    ]
    reached = [v >= target for v in finals]
    assert all(reached) if kind == "reached" else not any(reached), (span, finals)
    assert target == options["target"]


def _shown(value: float, span: dict) -> str:
    if span["data-agg"].startswith("count") or span["data-col"] == "iteration":
        return str(int(value)) if value == int(value) else f"{value:.1f}"
    return f"{value:.3f}"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("findings")
    data = sg.datasets.load("context", n_units=30, n_time=5, seed=2).to_npz(d / "ref.npz")
    res = sg.run(
        data=data,
        measures=["nbs", "cka-angular_score"],
        max_iter=110,
        target=0.995,  # cka-angular_score misses it within 110 steps
        labels=["context", "choice"],
        decode_iterates=6,
        seeds=[0, 1],
        out=d / "out",
        progress=False,
    )
    parser = _Spans()
    parser.feed((d / "out" / "report.html").read_text(encoding="utf-8"))
    return res, parser


def test_every_number_equals_the_csvs(run):
    res, parser = run
    nums = [s for s in parser.spans if s["class"] == "num"]
    assert len(nums) >= 10
    for s in nums:
        v = recompute(res.out, s)
        assert float(s["data-value"]) == pytest.approx(v, rel=1e-12, abs=1e-12), s
        assert s["text"] == _shown(v, s), s
        assert s["title"].startswith(f"results/{s['data-table']}.csv"), s


def test_every_claim_holds_and_the_miss_is_said(run):
    res, parser = run
    claims = [s for s in parser.spans if s["class"] == "claim"]
    for s in claims:
        check_claim(res.out, s, {"target": 0.995})
    kinds = {(json.loads(s["data-where"])["measure"], s["data-claim"]) for s in claims}
    summary = res.summary.set_index("measure")["target_reached"]
    for m, reached in summary.items():
        if reached == "0/2":
            assert (m, "missed") in kinds
        elif reached == "2/2":
            assert (m, "reached") in kinds
    assert "0/2" in set(summary), "the fixture should have a run that misses its target"


def test_every_sentence_has_a_number_or_a_claim(run):
    _, parser = run
    assert parser.items
    for item, n in zip(parser.items, parser.n_spans):
        assert n >= 1, item


def test_terminal_findings_are_the_reports(run, capsys):
    from simgrad.report.findings import result_findings

    res, parser = run
    terminal = [text(f) for f in result_findings(res)]
    assert [t.strip() for t in terminal] == [i.strip() for i in parser.items]


def test_findings_of_handmade_tables():
    scores = pd.DataFrame(
        {
            "measure": ["a"] * 3 + ["b"] * 3,
            "seed": 0,
            "iteration": [0, 1, 2] * 2,
            "score": [0.1, 0.5, 0.99, 0.1, 0.2, 0.3],
        }
    )
    thr = pd.DataFrame(
        {
            "measure": ["a", "a", "b", "b"],
            "seed": 0,
            "label": ["x", "y", "x", "y"],
            "chance": 0.5,
            "reference_accuracy": 1.0,
            "threshold_accuracy": 0.95,
            "threshold_score": [0.4, None, 0.25, None],
        }
    )
    pcs = pd.DataFrame(
        {
            "measure": ["a", "a", "b", "b"],
            "seed": 0,
            "pc": [1, 2, 1, 2],
            "explained_variance_ratio": [0.8, 0.2, 0.8, 0.2],
            "capture_score": [0.3, 0.95, 0.5, None],
        }
    )
    lines = [text(f) for f in run_findings(scores, thr, pcs, target=0.99)]
    assert lines[0] == (
        "a reached the target 0.99 after 2 iterations (final score 0.990). Under a, labels "
        "became decodable at score: x 0.400. Labels never decodable under a: y. Before the "
        "score reached 0.9 it captured 1 of 2 PCs."
    )
    assert lines[1].startswith("b stopped at 0.300 after 2 iterations: it missed the target")
    assert "x became decodable at the lowest score under b (0.250)" in lines[-2]
    assert lines[-1] == "y was never decodable under any measure (a and b)."
    nums = [p for f in run_findings(scores, thr, pcs, target=0.99) for p in f if isinstance(p, Num)]
    assert {n.table for n in nums} == {"scores", "thresholds", "pc_capture"}
