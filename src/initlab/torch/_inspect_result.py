"""What :func:`initlab.torch.inspect` returns: :class:`InspectResult`, the per-layer records of
one pass with the verdict, the loss and notes, and its table, report, JSON form and figures.
(The pass itself, and how the records are made, is :mod:`initlab.torch._inspect`.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from initlab._json import jsonable
from initlab.diagnostics import LAYER_COLUMNS, Finding, Verdict, format_layer_stats
from initlab.train import History


def _module_text(r: dict[str, Any]) -> str:
    """The table's module column: the type, and what an attention layer holds."""
    return f"{r['module']} ({r['parts']})" if r.get("parts") else str(r["module"])


@dataclass(frozen=True)
class InspectResult:
    """What :func:`inspect` measured: one record per observed layer (in forward order), the
    verdict's findings, the loss, and notes on what was not measured.

    ``layers`` are the :class:`initlab.diagnostics.LayerStats` records (``a_mean``, ``a_std``,
    ``saturated``, ``dead``, ``distinct_units``, ``dZ_rms``, ``dW_norm``, ``grad_data``, ...)
    plus the layer's qualified ``name`` and ``module`` type; fields a forward-only pass cannot
    measure are None, and so are the update fields (``inspect`` applies no update).
    ``history`` is the same data as a one-step :class:`initlab.train.History`, so
    :func:`initlab.diagnostics.report` and the figures of :mod:`initlab.report.figures` take it.
    ``verdict`` is the two-part :class:`initlab.diagnostics.Verdict` (its sentence, the findings
    at initialization, the boundaries the gradient rules did not cross; no training part: a
    single pass takes no step).
    """

    layers: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]
    loss: float | None
    loss_name: str | None
    mode: str
    history: History
    notes: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default=())
    verdict: Verdict | None = None

    @property
    def gradients(self) -> bool:
        """True when a backward pass was made (a target or a loss was given)."""
        return self.loss is not None

    @property
    def modes(self) -> list[str]:
        """The failure modes found (``["healthy"]`` if none)."""
        return [f.mode for f in self.findings]

    def __getitem__(self, key: int | str) -> dict[str, Any]:
        """A layer's record by position (0-based) or qualified name."""
        if isinstance(key, str):
            for r in self.layers:
                if r["name"] == key:
                    return r
            raise KeyError(f"no layer {key!r}; layers: {', '.join(r['name'] for r in self.layers)}")
        return self.layers[key]

    def table(self) -> str:
        """The per-layer table: mean, std, saturated %, dead %, distinct units, |dW|, dZ RMS and
        grad:data of each layer (``-`` where a figure does not apply or was not measured)."""
        cols = dict(LAYER_COLUMNS)
        columns = [
            ("layer", cols["layer"]),
            ("name", lambda r: r["name"]),
            ("module", _module_text),
            *[(h, cols[h]) for h, _ in LAYER_COLUMNS if h not in ("layer", "update:data")],
            ("grad:data", lambda r: r["grad_data"]),
        ]
        return format_layer_stats(self.layers, columns=columns)

    def report(self) -> str:
        """The table, the loss, the verdict with its evidence, and the notes."""
        lines = []
        if self.verdict is not None:
            lines += [f"verdict: {self.verdict.sentence}", ""]
        lines += [self.table(), ""]
        if self.loss is not None:
            lines.append(f"loss ({self.loss_name}): {self.loss:.6g}")
        lines.append("modes: " + ", ".join(self.modes))
        lines += [f"  - {f.mode}: {f.message}" for f in self.findings]
        if self.verdict is not None and self.verdict.boundaries:
            lines.append("  not judged across: " + "; ".join(self.verdict.boundaries))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (non-finite numbers become strings, as in History)."""
        return jsonable(
            {
                "layers": [dict(r) for r in self.layers],
                "findings": [f.to_dict() for f in self.findings],
                "verdict": None if self.verdict is None else self.verdict.to_dict(),
                "loss": self.loss,
                "loss_name": self.loss_name,
                "mode": self.mode,
                "notes": list(self.notes),
                "skipped": [list(s) for s in self.skipped],
                "edges": self.history.records["layer_stats"]["edges"],
            }
        )

    def write_figures(self, directory: str | Path) -> list[Path]:
        """Write the activation histograms (and, with gradients, the log10 |dZ| histograms) as
        PNG into ``directory``; returns the paths.  Needs matplotlib."""
        from initlab.report.figures import activation_histograms, gradient_histograms, save_png

        if self.layers and self.layers[0].get("a_hist") is None:
            raise ValueError(
                "write_figures: this result has no histograms (inspect was called with "
                "histograms=False); call inspect(..., histograms=True)"
            )
        d = Path(directory)
        paths = [save_png(activation_histograms(self.history), d / "activations.png")]
        if self.gradients:
            paths.append(save_png(gradient_histograms(self.history), d / "gradients.png"))
        return paths
