"""``initlab runs``: list, show, export and delete the runs in the run store."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from initlab._json import dumps

ORDER = 11


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "runs",
        help="list, show, export or delete stored runs",
        description="The run store holds every run of `initlab study`: its configuration, "
        "per-step cost, per-layer statistics, verdict and final parameters.  Default file "
        "./initlab-out/runs.sqlite; $INITLAB_STORE or --store PATH choose another.",
    )
    p.add_argument("--store", default=None, help="run store file")
    act = p.add_subparsers(dest="action", metavar="ACTION")
    ls = act.add_parser("list", help="list runs (newest first), or studies with --studies")
    ls.add_argument("--study", type=int, default=None, help="only the runs of this study")
    ls.add_argument("--studies", action="store_true", help="list the studies instead")
    ls.add_argument("--sweeps", action="store_true", help="list the sweeps (initlab sweep)")
    ls.add_argument(
        "--limit", type=_limit, default=50, help="at most this many rows (default 50; 0: all)"
    )
    ls.add_argument("--json", action="store_true", help="print JSON")
    sh = act.add_parser("show", help="show one run (or one study with --study)")
    sh.add_argument("id", help="run id (study id with --study)")
    sh.add_argument("--study", action="store_true", help="ID is a study id")
    ex = act.add_parser("export", help="export one run in full")
    ex.add_argument("id", help="run id")
    ex.add_argument("--format", choices=("json", "csv"), default="json", help="json (all) or csv")
    ex.add_argument("-o", "--output", default=None, help="file to write (default stdout)")
    de = act.add_parser("delete", help="delete a run (or a study with --study)")
    de.add_argument("id", help="run id (study id with --study)")
    de.add_argument("--study", action="store_true", help="ID is a study id: delete all of it")
    for q in (ls, sh, ex, de):
        q.add_argument("--store", default=argparse.SUPPRESS, help="run store file")
    p.set_defaults(func=run, parser=p)


def _limit(text: str) -> int:
    """``--limit``: a whole number from 0 (all) to the largest id."""
    from initlab.store import MAX_ID

    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= MAX_ID:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 (all rows) to {MAX_ID}, got {text!r}"
        )
    return n


def open_store(path: Any = None, *, create: bool = False) -> Any:
    """The run store at ``path`` (default: ``$INITLAB_STORE`` or ./initlab-out/runs.sqlite);
    an error if it does not exist, unless ``create``.  Prints the store's notes (studies it
    found interrupted) on stderr."""
    from initlab.store import Store

    store = Store(path or None, create=create)
    for note in store.notes:
        print(f"note: {note}", file=sys.stderr)
    return store


def _store(args: argparse.Namespace) -> Any:
    return open_store(args.store)


def _hidden(shown: int, total: int, what: str, to: Any) -> None:
    """Say how many rows ``--limit`` left out."""
    if total > shown:
        print(f"({shown} of {total} {what} shown, newest first; --limit 0 shows all)", file=to)


def _list(args: argparse.Namespace) -> int:
    from initlab._text import format_table

    with _store(args) as s:
        limit = None if args.limit == 0 else args.limit
        out = sys.stderr if args.json else sys.stdout
        if args.sweeps or args.studies:
            from initlab.cli.sweep import format_sweeps
            from initlab.sweep import list_sweeps

            all_sweeps = list_sweeps(s)
            sweeps = all_sweeps[:limit]
            if args.sweeps:
                print(json.dumps(sweeps, indent=2) if args.json else format_sweeps(sweeps))
                _hidden(len(sweeps), len(all_sweeps), "sweeps", out)
                return 0
        if args.studies:
            every = s.studies()
            rows = every[:limit]
            if args.json:
                print(dumps(rows, indent=2))
                _hidden(len(rows), len(every), "studies", out)
                return 0
            print(
                format_table(
                    [
                        "id",
                        "created",
                        "status",
                        "quick",
                        "seeds",
                        "data set",
                        "experiments",
                        "runs",
                        "s",
                    ],
                    [
                        [
                            r["id"],
                            r["created"],
                            r["status"],
                            r["options"].get("quick"),
                            len(r["settings"].get("seeds", [])),
                            r["settings"].get("dataset"),
                            r["experiments"],
                            r["runs"],
                            r["seconds"],
                        ]
                        for r in rows
                    ],
                )
            )
            _hidden(len(rows), len(every), "studies", out)
            if sweeps:
                print(f"\nsweeps\n{format_sweeps(sweeps)}")
                _hidden(len(sweeps), len(all_sweeps), "sweeps", out)
            return 0
        rows = s.runs(args.study, limit)
        total = s.count_runs(args.study) if limit is not None and len(rows) == limit else len(rows)
        if args.json:
            print(dumps(rows, indent=2))
            _hidden(len(rows), total, "runs", out)
            return 0
        if not rows:
            print("no runs" + (f" in study {args.study}" if args.study else ""))
            return 0
        print(
            format_table(
                [
                    "id",
                    "study",
                    "population",
                    "scheme",
                    "seed",
                    "status",
                    "final cost",
                    "test acc",
                    "verdict",
                ],
                [
                    [
                        r["id"],
                        r["study_id"],
                        r["population"],
                        r["scheme"],
                        r["seed"],
                        r["status"],
                        r["final_cost"],
                        r["test_accuracy"],
                        ", ".join(r["verdict"]),
                    ]
                    for r in rows
                ],
            )
        )
        _hidden(len(rows), total, "runs", out)
    return 0


def _show_study(s: Any, sid: str) -> int:
    from initlab._text import format_table

    st = s.study(sid)
    print(
        f"study {st['id']}  {st['created']}  {st['status']}  initlab {st['version']}  "
        f"{st['seconds'] or 0:.1f} s"
    )
    print(f"options  {json.dumps(st['options'])}")
    exps = s.experiments(st["id"])
    print(
        format_table(
            ["#", "experiment", "verdict", "runs"],
            [[e["result"]["number"], e["name"], e["verdict"], len(e["run_ids"])] for e in exps],
        )
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    from initlab import diagnostics
    from initlab._text import fmt

    with _store(args) as s:
        if args.study:
            return _show_study(s, args.id)
        r = s.run(args.id)
    cfg = r["config"]
    print(
        f"run {r['id']}  study {r['study_id']}  population {r['population']} member {r['member']}"
    )
    print(f"config   {json.dumps(cfg)}")
    print(f"status   {r['status']}")
    cost = r["cost"]
    print(
        f"cost     {fmt(float(cost[0]), 6)} at step 0 -> {fmt(r['final_cost'], 6)} after "
        f"{len(cost)} steps; train accuracy {fmt(r['train_accuracy'])}, test accuracy "
        f"{fmt(r['test_accuracy'])}"
    )
    if r["experiments"]:
        print(f"used by  {', '.join(r['experiments'])}")
    if r["layer_stats"] and r["stats"] is not None:
        history = _history_of(r)
        print()
        print(diagnostics.report(history, 0))
    else:
        print("verdict: " + ", ".join(f["mode"] for f in r["verdict"]))
    return 0


def _history_of(r: dict[str, Any]) -> Any:
    """A one-member History of a stored run (for the diagnostics' text report)."""
    import numpy as np

    from initlab.train import History

    rows = [{**x, "member": 0} for x in r["layer_stats"]]
    return History(
        cost=r["cost"][None, :],
        final_cost=np.array([np.nan if r["final_cost"] is None else r["final_cost"]]),
        diverged_at=[r["diverged_at"]],
        steps_run=len(r["cost"]),
        records={"layer_stats": {**r["stats"], "records": rows}},
    )


def _export(args: argparse.Namespace) -> int:
    with _store(args) as s:
        data = s.export_run(args.id)
    if args.format == "json":
        text = dumps(data, indent=1) + "\n"
    else:
        lines = ["step,cost"]
        lines += [
            f"{i},{c!r}" if isinstance(c, float) else f"{i},{c}" for i, c in enumerate(data["cost"])
        ]
        text = "\n".join(lines) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"run {args.id} written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _store(args) as s:
        if args.study:
            n = s.delete_study(args.id)
            print(f"deleted study {args.id} and its {n} runs")
        else:
            s.delete_run(args.id)
            print(f"deleted run {args.id}")
    return 0


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "action", None):
        args.parser.print_help()
        return 2
    return {"list": _list, "show": _show, "export": _export, "delete": _delete}[args.action](args)
