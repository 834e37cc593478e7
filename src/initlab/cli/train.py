"""``initlab train``: train one network on a data set and report cost and accuracy."""

from __future__ import annotations

import argparse
from typing import Any

from initlab._checks import ParameterError
from initlab._json import dumps

ORDER = 20


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 2,10,5,1; got {text!r}"
        ) from None
    return values


_LAYERS = "comma-separated integers >= 1, e.g. 2,10,5,1"


def _widths(flag: str, values: tuple[int, ...], args: argparse.Namespace) -> tuple[int, ...]:
    """``values`` of ``--layers``/``--hidden`` after checking each is >= 1; an error names the
    flag, what was typed and the position (RunConfig's own message would say ``hidden[i]``)."""
    typed = ",".join(map(str, values))
    args.flags["hidden"] = (flag, typed)
    for i, v in enumerate(values):
        if v < 1:
            raise ParameterError(
                flag,
                typed,
                _LAYERS,
                f"{flag} {typed}: size number {i + 1} is {v}; allowed: {_LAYERS}",
            )
    return values


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options that make a RunConfig; shared by every command that trains."""
    from initlab.config import RunConfig

    d = RunConfig()
    g = p.add_argument_group("data")
    g.add_argument(
        "--dataset",
        default=d.dataset,
        help=f"data set (default {d.dataset}); see `initlab datasets`",
    )
    g.add_argument("--n-samples", type=int, default=None, help="number of points")
    g.add_argument("--noise", type=float, default=None, help="noise of a synthetic data set")
    g.add_argument("--data-seed", type=int, default=d.data_seed, help="seed of the data")
    g = p.add_argument_group("network")
    g.add_argument(
        "--layers",
        type=_int_list,
        default=None,
        help="all layer sizes from input to output, e.g. 2,10,5,1 (checked against the data set)",
    )
    g.add_argument(
        "--hidden",
        type=_int_list,
        default=None,
        help=f"hidden layer sizes only (default {','.join(map(str, d.hidden))})",
    )
    g.add_argument(
        "--activation",
        default=d.activation,
        help=f"hidden activation, e.g. relu, tanh, leaky_relu:0.2 (default {d.activation})",
    )
    g.add_argument("--output-activation", default=None, help="default: from the data and loss")
    g.add_argument(
        "--loss",
        default=None,
        help="binary_cross_entropy, cross_entropy or mse (default: from the data)",
    )
    g.add_argument(
        "--init",
        default=d.init,
        help=f"weight scheme, e.g. he_normal, zeros, random_normal:std=0.5 (default "
        f"{d.init}); see `initlab schemes`",
    )
    g.add_argument("--bias-init", default=d.bias_init, help="bias scheme (default zeros)")
    g.add_argument("--dtype", default=d.dtype, choices=("float64", "float32"))
    g = p.add_argument_group("training")
    g.add_argument(
        "--optimizer",
        default=d.optimizer,
        help=f"gd, momentum, nesterov, rmsprop or adam (default {d.optimizer})",
    )
    g.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr})")
    g.add_argument("--steps", type=int, default=d.steps, help=f"updates (default {d.steps})")
    g.add_argument("--batch-size", type=int, default=None, help="default: full batch")
    g.add_argument("--seed", type=int, default=d.seed, help="seed of the initialization")


def config_from_args(args: argparse.Namespace) -> Any:
    """A validated RunConfig from parsed options (``--layers`` checked against the data)."""
    from initlab.config import RunConfig

    args.flags = {}
    if args.layers is not None and args.hidden is not None:
        raise ValueError("give --layers or --hidden, not both")
    fields: dict[str, Any] = {
        "dataset": args.dataset,
        "n_samples": args.n_samples,
        "noise": args.noise,
        "data_seed": args.data_seed,
        "activation": args.activation,
        "output_activation": args.output_activation,
        "loss": args.loss,
        "init": args.init,
        "bias_init": args.bias_init,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "dtype": args.dtype,
    }
    if args.hidden is not None:
        fields["hidden"] = _widths("--hidden", args.hidden, args)
    if args.layers is not None:
        if len(args.layers) < 2:
            raise ParameterError(
                "--layers",
                ",".join(map(str, args.layers)),
                _LAYERS,
                f"--layers {','.join(map(str, args.layers))}: needs at least the input and "
                "the output size, e.g. 2,10,5,1",
            )
        fields["hidden"] = _widths("--layers", args.layers, args)[1:-1]
    config = RunConfig(**fields)
    if args.layers is not None:
        ds = config.load_data()
        expected = config.layer_sizes(ds.n_features, ds.n_classes)
        if (args.layers[0], args.layers[-1]) != (expected[0], expected[-1]):
            raise ValueError(
                f"--layers {','.join(map(str, args.layers))} does not fit data set "
                f"{config.dataset!r}: it has {expected[0]} input features and needs "
                f"{expected[-1]} output unit(s), e.g. --layers "
                f"{','.join(map(str, expected))}"
            )
    return config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train one network and report cost and accuracy",
        description="Train one network: initialize with a scheme, pick an optimizer, then "
        "forward, cost, backpropagation and update, as in the seed.",
    )
    add_run_options(p)
    p.add_argument(
        "--diagnose",
        action="store_true",
        help="record per-layer statistics and print the table and the verdict",
    )
    p.add_argument(
        "--plot",
        metavar="DIR",
        default=None,
        help="write figures (PNG) to DIR (needs matplotlib: initlab[report])",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar (none is drawn off a terminal)"
    )
    p.set_defaults(func=run)


class _ProgressProbe:
    """A probe that moves the progress bar about 100 times over the run."""

    name = "progress"

    def __init__(self, steps: int, quiet: bool) -> None:
        from initlab._progress import ProgressBar
        from initlab.train import Schedule

        self.bar = ProgressBar(steps, "training", enabled=not quiet)
        self.schedule = Schedule.every(max(1, steps // 100))

    def wants(self, step: int, last: int) -> bool:
        return self.bar.live and self.schedule.wants(step, last)

    def __call__(self, event: Any) -> None:
        self.bar.update(event.step + 1, f"cost {float(event.cost[0]):.4g}")

    def result(self) -> None:
        return None


def run(args: argparse.Namespace) -> int:
    from initlab import config as C

    cfg = config_from_args(args)
    if args.plot:
        from initlab.cli import writable_dir

        writable_dir("--plot", args.plot)  # before the training, not after it
    diag = None
    probes: list[Any] = []
    if args.diagnose or args.plot:
        from initlab import diagnostics

        diag = diagnostics.LayerStats(every=max(1, cfg.steps // 20))
        probes.append(diag)
    progress = _ProgressProbe(cfg.steps, quiet=args.json or args.quiet)
    with progress.bar:
        result = C.run(cfg, probes=[progress, *probes])
    s = result.summary()
    if args.json:
        out = {"config": cfg.to_dict(), "result": s}
        if diag is not None:
            from initlab import diagnostics

            v = diagnostics.judge(result.history)
            out["verdict"] = [f.to_dict() for f in v.findings]
            out["verdict_summary"] = v.to_dict()
            out["layer_stats"] = [r.to_dict() for r in diagnostics.layer_stats(result.history)]
        print(dumps(out, indent=2))
        return 0
    ds = result.dataset
    sizes = ",".join(map(str, result.net.sizes))
    print(
        f"data     {ds.name}: {ds.n_train} train / {ds.n_test} test points, "
        f"{ds.n_features} features, {ds.n_classes} classes"
    )
    print(
        f"network  {sizes}  {cfg.activation} hidden, {result.net.activations[-1].name} output,"
        f" init {cfg.init}, bias {cfg.bias_init}"
    )
    print(
        f"training {cfg.optimizer} lr={cfg.lr:g}, {cfg.steps} steps, batch "
        f"{result.history.meta['batch_size']}, {result.seconds:.2f} s"
    )
    print(f"status   {s['status']}")
    if diag is None:  # with --diagnose the report below starts with the whole verdict
        from initlab import diagnostics

        print(f"verdict  {diagnostics.judge(result.history, predict=False).sentence}")
    print(
        f"cost     {result.history.cost[0, 0]:.6g} at step 0 -> {s['final_cost']:.6g} "
        "(training set)"
    )
    acc = f"train accuracy {s['train_accuracy']:.4f}"
    if s["test_accuracy"] is not None:
        acc += f", test accuracy {s['test_accuracy']:.4f}"
    print(f"result   {acc}")
    if diag is not None:
        from initlab import diagnostics

        print()
        print(diagnostics.report(result))
        if args.plot:
            from initlab import report

            skipped: list[str] = []
            paths = report.write_run_figures(result, args.plot, skipped=skipped)
            print(f"\nfigures written: {', '.join(str(p) for p in paths) or 'none'}")
            if skipped:
                print(f"figures not drawn: {'; '.join(skipped)}")
    return 0
