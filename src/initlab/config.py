"""Run configurations: the one schema the CLI, the study and the web page all speak, and the
function that turns configurations into trained networks.

``RunConfig`` is a frozen dataclass of plain values (names and numbers, JSON-ready), validated
when it is made: a bad value raises a ValueError naming the field, the value and what is
allowed.  :func:`run` executes one configuration, or several compatible ones as one population
(K networks trained in one pass), and returns a :class:`RunResult`.

The flow (see DESIGN.md): ``RunConfig -> dataset -> Network (built by an init scheme) -> train
loop -> History -> verdict``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._checks import (
    Choice,
    Integer,
    ParameterError,
    ParameterTypeError,
    Parsed,
    Real,
    Widths,
    suggest,
    validate,
)
from initlab.activations import parse_activation
from initlab.losses import LOSSES, get_loss
from initlab.network import Network, init_network
from initlab.optim import OPTIMIZERS, get_optimizer
from initlab.schemes import available as _schemes
from initlab.schemes import parse_scheme
from initlab.train import Evaluate, History, Probe, Trainer

__all__ = [
    "LIMITS",
    "MEMBER_FIELDS",
    "SPEC",
    "Prepared",
    "RunConfig",
    "RunResult",
    "check_limits",
    "init_population",
    "make_trainer",
    "prepare",
    "run",
]

DTYPES = ("float64", "float32")

#: Limits that keep one request of the web page (or any untrusted caller) from exhausting
#: memory or CPU; the CLI does not apply them.  See :func:`check_limits`.
LIMITS: dict[str, int] = {
    "hidden_layers": 10,
    "units": 256,
    "n_samples": 5000,
    "steps": 100_000,
    "batch_size": 5000,
    "population": 16,
}


def _hidden_activation(spec: Any) -> str:
    g = parse_activation(spec)
    if not g.elementwise:
        raise ValueError(f"activation={spec!r} can only be an output activation")
    return g.spec


def _datasets() -> tuple[str, ...]:
    from initlab.data import DATASETS

    return tuple(DATASETS)


def _activations() -> tuple[str, ...]:
    from initlab.activations import ACTIVATIONS

    return tuple(ACTIVATIONS)


_SCHEME = "a scheme name from `initlab schemes` with optional parameters, e.g. he_normal"

#: ``RunConfig``'s constraints, one per field, as data (see :mod:`initlab._checks`); a bad
#: value raises a ParameterError whose ``field`` is the RunConfig field.
SPEC: dict[str, Any] = {
    "dataset": Choice(_datasets),
    "n_samples": Integer(minimum=4, none_ok=True),
    "noise": Real(low=0.0, none_ok=True),
    "test_fraction": Real(low=0.0, high=1.0, high_inclusive=False),
    "data_seed": Integer(minimum=0),
    "hidden": Widths(minimum=1),
    "activation": Parsed(_hidden_activation, "an elementwise activation, e.g. relu", _activations),
    "output_activation": Parsed(
        lambda v: parse_activation(v).spec,
        "an activation, e.g. sigmoid or softmax",
        _activations,
        none_ok=True,
    ),
    "loss": Parsed(
        lambda v: get_loss(v).name, "one of: " + ", ".join(LOSSES), lambda: LOSSES, none_ok=True
    ),
    "init": Parsed(lambda v: str(parse_scheme(v, field="init")), _SCHEME, _schemes),
    "bias_init": Parsed(lambda v: str(parse_scheme(v, field="bias_init")), _SCHEME, _schemes),
    "optimizer": Choice(lambda: (*OPTIMIZERS, "sgd")),
    "lr": Real(low=0.0, low_inclusive=False),
    "steps": Integer(minimum=1),
    "batch_size": Integer(minimum=1, none_ok=True),
    "seed": Integer(minimum=0),
    "dtype": Choice(lambda: DTYPES),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run.

    The network is ``n_features -> hidden... -> n_outputs``; the input and output widths come
    from the data set.  ``output_activation`` and ``loss`` default to what the data calls for:
    sigmoid + binary_cross_entropy for two classes, softmax + cross_entropy for more.
    """

    dataset: str = "circles"
    n_samples: int | None = None
    noise: float | None = None
    test_fraction: float = 0.25
    data_seed: int = 0
    hidden: tuple[int, ...] = (10, 5)
    activation: str = "relu"
    output_activation: str | None = None
    loss: str | None = None
    init: str = "he_normal"
    bias_init: str = "zeros"
    optimizer: str = "adam"
    lr: float = 0.01
    steps: int = 2000
    batch_size: int | None = None
    seed: int = 0
    dtype: str = "float64"

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, value in validate(SPEC, values).items():
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ plain data

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """Build from a mapping (JSON, a web request); unknown keys are an error."""
        if not isinstance(d, Mapping):
            raise ParameterTypeError(
                "config",
                d,
                "a mapping of RunConfig fields",
                f"a run configuration must be a mapping, got {type(d).__name__}",
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(str(k) for k in d if k not in names)
        if unknown:
            raise ParameterError(
                unknown[0],
                d[unknown[0]] if unknown[0] in d else None,
                "the fields: " + ", ".join(names),
                f"unknown configuration field(s) {', '.join(map(repr, unknown))}"
                f"{suggest(unknown[0], names)}; the fields are: {', '.join(names)}",
            )
        return cls(**dict(d))

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ derived

    def output_spec(self, n_classes: int) -> tuple[str, str, int]:
        """``(output_activation, loss, n_outputs)`` for a data set with ``n_classes``."""
        binary = n_classes == 2
        loss = self.loss or ("binary_cross_entropy" if binary else "cross_entropy")
        default_out = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}.get(
            loss, "linear"
        )
        out = self.output_activation or default_out
        n_out = 1 if (binary and loss != "cross_entropy") else n_classes
        get_loss(loss).check_output(parse_activation(out))
        return out, loss, n_out

    def layer_sizes(self, n_features: int, n_classes: int) -> tuple[int, ...]:
        return (n_features, *self.hidden, self.output_spec(n_classes)[2])

    def load_data(self) -> Any:
        """The data set this configuration trains on."""
        from initlab.data import load

        return load(
            self.dataset,
            n_samples=self.n_samples,
            noise=self.noise,
            seed=self.data_seed,
            test_fraction=self.test_fraction,
        )

    def label(self) -> str:
        """A short human label, e.g. ``"he_normal / relu / adam lr=0.01"``."""
        return f"{self.init} / {self.activation} / {self.optimizer} lr={self.lr:g}"


def check_limits(config: RunConfig, limits: Mapping[str, int] = LIMITS) -> RunConfig:
    """Raise a ParameterError if ``config`` asks for more than ``limits`` allow (web requests);
    its ``field`` is the RunConfig field at fault."""
    checks = [
        ("hidden_layers", "hidden", len(config.hidden), "hidden layers"),
        ("units", "hidden", max(config.hidden, default=0), "units in a hidden layer"),
        ("n_samples", "n_samples", config.n_samples or 0, "points (n_samples)"),
        ("steps", "steps", config.steps, "steps"),
        ("batch_size", "batch_size", config.batch_size or 0, "batch_size"),
    ]
    for key, field_name, value, what in checks:
        if value > limits[key]:
            raise ParameterError(
                field_name,
                getattr(config, field_name),
                f"at most {limits[key]} {what}",
                f"{field_name}: {what} = {value} exceeds the limit of {limits[key]}",
            )
    return config


# ------------------------------------------------------------------------ running

#: the fields in which the members of one population may differ (everything else is shared)
MEMBER_FIELDS = ("init", "bias_init", "seed", "lr")


@dataclass
class RunResult:
    """What :func:`run` returns: the member configurations, the data, the initial and the trained
    population, and the history (``history.cost[k]`` belongs to ``configs[k]``)."""

    configs: list[RunConfig]
    dataset: Any
    initial: Network
    net: Network
    history: History
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> RunConfig:
        return self.configs[0]

    def summary(self, k: int = 0) -> dict[str, Any]:
        """Final numbers of member ``k`` as plain data."""
        h = self.history
        test = h.records.get("test")
        train = h.records.get("train")
        return {
            "label": self.configs[k].label(),
            "status": h.status(k),
            "final_cost": float(h.final_cost[k]),
            "train_accuracy": None if train is None else float(train["accuracy"][-1, k]),
            "test_accuracy": None if test is None else float(test["accuracy"][-1, k]),
            "steps_run": h.steps_run,
        }


def _shared_part(c: RunConfig) -> dict[str, Any]:
    d = c.to_dict()
    for f in MEMBER_FIELDS:
        d.pop(f)
    return d


@dataclass
class Prepared:
    """A population of configurations made concrete: the data, the output activation and loss
    the data calls for, the layer sizes and the targets (see :func:`prepare`)."""

    configs: list[RunConfig]
    dataset: Any
    output_activation: str
    loss: str
    sizes: tuple[int, ...]
    Y_train: np.ndarray
    Y_test: np.ndarray

    @property
    def config(self) -> RunConfig:
        return self.configs[0]


def prepare(configs: RunConfig | Sequence[RunConfig]) -> Prepared:
    """Check that the configurations can train as one population (they may differ only in
    ``init``, ``bias_init``, ``seed`` and ``lr``), load the data and derive the layer sizes,
    the output activation, the loss and the targets."""
    cs = [configs] if isinstance(configs, RunConfig) else list(configs)
    if not cs:
        raise ValueError("need at least one configuration")
    base = _shared_part(cs[0])
    for i, c in enumerate(cs[1:], 1):
        other = _shared_part(c)
        diff = sorted(k for k in base if base[k] != other[k])
        if diff:
            raise ParameterError(
                diff[0],
                other[diff[0]],
                f"the value of configuration 0 ({base[diff[0]]!r}): a population may differ only "
                f"in {', '.join(MEMBER_FIELDS)}",
                f"configurations 0 and {i} differ in {', '.join(diff)}; a population may differ "
                f"only in {', '.join(MEMBER_FIELDS)}",
            )
    c0 = cs[0]
    ds = c0.load_data()
    out_act, loss, _ = c0.output_spec(ds.n_classes)
    sizes = c0.layer_sizes(ds.n_features, ds.n_classes)
    kind = "binary" if sizes[-1] == 1 else "one_hot"
    Y_test = ds.targets("test", kind) if ds.n_test else np.empty((0, sizes[-1]))
    return Prepared(cs, ds, out_act, loss, sizes, ds.targets("train", kind), Y_test)


def init_population(p: Prepared) -> Network:
    """The initial population of ``p``: member k built with ``configs[k]``'s schemes and seed
    (data-dependent schemes such as LSUV see the training inputs)."""
    c0 = p.config
    return init_network(
        p.sizes,
        c0.activation,
        p.output_activation,
        [c.init for c in p.configs],
        [c.bias_init for c in p.configs],
        population=len(p.configs),
        seed=[c.seed for c in p.configs],
        dtype=np.dtype(c0.dtype),
        data=p.dataset.X_train,
    )


def make_trainer(
    p: Prepared,
    net: Network,
    probes: Sequence[Probe] = (),
    eval_every: int | None = None,
) -> Trainer:
    """A :class:`Trainer` for ``net`` on ``p``'s training data with the configurations'
    optimizer, learning rates (one per member), batch size and seed.  With ``eval_every``,
    ``Evaluate`` probes named "train" and "test" come first in the probe list."""
    c0 = p.config
    evals: list[Probe] = []
    if eval_every is not None:
        evals.append(Evaluate(p.dataset.X_train, p.Y_train, every=eval_every, name="train"))
        if p.dataset.n_test:
            evals.append(Evaluate(p.dataset.X_test, p.Y_test, every=eval_every, name="test"))
    lr = np.array([c.lr for c in p.configs]) if len(p.configs) > 1 else c0.lr
    return Trainer(
        net,
        p.dataset.X_train,
        p.Y_train,
        loss=p.loss,
        optimizer=get_optimizer(c0.optimizer, lr),
        batch_size=c0.batch_size,
        seed=c0.seed,
        probes=[*evals, *probes],
    )


def run(
    configs: RunConfig | Sequence[RunConfig],
    probes: Sequence[Probe] | Callable[[Any], Sequence[Probe]] = (),
    *,
    eval_every: int | None = None,
) -> RunResult:
    """Train one configuration, or several as one population.

    Several configurations must agree on everything but ``init``, ``bias_init``, ``seed`` and
    ``lr`` (they then train in one batched pass).  ``probes`` is a list of probes, or a function
    ``dataset -> probes`` for probes that need the data.  Train and test cost/accuracy are
    recorded every ``eval_every`` steps (default: 50 times per run) under ``records["train"]``
    and ``records["test"]``.
    """
    p = prepare(configs)
    t0 = time.perf_counter()
    net = init_population(p)
    initial = net.copy()
    user = probes(p.dataset) if callable(probes) else probes
    trainer = make_trainer(p, net, user, eval_every or max(1, p.config.steps // 50))
    trainer.run(p.config.steps)
    history = trainer.history()
    history.meta["configs"] = [c.to_dict() for c in p.configs]
    history.meta["dataset"] = p.dataset.to_dict()
    return RunResult(p.configs, p.dataset, initial, net, history, time.perf_counter() - t0)
