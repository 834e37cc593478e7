"""initialize on the architectures practitioners build today (issue 13's "done when" list):
every tensor set or listed with its reason, two fresh models with the same generator identical,
a finite forward pass, and the meta-device route (to_empty, then initialize(strict=True))."""

import ast
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
from torch import nn  # noqa: E402
from torch_zoo import ALLOWED_LEFT, ZOO, ResNet18, encoder  # noqa: E402

from initlab.torch import initialize  # noqa: E402


def _out(model, inputs):
    model.eval()
    with torch.no_grad():
        y = model(*inputs)
    if hasattr(y, "last_hidden_state"):
        return y.last_hidden_state
    return y.logits if hasattr(y, "logits") else y


@pytest.mark.parametrize("name", list(ZOO))
def test_every_tensor_is_set_or_listed_and_seeds_reproduce(name):
    factory, inputs = ZOO[name]
    torch.manual_seed(1)
    a = factory()
    torch.manual_seed(2)  # construction-time values differ between the two models
    b = factory()
    sa = initialize(a, "he_normal", generator=torch.Generator().manual_seed(0))
    sb = initialize(b, "he_normal", generator=torch.Generator().manual_seed(0))
    names = [n for n, _ in a.named_parameters(remove_duplicate=False)]
    names += [n for n, _ in a.named_buffers(remove_duplicate=False)]
    assert sa.names == names  # one row per parameter and buffer, in model order
    assert {r.name for r in sa.left} == ALLOWED_LEFT.get(name, set())
    for r in sa.left:  # each with its reason: BERT's int64 index buffers
        assert r.left.startswith("torch.int64 buffer") and "recompute it" in r.left, r.left
    state_a, state_b = a.state_dict(), b.state_dict()
    for key, value in state_a.items():
        assert torch.equal(value, state_b[key]), key
    y = _out(a, inputs())
    assert torch.isfinite(y).all()
    assert "tensor(s) set" in str(sa) and str(sa) == str(sb)


def test_attention_blocks_each_get_their_own_fans():
    """in_proj_weight (3E, E) is q, k, v: three (E, E) maps.  Xavier per block has
    Var = 2 / (E + E); torch's own Xavier on the packed matrix uses 2 / (E + 3E)."""
    e = 256
    m = nn.MultiheadAttention(e, 4)
    s = initialize(m, "xavier_normal", generator=torch.Generator().manual_seed(0))
    rec = s["in_proj_weight"]
    assert (rec.fan_in, rec.fan_out, rec.chunks) == (e, e, 3)
    for block in m.in_proj_weight.detach().chunk(3):
        n = block.numel()
        var = 2.0 / (e + e)
        # sample variance of n normal draws: std error var * sqrt(2 / n); 5 standard errors
        assert abs(float(block.var()) - var) < 5 * var * math.sqrt(2 / n)
    assert not m.in_proj_bias.any() and not m.out_proj.bias.any()
    assert s["out_proj.weight"].fan_in == e
    kv = nn.MultiheadAttention(32, 2, kdim=8, vdim=12)
    s = initialize(kv, "lecun_normal", generator=torch.Generator().manual_seed(0))
    assert [s[f"{p}_proj_weight"].fan_in for p in "qkv"] == [32, 8, 12]


def test_attention_override_is_applied_not_ignored():
    m = encoder()
    initialize(m, "he_normal", overrides={nn.MultiheadAttention: "zeros"})
    assert not m.layers[0].self_attn.in_proj_weight.any()
    assert m.layers[0].self_attn.out_proj.weight.any()  # out_proj is its own Linear


def test_tied_weights_are_set_once_and_listed():
    """Drawn once: the generator advances as for a model without lm_head's draw.  A second
    draw into the tied tensor would leave it in the state of the untied model, which draws
    lm_head separately (lm_head is the last module, so every other tensor is the same)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = dict(n_layer=1, n_embd=16, n_head=2, vocab_size=32, n_positions=8)
    tied = GPT2LMHeadModel(GPT2Config(**cfg))
    untied = GPT2LMHeadModel(GPT2Config(**cfg, tie_word_embeddings=False))
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    g_tied, g_untied = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    s = initialize(tied, "random_normal:std=0.5", generator=g_tied)
    initialize(untied, "random_normal:std=0.5", generator=g_untied)
    assert s["lm_head.weight"].tied_to == "transformer.wte.weight"
    assert "tied to transformer.wte.weight" in str(s)
    assert tied.lm_head.weight is tied.transformer.wte.weight  # still one tensor
    assert torch.equal(tied.transformer.wte.weight, untied.transformer.wte.weight)
    assert not torch.equal(g_tied.get_state(), g_untied.get_state())


def test_norm_layers_are_settable_and_statistics_reset():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.GroupNorm(2, 4))
    m[1].running_mean.fill_(5.0)
    m[1].running_var.fill_(-3.0)
    m[1].num_batches_tracked.fill_(7)
    s = initialize(m, norm_weight=0.5, norm_bias=0.25, overrides={nn.GroupNorm: 2.0})
    assert torch.all(m[1].weight == 0.5) and torch.all(m[1].bias == 0.25)
    assert torch.all(m[3].weight == 2.0) and torch.all(m[3].bias == 0.25)
    assert torch.all(m[1].running_mean == 0) and torch.all(m[1].running_var == 1)
    assert int(m[1].num_batches_tracked) == 0
    assert s["1.running_var"].kind == "buffer" and s["1.running_var"].scheme == "reset to 1.0"
    with pytest.raises(ValueError, match="norm_weight='he_normal' scales with the fans"):
        initialize(m, norm_weight="he_normal")


def test_zero_init_residual_zeroes_the_last_norm_of_each_block():
    m = ResNet18()
    s = initialize(m, "he_normal", zero_init_residual=True, generator=0)
    for name, mod in m.named_modules():
        if name.endswith(".bn2"):
            assert not mod.weight.any(), name
        if name.endswith(".bn1"):
            assert torch.all(mod.weight == 1), name
    assert s["layer1.0.bn2.weight"].scheme == "constant:value=0.0"
    with pytest.raises(ValueError, match="no residual branch with a norm"):
        initialize(nn.Sequential(nn.Linear(2, 2)), zero_init_residual=True)


def test_forget_gate_bias_and_per_gate_schemes():
    h = 16
    lstm = nn.LSTM(8, h, num_layers=2)
    s = initialize(
        lstm,
        "xavier_uniform",
        forget_bias=1.0,
        overrides={nn.LSTM: {"recurrent": "orthogonal", "gates": {"cell": "zeros"}}},
        generator=0,
    )
    for layer in range(2):
        b_ih = getattr(lstm, f"bias_ih_l{layer}").detach()
        b_hh = getattr(lstm, f"bias_hh_l{layer}").detach()
        assert torch.all(b_ih[h : 2 * h] == 1.0) and not b_hh[h : 2 * h].any()
        assert not b_ih[:h].any() and not b_ih[2 * h :].any()
        whh = getattr(lstm, f"weight_hh_l{layer}").detach()
        for gate in (0, 1, 3):  # orthogonal blocks: W W^T = I
            block = whh[gate * h : (gate + 1) * h]
            assert torch.allclose(block @ block.T, torch.eye(h), atol=1e-5)
        assert not whh[2 * h : 3 * h].any()  # the cell gate: zeros
    assert "forget gate = 1" in s["bias_ih_l0"].scheme
    gru = nn.GRU(4, h)
    initialize(gru, forget_bias=2.0)
    assert torch.all(gru.bias_ih_l0.detach()[h : 2 * h] == 2.0)  # GRU: the update gate
    with pytest.raises(ValueError, match="forget_bias=1.0 was given but the model has no LSTM"):
        initialize(nn.Linear(2, 2), forget_bias=1.0)


def test_tensors_sets_custom_parameters_and_bad_keys_are_errors():
    class WithToken(nn.Module):
        def __init__(self):
            super().__init__()
            self.cls = nn.Parameter(torch.full((1, 8), float("nan")))
            self.proj = nn.Linear(8, 8)

        def forward(self, x):
            return self.proj(x + self.cls)

    m = WithToken()
    s = initialize(m)
    assert s["cls"].left.startswith("no rule for parameter cls of WithToken")
    s = initialize(m, tensors={"cls": "random_normal:std=0.02"}, generator=0)
    assert s["cls"].std == 0.02 and torch.isfinite(m.cls).all()
    with pytest.raises(ValueError, match=r"tensors\['nope\*'\] matches no parameter"):
        initialize(m, tensors={"nope*": "zeros"})
    with pytest.raises(ValueError, match="overrides\\[ReLU\\] matches no tensor"):
        initialize(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), overrides={nn.ReLU: "zeros"})


# --------------------------------------------------------------------------- meta device


def _meta(factory):
    with torch.device("meta"):
        m = factory()
    m.to_empty(device="cpu")
    return m


@pytest.mark.parametrize("name", list(ZOO))
def test_meta_device_models_become_finite(name):
    factory, inputs = ZOO[name]
    with torch.device("meta"):
        m = factory()
    with pytest.raises(ValueError, match="to_empty.*strict=True"):
        initialize(m)
    m.to_empty(device="cpu")
    tensors = None
    if name in ALLOWED_LEFT:  # BERT's index buffers: strict refuses and says what to do
        with pytest.raises(ValueError, match="position_ids.*recompute it"):
            initialize(m, strict=True)
        n = m.embeddings.position_ids.shape[1]
        m.embeddings.position_ids.copy_(torch.arange(n).unsqueeze(0))
        m.embeddings.token_type_ids.zero_()
        tensors = dict.fromkeys(ALLOWED_LEFT[name], "keep")
    s = initialize(m, "he_normal", strict=True, tensors=tensors, generator=0)
    assert all(r.left == "tensors='keep'" for r in s.left)
    for key, t in m.state_dict().items():
        assert torch.isfinite(t.float()).all(), key
    running_vars = [b for n, b in m.named_buffers() if n.endswith("running_var")]
    assert all(torch.all(v == 1) for v in running_vars)
    assert torch.isfinite(_out(m, inputs())).all()


def test_strict_refuses_before_writing_and_its_message_works():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)
            self.scale = nn.Parameter(torch.empty(4))
            self.register_buffer("offset", torch.empty(4))

        def forward(self, x):
            return self.lin(x) * self.scale + self.offset

    m = _meta(Custom)
    with torch.no_grad():
        m.lin.weight.fill_(7.0)
    with pytest.raises(ValueError) as err:
        initialize(m, strict=True)
    msg = str(err.value)
    assert "scale (parameter, Custom" in msg and "offset (buffer, Custom" in msg
    assert torch.all(m.lin.weight == 7.0)  # nothing was written
    # the message's advice: tensors={'scale': 'zeros', 'offset': 'zeros'}
    advice = msg.rsplit("tensors=", 1)[1].split("}")[0] + "}"
    tensors = ast.literal_eval(advice)
    assert tensors == {"scale": "zeros", "offset": "zeros"}
    initialize(m, strict=True, tensors=tensors, generator=0)
    assert torch.isfinite(m(torch.ones(2, 4))).all()
