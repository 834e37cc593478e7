"""The structured schemes, each defined once as a rule ``(shape, source, *, params, layout, fans)
-> float64 array`` that both back ends run: NumPy with a :class:`~initlab.schemes.sources.
NumpySource`, torch with ``initlab.torch._sample.TorchSource`` (torch's generator, on the
tensor's device).  Where one law describes every entry, ``law=`` gives its moments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from initlab._checks import check_choice, check_finite_real, check_positive_int
from initlab.schemes.fans import LAYOUTS, Axes, axes_tuple, compute_fans
from initlab.schemes.registry import get, info, scheme
from initlab.schemes.sampling import Distribution
from initlab.schemes.sources import Source

__all__ = ["dirac", "identity", "lsuv", "matrix_view", "orthogonal", "scaled", "sparse"]

Shape = tuple[int, ...]


def _gain(gain: float) -> float:
    return check_finite_real("gain", gain, low=0.0, low_inclusive=False)


def matrix_view(shape: Shape, layout: Any) -> tuple[tuple[int, ...], tuple[int, int, int]]:
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
        check_choice("layout", layout, LAYOUTS)
    return tuple(range(nd)), (1, math.prod(shape[:-1]), shape[-1])


def _orthogonal_law(shape: Shape, layout: Any, fans: Any, *, gain: float) -> Distribution:
    g = _gain(gain)
    if len(shape) < 2:
        raise ValueError(f"orthogonal needs a weight of rank >= 2, got shape {shape}")
    _, (_, r, c) = matrix_view(shape, layout)
    return Distribution("orthogonal", 0.0, g / math.sqrt(max(r, c, 1)), -g, g)


@scheme(
    "structured", recommended=("tanh", "linear"), law=_orthogonal_law, gain_from_activation=True
)
def orthogonal(
    shape: Shape, source: Source, *, gain: float = 1.0, layout: Any = None, fans: Any = None
) -> np.ndarray:
    """(Semi-)orthogonal matrix times gain (Saxe et al. 2014).

    Formula: A ~ N(0, 1) of shape (r, c); Q R = qr(A) (of A^T if r < c);
    W = gain * Q * sign(diag R); Var(W_ij) = gain^2 / max(r, c)

    The sign fix makes the draw Haar-uniform.  Then ``W^T W = gain^2 I`` (r >= c) or
    ``W W^T = gain^2 I`` (r < c).  N-D weights are flattened to an (r, c) matrix as the layout
    says (:func:`matrix_view`: torch layouts ``shape[0]`` x the rest, like ``torch.nn.init``);
    with ``Axes(batch_axis=...)`` each batch slice is its own orthogonal matrix.  Computed in
    float64 and cast.

    >>> w = orthogonal((6, 4), rng=0, gain=2.0)
    >>> bool(np.allclose(w.T @ w, 4 * np.eye(4)))
    True
    """
    g = _gain(gain)
    if len(shape) < 2:
        raise ValueError(f"orthogonal needs a weight of rank >= 2, got shape {shape}")
    order, (batch, r, c) = matrix_view(shape, layout)
    if math.prod(shape) == 0:
        return np.zeros(shape)
    a = source.normal((batch, r, c))
    if r < c:
        a = np.swapaxes(a, -1, -2)
    q, rr = np.linalg.qr(a)
    d = np.diagonal(rr, axis1=-2, axis2=-1)
    q = q * np.where(d == 0, 1.0, np.sign(d))[:, None, :]
    if r < c:
        q = np.swapaxes(q, -1, -2)
    w = (g * q).reshape([shape[i] for i in order])
    return np.transpose(w, np.argsort(order))


@scheme("structured", recommended=("linear",), aliases=("eye",))
def identity(
    shape: Shape, source: Source, *, gain: float = 1.0, layout: Any = None, fans: Any = None
) -> np.ndarray:
    """Identity matrix times gain (2-D only; for conv kernels use :func:`dirac`).

    Formula: W[i, j] = gain if i == j else 0

    Rectangular shapes get ``gain`` on the main diagonal.

    >>> identity((2, 3), gain=0.5).tolist()
    [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]
    """
    g = _gain(gain)
    if len(shape) != 2:
        raise ValueError(
            f"identity needs a 2-D weight, got shape {shape}; use 'dirac' for convolution kernels"
        )
    return g * np.eye(shape[0], shape[1])


@scheme("structured", trial=((4, 4, 3, 3), "torch"))
def dirac(
    shape: Shape,
    source: Source,
    *,
    gain: float = 1.0,
    groups: int = 1,
    layout: Any = None,
    fans: Any = None,
) -> np.ndarray:
    """Identity for convolution kernels.

    Formula: W[g * n + i, i, centre] = gain in each group g (n = channels per group), else 0

    Output channel ``i`` copies input channel ``i`` at the kernel's centre (index ``k // 2`` on
    every spatial axis), in each of ``groups`` groups.  Needs ``layout`` ("torch",
    "torch_transpose" or "channels_last") and a rank-3 to rank-5 shape.  Channels beyond
    ``min(in, out)`` stay 0.

    >>> dirac((2, 2, 3), layout="torch")[:, :, 1].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    g = _gain(gain)
    groups = check_positive_int("groups", groups)
    if not 3 <= len(shape) <= 5:
        raise ValueError(f"dirac needs a convolution kernel of rank 3 to 5, got shape {shape}")
    check_choice("layout", layout, LAYOUTS)
    nd = len(shape)
    if layout in ("torch", "torch_transpose"):
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
    return w


def _unit_axis(shape: Shape, layout: Any) -> int:
    """The axis that indexes units (output channels): the last one in initlab's ``(in, out)``
    and channels_last layouts, 0 in torch's ``(out, in, *k)``, 1 in ``(in, out, *k)``."""
    if isinstance(layout, Axes):
        raise ValueError("sparse needs layout None, 'channels_last', 'torch' or 'torch_transpose'")
    if layout is None:
        if len(shape) != 2:
            compute_fans(shape, None)  # raises the "say how it is laid out" error
        return 1
    check_choice("layout", layout, LAYOUTS)
    return {"channels_last": len(shape) - 1, "torch": 0, "torch_transpose": 1}[layout]


def _sparse_counts(shape: Shape, layout: Any, sparsity: float) -> tuple[int, int, int]:
    s = check_finite_real("sparsity", sparsity, low=0.0, high=1.0)
    if len(shape) < 2:
        raise ValueError(f"sparse needs a weight of rank >= 2, got shape {shape}")
    units = shape[_unit_axis(shape, layout)]
    incoming = math.prod(shape) // units if units else 0
    return units, incoming, math.ceil(s * incoming)


def _sparse_law(shape: Shape, layout: Any, fans: Any, *, sparsity: float, std: float):
    sd = check_finite_real("std", std, low=0.0)
    _, incoming, n_zero = _sparse_counts(shape, layout, sparsity)
    kept = 1.0 - n_zero / incoming if incoming else 1.0
    return Distribution("sparse", 0.0, sd * math.sqrt(kept))


@scheme("structured", law=_sparse_law)
def sparse(
    shape: Shape,
    source: Source,
    *,
    sparsity: float = 0.1,
    std: float = 0.01,
    layout: Any = None,
    fans: Any = None,
) -> np.ndarray:
    """Sparse normal (Martens 2010): a fraction of each unit's incoming weights set to 0.

    Formula: W ~ N(0, std^2), then ceil(sparsity * n_in) of the n_in incoming weights of
    each unit set to 0

    A unit is a column of initlab's ``(in, out)`` layout, a row of torch's ``(out, in, *k)``
    (``torch.nn.init.sparse_`` instead zeroes entries per column of ``(out, in)``); the
    positions are the smallest of uniform keys drawn from the same source.

    >>> w = sparse((10, 4), rng=0, sparsity=0.3)
    >>> (w == 0).sum(axis=0).tolist()
    [3, 3, 3, 3]
    """
    sd = check_finite_real("std", std, low=0.0)
    units, incoming, n_zero = _sparse_counts(shape, layout, sparsity)
    axis = _unit_axis(shape, layout)
    w = sd * source.normal(shape)
    if n_zero and w.size:
        keys = source.uniform(shape)
        per_unit = np.moveaxis(keys, axis, 0).reshape(units, incoming)
        drop = np.zeros((units, incoming), dtype=bool)
        np.put_along_axis(drop, np.argsort(per_unit, axis=1)[:, :n_zero], True, axis=1)
        rest = [shape[i] for i in range(len(shape)) if i != axis]
        w[np.moveaxis(drop.reshape(units, *rest), 0, axis)] = 0.0
    return w


def _scaled_law(
    shape: Shape, layout: Any, fans: Any, *, base: str, factor: float
) -> Distribution | None:
    f = check_finite_real("factor", factor)
    spec = get(base)
    d = spec.info.law_at(shape, layout, fans, **spec.params)
    if d is None:
        return None
    lo, hi = sorted((f * d.low, f * d.high))
    return Distribution(d.kind, f * d.mean, abs(f) * d.std, lo, hi, f * d.loc, abs(f) * d.sigma)


@scheme("failure", law=_scaled_law)
def scaled(
    shape: Shape,
    source: Source,
    *,
    base: str = "xavier_normal",
    factor: float = 10.0,
    layout: Any = None,
    fans: Any = None,
) -> np.ndarray:
    """Another scheme times a factor (e.g. Xavier x 10).

    Formula: W = factor * W_base, std = |factor| * std_base

    A well-shaped but badly scaled start.

    >>> w = scaled((256, 128), rng=0, base="xavier_normal", factor=10)
    >>> round(float(w.std()), 2)  # 10 * sqrt(2 / 384)
    0.72
    """
    f = check_finite_real("factor", factor)
    spec = get(base)
    with np.errstate(over="ignore"):
        w = f * spec.info.values(shape, source, layout, fans, **spec.params)
    if not np.all(np.isfinite(w)):
        raise ValueError(f"scaled values overflow float64 (factor={factor!r}, base={base!r})")
    return w


@scheme(
    "structured",
    recommended=("relu", "tanh", "leaky_relu", "elu", "gelu", "silu", "selu", "linear"),
    data_dependent=True,
)
def lsuv(shape: Shape, source: Source, *, layout: Any = None, fans: Any = None) -> np.ndarray:
    """Data-dependent: orthogonal, then unit output variance (Mishkin & Matas 2016).

    Formula: W = Q (orthogonal, gain 1); then W <- W / std(layer output) until Var = 1

    This is LSUV's starting point.  The second step needs the network and data:
    :func:`initlab.network.lsuv_rescale` does it for the NumPy engine and
    :func:`initlab.torch.lsuv` for PyTorch models.

    >>> w = lsuv((5, 3), rng=0)
    >>> bool(np.allclose(w.T @ w, np.eye(3)))
    True
    """
    return info("orthogonal").values(shape, source, layout, fans, gain=1.0)
