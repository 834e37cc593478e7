"""HuggingFace GPT-2's Conv1D layers (weight stored (in, out)) are observed by inspect and watch
like nn.Linear, with figures checked against the tensors themselves (issue 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
from torch_zoo import gpt2  # noqa: E402

import initlab.torch as it  # noqa: E402

CONV1D = [
    f"transformer.h.{i}.{part}"
    for i in range(2)
    for part in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
]


def _batch() -> dict:
    ids = torch.randint(0, 64, (4, 16), generator=torch.Generator().manual_seed(0))
    return {"input_ids": ids, "labels": ids}


def _loss(out):
    return out.loss


def test_gpt2_conv1d_layers_are_inspected_with_their_own_figures():
    torch.manual_seed(0)
    model = gpt2().double().eval()  # no dropout: the pass below sees the same values
    batch = _batch()
    res = it.inspect(model, batch, loss_fn=_loss, mode="eval")
    by_name = {r["name"]: r for r in res.layers}
    assert [n for n in by_name if n != "lm_head"] == CONV1D  # forward order, none missing
    assert {n for n, _ in res.skipped} == {"transformer.wte", "transformer.wpe"}  # named
    # the figures of one of them, from the tensors: output, weight (in, out) and its gradient
    outputs: dict = {}
    c_fc = model.transformer.h[1].mlp.c_fc
    handle = c_fc.register_forward_hook(lambda m, a, o: outputs.update(z=o) or o.retain_grad())
    model.zero_grad()
    model(**batch).loss.backward()
    handle.remove()
    r = by_name["transformer.h.1.mlp.c_fc"]
    w, z = c_fc.weight.detach(), outputs["z"]
    zd = z.detach()
    assert r["module"] == "Conv1D" and r["kind"] == "dense"
    assert r["units"] == w.shape[1] == 128 and r["fan_in"] == w.shape[0] == 32
    expect = {
        "w_std": float(w.std(unbiased=False)),
        "z_mean": float(zd.mean()),
        "z_std": float(zd.std(unbiased=False)),
        "dW_norm": float(c_fc.weight.grad.norm()),
        "dZ_norm": float(z.grad.norm()),
        "db_norm": float(c_fc.bias.grad.norm()),
    }
    for key, value in expect.items():
        assert r[key] == pytest.approx(value, rel=1e-9), key


def test_gpt2_conv1d_layers_are_watched():
    torch.manual_seed(0)
    model = gpt2()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batch = _batch()
    w = it.watch(model, every=1)
    before = model.transformer.h[0].attn.c_attn.weight.detach().clone()
    opt.zero_grad()
    loss = model(**batch).loss
    loss.backward()
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w.step(loss)
    w.close()
    recs = {r["name"]: r for r in w.records}
    assert set(CONV1D) <= set(recs)
    u = model.transformer.h[0].attn.c_attn.weight.detach() - before
    r = recs["transformer.h.0.attn.c_attn"]
    assert r["update_std"] == pytest.approx(float(u.double().std(unbiased=False)), rel=1e-6)
    assert np.isfinite(r["update_data"]) and r["update_data"] > 0
