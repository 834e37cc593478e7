"""``initlab datasets``: every data set, what it is and its default parameters."""

from __future__ import annotations

import argparse

from initlab._json import dumps

ORDER = 55


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list the data sets (synthetic 2-D problems and real tables)",
        description="List every data set --dataset accepts, with its defaults.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from initlab import data

    if args.json:
        print(dumps({n: data.defaults(n) for n in data.available()}, indent=2))
        return 0
    for name in data.available():
        print(data.describe(name))
    print("\nUse with --dataset NAME (and --n-samples, --noise); real sets need initlab[data].")
    return 0
