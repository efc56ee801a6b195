"""sg.activations: layer / input / output / reduction rules, state restored, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import simgrad as sg
from simgrad.models.reduce import finish_pca, parse_reduce


def mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)).double()


def X(n: int = 40, d: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.bn(self.conv(x))).flatten(1))


def test_layers_rules_and_order():
    net = mlp()
    assert list(sg.activations(net, X())) == ["0", "1", "2", "3"]
    assert list(sg.activations(net, X(), layers=nn.Linear)) == ["0", "3"]
    assert list(sg.activations(net, X(), layers=["3", "1"])) == ["3", "1"]
    pred = sg.activations(net, X(), layers=lambda n, m: isinstance(m, nn.ReLU))
    assert list(pred) == ["1"]
    acts = sg.activations(net, X())
    ref = torch.relu(net[0](X()))
    assert torch.equal(acts["1"], ref) and acts["1"].dtype == torch.float64


def test_unknown_layer_lists_close_names():
    net = ConvNet()
    with pytest.raises(ValueError, match=r"'bm'.*close: \['bn'\]"):
        sg.activations(net, torch.zeros(2, 2, 5, 5), layers=["bm"])


def test_inputs_batches_dataloader_dict_select():
    net, x = mlp(), X(50)
    ref = sg.activations(net, x)["3"]
    for inputs, kw in [
        (x, {"batch_size": 7}),
        (list(x.split(16)), {}),
        ([(xb, torch.zeros(len(xb))) for xb in x.split(16)], {}),
        (torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=9), {}),
        ([{"inp": xb} for xb in x.split(16)], {"select": lambda b: b["inp"]}),
        (x.numpy(), {}),
    ]:
        assert torch.allclose(sg.activations(net, inputs, **kw)["3"], ref, atol=1e-12)

    class Kw(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(6, 2).double()

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return self.lin(pixel_values)

    out = sg.activations(Kw(), [{"pixel_values": xb} for xb in x.split(20)])
    assert out["lin"].shape == (50, 2)


@dataclasses.dataclass
class Out:
    hidden: torch.Tensor
    logits: torch.Tensor


class Multi(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.rnn = nn.GRU(6, 5, batch_first=True).double()

    def forward(self, x: torch.Tensor) -> dict:
        seq, h = self.rnn(x[:, None, :])
        return {"last_hidden_state": seq[:, 0], "h": h}


def test_output_rules_tuple_mapping_dataclass():
    x = X(10)
    m = Multi()
    acts = sg.activations(m, x, layers=["rnn"])  # tuple → first tensor (batch, 1, 5)
    assert acts["rnn"].shape == (10, 5)
    whole = nn.Sequential()
    whole.add_module("body", m)
    a2 = sg.activations(whole, x, layers=["body"])  # mapping → last_hidden_state
    assert torch.allclose(a2["body"], acts["rnn"])
    a3 = sg.activations(whole, x, layers=["body"], output=lambda o: o["h"][0])
    assert torch.allclose(a3["body"], acts["rnn"])

    class DC(nn.Module):
        def forward(self, x: torch.Tensor) -> Out:
            return Out(hidden=x * 2, logits=x[:, :2])

    wrap = nn.Sequential()
    wrap.add_module("dc", DC())
    assert torch.equal(sg.activations(wrap, x, layers=["dc"])["dc"], 2 * x)
    assert sg.activations(wrap, x, layers=["dc"], output="logits")["dc"].shape == (10, 2)
    got = sg.activations(wrap, x, layers=["dc"], output={"dc": lambda o: o.logits + 1})
    assert torch.equal(got["dc"], x[:, :2] + 1)


def test_reductions_flatten_mean_pca_project():
    net, x = ConvNet(), torch.randn(30, 2, 5, 5, generator=torch.Generator().manual_seed(1))
    flat = sg.activations(net, x, layers=["conv"])["conv"]
    assert flat.shape == (30, 100)
    mean = sg.activations(net, x, layers=["conv"], reduce="mean")["conv"]
    assert torch.allclose(mean, flat.reshape(30, 4, 25).mean(-1))
    pca = sg.activations(net, x, layers=["conv"], reduce="pca-5")["conv"]
    sklearn = pytest.importorskip("sklearn.decomposition")
    ref = sklearn.PCA(5).fit_transform(flat.numpy())
    for k in range(5):  # equal up to the sign of each component
        c = abs(np.corrcoef(pca[:, k].numpy(), ref[:, k])[0, 1])
        assert c > 1 - 1e-8
    p1 = sg.activations(net, x, layers=["conv"], reduce="project-16", seed=3)["conv"]
    p2 = sg.activations(net, x, layers=["conv"], reduce="project-16", seed=3, batch_size=7)
    p3 = sg.activations(net, x, layers=["conv"], reduce="project-16", seed=4)["conv"]
    assert p1.shape == (30, 16) and not torch.allclose(p1, p3)
    assert torch.allclose(p1, p2["conv"], rtol=1e-5, atol=1e-5)  # float32 product, any batch
    with pytest.raises(ValueError, match="reduce='pca'"):
        parse_reduce("pca")


def test_pca_wide_equals_tall_route():
    x = X(20, 50)
    s_wide = finish_pca(x, 4)
    s_tall = finish_pca(x[:, :10], 4)
    assert s_wide.shape == (20, 4) and s_tall.shape == (20, 4)
    gram = s_wide.T @ s_wide
    assert torch.allclose(gram, torch.diag(gram.diagonal()), atol=1e-8)


def test_eval_no_grad_and_state_restored():
    net = ConvNet().train()
    net.bn.eval()  # a mixed state must come back as it was
    stats = net.bn.running_mean.clone()
    x = torch.randn(8, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    torch.set_grad_enabled(True)
    acts = sg.activations(net, x)
    assert net.training and not net.bn.training and net.conv.training
    assert torch.is_grad_enabled() and not acts["bn"].requires_grad
    assert torch.equal(net.bn.running_mean, stats)
    assert all(not m._forward_hooks for m in net.modules())
    with pytest.raises(ValueError):
        sg.activations(net, x, layers=["nope"])
    assert all(not m._forward_hooks for m in net.modules()) and net.training


def test_hooks_removed_after_error_inside_forward():
    net = mlp()
    bad = torch.full((4, 6), float("nan"), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"layer '0' has non-finite.*batch 0"):
        sg.activations(net, bad)
    assert all(not m._forward_hooks for m in net.modules())


def test_half_precision_is_upcast():
    net = nn.Sequential(nn.Linear(6, 4)).half()
    acts = sg.activations(net, X(5).half())
    assert acts["0"].dtype == torch.float64
    assert sg.activations(net, X(5), dtype=torch.float32)["0"].dtype == torch.float32


def test_batch_dim_mismatch_is_explained():
    class T(nn.Module):
        def forward(self, x):  # returns (features, batch)
            return x.T

    wrap = nn.Sequential()
    wrap.add_module("t", T())
    with pytest.raises(ValueError, match="layer 't' returned shape"):
        sg.activations(wrap, X(5, 3), layers=["t"])


def test_spill_to_memmap_equals_in_memory(tmp_path):
    net, x = mlp(), X(300)
    ref = sg.activations(net, x, batch_size=32)
    spilled = sg.activations(net, x, batch_size=32, memory_budget=4000, spill_dir=tmp_path)
    assert any(tmp_path.rglob("*.bin"))
    for k in ref:
        assert torch.equal(ref[k], spilled[k])


def test_bad_options():
    net = mlp()
    with pytest.raises(ValueError, match="batch_size"):
        sg.activations(net, X(), batch_size=0)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        sg.activations(lambda x: x, X())
    with pytest.raises(TypeError, match="inputs must be"):
        sg.activations(net, 3)


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("extract", "record", "reduce", "spill", "stream"):
        mod = importlib.import_module(f"simgrad.models.{name}")
        assert doctest.testmod(mod).failed == 0, name
    for name in ("simgrad.comparison", "simgrad.report.layers"):
        assert doctest.testmod(importlib.import_module(name)).failed == 0, name


def test_projection_blocks_equal_the_cached_matrix(monkeypatch):
    from simgrad.models import reduce as red

    x = X(9, 10000)
    full = x @ red.projection(10000, 16, 5, "cpu", torch.float64)
    monkeypatch.setattr(red, "_CACHE_BYTES", 1000)  # force the per-batch block route
    assert torch.allclose(red.project(x, 16, 5), full, atol=1e-12)


def test_time_major_recurrent_model_with_batch_dim():
    from simgrad.optim import CTRNN

    net = CTRNN(3, 10, 2, seed=0)
    x = torch.randn(7, 5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    acts = sg.activations(net, x, output=lambda o: o[1], batch_dim=1, batch_size=2)
    _, states = net(x)
    assert torch.allclose(acts["output"], states.detach().permute(1, 0, 2).reshape(5, -1))
