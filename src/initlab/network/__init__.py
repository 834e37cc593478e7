"""The multilayer perceptron: parameters, forward pass with cache, backward pass.

A :class:`Network` is plain data: layer sizes, one activation per layer, and the parameters
``W_l`` of shape ``(K, n_{l-1}, n_l)`` and ``b_l`` of shape ``(K, 1, n_l)``, where ``K`` is the
*population*: K independent networks with the same layer sizes (different schemes, seeds or
learning rates) trained in one pass with batched matmul.  A single network is K = 1; there is
one code path.

The equations, for layer ``l = 1..L`` with ``A_0 = X`` (shape ``(m, n_0)``, shared by the
population)::

    forward:   Z_l = A_{l-1} @ W_l + b_l          A_l = g_l(Z_l)
    backward:  dZ_L = (loss delta) / m            e.g. (A_L - Y) / m for sigmoid + cross-entropy
               dW_l = A_{l-1}^T @ dZ_l            db_l = sum over the m examples of dZ_l
               dA_{l-1} = dZ_l @ W_l^T            dZ_{l-1} = dA_{l-1} * g'_{l-1}(Z_{l-1})

Two optional per-layer constants extend these equations (both default to a plain MLP):

* a *residual block* (``residual[l - 1] = alpha``, a hidden layer whose width equals its
  input's): ``A_l = A_{l-1} + alpha * g_l(Z_l)``, so backward
  ``dZ_l = alpha * dA_l * g'_l(Z_l)`` and the skip path adds ``dA_l`` to ``dA_{l-1}``;
* a *weight multiplier* (``multipliers[l - 1] = c``, as parametrisations such as muP use):
  ``Z_l = c * (A_{l-1} @ W_l) + b_l``, so ``dW_l = c * A_{l-1}^T @ dZ_l`` and
  ``dA_{l-1} = c * dZ_l @ W_l^T``.

Per-layer learning-rate multipliers (``lr_scale`` for W, ``bias_lr_scale`` for b) do not change
these equations: the training loop multiplies layer l's updates by them.

Every ``d`` here is an exact gradient of the mean cost ``J``: ``dZ_l = dJ/dZ_l``, ``dA_l =
dJ/dA_l``.  The seed (and Andrew Ng's notes) write per-example ``dZ = A - Y`` and put the ``1/m``
into ``dW = A^T dZ / m``; dividing once at the output gives the same ``dW`` and ``db`` and makes
``dZ``/``dA`` the true gradients the diagnostics report.

This module holds the equations: the parameters, :func:`forward`, :func:`backward`.  Building a
network (:func:`init_network`, :func:`network_from_arrays`, :func:`lsuv_rescale`) is in
:mod:`initlab.network.build`; checking its data and its backward pass (:func:`gradient_check`)
in :mod:`initlab.network.checks`; both are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from initlab._checks import check_finite_real
from initlab.activations import Activation
from initlab.losses import Loss

__all__ = [
    "Cache",
    "Grads",
    "Network",
    "backward",
    "forward",
    "gradient_check",
    "init_network",
    "lsuv_rescale",
    "member_rng",
    "network_from_arrays",
    "numeric_gradients",
    "predict",
]


def _per_layer(name: str, values: Any, L: int, default: Any) -> tuple:
    """``values`` as one entry per layer: empty means ``default`` everywhere."""
    values = tuple(values) if values is not None else ()
    if not values:
        return (default,) * L
    if len(values) != L:
        raise ValueError(f"{name} has {len(values)} entries for {L} layers")
    out = []
    for i, v in enumerate(values):
        if v is None and default is None:
            out.append(None)
        else:
            out.append(check_finite_real(f"{name}[{i}]", v))
    return tuple(out)


@dataclass
class Network:
    """An MLP (or a population of K of them): sizes, activations and parameters."""

    sizes: tuple[int, ...]
    activations: tuple[Activation, ...]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    #: what built the parameters, per member (for reports); free-form plain data
    meta: dict[str, Any] = field(default_factory=dict)
    #: per layer: the branch scale alpha of a residual block, or None for a dense layer
    #: (empty: all dense)
    residual: tuple[float | None, ...] = ()
    #: per layer: the weight multiplier c in ``Z = c * (A @ W) + b`` (empty: all 1)
    multipliers: tuple[float, ...] = ()
    #: per layer: the learning-rate multiplier of its W (empty: all 1)
    lr_scale: tuple[float, ...] = ()
    #: per layer: the learning-rate multiplier of its b (empty: all 1)
    bias_lr_scale: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        L = len(self.weights)
        self.residual = _per_layer("residual", self.residual, L, None)
        self.multipliers = _per_layer("multipliers", self.multipliers, L, 1.0)
        self.lr_scale = _per_layer("lr_scale", self.lr_scale, L, 1.0)
        self.bias_lr_scale = _per_layer("bias_lr_scale", self.bias_lr_scale, L, 1.0)
        for l, alpha in enumerate(self.residual):
            if alpha is None:
                continue
            if l == L - 1:
                raise ValueError(
                    "residual: the output layer cannot be a residual block; use None for it"
                )
            if self.sizes[l] != self.sizes[l + 1]:
                raise ValueError(
                    f"residual[{l}]: layer {l + 1} maps width {self.sizes[l]} to "
                    f"{self.sizes[l + 1]}; a residual block A + alpha g(A W + b) needs the same "
                    "width in and out (there is no projection): make that layer dense (None)"
                )

    @property
    def plain(self) -> bool:
        """True for a plain MLP: no residual block, every multiplier and lr scale 1."""
        return (
            all(a is None for a in self.residual)
            and all(c == 1.0 for c in self.multipliers)
            and all(s == 1.0 for s in self.lr_scale + self.bias_lr_scale)
        )

    @property
    def depth(self) -> int:
        """Number of layers with parameters (hidden layers + output layer)."""
        return len(self.weights)

    @property
    def population(self) -> int:
        return self.weights[0].shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.weights[0].dtype

    @property
    def params(self) -> list[np.ndarray]:
        """``[W_1, b_1, W_2, b_2, ...]``: the order optimizers and probes use."""
        out = []
        for w, b in zip(self.weights, self.biases, strict=True):
            out += [w, b]
        return out

    def copy(self) -> Network:
        return Network(
            self.sizes,
            self.activations,
            [w.copy() for w in self.weights],
            [b.copy() for b in self.biases],
            dict(self.meta),
            self.residual,
            self.multipliers,
            self.lr_scale,
            self.bias_lr_scale,
        )

    def member(self, k: int) -> Network:
        """Member ``k`` of the population as a network of its own (K = 1), sharing no memory."""
        if not -self.population <= k < self.population:
            raise IndexError(f"member {k} is out of range for a population of {self.population}")
        sl = slice(k, k + 1) if k != -1 else slice(-1, None)
        return Network(
            self.sizes,
            self.activations,
            [w[sl].copy() for w in self.weights],
            [b[sl].copy() for b in self.biases],
            dict(self.meta),
            self.residual,
            self.multipliers,
            self.lr_scale,
            self.bias_lr_scale,
        )


@dataclass
class Cache:
    """What the forward pass keeps for the backward pass and for probes.

    ``A[0]`` is the input ``X`` (m, n_0); ``A[l]`` and ``Z[l - 1]`` are layer l's activation and
    pre-activation, shape (K, m, n_l)."""

    A: list[np.ndarray]
    Z: list[np.ndarray]


@dataclass
class Grads:
    """Gradients of the mean cost J for every layer: ``dW``, ``db``, ``dZ`` and ``dA``
    (``dZ[l - 1]`` and ``dA[l - 1]`` are w.r.t. layer l's pre-activation and activation;
    ``dA`` of the output layer is not computed and is None)."""

    dW: list[np.ndarray]
    db: list[np.ndarray]
    dZ: list[np.ndarray]
    dA: list[np.ndarray]

    @property
    def params(self) -> list[np.ndarray]:
        """``[dW_1, db_1, dW_2, db_2, ...]``, aligned with :attr:`Network.params`."""
        out = []
        for w, b in zip(self.dW, self.db, strict=True):
            out += [w, b]
        return out


def forward(net: Network, X: np.ndarray) -> tuple[np.ndarray, Cache]:
    """Forward pass: ``Z_l = A_{l-1} @ W_l + b_l``, ``A_l = g_l(Z_l)`` (residual blocks and
    multipliers as in the module docstring); returns ``(A_L, cache)``."""
    A = X
    As, Zs = [X], []
    layers = zip(
        net.weights, net.biases, net.activations, net.residual, net.multipliers, strict=True
    )
    for W, b, g, alpha, c in layers:
        Z = A @ W
        if c != 1.0:
            Z *= c
        Z += b
        A = g.forward(Z) if alpha is None else A + alpha * g.forward(Z)
        Zs.append(Z)
        As.append(A)
    return A, Cache(As, Zs)


@lru_cache(maxsize=32)
def _ones_row(m: int, dtype: np.dtype) -> np.ndarray:
    """A read-only (1, m) row of ones: ``ones @ dZ`` sums over examples faster than ``sum``."""
    row = np.ones((1, m), dtype=dtype)
    row.setflags(write=False)
    return row


def backward(
    net: Network, cache: Cache, Y: np.ndarray, loss: Loss, out: Grads | None = None
) -> Grads:
    """Backward pass for ``loss`` with targets ``Y``; the equations are in the module docstring.

    ``out``, if given, holds preallocated ``dW`` and ``db`` arrays to write the gradients into
    (the training loop passes views of one flat gradient buffer)."""
    L = net.depth
    m = cache.A[0].shape[0]
    dW: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    db: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    dZs: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    dAs: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    delta = loss.delta(cache.Z[-1], cache.A[-1], Y, net.activations[-1])
    dZ = delta * (1.0 / m)  # from here on dZ and dA are gradients of the mean cost J
    ones = _ones_row(m, dZ.dtype)
    for l in range(L - 1, -1, -1):
        dZs[l] = dZ
        # the output layer sums the per-example deltas before dividing by m, so deltas that
        # cancel exactly (a balanced batch at a stationary point) give exactly 0
        c = net.multipliers[l]
        src, w_scale, b_scale = (delta, c / m, 1.0 / m) if l == L - 1 else (dZ, c, 1.0)
        A_prev_T = cache.A[l].swapaxes(-1, -2)
        if out is None:
            dW[l] = A_prev_T @ src
            db[l] = ones @ src
        else:
            dW[l] = np.matmul(A_prev_T, src, out=out.dW[l])
            db[l] = np.matmul(ones, src, out=out.db[l])
        if w_scale != 1.0:
            dW[l] *= w_scale
        if b_scale != 1.0:
            db[l] *= b_scale
        if l > 0:
            dA = dZ @ net.weights[l].swapaxes(-1, -2)
            if c != 1.0:
                dA *= c
            if net.residual[l] is not None:
                dA += dAs[l]  # the skip path of A_{l+1} = A_l + alpha g(Z_{l+1})
            dAs[l - 1] = dA
            g, alpha, Z = net.activations[l - 1], net.residual[l - 1], cache.Z[l - 1]
            if alpha is None:
                dZ = dA * g.derivative(Z, cache.A[l])
            else:  # the branch's own output g(Z), not the block's A
                dZ = (alpha * dA) * g.derivative(Z, g.forward(Z))
    return Grads(dW, db, dZs, dAs)


def predict(net: Network, X: np.ndarray) -> np.ndarray:
    """The network's output ``A_L`` for inputs ``X``, shape (K, m, n_out)."""
    return forward(net, X)[0]


def n_params(net: Network) -> int:
    """Number of trainable parameters of one member."""
    return sum(math.prod(p.shape[1:]) for p in net.params)


# Building a network and checking one live in submodules; they use the classes and passes above,
# so they are imported last, and re-exported here (``initlab.network.init_network`` etc.; the
# private ``_check_sizes`` and the unlisted ``check_data`` for the modules that import them).
from initlab.network.build import (  # noqa: E402
    _check_sizes as _check_sizes,
)
from initlab.network.build import (  # noqa: E402
    init_network,
    lsuv_rescale,
    member_rng,
    network_from_arrays,
)
from initlab.network.checks import check_data as check_data  # noqa: E402
from initlab.network.checks import gradient_check, numeric_gradients  # noqa: E402
