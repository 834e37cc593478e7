"""Claims 1-4: zero and constant initialization (symmetry)."""

from __future__ import annotations

import math
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
CONST = "constant:value=0.5"

#: Claim 4: "no better than one unit per layer" allows the constant network a final cost this
#: much (relative) below the best one-unit network's.
NO_BETTER_RTOL = 0.05


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


def rounding_floor(m: int) -> float:
    """The largest gradient norm that is float64 rounding of a sum that is 0 exactly.

    With zero weights every output is 0.5, so ``dZ_out = (0.5 - y) / m`` has ``sum |dZ_out| =
    0.5``; recursive summation of m terms errs by at most ``(m - 1) * eps * sum |x_i|``
    (Higham, *Accuracy and Stability of Numerical Algorithms*, eq. 4.4), so anything at or below
    ``m * eps * 0.5`` is rounding, whatever order the BLAS or NumPy sums in.  The imbalanced
    case's genuine hidden gradients (about 1e-11) are three orders above it."""
    return float(m * sys.float_info.epsilon * 0.5)


#: Claim 3: "learning is halted" when the final training cost is the entropy of the class
#: prior within this relative tolerance -- the cost of predicting the base rate for every
#: example, the best a network whose hidden layers carry no information can do.
BASE_RATE_RTOL = 1e-3

#: The early steps claim 3's table shows (every one is recorded).
EARLY_SHOWN = (0, 1, 2, 3, 5, 10, 15, 20)


def base_rate_entropy(counts: Any) -> float:
    """``-sum p_c ln p_c`` with ``p_c = n_c / n``: the cross-entropy of predicting the class
    prior for every example (``ln 2`` for balanced classes)."""
    n = float(sum(counts))
    return -math.fsum((c / n) * math.log(c / n) for c in counts if c > 0)


def _early_steps(pop: Population, k: int, floor: float) -> list[dict[str, Any]]:
    """Per recorded step of member ``k``: the largest hidden |dW|, the most distinct units in a
    hidden layer, and the cost."""
    out = []
    for step, rows in sorted(pop.by_step(k).items()):
        hidden = [r for r in rows if r["hidden"]]
        out.append(
            {
                "step": step,
                "hidden_dW_norm": max(r["dW_norm"] for r in hidden),
                "above_rounding": max(r["dW_norm"] for r in hidden) > floor,
                "distinct_units": max(r.get("distinct_units") or 0 for r in hidden),
                "cost": rows[0]["cost"],
            }
        )
    return out


def _sigmoid_case(pop: Population, k: int) -> dict[str, Any]:
    hidden = pop.all_rows(k)
    every = pop.all_rows(k, hidden=False)
    counts = pop.dataset.class_counts("train")
    n = int(counts.sum())
    majority = float(counts.max()) / n
    entropy = base_rate_entropy([int(c) for c in counts])
    acc = pop.accuracy(k, "train")
    refs = pop.of("xavier_normal")
    floor = rounding_floor(n)
    early = _early_steps(pop, k, floor)
    dense = [e["step"] for e in early]
    cost_final = pop.final_cost(k)
    return {
        "data set": pop.dataset.name,
        "train class counts": [int(c) for c in counts],
        "class prior": [float(c) / n for c in counts],
        "rounding_floor": floor,
        "all_gradients_zero": all(r["dW_norm"] <= floor and r["db_norm"] <= floor for r in every),
        "largest_hidden_dW_norm": max(r["dW_norm"] for r in hidden),
        "hidden_gradients_nonzero": any(r["dW_norm"] > floor for r in hidden),
        "units_identical": all(r.get("distinct_units") == 1 for r in hidden),
        "largest_distinct_units": max(r.get("distinct_units") or 0 for r in hidden),
        "largest_effective_width": max(r.get("effective_width") or 0.0 for r in hidden),
        "units_per_layer": [r["units"] for r in pop.first(k)],
        "early": early,
        "recorded_steps": dense,
        "train_accuracy": acc,
        "majority_fraction": majority,
        "base_rate_entropy": entropy,
        "cost_first": float(pop.cost(k)[0]),
        "cost_final": cost_final,
        "halted": math.isfinite(cost_final)
        and abs(cost_final - entropy) <= BASE_RATE_RTOL * entropy,
        "xavier_train_accuracy": spread(pop.accuracy(j, "train") for j in refs),
        "xavier_final_cost": spread(pop.final_cost(j) for j in refs),
        "modes": pop.modes(k),
    }


def _grad_at(r: dict[str, Any], step: int) -> float | None:
    for e in r["early"]:
        if e["step"] == step:
            return e["hidden_dW_norm"]
    return None


def _sigmoid_finding(res: dict[str, Any]) -> str:
    parts = []
    for r in res.values():
        if r["all_gradients_zero"]:
            parts.append(f"on balanced {r['data set']} every gradient is 0 (a stationary point)")
        else:
            parts.append(
                f"on imbalanced {r['data set']} the hidden gradients are "
                f"{sci(_grad_at(r, 1))} at step 1, yet every hidden layer stays one unit "
                f"(symmetry) and the cost settles at {fmt(r['cost_final'], 5)}, the entropy of "
                "the base rate: the network predicts the class prior"
            )
    return "Zeros with sigmoid: " + "; ".join(parts) + "."


def _units(n: int) -> str:
    return "one distinct unit" if n == 1 else f"{n} distinct units"


def _describe_sigmoid(r: dict[str, Any]) -> str:
    c = r["train class counts"]
    prior = "/".join(f"{p:.3f}" for p in r["class prior"])
    if r["all_gradients_zero"]:
        grad = (
            f"every gradient is 0 up to float rounding (|g| <= {sci(r['rounding_floor'])}) at "
            "every recorded step: a stationary point"
        )
    else:
        small = [e["step"] for e in r["early"] if e["step"] > 2 and e["hidden_dW_norm"] < 1e-8]
        grad = (
            f"hidden |dW| is {sci(_grad_at(r, 1))} at step 1 and {sci(_grad_at(r, 2))} at step 2"
            + (f", below 1e-8 from step {small[0]}" if small else "")
        )
    return (
        f"{r['data set']} ({'/'.join(map(str, c))} = {prior}): {grad}; every hidden layer stays "
        f"{_units(r['largest_distinct_units'])}; the cost settles at "
        f"{fmt(r['cost_final'], 5)}, the entropy of the class prior "
        f"{fmt(r['base_rate_entropy'], 5)}"
    )


@experiment(
    "zero_sigmoid",
    "3",
    "Zero initialization with sigmoid",
    "Example with Sigmoid: If the initial weights are zero and the activation function is "
    "sigmoid, the derivative will not be zero, but the change will be so small that learning "
    "will still be effectively halted.",
    "the hidden weight gradients at every one of the first steps (dW_norm), whether the hidden "
    "units stay one unit (distinct_units), and whether the final cost is that of predicting the "
    "class prior (the entropy of the base rate), on the main (balanced) and an imbalanced data "
    "set",
    ("train/sigmoid", "imbalanced/sigmoid"),
)
def zero_sigmoid(ctx: Any, exp: Experiment) -> Any:
    bal = ctx.population("train/sigmoid")
    cases = [("main", bal, bal.of(ZERO)[0])]
    missing = None
    if ctx.settings.imbalanced_dataset is None:
        missing = "these settings (--quick) leave out the imbalanced data set"
    else:
        try:
            imb = ctx.population("imbalanced/sigmoid")
            cases.append(("imbalanced", imb, imb.of(ZERO)[0]))
        except ImportError as exc:  # the imbalanced set ships with scikit-learn
            missing = str(exc)
    res = {name: _sigmoid_case(p, k) for name, p, k in cases}
    parts: list[bool | None] = []
    for r in res.values():
        parts += [r["hidden_gradients_nonzero"], r["units_identical"], r["halted"]]
    if missing:
        parts.append(None)  # the case where the derivative is not zero was not measured
    verdict = decide(parts)
    key = "; ".join(_describe_sigmoid(res[n]) for n in res)
    obs = [
        "Mechanism: with zero weights every hidden unit of a layer computes the same function "
        "and receives the same gradient, so the units stay identical (symmetry) whatever the "
        "gradients' size: each hidden layer is, in effect, one unit.  A network of identical "
        "units whose inputs carry nothing about the example can only learn the class prior, "
        "and the cost goes to the entropy of that prior."
    ]
    if res["main"]["all_gradients_zero"]:
        obs.append(
            "On the balanced main data set the seed's 'the derivative will not be zero' fails "
            "exactly: every hidden A is sigmoid(0) = 0.5 and the output is 0.5, so dZ_out = "
            "(0.5 - y)/m sums to 0 over the data (up to the rounding of the sum); with W_out = 0 "
            "nothing reaches the hidden layers and nothing moves, not even the output bias."
        )
    if "imbalanced" in res:
        obs.append(
            "On imbalanced classes the derivative is not zero and not small at first: at step 0 "
            "the output bias and weights move (mean(A_out - y) != 0), and from step 1 the hidden "
            "layers receive gradients of order 1e-3; the output then fits the base rate within "
            "a few steps, and the gradients decay toward 0 because the error left is "
            "uncorrelated with anything identical units can compute.  What halts learning is "
            "symmetry, not the size of the derivative."
        )
    if missing:
        obs.append(f"The imbalanced case was skipped: {missing}")
    tables = [
        Table(
            "zeros / sigmoid on each data set",
            [
                "case",
                "data set (train counts)",
                "largest hidden |dW|",
                "distinct units (largest)",
                "cost first -> final",
                "entropy of the prior",
                "train accuracy (majority class)",
                "Xavier train accuracy",
            ],
            [
                [
                    name,
                    f"{r['data set']} ({'/'.join(map(str, r['train class counts']))})",
                    r["largest_hidden_dW_norm"],
                    r["largest_distinct_units"],
                    f"{fmt(r['cost_first'], 5)} -> {fmt(r['cost_final'], 5)}",
                    r["base_rate_entropy"],
                    f"{pct(r['train_accuracy'])} ({pct(r['majority_fraction'])})",
                    spread_text(r["xavier_train_accuracy"], percent=True),
                ]
                for name, r in res.items()
            ],
            "rounding floor of a zero sum (m eps / 2): "
            + ", ".join(sci(r["rounding_floor"]) for r in res.values()),
        )
    ]
    for r in res.values():
        if r["all_gradients_zero"]:
            continue
        shown = [e for e in r["early"] if e["step"] in EARLY_SHOWN]
        last = r["early"][-1]
        if last not in shown:
            shown.append(last)
        tables.append(
            Table(
                f"zeros / sigmoid on {r['data set']}: the first steps (every step recorded)",
                ["step", "largest hidden |dW|", "distinct units", "cost"],
                [[e["step"], e["hidden_dW_norm"], e["distinct_units"], e["cost"]] for e in shown],
                f"recorded at every step up to {ctx.settings.early_steps}, then every "
                f"{ctx.settings.every} steps",
            )
        )
    figs = []
    for name, p, k in cases:
        ref = p.of("xavier_normal")[0]
        figs.append(
            fig_cost(
                f"cost_{name}",
                f"zeros vs xavier_normal, sigmoid, {p.dataset.name}",
                f"Training cost per step on {p.dataset.name} (test dashed).",
                [(p, k, "zeros"), (p, ref, f"xavier_normal (seed {p.seed_of(ref)})")],
            )
        )
    return exp.result(
        ctx,
        verdict=verdict,
        criterion=(
            "three parts, on each data set, read from records at every one of the first "
            f"{ctx.settings.early_steps} steps and then every {ctx.settings.every}: (a) 'the "
            "derivative will not be zero': some hidden weight gradient exceeds the rounding "
            "floor of a zero sum (m * eps * 0.5); (b) the mechanism: the hidden units stay "
            "identical (distinct_units = 1 at every record); (c) 'learning is effectively "
            "halted': the final training cost equals the entropy of the class prior within "
            f"{pct(BASE_RATE_RTOL)} (the network predicts the base rate). Exact: the zero "
            "network is deterministic (one run). holds if every part holds on every data set, "
            "does not hold if none does, holds in part otherwise; undecided without the "
            "imbalanced case"
        ),
        key_figure=key,
        finding=_sigmoid_finding(res),
        tests=[
            "exact: the zero network is deterministic (one run per data set); the records at "
            f"every one of the first {ctx.settings.early_steps} steps and then every "
            f"{ctx.settings.every} steps are checked"
        ],
        observations=obs,
        tables=tables,
        figures=figs,
        numbers={"cases": res, "skipped": missing},
    )


@experiment(
    "constant",
    "4",
    "A non-zero constant: symmetry never breaks",
    "Using a non-zero constant (e.g., all weights initialized to the same value) also leads to "
    "issues similar to zero initialization, as the network can't break symmetry, leading to "
    "stalled learning. ... initializing all weights with the same constant value results in "
    "identical gradients for all weights, meaning no updates will differentiate them, "
    "hindering learning.",
    "distinct units and effective width of every hidden layer at every record (LayerStats), "
    "and the test accuracy of the constant network against networks of one unit per layer",
    ("train/relu", "train/tanh", "train/sigmoid", "narrow/relu", "narrow/tanh", "narrow/sigmoid"),
)
def constant(ctx: Any, exp: Experiment) -> Any:
    s = ctx.settings
    rows, res, parts, figs = [], {}, [], []
    for act in ("relu", "tanh", "sigmoid"):
        pop = ctx.population(f"train/{act}")
        nar = ctx.population(f"narrow/{act}")
        k = pop.of(CONST)[0]
        hidden = pop.all_rows(k)
        symmetric = all(r.get("distinct_units") == 1 for r in hidden)
        acc = pop.accuracy(k)
        narrow_acc = [nar.accuracy(j) for j in range(len(nar.members))]
        narrow_cost = [nar.final_cost(j) for j in range(len(nar.members))]
        cost = pop.final_cost(k)
        best_narrow = min((c for c in narrow_cost if math.isfinite(c)), default=math.nan)
        no_better = math.isfinite(cost) and cost >= (1.0 - NO_BETTER_RTOL) * best_narrow
        ref = RECOMMENDED[act][0]
        ref_acc = spread(pop.accuracy(j) for j in pop.of(ref))
        parts += [symmetric, no_better]
        res[act] = {
            "symmetric_at_every_record": symmetric,
            "largest_distinct_units": max(r.get("distinct_units") or 0 for r in hidden),
            "largest_effective_width": max(r.get("effective_width") or 0.0 for r in hidden),
            "test_accuracy": acc,
            "final_cost": cost,
            "one_unit_final_cost": spread(narrow_cost),
            "one_unit_best_final_cost": best_narrow,
            "one_unit_test_accuracy": spread(narrow_acc),
            "no_better_than_one_unit": no_better,
            "recommended": ref,
            "recommended_test_accuracy": ref_acc,
            "modes": pop.modes(k),
        }
        rows.append(
            [
                act,
                symmetric,
                res[act]["largest_distinct_units"],
                res[act]["largest_effective_width"],
                cost,
                best_narrow,
                no_better,
                acc,
                spread_text(spread(narrow_acc), percent=True),
                f"{ref}: {spread_text(ref_acc, percent=True)}",
            ]
        )
        if act == "tanh":
            # the best one-unit network: the strongest baseline the claim is compared with
            nar_k = max(range(len(nar.members)), key=lambda j: (nar.accuracy(j) or 0.0, -j))
            figs += keep(
                [
                    fig_cost(
                        f"cost_{act}",
                        f"constant 0.5 vs one unit per layer vs {ref}, {act}",
                        "Training cost per step (test dashed).",
                        [
                            (pop, k, f"constant 0.5, width {pop.spec.base.hidden[0]}"),
                            (nar, nar_k, f"{nar.label(nar_k)}, width 1"),
                            (pop, pop.of(ref)[0], f"{ref}, width {pop.spec.base.hidden[0]}"),
                        ],
                    ),
                    fig_boundary(
                        "boundary_constant_tanh", pop, k, "The constant-initialized network."
                    ),
                    fig_boundary(
                        "boundary_one_unit_tanh",
                        nar,
                        nar_k,
                        "The best network of one unit per layer.",
                    ),
                ]
            )
    verdict = decide(parts)
    key = "; ".join(
        f"{act}: "
        + ("all units identical at every record" if r["symmetric_at_every_record"] else "broke")
        + f" (effective width <= {sci(r['largest_effective_width'])}), final cost "
        f"{fmt(r['final_cost'], 3)} vs {fmt(r['one_unit_best_final_cost'], 3)} for the best "
        f"one-unit network (test accuracy {pct(r['test_accuracy'])} vs "
        f"{pct(r['one_unit_test_accuracy']['max'])})"
        for act, r in res.items()
    )
    return exp.result(
        ctx,
        verdict=verdict,
        criterion=(
            "two parts per activation (relu, tanh, sigmoid): (a) every hidden layer has "
            "distinct_units = 1 at every recorded step; (b) no better than one unit per layer: "
            "the constant network's final training cost is at least the lowest final training "
            "cost of the networks with one unit per hidden layer (Xavier, He and N(0, 1), every "
            f"seed, biases 0.1), less {pct(NO_BETTER_RTOL)}. holds if all parts hold, does not "
            "hold if none, holds in part otherwise"
        ),
        key_figure=key,
        finding=(
            "A constant 0.5 keeps every hidden layer one distinct unit with "
            + ", ".join(a for a, r in res.items() if r["symmetric_at_every_record"])
            + "; the network ends "
            + (
                "no better than the best one-unit network"
                if all(r["no_better_than_one_unit"] for r in res.values())
                else "better than one unit per layer with "
                + ", ".join(a for a, r in res.items() if not r["no_better_than_one_unit"])
            )
            + "."
        ),
        tests=[
            "exact: the constant network is deterministic (one run); it is compared with the "
            f"best of every seed ({len(s.seeds)}) of three one-unit-per-layer networks"
        ],
        observations=[
            "A layer whose units are identical computes what one unit computes: the network "
            "is, in effect, one unit wide, however wide it is built.",
            "Constant 0.5 also makes the pre-activations grow with the width (Z = 0.5 times "
            "the sum of the inputs), so with ReLU the initial cost is large.",
        ],
        tables=[
            Table(
                "constant 0.5 per activation",
                [
                    "activation",
                    "units identical at every record",
                    "largest distinct units",
                    "largest effective width",
                    "final train cost",
                    "best final train cost, one unit per layer",
                    "no better than one unit",
                    "test accuracy",
                    "one unit per layer, test accuracy",
                    "recommended scheme, test accuracy",
                ],
                rows,
            ),
            Table(
                "steps to target, train/tanh",
                STEPS_HEADERS,
                [
                    steps_table_row(ctx.population("train/tanh"), CONST, s),
                    steps_table_row(ctx.population("train/tanh"), "xavier_normal", s),
                ],
            ),
        ],
        figures=figs,
        numbers=res,
    )
