"""The model-level schemes of the residual era, each defined once: gpt2, fixup, t_fixup,
deepnorm and mup.

A model-level scheme needs a structure that one tensor does not have (the model's residual
branches, or the same model at a base width), so it is registered with category ``"model"``,
the structure it ``needs``, its ``paper`` and the ``entry`` that applies it
(:func:`initlab.torch.initialize` or :func:`initlab.torch.mup`).  Its definition returns the
per-tensor scheme of the model's ordinary tensors; the factors of the tensors the structure
picks out are the pure functions below, which the torch adapter
(:mod:`initlab.torch._residual`, :mod:`initlab.torch._mup`) applies to the branches it finds.

``L`` is the number of residual branches; Transformer stacks count ``N`` encoder and ``M``
decoder layers.  These schemes are not offered by ``RunConfig``, the web page or
:func:`initlab.network.init_network`, which refuse them (see :mod:`initlab.schemes.registry`).
"""

from __future__ import annotations

import math

from initlab._checks import check_finite_real, check_positive_int
from initlab.schemes.registry import parse_scheme, scheme

__all__ = [
    "deepnorm",
    "deepnorm_constants",
    "fixup",
    "fixup_multiplier",
    "gpt2",
    "gpt2_branch_std",
    "mup",
    "t_fixup",
    "t_fixup_factors",
]

_INIT = "initlab.torch.initialize"
_FOUND = "(ResNet blocks, Transformer layers, HF GPT-2/BERT blocks, or residual_outputs=[...])"
_STACK = "nn.TransformerEncoderLayer/DecoderLayer blocks"


@scheme(
    "model",
    needs=f"residual branches {_FOUND}",
    paper="Radford et al. 2019 (GPT-2); HF GPT2PreTrainedModel._init_weights and nanoGPT",
    entry=_INIT,
)
def gpt2(*, std: float = 0.02) -> str:
    """GPT-2: one normal std for every weight, shrunk for the residual branches' outputs.

    Formula: W ~ N(0, std^2) for every weight and embedding; each residual branch's output
    layer W ~ N(0, std^2 / L) (L = 2 n_layer in GPT-2: attention and MLP per block); biases
    0, norm weights 1

    >>> from initlab.schemes import info
    >>> str(info("gpt2").base()), round(gpt2_branch_std(0.02, 24), 6)
    ('random_normal:std=0.02', 0.004082)
    """
    s = check_finite_real("std", std, low=0.0, low_inclusive=False)
    return f"random_normal:std={s!r}"


def gpt2_branch_std(std: float, n_branches: int) -> float:
    """The std of a residual branch's output layer under :func:`gpt2`: ``std / sqrt(L)``."""
    return std / math.sqrt(check_positive_int("n_branches", n_branches))


@scheme(
    "model",
    needs=f"residual branches {_FOUND} and a classifier",
    paper='Zhang, Dauphin & Ma 2019, "Fixup initialization"',
    entry=_INIT,
)
def fixup() -> str:
    """Fixup: train deep residual networks without normalization.

    Formula: He normal everywhere; in each of the L branches of m layers, layers 1 .. m-1
    times L^(-1/(2m-2)) and layer m = 0; the classifier (the last Linear) = 0, weight and bias

    Fixup's scalar biases and multiplier are architecture, not initialization: add them to the
    blocks yourself (and drop the norm layers, which Fixup replaces).

    >>> round(fixup_multiplier(8, 2), 4)  # ResNet-18: 8 branches of 2 convolutions
    0.3536
    """
    return "he_normal"


def fixup_multiplier(n_branches: int, m_layers: int) -> float:
    """Fixup's factor of a branch's first ``m - 1`` layers: ``L^(-1/(2m-2))`` (m >= 2)."""
    n = check_positive_int("n_branches", n_branches)
    m = check_positive_int("m_layers", m_layers, minimum=2)
    return n ** (-1.0 / (2 * m - 2))


@scheme(
    "model",
    needs=_STACK,
    paper='Huang, Perez, Ba & Volkovs 2020, "Improving Transformer optimization through '
    'better initialization" (T-Fixup)',
    entry=_INIT,
)
def t_fixup() -> str:
    """T-Fixup: Transformers trained without LayerNorm or warm-up.

    Formula: Xavier uniform (gain 1) for the weights, embeddings N(0, 1/d); encoder layers:
    the attention's value block, out_proj and both MLP weights times 0.67 N^(-1/4); decoder
    layers: the same (self- and cross-attention) times (9M)^(-1/4), and with a decoder the
    embeddings too

    >>> {k: round(v, 4) for k, v in t_fixup_factors(6, 6).items()}
    {'encoder': 0.4281, 'decoder': 0.3689, 'embedding': 0.3689}
    """
    return "xavier_uniform:gain=1"


def t_fixup_factors(enc: int, dec: int) -> dict[str, float]:
    """T-Fixup's factors for ``enc`` encoder and ``dec`` decoder layers: ``"encoder"``
    ``0.67 N^(-1/4)``, ``"decoder"`` and (with a decoder) ``"embedding"`` ``(9M)^(-1/4)``."""
    enc = check_positive_int("enc", enc, minimum=0)
    dec = check_positive_int("dec", dec, minimum=0)
    out = {}
    if enc:
        out["encoder"] = 0.67 * enc**-0.25
    if dec:
        out["decoder"] = out["embedding"] = (9 * dec) ** -0.25
    return out


@scheme(
    "model",
    needs=_STACK,
    paper='Wang et al. 2022, "DeepNet: scaling Transformers to 1,000 layers" (DeepNorm)',
    entry=_INIT,
)
def deepnorm() -> str:
    """DeepNorm: residuals x <- LN(alpha x + f(x)) with the branches scaled down by beta.

    Formula: Xavier normal (gain 1); the MLP weights, the value block and out_proj times beta;
    encoder-only alpha = (2N)^(1/4), beta = (8N)^(-1/4); decoder-only alpha = (2M)^(1/4),
    beta = (8M)^(-1/4); encoder-decoder: encoder alpha = 0.81 (N^4 M)^(1/16), beta = 0.87
    (N^4 M)^(-1/16), decoder alpha = (3M)^(1/4), beta = (12M)^(-1/4)

    initlab sets beta; alpha belongs to the forward pass (the summary's notes state it).

    >>> alpha, beta = deepnorm_constants(18, 0)["encoder"]
    >>> round(alpha, 4), round(beta, 4)
    (2.4495, 0.2887)
    """
    return "xavier_normal:gain=1"


def deepnorm_constants(enc: int, dec: int) -> dict[str, tuple[float, float]]:
    """``{"encoder": (alpha, beta), "decoder": (alpha, beta)}`` of DeepNorm for ``enc``
    encoder and ``dec`` decoder layers (Wang et al. 2022, table 1)."""
    enc = check_positive_int("enc", enc, minimum=0)
    dec = check_positive_int("dec", dec, minimum=0)
    if enc and dec:
        return {
            "encoder": (0.81 * (enc**4 * dec) ** (1 / 16), 0.87 * (enc**4 * dec) ** (-1 / 16)),
            "decoder": ((3 * dec) ** 0.25, (12 * dec) ** -0.25),
        }
    if enc:
        return {"encoder": ((2 * enc) ** 0.25, (8 * enc) ** -0.25)}
    if dec:
        return {"decoder": ((2 * dec) ** 0.25, (8 * dec) ** -0.25)}
    raise ValueError("deepnorm needs at least one encoder or decoder layer, got enc=0, dec=0")


@scheme(
    "model",
    needs="a base-width model (the same model built at a base width)",
    paper='Yang & Hu 2021; Yang et al. 2022, "Tensor Programs V" (muP)',
    entry="initlab.torch.mup",
)
def mup(*, scheme: str = "lecun_normal") -> str:
    """muP (maximal update parametrization): hyperparameters that transfer across widths.

    Formula: with m = width / base width of each weight's growing fan, input and hidden
    weights keep the base scheme's Var = 1/fan_in, output weights get Var / m; Adam learning
    rates lr / m for hidden and output weights (SGD: lr m for inputs and biases, lr / m for
    outputs)

    ``scheme`` is the base law (any fan-in scheme, LeCun by default).

    >>> from initlab.schemes import info
    >>> str(info("mup").base(scheme="he_normal"))
    'he_normal'
    """
    return str(parse_scheme(scheme, field="mup:scheme"))
