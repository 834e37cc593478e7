"""Diagnostics: per-layer statistics as typed records, verdict rules as functions, thresholds in
one place, and the two-part verdict (at initialization, in training) with one plain sentence.

* :mod:`~initlab.diagnostics.records`: :class:`LayerRecord`, the one shape every reader uses;
* :mod:`~initlab.diagnostics.stats`: the :class:`LayerStats` probe that measures them;
* :mod:`~initlab.diagnostics.thresholds`: :class:`Thresholds` / :data:`THRESHOLDS`, :data:`MODES`;
* :mod:`~initlab.diagnostics.evidence`: :class:`Evidence` (what the rules read) and
  :class:`Finding` (what they return), the graph's judged links;
* :mod:`~initlab.diagnostics.rules`: one function per rule, returning findings;
* :mod:`~initlab.diagnostics.verdict`: :func:`judge` (the :class:`Verdict`) and :func:`verdict`
  (its findings);
* :mod:`~initlab.diagnostics.report`: the per-layer table, the mean-field prediction and the
  text report.

``docs/diagnostics.md`` describes every rule, its threshold, why, and a case that must trigger it
and one that must not.
"""

from __future__ import annotations

from initlab.diagnostics.evidence import (
    Evidence,
    Finding,
    cost_rises,
    links,
    per_layer_factor,
    steps_to_cost,
)
from initlab.diagnostics.records import LayerRecord, by_step, layer_stats, records_of
from initlab.diagnostics.report import (
    LAYER_COLUMNS,
    format_layer_stats,
    predicted_variance,
    report,
)
from initlab.diagnostics.rules import INIT_RULES, TRAINING_RULES
from initlab.diagnostics.stats import (
    GRAD_LOG10_EDGES,
    HIST_BINS,
    LayerStats,
    dead_units,
    hist_edges,
    saturation,
    symmetry,
)
from initlab.diagnostics.thresholds import (
    INIT_MODES,
    MODES,
    SEVERITY,
    THRESHOLDS,
    TRAINING_MODES,
    Thresholds,
)
from initlab.diagnostics.verdict import Outcome, Verdict, judge, verdict

__all__ = [
    "GRAD_LOG10_EDGES",
    "HIST_BINS",
    "INIT_MODES",
    "INIT_RULES",
    "LAYER_COLUMNS",
    "MODES",
    "SEVERITY",
    "THRESHOLDS",
    "TRAINING_MODES",
    "TRAINING_RULES",
    "Evidence",
    "Finding",
    "LayerRecord",
    "LayerStats",
    "Outcome",
    "Thresholds",
    "Verdict",
    "by_step",
    "cost_rises",
    "dead_units",
    "format_layer_stats",
    "hist_edges",
    "judge",
    "layer_stats",
    "links",
    "per_layer_factor",
    "predicted_variance",
    "records_of",
    "report",
    "saturation",
    "steps_to_cost",
    "symmetry",
    "verdict",
]
