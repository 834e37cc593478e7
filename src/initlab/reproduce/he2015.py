"""He et al. 2015: a 30-layer ReLU network under Xavier and He initialization -- the output
scale at init, then which of them trains (30 and 22 layers)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from initlab.reproduce.common import (
    at_step,
    by_factor,
    by_sign,
    by_tolerance,
    lines_figure,
    members_of,
)
from initlab.reproduce.registry import paper
from initlab.reproduce.result import Comparison, PaperResult, ci, ci_log, table

SCHEMES = {"Xavier": "xavier_normal", "He": "he_normal"}
PAPER_RATIO = (1 / math.sqrt(2)) ** 30  # 3.05e-5

#: "learns": the training cost falls below half its initial value; "stalls": it falls by
#: less than a tenth (the paper's Fig. 3: Xavier's curve stays flat at the start value)
LEARN_DROP, STALL_DROP = 0.5, 0.1


def _base(ctx: Any, depth: int, width: int, steps: int) -> Any:
    from initlab.config import RunConfig

    return RunConfig(
        dataset="digits",
        hidden=(width,) * depth,
        activation="relu",
        bias_init="zeros",
        optimizer="momentum",
        lr=ctx.settings.pick(0.01, 0.01, 0.01),
        steps=steps,
        batch_size=64,
    )


def _at_init(ctx: Any) -> dict[str, Any]:
    """Std of the 30th layer's pre-activations, Xavier / He, unpaired seeds (He seeds 0..,
    Xavier seeds 1000..), all 30 weight matrices 64 x 64 as in the paper's derivation."""
    from initlab.diagnostics import LayerStats

    n = ctx.settings.n_seeds(10, 6, 3)
    base = _base(ctx, 30, 64, 1)
    cfgs = [base.replace(init="he_normal", seed=s) for s in range(n)]
    cfgs += [base.replace(init="xavier_normal", seed=1000 + s) for s in range(n)]
    result = ctx.train(
        "init30",
        "30 ReLU layers of 64 at init",
        cfgs,
        probes=[LayerStats(every=1, histograms=False, symmetry=False)],
        steps=1,
    )
    z = {
        lab: np.array(
            [
                [r["z_std"] for r in at_step(result.history, k, 0)]
                for k in members_of(cfgs, init=sch)
            ]
        )
        for lab, sch in SCHEMES.items()
    }
    ratios = (z["Xavier"][:, -1] / z["He"][:, -1]).tolist()
    return {"z_std": {k: v.tolist() for k, v in z.items()}, "ratio": ratios}


def _trained(ctx: Any, depth: int) -> dict[str, Any]:
    s = ctx.settings
    width = s.pick(64, 32, 16)
    steps = s.pick(3000, 800, 30)
    base = _base(ctx, depth, width, steps)
    n = s.n_seeds(4, 3, 2)
    cfgs = [base.replace(init=sch, seed=k) for sch in SCHEMES.values() for k in range(n)]
    result = ctx.train(
        f"train{depth}",
        f"{depth} ReLU layers of {width}, trained",
        cfgs,
        eval_every=max(1, steps // 20),
    )
    h = result.history
    cost0 = h.cost[:, 0]
    out: dict[str, Any] = {"width": width, "steps": steps}
    for lab, sch in SCHEMES.items():
        ks = members_of(cfgs, init=sch)
        drops, reach = [], []
        for k in ks:
            c = h.cost[k]
            tail = c[~np.isnan(c)][-max(1, steps // 20) :]
            # a run whose cost blew up (or diverged to NaN/inf) counts as -1: it did not learn
            drop = 1 - np.mean(tail) / cost0[k] if tail.size else -1.0
            drops.append(float(np.clip(drop, -1.0, 1.0)) if np.isfinite(drop) else -1.0)
            hit = np.flatnonzero(c <= (1 - LEARN_DROP) * cost0[k])
            reach.append(int(hit[0]) if hit.size else None)
        out[lab] = {
            "members": ks,
            "drop": drops,
            "steps_to_half": reach,
            "curve": np.nanmean(h.cost[ks], axis=0)[:: max(1, steps // 100)].tolist(),
        }
    return out


def _comparisons(init: dict[str, Any], t30: dict[str, Any], t22: dict[str, Any]) -> list:
    rows = []
    r = ci_log(init["ratio"])
    rows.append(
        Comparison(
            "output std at init, Xavier / He, 30 layers",
            "(1/sqrt 2)^30 = 3.05e-5 (Sec. 2.2)",
            r,
            by_factor(r, PAPER_RATIO, 1.5),
            "std of layer 30's pre-activations, geometric mean over unpaired seeds (64-wide "
            "layers scatter the ratio by about a factor 2 per seed); reproduced if within a "
            "factor 1.5 of the paper's number; direction only if below 1",
        )
    )
    for depth, t in ((30, t30), (22, t22)):
        for lab in SCHEMES:
            r = ci(t[lab]["drop"])
            learns = lab == "He" or depth == 22
            if learns:
                v = by_tolerance(r, 1.0, 1 - LEARN_DROP, same_side=STALL_DROP)
                claim, crit = (
                    "learns (Figs. 2-3)",
                    (
                        f"fraction of the initial cost removed by the end (mean of the last 5% of "
                        f"steps; a run that blew up counts as -1); reproduced if at "
                        f"least {LEARN_DROP}, direction only if above {STALL_DROP}"
                    ),
                )
            else:
                v = by_tolerance(r, 0.0, STALL_DROP, same_side=LEARN_DROP)
                claim, crit = (
                    "stalls (Fig. 3)",
                    (
                        f"fraction of the initial cost removed; reproduced if at most "
                        f"{STALL_DROP}, direction only if below {LEARN_DROP}"
                    ),
                )
            rows.append(Comparison(f"cost drop, {lab}, {depth} layers", claim, r, v, crit))
    xa, he = t22["Xavier"]["steps_to_half"], t22["He"]["steps_to_half"]
    never = t22["steps"]
    pairs = zip(xa, he, strict=True)
    diff = [(never if a is None else a) - (never if b is None else b) for a, b in pairs]
    r = ci(diff)
    rows.append(
        Comparison(
            "steps to halve the cost, Xavier minus He, 22 layers",
            "> 0: He sooner (Fig. 2)",
            r,
            by_sign(r),
            "paired seeds; a run that never halves its cost counts as the budget; "
            "reproduced if the whole CI is above 0, direction only if its mean is",
        )
    )
    return rows


def _scale_figure(ctx: Any, init: dict[str, Any]) -> None:
    """Each layer's pre-activation std at init, measured and predicted (Sec. 2.2)."""
    from initlab.theory import predict_network

    layers = list(range(1, 31))
    series = {
        lab: {"x": layers, "mean": np.exp(np.mean(np.log(init["z_std"][lab]), axis=0)).tolist()}
        for lab in SCHEMES
    }
    theory = {
        lab: {
            "x": layers,
            "mean": [
                math.sqrt(p.q) for p in predict_network([64] * 31 + [10], "relu", sch).layers[:30]
            ],
        }
        for lab, sch in SCHEMES.items()
    }
    ctx.figure(
        "scale",
        "pre-activation std per layer at init",
        "Std of each layer's pre-activations at init (geometric mean over seeds), "
        "measured (solid) and predicted by initlab.theory.predict_network (dashed): "
        "Xavier loses a factor sqrt 2 per ReLU layer.",
        lines_figure(
            series,
            xlabel="layer",
            ylabel="std of Z",
            logy=True,
            title="He et al. Sec. 2.2: 30 ReLU layers at init",
            dashed=theory,
        ),
    )


def _cost_figures(ctx: Any, t30: dict[str, Any], t22: dict[str, Any]) -> None:
    """The training cost of 30 and 22 layers (Figs. 3 and 2)."""
    for depth, t in ((30, t30), (22, t22)):
        step = max(1, t["steps"] // 100)
        curves = {
            lab: {"x": list(range(0, step * len(t[lab]["curve"]), step)), "mean": t[lab]["curve"]}
            for lab in SCHEMES
        }
        ctx.figure(
            f"cost{depth}",
            f"training cost, {depth} layers",
            f"Training cost (mean over seeds) of {depth} ReLU layers of {t['width']}: "
            f"the paper's Fig. {2 if depth == 22 else 3}.",
            lines_figure(
                curves, xlabel="step", ylabel="training cost", title=f"{depth} layers", logy=True
            ),
        )


@paper(
    "he2015",
    "He et al. 2015: Xavier vs He in deep ReLU networks",
    "K. He, X. Zhang, S. Ren and J. Sun, Delving deep into rectifiers: surpassing "
    "human-level performance on ImageNet classification, ICCV 2015",
    "Section 2.2 (the output scale (1/sqrt 2)^L under Xavier), Figure 2 (22 layers: both "
    "converge, He sooner) and Figure 3 (30 layers: Xavier stalls, He converges)",
)
def he2015(ctx: Any) -> PaperResult:
    init = _at_init(ctx)
    t30, t22 = _trained(ctx, 30), _trained(ctx, 22)
    rows = _comparisons(init, t30, t22)
    _scale_figure(ctx, init)
    _cost_figures(ctx, t30, t22)
    g = ci_log(init["ratio"])["mean"]
    return PaperResult(
        name="he2015",
        title="He et al. 2015: Xavier vs He in deep ReLU networks",
        paper="He, Zhang, Ren & Sun, ICCV 2015",
        reproduces="Sec. 2.2 (output scale), Fig. 2 (22 layers), Fig. 3 (30 layers)",
        setup=(
            "scikit-learn digits (standardised), ReLU MLPs, zero biases, softmax output. At "
            "init: 30 hidden layers of 64 units (the 64 inputs make every one of the 30 weight "
            "matrices square, as the paper's derivation assumes), xavier_normal (Var 1/n) vs "
            "he_normal (Var 2/n), unpaired seeds. Trained: 30 and 22 hidden layers of "
            f"{t30['width']}, SGD with momentum 0.9, lr 0.01, batch 64, {t30['steps']} steps."
        ),
        differences=[
            "an MLP on digits instead of a 22/30-layer convolutional network on ImageNet",
            f"{t30['steps']} steps instead of many epochs; width {t30['width']} when training",
            "the paper's Xavier is Var(W) = 1/n_in (its own formulation); with square layers "
            "xavier_normal's 2/(n_in + n_out) is the same",
        ],
        comparisons=rows,
        summary=(
            f"At init Xavier's output std is {g:.3g} of He's (paper 3.05e-5); cost drop "
            f"at 30 layers: Xavier {np.mean(t30['Xavier']['drop']):.2f}, He "
            f"{np.mean(t30['He']['drop']):.2f}; at 22 layers: Xavier "
            f"{np.mean(t22['Xavier']['drop']):.2f}, He {np.mean(t22['He']['drop']):.2f}."
        ),
        tables=[
            table(
                "cost drop per seed",
                ["depth", "init", "drop", "steps to halve"],
                [
                    [d, lab, t[lab]["drop"], [str(x) for x in t[lab]["steps_to_half"]]]
                    for d, t in ((30, t30), (22, t22))
                    for lab in SCHEMES
                ],
            )
        ],
        numbers={"init": init, "train30": t30, "train22": t22},
    )
