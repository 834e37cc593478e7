"""Claim 7: large random weights with tanh and sigmoid -- exploding gradients and unstable
training (claims 5 and 6, small random weights, are in :mod:`initlab.study.claims_scale`)."""

from __future__ import annotations

from typing import Any

from initlab._text import fmt
from initlab.diagnostics import cost_rises
from initlab.study.common import (
    fig_cost,
    fig_depth,
    fig_histograms,
    keep,
    layer_means,
    pct,
    per_layer_factor,
    sci,
)
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide, spread, spread_text
from initlab.study.scale import LARGE, UNSTABLE_RISE_FRACTION, share_text, thr
from initlab.study.stats import more_often, share

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
    parts: list[bool | None] = []
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
            f"x{fmt(thr().grad_factor)} per hidden layer toward the input, activations growing, "
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
