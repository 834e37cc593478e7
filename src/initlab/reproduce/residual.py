"""Residual scaling: the residual stream's variance at init against depth for unscaled,
1/sqrt(2L)-scaled (GPT-2), Fixup-style and zero-initialised branches, next to the theory
(:func:`initlab.theory.residual_stream`), and which of them train."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from initlab.reproduce.common import at_step, by_factor, by_threshold, lines_figure
from initlab.reproduce.registry import paper
from initlab.reproduce.result import Comparison, PaperResult, ci_log, ci_proportion, table

VARIANTS = ("unscaled", "1/sqrt(2L)", "Fixup-style", "zero branches")
#: a run "trains" when its final training accuracy reaches this (chance is 0.1)
TRAINED = 0.5


def _branch(variant: str, L: int) -> tuple[float, float]:
    """``(alpha, weight factor)`` of a variant for L blocks (He weights, sigma_w^2 = 2)."""
    return {
        "unscaled": (1.0, 1.0),
        "1/sqrt(2L)": (1 / math.sqrt(2 * L), 1.0),
        "Fixup-style": (1.0, 1 / math.sqrt(L)),
        "zero branches": (1.0, 0.0),
    }[variant]


def _modify(variant: str, L: int) -> Any:
    """``modify`` for :meth:`Context.train`: every hidden layer of unchanged width a residual
    block with the variant's branch scale, its weights multiplied by the variant's factor."""

    def modify(net: Any, p: Any) -> Any:
        from initlab.network import Network

        alpha, factor = _branch(variant, L)
        sizes = net.sizes
        # a hidden layer that changes the width (the first, when the width is not the
        # input's) stays dense: the engine has no projection
        residual = tuple(
            alpha if l < net.depth - 1 and sizes[l] == sizes[l + 1] else None
            for l in range(net.depth)
        )
        weights = [w.copy() for w in net.weights]
        for w, a in zip(weights, residual, strict=True):
            if a is not None:
                w *= factor
        return Network(
            net.sizes,
            net.activations,
            weights,
            [b.copy() for b in net.biases],
            dict(net.meta, residual_variant=variant),
            residual=residual,
        )

    return modify


def _theory(variant: str, L: int, p0: float) -> list[float]:
    from initlab.theory import residual_stream

    alpha, factor = _branch(variant, L)
    r = residual_stream("relu", L, alpha, sigma_w2=2.0 * factor**2, p0=p0)
    return [v / p0 for v in r.second_moment]


def _config(width: int, depth: int, steps: int, seed: int) -> Any:
    from initlab.config import RunConfig

    return RunConfig(
        dataset="digits",
        hidden=(width,) * depth,
        activation="relu",
        init="he_normal",
        bias_init="zeros",
        optimizer="momentum",
        lr=0.01,
        steps=steps,
        batch_size=64,
        seed=seed,
    )


def _at_init(ctx: Any, depths: list[int], n: int) -> dict[str, Any]:
    """The stream's second moment after every block over the input's, at init."""
    from initlab.diagnostics import LayerStats

    out: dict[str, Any] = {}
    for v in VARIANTS:
        out[v] = {}
        for L in depths:
            cfgs = [_config(64, L, 1, k) for k in range(n)]
            res = ctx.train(
                f"init_{v}_{L}",
                f"residual ReLU, {v}, {L} blocks of 64, at init",
                cfgs,
                modify=_modify(v, L),
                steps=1,
                probes=[LayerStats(every=1, histograms=False, symmetry=False)],
            )
            p0 = res.history.records["layer_stats"]["initial"]["input_second_moment"]
            growth = [[r["a_rms"] ** 2 / p0 for r in at_step(res.history, k, 0)] for k in range(n)]
            out[v][str(L)] = {"growth": growth, "p0": p0, "theory": _theory(v, L, p0)[1:]}
    return out


def _trained(ctx: Any, L: int, n: int) -> dict[str, Any]:
    from initlab.diagnostics import LayerStats

    s = ctx.settings
    width, steps = s.pick(64, 32, 8), s.pick(1000, 300, 20)
    out: dict[str, Any] = {"depth": L, "width": width, "steps": steps}
    for v in VARIANTS:
        cfgs = [_config(width, L, steps, k) for k in range(n)]
        res = ctx.train(
            f"train_{v}",
            f"residual ReLU, {v}, {L} blocks of {width}, trained",
            cfgs,
            modify=_modify(v, L),
            eval_every=steps,
            probes=[LayerStats(every=steps, histograms=False, symmetry=False)],
        )
        acc = res.history.records["train"]["accuracy"][-1]
        out[v] = {
            "accuracy": [float(a) for a in acc],
            "points": res.dataset.n_train,
            "diverged": res.history.diverged_at,
            "branch_weight_change": [_weight_change(res.history, k, steps - 1) for k in range(n)],
        }
    return out


def _weight_change(history: Any, member: int, step: int) -> float | None:
    """The mean relative weight change of ``member``'s hidden layers at ``step``, or None when
    the diagnostics hold no record of it there: training stopped before (every member diverged,
    see "diverged at"), so there is nothing to average."""
    rows = at_step(history, member, step)
    if not rows:
        return None
    return float(np.mean([r["weight_change"] for r in rows]))


_CLAIMS = {
    "unscaled": "grows exponentially with depth",
    "1/sqrt(2L)": "grows far less than unscaled",
    "Fixup-style": "grows far less than unscaled",
    "zero branches": "stays at the input's (1)",
}


def _comparisons(init: dict[str, Any], tr: dict[str, Any], L: int) -> list[Comparison]:
    rows = []
    for v in VARIANTS:
        d = init[v][str(L)]
        r = ci_log([g[-1] for g in d["growth"]])
        th = d["theory"][-1]
        rows.append(
            Comparison(
                f"stream second moment after {L} blocks / input's, {v}",
                f"{_CLAIMS[v]} (theory: {th:.3g})",
                r,
                by_factor(r, th, 1.5) if th != 1 else by_factor(r, 1.0, 1.05),
                "geometric mean over seeds at init against initlab.theory.residual_stream; "
                "reproduced within a factor 1.5 of the theory (1.05 for the zero branches, "
                "which keep the stream exactly); direction only if on the theory's side of 1",
            )
        )
    for v in VARIANTS:
        r = ci_proportion(tr[v]["accuracy"], tr[v]["points"])
        if v == "unscaled":
            verdict = by_threshold(r, TRAINED, 0.9, above=False)
            claim = "fails to train at depth (Fixup, Sec. 2)"
            crit = (
                f"final training accuracy (CI on the logit); reproduced if below {TRAINED} "
                "(chance 0.1); direction only if below 0.9"
            )
        else:
            verdict = by_threshold(r, TRAINED, 0.2)
            claim = "trains"
            crit = (
                f"final training accuracy (CI on the logit); reproduced if at least "
                f"{TRAINED}, direction only if above 0.2"
            )
        rows.append(
            Comparison(f"training accuracy, {v}, {tr['depth']} blocks", claim, r, verdict, crit)
        )
    return rows


def _figure(ctx: Any, init: dict[str, Any], L: int) -> None:
    """The stream's second moment after each block at init, measured and in theory."""
    blocks = list(range(1, L + 1))
    series = {
        v: {
            "x": blocks,
            "mean": np.exp(
                np.mean(np.log(np.maximum(init[v][str(L)]["growth"], 1e-300)), axis=0)
            ).tolist(),
        }
        for v in VARIANTS
    }
    dashed = {v: {"x": blocks, "mean": init[v][str(L)]["theory"]} for v in VARIANTS}
    ctx.figure(
        "stream",
        "residual stream's second moment against depth",
        f"E[A_l^2] / E[X^2] after each of {L} ReLU residual blocks of width 64 at init "
        "(geometric mean over seeds, solid) and the mean-field recursion "
        "(initlab.theory.residual_stream, dashed).",
        lines_figure(
            series,
            xlabel="block",
            ylabel="second moment / input's",
            title="residual stream at init",
            logy=True,
            dashed=dashed,
        ),
    )


def _tables(init: dict[str, Any], tr: dict[str, Any], depths: list[int]) -> list[dict[str, Any]]:
    """The growth at every depth against the theory, and the training table."""
    return [
        table(
            "growth after the last block / input's, by depth (geometric mean; theory)",
            ["variant", "depth", "measured", "theory"],
            [
                [
                    v,
                    d,
                    ci_log([g[-1] for g in init[v][str(d)]["growth"]])["mean"],
                    init[v][str(d)]["theory"][-1],
                ]
                for v in VARIANTS
                for d in depths
            ],
        ),
        table(
            "training",
            ["variant", "final accuracy", "diverged at", "branch weight change"],
            [
                [
                    v,
                    tr[v]["accuracy"],
                    [str(x) for x in tr[v]["diverged"]],
                    tr[v]["branch_weight_change"],
                ]
                for v in VARIANTS
            ],
        ),
    ]


@paper(
    "residual",
    "Residual scaling: the stream's variance and trainability",
    "G. Yang and S. Schoenholz, Mean field residual networks, NeurIPS 2017; A. Radford et "
    "al., GPT-2, 2019 (1/sqrt(N) residual scaling); H. Zhang, Y. Dauphin and T. Ma, Fixup "
    "initialization, ICLR 2019; S. De and S. Smith, SkipInit, NeurIPS 2020; T. Bachlechner "
    "et al., ReZero, 2020",
    "the forward variance of a residual network at init against depth (unscaled: grows "
    "exponentially; scaled or zero-initialised branches: bounded) and which train",
)
def residual(ctx: Any) -> PaperResult:
    s = ctx.settings
    depths = s.pick([4, 8, 16, 32, 64, 128], [4, 16, 64], [2, 4])
    n = s.n_seeds(4, 3, 2)
    init = _at_init(ctx, depths, n)
    L = depths[-1]
    tr = _trained(ctx, s.pick(64, 32, 4), n)
    rows = _comparisons(init, tr, L)
    _figure(ctx, init, L)
    unscaled = ci_log([g[-1] for g in init["unscaled"][str(L)]["growth"]])["mean"]
    return PaperResult(
        name="residual",
        title="Residual scaling: the stream's variance and trainability",
        paper="Yang & Schoenholz 2017; GPT-2 2019; Fixup 2019; SkipInit / ReZero 2020",
        reproduces="stream variance vs depth at init; which variants train",
        setup=(
            "scikit-learn digits (64 standardised pixels), every hidden layer a ReLU "
            "residual block A_l = A_{l-1} + alpha relu(A_{l-1} W_l + b_l) (initlab.network), "
            "he_normal weights, zero biases, softmax output layer (when the width is not the "
            "input's 64, the first hidden layer is a dense layer). Variants: unscaled "
            "(alpha = 1); GPT-2 (alpha = 1/sqrt(2L)); Fixup-style (alpha = 1, W_l scaled by "
            "L^(-1/2)); zero branches (W_l = 0). At init: depths "
            f"{depths}, width 64, {n} seeds. Trained: {tr['depth']} blocks of {tr['width']}, "
            f"SGD momentum 0.9, lr 0.01, batch 64, {tr['steps']} steps."
        ),
        differences=[
            "MLP blocks with one layer per branch on digits instead of convolutional ResNets "
            "or transformers with two-layer branches on ImageNet / CIFAR / text",
            "Fixup scales a branch of m layers by L^(-1/(2m-2)) and zeroes its last layer; "
            "one-layer branches have no last layer after the nonlinearity, so we scale the "
            "weights by L^(-1/2) (Fixup's exponent for m = 2) and add no scalar biases",
            "SkipInit/ReZero start from a zero, trainable scalar after the branch; the "
            "engine's alpha is a constant, so we zero the branch's weights instead. With "
            "ReLU, relu'(0) = 0 (initlab's convention): those branches get no gradient and "
            "never move (see the branch weight change); only the readout learns",
        ],
        comparisons=rows,
        summary=(
            f"After {L} unscaled blocks the stream's second moment is {unscaled:.3g} times "
            "the input's; every variant follows the mean-field recursion (ReLU branches add a "
            "growing mean, so even scaled ones grow, far less). Training "
            "accuracy: "
            + ", ".join(f"{v} {np.mean(tr[v]['accuracy']):.2f}" for v in VARIANTS)
            + "."
        ),
        tables=_tables(init, tr, depths),
        numbers={"init": init, "train": tr},
    )
