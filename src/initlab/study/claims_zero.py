"""Claims 1 and 2: zero initialization with ReLU and tanh (symmetry, no learning)."""

from __future__ import annotations

import sys
from typing import Any

from initlab._text import fmt
from initlab.study.common import (
    RECOMMENDED,
    STEPS_HEADERS,
    fig_boundary,
    fig_cost,
    keep,
    pct,
    sci,
    steps_table_row,
)
from initlab.study.populations import Population
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide, spread, spread_text

ZERO = "zeros"


def rounding_floor(m: int) -> float:
    """The largest gradient norm that is float64 rounding of a sum that is 0 exactly.

    With zero weights every output is 0.5, so ``dZ_out = (0.5 - y) / m`` has ``sum |dZ_out| =
    0.5``; recursive summation of m terms errs by at most ``(m - 1) * eps * sum |x_i|``
    (Higham, *Accuracy and Stability of Numerical Algorithms*, eq. 4.4), so anything at or below
    ``m * eps * 0.5`` is rounding, whatever order the BLAS or NumPy sums in.  The imbalanced
    case's genuine hidden gradients (about 1e-11) are three orders above it."""
    return float(m * sys.float_info.epsilon * 0.5)


def _hidden_layer_table(pop: Population, k: int, title: str) -> Table:
    """Per layer of member ``k``: exact zeros and std of A, largest |dW| and |db| over the
    recorded steps, the weights' change at the end, distinct units and effective width."""
    steps = sorted(pop.by_step(k))
    rows = []
    for layer_rows in zip(*(pop.by_step(k)[s] for s in steps), strict=True):
        r0, r1 = layer_rows[0], layer_rows[-1]
        rows.append(
            [
                r0["layer"],
                "hidden" if r0["hidden"] else "output",
                r0["units"],
                r0["a_zero"],
                r0["a_std"],
                max(r["dW_norm"] for r in layer_rows),
                max(r["db_norm"] for r in layer_rows),
                r1["weight_change"],
                r1.get("distinct_units"),
                r1.get("effective_width"),
            ]
        )
    return Table(
        title,
        [
            "layer",
            "kind",
            "units",
            "A exactly 0 (fraction, step 0)",
            "std A (step 0)",
            "max |dW| over recorded steps",
            "max |db|",
            "weight change at end (relative)",
            "distinct units at end",
            "effective width at end",
        ],
        rows,
        f"recorded at steps {', '.join(map(str, steps))}",
    )


def _zero_trap(ctx: Any, exp: Experiment, act: str) -> Any:
    s = ctx.settings
    pop = ctx.population(f"train/{act}")
    k = pop.of(ZERO)[0]
    ref_scheme = RECOMMENDED[act][0]
    refs = pop.of(ref_scheme)
    hidden = pop.all_rows(k)
    steps = sorted(pop.by_step(k))
    a_zero = all(r["a_zero"] == 1.0 for r in hidden)
    dw_zero = all(r["dW_norm"] == 0.0 for r in hidden)
    unchanged = all(r["weight_change"] == 0.0 for r in pop.last(k))
    out_rows = [r for r in pop.all_rows(k, hidden=False) if not r["hidden"]]
    floor = rounding_floor(int(pop.dataset.class_counts("train").sum()))
    out_still = all(r["dW_norm"] <= floor and r["db_norm"] <= floor for r in out_rows)
    verdict = decide([a_zero, dw_zero, unchanged])
    c0, c1 = float(pop.cost(k)[0]), pop.final_cost(k)
    ref_final = spread(pop.final_cost(j) for j in refs)
    largest_dw = max(r["dW_norm"] for r in hidden)
    largest_change = max(r["weight_change"] for r in pop.last(k))
    key = (
        f"hidden activations exactly 0: {pct(min(r['a_zero'] for r in hidden))} of values at "
        f"every one of the {len(steps)} recorded steps; largest hidden |dW| {sci(largest_dw)}; "
        f"hidden weights changed by {sci(largest_change)} in {pop.history.steps_run} steps; cost "
        f"{fmt(c0, 5)} -> {fmt(c1, 5)} (with {ref_scheme}: {spread_text(ref_final)})"
    )
    obs = [
        "The diagnostics name: " + ", ".join(pop.modes(k)) + ". " + pop.judge(k).sentence,
        (
            f"Mechanism: with W = 0 every hidden Z is 0, so A = {act}(0) = "
            f"{'0' if act in ('relu', 'tanh') else '0.5'}; the gradient reaching a hidden layer "
            "is dA = dZ_next W_next^T = 0 because W_next = 0"
            + (", and ReLU's derivative at 0 is 0 here as well." if act == "relu" else ".")
        ),
        (
            "The output layer does not move either: its inputs are 0, and with zero biases "
            "A_out = sigmoid(0) = 0.5 for every example, so on balanced classes mean(A_out - y) "
            "= 0 and db_out = 0 up to the rounding of the sum (m eps / 2): the whole network "
            "sits at a stationary point."
            if out_still
            else "The output layer's bias still moves (mean(A_out - y) != 0): the network "
            "learns the class prior and nothing else."
        ),
    ]
    tables = [
        _hidden_layer_table(pop, k, f"zeros / {act}: per-layer records"),
        Table(
            "cost and accuracy, zeros vs the recommended scheme",
            STEPS_HEADERS,
            [steps_table_row(pop, ZERO, s), steps_table_row(pop, ref_scheme, s)],
            f"target cost {fmt(pop.target(s))}",
        ),
    ]
    figs = keep(
        [
            fig_cost(
                f"cost_{act}",
                f"zeros vs {ref_scheme}, {act}",
                "Training cost per step (test dashed): zero initialization stays flat.",
                [(pop, k, "zeros"), (pop, refs[0], f"{ref_scheme} (seed {pop.seed_of(refs[0])})")],
            ),
            fig_boundary(
                f"boundary_zeros_{act}", pop, k, "The zero-initialized network after training."
            ),
            fig_boundary(
                f"boundary_ref_{act}",
                pop,
                refs[0],
                f"The {ref_scheme} network after the same training.",
            )
            if act == "relu"
            else None,
        ]
    )
    return exp.result(
        ctx,
        verdict=verdict,
        criterion=(
            "holds if, at every recorded step, every hidden activation is exactly 0 "
            "(a_zero = 1) and every hidden weight gradient is exactly 0 (dW_norm = 0), and the "
            "hidden weights have not changed at the end (weight_change = 0); does not hold if "
            "none of the three; holds in part otherwise"
        ),
        key_figure=key,
        finding=(
            f"With zero weights and {act}, every hidden activation and hidden gradient is "
            f"exactly 0 and the hidden weights never move: the cost stays at {fmt(c1, 5)} "
            f"(the recommended {ref_scheme} reaches {fmt(ref_final['mean'], 3)})."
        ),
        tests=[
            "exact: the zero network is deterministic (one run, no seed enters it); every "
            f"record of {len(steps)} steps is checked"
        ],
        observations=obs,
        tables=tables,
        figures=figs,
        numbers={
            "activations_exactly_zero": a_zero,
            "hidden_gradients_exactly_zero": dw_zero,
            "hidden_weights_unchanged": unchanged,
            "output_layer_stationary": out_still,
            "largest_hidden_dW_norm": largest_dw,
            "largest_weight_change": largest_change,
            "recorded_steps": steps,
            "cost_first": c0,
            "cost_final": c1,
            "reference_final_cost": ref_final,
            "modes": pop.modes(k),
        },
    )


@experiment(
    "zero_relu",
    "1",
    "Zero initialization with ReLU: the zero trap",
    "Example with ReLU: A11 = max(0, Z11) = 0, Z11 = W11 X1 + W21 X2 + b11 = 0, A12 = max(0, Z12) "
    "= 0 ... In this case, since A11 = A12 = 0, the weights will not change during "
    'backpropagation, effectively leading to no learning, or a "zero trap."',
    "hidden activations exactly zero (a_zero), hidden weight gradients exactly zero (dW_norm) "
    "and the hidden weights' change over training, from LayerStats",
    ("train/relu",),
)
def zero_relu(ctx: Any, exp: Experiment) -> Any:
    return _zero_trap(ctx, exp, "relu")


@experiment(
    "zero_tanh",
    "2",
    "Zero initialization with tanh",
    "Example with Tanh: A11 = (e^Z11 - e^-Z11) / (e^Z11 + e^-Z11) = 0. The tanh activation "
    "function will also output zero, leading to no update during backpropagation.",
    "the same records as claim 1, with tanh",
    ("train/tanh",),
)
def zero_tanh(ctx: Any, exp: Experiment) -> Any:
    return _zero_trap(ctx, exp, "tanh")
