"""nn.MultiheadAttention observed as one layer by inspect and watch (issue 13)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_zoo import encoder, transformer  # noqa: E402

import initlab.torch as it  # noqa: E402


def _attentions(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)]


def _seq(n: int = 4, length: int = 5, dim: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, length, dim, generator=torch.Generator().manual_seed(seed))


def _encoder_seq_first() -> nn.Module:
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=False)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


class _Direct(nn.Module):
    """Calls its attention with keywords, need_weights=False, sequence-first, kdim != vdim."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, kdim=8, vdim=12)
        self.head = nn.Linear(16, 3)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        out, weights = self.attn(query=q, key=k, value=v, need_weights=False)
        assert weights is None
        return self.head(out)


CASES = {
    "encoder (batch_first)": (encoder, lambda: (_seq(),)),
    "encoder (sequence first)": (_encoder_seq_first, lambda: (_seq(),)),
    "nn.Transformer": (transformer, lambda: (_seq(seed=1), _seq(seed=2))),
    "direct call, kdim/vdim": (
        _Direct,
        lambda: (_seq(5, 4, 16), _seq(7, 4, 8), _seq(7, 4, 12)),  # (L, N, E), (S, N, kdim), ...
    ),
}


def _finite(x: object) -> bool:
    return isinstance(x, float) and math.isfinite(x)


@pytest.mark.parametrize("case", list(CASES))
def test_inspect_records_every_attention_with_finite_statistics(case):
    build, batch = CASES[case]
    torch.manual_seed(0)
    model = build()
    args = batch()
    out = model(*args)
    target = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
    r = it.inspect(model, args, target)
    names = _attentions(model)
    assert names
    for name in names:
        rec = r[name]
        assert rec["kind"] == "attention" and rec["module"] == "MultiheadAttention"
        assert rec["units"] == model.get_submodule(name).embed_dim
        for key in ("a_std", "dZ_rms", "dW_norm", "db_norm", "grad_data", "effective_width"):
            assert _finite(rec[key]) and rec[key] > 0, (name, key, rec[key])
        blocks = rec["params"]
        qkv = ("q", "k", "v")
        labels = (
            [f"{k}_proj_weight" for k in qkv]
            if case.startswith("direct")
            else [f"in_proj_weight[{k}]" for k in qkv]
        )
        for label in [*labels, "out_proj.weight"]:
            assert _finite(blocks[label]["dW_norm"]) and blocks[label]["dW_norm"] > 0
            assert _finite(blocks[label]["grad_data"])
    # the attention's out_proj is part of the attention, never a layer of its own
    assert not any(r["name"].endswith("out_proj") for r in r.layers)
    assert "attention (" not in " ".join(r.notes)
    assert "(q/k/v in_proj + out_proj)" in r.table()


def test_attention_gradients_and_output_equal_a_backward_by_hand():
    torch.manual_seed(0)
    model = encoder()
    x = _seq()
    y = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    name = "layers.1.self_attn"
    mha = model.get_submodule(name)
    r = it.inspect(model, x, y)
    rec = r[name]

    seen = {}

    def keep(module, args, out):
        out[0].retain_grad()
        seen["out"] = out[0]

    handle = mha.register_forward_hook(keep)
    model.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    handle.remove()
    e = mha.embed_dim
    g_out = mha.out_proj.weight.grad.double()
    by_hand = {
        "dW_norm": float(torch.linalg.norm(g_out)),
        "db_norm": float(torch.linalg.norm(mha.out_proj.bias.grad.double())),
        "dZ_norm": float(torch.linalg.norm(seen["out"].grad.double())),
        "a_std": float(seen["out"].detach().double().std(unbiased=False)),
        "grad_data": float(g_out.std(False) / mha.out_proj.weight.detach().double().std(False)),
    }
    # the same float32 gradients, summed in float64 in another order: equal to ~1e-15; 1e-9
    # still tells a wrong tensor (or a gradient of another loss) apart
    for key, value in by_hand.items():
        assert rec[key] == pytest.approx(value, rel=1e-9), key
    for k, rows in (("q", slice(0, e)), ("k", slice(e, 2 * e)), ("v", slice(2 * e, 3 * e))):
        g = mha.in_proj_weight.grad[rows].double()
        block = rec["params"][f"in_proj_weight[{k}]"]
        assert block["dW_norm"] == pytest.approx(float(torch.linalg.norm(g)), rel=1e-9), k
        w = mha.in_proj_weight[rows].detach().double()
        assert block["w_std"] == pytest.approx(float(w.std(unbiased=False)), rel=1e-9)
        assert block["update_std"] is None  # inspect applies no update


def test_watch_records_attention_updates_per_block():
    torch.manual_seed(0)
    model = encoder()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = _seq()
    y = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    mha = model.get_submodule("layers.0.self_attn")
    e = mha.embed_dim
    befores = []
    with it.watch(model, every=1) as w:
        for _ in range(2):
            befores.append(mha.in_proj_weight.detach().clone())
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            w.step(loss)
    assert w.not_observed == {}
    recs = [r for r in w.records if r["name"] == "layers.0.self_attn"]
    assert [r["step"] for r in recs] == [0, 1]
    afters = [*befores[1:], mha.in_proj_weight.detach().clone()]
    for rec, before, after in zip(recs, befores, afters, strict=True):
        k = before[e : 2 * e].double()
        u = after[e : 2 * e].double() - k  # the applied update of the k block
        block = rec["params"]["in_proj_weight[k]"]
        assert block["w_std"] == pytest.approx(float(k.std(unbiased=False)), rel=1e-9)
        # float32 weights subtracted in float64 both ways: equal to rounding
        expected = float(u.std(unbiased=False) / k.std(unbiased=False))
        assert block["update_data"] == pytest.approx(expected, rel=1e-9)
        assert _finite(rec["update_data"]) and rec["update_data"] > 0
    assert "MultiheadAttention: q/k/v in_proj + out_proj" in w.legend()


def test_eval_mode_forward_only_observes_the_encoder_attention():
    # eval mode without gradients is where nn.TransformerEncoderLayer takes its fused path
    torch.manual_seed(0)
    model = encoder().eval()
    r = it.inspect(model, _seq(), mode="eval")
    assert [n for n in _attentions(model) if r[n]["a_std"] > 0] == _attentions(model)


def test_nested_tensor_path_is_named_not_omitted():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=True).eval()
    x = _seq(3)
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[0, 3:] = True
    batch = {"src": x, "src_key_padding_mask": mask}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "nested tensors are a prototype"
        r = it.inspect(model, batch, mode="eval")  # observed: no fused path with gradients on
        assert r["layers.0.self_attn"]["a_std"] > 0
        for p in model.parameters():  # frozen: the padding path is taken all the same
            p.requires_grad_(False)
        with pytest.raises(ValueError, match="layers.0.self_attn.*nested tensors"):
            it.inspect(model, batch, mode="eval")


def test_an_attention_never_called_is_reported_with_its_reason():
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2)
            self.fc = nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x)

    model = Unused()
    x = torch.randn(4, 8)
    r = it.inspect(model, x, torch.randint(0, 2, (4,)))
    assert ("attn", it._attention.NOT_CALLED) in r.skipped
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with it.watch(model, every=1) as w:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), torch.randint(0, 2, (4,)))
        loss.backward()
        opt.step()
        w.step(loss)
    assert w.not_observed == {"attn": it._attention.NOT_CALLED}
    assert "not observed: 'attn'" in w.report()
    assert np.isfinite(w.records[0]["dW_norm"])
