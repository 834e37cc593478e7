"""The peers of ``bench_engine.py``: the same networks and training in PyTorch eager and JAX.

Every function takes an initlab :class:`~initlab.network.Network` for the initial parameters and
returns or reports parameters in initlab's layout (``W_l`` (K, in, out), ``b_l`` (K, 1, out)), so
the benchmark can compare the sides.  Both peers train with the binary cross-entropy of the
logits (initlab's ``binary_cross_entropy``) by full-batch gradient descent ``p <- p - lr dJ/dp``.

JAX (a benchmark-only dependency, the ``bench`` extra): the step is ``jax.value_and_grad`` of the
cost followed by the update, compiled by ``jax.jit``; ``jax_scanner`` runs ``n`` steps in one
compiled call with ``lax.scan`` (and ``jax.vmap`` over the members of a population), keeping the
cost of every step as initlab does; ``jax_stepper`` calls a jitted single step ``n`` times.  The
parameters are donated to the compiled call (``donate_argnums``), so XLA may update them in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from initlab.network import Network

# --------------------------------------------------------------------------- PyTorch eager


def torch_models(net: Network) -> list[Any]:
    """One ``nn.Sequential`` of Linear (+ ReLU) layers per population member, in ``net``'s
    dtype, holding that member's parameters: ``weight = W_k^T``, ``bias = b_k``."""
    import torch
    from torch import nn

    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    models = []
    depth = len(net.sizes) - 1
    for k in range(net.population):
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True)):
            lin = nn.Linear(n_in, n_out, dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(net.weights[i][k].T)))
                lin.bias.copy_(torch.from_numpy(net.biases[i][k, 0]))
            layers.append(lin)
            if i < depth - 1:
                layers.append(nn.ReLU())
        models.append(nn.Sequential(*layers))
    return models


def torch_params(models: list[Any]) -> list[np.ndarray]:
    """The torch models' parameters in initlab's layout and order: ``[W_1 .. W_L, b_1 .. b_L]``
    with ``W_l`` (K, in, out) and ``b_l`` (K, 1, out)."""
    per_model = []
    for model in models:
        lins = [m for m in model if hasattr(m, "weight")]
        per_model.append(
            [lin.weight.detach().numpy().T for lin in lins]
            + [lin.bias.detach().numpy()[None, :] for lin in lins]
        )
    return [np.stack(arrays) for arrays in zip(*per_model, strict=True)]


def torch_trainer(models: list[Any], X: np.ndarray, Y: np.ndarray, lr: float) -> Callable:
    """``step(n)``: n full-batch gradient-descent steps of every model, one model after another
    (what a user with several torch models does)."""
    import torch
    from torch import nn

    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    loss_fn = nn.BCEWithLogitsLoss()
    pairs = [(m, torch.optim.SGD(m.parameters(), lr=lr)) for m in models]

    done = [0]

    def step(n: int) -> None:
        for _ in range(n):
            for model, opt in pairs:
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt), Yt)
                loss.backward()
                opt.step()
        done[0] += n

    step.done = done  # type: ignore[attr-defined]  # steps taken so far, for the check
    return step


def torch_costs(models: list[Any], X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Every model's mean binary cross-entropy on ``(X, Y)``, shape (K,)."""
    import torch
    from torch import nn

    loss_fn = nn.BCEWithLogitsLoss()
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    with torch.no_grad():
        return np.array([float(loss_fn(m(Xt), Yt)) for m in models])


def torch_gradients(models: list[Any], X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
    """dJ/dparam of every model at its current parameters, in :func:`torch_params`' layout."""
    import torch
    from torch import nn

    loss_fn = nn.BCEWithLogitsLoss()
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    per_model = []
    for model in models:
        model.zero_grad(set_to_none=True)
        loss_fn(model(Xt), Yt).backward()
        lins = [m for m in model if hasattr(m, "weight")]
        per_model.append(
            [lin.weight.grad.numpy().T for lin in lins]
            + [lin.bias.grad.numpy()[None, :] for lin in lins]
        )
    return [np.stack(arrays) for arrays in zip(*per_model, strict=True)]


# --------------------------------------------------------------------------- JAX


def _jax_cost(params: Any, X: Any, Y: Any) -> Any:
    """Mean binary cross-entropy of one network's logits: ``max(z, 0) - z y + log1p(exp(-|z|))``
    (ReLU hidden layers, as initlab's ``binary_cross_entropy`` on a sigmoid output)."""
    import jax
    import jax.numpy as jnp

    A = X
    for i, (W, b) in enumerate(params):
        Z = A @ W + b
        # jax.nn.relu: derivative 0 at z = 0, as initlab's and torch's (jnp.maximum's
        # derivative at a tie is 1/2, which a dead unit with a zero bias reaches exactly)
        A = jax.nn.relu(Z) if i < len(params) - 1 else Z
    return jnp.mean(jnp.maximum(A, 0.0) - A * Y + jnp.log1p(jnp.exp(-jnp.abs(A))))


def jax_params(net: Network) -> Any:
    """initlab's parameters as JAX arrays: ``[(W_l, b_l), ...]`` with ``W_l`` (in, out) and
    ``b_l`` (out,) for one network, with a leading member axis K for a population."""
    import jax.numpy as jnp

    if net.population == 1:
        return [
            (jnp.asarray(w[0]), jnp.asarray(b[0, 0]))
            for w, b in zip(net.weights, net.biases, strict=True)
        ]
    return [
        (jnp.asarray(w), jnp.asarray(b[:, 0])) for w, b in zip(net.weights, net.biases, strict=True)
    ]


def jax_to_initlab(params: Any, population: int) -> list[np.ndarray]:
    """JAX parameters back in initlab's layout and order ``[W_1 .. W_L, b_1 .. b_L]``."""
    ws = [np.asarray(w).reshape(population, *w.shape[-2:]) for w, _ in params]
    bs = [np.asarray(b).reshape(population, 1, -1) for _, b in params]
    return ws + bs


def _jax_step(X: Any, Y: Any, lr: float, population: int) -> Callable:
    """``(params) -> (params, cost)``: one gradient-descent step (vmapped for a population)."""
    import jax

    grad = jax.value_and_grad(_jax_cost)
    if population > 1:
        grad = jax.vmap(grad, in_axes=(0, None, None))

    def step(params: Any) -> tuple[Any, Any]:
        cost, g = grad(params, X, Y)
        return jax.tree_util.tree_map(lambda p, d: p - lr * d, params, g), cost

    return step


class JaxSide:
    """A JAX peer holding its parameters; ``scan(n)`` and ``step(n)`` advance it ``n`` steps
    (one compiled ``lax.scan`` call, or ``n`` calls of a jitted step) and wait for the result."""

    def __init__(self, net: Network, X: np.ndarray, Y: np.ndarray, lr: float) -> None:
        import jax
        import jax.numpy as jnp

        self.population = net.population
        self.params = jax_params(net)
        step = _jax_step(jnp.asarray(X), jnp.asarray(Y), lr, net.population)

        def run(params: Any, n: int) -> tuple[Any, Any]:
            return jax.lax.scan(lambda p, _: step(p), params, None, length=n)

        self._scan = jax.jit(run, static_argnums=1, donate_argnums=0)
        self._step = jax.jit(step, donate_argnums=0)
        self.done = 0

    def scan(self, n: int) -> None:
        self.params, costs = self._scan(self.params, n)
        costs.block_until_ready()
        self.done += n

    def step(self, n: int) -> None:
        cost = None
        for _ in range(n):
            self.params, cost = self._step(self.params)
        if cost is not None:
            cost.block_until_ready()
        self.done += n

    def initlab_params(self) -> list[np.ndarray]:
        return jax_to_initlab(self.params, self.population)


def jax_cost_and_grads(
    net: Network, X: np.ndarray, Y: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """JAX's cost (K,) and gradients, in initlab's layout, at ``net``'s parameters."""
    import jax

    params = jax_params(net)
    grad = jax.value_and_grad(_jax_cost)
    if net.population > 1:
        grad = jax.vmap(grad, in_axes=(0, None, None))
    cost, g = grad(params, X, Y)
    return np.atleast_1d(np.asarray(cost)), jax_to_initlab(g, net.population)
