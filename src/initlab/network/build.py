"""Building a :class:`~initlab.network.Network`: a population initialized by schemes
(:func:`init_network`), one given as arrays (:func:`network_from_arrays`), and the data-dependent
LSUV rescaling (:func:`lsuv_rescale`); with the checks of their arguments.

Member ``k`` of a population draws from its own generator, :func:`member_rng`, so its
parameters do not depend on the population size.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
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
from initlab.network import Network, forward
from initlab.schemes import SchemeSpec, parse_scheme

__all__ = ["init_network", "lsuv_rescale", "member_rng", "network_from_arrays"]


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


def _lsuv_data(net: Network, data: Any) -> np.ndarray:
    """``init_network``'s ``data`` for a data-dependent scheme: a 2-D array of real inputs,
    one row per example and one column per input of ``net``."""
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
    return arr


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
        lsuv_rescale(net, _lsuv_data(net, data), members=lsuv_members)
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
