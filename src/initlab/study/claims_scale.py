"""Claims 5 and 6: small random weights -- vanishing gradients with tanh and sigmoid, slow
training with ReLU (claim 7, large random weights, is in :mod:`initlab.study.claims_large`)."""

from __future__ import annotations

from typing import Any

from initlab._text import fmt
from initlab.study.common import (
    STEPS_HEADERS,
    STILL_FALLING,
    compare_steps,
    fastest_scheme,
    fig_cost,
    fig_depth,
    fig_histograms,
    keep,
    layer_means,
    pct,
    per_layer_factor,
    reach_text,
    reached,
    sci,
    steps_table_row,
)
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide
from initlab.study.scale import (
    FACTOR_DELTA,
    comparison_text,
    depth_series,
    depth_table,
    paired_steps,
    predicted,
    share_text,
    slow_factor,
    slow_word,
    thr,
    tri,
)
from initlab.study.stats import (
    above,
    compare,
    share,
    typical,
    typical3,
)

# ============================================================================== claim 5


@experiment(
    "small_vanishing",
    "5",
    "Small random weights with tanh and sigmoid: vanishing gradients",
    "Random Initialization with Bias = 0. Small Random Values: Tanh, Sigmoid: Small random "
    "values can cause the vanishing gradient problem, making it difficult for the model to "
    "learn effectively.",
    "per-layer variance of Z and RMS of dZ at initialization in the deep network, the "
    "diagnostics' 'vanishing' rule, and steps to the target cost against Xavier",
    ("depth/tanh", "depth/sigmoid", "train/tanh", "train/sigmoid"),
)
def small_vanishing(ctx: Any, exp: Experiment) -> Any:
    s = ctx.settings
    res: dict[str, Any] = {}
    parts: list[bool | None] = []
    tables: list[Table] = []
    keys = []
    schemes = ("small", "xavier_normal")
    var_all: dict[str, list[float]] = {}
    pred_all: dict[str, list[float]] = {}
    dz_all: dict[str, list[float]] = {}
    curves = []
    for act in ("tanh", "sigmoid"):
        deep = ctx.population(f"depth/{act}")
        tr = ctx.population(f"train/{act}")
        small = deep.of("small")
        modes = [deep.modes(k) for k in small]
        vanishing = typical(["vanishing" in m for m in modes])
        var = depth_series(deep, schemes, "z_std", square=True)
        dz = depth_series(deep, schemes, "dZ_rms")
        a_std = depth_series(deep, schemes, "a_std")
        pred = predicted(deep, schemes)
        grad_factor = per_layer_factor(list(reversed(dz["small"])))
        ref, ref_median = fastest_scheme(tr, s, exclude=("small",))
        paired = paired_steps(tr, "small", ref, s) if ref is not None else []
        cmp = (
            compare_steps([p["steps"] for p in paired], [p["reference_steps"] for p in paired], s)
            if ref is not None
            else None
        )
        slow = above(cmp, slow_factor()) if cmp is not None else None
        # stalled: the target is not reached and the cost has levelled off, in most seeds
        stalled = typical([reached(tr, k, s) is False for k in tr.of("small")])
        if slow is None and stalled:
            slow = True
        parts += [vanishing, slow]
        res[act] = {
            "vanishing_in_every_seed": vanishing,
            "modes": modes,
            "variance_by_layer": var,
            "predicted_variance_by_layer": pred,
            "dZ_rms_by_layer": dz,
            "a_std_by_layer": a_std,
            "dZ_factor_per_layer_toward_input": grad_factor,
            "reference_scheme": ref,
            "steps": paired,
            "stalled": stalled,
            "vanishing_seeds": share(["vanishing" in m for m in modes]).to_dict(),
            "small_over_reference_steps": None if cmp is None else cmp.to_dict(),
            "slow": slow,
        }
        small_steps = [tr.steps_to_target(k, s) for k in tr.of("small")]
        keys.append(
            f"{act}: Var(Z) {sci(var['small'][0])} in layer 1 -> {sci(var['small'][-1])} in "
            f"layer {len(var['small'])} (Xavier {sci(var['xavier_normal'][0])} -> "
            f"{sci(var['xavier_normal'][-1])}), dZ x{sci(grad_factor)} per layer toward the "
            f"input; small reaches cost {fmt(tr.target(s))} {reach_text(small_steps)}"
            + (
                f" (fastest scheme {ref}: "
                f"{reach_text([tr.steps_to_target(k, s) for k in tr.of(ref)])})"
                if ref
                else " (no scheme reaches it)"
            )
        )
        tables.append(depth_table(deep, schemes, f"{act}: per-layer scale at step 0", pred))
        shown = ["small", "xavier_normal"] + ([ref] if ref and ref != "xavier_normal" else [])
        tables.append(
            Table(
                f"{act}: steps to the target cost ({fmt(tr.target(s))})",
                STEPS_HEADERS,
                [steps_table_row(tr, sc, s) for sc in shown],
            )
        )
        for sc in schemes:
            var_all[f"{act}, {sc}"] = var[sc]
            dz_all[f"{act}, {sc}"] = dz[sc]
            if sc in pred:
                pred_all[f"{act}, {sc}"] = pred[sc]
        curves += [(tr, tr.of(sc)[0], f"{act}, {tr.label(tr.of(sc)[0])}") for sc in schemes]
    tanh_tr = ctx.population("train/tanh")
    figs = keep(
        [
            fig_depth(
                "variance",
                "Var(Z) by depth at initialization",
                "Variance of the pre-activations per hidden layer of the deep network at step 0 "
                "(mean over seeds); dashed: predicted by the theory module.",
                var_all,
                "Var(Z)",
                pred_all,
            ),
            fig_depth(
                "gradient",
                "RMS of dZ by depth at initialization",
                "Back-propagated gradient per hidden layer at step 0 (layer 1 is nearest the "
                "input).",
                dz_all,
                "RMS of dZ",
            ),
            fig_cost(
                "cost",
                "small vs xavier_normal, tanh and sigmoid",
                "Training cost per step (test dashed).",
                curves,
            ),
            fig_histograms(
                "activations_tanh",
                "activation_histograms",
                tanh_tr,
                tanh_tr.of("small")[0],
                "Hidden activations with small weights, tanh: a narrow spike at 0 that "
                "narrows layer by layer.",
                s,
            ),
        ]
    )
    return exp.result(
        ctx,
        verdict=decide(parts),
        criterion=(
            "two parts per activation (tanh, sigmoid): (a) the diagnostics find 'vanishing' "
            f"(the norm of dZ shrinking by more than x{fmt(thr().grad_factor)} per hidden layer "
            f"toward the input, or layer 1's update:data below {fmt(thr().update_ratio_gap)} of "
            "the last layer's) for small weights in the deep network in most seeds (95% "
            "Clopper-Pearson lower bound on the rate above 50%); (b) training with small "
            "weights is slow or stalled: the ratio of its steps to the target over those of the "
            "fastest other scheme (paired t on per-seed log ratios, same seeds, a target never "
            "reached counting as more than the steps run) has a 95% CI above "
            f"{fmt(thr().slow_factor)}, or most seeds stall (never reach the target, the cost "
            f"levelled off: it fell by less than {pct(STILL_FALLING)} over the last tenth of "
            "the steps). A part whose interval straddles the bound is undecided. "
            "holds if all parts hold, does not hold if none, holds in part otherwise"
        ),
        key_figure="; ".join(keys),
        finding=(
            "Small weights (std 0.01) vanish with depth: "
            + "; ".join(
                f"{act}: 'vanishing' in {r['vanishing_seeds']['k']}/{r['vanishing_seeds']['n']}"
                " seeds, training "
                + (
                    f"{slow_word(r['slow'])} than {r['reference_scheme']}"
                    if r["reference_scheme"]
                    else "never reaching the target (nor does any other scheme)"
                )
                for act, r in res.items()
            )
            + "."
        ),
        tests=[
            f"{act}: vanishing in {share_text(r['vanishing_seeds'])}; steps small / "
            f"{r['reference_scheme']}: {comparison_text(r['small_over_reference_steps'])}"
            for act, r in res.items()
        ],
        observations=[
            "Small weights shrink the signal by about std * sqrt(fan_in) * (slope of the "
            "activation at 0) per layer, forward and backward; for sigmoid the mean of A stays "
            "0.5, only its spread vanishes.",
        ],
        tables=tables,
        figures=figs,
        numbers=res,
    )


# ============================================================================== claim 6


@experiment(
    "small_relu",
    "6",
    "Small random weights with ReLU: slow training",
    "ReLU: While ReLU suffers less from vanishing gradients compared to tanh and sigmoid, "
    "training will still be very slow due to the smaller gradients.",
    "steps to the target cost of small weights against He (one and three hidden layers), and "
    "the per-layer shrinking of dZ at initialization for ReLU, tanh and sigmoid",
    ("shallow/relu", "train/relu", "depth/relu", "depth/tanh", "depth/sigmoid"),
)
def small_relu(ctx: Any, exp: Experiment) -> Any:
    s = ctx.settings
    sh = ctx.population("shallow/relu")
    tr = ctx.population("train/relu")
    shallow = paired_steps(sh, "small", "he_normal", s)
    deeper = paired_steps(tr, "small", "he_normal", s)
    slow_cmp = compare_steps(
        [p["steps"] for p in shallow], [p["reference_steps"] for p in shallow], s
    )
    trains_slowly = above(slow_cmp, slow_factor())
    reaches_shallow = typical3([reached(sh, k, s) for k in sh.of("small")])
    trains_deeper = typical3([reached(tr, k, s) for k in tr.of("small")])
    factors, seed_factors = {}, {}
    for act in ("relu", "tanh", "sigmoid"):
        deep = ctx.population(f"depth/{act}")
        dz = layer_means(deep, deep.of("small"), "dZ_rms")
        factors[act] = per_layer_factor(list(reversed(dz[1:])))
        seed_factors[act] = [
            per_layer_factor([r["dZ_rms"] for r in reversed(deep.first(k)[1:])])
            for k in deep.of("small")
        ]
    vs = {
        a: compare(seed_factors["relu"], seed_factors[a], delta=FACTOR_DELTA, paired=True)
        for a in ("tanh", "sigmoid")
    }
    less_parts = [above(c, 1.0) for c in vs.values()]
    less = None if None in less_parts else all(less_parts)
    parts = [less, trains_slowly, reaches_shallow, trains_deeper]
    key = (
        f"one hidden layer: small reaches cost {fmt(sh.target(s))} "
        f"{reach_text([p['steps'] for p in shallow])}, He "
        f"{reach_text([p['reference_steps'] for p in shallow])}; "
        f"{len(tr.spec.base.hidden)} hidden layers: small "
        f"{reach_text([p['steps'] for p in deeper])}, He "
        f"{reach_text([p['reference_steps'] for p in deeper])}; dZ shrinks per layer "
        f"toward the input by x{sci(factors['relu'])} (ReLU), x{sci(factors['tanh'])} (tanh), "
        f"x{sci(factors['sigmoid'])} (sigmoid)"
    )
    figs = keep(
        [
            fig_cost(
                "cost",
                "small vs he_normal, ReLU, one and three hidden layers",
                "Training cost per step (test dashed).",
                [
                    (pop, k, f"{len(pop.spec.base.hidden)} hidden: {pop.label(k)}")
                    for pop in (sh, tr)
                    for k in (pop.of("small")[0], pop.of("he_normal")[0])
                ],
            ),
            fig_depth(
                "gradient_small",
                "RMS of dZ by depth, small weights, at initialization",
                "The back-propagated gradient per hidden layer of the deep network at step 0 "
                "with small weights, for each activation (mean over seeds).",
                {
                    act: layer_means(
                        ctx.population(f"depth/{act}"),
                        ctx.population(f"depth/{act}").of("small"),
                        "dZ_rms",
                    )
                    for act in ("relu", "tanh", "sigmoid")
                },
                "RMS of dZ",
            ),
            fig_histograms(
                "gradients_small_relu",
                "gradient_histograms",
                tr,
                tr.of("small")[0],
                "log10 |dZ| per layer at step 0, small weights, ReLU.",
                s,
            ),
        ]
    )
    rows = []
    for name, pop in (("one hidden layer", sh), (f"{len(tr.spec.base.hidden)} hidden layers", tr)):
        for sc in ("small", "he_normal"):
            rows.append([name, *steps_table_row(pop, sc, s)])
    return exp.result(
        ctx,
        verdict=decide(parts),
        criterion=(
            "four parts: (a) 'suffers less from vanishing gradients': with small weights the "
            "per-layer factor of RMS dZ toward the input (deep network, step 0, layers 2 to L) "
            "is larger for ReLU than for tanh and for sigmoid (paired t on per-seed log ratios, "
            "the same seeds draw the same weights; 95% CI above 1); (b) 'training will be very "
            "slow': with one hidden layer small weights need more than "
            f"{fmt(thr().slow_factor)}x the steps of He to the target (paired t, 95% CI above "
            "it; never reached counts as more than the steps run); (c) it still trains: most "
            "seeds reach the target (95% lower bound on the rate above 50%); (d) the same with "
            "three hidden layers. A run that has not reached the target but whose cost still "
            f"falls (by more than {pct(STILL_FALLING)} over the last tenth of the steps) is "
            "undecided, not a failure. holds if all parts hold, undecided if a part is"
        ),
        key_figure=key,
        finding=(
            f"With small weights and one hidden ReLU layer training is {slow_word(trains_slowly)}"
            f" than He (x{sci(slow_cmp.ratio)} the steps); with three hidden layers small "
            f"weights {tri(trains_deeper, 'train', 'do not train', 'may train')}; per layer, "
            "ReLU's gradient shrinks "
            + " and ".join(
                f"{tri(above(c, 1.0), 'less', 'more', 'about as much')} than {a}'s "
                f"(x{sci(c.ratio)})"
                for a, c in vs.items()
            )
            + "."
        ),
        tests=[
            f"one hidden layer, steps small / He: {slow_cmp.text()}",
            *(f"dZ factor per layer ReLU / {a}: {c.text()}" for a, c in vs.items()),
        ],
        observations=[
            "ReLU passes half of a small signal (slope 1 for z > 0, 0 below), tanh all of it "
            "(slope 1 at 0), sigmoid a quarter (slope 1/4): with the same small weights ReLU "
            "shrinks the gradient faster than tanh, slower than sigmoid.",
        ],
        tables=[
            Table(
                "steps to the target cost, small vs He",
                ["network", *STEPS_HEADERS],
                rows,
                f"target cost {fmt(sh.target(s))}",
            ),
            Table(
                "per-layer factor of RMS dZ toward the input, small weights, deep network",
                ["activation", "factor per layer"],
                [[a, f] for a, f in factors.items()],
            ),
        ],
        figures=figs,
        numbers={
            "shallow": shallow,
            "deeper": deeper,
            "dZ_factor_per_layer": factors,
            "dZ_factor_per_seed": seed_factors,
            "relu_over": {a: c.to_dict() for a, c in vs.items()},
            "small_over_he_steps_one_hidden_layer": slow_cmp.to_dict(),
            "less_vanishing_than_tanh_and_sigmoid": less,
            "trains_slowly_one_hidden_layer": trains_slowly,
            "reaches_one_hidden_layer": reaches_shallow,
            "trains_three_hidden_layers": trains_deeper,
        },
    )
