"""Reading the records: the mean-field prediction next to the measurement, the per-layer table
and the text report (tables at the first and last record, then the two-part verdict)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from initlab._text import format_table
from initlab.diagnostics.records import by_step, layer_stats

__all__ = ["LAYER_COLUMNS", "format_layer_stats", "predicted_variance", "report"]


def predicted_variance(history: Any, member: int = 0) -> dict[str, Any]:
    """The mean-field prediction (:mod:`initlab.theory`) for member ``member``'s network at
    initialization, next to what was measured at the first record.

    Returns ``{"layers", "measured_q", "predicted_q", "measured_grad", "predicted_grad",
    "note"}``: ``q`` is ``Var(Z_l)``, ``grad`` is ``Var(dZ_l)`` with the prediction anchored at
    the measured output layer (the theory fixes only ratios backward).  The input variance is
    the measured mean of ``X^2``.  Where the theory does not apply (a constant or non-random
    scheme, a non-zero mean) the predicted lists are None and ``note`` says why."""
    from initlab.schemes import distribution, parse_scheme
    from initlab.theory import predict_network

    steps = by_step(layer_stats(history, member))
    first = steps[min(steps)]
    init = history.records["layer_stats"].get("initial", {})
    out: dict[str, Any] = {
        "layers": [r.layer for r in first],
        "measured_q": [None if r.z_std is None else r.z_std**2 for r in first],
        "measured_grad": [None if r.dZ_rms is None else r.dZ_rms**2 for r in first],
        "predicted_q": None,
        "predicted_grad": None,
        "note": "",
    }
    meta = history.meta
    try:
        sizes = list(meta["sizes"])
        acts = list(meta["activations"])
        scheme = meta["weight_init"][member]
        bias = parse_scheme(meta["bias_init"][member])
        bias_var = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            d = distribution(bias, n_in, n_out)
            if d is None or d.mean != 0:
                raise ValueError(f"bias scheme {bias} has no zero-mean law")
            bias_var.append(d.variance)
        pred = predict_network(
            sizes,
            acts[:-1],
            scheme,
            bias_variance=bias_var,
            input_variance=init.get("input_second_moment", 1.0),
            output_activation=acts[-1] if acts[-1] != "softmax" else "linear",
            output_grad_variance=out["measured_grad"][-1] or 1.0,
        )
    except (KeyError, ValueError, TypeError) as exc:
        out["note"] = f"no mean-field prediction: {exc}"
        return out
    out["predicted_q"] = list(pred.q_forward)
    out["predicted_grad"] = list(pred.grad_variance)
    out["note"] = "mean-field prediction (initlab.theory) for the scheme's variance"
    return out


# --------------------------------------------------------------------------------- report


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


#: The columns of the per-layer table: header and how to read it from a record.
LAYER_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("layer", lambda r: r["layer"]),
    ("units", lambda r: r["units"]),
    ("act", lambda r: r["activation"]),
    ("mean", lambda r: r["a_mean"]),
    ("std", lambda r: r["a_std"]),
    ("sat %", lambda r: _pct(r["saturated"])),
    ("dead %", lambda r: _pct(r["dead"])),
    ("distinct", lambda r: r.get("distinct_units")),
    ("|dW|", lambda r: r["dW_norm"]),
    ("dZ rms", lambda r: r["dZ_rms"]),
    ("update:data", lambda r: r["update_data"]),
)


def format_layer_stats(
    rows: Sequence[dict[str, Any]],
    prediction: dict[str, Any] | None = None,
    columns: Sequence[tuple[str, Any]] = LAYER_COLUMNS,
) -> str:
    """A text table of per-layer records (one recorded step), pandas-free: by default layer,
    units, activation, mean, std, saturated %, dead %, distinct units, |dW|, dZ RMS and
    update:data; with ``prediction`` (from :func:`predicted_variance`) the measured and
    predicted Var(Z) and Var(dZ) too.  ``columns`` are ``(header, record -> value)`` pairs."""
    headers = [h for h, _ in columns]
    with_pred = prediction is not None and prediction.get("predicted_q") is not None
    if with_pred:
        headers += ["Var(Z)", "predicted", "Var(dZ)", "predicted"]
    out = []
    for i, r in enumerate(rows):
        row = [get(r) for _, get in columns]
        if with_pred:
            row += [
                prediction["measured_q"][i],
                prediction["predicted_q"][i],
                prediction["measured_grad"][i],
                prediction["predicted_grad"][i],
            ]
        out.append(tuple(row))
    return format_table(headers, out)


def report(result: Any, member: int = 0, reference: Any = None) -> str:
    """Text report of a run (a :class:`initlab.config.RunResult` or a History): the two-part
    verdict's sentence first, the per-layer table at the first and the last recorded step, then
    both parts of the verdict with their evidence."""
    from initlab.diagnostics.verdict import judge

    history = result.history if hasattr(result, "history") else result
    steps = by_step(layer_stats(history, member))
    v = judge(history, member, reference)
    lines = [f"verdict: {v.sentence}", ""]
    first, last = min(steps), max(steps)
    prediction = predicted_variance(history, member) if history.meta.get("sizes") else None
    lines.append(f"per-layer statistics at step {first} (initialization):")
    lines.append(format_layer_stats(steps[first], prediction))
    if prediction is not None and prediction["predicted_q"] is not None:
        lines.append("(predicted: mean-field theory for the init scheme, initlab.theory)")
    if last != first:
        lines.append("")
        lines.append(f"per-layer statistics at step {last} (end):")
        lines.append(format_layer_stats(steps[last]))
    lines.append("")
    lines.append("modes: " + ", ".join(v.modes))
    lines += v.lines()[1:]
    return "\n".join(lines)
