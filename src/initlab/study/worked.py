"""Claim 10: the seed's worked example, every number printed and checked."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from initlab._text import fmt
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide

#: Relative error below which backpropagation agrees with finite differences (float64), the
#: threshold of :func:`initlab.network.gradient_check`.
GRAD_CHECK_TOL = 1e-7
#: Relative tolerance between the seed's scalar formulas and the engine's matrix forward pass.
FORMULA_RTOL = 1e-12

PARAM_NAMES = ["W1", "W2", "W3", "W4", "b1", "b2", "W5", "W6", "b_out"]


def _named(params: list[np.ndarray]) -> dict[str, float]:
    """The seed's names for the parameters of a [2, 2, 1] network (member 0).

    ``Z1 = W1 X1 + W2 X2 + b1``, ``Z2 = W3 X1 + W4 X2 + b2``, ``Z_out = W5 A1 + W6 A2 + b_out``;
    the engine's ``W`` is (in, out), so ``W1 = W[0, 0]``, ``W2 = W[1, 0]``, ``W3 = W[0, 1]``,
    ``W4 = W[1, 1]``."""
    W, b, Wo, bo = (np.asarray(p).reshape(np.asarray(p).shape[-2:]) for p in params)
    return {
        "W1": float(W[0, 0]),
        "W2": float(W[1, 0]),
        "W3": float(W[0, 1]),
        "W4": float(W[1, 1]),
        "b1": float(b[0, 0]),
        "b2": float(b[0, 1]),
        "W5": float(Wo[0, 0]),
        "W6": float(Wo[1, 0]),
        "b_out": float(bo[0, 0]),
    }


def _gradients(net: Any, X: np.ndarray, Y: np.ndarray) -> tuple[dict[str, float], Any]:
    from initlab.losses import get_loss
    from initlab.network import backward, forward

    loss = get_loss("binary_cross_entropy")
    A, cache = forward(net, X)
    g = backward(net, cache, Y, loss)
    return _named([p[0] for p in g.params]), (A, cache, g)


@experiment(
    "worked_example",
    "10",
    "The worked example: 2 inputs, 2 ReLU units, 1 sigmoid output",
    "Consider a neural network with the following architecture: Inputs: X1, X2; Hidden Layer: "
    "2 neurons, using ReLU activation; Output Layer: 1 neuron, using sigmoid activation. We "
    "initialize the weights randomly using a small uniform distribution, with the bias "
    "initialized to zero. ... Z1 = W1 X1 + W2 X2 + b1, Z2 = W3 X1 + W4 X2 + b2, A1 = max(0, Z1), "
    "A2 = max(0, Z2), Z_out = W5 A1 + W6 A2 + b_out, A_out = sigma(Z_out). ... If weights were "
    "initialized to zero or constants, the network wouldn't learn because the gradients would "
    "not break symmetry.",
    "every forward quantity by the seed's scalar formulas and by the engine, every gradient by "
    "backpropagation and by central finite differences, and the gradients under zero and "
    "constant weights",
    (),
)
def worked_example(ctx: Any, exp: Experiment) -> Any:
    from initlab.data import load
    from initlab.losses import get_loss
    from initlab.network import gradient_check, init_network, network_from_arrays, numeric_gradients

    ds = load("circles", seed=0)
    net = init_network([2, 2, 1], "relu", "sigmoid", "random_uniform", "zeros", seed=0)
    p = _named([q[0] for q in net.params])
    # the first training point at which both hidden units are active, so that every gradient
    # is non-trivial (the first point if there is none)
    Z_all = ds.X_train @ net.weights[0][0] + net.biases[0][0]
    both = np.flatnonzero(np.all(Z_all > 0, axis=1))
    i = int(both[0]) if both.size else 0
    X = ds.X_train[i : i + 1]
    Y = np.array([[float(ds.y_train[i])]])
    X1, X2, y = float(X[0, 0]), float(X[0, 1]), float(Y[0, 0])

    grads, (A, cache, _) = _gradients(net, X, Y)
    loss = get_loss("binary_cross_entropy")
    cost = float(loss.cost(cache.Z[-1], A, Y)[0])
    # the seed's formulas, as written
    Z1 = p["W1"] * X1 + p["W2"] * X2 + p["b1"]
    Z2 = p["W3"] * X1 + p["W4"] * X2 + p["b2"]
    A1, A2 = max(0.0, Z1), max(0.0, Z2)
    Zo = p["W5"] * A1 + p["W6"] * A2 + p["b_out"]
    Ao = 1.0 / (1.0 + math.exp(-Zo))
    J = -(y * math.log(Ao) + (1.0 - y) * math.log(1.0 - Ao))
    engine = {
        "Z1": float(cache.Z[0][0, 0, 0]),
        "Z2": float(cache.Z[0][0, 0, 1]),
        "A1": float(cache.A[1][0, 0, 0]),
        "A2": float(cache.A[1][0, 0, 1]),
        "Z_out": float(cache.Z[1][0, 0, 0]),
        "A_out": float(A[0, 0, 0]),
        "cost": cost,
    }
    seed = {"Z1": Z1, "Z2": Z2, "A1": A1, "A2": A2, "Z_out": Zo, "A_out": Ao, "cost": J}
    formulas = {
        "Z1": "W1 X1 + W2 X2 + b1",
        "Z2": "W3 X1 + W4 X2 + b2",
        "A1": "max(0, Z1)",
        "A2": "max(0, Z2)",
        "Z_out": "W5 A1 + W6 A2 + b_out",
        "A_out": "1 / (1 + exp(-Z_out))",
        "cost": "-(y log A_out + (1 - y) log(1 - A_out))",
    }
    forward_ok = all(
        math.isclose(seed[q], engine[q], rel_tol=FORMULA_RTOL, abs_tol=1e-300) for q in seed
    )
    numeric = _named([g[0] for g in numeric_gradients(net, X, Y, loss)])
    rel_error = gradient_check(net, X, Y, loss)
    backward_ok = rel_error < GRAD_CHECK_TOL

    def tiny(W1: np.ndarray, W2: np.ndarray) -> Any:
        return network_from_arrays([W1, W2], None, "relu", "sigmoid")

    zero = tiny(np.zeros((2, 2)), np.zeros((2, 1)))
    const = tiny(np.full((2, 2), 0.5), np.full((2, 1), 0.5))
    g0, _ = _gradients(zero, X, Y)
    gc, _ = _gradients(const, X, Y)
    zero_hidden = all(g0[n] == 0.0 for n in ("W1", "W2", "W3", "W4", "b1", "b2"))
    const_same = (
        gc["W1"] == gc["W3"]
        and gc["W2"] == gc["W4"]
        and gc["b1"] == gc["b2"]
        and gc["W5"] == gc["W6"]
    )
    parts = [forward_ok, backward_ok, zero_hidden, const_same]

    params_rows = [[n, p[n]] for n in PARAM_NAMES]
    forward_rows = [
        [q, formulas[q], seed[q], engine[q], abs(seed[q] - engine[q])] for q in formulas
    ]
    backward_rows = [
        [f"dJ/d{n}", grads[n], numeric[n], abs(grads[n] - numeric[n])] for n in PARAM_NAMES
    ]
    backward_seed = [
        ["dZ_out = A_out - y", engine["A_out"] - y, grads["b_out"]],
        ["dW5 = A1 dZ_out", engine["A1"] * (engine["A_out"] - y), grads["W5"]],
        ["dW6 = A2 dZ_out", engine["A2"] * (engine["A_out"] - y), grads["W6"]],
    ]
    sym_rows = [[f"dJ/d{n}", g0[n], gc[n], grads[n]] for n in PARAM_NAMES]
    key = (
        f"X = ({fmt(X1, 5)}, {fmt(X2, 5)}), y = {int(y)}: Z1 = {fmt(engine['Z1'], 5)}, Z2 = "
        f"{fmt(engine['Z2'], 5)}, A_out = {fmt(engine['A_out'], 6)}, cost = {fmt(cost, 6)}; "
        f"backpropagation vs finite differences: relative error {fmt(rel_error, 3)}; zero "
        f"weights: hidden gradients {'all exactly 0' if zero_hidden else 'not all 0'}; constant "
        f"0.5: the two hidden units get {'identical' if const_same else 'different'} gradients"
    )
    return exp.result(
        ctx,
        verdict=decide(parts),
        criterion=(
            "four parts: (a) the seed's scalar formulas give the engine's forward values "
            f"(relative difference <= {FORMULA_RTOL:g}); (b) backpropagation agrees with "
            f"central finite differences (gradient_check relative error < {GRAD_CHECK_TOL:g}); "
            "(c) with zero weights every hidden-layer gradient is exactly 0; (d) with constant "
            "weights the two hidden units receive exactly the same gradients. holds if all hold"
        ),
        key_figure=key,
        finding=(
            "The seed's worked example computes as the engine does: the forward pass and the "
            "cost match, and backpropagation agrees with finite differences."
        ),
        tests=["exact arithmetic on one fixed example; finite differences with central steps"],
        seeds=[0],
        observations=[
            f"Weights: random_uniform U[-0.05, 0.05) (Keras's default small uniform), seed 0; "
            f"biases zero. X is training point {i} of circles (data seed 0, standardised), the "
            "first at which both hidden units are active, so no gradient is trivially 0.",
            "With zero weights only the output bias gets a gradient (dJ/db_out = A_out - y = "
            "0.5 - y): one example is never balanced, but the hidden layer is still cut off.",
            "With constant weights both hidden units compute the same thing and receive the "
            "same gradient, so after any number of updates they are still the same unit.",
        ],
        tables=[
            Table("parameters (small uniform, zero biases)", ["parameter", "value"], params_rows),
            Table(
                "forward pass: the seed's formulas vs the engine",
                ["quantity", "formula", "by the formula", "engine", "|difference|"],
                forward_rows,
                f"X1 = {X1!r}, X2 = {X2!r}, y = {int(y)}",
            ),
            Table(
                "backward pass: backpropagation vs central finite differences (eps 1e-6)",
                ["gradient", "backpropagation", "finite difference", "|difference|"],
                backward_rows,
                f"gradient_check relative error {rel_error:.3g}",
            ),
            Table(
                "output layer by the per-example formulas",
                ["formula", "value", "engine"],
                backward_seed,
            ),
            Table(
                "symmetry: gradients under zero, constant 0.5 and small uniform weights",
                ["gradient", "zeros", "constant 0.5", "small uniform"],
                sym_rows,
            ),
        ],
        figures=[],
        numbers={
            "example_index": i,
            "X": [X1, X2],
            "y": y,
            "parameters": p,
            "forward_engine": engine,
            "forward_seed_formulas": seed,
            "forward_matches": forward_ok,
            "gradients_backprop": grads,
            "gradients_finite_difference": numeric,
            "gradient_check_relative_error": rel_error,
            "backward_matches": backward_ok,
            "gradients_zero_weights": g0,
            "gradients_constant_weights": gc,
            "zero_hidden_gradients": zero_hidden,
            "constant_identical_gradients": const_same,
        },
        extra_setup=[
            {
                "network": "[2, 2, 1]: 2 inputs, 2 ReLU hidden units, 1 sigmoid output",
                "weights": "random_uniform U[-0.05, 0.05), seed 0",
                "biases": "zeros",
                "loss": "binary cross-entropy",
                "data": f"one training point of circles (index {i})",
            }
        ],
    )
