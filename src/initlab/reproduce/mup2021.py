"""Yang & Hu 2021 (muP): the coordinate check (activation scale after a few steps across
widths: growing under the standard parametrisation, flat under muP) and learning-rate
transfer (the best learning rate moves with width under the standard parametrisation and
stays put under muP)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from initlab.reproduce.common import at_step, by_threshold, lines_figure
from initlab.reproduce.registry import paper
from initlab.reproduce.result import Comparison, PaperResult, ci, table

PARAMS = ("standard", "mup")
BASE_WIDTH = 32
CHECK_STEPS = 3


def _parametrised(name: str, optimizer: str) -> Any:
    """``modify`` for :meth:`Context.train`: the network under parametrisation ``name``
    against a base network of width :data:`BASE_WIDTH` (muP's readout starts at zero)."""
    from initlab.parametrisation import parametrise

    def modify(net: Any, p: Any) -> Any:
        base = (net.sizes[0], *([BASE_WIDTH] * (len(net.sizes) - 2)), net.sizes[-1])
        return parametrise(net, name, base, optimizer, zero_readout=name == "mup")

    return modify


def _config(width: int, steps: int, lr: float, seed: int, batch: int, opt: str = "gd") -> Any:
    from initlab.config import RunConfig

    return RunConfig(
        dataset="digits",
        hidden=(width, width),
        activation="relu",
        init="he_normal",
        bias_init="zeros",
        optimizer=opt,
        lr=lr,
        steps=steps,
        batch_size=batch,
        seed=seed,
    )


def _slope(widths: list[int], values: list[float]) -> float:
    """Least-squares slope of log(value) against log(width)."""
    x, y = np.log(widths), np.log(values)
    return float(np.polyfit(x, y, 1)[0])


def _coord_check(ctx: Any) -> dict[str, Any]:
    """RMS of the output logits after :data:`CHECK_STEPS` SGD steps, per width."""
    from initlab.diagnostics import LayerStats

    s = ctx.settings
    widths = s.pick([64, 128, 256, 512, 1024, 2048], [64, 256, 1024], [16, 64])
    n = s.n_seeds(3, 2, 2)
    out: dict[str, Any] = {"widths": widths}
    for name in PARAMS:
        per_width = []
        for w in widths:
            cfgs = [_config(w, CHECK_STEPS + 1, 0.1, k, 128) for k in range(n)]
            res = ctx.train(
                f"coord_{name}_{w}",
                f"coordinate check, {name}, width {w}",
                cfgs,
                modify=_parametrised(name, "gd"),
                probes=[LayerStats(every=1, histograms=False, symmetry=False)],
            )
            per_width.append(
                [at_step(res.history, k, CHECK_STEPS, hidden=False)[-1]["z_std"] for k in range(n)]
            )
        arr = np.array(per_width)  # (widths, seeds)
        out[name] = {
            "logit_std": arr.tolist(),
            "slope": [_slope(widths, arr[:, k].tolist()) for k in range(n)],
        }
    return out


def _transfer(ctx: Any) -> dict[str, Any]:
    """Final training cost over a learning-rate grid, per width; the best rate per seed."""
    s = ctx.settings
    widths = s.pick([32, 128, 512, 1024], [32, 128, 384], [16, 32])
    lrs = s.pick(
        [2.0**k for k in range(-13, -3)], [2.0**k for k in range(-12, -4)], [1e-3, 4e-3, 1.6e-2]
    )
    steps = s.pick(400, 120, 10)
    n = s.n_seeds(3, 2, 2)
    out: dict[str, Any] = {"widths": widths, "lrs": lrs, "steps": steps}
    for name in PARAMS:
        cost = np.full((len(widths), len(lrs), n), np.inf)
        for i, w in enumerate(widths):
            cfgs = [_config(w, steps, lr, k, 32, "adam") for lr in lrs for k in range(n)]
            res = ctx.train(
                f"lr_{name}_{w}",
                f"learning-rate sweep, {name}, width {w}",
                cfgs,
                modify=_parametrised(name, "adam"),
                eval_every=steps,
            )
            fc = np.asarray(res.history.final_cost, dtype=float).reshape(len(lrs), n)
            cost[i] = np.where(np.isfinite(fc), fc, np.inf)
        best = np.argmin(cost, axis=1)  # (widths, seeds): index of the best rate
        out[name] = {
            "final_cost": np.where(np.isfinite(cost), cost, np.nan).tolist(),
            "best_lr": [[lrs[j] for j in row] for row in best.tolist()],
            "shift": [float(math.log2(lrs[best[-1, k]] / lrs[best[0, k]])) for k in range(n)],
        }
    return out


def _comparisons(cc: dict[str, Any], tr: dict[str, Any]) -> list[Comparison]:
    rows = []
    r = ci(cc["standard"]["slope"])
    rows.append(
        Comparison(
            "coordinate check, standard: slope of log logit RMS vs log width",
            "grows with width (Fig. 1 / coord check)",
            r,
            by_threshold(r, 0.5, 0.1),
            f"RMS of the output pre-activations after {CHECK_STEPS} SGD steps (lr 0.1); reproduced "
            "if the slope is >= 0.5 (at least sqrt-width growth), direction only if >= 0.1",
        )
    )
    r = ci([abs(v) for v in cc["mup"]["slope"]])
    rows.append(
        Comparison(
            "coordinate check, muP: |slope| of log logit RMS vs log width",
            "flat (~0)",
            r,
            by_threshold(r, 0.15, 0.3, above=False),
            "reproduced if |slope| <= 0.15 (less than a factor 1.25 over a 4x width change), "
            "direction only if <= 0.3",
        )
    )
    r = ci(tr["standard"]["shift"])
    rows.append(
        Comparison(
            "best learning rate, standard: log2(best at widest / best at narrowest)",
            "< 0: shifts down with width (Fig. 1)",
            r,
            by_threshold(r, -1.0, -0.5, above=False),
            "per seed, on a grid of powers of 2; reproduced if it moves down by at least one "
            "grid step on average, direction only if by half a step",
        )
    )
    r = ci([abs(v) for v in tr["mup"]["shift"]])
    rows.append(
        Comparison(
            "best learning rate, muP: |log2 shift| from narrowest to widest",
            "~0: stays put",
            r,
            by_threshold(r, 0.5, 1.0, above=False),
            "reproduced if it moves by at most half a grid step on average, direction only if "
            "by at most one",
        )
    )
    return rows


def _figures(ctx: Any, cc: dict[str, Any], tr: dict[str, Any]) -> None:
    series = {}
    for name in PARAMS:
        arr = np.array(cc[name]["logit_std"])
        c = [ci(row) for row in arr]
        series[name] = {
            "x": cc["widths"],
            "mean": [v["mean"] for v in c],
            "low": [v["low"] for v in c],
            "high": [v["high"] for v in c],
        }
    ctx.figure(
        "coord_check",
        "coordinate check",
        f"RMS of the output logits after {CHECK_STEPS} SGD steps against width (mean and "
        "95% CI over seeds): growing under the standard parametrisation, flat under muP.",
        lines_figure(
            series,
            xlabel="width",
            ylabel="logit RMS",
            logx=True,
            logy=True,
            title="muP coordinate check",
        ),
    )
    for name in PARAMS:
        cost = np.nanmean(np.array(tr[name]["final_cost"], dtype=float), axis=2)
        lines, marks = {}, {}
        for i, w in enumerate(tr["widths"]):
            lab = f"width {w}"
            lines[lab] = {"x": tr["lrs"], "mean": cost[i].tolist()}
            j = int(np.nanargmin(np.where(np.isfinite(cost[i]), cost[i], np.nan)))
            marks[lab] = tr["lrs"][j]
        ctx.figure(
            f"transfer_{name}",
            f"learning-rate transfer, {name}",
            f"Final training cost after {tr['steps']} Adam steps against the learning "
            f"rate, {name} parametrisation (mean over seeds; dotted: each width's "
            "optimum; missing points diverged).",
            lines_figure(
                lines,
                xlabel="learning rate",
                ylabel="final training cost",
                logx=True,
                logy=True,
                title=f"{name}: learning-rate transfer",
                marks=marks,
            ),
        )


@paper(
    "mup2021",
    "Yang & Hu 2021: muP coordinate check and learning-rate transfer",
    "G. Yang and E. J. Hu, Tensor Programs IV: feature learning in infinite-width neural "
    "networks, ICML 2021; G. Yang et al., Tensor Programs V: tuning large neural networks "
    "via zero-shot hyperparameter transfer, 2022",
    "the coordinate check (activation scale after a few steps vs width) and Tensor Programs "
    "V Figure 1 (training loss vs learning rate across widths, standard vs muP)",
)
def mup2021(ctx: Any) -> PaperResult:
    cc = _coord_check(ctx)
    tr = _transfer(ctx)
    rows = _comparisons(cc, tr)
    _figures(ctx, cc, tr)
    best_rows = [
        [name, w, tr[name]["best_lr"][i]] for name in PARAMS for i, w in enumerate(tr["widths"])
    ]
    return PaperResult(
        name="mup2021",
        title="Yang & Hu 2021: muP coordinate check and learning-rate transfer",
        paper="Yang & Hu, ICML 2021; Yang et al., Tensor Programs V, 2022",
        reproduces="coordinate check; TP-V Fig. 1 (learning-rate transfer)",
        setup=(
            "scikit-learn digits, ReLU MLPs with two hidden layers of width n, he_normal, "
            "zero biases; standard parametrisation vs muP "
            f"(initlab.parametrisation, base width {BASE_WIDTH}, zero-initialised readout). "
            f"Coordinate check: plain SGD, widths {cc['widths']}, lr 0.1, batch 128, logits "
            f"after {CHECK_STEPS} steps. Transfer: Adam (muP's Adam table), widths "
            f"{tr['widths']}, learning rates "
            f"{[round(v, 4) for v in tr['lrs']]}, batch 32, {tr['steps']} steps."
        ),
        differences=[
            "MLPs on digits instead of transformers / wide ResNets on language and CIFAR-10",
            f"widths up to {max(cc['widths'])} and {tr['steps']} steps: far shorter training",
            "the coordinate check with plain SGD (muP's SGD table) instead of Adam",
        ],
        comparisons=rows,
        summary=(
            f"Coordinate-check slope: standard {np.mean(cc['standard']['slope']):.2f}, muP "
            f"{np.mean(cc['mup']['slope']):.2f}; best-lr shift (log2, narrowest to widest): "
            f"standard {np.mean(tr['standard']['shift']):.1f}, muP "
            f"{np.mean(tr['mup']['shift']):.1f}."
        ),
        tables=[
            table("best learning rate per seed", ["parametrisation", "width", "best lr"], best_rows)
        ],
        numbers={"coord_check": cc, "transfer": tr},
    )
