"""Schemes of the residual era (placeholder, filled below)."""

from __future__ import annotations

from typing import Any

from torch import nn


def expand_model_scheme(
    model: nn.Module, scheme: Any
) -> tuple[Any, list[tuple[Any, dict[str, Any]]]]:
    return scheme, []
