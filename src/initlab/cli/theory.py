"""``initlab theory``: mean-field predictions before training.

Two forms:

* ``initlab theory --activation tanh --sigma-b 0.05``: the edge of chaos (critical
  ``sigma_w^2``), and ``q*``, ``chi_1``, the phase, ``c*`` and the depth scales at the
  ``sigma_w^2`` of the common schemes (or ``--sigma-w2``); ``--plot DIR`` writes the phase
  diagram.
* ``initlab theory --layers 784,300,300,300,10 --activation tanh --init xavier_normal``: the
  predicted per-layer forward and backward variances and the verdict they imply; ``--plot DIR``
  writes them as a figure.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from initlab._json import dumps, jsonable, restore

ORDER = 60

# The schemes whose sigma_w^2 = fan_in * Var(W) (for a square layer) make the default rows.
_REFERENCE_SCHEMES = ("lecun_normal", "xavier_normal", "he_normal", "torch_default")
_SQUARE = 512  # the width of the square layer used to read a scheme's sigma_w^2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "theory",
        help="predict signal propagation (mean field): edge of chaos, per-layer variances",
        description="Mean-field predictions before anything is trained.  Without --layers: "
        "the edge of chaos and the mean-field quantities for an activation and bias std.  "
        "With --layers: the predicted per-layer forward and backward variances of that "
        "network under --init, and the verdict they imply.",
    )
    p.add_argument(
        "--activation", default="relu", help="activation, e.g. tanh, relu, leaky_relu:0.2, gelu"
    )
    p.add_argument(
        "--sigma-b",
        type=float,
        default=0.0,
        help="standard deviation of the biases (sigma_b; default 0)",
    )
    p.add_argument(
        "--sigma-w2",
        help="comma-separated sigma_w^2 = fan_in * Var(W) values to tabulate "
        "(default: those of lecun, xavier, he, torch_default and the recommended schemes)",
    )
    p.add_argument(
        "--input-variance",
        type=float,
        default=1.0,
        help="mean square of one input feature; the start q0 of the variance recursion (default 1)",
    )
    p.add_argument(
        "--layers", help="layer sizes, input first, e.g. 784,300,300,300,10 (network form)"
    )
    p.add_argument(
        "--init",
        help="weight scheme for every layer, e.g. xavier_normal or random_normal:std=0.5 "
        "(default: the first scheme recommended for the activation)",
    )
    p.add_argument(
        "--output-activation",
        default="linear",
        help="activation of the output layer (default linear; it does not enter the "
        "prediction, which stops at the output pre-activations)",
    )
    p.add_argument("--plot", metavar="DIR", help="write PNG figure(s) to this folder")
    p.add_argument("--grid", type=int, default=31, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- parsing


def _sizes(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(
            f"--layers must be comma-separated integers such as 784,300,10, got {text!r}"
        ) from None


def _floats(text: str, flag: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise ValueError(f"{flag} must list at least one number, got {text!r}")
    return values


def _sigma_b2(sigma_b: float) -> float:
    if not math.isfinite(sigma_b) or sigma_b < 0:
        raise ValueError(
            f"--sigma-b must be a finite number >= 0 (a standard deviation), got {sigma_b}"
        )
    return sigma_b * sigma_b


def _default_init(activation: str) -> str:
    from initlab import schemes as S
    from initlab.theory import as_activation

    act = as_activation(activation)
    try:
        return str(S.recommend(act.name, act.param)[0])
    except ValueError:
        return "lecun_normal"


def _reference_rows(activation: str) -> list[tuple[float, str]]:
    """``(sigma_w^2, label)`` of the reference and recommended schemes for a square layer,
    equal values merged; read from the schemes' own laws."""
    from initlab import schemes as S
    from initlab.theory import as_activation

    act = as_activation(activation)
    names = list(_REFERENCE_SCHEMES)
    try:
        names += [str(s) for s in S.recommend(act.name, act.param)]
    except ValueError:
        pass
    merged: dict[float, list[str]] = {}
    for name in names:
        law = S.distribution(S.parse_scheme(name), _SQUARE, _SQUARE)
        if law is None or law.mean != 0:
            continue
        key = round(_SQUARE * law.variance, 12)
        if name not in merged.setdefault(key, []):
            merged[key].append(name)
    return [(k, ", ".join(v)) for k, v in sorted(merged.items())]


# --------------------------------------------------------------------------- mean-field form


def _mean_field_report(args: argparse.Namespace) -> dict[str, Any]:
    from initlab import theory as T

    act = T.as_activation(args.activation)
    sb2 = _sigma_b2(args.sigma_b)
    crit = T.critical_point(act, sb2)
    if args.sigma_w2:
        rows = [(v, "--sigma-w2") for v in _floats(args.sigma_w2, "--sigma-w2")]
    else:
        rows = _reference_rows(act.spec)
    if math.isfinite(crit.sigma_w2):
        rows.append((crit.sigma_w2, "edge of chaos"))
    rows.sort(key=lambda r: r[0])
    points = []
    for sw2, label in rows:
        d = T.mean_field(act, sw2, sb2, q0=args.input_variance).to_dict()
        d["from"] = label
        points.append(d)
    return {
        "activation": act.spec,
        "sigma_b": args.sigma_b,
        "sigma_b2": sb2,
        "q0": args.input_variance,
        "critical": {
            "sigma_w2": jsonable(crit.sigma_w2),
            "q_star": jsonable(crit.q_star),
        },
        "points": points,
    }


def _num(value: Any) -> Any:
    """Back from the JSON convention's strings to floats for the table."""
    return restore(value)


def _print_mean_field(report: dict[str, Any]) -> None:
    from initlab._text import fmt, format_table

    print(
        f"Mean-field theory for {report['activation']}: sigma_b = {fmt(report['sigma_b'])} "
        f"(sigma_b^2 = {fmt(report['sigma_b2'])}), input variance q0 = {fmt(report['q0'])}\n"
    )
    crit = report["critical"]
    sw2 = _num(crit["sigma_w2"])
    if math.isnan(sw2):
        print("Edge of chaos: none found (chi_1 never reaches 1 along the fixed points)\n")
    else:
        q = _num(crit["q_star"])
        where = "every q is a fixed point there" if math.isnan(q) else f"at q* = {fmt(q, 6)}"
        print(
            f"Edge of chaos (chi_1 = 1): critical sigma_w^2 = {fmt(sw2, 6)}, i.e. "
            f"Var(W) = {fmt(sw2, 6)} / fan_in, {where}\n"
        )
    headers = ["sigma_w^2", "from", "q*", "chi_1", "phase", "c*", "chi_c", "xi_q", "xi_c"]
    rows = [
        (
            _num(p["sigma_w2"]),
            p["from"],
            _num(p["q_star"]),
            _num(p["chi_1"]),
            p["phase"],
            _num(p["c_star"]),
            _num(p["chi_c"]),
            _num(p["xi_q"]),
            _num(p["xi_c"]),
        )
        for p in report["points"]
    ]
    print(format_table(headers, rows))
    print(
        "\nchi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]: < 1 ordered (inputs' correlations -> 1, "
        "gradients vanish), > 1 chaotic (inputs decorrelate, gradients explode)."
        "\nxi_q, xi_c: layers over which the variance and the correlation of two inputs "
        "settle (Schoenholz et al. 2017); inf at the edge of chaos."
        "\nfrom: the sigma_w^2 a scheme gives a square layer (fan_in = fan_out)."
        "\nq* is reached from q0 by q_l = sigma_w^2 E[phi(sqrt(q_{l-1}) z)^2] + sigma_b^2 "
        "(inf: it diverges)."
    )
    for p in report["points"]:
        if p["from"] == "edge of chaos" and p["phase"] != "critical":
            print(
                f"note: from q0 = {fmt(report['q0'])} the variance reaches another fixed point "
                f"(q* = {fmt(_num(p['q_star']))}); the edge of chaos needs inputs whose "
                f"variance is in the basin of q* = {fmt(_num(crit['q_star']))}."
            )


def _phase_plot(report: dict[str, Any], folder: Path, grid: int) -> Path:
    import numpy as np

    from initlab import theory as T

    plt = _pyplot()
    act = report["activation"]
    sb2_now = report["sigma_b2"]
    b_max = max(0.25, 2.0 * sb2_now)
    b = np.linspace(0.0, b_max, max(grid * 2 // 3, 3))
    ends = [T.critical_sigma_w2(act, v) for v in (0.0, b_max)]
    finite = [e for e in ends if math.isfinite(e)] or [1.0]
    w = np.linspace(0.0, 2.0 * max(finite), grid + 1)[1:]
    diagram = T.phase_diagram(act, w, b, q0=report["q0"])
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.log2(diagram.chi_1)
    fig, ax = plt.subplots(figsize=(7, 5))
    mesh = ax.pcolormesh(
        diagram.sigma_w2,
        diagram.sigma_b2,
        np.ma.masked_invalid(colour),
        cmap="RdBu_r",
        vmin=-1.0,
        vmax=1.0,
        shading="auto",
    )
    fig.colorbar(mesh, ax=ax, label="log2 chi_1  (< 0 ordered, > 0 chaotic)")
    fine = b_max * np.linspace(0.0, 1.0, 61) ** 2  # the boundary bends most near sigma_b = 0
    edge = [T.critical_sigma_w2(act, float(v)) for v in fine]
    ax.plot(edge, fine, color="black", lw=2, label="chi_1 = 1")
    crit = _num(report["critical"]["sigma_w2"])
    if math.isfinite(crit):
        ax.plot([crit], [sb2_now], "o", color="gold", mec="black", label="critical point")
    ax.axhline(sb2_now, color="black", lw=0.8, ls=":")
    ax.set_xlabel("sigma_w^2 = fan_in * Var(W)")
    ax.set_ylabel("sigma_b^2 = Var(b)")
    ax.set_title(f"Order-to-chaos phase diagram, {act} (q0 = {report['q0']:g})")
    ax.set_xlim(0.0, float(w[-1]))
    ax.set_ylim(0.0, b_max)
    ax.legend(loc="upper left")
    path = folder / f"theory_phase_{_slug(act)}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- network form


def _layers_plot(result: Any, title: str, folder: Path) -> Path:
    plt = _pyplot()
    layers = [r.layer for r in result.layers]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.semilogy([0, *layers], [result.input_variance, *result.q_forward], "o-", label="Var(Z)")
    ax1.semilogy(layers, result.second_moment, "s--", label="E[A^2]")
    ax1.set_xticks([0, *layers])
    ax1.set_xlabel("layer (0 = input: its mean square)")
    ax1.set_title("forward")
    ax1.legend()
    ax2.semilogy(layers, result.grad_norm2, "o-", label="|dZ|^2 per example")
    ax2.semilogy(layers, result.grad_variance, "s--", label="Var(dZ) per unit")
    ax2.semilogy(layers, result.weight_grad_variance, "^:", label="Var(dW)")
    ax2.set_xticks(layers)
    ax2.set_xlabel("layer")
    ax2.set_title("backward")
    ax2.legend()
    fig.suptitle(f"{title}: {result.verdict}")
    fig.tight_layout()
    path = folder / "theory_layers.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _network(args: argparse.Namespace) -> tuple[Any, str]:
    from initlab import theory as T

    sizes = _sizes(args.layers)
    init = args.init or _default_init(args.activation)
    result = T.predict_network(
        sizes,
        args.activation,
        init,
        _sigma_b2(args.sigma_b),
        args.input_variance,
        output_activation=args.output_activation,
    )
    title = (
        f"{'-'.join(map(str, sizes))}, {T.as_activation(args.activation).spec} hidden, "
        f"{result.layers[-1].activation} output, init {init}"
    )
    return result, title


# --------------------------------------------------------------------------- common


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError(
            "--plot needs matplotlib, which is not installed; install it with "
            "pip install 'initlab[report]'"
        ) from None
    return plt


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def _folder(text: str) -> Path:
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--plot must be a folder, but {str(folder)!r} is a file")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run(args: argparse.Namespace) -> int:
    from initlab._text import fmt

    if args.grid < 3:
        raise ValueError(f"--grid must be an integer >= 3, got {args.grid}")
    folder = _folder(args.plot) if args.plot else None
    if args.layers is None:
        report = _mean_field_report(args)
        if args.json:
            print(dumps(report, indent=2))
        else:
            _print_mean_field(report)
        if folder is not None:
            path = _phase_plot(report, folder, args.grid)
            if not args.json:
                print(f"\nwrote {path}")
        return 0
    if args.sigma_w2:
        raise ValueError("--sigma-w2 is for the mean-field form; with --layers use --init")
    result, title = _network(args)
    if args.json:
        print(dumps(result.to_dict(), indent=2))
    else:
        print(f"Predicted signal propagation before training (mean field): {title}")
        print(
            f"input variance {fmt(result.input_variance)}, "
            f"sigma_b^2 = {fmt(_sigma_b2(args.sigma_b))}; Var(dZ) of the output layer set to 1\n"
        )
        print(result.format_table())
        print()
        print(result.summary())
    if folder is not None:
        path = _layers_plot(result, title, folder)
        if not args.json:
            print(f"\nwrote {path}")
    return 0
