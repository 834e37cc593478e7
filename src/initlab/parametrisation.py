"""Named parametrisations: how a network's multipliers and per-layer learning rates scale with
its width.

A parametrisation sets, per layer l, the weight multiplier ``c_l`` (``Z_l = c_l A_{l-1} W_l +
b_l``) and the learning-rate multipliers of ``W_l`` and ``b_l`` (the update of a parameter is
its optimizer's update times its multiplier); the initial variances stay those of the chosen
init scheme (fan-in based, e.g. ``he_normal`` or ``lecun_normal``), and the readout may start
at zero.  Widths enter as ratios ``r = n / n_base`` to a *base* network of the same depth, so
that at the base widths every parametrisation is the standard one and the base's tuned
learning rate carries over.

standard
    every multiplier 1: ``Z_l = A_{l-1} W_l + b_l``, one learning rate for all parameters.

mup (Yang & Hu 2021, "Tensor Programs IV/V"; the multiplier form of their Table 8, as in the
``mup`` library's ``MuReadout``/``MuSGD``/``MuAdam``)
    with ``r_in``, ``r_out`` the width ratios of a layer's fan-in and fan-out (1 for the input
    and output sizes, which do not grow):

    ===============  ===========  ==========  =================  ==================
    layer            init std     multiplier  SGD lr multiplier  Adam lr multiplier
    ===============  ===========  ==========  =================  ==================
    input W_1        x 1          1           r_out              1
    hidden W_l       x 1          1           r_out / r_in       1 / r_in
    output W_L       x sqrt(r_in) 1 / r_in    r_in               1
    hidden biases    x 1          (none)      r_out              1
    output bias      x 1          (none)      1                  1
    ===============  ===========  ==========  =================  ==================

    The output layer's effective weights ``W_L / r_in`` then have variance
    ``1 / (fan_in r_in)``, proportional to ``1 / fan_in^2`` as in the paper's Table 3 (the
    ``mup`` library's ``MuReadout`` rescales its init the same way).  Momentum and nesterov
    scale as SGD, rmsprop as Adam.  With ``zero_readout`` the output weights start at 0, as
    the paper recommends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from initlab._checks import check_choice
from initlab.network import Network, _check_sizes

__all__ = ["PARAMETRISATIONS", "Parametrisation", "parametrisation", "parametrise"]

PARAMETRISATIONS: tuple[str, ...] = ("standard", "mup")
_ADAPTIVE = ("adam", "rmsprop")


@dataclass(frozen=True)
class Parametrisation:
    """Per-layer constants of a named parametrisation for given layer sizes."""

    name: str
    #: per layer: the factor on the init scheme's standard deviation of W
    init_scale: tuple[float, ...]
    multipliers: tuple[float, ...]
    lr_scale: tuple[float, ...]
    bias_lr_scale: tuple[float, ...]


def parametrisation(
    name: str,
    sizes: Sequence[int],
    base_sizes: Sequence[int] | None = None,
    optimizer: str = "gd",
) -> Parametrisation:
    """The constants of parametrisation ``name`` for a network of ``sizes`` whose base network
    (where every parametrisation is the standard one) has ``base_sizes`` (default: ``sizes``)
    and is trained with ``optimizer`` (adam and rmsprop scale one way, the SGD family the
    other); see the module docstring for the table."""
    check_choice("parametrisation", name, PARAMETRISATIONS)
    sizes = _check_sizes(sizes)
    base = sizes if base_sizes is None else _check_sizes(base_sizes)
    if len(base) != len(sizes) or base[0] != sizes[0] or base[-1] != sizes[-1]:
        raise ValueError(
            f"base_sizes {list(base)} must have the depth, input size and output size of "
            f"sizes {list(sizes)} (only hidden widths may differ)"
        )
    L = len(sizes) - 1
    if name == "standard":
        return Parametrisation(name, (1.0,) * L, (1.0,) * L, (1.0,) * L, (1.0,) * L)
    ratio = [n / b for n, b in zip(sizes, base, strict=True)]
    adaptive = optimizer in _ADAPTIVE
    std, mult, lr, blr = [], [], [], []
    for l in range(L):
        r_in, r_out = ratio[l], ratio[l + 1]
        std.append(math.sqrt(r_in) if l == L - 1 else 1.0)
        if l == L - 1:  # output layer
            mult.append(1.0 / r_in)
            lr.append(1.0 if adaptive else r_in)
        elif l == 0:  # input layer
            mult.append(1.0)
            lr.append(1.0 if adaptive else r_out)
        else:  # hidden layer
            mult.append(1.0)
            lr.append(1.0 / r_in if adaptive else r_out / r_in)
        blr.append(1.0 if adaptive else r_out)
    return Parametrisation(name, tuple(std), tuple(mult), tuple(lr), tuple(blr))


def parametrise(
    net: Network,
    name: str,
    base_sizes: Sequence[int] | None = None,
    optimizer: str = "gd",
    *,
    zero_readout: bool = False,
) -> Network:
    """A copy of ``net`` under parametrisation ``name`` (see :func:`parametrisation`), its
    output weights set to 0 if ``zero_readout``."""
    p = parametrisation(name, net.sizes, base_sizes, optimizer)
    out = net.copy()
    out.multipliers, out.lr_scale, out.bias_lr_scale = p.multipliers, p.lr_scale, p.bias_lr_scale
    for W, s in zip(out.weights, p.init_scale, strict=True):
        W *= s
    if zero_readout:
        out.weights[-1][...] = 0.0
    out.meta["parametrisation"] = name
    return out
