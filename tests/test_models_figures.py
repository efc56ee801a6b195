"""simgrad.report.layers: best layers (scores vs distances), heatmap range, page."""

from __future__ import annotations

import pandas as pd

from simgrad.report.layers import best_layer_plot, best_layers, layer_heatmap, write_layers


def table() -> pd.DataFrame:
    rows = []
    for m, vals in (("cka", [0.2, 0.9, 0.5]), ("procrustes-distance=angular", [0.9, 0.1, 0.4])):
        for k, v in enumerate(vals):
            rows.append(
                {
                    "a": f"l{k}",
                    "b": "V1",
                    "measure": m,
                    "score": v,
                    "ci_low": v - 0.05,
                    "ci_high": v + 0.05,
                }
            )
    return pd.DataFrame(rows)


def test_best_layers_follow_the_card_direction():
    best = best_layers(table()).set_index("measure")
    assert best.loc["cka", "best_layer"] == "l1"
    assert best.loc["procrustes-distance=angular", "best_layer"] == "l1"  # lowest distance
    assert best.loc["cka", "ci_low"] == 0.9 - 0.05


def test_heatmap_uses_the_card_range_and_page_embeds_figures(tmp_path):
    fig = layer_heatmap(table(), "cka")
    im = fig.axes[0].images[0]
    assert im.get_clim() == (0.0, 1.0)
    assert len(best_layer_plot(table(), "cka").axes[0].collections) == 1  # the CI band
    page = write_layers(table(), tmp_path)
    html = page.read_text()
    assert html.count("<figure") == 4 and "best_layers" in html
    assert (tmp_path / "best_layers.csv").read_text().startswith("measure,area,best_layer")
