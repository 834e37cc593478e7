"""Claims 5-9: the scale of random weights -- small, large, Xavier and He, normal vs uniform."""

from __future__ import annotations

import math
from typing import Any

from initlab._text import fmt
from initlab.diagnostics import cost_rises
from initlab.study.common import (
    RECOMMENDED,
    STEPS_HEADERS,
    STILL_FALLING,
    compare_steps,
    fastest_scheme,
    fig_cost,
    fig_depth,
    fig_histograms,
    keep,
    layer_means,
    median_steps,
    pct,
    per_layer_factor,
    predicted_variance,
    reach_text,
    reached,
    sci,
    steps_table_row,
)
from initlab.study.populations import SWEEP_SCHEMES, Population
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide, spread, spread_text
from initlab.study.stats import (
    DIFFER,
    SAME,
    UNDECIDED,
    above,
    as_part,
    compare,
    more_often,
    share,
    typical,
    typical3,
)

ACTS = ("relu", "tanh", "sigmoid")
#: The random scheme left out of claim 8's sweep (see SWEEP_SCHEMES), compared at lr 0.5.
UNSWEPT = "large"
LARGE = ("random_normal:std=1", "large")

#: Claim 7: a run is "unstable" when it diverges, or when its training cost rises at more than
#: this fraction of the steps (full-batch gradient descent at a stable step size never raises
#: the cost).
UNSTABLE_RISE_FRACTION = 0.1

#: Claim 8b: "loses variance layer by layer" when Var(Z) changes by a per-layer factor below
#: LOSS_FACTOR; "keeps it" when the factor is within [LOSS_FACTOR, 1 / LOSS_FACTOR].
LOSS_FACTOR = 0.8

#: Claim 9: the smallest effects that matter between the normal and the uniform form: 10 % in
#: the per-layer factor of Var(Z) -- a tenth of the Xavier-He gap for ReLU (x2 per layer);
#: below it the finite-width seed-to-seed spread (sd 7 % per seed for ReLU at width 64)
#: swamps any effect 20 seeds could resolve -- and 50 % in the steps to the target: a
#: first-passage time whose seed-to-seed sd is about 35 % (ReLU), so that 20 paired seeds
#: resolve about +-15 % and seed sets disagree at 30 %.  The drawn weights match the formula
#: within WEIGHT_Z standard errors of a sample standard deviation.
FACTOR_DELTA = 0.10
FORM_STEPS_DELTA = 0.5
#: Claim 8: one scheme is faster than another when it needs 20 % fewer steps.
STEPS_DELTA = 0.2
WEIGHT_Z = 5.0
KURTOSIS = {"normal": 3.0, "uniform": 1.8}


def _tri(x: bool | None, yes: str, no: str, unsure: str) -> str:
    return yes if x else no if x is False else unsure


def _slow_word(x: bool | None) -> str:
    return "slower" if x else "not detectably slower" if x is False else "maybe slower"


def share_text(d: dict[str, Any]) -> str:
    """A stored :class:`initlab.study.stats.Share` as text."""
    from initlab.study.stats import Share

    return Share(d["k"], d["n"], d["lower"]).text()


def comparison_text(d: Any) -> str:
    """A stored (or live) :class:`initlab.study.stats.Comparison` as text."""
    from initlab.study.stats import Comparison

    if d is None:
        return "no comparison"
    if isinstance(d, Comparison):
        return d.text()
    fields = {k: v for k, v in d.items() if k != "half_width"}
    return Comparison(**fields).text()


def _t() -> Any:
    """The diagnostics' thresholds (one table for every rule)."""
    from initlab.diagnostics import THRESHOLDS

    return THRESHOLDS


def _slow_factor() -> float:
    return _t().slow_factor


def _paired_steps(tr: Population, scheme: str, ref: str, settings: Any) -> list[dict[str, Any]]:
    """Per seed: steps to the target of ``scheme`` and of ``ref`` (same seed), and whether
    ``scheme`` is slow: it needs more than the diagnostics' slow_factor times the steps of
    ``ref``, or never gets there while ``ref`` does."""
    out = []
    factor = _slow_factor()
    for k in tr.of(scheme):
        j = tr.paired(k, ref)
        a, b = tr.steps_to_target(k, settings), tr.steps_to_target(j, settings)
        out.append(
            {
                "seed": tr.seed_of(k),
                "steps": a,
                "reference_steps": b,
                "slow": b is not None and (a is None or a > factor * max(b, 1)),
                "reached": a is not None,
            }
        )
    return out


def _depth_series(
    deep: Population, schemes: tuple[str, ...], field: str, square: bool = False
) -> dict[str, list[float]]:
    return {s: layer_means(deep, deep.of(s), field, square) for s in schemes}


def _predicted(deep: Population, schemes: tuple[str, ...]) -> dict[str, list[float]]:
    out = {}
    for s in schemes:
        p = predicted_variance(deep, s)
        if p is not None:
            out[s] = p
    return out


def _depth_table(
    deep: Population,
    schemes: tuple[str, ...],
    title: str,
    predicted: dict[str, list[float]],
    gradients: bool = True,
) -> Table:
    """Per hidden layer: the mean over seeds of Var(Z) (and its prediction) and, with
    ``gradients``, the RMS of dZ."""
    var = _depth_series(deep, schemes, "z_std", square=True)
    dz = _depth_series(deep, schemes, "dZ_rms")
    n = len(next(iter(var.values())))
    headers = ["layer"]
    for s in schemes:
        headers += [f"Var(Z) {s}"]
        if s in predicted:
            headers += ["predicted"]
        if gradients:
            headers += [f"RMS dZ {s}"]
    rows = []
    for i in range(n):
        row: list[Any] = [i + 1]
        for s in schemes:
            row.append(var[s][i])
            if s in predicted:
                row.append(predicted[s][i])
            if gradients:
                row.append(dz[s][i])
        rows.append(row)
    note = "step 0, mean over seeds; predicted: mean-field theory (initlab.theory)"
    if not predicted:
        note += " (theory module not available: no prediction)"
    return Table(title, headers, rows, note)


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
    parts: list[bool] = []
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
        var = _depth_series(deep, schemes, "z_std", square=True)
        dz = _depth_series(deep, schemes, "dZ_rms")
        a_std = _depth_series(deep, schemes, "a_std")
        pred = _predicted(deep, schemes)
        grad_factor = per_layer_factor(list(reversed(dz["small"])))
        ref, ref_median = fastest_scheme(tr, s, exclude=("small",))
        paired = _paired_steps(tr, "small", ref, s) if ref is not None else []
        cmp = (
            compare_steps([p["steps"] for p in paired], [p["reference_steps"] for p in paired], s)
            if ref is not None
            else None
        )
        slow = above(cmp, _slow_factor()) if cmp is not None else None
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
        tables.append(_depth_table(deep, schemes, f"{act}: per-layer scale at step 0", pred))
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
            f"(the norm of dZ shrinking by more than x{fmt(_t().grad_factor)} per hidden layer "
            f"toward the input, or layer 1's update:data below {fmt(_t().update_ratio_gap)} of "
            "the last layer's) for small weights in the deep network in most seeds (95% "
            "Clopper-Pearson lower bound on the rate above 50%); (b) training with small "
            "weights is slow or stalled: the ratio of its steps to the target over those of the "
            "fastest other scheme (paired t on per-seed log ratios, same seeds, a target never "
            "reached counting as more than the steps run) has a 95% CI above "
            f"{fmt(_t().slow_factor)}, or most seeds stall (never reach the target, the cost "
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
                    f"{_slow_word(r['slow'])} than {r['reference_scheme']}"
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
    shallow = _paired_steps(sh, "small", "he_normal", s)
    deeper = _paired_steps(tr, "small", "he_normal", s)
    slow_cmp = compare_steps(
        [p["steps"] for p in shallow], [p["reference_steps"] for p in shallow], s
    )
    trains_slowly = above(slow_cmp, _slow_factor())
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
            f"{fmt(_t().slow_factor)}x the steps of He to the target (paired t, 95% CI above "
            "it; never reached counts as more than the steps run); (c) it still trains: most "
            "seeds reach the target (95% lower bound on the rate above 50%); (d) the same with "
            "three hidden layers. A run that has not reached the target but whose cost still "
            f"falls (by more than {pct(STILL_FALLING)} over the last tenth of the steps) is "
            "undecided, not a failure. holds if all parts hold, undecided if a part is"
        ),
        key_figure=key,
        finding=(
            f"With small weights and one hidden ReLU layer training is {_slow_word(trains_slowly)}"
            f" than He (x{sci(slow_cmp.ratio)} the steps); with three hidden layers small "
            f"weights {_tri(trains_deeper, 'train', 'do not train', 'may train')}; per layer, "
            "ReLU's gradient shrinks "
            + " and ".join(
                f"{_tri(above(c, 1.0), 'less', 'more', 'about as much')} than {a}'s "
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


# ============================================================================== claim 7


@experiment(
    "large_tanh_sigmoid",
    "7",
    "Large random weights with tanh and sigmoid",
    "Large Random Values: Tanh, Sigmoid: Large initial weights can lead to the exploding "
    "gradient problem, making the training unstable.",
    "saturation and RMS of dZ per layer at initialization in the deep network (the "
    "diagnostics' 'exploding' and 'saturated' rules), and the training cost: divergence, how "
    "often it rises, steps to the target against Xavier",
    ("depth/tanh", "depth/sigmoid", "train/tanh", "train/sigmoid"),
)
def large_tanh_sigmoid(ctx: Any, exp: Experiment) -> Any:
    s = ctx.settings
    res: dict[str, Any] = {}
    parts: list[bool] = []
    rows_deep, rows_train, keys = [], [], []
    dz_all: dict[str, list[float]] = {}
    curves = []
    for act in ("tanh", "sigmoid"):
        deep = ctx.population(f"depth/{act}")
        tr = ctx.population(f"train/{act}")
        ref_rises = [cost_rises(tr.cost(k))["fraction"] for k in tr.of("xavier_normal")]
        for sc in LARGE:
            ks = deep.of(sc)
            modes = [deep.modes(k) for k in ks]
            exploding_share = share(["exploding" in m for m in modes])
            ref_modes = [deep.modes(k) for k in deep.of("xavier_normal")]
            exploding = more_often(
                ["exploding" in m for m in modes], ["exploding" in m for m in ref_modes]
            )
            sat = layer_means(deep, ks, "saturated")
            dz = layer_means(deep, ks, "dZ_rms")
            # layer 1's fan-in is the input dimension (2 for circles), not the hidden width: its
            # dZ is not comparable, so the per-layer factor runs over layers 2 to L only
            seed_factors = [
                per_layer_factor([r["dZ_rms"] for r in reversed(deep.first(k)[1:])]) for k in ks
            ]
            factor = per_layer_factor(list(reversed(dz[1:])))
            ref_dw = layer_means(deep, deep.of("xavier_normal"), "dW_norm")
            dw = layer_means(deep, ks, "dW_norm")
            runs = []
            for k in tr.of(sc):
                r = cost_rises(tr.cost(k))
                j = tr.paired(k, "xavier_normal")
                runs.append(
                    {
                        "seed": tr.seed_of(k),
                        "diverged_at": tr.history.diverged_at[k],
                        "rise_fraction": r["fraction"],
                        "largest_rise": r["largest"],
                        "steps": tr.steps_to_target(k, s),
                        "xavier_steps": tr.steps_to_target(j, s),
                        "final_cost": tr.final_cost(k),
                        "first_cost": float(tr.cost(k)[0]),
                        "modes": tr.modes(k, reference=j),
                    }
                )
            unstable_flags = [
                r["diverged_at"] is not None or r["rise_fraction"] > UNSTABLE_RISE_FRACTION
                for r in runs
            ]
            ref_unstable = [
                tr.history.diverged_at[j] is not None or f > UNSTABLE_RISE_FRACTION
                for j, f in zip(tr.of("xavier_normal"), ref_rises, strict=True)
            ]
            unstable = more_often(unstable_flags, ref_unstable)
            parts += [exploding, unstable]
            counts: dict[str, int] = {}
            for ms in modes:
                for m in ms:
                    counts[m] = counts.get(m, 0) + 1
            per_seed = ", ".join(f"{m} {c}/{len(ks)}" for m, c in counts.items())
            res[f"{act} {sc}"] = {
                "exploding": exploding,
                "exploding_seeds": exploding_share.to_dict(),
                "modes_at_init": modes,
                "modes_per_seed": counts,
                "saturated_fraction_by_layer": sat,
                "dZ_rms_by_layer": dz,
                "dZ_factor_per_layer_toward_input": factor,
                "dZ_factor_per_seed": seed_factors,
                "dW_norm_by_layer": dw,
                "xavier_dW_norm_by_layer": ref_dw,
                "training": runs,
                "unstable": unstable,
                "unstable_seeds": share(unstable_flags).to_dict(),
                "xavier_rise_fraction": spread(ref_rises),
            }
            rows_deep.append(
                [
                    f"{act} {sc}",
                    per_seed,
                    max(sat) if sat and sat[0] is not None else None,
                    spread_text(spread(seed_factors)),
                    dw[0],
                    ref_dw[0],
                ]
            )
            rows_train.append(
                [
                    f"{act} {sc}",
                    f"{share(unstable_flags).k}/{len(runs)}",
                    sum(r["diverged_at"] is not None for r in runs),
                    spread_text(spread(r["rise_fraction"] for r in runs), 2),
                    spread_text(spread(ref_rises), 2),
                    spread_text(spread(r["final_cost"] for r in runs), 3),
                ]
            )
            keys.append(
                f"{act} {sc}: exploding at initialization in {exploding_share.k}/{len(ks)} "
                f"seeds (dZ x{sci(factor)} per layer toward the input), cost rising at more "
                f"than {pct(UNSTABLE_RISE_FRACTION)} of steps in {share(unstable_flags).k}/"
                f"{len(runs)}"
            )
        for sc in (*LARGE, "xavier_normal"):
            dz_all[f"{act}, {sc}"] = layer_means(deep, deep.of(sc), "dZ_rms")
            curves.append((tr, tr.of(sc)[0], f"{act}, {tr.label(tr.of(sc)[0])}"))
    tanh_tr = ctx.population("train/tanh")
    figs = keep(
        [
            fig_depth(
                "gradient",
                "RMS of dZ by depth at initialization, large weights",
                "Back-propagated gradient per hidden layer of the deep network at step 0 (mean "
                "over seeds); rising toward layer 1 is an exploding gradient.",
                dz_all,
                "RMS of dZ",
            ),
            fig_cost(
                "cost",
                "large weights vs xavier_normal, tanh and sigmoid",
                "Training cost per step (test dashed).",
                curves,
            ),
            fig_histograms(
                "activations_tanh",
                "activation_histograms",
                tanh_tr,
                tanh_tr.of("large")[0],
                "Hidden activations at the first and last recorded step, tanh, std 10: piled at "
                "-1 and 1 (saturated).",
                s,
            ),
        ]
    )
    return exp.result(
        ctx,
        verdict=decide(parts),
        criterion=(
            "two parts per activation (tanh, sigmoid) and scale (std 1, std 10), each judged "
            "per seed and then over the seeds: (a) exploding gradients: the diagnostics find "
            "'exploding' in the deep network at step 0 (the norm of dZ growing by more than "
            f"x{fmt(_t().grad_factor)} per hidden layer toward the input, activations growing, "
            "or overflow); (b) unstable training: the training diverges (NaN/inf) or its cost "
            f"rises at more than {pct(UNSTABLE_RISE_FRACTION)} of the steps. 'Can lead to': a "
            "part holds when large weights show it detectably more often than Xavier (same "
            "seeds; one-sided Fisher exact test, p < 0.05), fails when most seeds do not show "
            "it (one-sided 95% Clopper-Pearson lower bound on the rate of the opposite above "
            "50%), and is undecided otherwise. holds if all parts hold, does not hold if none, "
            "holds in part otherwise"
        ),
        key_figure="; ".join(keys),
        finding=(
            "Large weights explode the gradient at initialization in "
            + ", ".join(
                f"{n} ({r['exploding_seeds']['k']}/{r['exploding_seeds']['n']})"
                for n, r in res.items()
                if r["exploding"]
            )
            + "; training is unstable (cost rising) in "
            + (
                ", ".join(
                    f"{n} ({r['unstable_seeds']['k']}/{r['unstable_seeds']['n']})"
                    for n, r in res.items()
                    if r["unstable"]
                )
                or "none of the cases"
            )
            + ", and no run diverged."
            if not any(r["diverged_at"] is not None for v in res.values() for r in v["training"])
            else "."
        ),
        tests=[
            f"{n}: exploding in {share_text(r['exploding_seeds'])}; unstable in "
            f"{share_text(r['unstable_seeds'])}"
            for n, r in res.items()
        ],
        observations=[
            "Large weights push tanh and sigmoid units into saturation (|tanh| > 0.97, sigmoid "
            "outside [0.03, 0.97]), where the slope is nearly 0.  Whether dZ still grows toward "
            "the input depends on sigma_w^2 E[g'(z)^2] per layer (the mean-field chi_1): with "
            "enough width and depth a large sigma_w wins over the small slopes (exploding), "
            "while near the output or in narrow nets saturation makes gradients small.",
            "Training does not become NaN here: the cost starts high (confidently wrong "
            "saturated outputs) and moves erratically or slowly rather than blowing up.",
        ],
        tables=[
            Table(
                "at initialization, deep network",
                [
                    "activation, scheme",
                    "diagnostics: seeds showing each",
                    "largest saturated fraction",
                    "dZ factor per layer toward input (layers 2 to L, per seed)",
                    "|dW| layer 1",
                    "|dW| layer 1, Xavier",
                ],
                rows_deep,
                "saturation and |dW|: mean over seeds; the factor skips layer 1, whose fan-in "
                "is the input dimension",
            ),
            Table(
                "training",
                [
                    "activation, scheme",
                    "unstable seeds",
                    "diverged",
                    "fraction of steps the cost rose",
                    "same, Xavier",
                    "final cost",
                ],
                rows_train,
                f"target cost {fmt(s.target_cost(2))} for two classes",
            ),
        ],
        figures=figs,
        numbers=res,
    )


# ============================================================================== claim 8


def _sweep_steps(ctx: Any, act: str) -> dict[float, dict[str, list[int | None]]]:
    """Steps to the target per learning rate of the sweep and scheme of
    :data:`SWEEP_SCHEMES`, one entry per sweep seed (in seed order), within the sweep's
    ``sweep_steps`` (None: not reached by then); the study's own rate is read from the trained
    comparison, cut to the same horizon."""
    s = ctx.settings
    out: dict[float, dict[str, list[int | None]]] = {}
    for lr in s.sweep_lrs:
        if lr == s.lr:
            pop = ctx.population(f"train/{act}")
        else:
            pop = ctx.population(f"sweep/{act}@{lr:g}")
        row: dict[str, list[int | None]] = {}
        for sc in SWEEP_SCHEMES + ((UNSWEPT,) if lr == s.lr else ()):
            by_seed = {pop.seed_of(k): pop.steps_to_target(k, s) for k in pop.of(sc)}
            # one horizon for every rate: the study's own runs are longer than the sweep's
            row[sc] = [
                None if by_seed[seed] is None or by_seed[seed] >= s.sweep_steps else by_seed[seed]
                for seed in s.sweep_seeds
            ]
        out[lr] = row
    return out


def _best_lr(at_lr: dict[float, dict[str, list[int | None]]], scheme: str) -> float:
    """The learning rate with the lowest median steps for ``scheme`` (ties: the smaller); the
    only rate it ran at for a scheme left out of the sweep."""
    rates = [lr for lr in at_lr if scheme in at_lr[lr]]
    return min(rates, key=lambda lr: (median_steps(at_lr[lr][scheme]), lr))


def _fastest(
    steps: dict[str, list[int | None]], rec: str, settings: Any, horizon: int
) -> tuple[bool | None, dict[str, Any]]:
    """Is ``rec`` as fast as every other scheme?  Per other scheme, the paired comparison of
    steps rec / other: False if one is detectably faster (ratio above 1), None if one is
    undecided, else True."""
    cmps = {
        sc: compare_steps(steps[rec], v, settings, STEPS_DELTA, horizon)
        for sc, v in steps.items()
        if sc != rec
    }
    if any(c.outcome == DIFFER and c.ratio > 1 for c in cmps.values()):
        return False, cmps
    if any(c.outcome == UNDECIDED for c in cmps.values()):
        return None, cmps
    return True, cmps


def _xavier_he_finding(res: dict[str, Any]) -> str:
    bits = []
    for act, r in res.items():
        rec = r["recommended"][0].split("_")[0].capitalize()
        stable = _tri(r["stable_at_init"], "keeps", "does not keep", "may keep")
        fast = _tri(
            r["fastest_at_best_lr"], "is as fast as any other", "is beaten", "is not separable"
        )
        beaten = [
            sc
            for sc, c in r["comparisons_at_best_lr"].items()
            if c["outcome"] == DIFFER and c["ratio"] > 1
        ]
        bits.append(
            f"{act}: {rec} {stable} the variance with depth and, at each scheme's best rate, "
            f"{fast}" + (f" (by {', '.join(beaten)})" if beaten else "")
        )
    return "; ".join(bits) + "."


def _sweep_table(
    act: str,
    at_lr: dict[float, dict[str, list[int | None]]],
    best: dict[str, float],
    cmp_main: dict[str, Any],
    cmp_tuned: dict[str, Any],
    rec: str,
    settings: Any,
) -> Table:
    """Per scheme: median steps at every rate of the sweep, the best rate, and the comparison
    with the recommended scheme at the study's rate and at the best rates."""
    rows = []
    for sc in best:
        meds = [median_steps(at_lr[lr][sc]) if sc in at_lr[lr] else None for lr in at_lr]
        rows.append(
            [
                sc,
                *["not swept" if m is None else "-" if math.isinf(m) else m for m in meds],
                best[sc],
                "-" if sc == rec else cmp_main[sc].short(),
                "-" if sc == rec else cmp_tuned[sc].short(),
            ]
        )
    return Table(
        f"{act}: median steps to the target by learning rate",
        [
            "scheme",
            *[f"lr {fmt(lr)}" for lr in at_lr],
            "best lr",
            f"{rec} / scheme, lr {fmt(settings.lr)}",
            f"{rec} / scheme, best lrs",
        ],
        rows,
        f"{len(settings.sweep_seeds)} seeds per cell; medians within {settings.sweep_steps} "
        f"steps ('-': not reached by then); at lr {fmt(settings.lr)} the study's own "
        f"{settings.steps} steps are used; ratios: paired t on per-seed log ratios of steps, "
        "95% CI",
    )


@experiment(
    "xavier_he",
    "8",
    "Xavier for tanh/sigmoid, He for ReLU: stable variance, fastest convergence",
    "Xavier Initialization: ... It works well with activation functions like tanh and sigmoid. "
    "He Initialization: This method is specifically designed for ReLU activation functions and "
    "helps alleviate the vanishing gradient problem. ... By adhering to these initialization "
    "methods and avoiding the common pitfalls, you can improve the efficiency and stability of "
    "your model training.",
    "the diagnostics' vanishing/exploding rules and the per-layer factor of Var(Z) at "
    "initialization in the deep network, and the steps to the target cost of every random "
    "scheme at the study's learning rate and at its best rate of a five-rate sweep",
    ("depth/relu", "depth/tanh", "depth/sigmoid", "train/relu", "train/tanh", "train/sigmoid"),
)
def xavier_he(ctx: Any, exp: Experiment) -> Any:
    s = ctx.settings
    res: dict[str, Any] = {}
    parts: list[bool] = []
    tables, figs, keys = [], [], []
    shown = ("small", "random_normal:std=1", "large", "xavier_normal", "he_normal")
    for act in ACTS:
        deep = ctx.population(f"depth/{act}")
        tr = ctx.population(f"train/{act}")
        rec = RECOMMENDED[act]
        depth_rows = []
        rec_stable: list[bool | None] = []
        stable_share: dict[str, Any] = {}
        for sc in deep.schemes():
            ks = deep.of(sc)
            modes = [deep.modes(k) for k in ks]
            flags = [not any(m in ("vanishing", "exploding") for m in ms) for ms in modes]
            counts: dict[str, int] = {}
            for ms in modes:
                for m in ms:
                    if m in ("vanishing", "exploding"):
                        counts[m] = counts.get(m, 0) + 1
            factors = [per_layer_factor([r["z_std"] ** 2 for r in deep.first(k)]) for k in ks]
            if sc in rec:
                rec_stable.append(typical(flags))
                stable_share[sc] = share(flags).to_dict()
            depth_rows.append(
                [
                    sc,
                    f"stable {sum(flags)}/{len(ks)}"
                    + "".join(f", {m} {c}/{len(ks)}" for m, c in counts.items()),
                    spread_text(spread(factors)),
                    sc in rec,
                ]
            )
        stable_rec = None if None in rec_stable else all(rec_stable)
        at_lr = _sweep_steps(ctx, act)
        compared = (*SWEEP_SCHEMES, UNSWEPT)
        best = {sc: _best_lr(at_lr, sc) for sc in compared}
        main = {
            sc: [by_seed.get(seed) for seed in s.sweep_seeds]
            for sc in compared
            for by_seed in [{tr.seed_of(k): tr.steps_to_target(k, s) for k in tr.of(sc)}]
        }
        tuned = {sc: at_lr[best[sc]][sc] for sc in compared}
        rec0 = rec[0]
        fast_main, cmp_main = _fastest(main, rec0, s, s.steps)
        fast_tuned, cmp_tuned = _fastest(tuned, rec0, s, s.sweep_steps)
        parts += [stable_rec, fast_tuned]
        medians = {
            sc: median_steps([tr.steps_to_target(k, s) for k in tr.of(sc)]) for sc in tr.schemes()
        }
        res[act] = {
            "recommended": list(rec),
            "stable_at_init": stable_rec,
            "stable_seeds": stable_share,
            "median_steps": {sc: (None if math.isinf(m) else m) for sc, m in medians.items()},
            "best_lr": best,
            "fastest_at_lr": fast_main,
            "fastest_at_best_lr": fast_tuned,
            "comparisons_at_lr": {sc: c.to_dict() for sc, c in cmp_main.items()},
            "comparisons_at_best_lr": {sc: c.to_dict() for sc, c in cmp_tuned.items()},
            "steps_by_lr": {str(lr): v for lr, v in at_lr.items()},
        }
        faster = [sc for sc, c in cmp_tuned.items() if c.outcome == DIFFER and c.ratio > 1]
        keys.append(
            f"{act}: {rec0} "
            + ("stable" if stable_rec else "not stable" if stable_rec is False else "undecided")
            + f" with depth; at each scheme's best learning rate {rec0} is "
            + (
                "as fast as or faster than every other scheme"
                if fast_tuned
                else f"slower than {', '.join(faster)}"
                if fast_tuned is False
                else "not separable from the others"
            )
            + f" (at lr {fmt(s.lr)}: "
            + (
                "fastest or tied"
                if fast_main
                else "not fastest"
                if fast_main is False
                else "undecided"
            )
            + ")"
        )
        tables.append(_sweep_table(act, at_lr, best, cmp_main, cmp_tuned, rec0, s))
        tables.append(
            Table(
                f"{act}: at initialization, deep network",
                ["scheme", "diagnostics", "Var(Z) factor per layer", "recommended"],
                depth_rows,
            )
        )
        tables.append(
            Table(
                f"{act}: steps to the target cost ({fmt(tr.target(s))})",
                STEPS_HEADERS + ["recommended"],
                [steps_table_row(tr, sc, s, [sc in rec]) for sc in tr.schemes()],
            )
        )
        pred = _predicted(deep, shown)
        figs += keep(
            [
                fig_depth(
                    f"variance_{act}",
                    f"Var(Z) by depth at initialization, {act}",
                    "Variance of the pre-activations per hidden layer at step 0 (mean over "
                    "seeds); dashed: predicted by the theory module.",
                    _depth_series(deep, shown, "z_std", square=True),
                    "Var(Z)",
                    pred,
                ),
                fig_cost(
                    f"cost_{act}",
                    f"every scale, {act}",
                    "Training cost per step, seed 0 of each scheme (test dashed).",
                    [(tr, tr.of(sc)[0], sc) for sc in shown],
                ),
            ]
        )
    return exp.result(
        ctx,
        verdict=decide(parts),
        criterion=(
            "two parts per activation: (a) stable variance with depth: for both forms of the "
            "recommended scheme (Xavier for tanh and sigmoid, He for ReLU) the diagnostics find "
            "neither 'vanishing' nor 'exploding' in the deep network at step 0 in most seeds "
            "(95% Clopper-Pearson lower bound on the rate above 50%); (b) fastest convergence, "
            "judged at each scheme's best learning rate of a sweep "
            f"({', '.join(fmt(x) for x in s.sweep_lrs)}; best = lowest median steps): no other "
            "random scheme reaches the target in fewer steps than the recommended scheme's "
            "normal form -- paired t on per-seed log ratios of steps (same seeds; never reached "
            f"counts as more than the steps run), smallest effect that matters {pct(STEPS_DELTA)}"
            "; one scheme detectably faster fails the part, an undecided comparison leaves it "
            f"undecided. The same test at lr {fmt(s.lr)} alone is shown beside it. holds if all "
            "parts hold, does not hold if none, holds in part otherwise"
        ),
        key_figure="; ".join(keys),
        finding=_xavier_he_finding(res),
        tests=[
            f"{act}, {r['recommended'][0]} / {sc} at the best rates: {comparison_text(c)}"
            for act, r in res.items()
            for sc, c in r["comparisons_at_best_lr"].items()
        ],
        observations=[
            "With sigmoid, Xavier keeps the forward variance but the gradient still shrinks by "
            "about 4x per layer (sigmoid's slope is at most 1/4); the seed itself adds 'avoid "
            "sigmoid due to gradient vanishing issues'.",
            "In a small network trained by plain gradient descent, a larger-than-Xavier scale "
            "can converge faster: the scale acts like a larger learning rate until units "
            "saturate.",
        ],
        tables=tables,
        figures=figs,
        numbers=res,
    )


@experiment(
    "xavier_relu_deep",
    "8b",
    "Xavier with ReLU loses variance with depth; He does not",
    "He Initialization: Best suited for ReLU activation functions to combat the vanishing "
    "gradient problem. (He: N(0, 2/fan_in); Xavier: N(0, 2/(fan_in + fan_out)).)",
    "the per-layer factor of Var(Z) at initialization across the hidden layers of the deep "
    "ReLU network, both forms of Xavier and He, against the theory's prediction",
    ("depth/relu",),
)
def xavier_relu_deep(ctx: Any, exp: Experiment) -> Any:
    deep = ctx.population("depth/relu")
    schemes = ("xavier_normal", "xavier_uniform", "he_normal", "he_uniform")
    res: dict[str, Any] = {}
    rows = []
    for sc in schemes:
        ks = deep.of(sc)
        factors = [per_layer_factor([r["z_std"] ** 2 for r in deep.first(k)]) for k in ks]
        total = [deep.first(k)[-1]["z_std"] ** 2 / deep.first(k)[0]["z_std"] ** 2 for k in ks]
        pred = predicted_variance(deep, sc)
        pf = per_layer_factor(pred) if pred else None
        if sc.startswith("xavier"):
            flags = [f is not None and f < LOSS_FACTOR for f in factors]
        else:
            flags = [f is not None and LOSS_FACTOR <= f <= 1 / LOSS_FACTOR for f in factors]
        ok = typical(flags)
        res[sc] = {
            "factor_per_layer": factors,
            "last_over_first": total,
            "predicted_factor_per_layer": pf,
            "as_claimed": ok,
            "as_claimed_seeds": share(flags).to_dict(),
        }
        rows.append(
            [
                sc,
                spread_text(spread(factors)),
                pf,
                spread_text(spread(total)),
                "loses variance" if sc.startswith("xavier") else "keeps variance",
                ok,
            ]
        )
    parts = [res[sc]["as_claimed"] for sc in schemes]
    xn, hn = res["xavier_normal"], res["he_normal"]
    finding = (
        f"With ReLU, Xavier keeps x{sci(spread(xn['factor_per_layer'])['mean'])} of the "
        f"variance per layer (theory {sci(xn['predicted_factor_per_layer'])}), He "
        f"x{sci(spread(hn['factor_per_layer'])['mean'])} (theory "
        f"{sci(hn['predicted_factor_per_layer'])}): Xavier loses variance with depth, He does not."
    )
    tests = [f"{sc}: as claimed in {share_text(res[sc]['as_claimed_seeds'])}" for sc in schemes]
    var = _depth_series(deep, schemes, "z_std", square=True)
    pred = _predicted(deep, schemes)
    n = len(var["he_normal"])
    key = (
        f"Var(Z) per layer x{sci(spread(res['xavier_normal']['factor_per_layer'])['mean'])} "
        f"(Xavier normal), x{sci(spread(res['xavier_uniform']['factor_per_layer'])['mean'])} "
        f"(uniform) vs x{sci(spread(res['he_normal']['factor_per_layer'])['mean'])} (He normal), "
        f"x{sci(spread(res['he_uniform']['factor_per_layer'])['mean'])} (uniform); over {n} "
        f"hidden layers Xavier keeps "
        f"{pct(spread(res['xavier_normal']['last_over_first'])['mean'])} of layer 1's variance"
    )
    return exp.result(
        ctx,
        verdict=decide(parts),
        criterion=(
            "per scheme and form, judged per seed: Xavier 'loses variance layer by layer' when "
            f"the per-layer factor of Var(Z) from the first to the last hidden layer is below "
            f"{LOSS_FACTOR}; He 'does not' when it lies in [{LOSS_FACTOR}, {fmt(1 / LOSS_FACTOR)}]"
            "; a scheme is as claimed when most seeds are (one-sided 95% Clopper-Pearson lower "
            "bound on the rate above 50%), not as claimed when most are not, undecided "
            "otherwise. holds if all four hold, does not hold if none, holds in part otherwise"
        ),
        key_figure=key,
        finding=finding,
        tests=tests,
        observations=[
            "ReLU zeroes half of a symmetric input, so E[relu(z)^2] = Var(z)/2: a layer keeps "
            "the variance only if fan_in Var(W) = 2 (He). Xavier gives fan_in Var(W) = 1 for "
            "square layers, halving the variance at every layer.",
        ],
        tables=[
            Table(
                "per-layer factor of Var(Z), deep ReLU network, step 0",
                [
                    "scheme",
                    "measured factor per layer",
                    "predicted",
                    "last / first hidden layer",
                    "claim",
                    "as claimed",
                ],
                rows,
            ),
            _depth_table(deep, schemes, "Var(Z) per layer at step 0", pred, gradients=False),
        ],
        figures=[
            fig_depth(
                "variance_relu",
                "Var(Z) by depth at initialization, ReLU",
                "Variance of the pre-activations per hidden layer at step 0 (mean over seeds); "
                "dashed: predicted by the theory module.",
                var,
                "Var(Z)",
                pred,
            )
        ],
        numbers=res,
    )


# ============================================================================== claim 9


@experiment(
    "normal_vs_uniform",
    "9",
    "The normal and uniform forms of each scheme behave the same",
    "Xavier Initialization (Normal): N(0, 2/(fan_in + fan_out)); Xavier Initialization "
    "(Uniform): U(-sqrt(6/(fan_in + fan_out)), sqrt(6/(fan_in + fan_out))); He Initialization "
    "(Normal): N(0, 2/fan_in); He Initialization (Uniform): U(-sqrt(6/fan_in), sqrt(6/fan_in)).",
    "the variance of each form by its formula, the measured std of the drawn weights per layer, "
    "the per-layer factor of Var(Z) at initialization, and the steps to the target cost",
    ("depth/relu", "depth/tanh", "depth/sigmoid", "train/relu", "train/tanh", "train/sigmoid"),
)
def normal_vs_uniform(ctx: Any, exp: Experiment) -> Any:
    from initlab.schemes import distribution

    s = ctx.settings
    pairs = (("xavier_normal", "xavier_uniform"), ("he_normal", "he_uniform"))
    parts: list[bool] = []
    res: dict[str, Any] = {"formula": {}, "weights": {}, "by_activation": {}}
    rows_formula, rows_behave = [], []
    deep0 = ctx.population("depth/relu")
    sizes = deep0.layer_sizes()
    for n_, u_ in pairs:
        vn = distribution(n_, sizes[1], sizes[2]).variance
        vu = distribution(u_, sizes[1], sizes[2]).variance
        equal = math.isclose(vn, vu, rel_tol=1e-12)
        parts.append(equal)
        res["formula"][n_.split("_")[0]] = {"normal": vn, "uniform": vu, "equal": equal}
        rows_formula.append([n_.split("_")[0], f"{sizes[1]} -> {sizes[2]}", vn, vu, equal])
    # the drawn weights do not depend on the activation (same seeds, same fans): check them
    # once, in the deep ReLU network, layer by layer
    weight_rows = []
    for n_, u_ in pairs:
        fam = n_.split("_")[0]
        worst = {}
        for sc, kind in ((n_, "normal"), (u_, "uniform")):
            zs = []
            for k in deep0.of(sc):
                for r in deep0.first(k, hidden=False):
                    fi, fo = sizes[r["layer"] - 1], sizes[r["layer"]]
                    sd = distribution(sc, fi, fo).std
                    se = sd * math.sqrt((KURTOSIS[kind] - 1.0) / (4.0 * fi * fo))
                    zs.append(abs(r["w_std"] - sd) / se)
            worst[kind] = max(zs)
        w_ok = all(z <= WEIGHT_Z for z in worst.values())
        parts.append(w_ok)
        res["weights"][fam] = {"worst_z": worst, "match_formula": w_ok}
        weight_rows.append([fam, worst["normal"], worst["uniform"], w_ok])
    for act in ACTS:
        deep = ctx.population(f"depth/{act}")
        tr = ctx.population(f"train/{act}")
        for n_, u_ in pairs:
            fam = n_.split("_")[0]
            fn = [per_layer_factor([r["z_std"] ** 2 for r in deep.first(k)]) for k in deep.of(n_)]
            fu = [
                per_layer_factor([r["z_std"] ** 2 for r in deep.first(deep.paired(k, u_))])
                for k in deep.of(n_)
            ]
            cf = compare(fn, fu, delta=FACTOR_DELTA, paired=True)
            sn = [tr.steps_to_target(k, s) for k in tr.of(n_)]
            su = [tr.steps_to_target(tr.paired(k, u_), s) for k in tr.of(n_)]
            cs = compare(sn, su, delta=FORM_STEPS_DELTA, paired=True, censor_at=s.steps + 1)
            parts += [as_part(cf, SAME), as_part(cs, SAME)]
            res["by_activation"][f"{act} {fam}"] = {
                "variance_factor_normal": fn,
                "variance_factor_uniform": fu,
                "variance_factor": cf.to_dict(),
                "steps_normal": sn,
                "steps_uniform": su,
                "steps": cs.to_dict(),
            }
            rows_behave.append(
                [
                    f"{act} {fam}",
                    spread_text(spread(fn)),
                    spread_text(spread(fu)),
                    cf.short(),
                    spread_text(spread(sn), 3),
                    spread_text(spread(su), 3),
                    cs.short(),
                ]
            )
    worst_z = max(max(v["worst_z"].values()) for v in res["weights"].values())
    comps = [
        (name, what, v[what])
        for name, v in res["by_activation"].items()
        for what in ("variance_factor", "steps")
    ]
    same_f = [c for _, w, c in comps if w == "variance_factor" and c["outcome"] == SAME]
    differ = [
        f"{n} ({'Var(Z) factor' if w == 'variance_factor' else 'steps'})"
        for n, w, c in comps
        if c["outcome"] == DIFFER
    ]
    unsure = [
        f"{n} ({'Var(Z) factor' if w == 'variance_factor' else 'steps'})"
        for n, w, c in comps
        if c["outcome"] == UNDECIDED
    ]
    widest = max((c["half_width"] for c in same_f if c["half_width"] is not None), default=None)
    n_pairs = len(res["by_activation"])
    key = (
        f"Normal and uniform forms have the same variance by formula and in the drawn weights "
        f"(within {fmt(worst_z, 2)} standard errors); the per-layer factor of Var(Z): no "
        f"difference detected in {len(same_f)} of {n_pairs} activation/scheme pairs"
        + (f" (95% CI within +-{pct(widest)})" if widest is not None else "")
        + (f"; differ: {', '.join(differ)}" if differ else "")
        + (f"; undecided: {', '.join(unsure)}" if unsure else "")
    )
    return exp.result(
        ctx,
        verdict=decide(parts),
        criterion=(
            "parts: (a) for Xavier and He the two formulas give the same variance; (b) per "
            "activation and scheme, every layer's drawn weights have the formula's std within "
            f"{fmt(WEIGHT_Z)} standard errors of a sample std (kurtosis 3 normal, 1.8 uniform); "
            "(c) the per-layer factor of Var(Z) at initialization (deep network) and (d) the "
            "steps to the target cost show no difference between the forms: a paired t "
            "interval (95%) on the per-seed log ratio normal/uniform (the same seeds) lies "
            f"within +-{pct(FACTOR_DELTA)} for (c) and +-{pct(FORM_STEPS_DELTA)} for (d), the "
            "smallest effects that matter; an interval that excludes no difference and an "
            "estimate beyond them is a difference; anything else is undecided (a target never "
            "reached counts as more than the steps run). holds if every part holds, undecided "
            "if a part is"
        ),
        key_figure=key,
        finding=(
            "Normal and uniform forms behave the same: "
            + (
                f"no difference detected in the per-layer factor of Var(Z) in any of the "
                f"{n_pairs} activation/scheme pairs (95% CI within +-{pct(widest)})"
                if len(same_f) == n_pairs and widest is not None
                else f"no difference detected in {len(same_f)} of {n_pairs} pairs"
            )
            + "."
        ),
        tests=[
            f"{name}, {'Var(Z) factor' if w == 'variance_factor' else 'steps to target'} "
            f"normal / uniform: {comparison_text(c)}"
            for name, w, c in comps
        ],
        observations=[
            "U(-a, a) has variance a^2/3, so a = sqrt(3) sigma gives the normal form's variance: "
            "sqrt(6/(fan_in+fan_out)) for Xavier, sqrt(6/fan_in) for He.",
            "The seeds are paired: seed s of the normal form and seed s of the uniform form "
            "see the same data; the interval is on the per-seed log ratio, so the shared part "
            "of the seed-to-seed spread cancels.",
        ],
        tables=[
            Table(
                "variance by formula (a hidden layer of the deep network)",
                ["scheme", "fans", "normal", "uniform", "equal"],
                rows_formula,
            ),
            Table(
                "drawn weights vs formula: largest |std - formula| in standard errors, over "
                "every layer and seed of the deep network",
                ["scheme", "normal", "uniform", f"within {fmt(WEIGHT_Z)}"],
                weight_rows,
            ),
            Table(
                "behaviour: normal vs uniform",
                [
                    "activation, scheme",
                    "Var(Z) factor, normal",
                    "uniform",
                    "normal / uniform",
                    "steps to target, normal",
                    "uniform",
                    "normal / uniform",
                ],
                rows_behave,
                "mean +- sd (range) over seeds; normal / uniform: paired t on log ratios, 95% "
                f"CI; smallest effects that matter {pct(FACTOR_DELTA)} (factor) and "
                f"{pct(FORM_STEPS_DELTA)} (steps)",
            ),
        ],
        figures=[
            fig_depth(
                f"variance_{fam}",
                f"Var(Z) by depth, {fam} normal vs uniform, {act}",
                "Variance of the pre-activations per hidden layer of the deep network at step 0 "
                "(mean over seeds).",
                _depth_series(ctx.population(f"depth/{act}"), (n_, u_), "z_std", square=True),
                "Var(Z)",
            )
            for fam, act, n_, u_ in (
                ("xavier", "tanh", "xavier_normal", "xavier_uniform"),
                ("he", "relu", "he_normal", "he_uniform"),
            )
        ],
        numbers=res,
    )
