"""Claims 8 and 8b: Xavier for tanh and sigmoid, He for ReLU -- stable variance and the fastest
convergence, judged at each scheme's best learning rate of a sweep."""

from __future__ import annotations

import math
from typing import Any

from initlab._text import fmt
from initlab.study.common import (
    RECOMMENDED,
    STEPS_HEADERS,
    compare_steps,
    fig_cost,
    fig_depth,
    keep,
    median_steps,
    pct,
    per_layer_factor,
    predicted_variance,
    sci,
    steps_table_row,
)
from initlab.study.populations import SWEEP_SCHEMES
from initlab.study.registry import Experiment, experiment
from initlab.study.result import Table, decide, spread, spread_text
from initlab.study.scale import (
    ACTS,
    LOSS_FACTOR,
    STEPS_DELTA,
    UNSWEPT,
    comparison_text,
    depth_series,
    depth_table,
    predicted,
    share_text,
    tri,
)
from initlab.study.stats import (
    DIFFER,
    UNDECIDED,
    share,
    typical,
)

# ============================================================================== claim 8


def _sweep_key(act: str, lr: float, s: Any) -> str:
    """The population claim 8 reads at learning rate ``lr``: the trained comparison at the
    study's own rate, else the sweep's."""
    return f"train/{act}" if lr == s.lr else f"sweep/{act}@{lr:g}"


def _sweep_keys(s: Any) -> tuple[str, ...]:
    """The sweep's populations under settings ``s`` (those of the study's rate excepted)."""
    return tuple(_sweep_key(act, lr, s) for act in ACTS for lr in s.sweep_lrs if lr != s.lr)


def _sweep_steps(ctx: Any, act: str) -> dict[float, dict[str, list[int | None]]]:
    """Steps to the target per learning rate of the sweep and scheme of
    :data:`SWEEP_SCHEMES`, one entry per sweep seed (in seed order), within the sweep's
    ``sweep_steps`` (None: not reached by then); the study's own rate is read from the trained
    comparison, cut to the same horizon."""
    s = ctx.settings
    out: dict[float, dict[str, list[int | None]]] = {}
    for lr in s.sweep_lrs:
        pop = ctx.population(_sweep_key(act, lr, s))
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
        stable = tri(r["stable_at_init"], "keeps", "does not keep", "may keep")
        fast = tri(
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
    more=_sweep_keys,
)
def xavier_he(ctx: Any, exp: Experiment) -> Any:
    s = ctx.settings
    res: dict[str, Any] = {}
    parts: list[bool | None] = []
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
        pred = predicted(deep, shown)
        figs += keep(
            [
                fig_depth(
                    f"variance_{act}",
                    f"Var(Z) by depth at initialization, {act}",
                    "Variance of the pre-activations per hidden layer at step 0 (mean over "
                    "seeds); dashed: predicted by the theory module.",
                    depth_series(deep, shown, "z_std", square=True),
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
    var = depth_series(deep, schemes, "z_std", square=True)
    pred = predicted(deep, schemes)
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
            depth_table(deep, schemes, "Var(Z) per layer at step 0", pred, gradients=False),
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
