"""``initlab reproduce``: the initialization literature, reproduced.

Runs the named experiments (all by default), prints the table of the paper's numbers beside
ours with a verdict each, writes ``reproduce.html`` (one self-contained file),
``reproduce.md`` (with ``figures/``) and ``reproduce.json`` to ``--out``, and saves every
run in the run store (as ``initlab study`` does; see ``initlab runs``).
"""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import Any

ORDER = 11


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="reproduce the initialization literature: each paper's number beside ours",
        description="Reproduce results of the initialization literature (Glorot & Bengio "
        "2010, He et al. 2015, Saxe et al. 2013, Schoenholz et al. 2017, muP, residual "
        "scaling) at a scale two cores can run: the paper's number beside ours with a 95%% "
        "CI over seeds and a verdict.  Writes reproduce.html, reproduce.md and "
        "reproduce.json; every run is saved in the run store (default "
        "./initlab-out/runs.sqlite, or $INITLAB_STORE).",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default all)")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument(
        "--quick", action="store_true", help="small budgets: about 2 minutes per experiment"
    )
    p.add_argument("--seeds", type=int, default=None, help="seeds per configuration")
    p.add_argument(
        "--out", default="initlab-out", help="folder for the reports (default ./initlab-out)"
    )
    p.add_argument("--store", default=None, help="run store file (default: see above)")
    p.add_argument("--no-store", action="store_true", help="do not save runs")
    p.add_argument("--json", action="store_true", help="print reproduce.json to stdout")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar (none is drawn off a terminal)"
    )
    p.set_defaults(func=run)


def _list() -> int:
    from initlab.reproduce import PAPERS, names

    names()
    for p in PAPERS.values():
        print(f"{p.name:<16} {p.title}")
        print(textwrap.indent(textwrap.fill(f"{p.paper}: {p.reproduces}", 88), " " * 17))
    return 0


def _print_table(report: Any, paths: dict[str, Any], store_path: Any) -> None:
    from initlab._text import format_table

    rows = [
        [r.name, c.quantity, c.paper, c.ours_text(), c.verdict]
        for r in report.results
        for c in r.comparisons
    ]
    print(format_table(["experiment", "quantity", "paper", "ours [95% CI]", "verdict"], rows))
    print()
    for r in report.results:
        print(f"{r.name:<16} {r.verdict:<30} {report.timing.get(r.name)} s")
    for note in report.notes:
        print(f"note: {note}")
    print(f"\nreport   {paths['html']}  (one file, opens offline)")
    print(f"         {paths['markdown']}, {paths['json']}")
    if report.study_id is not None:
        print(f"store    run {report.study_id} in {store_path}  (initlab runs list)")


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    from initlab.reproduce import Settings, check_names, run_reproduce, write_outputs
    from initlab.store import default_path

    if args.no_store and args.store:
        raise ValueError("give --store PATH or --no-store, not both")
    if args.seeds is not None and args.seeds < 2:
        raise ValueError(f"--seeds={args.seeds} is not allowed: a 95% CI needs at least 2 seeds")
    selected = check_names(args.names)
    store_path = args.store or default_path()
    store = None
    if not args.no_store:
        from initlab.cli.runs import open_store

        store = open_store(store_path, create=True)
    try:
        report = run_reproduce(
            selected,
            Settings(quick=args.quick, seeds=args.seeds),
            store,
            progress=not (args.json or args.quiet),
        )
        paths = write_outputs(report, args.out)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    else:
        _print_table(report, paths, store_path)
    return 0
