"""Figures of a run, drawn with matplotlib from recorded numbers.

Each function returns a ``matplotlib.figure.Figure``; :func:`save_png` writes one, and
:func:`write_run_figures` writes the standard set for a run (``initlab train --plot DIR``).
matplotlib is imported lazily with the non-interactive Agg backend; without it a clear
ImportError names the extra to install.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "activation_histograms",
    "cost_curves",
    "decision_boundary",
    "figure_to_png",
    "gradient_histograms",
    "pyplot",
    "save_png",
    "scale_by_depth",
    "sweep_heatmap",
    "sweep_lines",
    "update_ratio_curves",
    "write_run_figures",
]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend; an ImportError naming the extra if it is
    missing."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError('figures need matplotlib: pip install "initlab[report]"') from None
    return plt


def _records(history: Any, member: int) -> dict[int, list[dict[str, Any]]]:
    from initlab.diagnostics import layer_stats

    out: dict[int, list[dict[str, Any]]] = {}
    for r in layer_stats(history, member):
        out.setdefault(r["step"], []).append(r)
    return out


def cost_curves(
    histories: Sequence[Any] | Any,
    labels: Sequence[str] | None = None,
    title: str = "cost",
    members: Sequence[int] | None = None,
) -> Any:
    """Training cost per step (log scale) for several runs or population members; the test
    cost (when recorded by an ``Evaluate`` probe named "test") dashed."""
    plt = pyplot()
    hs = histories if isinstance(histories, list | tuple) else [histories]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    curves = []
    for h in hs:
        ks = members if members is not None else range(h.cost.shape[0])
        for k in ks:
            curves.append((h, k))
    for i, (h, k) in enumerate(curves):
        label = labels[i] if labels and i < len(labels) else f"member {k}"
        line = ax.plot(np.arange(h.cost.shape[1]), h.cost[k], lw=1.4, label=label)[0]
        test = h.records.get("test")
        if test is not None and len(test["step"]):
            ax.plot(test["step"], test["cost"][:, k], ls="--", lw=1, color=line.get_color())
        d = h.diverged_at[k]
        if d is not None:
            ax.axvline(d, color=line.get_color(), ls=":", lw=1)
    ax.set_yscale("log")
    # a run whose cost explodes would squash every other curve: the axis stops at 100x the
    # largest starting cost and says so
    starts = [
        float(h.cost[k, 0]) for h, k in curves if h.cost.shape[1] and np.isfinite(h.cost[k, 0])
    ]
    values = np.concatenate(
        [h.cost[k][np.isfinite(h.cost[k]) & (h.cost[k] > 0)] for h, k in curves]
    )
    if starts and values.size:
        top = 100.0 * max(starts)
        if values.max() > top:
            ax.set_ylim(max(values.min() * 0.5, 1e-300), top)
            title += f" (axis cut at {top:.3g})"
    ax.set_xlabel("step (train cost solid, test cost dashed)")
    ax.set_ylabel("cost")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    if len(curves) > 1 or labels:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _hist_panel(ax: Any, edges: np.ndarray, counts: Sequence[int], color: str, label: str) -> None:
    widths = np.diff(edges)
    total = max(sum(counts), 1)
    ax.bar(
        edges[:-1],
        np.asarray(counts) / total,
        width=widths,
        align="edge",
        color=color,
        alpha=0.6,
        label=label,
    )


def activation_histograms(history: Any, member: int = 0, title: str = "") -> Any:
    """Per-layer histograms of the hidden activations at the first and the last recorded step
    (fixed bins per layer, so the two are comparable)."""
    from initlab.diagnostics import hist_edges

    plt = pyplot()
    all_edges = hist_edges(history, member)
    steps = _records(history, member)
    first, last = min(steps), max(steps)
    layers = [r for r in steps[first] if r["hidden"]] or steps[first]
    fig, axes = plt.subplots(1, len(layers), figsize=(2.6 * len(layers), 2.6), squeeze=False)
    for ax, r0 in zip(axes[0], layers, strict=False):
        r1 = next(r for r in steps[last] if r["layer"] == r0["layer"])
        edges = np.asarray(all_edges[f"a{r0['layer']}"])
        _hist_panel(ax, edges, r0["a_hist"], "tab:blue", f"step {first}")
        if last != first:
            _hist_panel(ax, edges, r1["a_hist"], "tab:orange", f"step {last}")
        ax.set_title(f"layer {r0['layer']} ({r0['activation']})", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("fraction")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title or "activations per layer", fontsize=10)
    fig.tight_layout()
    return fig


def gradient_histograms(
    history: Any, member: int = 0, step: int | None = None, title: str = ""
) -> Any:
    """Per-layer histograms of ``log10 |dZ|`` (the back-propagated gradient) at one recorded
    step (default the first); exact zeros are counted in the title of each panel."""
    from initlab.diagnostics import hist_edges

    plt = pyplot()
    steps = _records(history, member)
    s = min(steps) if step is None else step
    rows = steps[s]
    edges = np.asarray(hist_edges(history, member)["grad_log10"])
    fig, axes = plt.subplots(
        1, len(rows), figsize=(2.4 * len(rows), 2.6), squeeze=False, sharex=True
    )
    for ax, r in zip(axes[0], rows, strict=False):
        h = r["dZ_hist"]
        _hist_panel(ax, edges, h["counts"], "tab:purple", "")
        zeros = f", {h['zeros']} zeros" if h["zeros"] else ""
        ax.set_title(f"layer {r['layer']}{zeros}", fontsize=9)
        ax.set_xlabel("log10 |dZ|", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title or f"gradients per layer at step {s}", fontsize=10)
    fig.tight_layout()
    return fig


def update_ratio_curves(history: Any, member: int = 0, title: str = "") -> Any:
    """update:data (std of the applied update / std of W) per layer over time, log scale, with
    the healthy 1e-3 guide line."""
    from initlab.diagnostics import THRESHOLDS

    plt = pyplot()
    steps = _records(history, member)
    order = sorted(steps)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for layer in sorted({r["layer"] for r in steps[order[0]]}):
        ys = [next(r for r in steps[s] if r["layer"] == layer)["update_data"] for s in order]
        ax.plot(order, ys, marker=".", lw=1.2, label=f"layer {layer}")
    ax.axhline(THRESHOLDS.healthy_update_data, color="k", ls="--", lw=1, label="1e-3 guide")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("update : data")
    ax.set_title(title or "update:data per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def scale_by_depth(
    series: dict[str, Sequence[float]],
    ylabel: str = "std of activations",
    title: str = "scale by depth",
    predicted: dict[str, Sequence[float]] | None = None,
) -> Any:
    """One line per scheme of a per-layer quantity (e.g. activation std at step 0) against the
    layer index, log scale; ``predicted`` values (theory) are drawn dashed in the same colour."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, ys in series.items():
        xs = np.arange(1, len(ys) + 1)
        line = ax.plot(xs, ys, marker="o", ms=4, lw=1.4, label=name, zorder=2)[0]
        if predicted and name in predicted:
            p = predicted[name]
            # drawn above the measured line, with white under the dashes, so that a
            # prediction lying on the measurement stays visible
            px = np.arange(1, len(p) + 1)
            ax.plot(px, p, ls="-", lw=3.2, color="white", alpha=0.9, zorder=3)
            ax.plot(px, p, ls=(0, (4, 2)), lw=1.6, color=line.get_color(), zorder=4)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    ax.set_title(title + (" (dashed: predicted)" if predicted else ""), fontsize=10)
    ax.grid(alpha=0.3, which="both")
    if predicted:
        from matplotlib.lines import Line2D

        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="0.3", ls=(0, (4, 2)), lw=1.6))
        labels.append("predicted (theory)")
        ax.legend(handles, labels, fontsize=7)
    else:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def decision_boundary(
    net: Any, dataset: Any, member: int = 0, title: str = "", steps: int = 150
) -> Any:
    """The network's predicted class over the plane, with the training points (2-D data)."""
    from initlab.data import decision_grid
    from initlab.network import predict

    if dataset.n_features != 2:
        raise ValueError(
            f"a decision boundary needs 2-D data; {dataset.name!r} has {dataset.n_features} "
            "features"
        )
    plt = pyplot()
    X, y = dataset.X_train, dataset.y_train
    xx, yy, pts = decision_grid(X, steps=steps)
    with np.errstate(all="ignore"):
        out = predict(net.member(member), pts.astype(net.dtype))[0]
    if out.shape[-1] == 1:
        zz = out[:, 0].reshape(xx.shape)
        levels = np.linspace(0, 1, 11)
    else:
        zz = out.argmax(axis=-1).reshape(xx.shape).astype(float)
        levels = np.arange(out.shape[-1] + 1) - 0.5
    fig, ax = plt.subplots(figsize=(5.0, 4.0))
    # a fixed colour scale (0 to 1 for one output): a network that predicts 0.5 everywhere
    # shows as one even tone next to its colour bar, not as a blank square
    cs = ax.contourf(xx, yy, np.nan_to_num(zz, nan=0.5), levels=levels, cmap="RdBu_r")
    if out.shape[-1] == 1:
        ax.contour(xx, yy, np.nan_to_num(zz, nan=0.5), levels=[0.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", s=10, edgecolors="k", linewidths=0.3)
    bar = fig.colorbar(cs, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("predicted P(class 1)" if out.shape[-1] == 1 else "predicted class", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    lo, hi = float(np.nanmin(zz)), float(np.nanmax(zz))
    ax.set_title(title or "decision boundary", fontsize=9)
    if out.shape[-1] == 1:
        ax.set_xlabel(f"output ranges {lo:.3g} to {hi:.3g}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def figure_to_png(fig: Any, dpi: int = 100) -> bytes:
    """The PNG bytes of a figure (the figure is closed)."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def save_png(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Write a figure as PNG (creating the folder) and close it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(figure_to_png(fig, dpi))
    return p


def write_run_figures(
    result: Any, directory: str | Path, member: int = 0, skipped: list[str] | None = None
) -> list[Path]:
    """The standard figures of a run (a :class:`initlab.config.RunResult` trained with the
    ``LayerStats`` probe): cost, activation and gradient histograms, update:data, the
    pre-activation variance by layer with the mean-field prediction, and the decision boundary
    for 2-D data.  Returns the paths written.  With a ``skipped`` list, a figure that cannot be
    drawn (a diverged run has nothing finite to put on a log scale) is left out and named
    there with the reason, and the others are still drawn."""
    from initlab.diagnostics import predicted_variance

    d = Path(directory)
    h = result.history

    def variance() -> Any:
        pv = predicted_variance(h, member)
        pred = None if pv["predicted_q"] is None else {"Var(Z) measured": pv["predicted_q"]}
        return scale_by_depth(
            {"Var(Z) measured": pv["measured_q"]},
            ylabel="Var(Z) at step 0",
            title="pre-activation variance by layer",
            predicted=pred,
        )

    figures = {
        "cost.png": lambda: cost_curves(h, [result.configs[member].label()], members=[member]),
        "activations.png": lambda: activation_histograms(h, member),
        "gradients.png": lambda: gradient_histograms(h, member),
        "update_ratio.png": lambda: update_ratio_curves(h, member),
        "variance_by_depth.png": variance,
    }
    if result.dataset.n_features == 2:
        figures["decision_boundary.png"] = lambda: decision_boundary(
            result.net, result.dataset, member
        )
    paths = []
    for name, draw in figures.items():
        try:
            paths.append(save_png(draw(), d / name))
        except (ValueError, TypeError, ArithmeticError) as exc:
            if skipped is None:
                raise
            import matplotlib.pyplot as plt

            plt.close("all")
            skipped.append(f"{name} ({exc})")
    return paths


def sweep_heatmap(grid: dict[str, Any], title: str = "", log: bool = False) -> Any:
    """A heatmap of one summary over two swept axes, from
    :meth:`initlab.sweep.SweepResults.grid`: numbers are coloured (log scale with ``log``) and
    written in each cell; a verdict grid colours each failure mode; empty cells are grey."""
    plt = pyplot()
    value, xl, yl = grid["value"], grid["x_labels"], grid["y_labels"]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(xl) + 2.2), max(3.0, 0.4 * len(yl) + 1.6)))
    ax.set_facecolor("#d9d9d9")
    if value.dtype == object:
        modes = sorted({v for v in value.ravel() if v is not None})
        codes = np.array([[np.nan if v is None else modes.index(v) for v in row] for row in value])
        cmap = plt.get_cmap("tab10", max(len(modes), 1))
        ax.imshow(codes, cmap=cmap, vmin=-0.5, vmax=max(len(modes), 1) - 0.5, aspect="auto")
        handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in range(len(modes))]
        ax.legend(handles, modes, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        from matplotlib.colors import LogNorm

        finite = value[np.isfinite(value)]
        norm = LogNorm() if log and finite.size and finite.min() > 0 else None
        im = ax.imshow(np.ma.masked_invalid(value), cmap="viridis", norm=norm, aspect="auto")
        fig.colorbar(im, ax=ax, label=grid["metric"])
        if len(xl) * len(yl) <= 150:
            for (i, j), v in np.ndenumerate(value):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=6, color="w")
    ax.set_xticks(range(len(xl)), xl, rotation=45 if len(xl) > 8 else 0, fontsize=7)
    ax.set_yticks(range(len(yl)), yl, fontsize=7)
    ax.set_xlabel(grid.get("x_title", grid["x_axis"]), fontsize=8)
    ax.set_ylabel(grid.get("y_title", grid["y_axis"]), fontsize=8)
    ax.set_title(title or f"{grid['metric']} by {grid['x_axis']} and {grid['y_axis']}", fontsize=10)
    fig.tight_layout()
    return fig


def sweep_lines(band: dict[str, Any], title: str = "", log: bool = False) -> Any:
    """One line per group of a summary along a swept axis with its confidence band over the
    seeds, from :meth:`initlab.sweep.SweepResults.band`."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    xs = np.arange(len(band["x_labels"]))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in band["x"])
    if numeric:
        xs = np.asarray(band["x"], dtype=float)
    for label, line in band["lines"].items():
        drawn = ax.plot(xs, line["mean"], marker="o", ms=3, lw=1.4, label=label)[0]
        ax.fill_between(xs, line["low"], line["high"], color=drawn.get_color(), alpha=0.2, lw=0)
    if not numeric:
        ax.set_xticks(xs, band["x_labels"], rotation=45 if len(xs) > 8 else 0, fontsize=7)
    elif xs.size and xs.min() > 0 and xs.max() >= 100 * xs.min():
        ax.set_xscale("log")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(band.get("x_title", band["x_axis"]), fontsize=8)
    ax.set_ylabel(band["metric"])
    ax.set_title(
        title or f"{band['metric']}: mean and {band['level']:.0%} band over {band['over']}",
        fontsize=10,
    )
    ax.grid(alpha=0.3, which="both")
    if len(band["lines"]) > 1:
        ax.legend(fontsize=7, title=band.get("legend_title") or None, title_fontsize=7)
    fig.tight_layout()
    return fig
