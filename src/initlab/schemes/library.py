"""The elementwise schemes, each defined once as a law: ``(fans, *, params) -> Distribution``.

Each definition below is registered by :func:`~initlab.schemes.registry.scheme`, which turns it
into the public array function with the common signature::

    scheme(shape, rng=None, dtype=np.float64, *, <its own parameters>, layout=None, fans=None)

* ``shape``: an int or a tuple of non-negative ints.  A zero-size shape returns an empty array
  of that shape (a documented no-op, never a division by zero).
* ``rng``: a ``numpy.random.Generator`` or an int seed (``None``: fresh OS entropy).  Every
  random number comes from it.
* ``dtype``: a floating dtype.  Values are sampled in float64 and cast; see
  :mod:`initlab.schemes.sampling` for how bounds are kept after the cast.
* ``layout`` and ``fans``: how the fans are found, see :mod:`initlab.schemes.fans`.  A 2-D
  weight without a layout is ``(in, out)``; a rank-1 weight needs ``fans=(fan_in, fan_out)``.
  Schemes that do not use fans accept and ignore them, so any scheme can be called the same way.

``fan`` below is the fan chosen by ``mode``: ``fan_in``, ``fan_out``, ``fan_avg = (fan_in +
fan_out) / 2`` or ``fan_geo_avg = sqrt(fan_in * fan_out)``.  The structured schemes (orthogonal,
identity, dirac, sparse, scaled, lsuv) are rules in :mod:`initlab.schemes.structured`.
"""

from __future__ import annotations

import math

from initlab._checks import check_choice, check_finite_real
from initlab.schemes.fans import FAN_MODES, Fans, fan_value
from initlab.schemes.registry import scheme
from initlab.schemes.sampling import (
    Distribution,
    constant_distribution,
    normal_distribution,
    truncated_normal_distribution,
    uniform_distribution,
)

__all__ = [
    "DISTRIBUTIONS",
    "constant",
    "he_normal",
    "he_uniform",
    "keras_default",
    "large",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "random_normal",
    "random_uniform",
    "small",
    "small_uniform",
    "torch_default",
    "torch_default_bias",
    "truncated_normal",
    "variance_scaling",
    "variance_scaling_distribution",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")
SQRT2 = math.sqrt(2.0)
RELU_LIKE = ("relu", "leaky_relu", "elu", "gelu", "silu", "mish", "softplus")
TANH_LIKE = ("tanh", "sigmoid", "linear", "softmax")


def variance_scaling_distribution(
    fans: Fans, scale: float, mode: str, distribution: str
) -> Distribution:
    """The general law ``Var(W) = scale / fan`` for a weight with ``fans`` (see
    :func:`variance_scaling`); every fan-scaled scheme below is one call of it."""
    s = check_finite_real("scale", scale, low=0.0, low_inclusive=False)
    check_choice("mode", mode, FAN_MODES)
    check_choice("distribution", distribution, DISTRIBUTIONS)
    variance = s / fan_value(fans, mode)
    if not math.isfinite(3.0 * variance):
        raise ValueError(
            f"scale={scale!r} / {mode} gives Var(W) = {variance:g}, which overflows float64; "
            "use a smaller scale (or gain)"
        )
    if distribution == "uniform":
        bound = math.sqrt(3.0 * variance)
        return uniform_distribution(-bound, bound)
    if distribution == "normal":
        return normal_distribution(math.sqrt(variance))
    return truncated_normal_distribution(math.sqrt(variance), 0.0, -2.0, 2.0, True)


def _gain_squared(gain: float) -> float:
    """``gain^2``, refusing a gain whose square overflows float64 (named as ``gain``)."""
    g = check_finite_real("gain", gain, low=0.0, low_inclusive=False)
    if not math.isfinite(3.0 * g * g):
        raise ValueError(
            f"gain={gain!r} is too large: gain^2 overflows float64; gain must be below "
            f"{math.sqrt(1.7976931348623157e308 / 3):.3g}"
        )
    return g * g


# --------------------------------------------------------------------------- constants


@scheme("failure")
def zeros() -> Distribution:
    """All weights 0: no symmetry breaking, no learning.

    Formula: W = 0

    The seed's first failure: every hidden unit computes the same thing, and with ReLU or tanh
    the hidden activations and gradients are exactly 0.

    >>> zeros((2, 3)).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    return constant_distribution(0.0)


@scheme("failure")
def ones() -> Distribution:
    """All weights 1: symmetric, and large for wide layers.

    Formula: W = 1

    >>> ones((1, 2)).tolist()
    [[1.0, 1.0]]
    """
    return constant_distribution(1.0)


@scheme("failure")
def constant(*, value: float = 0.5) -> Distribution:
    """All weights equal: symmetry never breaks.

    Formula: W = value

    Any constant leaves all units of a layer identical.

    >>> constant((2, 2), value=0.3).tolist()
    [[0.3, 0.3], [0.3, 0.3]]
    """
    return constant_distribution(value)


# --------------------------------------------------------------------------- plain random


@scheme("failure")
def small(*, std: float = 0.01) -> Distribution:
    """The seed's small random values: vanishing signals.

    Formula: W ~ N(0, std^2)

    Signals shrink by about ``std * sqrt(fan_in) * gain`` per layer: vanishing activations and
    gradients with tanh and sigmoid, slow training with ReLU.

    >>> round(float(small((200, 200), rng=0).std()), 3)
    0.01
    """
    return normal_distribution(std)


@scheme("failure")
def small_uniform(*, std: float = 0.01) -> Distribution:
    """Small uniform values (the seed's worked example), with the std of :func:`small`.

    Formula: W ~ U(-sqrt(3) std, sqrt(3) std)

    >>> w = small_uniform((200, 200), rng=0)
    >>> bool(abs(w).max() < 3**0.5 * 0.01), round(float(w.std()), 3)
    (True, 0.01)
    """
    s = check_finite_real("std", std, low=0.0, low_inclusive=False)
    return uniform_distribution(-math.sqrt(3.0) * s, math.sqrt(3.0) * s)


@scheme("failure")
def large(*, std: float = 10.0) -> Distribution:
    """The seed's large random values: saturation / explosion.

    Formula: W ~ N(0, std^2)

    The classic ``randn(...) * 10``: saturates tanh and sigmoid; makes ReLU signals explode.

    >>> round(float(large((200, 200), rng=0).std()))
    10
    """
    return normal_distribution(std)


@scheme("plain")
def random_normal(*, std: float = 1.0, mean: float = 0.0) -> Distribution:
    """Normal with a fixed std, untruncated.

    Formula: W ~ N(mean, std^2)

    >>> w = random_normal((300, 300), rng=0, std=0.1, mean=1.0)
    >>> round(float(w.mean()), 2), round(float(w.std()), 2)
    (1.0, 0.1)
    """
    return normal_distribution(std, mean)


@scheme("plain")
def random_uniform(*, low: float = -0.05, high: float = 0.05) -> Distribution:
    """Uniform on fixed bounds (Keras's ``RandomUniform`` defaults).

    Formula: W ~ U[low, high), std = (high - low) / sqrt(12)

    >>> w = random_uniform((100, 100), rng=0, low=0.0, high=1.0)
    >>> bool(w.min() >= 0.0 and w.max() < 1.0)
    True
    """
    return uniform_distribution(low, high)


@scheme("plain")
def truncated_normal(
    *,
    std: float = 1.0,
    mean: float = 0.0,
    a: float = -2.0,
    b: float = 2.0,
    correct_std: bool = True,
) -> Distribution:
    """Normal truncated at a, b std, variance-corrected, sampled by rejection.

    Formula: W ~ N(mean, sigma^2) on [mean + a sigma, mean + b sigma], sigma = std / s(a, b)

    The bounds are in standard deviations, never absolute values.  With ``correct_std``
    (default) ``s(a, b)`` is the std of a standard normal truncated to [a, b]
    (``s(-2, 2) = 0.87962566103423978``), so ``std(W) = std`` exactly; otherwise ``sigma = std``.

    >>> w = truncated_normal((300, 300), rng=0, std=0.5)
    >>> round(float(w.std()), 2), bool(abs(w).max() <= 2 * 0.5 / 0.87962566103423978)
    (0.5, True)
    """
    return truncated_normal_distribution(std, mean, a, b, correct_std)


# --------------------------------------------------------------------------- variance scaling


@scheme("variance_scaling")
def variance_scaling(
    fans: Fans,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
) -> Distribution:
    """The general mechanism: Var(W) = scale / fan.

    Formula: Var(W) = scale / fan(mode); normal, truncated normal or uniform

    * ``distribution="normal"``: ``W ~ N(0, scale / fan)``, untruncated;
    * ``"truncated_normal"``: truncated at 2 std with ``sigma = sqrt(scale / fan) /
      0.87962566103423978``, so ``Var(W) = scale / fan`` exactly (Keras's default);
    * ``"uniform"``: ``W ~ U(-limit, limit)``, ``limit = sqrt(3 scale / fan)``.

    Xavier is ``scale = gain^2, mode = fan_avg``; He is ``scale = gain^2, mode = fan_in`` with
    ``gain = sqrt(2)``; LeCun is ``scale = 1, mode = fan_in``.

    >>> w = variance_scaling((400, 100), rng=0, scale=2.0, distribution="uniform")
    >>> round(float(w.var() * 400), 1)  # scale = 2 over fan_in = 400
    2.0
    """
    return variance_scaling_distribution(fans, scale, mode, distribution)


@scheme(
    "variance_scaling", recommended=TANH_LIKE, aliases=("glorot_normal",), gain_from_activation=True
)
def xavier_normal(fans: Fans, *, gain: float = 1.0) -> Distribution:
    """Xavier/Glorot normal, for tanh and sigmoid (Glorot & Bengio 2010).

    Formula: W ~ N(0, gain^2 * 2 / (fan_in + fan_out))

    >>> round(float(xavier_normal((256, 128), rng=0).std()), 3)  # sqrt(2 / 384) = 0.0722
    0.072
    """
    return variance_scaling_distribution(fans, _gain_squared(gain), "fan_avg", "normal")


@scheme(
    "variance_scaling",
    recommended=TANH_LIKE,
    aliases=("glorot_uniform",),
    gain_from_activation=True,
)
def xavier_uniform(fans: Fans, *, gain: float = 1.0) -> Distribution:
    """Xavier/Glorot uniform, Keras's default.

    Formula: W ~ U(-l, l), l = gain * sqrt(6 / (fan_in + fan_out))

    So ``Var(W) = gain^2 * 2 / (fan_in + fan_out)``.

    >>> bool(abs(xavier_uniform((256, 128), rng=0)).max() < (6 / 384) ** 0.5)
    True
    """
    return variance_scaling_distribution(fans, _gain_squared(gain), "fan_avg", "uniform")


@scheme(
    "variance_scaling",
    recommended=RELU_LIKE,
    aliases=("kaiming_normal",),
    gain_from_activation=True,
)
def he_normal(fans: Fans, *, gain: float = SQRT2, mode: str = "fan_in") -> Distribution:
    """He/Kaiming normal, for ReLU (He et al. 2015).

    Formula: W ~ N(0, gain^2 / fan)

    With the defaults (``gain = sqrt(2)``, ``mode = fan_in``) that is ``N(0, 2 / fan_in)``.
    Untruncated; pass ``gain=calculate_gain("leaky_relu", a)`` for leaky ReLU.

    >>> round(float(he_normal((256, 128), rng=0).std()), 3)  # sqrt(2 / 256) = 0.0884
    0.088
    >>> he_normal((64, 32, 3, 3), 0, layout="torch").shape  # a conv kernel: fan_in = 32 * 9
    (64, 32, 3, 3)
    """
    return variance_scaling_distribution(fans, _gain_squared(gain), mode, "normal")


@scheme(
    "variance_scaling",
    recommended=RELU_LIKE,
    aliases=("kaiming_uniform",),
    gain_from_activation=True,
)
def he_uniform(fans: Fans, *, gain: float = SQRT2, mode: str = "fan_in") -> Distribution:
    """He/Kaiming uniform.

    Formula: W ~ U(-l, l), l = gain * sqrt(3 / fan)

    With the defaults ``l = sqrt(6 / fan_in)`` and ``Var(W) = 2 / fan_in``.

    >>> bool(abs(he_uniform((600, 10), rng=0)).max() < 0.1)  # sqrt(6 / 600)
    True
    """
    return variance_scaling_distribution(fans, _gain_squared(gain), mode, "uniform")


@scheme("variance_scaling", recommended=("selu", "linear"))
def lecun_normal(fans: Fans) -> Distribution:
    """LeCun normal, for SELU and linear layers.

    Formula: W ~ N(0, 1 / fan_in)

    Untruncated (Keras's ``lecun_normal`` truncates; use ``variance_scaling(...,
    distribution="truncated_normal")`` for that).

    >>> round(float(lecun_normal((100, 400), rng=0).var() * 100), 2)
    1.0
    """
    return variance_scaling_distribution(fans, 1.0, "fan_in", "normal")


@scheme("variance_scaling", recommended=("selu", "linear"))
def lecun_uniform(fans: Fans) -> Distribution:
    """LeCun uniform.

    Formula: W ~ U(-l, l), l = sqrt(3 / fan_in)

    >>> bool(abs(lecun_uniform((300, 100), rng=0)).max() < 0.1)  # sqrt(3 / 300)
    True
    """
    return variance_scaling_distribution(fans, 1.0, "fan_in", "uniform")


# --------------------------------------------------------------------------- library defaults


@scheme("library_default")
def torch_default(fans: Fans) -> Distribution:
    """PyTorch's Linear/Conv default (kaiming_uniform, a = sqrt(5)).

    Formula: W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

    ``kaiming_uniform_(a=sqrt(5))`` has ``gain = sqrt(2 / (1 + 5)) = sqrt(1/3)`` and
    ``limit = gain * sqrt(3 / fan_in)``, so ``Var(W) = 1 / (3 fan_in)``.

    >>> bool(abs(torch_default((30, 400), 0, layout="torch")).max() < 400**-0.5)
    True
    """
    bound = 1.0 / math.sqrt(fans.fan_in)
    return uniform_distribution(-bound, bound)


@scheme("library_default")
def torch_default_bias(fans: Fans) -> Distribution:
    """PyTorch's Linear/Conv bias default (fan_in of the weight).

    Formula: b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

    The fans are the weight's, passed as ``fans=(fan_in, fan_out)``.

    >>> bool(abs(torch_default_bias(30, 0, fans=(400, 30))).max() < 0.05)
    True
    """
    return torch_default.info.law(fans)  # type: ignore[attr-defined]


@scheme("library_default")
def keras_default(fans: Fans) -> Distribution:
    """Keras's Dense/Conv default (Glorot uniform; biases zeros).

    Formula: W ~ U(-l, l), l = sqrt(6 / (fan_in + fan_out))

    >>> bool(abs(keras_default((256, 128), rng=0)).max() < (6 / 384) ** 0.5)
    True
    """
    return variance_scaling_distribution(fans, 1.0, "fan_avg", "uniform")
