"""Claim 9: the normal and uniform forms of Xavier and He behave the same."""

from __future__ import annotations

import math
from typing import Any

from initlab._text import fmt
from initlab.study.common import (
    fig_depth,
    pct,
    per_layer_factor,
)
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide, spread, spread_text
from initlab.study.scale import (
    ACTS,
    FACTOR_DELTA,
    FORM_STEPS_DELTA,
    KURTOSIS,
    WEIGHT_Z,
    comparison_text,
    depth_series,
)
from initlab.study.stats import (
    DIFFER,
    SAME,
    UNDECIDED,
    as_part,
    compare,
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
    parts: list[bool | None] = []
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
                depth_series(ctx.population(f"depth/{act}"), (n_, u_), "z_std", square=True),
                "Var(Z)",
            )
            for fam, act, n_, u_ in (
                ("xavier", "tanh", "xavier_normal", "xavier_uniform"),
                ("he", "relu", "he_normal", "he_uniform"),
            )
        ],
        numbers=res,
    )
