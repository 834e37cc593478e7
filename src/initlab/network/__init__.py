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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from initlab._checks import (
    ParameterError,
    ParameterTypeError,
    check_finite_real,
    check_float_dtype,
    check_positive_int,
)
from initlab.activations import Activation, parse_activation
from initlab.losses import Loss, get_loss
from initlab.schemes import SchemeSpec, parse_scheme

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


# --------------------------------------------------------------------------- construction


def member_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of population member ``index`` for ``seed``.

    ``SeedSequence(seed, spawn_key=(index,))``: member k's draws do not depend on the
    population size, so a single network with seed s equals member 0 of a population with
    seed s."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _per_member(name: str, value: Any, k: int) -> list[Any]:
    if isinstance(value, list | tuple) and not isinstance(value, str):
        if len(value) != k:
            raise ValueError(f"{name} has {len(value)} entries for a population of {k}")
        return list(value)
    return [value] * k


def _activations(sizes: Sequence[int], activation: Any, output_activation: Any) -> tuple:
    n_hidden = len(sizes) - 2
    if isinstance(activation, list | tuple):
        if len(activation) != n_hidden:
            raise ValueError(
                f"activation lists {len(activation)} activations for {n_hidden} hidden layers"
            )
        hidden = [parse_activation(a) for a in activation]
    else:
        hidden = [parse_activation(activation)] * n_hidden
    for g in hidden:
        if not g.elementwise:
            raise ValueError(f"{g.name} can only be an output activation, not a hidden one")
    return (*hidden, parse_activation(output_activation))


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    if isinstance(sizes, str) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(
            "sizes must list at least an input and an output size, e.g. [2, 10, 5, 1]; "
            f"got {sizes!r}"
        )
    return tuple(check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes))


def _residual_layers(sizes: tuple[int, ...], residual: Any) -> tuple[float | None, ...]:
    """``init_network``'s ``residual`` as one entry per layer (the output layer's is None)."""
    n_hidden = len(sizes) - 2
    if residual is None:
        return ()
    if isinstance(residual, list | tuple):
        if len(residual) != n_hidden:
            raise ValueError(
                f"residual lists {len(residual)} entries for {n_hidden} hidden layers "
                "(one branch scale, or None for a dense layer, per hidden layer)"
            )
        return (*residual, None)
    alpha = check_finite_real("residual", residual)
    return (*(alpha if sizes[l] == sizes[l + 1] else None for l in range(n_hidden)), None)


def init_network(
    sizes: Sequence[int],
    activation: str | Activation | Sequence[str | Activation] = "relu",
    output_activation: str | Activation = "sigmoid",
    weight_init: str | SchemeSpec | Sequence[str | SchemeSpec] = "he_normal",
    bias_init: str | SchemeSpec | Sequence[str | SchemeSpec] = "zeros",
    *,
    population: int = 1,
    seed: int | Sequence[int] = 0,
    dtype: Any = np.float64,
    data: np.ndarray | None = None,
    residual: float | Sequence[float | None] | None = None,
    multipliers: Sequence[float] | None = None,
    lr_scale: Sequence[float] | None = None,
) -> Network:
    """Build a network (or a population) and initialize its parameters with the given schemes.

    ``sizes`` are the layer widths from input to output, e.g. ``[2, 10, 5, 1]``.  ``activation``
    is the hidden activation (one name for all, or a list with one per hidden layer).
    ``weight_init``, ``bias_init`` and ``seed`` may each be a list with one entry per member.
    Member ``k`` draws, layer by layer (W then b), from :func:`member_rng` ``(seed_k, k)`` when
    ``seed`` is an int, and from ``member_rng(seed[k], 0)`` when it is a list (so members given
    the same seed draw the same random numbers, which makes scheme comparisons paired).
    Weights are ``(in, out)``; biases get ``fans=(in, out)`` so fan-based bias schemes work.
    Data-dependent schemes (``lsuv``) need ``data``: a batch of inputs.

    ``residual`` makes hidden layers residual blocks ``A_l = A_{l-1} + alpha g(Z_l)``: one
    number ``alpha`` for every hidden layer whose width equals its input's (a layer that
    changes the width, such as the first from the inputs, stays dense: there is no
    projection), or a list with one ``alpha`` or None (dense) per hidden layer, where a block
    that changes the width is an error.  ``multipliers`` (weight multipliers ``c_l`` in
    ``Z_l = c_l A_{l-1} W_l + b_l``) and ``lr_scale`` (learning-rate multipliers) have one
    entry per layer, output layer included (:func:`initlab.parametrisation.parametrise` sets
    the multipliers and learning-rate scales of a named parametrisation such as muP).
    """
    sizes = _check_sizes(sizes)
    k = check_positive_int("population", population)
    dt = check_float_dtype(dtype)
    acts = _activations(sizes, activation, output_activation)
    w_specs = [
        parse_scheme(s, field="weight_init") for s in _per_member("weight_init", weight_init, k)
    ]
    b_specs = [parse_scheme(s, field="bias_init") for s in _per_member("bias_init", bias_init, k)]
    if isinstance(seed, list | tuple):
        seeds = _per_member("seed", seed, k)
        rngs = [member_rng(check_positive_int("seed", s, minimum=0), 0) for s in seeds]
    else:
        s = check_positive_int("seed", seed, minimum=0)
        rngs = [member_rng(s, i) for i in range(k)]
    weights, biases = [], []
    per_member_w: list[list[np.ndarray]] = [[] for _ in range(k)]
    per_member_b: list[list[np.ndarray]] = [[] for _ in range(k)]
    for i in range(k):
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            per_member_w[i].append(w_specs[i]((n_in, n_out), rngs[i], np.float64))
            per_member_b[i].append(
                b_specs[i]((n_out,), rngs[i], np.float64, fans=(n_in, n_out)).reshape(1, n_out)
            )
    for layer in range(len(sizes) - 1):
        weights.append(np.stack([per_member_w[i][layer] for i in range(k)]).astype(dt))
        biases.append(np.stack([per_member_b[i][layer] for i in range(k)]).astype(dt))
    net = Network(
        sizes,
        acts,
        weights,
        biases,
        {"weight_init": [str(s) for s in w_specs], "bias_init": [str(s) for s in b_specs]},
        _residual_layers(sizes, residual),
        tuple(multipliers or ()),
        tuple(lr_scale or ()),
    )
    lsuv_members = [i for i, s in enumerate(w_specs) if s.info.data_dependent]
    if lsuv_members:
        allowed = f"a 2-D array of real inputs of shape (m, {net.sizes[0]}) with m >= 1"
        if data is None:
            raise ParameterError(
                "data",
                None,
                allowed,
                "weight_init 'lsuv' is data-dependent: pass data=<a batch of inputs> to "
                "init_network so each layer can be rescaled to unit output variance",
            )
        arr = np.asarray(data)
        if np.iscomplexobj(arr) or arr.dtype.kind not in "biuf":
            raise ParameterTypeError(
                "data", data, allowed, f"data must hold real numbers, got dtype {arr.dtype}"
            )
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] != net.sizes[0]:
            raise ParameterError(
                "data",
                data,
                allowed,
                f"data for 'lsuv' must have shape (m, {net.sizes[0]}) with m >= 1 (one row per "
                f"example, one column per input of the network), got shape {arr.shape}",
            )
        lsuv_rescale(net, arr, members=lsuv_members)
    return net


def network_from_arrays(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray] | None = None,
    activation: str | Activation | Sequence[str | Activation] = "relu",
    output_activation: str | Activation = "sigmoid",
    dtype: Any = np.float64,
) -> Network:
    """A network with parameters given as arrays, to reproduce a textbook example exactly.

    Each ``W_l`` is ``(n_{l-1}, n_l)`` for one network or ``(K, n_{l-1}, n_l)`` for a
    population; each ``b_l`` is ``(n_l,)``, ``(1, n_l)`` or ``(K, 1, n_l)`` (default zeros)."""
    dt = check_float_dtype(dtype)
    if len(weights) == 0:
        raise ValueError("weights must hold at least one layer")
    ws = [np.array(w, dtype=dt) for w in weights]
    ws = [w[None] if w.ndim == 2 else w for w in ws]
    for i, w in enumerate(ws):
        if w.ndim != 3:
            raise ValueError(
                f"weights[{i}] must be 2-D (in, out) or 3-D (K, in, out), got {w.shape}"
            )
        if not np.all(np.isfinite(w)):
            raise ValueError(f"weights[{i}] contains NaN or inf")
    k = ws[0].shape[0]
    sizes = [ws[0].shape[1]]
    for i, w in enumerate(ws):
        if w.shape[0] != k or w.shape[1] != sizes[-1]:
            raise ValueError(
                f"weights[{i}] has shape {w.shape}; expected ({k}, {sizes[-1]}, n_out) to follow "
                "the previous layer"
            )
        sizes.append(w.shape[2])
    if biases is None:
        bs = [np.zeros((k, 1, w.shape[2]), dtype=dt) for w in ws]
    else:
        if len(biases) != len(ws):
            raise ValueError(f"got {len(biases)} biases for {len(ws)} weight matrices")
        bs = []
        for i, (b, w) in enumerate(zip(biases, ws, strict=True)):
            b = np.array(b, dtype=dt)
            try:
                bs.append(
                    np.broadcast_to(
                        b.reshape(-1, 1, w.shape[2]) if b.ndim < 3 else b, (k, 1, w.shape[2])
                    ).copy()
                )
            except ValueError:
                raise ValueError(
                    f"biases[{i}] has shape {b.shape}; expected ({w.shape[2]},) for that layer"
                ) from None
    acts = _activations(sizes, activation, output_activation)
    return Network(tuple(sizes), acts, ws, bs, {"weight_init": ["given"] * k})


def lsuv_rescale(
    net: Network,
    X: np.ndarray,
    *,
    tol: float = 0.05,
    max_iter: int = 10,
    members: Sequence[int] | None = None,
) -> list[int]:
    """LSUV (Mishkin & Matas 2016): rescale each layer, first to last, until the variance of its
    pre-activations on the batch ``X`` is 1 within ``tol``: ``W_l <- W_l / sqrt(Var(Z_l))``.

    Operates in place on the given population ``members`` (default all); returns the number of
    iterations each layer took.  Warns (naming the layer and the variance reached) if a layer
    does not converge in ``max_iter`` iterations."""
    tol = check_finite_real("tol", tol, low=0.0, low_inclusive=False)
    max_iter = check_positive_int("max_iter", max_iter)
    X = np.asarray(X, dtype=net.dtype)
    idx = list(range(net.population)) if members is None else list(members)
    iterations = []
    for layer in range(net.depth):
        n_iter = 0
        while True:
            _, cache = forward(net, X)
            var = cache.Z[layer][idx].var(axis=(1, 2))
            converged = bool(np.all(np.abs(var - 1.0) < tol))
            usable = bool(np.all(np.isfinite(var)) and np.all(var > 0))
            if converged or not usable or n_iter == max_iter:
                break
            net.weights[layer][idx] /= np.sqrt(var)[:, None, None].astype(net.dtype)
            n_iter += 1
        iterations.append(n_iter)
        if not converged:
            warnings.warn(
                f"LSUV: layer {layer + 1} did not reach unit variance within tol={tol} in "
                f"{max_iter} iterations (variance {np.round(var, 4).tolist()})",
                RuntimeWarning,
                stacklevel=2,
            )
    return iterations


def check_data(net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss | str) -> Loss:
    """Validate inputs and targets against the network and the loss; returns the loss."""
    loss = get_loss(loss)
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ParameterError(
            "X",
            X.shape,
            f"shape (m, {net.sizes[0]})",
            f"X must have shape (m, {net.sizes[0]}) for a network with {net.sizes[0]} inputs, "
            f"got {X.shape}",
        )
    if Y.ndim != 2 or Y.shape != (X.shape[0], net.sizes[-1]):
        raise ParameterError(
            "Y",
            Y.shape,
            f"shape ({X.shape[0]}, {net.sizes[-1]})",
            f"Y must have shape ({X.shape[0]}, {net.sizes[-1]}) (one row per example, one column "
            f"per output), got {Y.shape}",
        )
    if not np.all(np.isfinite(X)):
        bad = int(np.size(X) - np.count_nonzero(np.isfinite(X)))
        raise ParameterError(
            "X",
            f"{bad} NaN/inf entries",
            "finite numbers",
            f"X contains NaN or inf ({bad} entries)",
        )
    loss.check_output(net.activations[-1])
    loss.check_targets(Y)
    return loss


def n_params(net: Network) -> int:
    """Number of trainable parameters of one member."""
    return sum(math.prod(p.shape[1:]) for p in net.params)


def numeric_gradients(
    net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss | str, eps: float = 1e-6
) -> list[np.ndarray]:
    """Central finite differences of the mean cost for every parameter, every member at once:
    ``g = (J(p + eps) - J(p - eps)) / (2 eps)``, aligned with :attr:`Network.params` (same
    shapes, population axis included).  Members are independent, so perturbing one entry in
    all members at once costs one forward pair per entry of one member.  The network is left
    unchanged."""
    loss = check_data(net, np.asarray(X), np.asarray(Y), loss)
    X = np.asarray(X, dtype=net.dtype)
    Y = np.asarray(Y, dtype=net.dtype)
    eps = check_finite_real("eps", eps, low=0.0, low_inclusive=False)

    def cost() -> np.ndarray:
        A, c = forward(net, X)
        return loss.cost(c.Z[-1], A, Y)

    out = []
    for p in net.params:
        g = np.zeros(p.shape)
        for index in np.ndindex(p.shape[1:]):
            sl = (slice(None), *index)
            saved = p[sl].copy()
            p[sl] = saved + eps
            plus = cost()
            p[sl] = saved - eps
            minus = cost()
            p[sl] = saved
            g[sl] = (plus - minus) / (2.0 * eps)
        out.append(g)
    return out


def gradient_check(
    net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss | str, eps: float = 1e-6
) -> float:
    """Relative error between backpropagation and central finite differences
    (:func:`numeric_gradients`): ``||g_num - g_backprop|| / (||g_num|| + ||g_backprop||)`` over
    all parameters and members (0 if both are 0).  Below 1e-7 in float64 means the backward
    pass is right.  The network is left unchanged."""
    loss = check_data(net, np.asarray(X), np.asarray(Y), loss)
    Xd = np.asarray(X, dtype=net.dtype)
    Yd = np.asarray(Y, dtype=net.dtype)
    A, cache = forward(net, Xd)
    analytic = backward(net, cache, Yd, loss).params
    numeric = numeric_gradients(net, Xd, Yd, loss, eps)
    diff = math.sqrt(
        sum(float(np.sum((n - a) ** 2)) for n, a in zip(numeric, analytic, strict=True))
    )
    denom = math.sqrt(sum(float(np.sum(n**2)) for n in numeric)) + math.sqrt(
        sum(float(np.sum(a**2)) for a in analytic)
    )
    return 0.0 if denom == 0.0 else diff / denom
