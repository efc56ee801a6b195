"""sg.compare_model: streaming equals in-memory, non-streamable path, errors before work."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import simgrad as sg


class Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 5)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def data(n: int = 150):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 4, 4, generator=g)
    rng = np.random.default_rng(0)
    target = {"V1": x.flatten(1).numpy() @ rng.normal(size=(16, 6)), "IT": rng.normal(size=(n, 4))}
    return x, target


@pytest.mark.parametrize("reduce", ["flatten", "mean", "project-8"])
def test_streaming_equals_in_memory(reduce):
    net, (x, target) = Counting(), data()
    measures = ["cka", "cka-hsic_song", "nbs", "procrustes-angular_score"]
    df = sg.compare_model(net, x, target, measures, reduce=reduce, batch_size=32)
    assert df["streamed"].all() and len(df) == 4 * 3 * 2
    acts = sg.activations(net, x, reduce=reduce, batch_size=32)  # same float32 products
    ref = sg.compare(acts, target, measures=measures)
    merged = df.merge(ref, left_on=["layer", "area", "measure"], right_on=["a", "b", "measure"])
    assert len(merged) == len(df)
    assert np.abs(merged["score_x"] - merged["score_y"]).max() < 1e-10


def test_non_streamable_measures_and_pca_collect():
    net, (x, target) = Counting(), data()
    rank_rsa = "rsa-rdm=correlation-compare=spearman-score"  # ranks: no streaming form
    df = sg.compare_model(net, x, target, ["cka", rank_rsa], batch_size=40, memory_budget=2000)
    assert set(df[df["measure"] == rank_rsa]["streamed"]) == {False}
    acts = sg.activations(net, x)
    r = df[(df["measure"] == rank_rsa) & (df["layer"] == "bn") & (df["area"] == "V1")]["score"]
    want = sg.score(rank_rsa, acts["bn"], target["V1"])
    assert float(r.iloc[0]) == pytest.approx(want, abs=1e-10)
    pca = sg.compare_model(net, x, target, "cka", reduce="pca-4", layers=["conv"])
    ref = sg.score(
        "cka", sg.activations(net, x, reduce="pca-4", layers=["conv"])["conv"], target["V1"]
    )
    assert float(pca["score"].iloc[0]) == pytest.approx(ref, abs=1e-10)


def test_errors_before_any_forward_pass():
    net, (x, target) = Counting(), data()
    with pytest.raises(ValueError, match="sample counts differ.*'V1' has 149"):
        sg.compare_model(net, x, {"V1": target["V1"][:-1]})
    with pytest.raises(ValueError, match="does not exist"):
        sg.compare_model(net, x, target, layers=["fc1"])
    with pytest.raises(ValueError):
        sg.compare_model(net, x, target, measures=["no-such-measure"])
    assert net.calls == 0
    batches = list(x.split(50))
    with pytest.raises(ValueError, match="sample counts differ"):
        sg.compare_model(net, batches, {"V1": target["V1"][:120]})
