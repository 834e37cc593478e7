"""``initlab schemes``: every registered scheme, its formula, its std and bound for given fans,
and what it is recommended for; then the model-level schemes (gpt2, fixup, ...) with the
structure each needs and the function that applies it."""

from __future__ import annotations

import argparse
import math
from typing import Any

from initlab import schemes as S
from initlab._json import dumps
from initlab._text import fmt, format_table

ORDER = 50


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schemes",
        help="list every initialization scheme with its formula and std for given fans",
        description="List every initialization scheme: formula, std and bound of one weight "
        "for the given fans, and the activations it is recommended for; then the model-level "
        "schemes (for initlab.torch), with the structure each needs.",
    )
    p.add_argument("--fan-in", type=int, default=256, help="fan-in of the layer (default 256)")
    p.add_argument("--fan-out", type=int, default=128, help="fan-out of the layer (default 128)")
    p.add_argument(
        "--category",
        choices=S.CATEGORIES,
        help=f"only one category of schemes ({S.MODEL!r}: the model-level ones)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _record(name: str, fan_in: int, fan_out: int) -> dict[str, Any]:
    i = S.info(name)
    base = i.base() if i.model_level else None
    d = i.law_at((fan_in, fan_out), None, S.Fans(fan_in, fan_out))
    bound = None
    if d is not None and math.isfinite(d.high) and d.kind not in ("constant",):
        bound = max(abs(d.low), abs(d.high))
    return {
        "name": name,
        "category": i.category,
        "formula": i.formula,
        "defaults": dict(i.defaults),
        "mean": None if d is None else d.mean,
        "std": None if d is None else d.std,
        "bound": bound,
        "recommended_for": list(i.recommended_for),
        "summary": i.summary,
        # model-level schemes: the structure, the per-tensor scheme of ordinary tensors (whose
        # law std/bound describe), the function that applies it and the paper; None otherwise
        "needs": i.needs or None,
        "ordinary_tensors": None if base is None else str(base),
        "use": i.entry or None,
        "paper": i.paper or None,
    }


def rows(fan_in: int, fan_out: int, category: str | None = None) -> list[dict]:
    """One plain record per scheme (the model-level ones last, or only them with category
    "model"): name, category, formula, std, bound, recommendations, structure needed."""
    for label, v in (("--fan-in", fan_in), ("--fan-out", fan_out)):
        if v <= 0:
            raise ValueError(f"{label} must be a positive integer, got {v}")
    names = S.available(category, model_level=category is None)
    return [_record(name, fan_in, fan_out) for name in names]


def _defaults(r: dict[str, Any]) -> str:
    return (
        ", ".join(
            f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["defaults"].items()
        )
        or "-"
    )


def _model_text(records: list[dict[str, Any]]) -> str:
    lines = [
        "Model-level schemes: they need a model's structure, so they are not for --init;\n"
        "apply them to a PyTorch model with the function under 'use' (initlab[torch]):"
    ]
    for r in records:
        lines += [
            f"\n  {r['name']}: {r['summary']}",
            f"    use:       {r['use']}",
            f"    needs:     {r['needs']}",
            f"    ordinary tensors: {r['ordinary_tensors'] or '-'} (std {fmt(r['std'])})",
            f"    defaults:  {_defaults(r)}",
            f"    formula:   {r['formula']}",
            f"    paper:     {r['paper']}",
        ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    records = rows(args.fan_in, args.fan_out, args.category)
    if args.json:
        print(dumps(records, indent=2))
        return 0
    tensor = [r for r in records if r["needs"] is None]
    model = [r for r in records if r["needs"] is not None]
    if tensor:
        print(
            f"Initialization schemes for a layer with fan_in={args.fan_in}, fan_out={args.fan_out}"
        )
        print("(std and bound of one weight; '-' where no single law applies)\n")
        table = [
            (
                r["name"],
                r["category"],
                r["std"],
                r["bound"],
                ", ".join(r["recommended_for"]) or "-",
                _defaults(r),
                r["formula"],
            )
            for r in tensor
        ]
        headers = ["scheme", "category", "std", "bound", "recommended for", "defaults", "formula"]
        print(format_table(headers, table))
        print(
            "\nThe seed's rule: Xavier for tanh and sigmoid, He for ReLU.  "
            "Use a name with --init, e.g. --init he_normal or --init random_normal:std=0.5."
        )
    if model:
        print(("\n" if tensor else "") + _model_text(model))
    return 0
