"""``initialize``: walk a torch model and initialize its layers with initlab's schemes.

The law of every entry comes from :func:`initlab.schemes.distribution` (one source of truth
with the NumPy schemes); this module decides the fans, the gain and the scheme of each layer
and samples with torch (see :mod:`initlab.torch._sample`).  Nothing is stored anywhere: the
function reads the model, writes the parameters in place under ``torch.no_grad()`` and returns
a plain summary.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from initlab import schemes
from initlab._text import format_table
from initlab.schemes import SchemeSpec
from initlab.torch._layers import (
    RECURRENT,
    SUPPORTED,
    SUPPORTED_NAMES,
    Weight,
    activation_gain,
    check_key,
    layer_weights,
    matches,
    recurrent_activation,
    sequential_activations,
)
from initlab.torch._sample import fill_, writer

__all__ = ["GAIN_SCHEMES", "InitSummary", "ParamInit", "initialize"]

#: The schemes whose gain is set from the activation (when the scheme spec does not fix it).
GAIN_SCHEMES = ("xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "orthogonal")
_ELEMENTWISE = ("constant", "normal", "uniform", "truncated_normal")
_OVERRIDE_FIELDS = ("scheme", "bias", "activation")

Activation = tuple[str, float] | None


@dataclass(frozen=True)
class ParamInit:
    """How one parameter was initialized.

    ``scheme`` is the spec chosen for the parameter (after overrides; ``"keep"`` for a bias left
    alone), ``fan_in``/``fan_out`` the fans of one chunk (a recurrent gate block when ``chunks >
    1``), ``gain`` the gain the scheme used (None for schemes without one), ``activation`` the
    activation known to follow the layer (given or inferred; the schemes in GAIN_SCHEMES take
    their gain from it; None: not known, so they keep their own default gain), ``std`` the
    standard deviation of the law the entries were drawn from (for the deterministic identity
    and dirac: the std of the entries set; None where nothing was written).
    """

    name: str
    module: str
    shape: tuple[int, ...]
    scheme: str
    fan_in: int | None
    fan_out: int | None
    gain: float | None
    activation: str | None
    std: float | None
    chunks: int = 1


@dataclass(frozen=True)
class InitSummary:
    """What :func:`initialize` did: one :class:`ParamInit` per parameter, in model order, and
    the modules with parameters it left alone (``untouched``: ``(module name, reason)``)."""

    params: tuple[ParamInit, ...]
    untouched: tuple[tuple[str, str], ...] = ()

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[ParamInit]:
        return iter(self.params)

    def __getitem__(self, key: int | str) -> ParamInit:
        if isinstance(key, str):
            for p in self.params:
                if p.name == key:
                    return p
            raise KeyError(f"no parameter {key!r}; initialized: {', '.join(self.names)}")
        return self.params[key]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def to_dicts(self) -> list[dict[str, Any]]:
        """The records as plain dicts (JSON-ready)."""
        return [{**asdict(p), "shape": list(p.shape)} for p in self.params]

    def __str__(self) -> str:
        headers = (
            "parameter",
            "module",
            "shape",
            "scheme",
            "fan_in",
            "fan_out",
            "gain",
            "act",
            "std",
        )
        rows = [
            (
                p.name,
                p.module,
                "x".join(map(str, p.shape)) + (f" ({p.chunks} gates)" if p.chunks > 1 else ""),
                p.scheme,
                p.fan_in,
                p.fan_out,
                p.gain,
                p.activation,
                p.std,
            )
            for p in self.params
        ]
        text = format_table(headers, rows)
        if self.untouched:
            text += "\nleft alone: " + "; ".join(
                f"{n or '<model>'} ({r})" for n, r in self.untouched
            )
        return text


# --------------------------------------------------------------------------- argument checks


def _as_scheme(value: Any, param: str) -> SchemeSpec:
    if not isinstance(value, str | SchemeSpec):
        raise TypeError(
            f"{param} must be a scheme name or spec such as 'he_normal' or "
            f"'random_normal:std=0.02', got {value!r}"
        )
    spec = schemes.parse_scheme(value)
    if spec.info.data_dependent:
        raise ValueError(
            f"{param}={str(value)!r} is data-dependent: use initlab.torch.lsuv(model, batch), "
            "which starts from an orthogonal draw and rescales each layer on a batch"
        )
    return spec


def _as_bias(value: Any, param: str = "bias") -> SchemeSpec | None:
    """None or "keep": leave biases alone; a number: that constant; else an elementwise scheme."""
    if value is None or (isinstance(value, str) and value.strip() == "keep"):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return schemes.get("constant", value=float(value))
    if not isinstance(value, str | SchemeSpec):
        raise TypeError(
            f"{param} must be 'zeros', 'keep', a number, or an elementwise scheme spec such as "
            f"'torch_default' or 'random_normal:std=0.01', got {value!r}"
        )
    spec = schemes.parse_scheme(value)
    law = schemes.distribution(spec, 4, 4)
    if law is None or law.kind not in _ELEMENTWISE:
        raise ValueError(
            f"{param}={str(value)!r}: a bias takes an elementwise scheme (zeros, constant, "
            "random_normal, random_uniform, truncated_normal, torch_default, he_*, xavier_*, "
            "...), not a structured one"
        )
    return spec


def _as_keys(value: Any, param: str) -> list[Any]:
    if value is None:
        return []
    items = [value] if isinstance(value, str | type) else list(value)
    for k in items:
        check_key(param, k)
    return items


def _as_override(key: Any, value: Any) -> dict[str, Any]:
    where = f"overrides[{key!r}]"
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(_OVERRIDE_FIELDS))
        if unknown:
            raise ValueError(
                f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(_OVERRIDE_FIELDS)}"
            )
        out: dict[str, Any] = {}
        if "scheme" in value:
            out["scheme"] = _as_scheme(value["scheme"], f"{where}['scheme']")
        if "bias" in value:
            out["bias"] = _as_bias(value["bias"], f"{where}['bias']")
        if "activation" in value:
            a = value["activation"]
            out["activation"] = None if a is None else activation_gain(a)
        return out
    return {"scheme": _as_scheme(value, where)}


class _Generators:
    """The generator for each parameter: the one given (its device checked), or per-device
    generators seeded from an int, or None (torch's default generator)."""

    def __init__(self, generator: Any) -> None:
        if generator is not None and not isinstance(generator, torch.Generator):
            if isinstance(generator, bool) or not isinstance(generator, numbers.Integral):
                raise TypeError(
                    f"generator must be a torch.Generator, a non-negative int seed or None, "
                    f"got {generator!r}"
                )
            if int(generator) < 0:
                raise ValueError(f"generator seed must be >= 0, got {generator!r}")
        self.generator = generator
        self._seeded: dict[torch.device, torch.Generator] = {}

    def check(self, t: torch.Tensor, name: str) -> None:
        g = self.generator
        if isinstance(g, torch.Generator):
            gd, td = g.device, t.device
            if gd.type != td.type or (gd.index is not None and td.index not in (None, gd.index)):
                raise ValueError(
                    f"generator is on device {gd} but parameter {name!r} is on {td}; pass a "
                    f"torch.Generator(device={str(td)!r}) or an int seed"
                )

    def __call__(self, t: torch.Tensor) -> torch.Generator | None:
        g = self.generator
        if g is None or isinstance(g, torch.Generator):
            return g
        if t.device not in self._seeded:
            self._seeded[t.device] = torch.Generator(device=t.device).manual_seed(int(g))
        return self._seeded[t.device]


# --------------------------------------------------------------------------- planning


@dataclass
class _Step:
    """One parameter to write: ``run(generator)`` writes it; ``record`` describes it."""

    tensor: torch.Tensor
    run: Callable[[torch.Generator | None], None]
    record: ParamInit


def with_gain(spec: SchemeSpec, activation: Activation) -> tuple[SchemeSpec, float | None]:
    """The spec with ``gain`` set from ``activation`` (for :data:`GAIN_SCHEMES`, unless the spec
    fixes ``gain`` itself), and the gain the scheme will use (None if it has none)."""
    info = spec.info
    if activation is not None and info.name in GAIN_SCHEMES and "gain" not in spec.params:
        spec = schemes.get(spec, gain=activation[1])
    defaults = info.defaults
    gain = spec.params.get("gain", defaults.get("gain")) if "gain" in defaults else None
    return spec, None if gain is None else float(gain)


def _writer(
    spec: SchemeSpec, w: Weight, shape: tuple[int, ...]
) -> tuple[Callable[[torch.Tensor, torch.Generator | None], None], float | None]:
    """How to fill one chunk of shape ``shape`` with ``spec``, and the std of what it writes:
    the scheme's one definition in the registry, sampled with torch (:func:`writer`)."""
    return writer(spec, w, shape)


def _weight_steps(
    qual: str,
    module: nn.Module,
    w: Weight,
    spec: SchemeSpec,
    bias: SchemeSpec | None,
    act: Activation,
) -> list[_Step]:
    pname = f"{qual}.{w.name}" if qual else w.name
    shape = tuple(w.tensor.shape)
    mtype = type(module).__name__
    shown = str(spec)  # the scheme as chosen; the gain column shows the gain actually used
    spec, gain = with_gain(spec, act)
    label = None if act is None else act[0]
    steps: list[_Step] = []
    if w.tensor.numel() == 0:
        rec = ParamInit(pname, mtype, shape, shown, None, None, gain, label, None, w.chunks)
        return [_Step(w.tensor, lambda gen: None, rec)]
    chunk_shape = (shape[0] // w.chunks, *shape[1:])
    try:
        write, std = _writer(spec, w, chunk_shape)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{pname} ({mtype}, shape {shape}): {exc}") from exc
    views = w.chunk_views()
    padding = w.padding_idx

    def run_weight(gen: torch.Generator | None) -> None:
        for view in views:
            write(view, gen)
        if padding is not None:
            w.tensor[padding].fill_(0.0)

    rec = ParamInit(
        pname, mtype, shape, shown, w.fans.fan_in, w.fans.fan_out, gain, label, std, w.chunks
    )
    steps.append(_Step(w.tensor, run_weight, rec))
    for bname, b in w.biases:
        bq = f"{qual}.{bname}" if qual else bname
        bshape = tuple(b.shape)
        if bias is None:
            rec = ParamInit(bq, mtype, bshape, "keep", None, None, None, None, None, w.chunks)
            steps.append(_Step(b, lambda gen: None, rec))
            continue
        law = schemes.distribution(bias, w.fans.fan_in, w.fans.fan_out)

        def run_bias(gen: torch.Generator | None, b: torch.Tensor = b, law: Any = law) -> None:
            fill_(b, law, gen)

        fans = (w.fans.fan_in, w.fans.fan_out)
        rec = ParamInit(bq, mtype, bshape, str(bias), *fans, None, None, law.std, w.chunks)
        steps.append(_Step(b, run_bias, rec))
    return steps


@dataclass
class Plan:
    """The layers :func:`initialize` will write, checked, and the modules it leaves alone."""

    layers: list[tuple[str, nn.Module]]
    steps: list[_Step]
    untouched: list[tuple[str, str]]


def _check_materialized(qual: str, module: nn.Module) -> None:
    for pname, p in module.named_parameters(recurse=False):
        full = f"{qual}.{pname}" if qual else pname
        if isinstance(p, nn.parameter.UninitializedParameter):
            raise ValueError(
                f"parameter {full!r} of {type(module).__name__} is not materialized yet (a lazy "
                "module); run one forward pass first, then initialize"
            )
        if p.is_meta:
            raise ValueError(
                f"parameter {full!r} is on the meta device, which holds no values; materialize "
                "the model first, e.g. model.to_empty(device='cpu'), then initialize it"
            )


def plan(
    model: nn.Module,
    scheme: Any = "he_normal",
    bias: Any = "zeros",
    activation: Any = None,
    *,
    overrides: Mapping[Any, Any] | None = None,
    skip: Any = None,
    generators: _Generators | None = None,
    write: bool = True,
) -> Plan:
    """Check every argument and build the list of writes, touching no parameter.

    With ``write=False`` only the layers are collected (used by LSUV without a start scheme)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    base_scheme = _as_scheme(scheme, "scheme")
    base_bias = _as_bias(bias)
    explicit = None if activation is None else activation_gain(activation)
    skip_keys = _as_keys(skip, "skip")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise TypeError(
            f"overrides must be a mapping {{module type or name pattern: scheme or dict}}, "
            f"got {type(overrides).__name__}"
        )
    override_items = []
    for key, value in (overrides or {}).items():
        check_key("overrides", key)
        override_items.append((key, _as_override(key, value)))
    # types first, then name patterns: a name pattern beats a type, later beats earlier
    override_items.sort(key=lambda kv: isinstance(kv[0], str))

    modules = list(model.named_modules())
    names = [n or "<model>" for n, _ in modules]
    for key in [*skip_keys, *(k for k, _ in override_items)]:
        if not any(matches(n, m, key) for n, m in modules):
            what = key.__name__ if isinstance(key, type) else repr(key)
            shown = ", ".join(names[:30]) + (" ..." if len(names) > 30 else "")
            raise ValueError(f"{what} (in skip or overrides) matches no module; modules: {shown}")

    inferred = sequential_activations(model) if explicit is None else {}
    skipped: list[str] = []
    layers: list[tuple[str, nn.Module]] = []
    untouched: list[tuple[str, str]] = []
    steps: list[_Step] = []
    n_supported = sum(isinstance(m, SUPPORTED) for _, m in modules)
    for qual, module in modules:
        if any(qual == s or s == "" or qual.startswith(s + ".") for s in skipped):
            continue
        if any(matches(qual, module, k) for k in skip_keys):
            skipped.append(qual)
            untouched.append((qual, "skip"))
            continue
        supported = isinstance(module, SUPPORTED)
        if supported and torch.nn.utils.parametrize.is_parametrized(module):
            skipped.append(qual)  # its parametrizations are left alone too
            untouched.append((qual, f"{type(module).__name__} with parametrized weights"))
            continue
        if not supported:
            if any(True for _ in module.parameters(recurse=False)):
                untouched.append(
                    (qual, f"{type(module).__name__}: not a layer initlab initializes")
                )
            continue
        _check_materialized(qual, module)
        layers.append((qual, module))
        if not write:
            continue
        act: Activation = explicit
        if act is None:
            act = (
                recurrent_activation(module)
                if isinstance(module, RECURRENT)
                else inferred.get(id(module))
            )
        choice = {"scheme": base_scheme, "bias": base_bias, "activation": act}
        for key, fields in override_items:
            if matches(qual, module, key):
                choice.update(fields)
        for w in layer_weights(module):
            if generators is not None:
                generators.check(w.tensor, f"{qual}.{w.name}" if qual else w.name)
            steps.extend(
                _weight_steps(
                    qual, module, w, choice["scheme"], choice["bias"], choice["activation"]
                )
            )
    if n_supported == 0:
        found = sorted({type(m).__name__ for _, m in modules})
        raise ValueError(
            f"the model has no layer initlab.torch can initialize ({SUPPORTED_NAMES}); "
            f"its modules are: {', '.join(found)}"
        )
    if not layers:
        alone = "; ".join(f"{n or '<model>'} ({r})" for n, r in untouched)
        raise ValueError(
            f"every initializable layer of the model was skipped or is parametrized; left alone: "
            f"{alone}"
        )
    return Plan(layers, steps, untouched)


def initialize(
    model: nn.Module,
    scheme: str | SchemeSpec = "he_normal",
    bias: str | SchemeSpec | float | None = "zeros",
    activation: Any = None,
    generator: torch.Generator | int | None = None,
    *,
    overrides: Mapping[Any, Any] | None = None,
    skip: Any = None,
) -> InitSummary:
    """Initialize every Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding and the weights of
    RNN/LSTM/GRU in ``model`` with an initlab scheme; return an :class:`InitSummary`.

    * ``scheme``: any registered scheme or spec (``"he_normal"``, ``"xavier_uniform"``,
      ``"orthogonal"``, ``"random_normal:std=0.02"``, ``"he_normal:mode=fan_out"``, ...).  The
      entries of a weight with fans ``F`` follow ``schemes.distribution(scheme, F)``, e.g.
      he_normal: ``W ~ N(0, gain^2 / fan_in)``; xavier_uniform: ``W ~ U(-l, l)``,
      ``l = gain sqrt(6 / (fan_in + fan_out))``.  Fans: see :mod:`initlab.torch._layers`
      (ConvTranspose and recurrent gates differ from ``torch.nn.init`` on purpose).
    * ``bias``: ``"zeros"`` (default), ``"keep"``/None (leave as is), a number (that constant),
      or an elementwise scheme drawn with the layer weight's fans, e.g. ``"torch_default"``:
      ``b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, PyTorch's own bias rule.
    * ``activation`` and the gain: for the schemes in :data:`GAIN_SCHEMES` (Xavier, He,
      orthogonal) whose spec does not fix ``gain``, ``gain = calculate_gain(activation)``.
      He thus becomes ``Var(W) = gain^2 / fan_in`` for the activation actually used (ReLU:
      ``2 / fan_in`` as usual; tanh: ``(5/3)^2 / fan_in``; GELU: ``1.5335^2 / fan_in``; a linear
      output layer: ``1 / fan_in``, LeCun), and Xavier ``gain^2 * 2 / (fan_in + fan_out)``.
      ``activation=None`` (default) infers it per layer: inside ``nn.Sequential`` chains from
      the next module (looking through dropout, normalisation, pooling and reshaping; another
      layer or the end of a Sequential that is the model itself means linear, gain 1), for
      ``nn.RNN`` from its ``nonlinearity``; where nothing is known the scheme keeps its own
      default gain (He ``sqrt(2)``, Xavier and orthogonal 1).  An explicit ``activation``
      (``"relu"``, ``"leaky_relu:0.2"``, an ``nn.Module`` such as ``nn.GELU()``, or a callable)
      applies to every layer.  Identity, dirac, LeCun, torch_default and the plain schemes never
      take a gain from the activation.
    * ``generator``: a ``torch.Generator`` on the parameters' device, an int seed (one generator
      per device, seeded with it), or None (torch's default generator).  Every draw goes
      through it, in model order, weight then its bias.
    * ``overrides``: ``{key: scheme}`` or ``{key: {"scheme": ..., "bias": ..., "activation":
      ...}}``; a key is a module type (``nn.Conv2d``, matched with isinstance) or an fnmatch
      pattern on the module's qualified name (``"classifier.*"``, ``"encoder.0"``).  Fields of
      every matching key are merged: type keys first, then name patterns, each in the mapping's
      order, so a name pattern beats a type and a later key beats an earlier one.
    * ``skip``: module types or name patterns to leave alone, with all their submodules.

    Keys that match no module, unknown schemes, structured schemes on the wrong layer (identity
    on a conv, dirac on a Linear), meta-device or lazy parameters, and a model with no layer to
    initialize raise before any parameter is written.  Sampling runs on each parameter's device
    and in its dtype (bfloat16 and float16 included) under ``torch.no_grad()``.

    Example::

        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        summary = initialize(model, "he_normal", generator=torch.Generator().manual_seed(0))
        print(summary)   # 0.weight gain sqrt(2) (relu), 2.weight gain 1 (linear output)
    """
    gens = _Generators(generator)
    p = plan(model, scheme, bias, activation, overrides=overrides, skip=skip, generators=gens)
    with torch.no_grad():
        for step in p.steps:
            step.run(gens(step.tensor))
    return InitSummary(tuple(s.record for s in p.steps), tuple(p.untouched))
