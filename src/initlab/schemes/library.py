"""The initialization schemes: each one a pure function ``(shape, rng, dtype) -> array``.

Common signature::

    scheme(shape, rng=None, dtype=np.float64, *, <its own parameters>, layout=None, fans=None)

* ``shape``: an int or a tuple of non-negative ints.  A zero-size shape returns an empty array
  of that shape (a documented no-op, never a division by zero).
* ``rng``: a ``numpy.random.Generator`` or an int seed (``None``: fresh OS entropy).  Every
  random number, permutations included, comes from it.
* ``dtype``: a floating dtype.  Values are sampled in float64 and cast; see
  :mod:`initlab.schemes.sampling` for how bounds are kept after the cast.
* ``layout`` and ``fans``: how the fans are found, see :mod:`initlab.schemes.fans`.  A 2-D
  weight without a layout is ``(in, out)``; a rank-1 weight needs ``fans=(fan_in, fan_out)``.
  Schemes that do not use fans accept and ignore them, so any scheme can be called the same way.

``fan`` below is the fan chosen by ``mode``: ``fan_in``, ``fan_out``, ``fan_avg = (fan_in +
fan_out) / 2`` or ``fan_geo_avg = sqrt(fan_in * fan_out)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from initlab._checks import (
    as_generator,
    check_choice,
    check_finite_real,
    check_float_dtype,
    check_positive_int,
    check_shape,
)
from initlab.schemes.fans import Axes, Fans, axes_tuple, compute_fans, fan_value
from initlab.schemes.sampling import (
    Distribution,
    constant_distribution,
    draw,
    normal_distribution,
    truncated_normal_distribution,
    uniform_distribution,
)

__all__ = [
    "DISTRIBUTIONS",
    "constant",
    "dirac",
    "he_normal",
    "he_uniform",
    "identity",
    "keras_default",
    "large",
    "lecun_normal",
    "lecun_uniform",
    "lsuv",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "scaled",
    "small",
    "small_uniform",
    "sparse",
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

Shape = int | tuple[int, ...]
Layout = str | Axes | None
FansArg = Fans | tuple[int, int] | None


def _draw(dist: Distribution, shape: Shape, rng: Any, dtype: Any) -> np.ndarray:
    shape = check_shape(shape)
    dt = check_float_dtype(dtype)
    gen = as_generator(rng)
    if math.prod(shape) == 0:
        return np.empty(shape, dtype=dt)
    return draw(dist, shape, gen, dt)


def _fans(shape: Shape, layout: Layout, fans: FansArg) -> Fans | None:
    """The fans of ``shape``, or None for a zero-size shape (which needs none)."""
    shape = check_shape(shape)
    if math.prod(shape) == 0 and fans is None:
        return None
    return compute_fans(shape, layout, fans)


# --------------------------------------------------------------------------- constants


def zeros(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """All zeros: ``W = 0``.  The seed's first failure: every hidden unit computes the same
    thing, and with ReLU or tanh the hidden activations and gradients are exactly 0."""
    return _draw(constant_distribution(0.0), shape, rng, dtype)


def ones(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """All ones: ``W = 1``."""
    return _draw(constant_distribution(1.0), shape, rng, dtype)


def constant(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    value: float = 0.5,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """A constant: ``W = value``.  Any constant leaves all units of a layer identical, so
    symmetry never breaks.  Example: ``constant((2, 3), value=0.5)``."""
    return _draw(constant_distribution(value), shape, rng, dtype)


# --------------------------------------------------------------------------- plain random


def random_normal(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    std: float = 1.0,
    mean: float = 0.0,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Normal, untruncated: ``W ~ N(mean, std^2)``.

    Example: ``random_normal((3, 4), 0, std=0.1)``."""
    return _draw(normal_distribution(std, mean), shape, rng, dtype)


def random_uniform(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    low: float = -0.05,
    high: float = 0.05,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Uniform: ``W ~ U[low, high)``, std ``(high - low) / sqrt(12)``.  Defaults are Keras's
    ``RandomUniform`` (+-0.05)."""
    return _draw(uniform_distribution(low, high), shape, rng, dtype)


def truncated_normal(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    std: float = 1.0,
    mean: float = 0.0,
    a: float = -2.0,
    b: float = 2.0,
    correct_std: bool = True,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Normal truncated at ``a`` and ``b`` standard deviations, sampled by rejection.

    ``W ~ N(mean, sigma^2)`` conditioned on ``mean + a sigma <= W <= mean + b sigma``.  The bounds
    are in standard deviations, never absolute values.  With ``correct_std`` (default)
    ``sigma = std / s(a, b)``, ``s(a, b)`` the std of a standard normal truncated to [a, b]
    (``s(-2, 2) = 0.87962566103423978``), so ``std(W) = std`` exactly; otherwise ``sigma = std``.
    """
    return _draw(truncated_normal_distribution(std, mean, a, b, correct_std), shape, rng, dtype)


def small(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    std: float = 0.01,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """The seed's "small random values": ``W ~ N(0, std^2)``, default ``std = 0.01``.

    Signals shrink by about ``std * sqrt(fan_in) * gain`` per layer: vanishing activations and
    gradients with tanh and sigmoid, slow training with ReLU."""
    return _draw(normal_distribution(std), shape, rng, dtype)


def small_uniform(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    std: float = 0.01,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Small uniform values with the same std as :func:`small`:
    ``W ~ U(-sqrt(3) std, sqrt(3) std)``, default ``std = 0.01`` (bound 0.0173)."""
    s = check_finite_real("std", std, low=0.0, low_inclusive=False)
    bound = math.sqrt(3.0) * s
    return _draw(uniform_distribution(-bound, bound), shape, rng, dtype)


def large(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    std: float = 10.0,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """The seed's "large random values": ``W ~ N(0, std^2)``, default ``std = 10`` (the classic
    ``randn(...) * 10``).  Saturates tanh and sigmoid; makes ReLU signals explode."""
    return _draw(normal_distribution(std), shape, rng, dtype)


def scaled(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    base: str = "xavier_normal",
    factor: float = 10.0,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Another scheme's draw times a factor: ``W = factor * W_base``, std ``factor * std_base``.

    Example: ``scaled(shape, 0, base="xavier_normal", factor=10)`` is Xavier made 10x too large,
    a well-shaped but badly scaled start."""
    from initlab.schemes.registry import get

    f = check_finite_real("factor", factor)
    w = get(base)(shape, rng, np.float64, layout=layout, fans=fans)
    out = (f * w).astype(check_float_dtype(dtype))
    if not np.all(np.isfinite(out)):
        raise ValueError(f"scaled values overflow {np.dtype(dtype)} (factor={factor})")
    return out


# --------------------------------------------------------------------------- variance scaling


def variance_scaling_distribution(
    fans: Fans, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal"
) -> Distribution:
    """The distribution :func:`variance_scaling` draws from for a weight with ``fans``."""
    s = check_finite_real("scale", scale, low=0.0, low_inclusive=False)
    check_choice("distribution", distribution, DISTRIBUTIONS)
    variance = s / fan_value(fans, mode)
    if distribution == "uniform":
        bound = math.sqrt(3.0 * variance)
        return uniform_distribution(-bound, bound)
    if distribution == "normal":
        return normal_distribution(math.sqrt(variance))
    return truncated_normal_distribution(math.sqrt(variance), 0.0, -2.0, 2.0, True)


def variance_scaling(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """The one general mechanism: ``Var(W) = scale / fan``.

    * ``distribution="normal"``: ``W ~ N(0, scale / fan)``, untruncated;
    * ``"truncated_normal"``: truncated at 2 std with ``sigma = sqrt(scale / fan) /
      0.87962566103423978``, so ``Var(W) = scale / fan`` exactly (Keras's default);
    * ``"uniform"``: ``W ~ U(-limit, limit)``, ``limit = sqrt(3 scale / fan)``.

    Xavier is ``scale = gain^2, mode = fan_avg``; He is ``scale = gain^2, mode = fan_in`` with
    ``gain = sqrt(2)``; LeCun is ``scale = 1, mode = fan_in``.
    """
    check_choice("mode", mode, ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"))
    check_choice("distribution", distribution, DISTRIBUTIONS)
    f = _fans(shape, layout, fans)
    if f is None:
        return _draw(constant_distribution(0.0), shape, rng, dtype)
    return _draw(variance_scaling_distribution(f, scale, mode, distribution), shape, rng, dtype)


def _gain(gain: float) -> float:
    return check_finite_real("gain", gain, low=0.0, low_inclusive=False)


def xavier_normal(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    gain: float = 1.0,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Xavier/Glorot normal: ``W ~ N(0, gain^2 * 2 / (fan_in + fan_out))``, untruncated.

    For tanh and sigmoid (Glorot & Bengio 2010).  Example: fans 256 -> 128 give std 0.0722."""
    return variance_scaling(
        shape,
        rng,
        dtype,
        scale=_gain(gain) ** 2,
        mode="fan_avg",
        distribution="normal",
        layout=layout,
        fans=fans,
    )


def xavier_uniform(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    gain: float = 1.0,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Xavier/Glorot uniform: ``W ~ U(-limit, limit)``, ``limit = gain * sqrt(6 / (fan_in +
    fan_out))``, so ``Var(W) = gain^2 * 2 / (fan_in + fan_out)``.  Keras's default."""
    return variance_scaling(
        shape,
        rng,
        dtype,
        scale=_gain(gain) ** 2,
        mode="fan_avg",
        distribution="uniform",
        layout=layout,
        fans=fans,
    )


def he_normal(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    gain: float = SQRT2,
    mode: str = "fan_in",
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """He/Kaiming normal: ``W ~ N(0, gain^2 / fan)``, untruncated; with the default
    ``gain = sqrt(2)`` and ``mode = fan_in`` that is ``N(0, 2 / fan_in)``.

    For ReLU (He et al. 2015); pass ``gain=calculate_gain("leaky_relu", a)`` for leaky ReLU."""
    return variance_scaling(
        shape,
        rng,
        dtype,
        scale=_gain(gain) ** 2,
        mode=mode,
        distribution="normal",
        layout=layout,
        fans=fans,
    )


def he_uniform(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    gain: float = SQRT2,
    mode: str = "fan_in",
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """He/Kaiming uniform: ``W ~ U(-limit, limit)``, ``limit = gain * sqrt(3 / fan)``; with the
    defaults that is ``limit = sqrt(6 / fan_in)`` and ``Var(W) = 2 / fan_in``."""
    return variance_scaling(
        shape,
        rng,
        dtype,
        scale=_gain(gain) ** 2,
        mode=mode,
        distribution="uniform",
        layout=layout,
        fans=fans,
    )


def lecun_normal(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """LeCun normal: ``W ~ N(0, 1 / fan_in)``, untruncated.  For SELU and linear layers.
    (Keras's ``lecun_normal`` truncates; use ``variance_scaling(..., distribution=
    "truncated_normal")`` for that.)"""
    return variance_scaling(
        shape, rng, dtype, scale=1.0, mode="fan_in", distribution="normal", layout=layout, fans=fans
    )


def lecun_uniform(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """LeCun uniform: ``W ~ U(-limit, limit)``, ``limit = sqrt(3 / fan_in)``,
    ``Var(W) = 1 / fan_in``."""
    return variance_scaling(
        shape,
        rng,
        dtype,
        scale=1.0,
        mode="fan_in",
        distribution="uniform",
        layout=layout,
        fans=fans,
    )


# --------------------------------------------------------------------------- library defaults


def torch_default(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """PyTorch's default for Linear and ConvNd weights: ``kaiming_uniform_(a=sqrt(5))``, i.e.
    ``W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (``gain = sqrt(2 / (1 + 5)) = sqrt(1/3)``,
    ``limit = gain * sqrt(3 / fan_in)``), ``Var(W) = 1 / (3 fan_in)``."""
    f = _fans(shape, layout, fans)
    if f is None:
        return _draw(constant_distribution(0.0), shape, rng, dtype)
    bound = 1.0 / math.sqrt(f.fan_in)
    return _draw(uniform_distribution(-bound, bound), shape, rng, dtype)


def torch_default_bias(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """PyTorch's default for Linear and ConvNd biases: ``b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
    with the fan-in of the layer's weight, passed as ``fans=(fan_in, fan_out)``."""
    return torch_default(shape, rng, dtype, layout=layout, fans=fans)


def keras_default(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Keras's default for Dense and Conv kernels: Glorot uniform,
    ``W ~ U(-sqrt(6 / (fan_in + fan_out)), sqrt(6 / (fan_in + fan_out)))`` (biases: zeros)."""
    return xavier_uniform(shape, rng, dtype, layout=layout, fans=fans)


# --------------------------------------------------------------------------- structured


def _matrix_view(shape: tuple[int, ...], layout: Layout) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axes order and (batch, rows, cols) that flatten a weight into matrices.

    torch layouts flatten like ``torch.nn.init`` (``shape[0]`` x the rest); channels_last like
    Keras (the rest x ``shape[-1]``); ``Axes`` put the batch axes first, then every non-output
    axis as rows, the output axes as columns."""
    nd = len(shape)
    if isinstance(layout, Axes):
        out_axes = axes_tuple("out_axis", layout.out_axis, nd)
        batch_axes = axes_tuple("batch_axis", layout.batch_axis, nd)
        rows = tuple(i for i in range(nd) if i not in out_axes and i not in batch_axes)
        order = batch_axes + rows + out_axes
        dims = (
            math.prod(shape[i] for i in batch_axes),
            math.prod(shape[i] for i in rows),
            math.prod(shape[i] for i in out_axes),
        )
        return order, dims
    if layout in ("torch", "torch_transpose"):
        return tuple(range(nd)), (1, shape[0], math.prod(shape[1:]))
    if layout is None and nd != 2:
        compute_fans(shape, None)  # raises the "say how it is laid out" error
    if layout is not None:
        check_choice("layout", layout, ("channels_last", "torch", "torch_transpose"))
    return tuple(range(nd)), (1, math.prod(shape[:-1]), shape[-1])


def orthogonal(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    gain: float = 1.0,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014).

    ``A ~ N(0, 1)`` of shape (max(r, c), min(r, c)); ``Q, R = qr(A)``;
    ``Q <- Q * where(d == 0, 1, sign(d))`` with ``d = diag(R)`` (makes the draw Haar-uniform);
    transpose if ``r < c``; ``W = gain * Q``.  Then ``W^T W = gain^2 I`` (r >= c) or
    ``W W^T = gain^2 I`` (r < c), and every entry has variance ``gain^2 / max(r, c)``.  N-D
    weights are flattened to a matrix as the layout says (see :func:`_matrix_view`); with
    ``Axes(batch_axis=...)`` each batch slice is its own orthogonal matrix.  Computed in float64
    and cast.
    """
    g = _gain(gain)
    shape = check_shape(shape)
    dt = check_float_dtype(dtype)
    if len(shape) < 2:
        raise ValueError(f"orthogonal needs a weight of rank >= 2, got shape {shape}")
    order, (batch, r, c) = _matrix_view(shape, layout)
    gen = as_generator(rng)
    if math.prod(shape) == 0:
        return np.empty(shape, dtype=dt)
    a = gen.standard_normal((batch, max(r, c), min(r, c)))
    q, rr = np.linalg.qr(a)
    d = np.diagonal(rr, axis1=-2, axis2=-1)
    q = q * np.where(d == 0, 1.0, np.sign(d))[:, None, :]
    if r < c:
        q = np.swapaxes(q, -1, -2)
    w = (g * q).reshape([shape[i] for i in order])
    return np.transpose(w, np.argsort(order)).astype(dt)


def identity(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    gain: float = 1.0,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """The identity matrix times ``gain``: ``W[i, j] = gain if i == j else 0`` (2-D only;
    rectangular shapes get ones on the main diagonal).  For conv kernels use :func:`dirac`."""
    g = _gain(gain)
    shape = check_shape(shape)
    dt = check_float_dtype(dtype)
    if len(shape) != 2:
        raise ValueError(
            f"identity needs a 2-D weight, got shape {shape}; use 'dirac' for convolution kernels"
        )
    return (g * np.eye(shape[0], shape[1])).astype(dt)


def dirac(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    gain: float = 1.0,
    groups: int = 1,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Identity for convolution kernels: output channel ``i`` copies input channel ``i`` at the
    kernel's centre (index ``k // 2`` on every spatial axis): ``W[i, i, c...] = gain``, every other
    entry 0, in each of ``groups`` groups.  Needs ``layout`` ("torch", "torch_transpose" or
    "channels_last") and a rank-3 to rank-5 shape.  Channels beyond ``min(in, out)`` stay 0."""
    g = _gain(gain)
    shape = check_shape(shape)
    dt = check_float_dtype(dtype)
    groups = check_positive_int("groups", groups)
    if not 3 <= len(shape) <= 5:
        raise ValueError(f"dirac needs a convolution kernel of rank 3 to 5, got shape {shape}")
    check_choice("layout", layout, ("torch", "torch_transpose", "channels_last"))
    nd = len(shape)
    if layout == "torch":
        grouped_axis, other_axis, spatial = 0, 1, list(range(2, nd))
    elif layout == "torch_transpose":
        grouped_axis, other_axis, spatial = 0, 1, list(range(2, nd))
    else:
        grouped_axis, other_axis, spatial = nd - 1, nd - 2, list(range(nd - 2))
    if shape[grouped_axis] % groups:
        raise ValueError(
            f"groups={groups} must divide the channel count {shape[grouped_axis]} of shape {shape}"
        )
    w = np.zeros(shape)
    per_group = shape[grouped_axis] // groups
    centre = [shape[i] // 2 for i in spatial]
    for grp in range(groups):
        for d in range(min(per_group, shape[other_axis])):
            index = [0] * nd
            index[grouped_axis] = grp * per_group + d
            index[other_axis] = d
            for axis, ci in zip(spatial, centre, strict=True):
                index[axis] = ci
            w[tuple(index)] = g
    return w.astype(dt)


def sparse(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    sparsity: float = 0.1,
    std: float = 0.01,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """Sparse normal (Martens 2010): ``W ~ N(0, std^2)``, then in every column of the 2-D array
    ``ceil(sparsity * rows)`` entries, chosen at random, are set to 0.

    In initlab's ``(in, out)`` layout a column holds one unit's incoming weights (Martens's
    rule); in torch's ``(out, in)`` layout it is what ``torch.nn.init.sparse_`` does."""
    s = check_finite_real("sparsity", sparsity, low=0.0, high=1.0)
    shape = check_shape(shape)
    if len(shape) != 2:
        raise ValueError(f"sparse needs a 2-D weight, got shape {shape}")
    gen = as_generator(rng)
    w = random_normal(shape, gen, np.float64, std=std)
    rows, cols = shape
    n_zero = math.ceil(s * rows)
    if n_zero and w.size:
        order = np.argsort(gen.random((rows, cols)), axis=0)[:n_zero]
        w[order, np.arange(cols)[None, :]] = 0.0
    return w.astype(check_float_dtype(dtype))


def lsuv(
    shape: Shape,
    rng: Any = None,
    dtype: Any = np.float64,
    *,
    layout: Layout = None,
    fans: FansArg = None,
) -> np.ndarray:
    """LSUV's starting point (Mishkin & Matas 2016): an orthogonal draw, ``W = Q``.

    LSUV is data-dependent: after this start each layer is rescaled on a batch of data,
    ``W <- W / std(layer output)``, until the output variance is 1 within a tolerance.  That
    second step needs the network and data: :func:`initlab.network.lsuv_rescale` does it for the
    NumPy engine and :func:`initlab.torch.lsuv` for PyTorch models."""
    return orthogonal(shape, rng, dtype, gain=1.0, layout=layout, fans=fans)
