"""``initlab study``: every claim of the seed as an experiment -- the main job.

Runs the experiments (a progress bar over them), prints a table of claim / verdict / key
figure, writes ``report.html`` (one self-contained file), ``report.md`` (with ``figures/``) and
``results.json`` to ``--out``, and saves every run in the run store (see ``initlab runs``).
``--from-store ID`` rebuilds the report of a stored study without training.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

from initlab._json import dumps

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study",
        help="the main job: test every claim of the seed, write the report",
        description="Test every claim of the source document as an experiment (setup, "
        "measurement, verdict decided by a stated criterion), print a table of the verdicts, "
        "and write report.html, report.md and results.json.  Every run is saved in the run "
        "store (default ./initlab-out/runs.sqlite, or $INITLAB_STORE).",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: small networks, few steps")
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="initialization seeds per scheme (default 20; 5 quick)",
    )
    p.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="the first seed (default 0): seeds are FIRST, FIRST+1, ...",
    )
    p.add_argument("--dataset", default="circles", help="the main data set (default circles)")
    p.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        action="append",
        default=None,
        help="run only these experiments (see --list)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="folder for the reports (default ./initlab-out, and ./initlab-out/quick with "
        "--quick: a quick run never replaces the full report)",
    )
    p.add_argument("--store", default=None, help="run store file (default: see above)")
    p.add_argument("--no-store", action="store_true", help="do not save runs")
    p.add_argument(
        "--from-store",
        metavar="STUDY_ID",
        default=None,
        help="rebuild the report of a stored study (an id or 'latest') without training",
    )
    p.add_argument("--json", action="store_true", help="print results.json to stdout")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar (none is drawn off a terminal)"
    )
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="processes that train and draw (default 2, 1 with --quick; 1: everything in this "
        "process); the report is the same for any number",
    )
    p.set_defaults(func=run)


def _wrapped_table(rows: list[tuple[str, str, str, str]], width: int) -> str:
    """A table whose last two text columns wrap to fit ``width`` characters."""
    headers = ("#", "claim", "verdict", "key finding")
    w0 = max(len(headers[0]), *(len(r[0]) for r in rows))
    w2 = max(len(headers[2]), *(len(r[2]) for r in rows))
    w1 = 34
    w3 = max(30, width - (w0 + w1 + w2 + 6))
    lines = [
        f"{headers[0]:<{w0}}  {headers[1]:<{w1}}  {headers[2]:<{w2}}  {headers[3]}",
        f"{'-' * w0}  {'-' * w1}  {'-' * w2}  {'-' * min(w3, 40)}",
    ]
    for num, claim, verdict, key in rows:
        c = textwrap.wrap(claim, w1) or [""]
        k = textwrap.wrap(key, w3) or [""]
        for i in range(max(len(c), len(k))):
            lines.append(
                f"{num if i == 0 else '':<{w0}}  {c[i] if i < len(c) else '':<{w1}}  "
                f"{verdict if i == 0 else '':<{w2}}  {k[i] if i < len(k) else ''}".rstrip()
            )
    return "\n".join(lines)


def _print_summary(report: Any, paths: dict[str, Any], store_path: Any) -> None:
    rows = [(r.number, r.title, r.verdict, r.finding or r.key_figure) for r in report.results]
    width = shutil.get_terminal_size((120, 24)).columns
    print(_wrapped_table(rows, max(width, 100)))
    for note in report.notes:
        print(f"note: {note}")
    print()
    print(f"report   {paths['html']}  (one file, opens offline)")
    print(f"         {paths['markdown']}, {paths['json']}")
    if report.results:
        seeds = report.settings.seeds
        print(
            f"seeds    {len(seeds)} per scheme ({seeds[0]} to {seeds[-1]})"
            + (
                "; quick settings: 'undecided' where they cannot decide"
                if report.settings.quick
                else ""
            )
        )
    if report.study_id is not None:
        print(
            f"store    study {report.study_id} in {store_path}  (initlab runs list --study "
            f"{report.study_id} --store {store_path}; rebuild: initlab study --from-store "
            f"{report.study_id} --store {store_path})"
        )
    t = report.timing
    if "total_s" in t:
        print(f"time     {t['total_s']:.1f} s")


def output_folder(out: str | None, quick: bool) -> tuple[Path, str]:
    """Where a report goes: ``out`` (default ``initlab-out``), or its ``quick`` subfolder for
    a quick run -- also when ``out`` was given and holds a full study's report, which a quick
    run never replaces.  Returns the folder and a message when the folder was changed."""
    base = Path(out or "initlab-out")
    if not quick:
        return base, ""
    if out is None:
        return base / "quick", ""
    old = base / "results.json"
    if old.is_file():
        try:
            full = not json.loads(old.read_text(encoding="utf-8"))["options"]["quick"]
        except (ValueError, KeyError, TypeError):
            full = False
        if full:
            return base / "quick", (
                f"note: {base} holds a full study's report; this quick run writes to "
                f"{base / 'quick'} instead"
            )
    return base, ""


def _list() -> int:
    from initlab.study import EXPERIMENTS

    for e in EXPERIMENTS.values():
        print(f"{e.number:>3}  {e.name:<20} {e.title}")
        print(textwrap.indent(textwrap.fill(f"measures: {e.measures}", 92), " " * 26))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    from initlab.store import default_path
    from initlab.study import StudyOptions, rebuild_study, run_study, write_outputs
    from initlab.study.runner import StudyInterrupted

    if args.no_store and args.store:
        raise ValueError("give --store PATH or --no-store, not both")
    if args.from_store is not None:
        if args.no_store:
            raise ValueError("--from-store reads the run store; it cannot be used with --no-store")
        fixed = (
            [o for o in ("quick", "only") if getattr(args, o)]
            + (["seeds"] if args.seeds is not None else [])
            + (["first-seed"] if args.first_seed else [])
        )
        if fixed:
            raise ValueError(
                f"--from-store rebuilds a stored study with its own settings; drop "
                f"{', '.join('--' + f for f in fixed)}"
            )
    from initlab.cli import writable_dir

    writable_dir("--out", args.out or "initlab-out")  # refused now, not after the whole study
    store_path = args.store or default_path()
    store = None
    if not args.no_store:
        from initlab.cli.runs import open_store

        # rebuilding reads a store that must exist; a new study creates one if needed
        store = open_store(store_path, create=args.from_store is None)
    try:
        if args.from_store is not None:
            report = rebuild_study(
                store,
                args.from_store,
                progress=not (args.json or args.quiet),
                jobs=args.jobs,
            )
        else:
            options = StudyOptions(
                quick=args.quick,
                seeds=args.seeds,
                dataset=args.dataset,
                only=args.only,
                first_seed=args.first_seed,
            )
            try:
                report = run_study(
                    options, store, progress=not (args.json or args.quiet), jobs=args.jobs
                )
            except StudyInterrupted as exc:
                if exc.study_id is not None:
                    sid = exc.study_id  # this process's study, whatever else the store holds
                    print(
                        f"study {sid} interrupted: the runs finished so far are in {store_path};"
                        f" rebuild what finished with: initlab study --from-store {sid} "
                        f"--store {store_path}",
                        file=sys.stderr,
                    )
                raise
        out, moved = output_folder(args.out, report.settings.quick)
        if moved:
            print(moved, file=sys.stderr)
        paths = write_outputs(report, out)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(dumps(report.to_dict(), indent=2))
    else:
        _print_summary(report, paths, store_path)
    return 0
