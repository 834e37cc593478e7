"""initlab.torch.initialize: module types, fans, gains, equivalence with torch.nn.init, dtypes,
generators, meta-device models, overrides, skip and bad input.

Expected values are computed here from the modules' attributes and the published formulas
(or by torch.nn.init itself), never read back from the code under test.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, stats
from stats_helpers import KURTOSIS, Z, check_variance

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import init as tinit  # noqa: E402

from initlab.torch import initialize  # noqa: E402

SQRT2 = math.sqrt(2.0)
ALPHA = 1e-3  # KS: a correct law fails with probability 1e-3 under a fresh seed; seeds are fixed


def gen(seed: int) -> "torch.Generator":
    return torch.Generator().manual_seed(seed)


def values(t) -> np.ndarray:
    return t.detach().to(torch.float64).numpy().ravel()


def gaussian_gain(g) -> float:
    """1 / sqrt(E[g(z)^2]), z ~ N(0, 1), by adaptive quadrature (independent of initlab)."""
    m2, _ = integrate.quad(
        lambda z: g(z) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 0
    )
    m2b, _ = integrate.quad(
        lambda z: g(z) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), 0, 12
    )
    return 1.0 / math.sqrt(m2 + m2b)


# --------------------------------------------------------------------------- imports


def test_core_never_imports_torch():
    code = (
        "import sys, initlab, initlab.schemes, initlab.activations, initlab.cli; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_import_torch_inside_the_package_is_pytorch():
    import initlab.torch._init as mod
    import initlab.torch._sample as sample

    assert mod.torch is sys.modules["torch"] is sample.torch
    assert hasattr(mod.torch, "Tensor") and "initlab" not in mod.torch.__file__


# --------------------------------------------------------------------------- module types

# factory, {parameter: (fan_in, fan_out, chunks)} computed from the constructor arguments:
# grouped conv: fan_in = in/g * rf, fan_out = out/g * rf; ConvTranspose(in, out, k, stride=s,
# groups=g): fan_in = in/g * rf / s^d, fan_out = out/g * rf; MultiheadAttention(E): q/k/v
# blocks of (E, E) each
MODULES = {
    "Linear": (lambda: nn.Linear(200, 100), {"weight": (200, 100, 1)}),
    "Conv1d": (lambda: nn.Conv1d(32, 64, 5), {"weight": (32 * 5, 64 * 5, 1)}),
    "Conv2d": (lambda: nn.Conv2d(16, 32, 5), {"weight": (16 * 25, 32 * 25, 1)}),
    "Conv2d_groups": (lambda: nn.Conv2d(32, 64, 3, groups=4), {"weight": (8 * 9, 16 * 9, 1)}),
    "Conv2d_depthwise": (lambda: nn.Conv2d(64, 64, 3, groups=64), {"weight": (9, 9, 1)}),
    "Conv3d": (lambda: nn.Conv3d(16, 32, 3), {"weight": (16 * 27, 32 * 27, 1)}),
    "ConvTranspose1d": (lambda: nn.ConvTranspose1d(32, 64, 5), {"weight": (32 * 5, 64 * 5, 1)}),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(16, 32, 5), {"weight": (16 * 25, 32 * 25, 1)}),
    "ConvTranspose2d_groups": (
        lambda: nn.ConvTranspose2d(64, 32, 3, groups=4),
        {"weight": (16 * 9, 8 * 9, 1)},
    ),
    "ConvTranspose2d_stride": (
        lambda: nn.ConvTranspose2d(64, 32, 4, stride=2),  # DCGAN's layer
        {"weight": (64 * 16 // 4, 32 * 16, 1)},
    ),
    "ConvTranspose3d": (lambda: nn.ConvTranspose3d(16, 32, 3), {"weight": (16 * 27, 32 * 27, 1)}),
    "Embedding": (lambda: nn.Embedding(1000, 16), {"weight": (16, 1000, 1)}),
    "RNN": (
        lambda: nn.RNN(64, 128),
        {"weight_ih_l0": (64, 128, 1), "weight_hh_l0": (128, 128, 1)},
    ),
    "LSTM": (
        lambda: nn.LSTM(32, 64, num_layers=2, bidirectional=True, proj_size=16),
        {
            "weight_ih_l0": (32, 64, 4),
            "weight_hh_l0": (16, 64, 4),
            "weight_hr_l0": (64, 16, 1),
            "weight_ih_l1_reverse": (32, 64, 4),  # input of layer 1: 2 directions x proj 16
        },
    ),
    "GRU": (lambda: nn.GRU(48, 64), {"weight_ih_l0": (48, 64, 3), "weight_hh_l0": (64, 64, 3)}),
    "MultiheadAttention": (lambda: nn.MultiheadAttention(64, 4), {"in_proj_weight": (64, 64, 3)}),
    "MultiheadAttention_kdim": (
        lambda: nn.MultiheadAttention(64, 4, kdim=16, vdim=32),
        {"q_proj_weight": (64, 64, 1), "k_proj_weight": (16, 64, 1), "v_proj_weight": (32, 64, 1)},
    ),
}


@pytest.mark.parametrize("kind", list(MODULES))
def test_every_module_type_is_initialized_with_its_fans(kind):
    factory, expected = MODULES[kind]
    m = factory()
    summary = initialize(m, "he_normal", generator=gen(0))
    # every parameter of the module appears in the summary
    assert set(summary.names) == {n for n, _ in m.named_parameters()}
    params = dict(m.named_parameters())
    for name, (fan_in, fan_out, chunks) in expected.items():
        rec = summary[name]
        assert (rec.fan_in, rec.fan_out, rec.chunks) == (fan_in, fan_out, chunks)
        # recurrent layers of LSTM/GRU and a bare layer: no activation known -> He's sqrt(2);
        # nn.RNN: its own tanh; attention's q/k/v projections are linear maps: gain 1
        g = 5.0 / 3.0 if kind == "RNN" else 1.0 if kind.startswith("Multihead") else SQRT2
        assert rec.gain == pytest.approx(g, rel=1e-12)
        assert rec.std == pytest.approx(g / math.sqrt(fan_in), rel=1e-12)
        w = values(params[name])
        check_variance(w, g * g / fan_in, KURTOSIS["normal"])
    for name, p in params.items():
        if "bias" in name:
            assert summary[name].scheme == "zeros" and not p.detach().any()


def test_recurrent_gates_are_initialized_one_by_one():
    lstm = nn.LSTM(16, 32)
    initialize(lstm, "orthogonal", generator=gen(3))
    for name in ("weight_ih_l0", "weight_hh_l0"):
        w = getattr(lstm, name).detach().double()
        for gate in w.chunk(4, dim=0):  # (32, cols): orthonormal columns (cols <= 32)
            c = gate.shape[1]
            assert torch.allclose(gate.T @ gate, torch.eye(c, dtype=torch.float64), atol=1e-5)
    # Deliberate difference: torch.nn.init.orthogonal_ on the fused (128, 32) hh matrix makes
    # the whole matrix semi-orthogonal, so no gate block is orthogonal by itself.
    ref = torch.empty(128, 32)
    tinit.orthogonal_(ref, generator=gen(3))
    block = ref[:32].double()
    assert not torch.allclose(block.T @ block, torch.eye(32, dtype=torch.float64), atol=1e-2)


def test_recurrent_xavier_uses_the_gate_fans_not_the_fused_ones():
    lstm = nn.LSTM(64, 128)
    s = initialize(lstm, "xavier_normal", generator=gen(4))
    ours = 2.0 / (64 + 128)  # one gate: (128, 64)
    fused = 2.0 / (64 + 4 * 128)  # torch.nn.init on (512, 64)
    assert s["weight_ih_l0"].std == pytest.approx(math.sqrt(ours))
    check_variance(values(lstm.weight_ih_l0), ours, KURTOSIS["normal"])
    ref = torch.empty(512, 64)
    tinit.xavier_normal_(ref, generator=gen(5))
    check_variance(values(ref), fused, KURTOSIS["normal"])


def test_embedding_padding_row_stays_zero():
    e = nn.Embedding(50, 8, padding_idx=3)
    initialize(e, "xavier_uniform", generator=gen(1))
    assert not e.weight[3].any() and e.weight[4].abs().sum() > 0


# --------------------------------------------------------------------------- ConvTranspose fans


def test_conv_transpose_fans_differ_from_torch_nn_init_on_purpose():
    """initlab: ConvTranspose2d(16, 32, 3) gets the fans of Conv2d(16, 32, 3): fan_in = 16 * 9.
    torch.nn.init reads fan_in = size(1) * 9 = 32 * 9 and fan_out = size(0) * 9 = 16 * 9."""
    ct = nn.ConvTranspose2d(16, 32, 3)
    s = initialize(ct, "he_normal", generator=gen(7))
    t_fan_in, t_fan_out = tinit._calculate_fan_in_and_fan_out(ct.weight)
    assert (t_fan_in, t_fan_out) == (32 * 9, 16 * 9)
    assert (s["weight"].fan_in, s["weight"].fan_out) == (t_fan_out, t_fan_in) == (144, 288)
    check_variance(values(ct.weight), 2.0 / 144, KURTOSIS["normal"])
    ref = torch.empty_like(ct.weight)
    tinit.kaiming_normal_(ref, nonlinearity="relu", generator=gen(8))
    check_variance(values(ref), 2.0 / 288, KURTOSIS["normal"])
    assert stats.ks_2samp(values(ct.weight), values(ref)).pvalue < 1e-6
    # the same fans as the Conv2d that maps the same channels, which torch agrees with
    conv = nn.Conv2d(16, 32, 3)
    assert tinit._calculate_fan_in_and_fan_out(conv.weight) == (144, 288)


# --------------------------------------------------------------------------- equivalence


def _linear():
    return nn.Linear(400, 300)


def _conv():
    return nn.Conv2d(64, 32, 3)


SHAPES = {"Linear(400,300)": _linear, "Conv2d(64,32,3)": _conv}

# initlab spec -> the torch.nn.init call with the same law
EQUIVALENT = {
    "xavier_normal": lambda t, g: tinit.xavier_normal_(t, generator=g),
    "xavier_uniform": lambda t, g: tinit.xavier_uniform_(t, generator=g),
    "he_normal": lambda t, g: tinit.kaiming_normal_(t, nonlinearity="relu", generator=g),
    "he_normal:mode=fan_out": lambda t, g: tinit.kaiming_normal_(
        t, mode="fan_out", nonlinearity="relu", generator=g
    ),
    "he_uniform": lambda t, g: tinit.kaiming_uniform_(t, nonlinearity="relu", generator=g),
    "he_uniform:mode=fan_out": lambda t, g: tinit.kaiming_uniform_(
        t, mode="fan_out", nonlinearity="relu", generator=g
    ),
    "lecun_normal": lambda t, g: tinit.kaiming_normal_(t, nonlinearity="linear", generator=g),
    "torch_default": lambda t, g: tinit.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
    "orthogonal": lambda t, g: tinit.orthogonal_(t, generator=g),
    "random_normal:std=0.02": lambda t, g: tinit.normal_(t, std=0.02, generator=g),
    "random_normal:std=0.5,mean=0.1": lambda t, g: tinit.normal_(t, 0.1, 0.5, generator=g),
    "random_uniform:low=-0.3,high=0.2": lambda t, g: tinit.uniform_(t, -0.3, 0.2, generator=g),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("spec", list(EQUIVALENT))
def test_same_distribution_as_torch_nn_init(spec, shape):
    layer = SHAPES[shape]()
    initialize(layer, spec, generator=gen(11))
    ref = torch.empty_like(layer.weight)
    EQUIVALENT[spec](ref, gen(12))  # an independent draw
    p = stats.ks_2samp(values(layer.weight), values(ref)).pvalue
    assert p > ALPHA, (spec, shape, p)


@pytest.mark.parametrize("spec", ["xavier_normal", "he_uniform", "orthogonal"])
def test_ks_comparison_has_power(spec):
    """The KS test above rejects a law off by 10% in scale, so passing it means something."""
    layer = _linear()
    initialize(layer, spec, generator=gen(11))
    ref = torch.empty_like(layer.weight)
    EQUIVALENT[spec](ref, gen(12))
    assert stats.ks_2samp(values(layer.weight), 1.1 * values(ref)).pvalue < 1e-6


@pytest.mark.parametrize("spec", ["he_normal", "xavier_uniform", "orthogonal", "random_normal"])
def test_same_generator_state_gives_torch_nn_init_numbers(spec):
    """For float32, initlab draws the way torch.nn.init does: one normal_/uniform_ call on the
    tensor (orthogonal: one (rows, cols) normal_ then QR), so equal seeds give equal numbers up
    to the rounding of the std or bound."""
    fn = EQUIVALENT.get(spec) or (lambda t, g: tinit.normal_(t, generator=g))
    layer = _conv()
    initialize(layer, spec, generator=gen(5))
    ref = torch.empty_like(layer.weight)
    fn(ref, gen(5))
    assert torch.allclose(layer.weight, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_orthogonal_singular_values_and_entries(shape):
    layer = SHAPES[shape]()
    initialize(layer, "orthogonal:gain=1.5", generator=gen(2))
    w = layer.weight.detach().double().reshape(layer.weight.shape[0], -1)
    sv = torch.linalg.svdvals(w)
    assert torch.allclose(sv, torch.full_like(sv, 1.5), atol=1e-5)
    ref = torch.empty_like(layer.weight)
    tinit.orthogonal_(ref, gain=1.5, generator=gen(3))
    assert torch.allclose(torch.linalg.svdvals(ref.double().reshape(w.shape)), sv, atol=1e-5)
    assert stats.ks_2samp(values(layer.weight), values(ref)).pvalue > ALPHA


@pytest.mark.parametrize(
    ("spec", "fn"),
    [
        ("zeros", tinit.zeros_),
        ("ones", tinit.ones_),
        ("constant:value=0.37", lambda t: tinit.constant_(t, 0.37)),
    ],
)
def test_constants_equal_torch_nn_init(spec, fn):
    for factory in SHAPES.values():
        layer = factory()
        initialize(layer, spec)
        ref = torch.empty_like(layer.weight)
        fn(ref)
        assert torch.equal(layer.weight.detach(), ref)


def test_torch_default_weight_and_bias_match_torch_reset_parameters():
    layer = nn.Linear(400, 300)
    s = initialize(layer, "torch_default", bias="torch_default", generator=gen(1))
    bound = 1 / math.sqrt(400)
    assert s["bias"].std == pytest.approx(2 * bound / math.sqrt(12))
    torch.manual_seed(2)
    ref = nn.Linear(400, 300)  # torch's own reset_parameters
    assert stats.ks_2samp(values(layer.weight), values(ref.weight)).pvalue > ALPHA
    assert stats.ks_2samp(values(layer.bias), values(ref.bias)).pvalue > ALPHA
    assert layer.bias.abs().max() < bound


def test_truncated_normal_is_variance_corrected_unlike_torch_trunc_normal():
    """initlab's truncated_normal:std=s has std s, bounds 2 sigma with sigma = s / 0.8796;
    torch.nn.init.trunc_normal_(std=s, a=-2s, b=2s) truncates N(0, s^2) at absolute bounds
    and has std 0.8796 s."""
    s, ratio = 0.1, 0.87962566103423978
    layer = _linear()
    rec = initialize(layer, f"truncated_normal:std={s}", generator=gen(1))["weight"]
    assert rec.std == pytest.approx(s)
    w = values(layer.weight)
    n = w.size
    sigma = s / ratio
    assert w.min() >= -2 * sigma and w.max() <= 2 * sigma
    ref = torch.empty_like(layer.weight)
    tinit.trunc_normal_(ref, std=s, a=-2 * s, b=2 * s, generator=gen(2))
    r = values(ref)
    kurt = stats.truncnorm(-2, 2).stats(moments="k") + 3.0
    tol = Z * math.sqrt((kurt - 1.0) / n)
    assert abs(w.var() / s**2 - 1) <= tol
    assert abs(r.var() / (ratio * s) ** 2 - 1) <= tol
    law = stats.truncnorm(-2, 2, scale=sigma)
    assert stats.kstest(w, law.cdf).pvalue > ALPHA
    assert stats.ks_2samp(w, r).pvalue < 1e-6


def test_variance_scaling_truncated_has_the_exact_variance():
    layer = _conv()
    s = initialize(layer, "variance_scaling:scale=2.0", generator=gen(9))
    fan_in = 64 * 9
    assert s["weight"].std == pytest.approx(math.sqrt(2.0 / fan_in))
    kurt = stats.truncnorm(-2, 2).stats(moments="k") + 3.0
    check_variance(values(layer.weight), 2.0 / fan_in, kurt)


def test_sparse_zeroes_each_units_incoming_weights():
    """initlab's sparse: ceil(sparsity * fan_in) zeros in every unit's incoming weights (a row in
    torch's (out, in) layout).  torch.nn.init.sparse_ instead zeroes ceil(sparsity * out)
    entries per column."""
    lin = nn.Linear(40, 30)
    initialize(lin, "sparse:sparsity=0.25,std=0.5", generator=gen(1))
    zeros_per_row = (lin.weight == 0).sum(dim=1)
    assert torch.all(zeros_per_row == math.ceil(0.25 * 40))
    conv = nn.Conv2d(8, 6, 3)
    initialize(conv, "sparse:sparsity=0.5", generator=gen(1))
    assert torch.all((conv.weight.reshape(6, -1) == 0).sum(dim=1) == 36)
    ct = nn.ConvTranspose2d(4, 6, 3)  # a unit is an output channel: weight[:, j]
    initialize(ct, "sparse:sparsity=0.5", generator=gen(1))
    assert torch.all((ct.weight.transpose(0, 1).reshape(6, -1) == 0).sum(dim=1) == 18)


def test_identity_and_dirac():
    lin = nn.Linear(5, 7)
    initialize(lin, "identity")
    assert torch.equal(lin.weight.detach(), torch.eye(7, 5))
    conv = nn.Conv2d(6, 6, 3, padding=1)
    initialize(conv, "dirac")
    x = torch.randn(2, 6, 5, 5)
    assert torch.allclose(conv(x), x)
    ref = torch.empty(8, 2, 3, 3)
    tinit.dirac_(ref, groups=2)
    grouped = nn.Conv2d(4, 8, 3, groups=2)
    initialize(grouped, "dirac")
    assert torch.equal(grouped.weight.detach(), ref)
    ct = nn.ConvTranspose2d(6, 6, 3, padding=1)
    initialize(ct, "dirac")
    assert torch.allclose(ct(x), x)


# --------------------------------------------------------------------------- gains


def test_gain_is_inferred_from_the_following_activation():
    model = nn.Sequential(
        nn.Linear(64, 64),  # 0 -> tanh
        nn.Tanh(),
        nn.Linear(64, 64),  # 2 -> relu, through dropout
        nn.Dropout(0.1),
        nn.ReLU(),
        nn.Linear(64, 64),  # 5 -> leaky_relu(0.2)
        nn.LeakyReLU(0.2),
        nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64)),  # 7.0 -> silu, nested + BN
        nn.SiLU(),
        nn.Linear(64, 64),  # 9 -> another layer: linear
        nn.Linear(64, 64),  # 10 -> gelu
        nn.GELU(),
        nn.Linear(64, 64),  # 12 -> hardswish (numeric, through the module)
        nn.Hardswish(),
        nn.Linear(64, 10),  # 14 -> end of the model: linear
    )
    s = initialize(model, "he_normal", generator=gen(0))

    def silu(z):
        return z / (1 + math.exp(-z))

    def gelu(z):
        return z * 0.5 * math.erfc(-z / SQRT2)

    def hardswish(z):
        return z * min(max(z + 3, 0), 6) / 6

    expected = {
        "0.weight": ("tanh", 5 / 3),
        "2.weight": ("relu", SQRT2),
        "5.weight": ("leaky_relu:0.2", math.sqrt(2 / 1.04)),
        "7.0.weight": ("silu", gaussian_gain(silu)),
        "9.weight": ("linear", 1.0),
        "10.weight": ("gelu", gaussian_gain(gelu)),
        "12.weight": ("Hardswish (numeric)", gaussian_gain(hardswish)),
        "14.weight": ("linear", 1.0),
    }
    for name, (label, g) in expected.items():
        rec = s[name]
        assert rec.activation == label
        assert rec.gain == pytest.approx(g, rel=1e-6)
        assert rec.std == pytest.approx(g / 8.0, rel=1e-6)  # He: gain / sqrt(64)
    assert s["7.0.weight"].activation == "silu"
    assert s["7.0.weight"].source == "silu (traced)"
    # the norm layer: weight 1, bias 0, running statistics reset
    assert (s["7.1.weight"].scheme, s["7.1.bias"].scheme) == (
        "constant:value=1.0",
        "constant:value=0.0",
    )
    assert s["7.1.running_var"].kind == "buffer" and torch.all(model[7][1].running_var == 1)


def test_gain_rules_unknown_explicit_fixed_and_schemes_without_gain():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8))

        def forward(self, x):
            return torch.relu(self.body(x))

    class Opaque(nn.Module):  # a successor the graph cannot read: a custom parametrized op
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(8, 8))
            self.w = nn.Parameter(torch.ones(8))

        def forward(self, x):
            return torch.cumsum(self.body(x) * self.w, dim=-1)

    m = Block()
    s = initialize(m, "he_normal")
    assert s["body.0.weight"].gain == pytest.approx(5 / 3)
    # the end of a Sequential inside a custom forward that applies torch.relu: traced, relu
    assert s["body.2.weight"].activation == "relu" and s["body.2.weight"].gain == pytest.approx(
        SQRT2
    )
    assert s["body.2.weight"].source == "relu (traced)"
    # an unknown successor: He's own sqrt(2), and the summary says so
    s = initialize(Opaque(), "he_normal")
    assert s["body.0.weight"].activation is None and s["body.0.weight"].gain == pytest.approx(SQRT2)
    assert s["body.0.weight"].source == "default (unknown successor)"
    assert s["w"].left.startswith("no rule for parameter w of Opaque")
    # an explicit activation applies to every layer
    s = initialize(m, "xavier_normal", activation="relu")
    assert [r.gain for r in s if r.name.endswith("weight")] == pytest.approx([SQRT2, SQRT2])
    s = initialize(m, "xavier_normal", activation=nn.ELU(alpha=0.5))
    elu = gaussian_gain(lambda z: z if z > 0 else 0.5 * math.expm1(z))
    assert s["body.0.weight"].gain == pytest.approx(elu, rel=1e-6)
    # a gain fixed in the spec wins; lecun and identity never take one from the activation
    s = initialize(m, "he_normal:gain=1")
    assert s["body.0.weight"].gain == 1.0 and s["body.0.weight"].std == pytest.approx(1 / 8**0.5)
    s = initialize(m, "lecun_normal")
    assert s["body.0.weight"].gain is None and s["body.0.weight"].std == pytest.approx(8**-0.5)
    s = initialize(m, "identity")
    assert s["body.0.weight"].gain == 1.0 and torch.equal(m.body[0].weight.detach(), torch.eye(8))
    from initlab import schemes

    gain_schemes = {n for n in schemes.available() if schemes.info(n).gain_from_activation}
    assert gain_schemes == {
        "xavier_normal",
        "xavier_uniform",
        "he_normal",
        "he_uniform",
        "orthogonal",
    }


def test_a_registered_scheme_takes_its_gain_from_the_activation_by_its_own_flag(monkeypatch):
    """The torch adapter reads ``gain_from_activation`` from the registry (no hand list): a
    scheme registered in a test with the flag gets sqrt(2) after a ReLU, one without keeps 1."""
    from initlab import schemes
    from initlab.schemes import registry
    from initlab.schemes.sampling import normal_distribution

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def law(fans, *, gain: float = 1.0):
        return normal_distribution(gain / fans.fan_in**0.5)

    for name, flag in (("gain_flag_on", True), ("gain_flag_off", False)):
        law.__name__ = name
        law.__doc__ = "A test law.\n\nFormula: W ~ N(0, gain^2 / fan_in)"
        schemes.scheme("plain", gain_from_activation=flag)(law)
    m = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    on = initialize(m, "gain_flag_on", generator=0)
    off = initialize(m, "gain_flag_off", generator=0)
    assert on["0.weight"].gain == pytest.approx(SQRT2) and on["0.weight"].source.startswith("relu")
    assert off["0.weight"].gain == 1.0 and off["0.weight"].source == "the scheme's own"
    assert on["0.weight"].std == pytest.approx(SQRT2 / 4) and off["0.weight"].std == 0.25


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("he_normal", "normal"),
        ("xavier_uniform", "uniform"),
        ("truncated_normal:std=0.05", "truncated"),
        ("orthogonal", "orthogonal"),
    ],
)
def test_low_precision_sampling(dtype, spec, kind):
    layer = nn.Linear(400, 300).to(dtype)
    rec = initialize(layer, spec, generator=gen(1))["weight"]
    assert layer.weight.dtype == dtype and torch.isfinite(layer.weight).all()
    w = values(layer.weight)
    n = w.size
    kurt = {
        "normal": 3.0,
        "uniform": 1.8,
        "truncated": stats.truncnorm(-2, 2).stats(moments="k") + 3.0,
        "orthogonal": 3.0,
    }[kind]
    # sampling error plus the rounding of each value (relative 2^-8 for bfloat16)
    tol = Z * math.sqrt((kurt - 1.0) / n) + 2 * 2.0**-8
    assert abs(w.var() / rec.std**2 - 1) <= tol, (w.var(), rec.std**2)
    if kind == "uniform":
        bound = math.sqrt(6 / 700)
        assert w.min() >= -bound and w.max() < bound


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_uniform_values_that_round_out_of_the_bounds_are_redrawn(dtype):
    """torch's uniform_(-0.3, 0.2) in float16/bfloat16 rounds -0.3 to a value below it and
    returns it now and then; initlab re-draws such values instead of keeping or clipping them."""
    raw = torch.empty(500_000, dtype=dtype).uniform_(-0.3, 0.2, generator=gen(3)).double()
    assert (raw < -0.3).any()  # what the re-draw prevents
    layer = nn.Linear(1000, 500).to(dtype)
    initialize(layer, "random_uniform:low=-0.3,high=0.2", generator=gen(3))
    w = values(layer.weight)
    assert w.min() >= -0.3 and w.max() < 0.2


def test_overflow_is_an_error_not_inf():
    layer = nn.Linear(10, 10).to(torch.float16)
    with pytest.raises(ValueError, match="overflow"):
        initialize(layer, "random_normal:std=1e6", generator=gen(0))


# --------------------------------------------------------------------------- generators


def _mixed():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 4, 3),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 16),
        nn.Tanh(),
        nn.Linear(16, 4),
    )


@pytest.mark.parametrize(
    "spec",
    [
        "he_normal",
        "xavier_uniform",
        "truncated_normal:std=0.1",
        "orthogonal",
        "sparse:sparsity=0.3",
    ],
)
def test_generator_reproducibility_and_no_global_rng(spec):
    a, b, c = _mixed(), _mixed(), _mixed()
    state = torch.get_rng_state()
    initialize(a, spec, bias="random_normal:std=0.1", generator=gen(42))
    initialize(b, spec, bias="random_normal:std=0.1", generator=gen(42))
    initialize(c, spec, bias="random_normal:std=0.1", generator=gen(43))
    assert torch.equal(torch.get_rng_state(), state)  # every draw went through the generator
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb)
        assert not torch.equal(pa, pc)


def test_int_seed_is_a_cpu_generator_with_that_seed():
    a, b = _mixed(), _mixed()
    initialize(a, "he_uniform", generator=7)
    initialize(b, "he_uniform", generator=gen(7))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


# --------------------------------------------------------------------------- meta device


def test_meta_device_model_turned_real():
    with torch.device("meta"):
        model = _mixed()
    with pytest.raises(ValueError, match="meta device.*to_empty"):
        initialize(model, "he_normal")
    model.to_empty(device="cpu")
    s = initialize(model, "he_normal", generator=gen(5))
    real = _mixed()
    initialize(real, "he_normal", generator=gen(5))
    for p, q in zip(model.parameters(), real.parameters(), strict=True):
        assert p.device.type == "cpu" and torch.equal(p, q)
    assert s["4.weight"].std == pytest.approx(5 / 3 / math.sqrt(256))


# --------------------------------------------------------------------------- overrides, skip


def test_overrides_by_type_and_name_pattern():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Sequential(nn.Linear(8 * 6 * 6, 32), nn.ReLU(), nn.Linear(32, 4)),
    )
    s = initialize(
        model,
        "he_normal",
        overrides={
            "3.*": "xavier_uniform",  # name pattern: beats the type key below
            nn.Linear: {"scheme": "orthogonal", "bias": 0.5},
            nn.Conv2d: {"scheme": "lecun_uniform", "activation": None},
            "3.2": {"scheme": "random_normal:std=0.01", "bias": "keep"},  # later pattern wins
        },
        generator=gen(1),
    )
    assert s["0.weight"].scheme == "lecun_uniform"
    assert s["3.0.weight"].scheme == "xavier_uniform" and s["3.0.weight"].gain == pytest.approx(
        SQRT2
    )
    assert s["3.0.bias"].scheme.startswith("constant") and torch.all(model[3][0].bias == 0.5)
    assert s["3.2.weight"].scheme == "random_normal:std=0.01"
    assert s["3.2.bias"].scheme == "keep"


def test_skip_leaves_modules_and_their_children_alone():
    model = _mixed()
    before = [p.detach().clone() for p in model.parameters()]
    s = initialize(model, "zeros", skip=[nn.ConvTranspose2d, "4"])
    after = list(model.parameters())
    changed = [not torch.equal(b, a) for b, a in zip(before, after, strict=True)]
    # 0.weight 0.bias 2.weight 2.bias 4.weight 4.bias 6.weight 6.bias
    assert changed == [True, True, False, False, False, False, True, True]
    assert s["2.weight"].left == "skip" and s["4.bias"].left == "skip"
    outer = nn.Sequential(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3)), nn.Linear(3, 3))
    s = initialize(outer, "ones", skip="0")
    assert s.written == ["1.weight", "1.bias"]
    assert [r.left for r in s.left] == ["skip"] * 4  # 0.0 and 0.1: inside the skipped "0"


# --------------------------------------------------------------------------- bad input


def test_no_initializable_layer_is_a_clear_error():
    with pytest.raises(ValueError, match="no layer initlab.torch can initialize.*Softmax"):
        initialize(nn.Sequential(nn.ReLU(), nn.Softmax(-1)))
    with pytest.raises(ValueError, match="every initializable layer .* skipped"):
        initialize(nn.Sequential(nn.Linear(2, 2)), skip=nn.Linear)


def test_unknown_scheme_lists_the_names():
    with pytest.raises(ValueError, match=r"unknown initialization scheme 'he_norml'.*he_normal"):
        initialize(nn.Linear(3, 3), "he_norml")
    with pytest.raises(
        ValueError, match=r"'fixupp'.*model-level.*gpt2, fixup.*\(did you mean fixup\?\)"
    ):
        initialize(nn.Linear(3, 3), "fixupp")
    with pytest.raises(ValueError, match="overrides.*he_norml|he_norml"):
        initialize(nn.Linear(3, 3), overrides={nn.Linear: "he_norml"})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scheme": "lsuv"}, ValueError, "data-dependent.*initlab.torch.lsuv"),
        ({"scheme": 3}, TypeError, "scheme must be"),
        ({"bias": "orthogonal"}, ValueError, "elementwise"),
        ({"bias": [1]}, TypeError, "bias must be"),
        ({"activation": "swishy"}, ValueError, "activation='swishy' has no gain"),
        ({"activation": nn.Softmax2d()}, ValueError, "not an elementwise activation"),
        ({"generator": "seed"}, TypeError, "generator must be"),
        ({"generator": -1}, ValueError, "generator seed must be >= 0"),
        ({"skip": "nope*"}, ValueError, "'nope\\*' .*matches no module"),
        ({"overrides": {nn.Conv3d: "zeros"}}, ValueError, "Conv3d .*matches no module"),
        ({"overrides": {"0": {"shceme": "zeros"}}}, ValueError, "unknown field.*'shceme'"),
        ({"overrides": {3: "zeros"}}, TypeError, "overrides keys must be"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        initialize(nn.Sequential(nn.Linear(3, 3)), **kwargs)


def test_structured_scheme_on_the_wrong_layer_fails_before_writing():
    model = nn.Sequential(nn.Linear(4, 4), nn.Conv2d(2, 2, 3))
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"1\.weight \(Conv2d.*identity needs a 2-D weight"):
        initialize(model, "identity")
    with pytest.raises(ValueError, match=r"0\.weight \(Linear.*dirac needs a convolution"):
        initialize(model, "dirac")
    assert all(torch.equal(b, a) for b, a in zip(before, model.parameters(), strict=True))


def test_not_a_module_and_lazy_modules():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        initialize(torch.zeros(3))
    with pytest.raises(ValueError, match="not materialized.*forward pass"):
        initialize(nn.LazyLinear(4))


def test_no_state_is_left_on_the_model():
    model = _mixed()
    keys = {n: set(m.__dict__) for n, m in model.named_modules()}
    pkeys = {n: set(p.__dict__) for n, p in model.named_parameters()}
    initialize(model, "orthogonal", generator=gen(0))
    assert keys == {n: set(m.__dict__) for n, m in model.named_modules()}
    assert pkeys == {n: set(p.__dict__) for n, p in model.named_parameters()}
    assert all(not p.grad_fn and p.grad is None for p in model.parameters())


def test_summary_prints_and_serialises():
    s = initialize(_mixed(), "he_normal", generator=gen(0))
    text = str(s)
    assert "0.weight" in text and "fan_in" in text and "relu" in text
    d = s.to_dicts()[0]
    assert d["name"] == "0.weight" and d["fan_in"] == 27 and d["shape"] == [8, 3, 3, 3]
    with pytest.raises(KeyError, match="no parameter or buffer 'nope'"):
        s["nope"]


def test_wrapped_and_parametrized_models():
    inner = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    s = initialize(nn.DataParallel(inner), "he_normal", generator=gen(0))
    assert s.names == ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]
    assert s["module.0.weight"].activation == "relu"
    assert s["module.2.weight"].activation == "linear"  # the wrapped Sequential is the model
    from torch.nn.utils.parametrizations import weight_norm

    wn = nn.Sequential(weight_norm(nn.Linear(4, 8)), nn.ReLU(), nn.Linear(8, 2))
    before = [p.detach().clone() for p in wn[0].parameters()]
    s = initialize(wn, "zeros")
    assert s.written == ["2.weight", "2.bias"]
    assert {r.left for r in s.left} == {"ParametrizedLinear with parametrized weights"}
    assert len(s.left) == len(list(wn[0].parameters()))  # every one of its tensors has a row
    assert all(torch.equal(b, p) for b, p in zip(before, wn[0].parameters(), strict=True))


def test_compatibility_samplers_run_the_registered_rules():
    """orthogonal_ and sparse_rows_ (kept for callers of the old adapter) run the one rule."""
    from initlab.torch._sample import orthogonal_, sparse_rows_

    w = torch.empty(30, 8, 3)
    std = orthogonal_(w, 1.5, gen(4))
    m = w.double().reshape(30, -1)
    assert torch.allclose(m.T @ m, 2.25 * torch.eye(24, dtype=torch.float64), atol=1e-5)
    assert std == pytest.approx(1.5 / math.sqrt(30))
    ref = torch.empty(30, 8, 3)
    tinit.orthogonal_(ref, gain=1.5, generator=gen(4))  # the same numbers as torch.nn.init
    assert torch.allclose(w, ref, rtol=1e-5, atol=1e-6)
    u = torch.empty(20, 40)
    sparse_rows_(u, 0.25, 0.5, gen(1))
    assert torch.all((u == 0).sum(dim=1) == 10)
