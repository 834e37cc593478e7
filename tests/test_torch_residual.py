"""Residual branches and the schemes of the residual era: gpt2 against HF's own init, Fixup,
T-Fixup and DeepNorm factors from the papers' formulas, user-named branches, and μP (roles,
parameter groups, the coordinate check separating μP from standard parametrization)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_zoo import ResNet18, encoder, transformer  # noqa: E402

from initlab._checks import ParameterError  # noqa: E402
from initlab.torch import coord_check, find_branches, initialize, mup  # noqa: E402

Z = 5.0  # standard errors


def _std_tol(std: float, n: int) -> float:
    """5 standard errors of a normal sample's std: se(s) ~= sigma / sqrt(2n)."""
    return Z * std / math.sqrt(2 * n)


def test_gpt2_matches_hf_init_and_nanogpt_rule_per_tensor():
    pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    n_layer = 4
    cfg = GPT2Config(n_layer=n_layer, n_embd=64, n_head=2, vocab_size=1000, n_positions=64)
    torch.manual_seed(0)
    ref = GPT2LMHeadModel(cfg)  # HF's own _init_weights
    ours = GPT2LMHeadModel(cfg)
    s = initialize(ours, "gpt2", generator=torch.Generator().manual_seed(1))
    ref_params = dict(ref.named_parameters())
    resid = 0.02 / math.sqrt(2 * n_layer)  # nanoGPT: c_proj std = 0.02 / sqrt(2 n_layer)
    checked = 0
    for name, p in ours.named_parameters():
        q = ref_params[name].detach()
        p = p.detach()
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            assert torch.all(p == 1) and torch.all(q == 1), name
        elif name.endswith(".bias"):
            assert not p.any() and not q.any(), name
        else:
            want = resid if name.endswith("c_proj.weight") else 0.02
            assert s[name].std == pytest.approx(want, rel=1e-12), name
            n = p.numel()
            assert abs(float(p.std()) - want) < _std_tol(want, n), name
            assert abs(float(q.std()) - want) < _std_tol(want, n), name  # HF agrees
            checked += 1
    assert checked == 2 + 4 * n_layer  # wte, wpe and four weights per block (lm_head is tied)
    assert s["lm_head.weight"].tied_to == "transformer.wte.weight"


def test_branches_found_from_structure_and_named_by_the_user():
    rb = find_branches(ResNet18())
    assert len(rb) == 8 and rb[0].layers == ("layer1.0.conv1", "layer1.0.conv2")
    assert rb[0].norm == "layer1.0.bn2"
    tb = find_branches(transformer())
    kinds = [b.kind for b in tb]
    assert kinds.count("encoder") == 4 and kinds.count("decoder") == 6  # 2 + 3 per layer
    assert tb[0].output == "encoder.layers.0.self_attn.out_proj"
    m = encoder()
    ub = find_branches(m, residual_outputs=["*.linear2"])
    assert [b.output for b in ub] == ["layers.0.linear2", "layers.1.linear2"]
    with pytest.raises(ValueError, match="'\\*.c_proj' match no weight layer"):
        find_branches(m, residual_outputs=["*.c_proj"])
    s = initialize(m, "gpt2", residual_outputs=["*.linear2"], generator=0)
    assert s["layers.0.linear2.weight"].std == pytest.approx(0.02 / math.sqrt(2))
    assert s["layers.0.self_attn.out_proj.weight"].std == pytest.approx(0.02)
    with pytest.raises(ValueError, match="needs residual branches.*residual_outputs"):
        initialize(nn.Sequential(nn.Linear(3, 3)), "gpt2")
    s = initialize(m, "gpt2:std=0.1", residual_outputs="*.linear2", generator=0)
    assert s["layers.0.linear1.weight"].std == pytest.approx(0.1)
    with pytest.raises(ValueError, match="std must be > 0.0, got -1"):
        initialize(m, "gpt2:std=-1")
    with pytest.raises(ValueError, match="scheme 'fixup' has no parameter 'depth'.*none"):
        initialize(m, "fixup:depth=3")


def test_fixup_scales_branches_and_zeroes_outputs_and_classifier():
    m = ResNet18()
    s = initialize(m, "fixup", generator=0)
    n_branches, m_layers = 8, 2
    factor = n_branches ** (-1 / (2 * m_layers - 2))  # L^(-1/(2m-2)) = 8^(-1/2)
    rec = s["layer2.0.conv1.weight"]
    he = math.sqrt(2) / math.sqrt(rec.fan_in)  # followed by ReLU (traced)
    assert rec.std == pytest.approx(he * factor, rel=1e-12)
    w = m.layer2[0].conv1.weight.detach()
    assert abs(float(w.std()) - he * factor) < _std_tol(he * factor, w.numel())
    for name, mod in m.named_modules():
        if name.endswith(".conv2"):
            assert not mod.weight.any(), name
    assert not m.fc.weight.any() and not m.fc.bias.any()
    assert m.conv1.weight.any()  # the stem is plain He
    assert any("scalar biases" in n for n in s.notes)


def test_t_fixup_and_deepnorm_factors():
    m = transformer()  # 2 encoder, 2 decoder layers, d = 16
    s = initialize(m, "t_fixup", generator=0)
    enc, dec = 0.67 * 2**-0.25, (9 * 2) ** -0.25
    xav = math.sqrt(2 / (16 + 32))  # Xavier uniform std of linear1 (16 -> 32)
    assert s["encoder.layers.0.linear1.weight"].std == pytest.approx(xav * enc)
    assert s["decoder.layers.1.linear1.weight"].std == pytest.approx(xav * dec)
    attn = m.encoder.layers[0].self_attn.in_proj_weight.detach().chunk(3)
    lim = math.sqrt(6 / 32)  # Xavier uniform bound of a (16, 16) block
    # the largest |entry| of 256 uniform draws exceeds 0.9 of the bound with p = 1 - 0.9^256
    q_max, v_max = float(attn[0].abs().max()), float(attn[2].abs().max())
    assert 0.9 * lim < q_max <= lim + 1e-6  # q: plain Xavier
    assert 0.9 * lim * enc < v_max <= lim * enc + 1e-6  # v: times 0.67 N^(-1/4)
    s = initialize(m, "deepnorm", generator=0)
    n, mm = 2, 2
    beta_e = 0.87 * (n**4 * mm) ** (-1 / 16)
    beta_d = (12 * mm) ** -0.25
    xn = math.sqrt(2 / (16 + 32))
    assert s["encoder.layers.1.linear2.weight"].std == pytest.approx(xn * beta_e)
    assert s["decoder.layers.0.linear2.weight"].std == pytest.approx(xn * beta_d)
    alpha_e = 0.81 * (n**4 * mm) ** (1 / 16)
    assert any(f"alpha = {alpha_e:.4g}" in note for note in s.notes)
    s = initialize(encoder(), "deepnorm", generator=0)  # encoder-only: beta = (8N)^(-1/4)
    assert s["layers.0.linear1.weight"].std == pytest.approx(xn * (8 * 2) ** -0.25)
    with pytest.raises(ParameterError, match="needs a base-width model.*initlab.torch.mup") as e:
        initialize(encoder(), "mup")
    assert e.value.field == "scheme" and e.value.value == "mup"
    # a model-level scheme is for the whole model, not for one layer's override
    with pytest.raises(ParameterError, match="is a model-level scheme") as e:
        initialize(m, overrides={nn.Linear: "gpt2"})
    assert e.value.field == "overrides[<class 'torch.nn.modules.linear.Linear'>]"
    with pytest.raises(ValueError, match="'deepnorm' needs nn.TransformerEncoderLayer"):
        initialize(m, "deepnorm", residual_outputs=["*.linear2"])  # user branches: no stack


# --------------------------------------------------------------------------- muP


def _mlp(width: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(16, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 4)
    )


def test_mup_roles_init_and_learning_rates():
    r = mup(_mlp(256), _mlp(64), lr=1e-2, generator=0)
    roles = {x.name: (x.role, x.width_mult, x.init_mult, x.lr_mult) for x in r.layers}
    assert roles["0.weight"] == ("input", 4.0, 1.0, 1.0)
    assert roles["2.weight"] == ("hidden", 4.0, 1.0, 0.25)
    assert roles["4.weight"] == ("output", 4.0, 0.5, 0.25)  # Var / m: std / sqrt(m)
    assert r.init["4.weight"].std == pytest.approx(0.5 / math.sqrt(256))
    lrs = {n: g["lr"] for g in r.param_groups for n in g["names"]}
    assert lrs["2.weight"] == pytest.approx(2.5e-3) and lrs["0.bias"] == pytest.approx(1e-2)
    assert sum(len(g["params"]) for g in r.param_groups) == 6
    torch.optim.Adam(r.param_groups)  # accepted as they are
    sgd = mup(_mlp(256), _mlp(64), lr=1.0, optimizer="sgd")
    lrs = {x.name: x.lr_mult for x in sgd.layers}
    assert (lrs["0.weight"], lrs["2.weight"], lrs["4.weight"]) == (4.0, 1.0, 0.25)
    with pytest.raises(ValueError, match="base model has no Linear '2'"):
        mup(_mlp(64), nn.Sequential(nn.Linear(16, 8)), lr=1e-2)


def test_coord_check_flat_under_mup_growing_under_sp(tmp_path):
    """After 3 Adam steps at lr 1e-2, SP's hidden and output activations grow about linearly
    with width (measured slopes ~0.6-0.8); muP's stay flat (|slope| ~0.1).  Thresholds 0.4
    and 0.25 sit between the two with margin."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 16, generator=g), torch.randn(64, 4, generator=g)
    c = coord_check(_mlp, [64, 256, 1024], (x, y), steps=3, lr=1e-2)
    for layer in ("2", "4"):
        assert abs(c.slope("mup", layer)) < 0.25, (layer, c.slope("mup", layer))
        assert c.slope("sp", layer) > 0.4, (layer, c.slope("sp", layer))
    assert np.allclose(c.scales("mup", "4", step=0)[:1], c.scales("sp", "4", step=0)[:1])
    text = str(c)
    assert "slope" in text and "w=1024" in text
    c.figure(tmp_path / "coord.png")
    assert (tmp_path / "coord.png").stat().st_size > 1000
