"""``initlab sweep``: a grid of runs on local processes or a Dask cluster, recorded in the store.

The grid comes from a TOML file (``[fixed]``, ``[grid]``, ``[sweep]``) and/or repeated
``--grid FIELD=VALUES``; the fields that do not vary take ``initlab train``'s flags.  See
docs/sweeps.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ORDER = 15

_UNSET: Any = type("Unset", (), {"__repr__": lambda self: "<unset>"})()
_SWEEP_OPTIONS = ("max_population", "target", "diagnose", "workers")


def register(sub: argparse._SubParsersAction) -> None:
    from initlab.cli.train import add_run_options

    p = sub.add_parser(
        "sweep",
        help="run a grid of configurations on local processes or a Dask cluster",
        description="Run every cell of a grid (e.g. --grid seed=0..19 --grid "
        "init=he_normal,xavier_normal --grid lr=1e-3..1e-1:log5), batched into populations, "
        "on local processes or Dask; each finished cell is saved in the run store, and running "
        "the same sweep again resumes it.  Fields that do not vary take the flags of "
        "`initlab train`.  See docs/sweeps.md.",
    )
    p.add_argument("spec", nargs="?", default=None, help="a TOML sweep file (optional)")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=VALUES",
        help="a swept field: seed=0..19, hidden=64x1..64x32, init=he_normal,xavier_normal, "
        "lr=1e-3..1e-1:log5 (repeat for more axes)",
    )
    before = {a.dest for a in p._actions}
    add_run_options(p)
    run_dests = {a.dest: a.default for a in p._actions if a.dest not in before}
    p.set_defaults(**{d: _UNSET for d in run_dests}, _run_defaults=run_dests)
    _add_sweep_options(p)
    p.set_defaults(func=run)


def _add_sweep_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sweep")
    g.add_argument("--store", default=None, help="run store file (default as `initlab study`)")
    g.add_argument(
        "--dry-run", action="store_true", help="print the plan and the cost, run nothing"
    )
    g.add_argument("--json", action="store_true", help="print one JSON record per cell")
    g.add_argument(
        "--quiet", action="store_true", help="no progress bar (none is drawn off a terminal)"
    )
    g.add_argument("--csv", metavar="PATH", default=None, help="write the results as CSV")
    g.add_argument("--plot", metavar="DIR", default=None, help="write the heatmap and lines (PNG)")
    g.add_argument(
        "--metric",
        default="final_cost",
        help="summary the figures show: final_cost, test_accuracy, steps_to_target, diverged, "
        "verdict, ... (default final_cost)",
    )
    g.add_argument(
        "--axes",
        metavar="X[,Y]",
        default=None,
        help="the swept axes the figures use: lines along X, heatmap X by Y (default: the "
        "first two swept axes other than seed)",
    )
    g.add_argument("--log", action="store_true", help="log colour and y scale in the figures")
    g.add_argument("--target", type=float, default=None, help="record steps to reach this cost")
    g.add_argument(
        "--diagnose", action="store_true", default=None, help="record the verdict of each cell"
    )
    g.add_argument(
        "--max-population",
        type=int,
        default=None,
        help="most cells trained as one population (default 16)",
    )
    g.add_argument(
        "--from-store",
        metavar="SWEEP_ID",
        default=None,
        help="show a stored sweep (an id or 'latest') without training",
    )
    g.add_argument(
        "--delete", metavar="SWEEP_ID", default=None, help="delete a stored sweep and its cells"
    )
    x = p.add_argument_group("where it runs")
    x.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    x.add_argument("--scheduler", default=None, help="a Dask scheduler, tcp://host:port")
    x.add_argument(
        "--dask-local", type=int, default=None, metavar="N", help="start a Dask LocalCluster of N"
    )


# ---------------------------------------------------------------------- spec


def _base_config(args: argparse.Namespace, fixed: dict[str, Any]) -> tuple[Any, set[str]]:
    """The RunConfig the cells start from (flags over the file's [fixed]) and the fields the
    flags set explicitly."""
    from initlab.cli.train import config_from_args

    defaults = args._run_defaults
    given = {d for d in defaults if getattr(args, d) is not _UNSET}
    values = {d: getattr(args, d) if d in given else fixed.get(d, defaults[d]) for d in defaults}
    if "layers" in given:  # --layers replaces [fixed] hidden
        values["hidden"] = None
    cfg = config_from_args(argparse.Namespace(**values))
    extra = sorted(set(fixed) - set(defaults))
    if extra:
        cfg = cfg.replace(**{k: fixed[k] for k in extra})
    fields = {("hidden" if d == "layers" else d) for d in given}
    return cfg, fields


def _grid(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from initlab.sweep import GridSpec, SweepSpecError, parse_axis
    from initlab.sweep.spec import load_toml

    fixed: dict[str, Any] = {}
    axes = []
    options: dict[str, Any] = {}
    if args.spec:
        fixed, axes, options = load_toml(args.spec)
        unknown = sorted(set(options) - set(_SWEEP_OPTIONS))
        if unknown:
            raise SweepSpecError(
                "sweep", unknown[0], f"keys of [sweep]: {', '.join(_SWEEP_OPTIONS)}", "unknown key"
            )
    axes += [parse_axis(t) for t in args.grid]
    base, flagged = _base_config(args, fixed)
    for a in axes:
        if a.field in flagged or a.field in fixed:
            where = "a flag" if a.field in flagged else "[fixed]"
            raise SweepSpecError(
                a.field,
                ",".join(map(str, a.values)),
                "a field either swept or fixed",
                f"also set by {where}",
            )
    for k in ("max_population", "target", "workers"):
        if getattr(args, k) is not None:
            options[k] = getattr(args, k)
    if args.diagnose:
        options["diagnose"] = True
    return GridSpec(tuple(axes), base), _checked(options)


def _checked(options: dict[str, Any]) -> dict[str, Any]:
    """The sweep options with their types checked (they may come from a TOML file)."""
    from initlab._checks import check_finite_real, check_positive_int
    from initlab.sweep import SweepSpecError

    checks = {
        "max_population": (check_positive_int, "an integer >= 1"),
        "workers": (check_positive_int, "an integer >= 1"),
        "target": (check_finite_real, "a finite number"),
    }
    out = dict(options)
    for k, (check, allowed) in checks.items():
        if k in out:
            try:
                out[k] = check(k, out[k])
            except (TypeError, ValueError):
                raise SweepSpecError(k, out[k], allowed) from None
    if not isinstance(out.get("diagnose", False), bool):
        raise SweepSpecError("diagnose", out["diagnose"], "true or false")
    if not out.get("diagnose", True):
        out.pop("diagnose")
    return out


# ---------------------------------------------------------------------- output


def _values_text(values: tuple[Any, ...], width: int = 90) -> str:
    """The values of an axis, as many as fit in about ``width`` characters."""
    from initlab.sweep.results import value_label

    shown: list[str] = []
    for v in values:
        text = value_label(v)
        if shown and len(", ".join([*shown, text])) > width:
            return ", ".join(shown) + f", ... ({len(values)} values)"
        shown.append(text)
    return ", ".join(shown)


def _dry_run(plan: Any, args: argparse.Namespace, store_path: Any, workers: int | None) -> int:
    from pathlib import Path

    from initlab._text import fmt, format_table

    est = plan.estimate()
    recorded = 0
    if Path(store_path).exists():
        from initlab.sweep import SweepStore

        with SweepStore(store_path, write=False) as s:
            sid = s.find(plan.key)
            recorded = 0 if sid is None else len(s.finished(sid))
    if args.json:
        print(json.dumps({**plan.to_dict(), "estimate": est, "recorded": recorded}, indent=2))
        return 0
    print(
        format_table(
            ["axis", "values"], [[a.field, _values_text(a.values)] for a in plan.grid.axes]
        )
    )
    sizes = ", ".join(f"{n} of {k}" for k, n in plan.population_sizes().items())
    print()
    print(
        f"cells        {len(plan.cells)}"
        + (f" ({recorded} already in the store: skipped)" if recorded else "")
    )
    print(f"populations  {len(plan.populations)} ({sizes} members)")
    print(
        f"cost         {fmt(est['flops'])} FLOPs; about {fmt(est['seconds'])} s on one worker"
        + (f", {fmt(plan.seconds_on(workers))} s on {workers}" if workers and workers > 1 else "")
    )
    print(f"store        {store_path}")
    print()
    show = plan.cells[:8]
    print(
        format_table(
            ["cell", *plan.axes, "population"],
            [
                [c.index, *(_values_text((v,)) for _, v in c.point), _pop_of(plan, c.index)]
                for c in show
            ],
        )
    )
    if len(plan.cells) > len(show):
        print(f"... {len(plan.cells) - len(show)} more cells")
    return 0


def format_sweeps(rows: list[dict[str, Any]]) -> str:
    """The sweeps of a store as a table (``initlab runs list --sweeps`` and ``--studies``)."""
    from initlab._text import format_table

    if not rows:
        return "no sweeps"
    return format_table(
        ["id", "created", "status", "axes", "cells", "recorded", "failed", "s"],
        [
            [
                r["id"],
                r["created"],
                r["status"],
                " x ".join(a["field"] for a in r["spec"]["grid"]["axes"]),
                r["n_cells"],
                r["recorded"],
                r["failed"],
                r["seconds"],
            ]
            for r in rows
        ],
    )


def _pop_of(plan: Any, index: int) -> int:
    for p in plan.populations:
        if index in p.cells:
            return p.index
    return -1


class _Bar:
    """The shared progress bar (:mod:`initlab._progress`) fed by the driver: cells done out of
    all, failed so far and the time left at the rate so far; silent off a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, state: Any) -> None:
        from initlab._progress import ProgressBar

        if self.bar is None:
            self.bar = ProgressBar(state.total, "sweep", enabled=self.enabled)
        eta = state.eta
        left = "" if eta is None or state.done == state.total else f", ETA {eta:.0f} s"
        self.bar.update(state.done, f"failed {state.failed}{left}")

    def close(self, note: str | None = None) -> None:
        if self.bar is not None:
            self.bar.close(note)


def _report(results: Any, args: argparse.Namespace) -> None:
    from initlab._text import format_table

    if args.csv:
        results.to_csv(args.csv)
    if args.json:
        for rec in results.json_records():
            print(json.dumps(rec, allow_nan=False))
    else:
        headers, rows = results.summary()
        print(format_table(headers, rows[:100]))
        if len(rows) > 100:
            print(f"... {len(rows) - 100} more rows (all cells: --csv PATH or --json)")
    if args.plot:
        _plots(results, args)


def _plots(results: Any, args: argparse.Namespace) -> None:
    from pathlib import Path

    from initlab.report import figures

    axes = [a for a in results.axes if a != "seed"]
    if args.axes:
        axes = [a.strip().replace("-", "_") for a in args.axes.split(",") if a.strip()]
    out = Path(args.plot)
    paths = []
    if len(axes) >= 2:
        g = results.grid(args.metric, axes[0], axes[1])
        paths.append(figures.save_png(figures.sweep_heatmap(g, log=args.log), out / "heatmap.png"))
    if axes and "seed" in results.axes and args.metric != "verdict":
        b = results.band(args.metric, axes[0], "seed")
        paths.append(figures.save_png(figures.sweep_lines(b, log=args.log), out / "lines.png"))
    note = ", ".join(map(str, paths)) or "none (need two swept axes, or one and seed)"
    print(f"figures written: {note}", file=sys.stderr)


def _from_store(args: argparse.Namespace) -> int:
    from initlab.store import default_path
    from initlab.sweep import SweepResults

    results = SweepResults.from_store(args.store or default_path(), args.from_store)
    if not args.json:
        sw = results.sweep
        print(
            f"sweep {sw['id']}  {sw['created']}  {sw['status']}  {sw['recorded']} of "
            f"{sw['n_cells']} cells recorded, {sw['failed']} failed"
        )
    _report(results, args)
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ImportError as exc:  # an optional extra (dask, matplotlib) is missing
        print(f"initlab sweep: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from initlab.store import default_path
    from initlab.sweep import SweepInterrupted, SweepResults, SweepStore, make_executor, make_plan
    from initlab.sweep.driver import run_sweep
    from initlab.sweep.results import METRICS

    if args.metric not in METRICS:
        raise ValueError(
            f"--metric {args.metric!r} is not allowed; choose one of: {', '.join(METRICS)}"
        )
    if args.from_store is not None:
        return _from_store(args)
    if args.delete is not None:
        from initlab.sweep import SweepStore

        with SweepStore(args.store or default_path(), write=False) as s:
            sid = s.sweep(args.delete)["id"]
            n = s.delete_sweep(sid)
        print(f"deleted sweep {sid} and its {n} cells")
        return 0
    spec, options = _grid(args)
    workers = options.pop("workers", None)
    plan = make_plan(spec, max_population=options.pop("max_population", 16), options=options)
    store_path = args.store or default_path()
    if args.dry_run:
        return _dry_run(plan, args, store_path, workers or _default_workers(args))
    executor = make_executor(workers, args.scheduler, args.dask_local)
    bar = _Bar(enabled=not args.quiet)
    try:
        with SweepStore(store_path) as store:
            outcome = run_sweep(plan, executor, store, bar)
    except KeyboardInterrupt:
        bar.close("interrupted")
        print(
            f"interrupted: the finished cells are in {store_path}; run the same command again "
            "to resume",
            file=sys.stderr,
        )
        return 130
    except SweepInterrupted as exc:
        bar.close("stopped")
        print(f"initlab sweep: {exc}", file=sys.stderr)
        return 1
    finally:
        executor.close()
    bar.close()
    results = SweepResults.from_store(store_path, outcome.sweep_id)
    print(
        f"sweep {outcome.sweep_id}: {len(plan.cells)} cells on {executor.description}, "
        f"{outcome.trained} trained"
        + (f", {outcome.skipped} already recorded (resumed)" if outcome.skipped else "")
        + f", {outcome.failed} failed, {outcome.seconds:.1f} s; store {store_path}",
        file=sys.stderr,
    )
    for e in outcome.errors[:3]:
        print(f"  failed {e}", file=sys.stderr)
    if len(outcome.errors) > 3:
        print(f"  ... {len(outcome.errors) - 3} more failed cells", file=sys.stderr)
    _report(results, args)
    return 1 if outcome.failed else 0


def _default_workers(args: argparse.Namespace) -> int | None:
    if args.scheduler or args.dask_local:
        return args.dask_local
    from initlab.sweep.executors import _cores

    return _cores()
