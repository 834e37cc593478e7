"""Claim 4: a non-zero constant initialization keeps the units symmetric (no better than one
unit per layer)."""

from __future__ import annotations

import math
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
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide, spread, spread_text

CONST = "constant:value=0.5"

#: Claim 4: "no better than one unit per layer" allows the constant network a final cost this
#: much (relative) below the best one-unit network's.
NO_BETTER_RTOL = 0.05


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
