"""Presentation: figures (matplotlib, optional extra ``initlab[report]``) and reports.

Everything here draws numbers computed elsewhere (the engine, the diagnostics, the theory);
nothing here computes a statistic or a verdict of its own.
"""

from initlab.report.figures import (
    activation_histograms,
    cost_curves,
    decision_boundary,
    gradient_histograms,
    save_png,
    scale_by_depth,
    update_ratio_curves,
    write_run_figures,
)

__all__ = [
    "activation_histograms",
    "cost_curves",
    "decision_boundary",
    "gradient_histograms",
    "save_png",
    "scale_by_depth",
    "update_ratio_curves",
    "write_run_figures",
]
