"""The typed per-layer record: the one shape the verdict rules, the study, the web page and the
torch adapter read.

:class:`LayerRecord` holds what :class:`initlab.diagnostics.LayerStats` measured for one layer of
one population member at one step.  It is stored as plain JSON data (:meth:`LayerRecord.to_dict`,
what a History and the run store keep) and read back typed (:func:`layer_stats`,
:meth:`LayerRecord.from_dict`).  Indexing by field name (``r["dZ_norm"]``) reads the same field as
the attribute, for readers that handle the JSON form and the typed form alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LayerRecord", "by_step", "layer_stats", "records_of"]


@dataclass(frozen=True)
class LayerRecord:
    """What was measured for one layer ``layer`` (1-based, forward order) of member ``member``
    at step ``step``.  A figure that does not apply, or was not measured (gradients in a
    forward-only pass, updates in a one-pass inspection), is None.

    Identity and structure:

    * ``units``: the layer's units (dense outputs; conv output channels); ``activation``: the
      activation's spec text (``"unknown"`` when not known from the model's structure);
      ``hidden``: False for the output layer (its gradient is set by the loss);
    * ``kind``: ``"dense"``, ``"conv"`` or ``"conv_transpose"``; ``fan_in``: inputs per unit
      as the weight matrix lays them out (``in/groups * prod(kernel)`` for conv);
      ``connections``: inputs each output *value* is connected to on average (``fan_in``, but
      ``fan_in / prod(stride)`` for a transposed conv);
    * ``boundary``: what lies between this layer's activation and the next observed layer's
      input; None when the relation is known (an elementwise activation, or nothing), else its
      name (``"AdaptiveAvgPool2d"``, ``"LayerNorm"``, ``"functional operation"``, ...): the
      gradient-flow rules do not compare across it.  ``name``/``module``: the torch layer's
      qualified name and type (None for the NumPy engine);
    * ``cost``: the member's cost at this step; ``active``: False once the member stopped.

    Forward signal (``Z`` pre-activations, ``A`` activations): ``z_mean``, ``z_std``,
    ``a_mean``, ``a_std``, ``a_rms``; ``a_zero`` the fraction of exact zeros; ``saturated`` the
    fraction of saturated tanh/sigmoid activations; ``dead`` the fraction of ReLU units that
    output 0 for every example.

    Backward: ``dZ_norm``, ``dZ_rms``, ``dA_norm``, ``dA_rms`` (gradient of the mean cost with
    respect to ``Z``, ``A``: Frobenius norm and RMS), ``dW_norm``, ``dW_std``, ``db_norm``.

    Weights and updates: ``w_mean``, ``w_std``; ``update_std`` (std of the applied update);
    ``grad_data = std(dW) / std(W)``; ``update_data = std(u) / std(W)`` and its log10;
    ``weight_change = |W - W_0| / |W_0|`` since the first record (absolute when ``W_0 = 0``).

    Symmetry (hidden layers): ``distinct_units`` (units that coincide count as one),
    ``max_cosine`` between two units' incoming weights, ``effective_width``
    ``tr(C)^2 / |C|_F^2`` of ``C = A^T A / m``.

    Histograms (when recorded): ``z_hist``, ``a_hist`` (counts on the fixed bins of
    :func:`initlab.diagnostics.hist_edges`), ``a_hist_outside`` (below, above), ``dZ_hist`` and
    ``dW_hist`` (log10 |g| counts, with ``below``/``above``/``zeros``).
    """

    step: int
    member: int
    layer: int
    units: int
    activation: str
    hidden: bool
    cost: float | None = None
    active: bool = True
    kind: str = "dense"
    fan_in: int | None = None
    connections: float | None = None
    boundary: str | None = None
    name: str | None = None
    module: str | None = None
    z_mean: float | None = None
    z_std: float | None = None
    a_mean: float | None = None
    a_std: float | None = None
    a_rms: float | None = None
    a_zero: float | None = None
    saturated: float | None = None
    dead: float | None = None
    dZ_norm: float | None = None
    dZ_rms: float | None = None
    dA_norm: float | None = None
    dA_rms: float | None = None
    dW_norm: float | None = None
    dW_std: float | None = None
    db_norm: float | None = None
    w_mean: float | None = None
    w_std: float | None = None
    update_std: float | None = None
    grad_data: float | None = None
    update_data: float | None = None
    log10_update_data: float | None = None
    weight_change: float | None = None
    distinct_units: int | None = None
    max_cosine: float | None = None
    effective_width: float | None = None
    z_hist: list[int] | None = None
    a_hist: list[int] | None = None
    a_hist_outside: list[int] | None = None
    dZ_hist: dict[str, Any] | None = None
    dW_hist: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field by name (``extra``'s keys at the top level)."""
        out = {f: getattr(self, f) for f in _FIELDS}
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LayerRecord:
        """A record from its JSON form; keys that are not fields are kept in ``extra``."""
        if isinstance(d, LayerRecord):
            return d
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise ValueError(
                f"a per-layer record needs the fields {', '.join(_REQUIRED)}; this one lacks "
                f"{', '.join(missing)} (it has {', '.join(sorted(d))})"
            )
        known = {k: v for k, v in d.items() if k in _FIELD_SET}
        extra = {k: v for k, v in d.items() if k not in _FIELD_SET}
        return cls(**known, extra=extra)

    def replace(self, **changes: Any) -> LayerRecord:
        """A copy with ``changes`` (keywords of the fields)."""
        return dataclasses.replace(self, **changes)

    def __getitem__(self, key: str) -> Any:
        if key in _FIELD_SET:
            return getattr(self, key)
        if key in self.extra:
            return self.extra[key]
        raise KeyError(f"a LayerRecord has no field {key!r}")

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in _FIELD_SET or key in self.extra


_FIELDS = tuple(f.name for f in dataclasses.fields(LayerRecord) if f.name != "extra")
_FIELD_SET = frozenset(_FIELDS)
_REQUIRED = ("step", "member", "layer", "units", "activation", "hidden")


def records_of(rows: Iterable[Mapping[str, Any] | LayerRecord]) -> list[LayerRecord]:
    """Typed records from JSON-form (or typed) rows."""
    return [LayerRecord.from_dict(r) for r in rows]


def layer_stats(history: Any, member: int | None = None) -> list[LayerRecord]:
    """The records of the :class:`~initlab.diagnostics.LayerStats` probe in ``history`` (one
    member, or all), typed."""
    rec = history.records.get("layer_stats")
    if rec is None:
        raise ValueError(
            "this History has no per-layer statistics: train with "
            "probes=[initlab.diagnostics.LayerStats(...)] (or `initlab train --diagnose`)"
        )
    rows = rec["records"]
    if member is not None:
        rows = [r for r in rows if r["member"] == member]
    return records_of(rows)


def by_step(rows: Iterable[LayerRecord]) -> dict[int, list[LayerRecord]]:
    """Records grouped by step, each step's in layer order."""
    out: dict[int, list[LayerRecord]] = {}
    for r in rows:
        out.setdefault(r.step, []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r.layer)
    return out
