"""``initlab schemes``: every registered scheme, its formula, its std and bound for given fans,
and what it is recommended for."""

from __future__ import annotations

import argparse
import math

from initlab import schemes as S
from initlab._json import dumps
from initlab._text import format_table

ORDER = 50


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schemes",
        help="list every initialization scheme with its formula and std for given fans",
        description="List every initialization scheme: formula, std and bound of one weight "
        "for the given fans, and the activations it is recommended for.",
    )
    p.add_argument("--fan-in", type=int, default=256, help="fan-in of the layer (default 256)")
    p.add_argument("--fan-out", type=int, default=128, help="fan-out of the layer (default 128)")
    p.add_argument("--category", choices=S.CATEGORIES, help="only one category of schemes")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def rows(fan_in: int, fan_out: int, category: str | None = None) -> list[dict]:
    """One plain record per scheme: name, category, formula, std, bound, recommendations."""
    for label, v in (("--fan-in", fan_in), ("--fan-out", fan_out)):
        if v <= 0:
            raise ValueError(f"{label} must be a positive integer, got {v}")
    out = []
    for name in S.available(category):
        i = S.info(name)
        d = S.distribution(name, fan_in, fan_out)
        bound = None
        if d is not None and math.isfinite(d.high) and d.kind not in ("constant",):
            bound = max(abs(d.low), abs(d.high))
        out.append(
            {
                "name": name,
                "category": i.category,
                "formula": i.formula,
                "defaults": dict(i.defaults),
                "mean": None if d is None else d.mean,
                "std": None if d is None else d.std,
                "bound": bound,
                "recommended_for": list(i.recommended_for),
                "summary": i.summary,
            }
        )
    return out


def run(args: argparse.Namespace) -> int:
    records = rows(args.fan_in, args.fan_out, args.category)
    if args.json:
        print(dumps(records, indent=2))
        return 0
    print(f"Initialization schemes for a layer with fan_in={args.fan_in}, fan_out={args.fan_out}")
    print("(std and bound of one weight; '-' where no single law applies)\n")
    table = [
        (
            r["name"],
            r["category"],
            r["std"],
            r["bound"],
            ", ".join(r["recommended_for"]) or "-",
            ", ".join(
                f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in r["defaults"].items()
            )
            or "-",
            r["formula"],
        )
        for r in records
    ]
    headers = ["scheme", "category", "std", "bound", "recommended for", "defaults", "formula"]
    print(format_table(headers, table))
    print(
        "\nThe seed's rule: Xavier for tanh and sigmoid, He for ReLU.  "
        "Use a name with --init, e.g. --init he_normal or --init random_normal:std=0.5."
    )
    return 0
