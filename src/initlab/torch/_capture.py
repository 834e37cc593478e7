"""What :func:`initlab.torch.inspect` and :class:`initlab.torch.Watch` share: which layers are
observed, which activation follows each, the hooks that capture one pass, and the conversion of
what they capture into the arrays and the :class:`initlab.train.StepEvent` of initlab's NumPy
diagnostics, so that :class:`initlab.diagnostics.LayerStats` computes every statistic and
:func:`initlab.diagnostics.verdict` decides, exactly as for the NumPy engine.

The mapping, for each observed layer ``l`` (Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d) in the
order the forward pass first calls them:

==========================  =======================================================================
NumPy engine (K = 1)        torch
==========================  =======================================================================
``Z_l`` (m, n)              the layer's output.  Linear: ``(..., out)`` -> rows ``(m, out)`` with
                            ``m`` = every leading position.  Conv: **channels are the units**:
                            ``(N, C, *spatial)`` -> ``(N * prod(spatial), C)``, one row per example
                            and position (an unbatched ``(C, *spatial)`` likewise)
``A_l`` (m, n)              the output of the activation module that follows the layer in an
                            ``nn.Sequential`` chain (found the way :func:`initialize` infers
                            gains: dropout, normalisation, pooling and reshaping are looked
                            through), turned into rows the same way (a flattened conv output is
                            ``(N, C * P)``, channel-major, so it maps back to ``(N * P, C)``).
                            No activation (another layer or the model's end follows): ``A = Z``
                            and the activation is ``linear``.  Not in a Sequential chain (a
                            custom module's forward): ``A = Z`` and the activation is
                            ``unknown``, so the saturation and dead-unit rules do not apply
``W_l`` (fan_in, n)         Linear ``(out, in)`` transposed; Conv ``(out, in/g, *k)`` ->
                            ``(in/g * prod(k), out)``; ConvTranspose ``(in, out/g, *k)`` ->
                            ``(in/g * prod(k), out)`` (each output channel's incoming weights)
``b_l`` (n,)                the bias (zeros when the layer has none)
``dZ_l``, ``dA_l``          gradients of the loss w.r.t. those outputs, as rows like ``Z``, ``A``
``dW_l``, ``db_l``          gradients of the loss w.r.t. the weight and bias, laid out like them
==========================  =======================================================================

A layer called several times in one pass contributes the rows of every call.  Everything is
copied to CPU float64 NumPy arrays as soon as it is captured (detached), so the statistics are
computed in float64 whatever the model's dtype and device.

Capturing never changes what the model computes: every hook returns nothing (the forward
pass and its graph are the model's own), values are copied the moment they are produced, and a
tensor hook registered on an output receives the gradient with respect to that output as it was
then, also when an in-place module that follows (``nn.ReLU(inplace=True)``) overwrites it
(PyTorch's behaviour for tensor hooks and in-place operations; the tests check it against the
NumPy engine).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab.activations import Activation, parse_activation
from initlab.network import Cache, Grads, Network
from initlab.torch._layers import (
    _NOT_ELEMENTWISE,
    CONV,
    CONV_TRANSPOSE,
    SUPPORTED,
    TRANSPARENT,
    _flatten,
    _is_activation_module,
)
from initlab.train import StepEvent

__all__ = [
    "INSPECTED",
    "INSPECTED_NAMES",
    "Capture",
    "Site",
    "describe",
    "find_sites",
    "initlab_activation",
    "step_event",
    "to_numpy",
]

#: Modules an input passes through unchanged in value for the graph's purpose (elementwise
#: masks and identities): the layer after one still reads the layer before's activation.
PASS_THROUGH: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.Identity,
)


def _opaque(m: nn.Module) -> bool:
    """Modules with children that compute without calling them (attention's projections)."""
    return isinstance(m, nn.MultiheadAttention | nn.RNNBase)


#: The layers whose statistics are recorded.
INSPECTED: tuple[type[nn.Module], ...] = (nn.Linear, *CONV, *CONV_TRANSPOSE)
INSPECTED_NAMES = "Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d (and their subclasses)"

_LINEAR = parse_activation("linear")
#: The activation of a layer whose following nonlinearity is not known from the model's
#: structure: ``A = Z`` is recorded and no activation-specific rule applies.
UNKNOWN = dataclasses.replace(_LINEAR, name="unknown")

_BY_TYPE: list[tuple[type[nn.Module], str]] = [
    (nn.ReLU, "relu"),
    (nn.Tanh, "tanh"),
    (nn.Sigmoid, "sigmoid"),
    (nn.GELU, "gelu"),
    (nn.SiLU, "silu"),
    (nn.SELU, "selu"),
    (nn.Softplus, "softplus"),
    (nn.Mish, "mish"),
    (nn.Softmax, "softmax"),
    (nn.Identity, "linear"),
]


def initlab_activation(module: nn.Module | None) -> Activation:
    """The initlab activation (its name drives the saturation and dead-unit rules) of a torch
    activation module; ``None`` (no activation follows) is ``linear``.

    ``nn.ReLU`` -> relu, ``nn.Tanh`` -> tanh, ``nn.Sigmoid`` -> sigmoid, ``nn.GELU`` -> gelu,
    ``nn.SiLU`` -> silu, ``nn.LeakyReLU(a)`` -> ``leaky_relu:a``, ``nn.ELU(a)`` -> ``elu:a``,
    ``nn.SELU`` -> selu, ``nn.Softplus`` -> softplus, ``nn.Mish`` -> mish, ``nn.Softmax`` ->
    softmax, ``nn.Identity`` -> linear; any other module keeps its lower-cased class name (e.g.
    ``hardtanh``), for which no activation-specific rule applies."""
    if module is None:
        return _LINEAR
    for cls, name in _BY_TYPE:
        if isinstance(module, cls):
            return parse_activation(name)
    if isinstance(module, nn.LeakyReLU):
        return parse_activation(f"leaky_relu:{float(module.negative_slope)!r}")
    if isinstance(module, nn.ELU):
        return parse_activation(f"elu:{float(module.alpha)!r}")
    return dataclasses.replace(_LINEAR, name=type(module).__name__.lower())


def _following(model: nn.Module) -> dict[int, nn.Module | None]:
    """``id(layer) -> the activation module after it`` (None: linear) for every supported layer
    of an ``nn.Sequential`` chain whose activation is known; the same walk as
    :func:`initlab.torch._layers.sequential_activations` (which returns gains, not modules)."""
    modules = dict(model.named_modules())
    roots = {""}
    if isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
        roots.add("module")
    out: dict[int, nn.Module | None] = {}
    for name, m in modules.items():
        if not isinstance(m, nn.Sequential):
            continue
        parent = name.rpartition(".")[0] if name else None
        if parent is not None and isinstance(modules.get(parent), nn.Sequential):
            continue
        items = list(_flatten(m))
        for i, item in enumerate(items):
            if not isinstance(item, INSPECTED) or id(item) in out:
                continue
            known, act = False, None
            for nxt in items[i + 1 :]:
                if isinstance(nxt, TRANSPARENT):
                    continue
                if isinstance(nxt, SUPPORTED):
                    known = True
                elif _is_activation_module(nxt) and not isinstance(nxt, _NOT_ELEMENTWISE):
                    known, act = True, nxt
                break
            else:
                known = name in roots
            if known:
                out[id(item)] = act
    return out


def _matrix(module: nn.Module, w: torch.Tensor) -> np.ndarray:
    """A weight (or its gradient, or an update) as the engine's ``(fan_in, units)`` matrix."""
    t = w.detach()
    if isinstance(module, CONV_TRANSPOSE):
        g = module.groups
        cin, cout_g = t.shape[0], t.shape[1]
        t = t.reshape(g, cin // g, cout_g, -1).permute(0, 2, 1, 3).reshape(g * cout_g, -1)
    else:
        t = t.reshape(t.shape[0], -1)
    return to_numpy(t.T)  # one copy: converted and laid out contiguously at once


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A detached CPU float64 copy of ``t`` as a NumPy array (one copy: the conversion's own,
    or a clone when ``t`` is already CPU float64)."""
    t = t.detach()
    x = t.to(device="cpu", dtype=torch.float64, memory_format=torch.contiguous_format)
    return (x.clone(memory_format=torch.contiguous_format) if x is t else x).numpy()


@dataclass
class Site:
    """One observed layer: its name, module, the activation that follows it and the module
    whose output is its ``A`` (None: ``A = Z``)."""

    name: str
    module: nn.Module
    activation: Activation
    act_module: nn.Module | None

    @property
    def conv(self) -> bool:
        return isinstance(self.module, CONV + CONV_TRANSPOSE)

    @property
    def units(self) -> int:
        m = self.module
        return int(m.out_channels if self.conv else m.out_features)

    @property
    def params(self) -> list[torch.Tensor]:
        m = self.module
        return [p for p in (m.weight, getattr(m, "bias", None)) if isinstance(p, torch.Tensor)]

    def _channel_axis(self, t: torch.Tensor) -> int:
        spatial = len(self.module.kernel_size)
        return 1 if t.dim() == spatial + 2 else 0

    def rows(self, t: torch.Tensor, like: torch.Size | None = None) -> np.ndarray:
        """A layer output (or its gradient) as ``(rows, units)``; ``like`` is the shape of the
        layer's own output when ``t`` comes from the activation that follows it."""
        n = self.units
        t = t.detach()
        if not self.conv:
            if t.dim() == 0 or t.shape[-1] != n:
                raise ValueError(self._bad_shape(t, f"(..., {n})"))
            return to_numpy(t.reshape(-1, n))
        if like is not None and tuple(t.shape) != tuple(like):
            batch = like[0] if len(like) == len(self.module.kernel_size) + 2 else None
            ok_same = t.dim() == len(like) and t.shape[self._channel_axis(t)] == n
            if not ok_same:
                if batch is None or t.dim() == 0 or t.shape[0] != batch or t.numel() % (batch * n):
                    raise ValueError(self._bad_shape(t, f"({batch}, {n}, ...)"))
                t = t.reshape(batch, n, -1)  # flattened channel-major: (N, C * P) -> (N, C, P)
                return to_numpy(t.movedim(1, -1).reshape(-1, n))
        ax = self._channel_axis(t)
        if t.shape[ax] != n:
            raise ValueError(self._bad_shape(t, f"(N, {n}, ...)"))
        return to_numpy(t.movedim(ax, -1).reshape(-1, n))

    def input_rows(self, t: torch.Tensor) -> np.ndarray:
        """The layer's input as rows ``(m, inputs)``: Linear ``(..., in)``; conv ``(N, C_in, ...)``
        with the input channels as columns (what the engine calls ``X`` or ``A_prev``)."""
        m = self.module
        t = t.detach()
        if not self.conv:
            return to_numpy(t.reshape(-1, m.in_features))
        return to_numpy(t.movedim(self._channel_axis(t), -1).reshape(-1, m.in_channels))

    def _bad_shape(self, t: torch.Tensor, expected: str) -> str:
        return (
            f"layer {self.name!r} ({type(self.module).__name__}): its output or the output of "
            f"the activation after it has shape {tuple(t.shape)}, which does not map to "
            f"{self.units} units {expected}"
        )

    @property
    def fan_in(self) -> int:
        """Rows of :meth:`weight`: inputs per unit (``in/groups * prod(kernel)`` for conv)."""
        w = self.module.weight
        if isinstance(self.module, CONV_TRANSPOSE):
            return int(w.shape[0] // self.module.groups * math.prod(w.shape[2:]))
        return int(math.prod(w.shape[1:]))

    def weight(self) -> np.ndarray:
        """``W`` as ``(fan_in, units)``."""
        return _matrix(self.module, self.module.weight)

    def bias(self) -> np.ndarray:
        """``b`` as ``(units,)`` (zeros when the layer has none)."""
        b = getattr(self.module, "bias", None)
        return to_numpy(b) if isinstance(b, torch.Tensor) else np.zeros(self.units)

    def weight_like(self, g: torch.Tensor | None) -> np.ndarray:
        """A gradient or update of the weight as ``(fan_in, units)`` (zeros for None)."""
        if g is None:
            return np.zeros_like(self.weight())
        return _matrix(self.module, g)

    def bias_like(self, g: torch.Tensor | None) -> np.ndarray:
        return np.zeros(self.units) if g is None else to_numpy(g).reshape(-1)


def find_sites(model: nn.Module) -> tuple[list[Site], list[tuple[str, str]]]:
    """Every observed layer of ``model`` in module order, and ``(name, reason)`` for the
    supported layers that are not observed (Embedding, recurrent layers).  Raises a ValueError
    when there is nothing to observe."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    following = _following(model)
    sites, skipped = [], []
    for name, m in model.named_modules():
        if isinstance(m, INSPECTED):
            if id(m) in following:
                act_module = following[id(m)]
                act = initlab_activation(act_module)
            else:
                act_module, act = None, UNKNOWN
            sites.append(Site(name or "<model>", m, act, act_module))
        elif isinstance(m, SUPPORTED):
            skipped.append((name, f"{type(m).__name__}: not inspected (only {INSPECTED_NAMES})"))
    if not sites:
        kinds = sorted({type(m).__name__ for m in model.modules()})
        raise ValueError(
            f"the model has no layer initlab.torch can inspect ({INSPECTED_NAMES}); its modules "
            f"are: {', '.join(kinds)}"
        )
    return sites, skipped


def describe(x: Any) -> str:
    """A short description of a batch, an output or a target (shapes and dtypes)."""
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)} ({x.dtype}, {x.device})"
    if isinstance(x, tuple | list):
        return "(" + ", ".join(describe(v) for v in x) + ")"
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in x.items()) + "}"
    return type(x).__name__


# --------------------------------------------------------------------------- capturing


@dataclass
class Captured:
    """What the hooks saw of one site during one recorded pass (every call pooled)."""

    first: int | None = None  # global order of the site's first call
    z: list[np.ndarray] = field(default_factory=list)
    shapes: list[torch.Size] = field(default_factory=list)
    a: dict[int, np.ndarray] = field(default_factory=dict)
    dz: dict[int, np.ndarray] = field(default_factory=dict)
    da: dict[int, np.ndarray] = field(default_factory=dict)
    w0: np.ndarray | None = None  # W and b when the layer was first called
    b0: np.ndarray | None = None
    dw: torch.Tensor | None = None  # parameter gradients, summed over backward passes
    db: torch.Tensor | None = None
    backward_seen: bool = False
    # the graph around the first call: its input, its A (activation output, or Z), and the
    # clock at the call and once A was produced
    x_in: Any = None
    a_out: Any = None
    t_call: int = -1
    t_done: int = -1


class Capture:
    """The hooks of one recorded pass over ``sites``.

    ``grads``: register tensor hooks for the gradients of the captured outputs.
    ``param_hooks``: also sum the gradients of each site's weight and bias over the backward
    passes (:class:`Watch`; :func:`inspect` gets them from ``torch.autograd.grad``).
    ``grad_enabled_only``: ignore calls made with gradients disabled (evaluation inside a
    training loop).  ``model``: also watch its other modules, to tell how consecutive sites are
    related (:meth:`boundaries`).  Every handle is kept and removed by :meth:`remove`."""

    def __init__(
        self,
        sites: list[Site],
        *,
        grads: bool,
        param_hooks: bool = False,
        grad_enabled_only: bool = False,
        model: nn.Module | None = None,
    ) -> None:
        self.sites = sites
        self.grads = grads
        self.param_hooks = param_hooks
        self.grad_enabled_only = grad_enabled_only
        self.model = model
        #: other modules called, as (clock, type name), and pass-through outputs -> inputs
        self.calls: list[tuple[int, str]] = []
        self._alias: dict[int, Any] = {}
        self._keep: list[Any] = []
        self._clock = itertools.count()
        self.data = [Captured() for _ in sites]
        self.handles: list[Any] = []
        #: the input of the first layer called (the engine's ``X``), as rows
        self.x: np.ndarray | None = None
        self._order = itertools.count()
        self._pending: dict[int, list[tuple[int, int]]] = {}

    # -- hooks
    def attach(self) -> None:
        try:
            acts: dict[int, nn.Module] = {}
            for i, site in enumerate(self.sites):
                self.handles.append(site.module.register_forward_hook(self._layer_hook(i)))
                if site.act_module is not None:
                    acts[id(site.act_module)] = site.act_module
                if self.param_hooks:
                    for p, attr in zip(site.params, ("dw", "db"), strict=False):
                        if p.requires_grad:
                            self.handles.append(p.register_hook(self._param_hook(i, attr)))
            for key, m in acts.items():
                self._pending[key] = []
                self.handles.append(m.register_forward_hook(self._act_hook))
            if self.model is not None:
                mine = {id(s.module) for s in self.sites} | set(acts)
                for m in self.model.modules():
                    if id(m) in mine or (any(True for _ in m.children()) and not _opaque(m)):
                        continue
                    self.handles.append(m.register_forward_hook(self._other_hook))
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        while self.handles:
            self.handles.pop().remove()

    def _other_hook(self, module: nn.Module, args: Any, out: Any) -> Any:
        if self._skip():
            return None
        if isinstance(module, PASS_THROUGH) and args and isinstance(out, torch.Tensor):
            if out is not args[0]:  # an identity (or eval-mode dropout) returns its input
                self._alias[id(out)] = args[0]
                self._keep.append(out)
        else:
            self.calls.append((next(self._clock), type(module).__name__))
        return None

    def boundaries(self, order: list[int]) -> list[str | None]:
        """For the sites ``order`` (forward order), what lies between each one's output and the
        next one's input: None when the next site's input *is* its ``A`` (through dropout or
        identity modules) and no other module ran in between; else the modules that ran after
        the layer and before the next (``"BatchNorm2d"``, ``"AdaptiveAvgPool2d, Flatten"``,
        ...), or ``"functional operation"`` (a residual join, a reshape, an ``F.*`` call) when
        none did.  The last site's entry is None."""
        out: list[str | None] = []
        for i, j in zip(order[:-1], order[1:], strict=True):
            lo, up = self.data[i], self.data[j]
            x, seen = up.x_in, set()
            while x is not None and id(x) in self._alias and id(x) not in seen:
                seen.add(id(x))
                x = self._alias[id(x)]
            # modules run after the layer (normalisation looked through on the way to its
            # activation included) and before the next one
            names = list(dict.fromkeys(n for t, n in self.calls if lo.t_call < t < up.t_call))
            if names:
                out.append(", ".join(names))
            elif x is None or x is not lo.a_out:
                out.append("functional operation")
            elif self.sites[i].activation.name == "unknown":
                # fed straight in, but outside a Sequential chain: other uses (a residual
                # join, say) are not known, nor is the gradient they add
                out.append("output used outside an nn.Sequential chain")
            else:
                out.append(None)
        return [*out, None] if order else []

    def _skip(self) -> bool:
        return self.grad_enabled_only and not torch.is_grad_enabled()

    def _layer_hook(self, i: int) -> Any:
        site, rec = self.sites[i], self.data[i]

        def hook(module: nn.Module, args: Any, out: Any) -> Any:
            if self._skip() or not isinstance(out, torch.Tensor):
                return None
            if rec.first is None:
                rec.first = next(self._order)
                rec.w0, rec.b0 = site.weight(), site.bias()
                if rec.first == 0 and args and isinstance(args[0], torch.Tensor):
                    self.x = site.input_rows(args[0])
                rec.x_in = args[0] if args else None
                rec.t_call = rec.t_done = next(self._clock)
                rec.a_out = out
            call = len(rec.z)
            rec.z.append(site.rows(out))
            rec.shapes.append(out.shape)
            if site.act_module is not None:
                self._pending[id(site.act_module)].append((i, call))
            if self.grads and out.requires_grad:
                self.handles.append(out.register_hook(self._grad_hook(i, rec.dz, call, None)))
            return None

        return hook

    def _act_hook(self, module: nn.Module, args: Any, out: Any) -> Any:
        queue = self._pending.get(id(module))
        if self._skip() or not queue or not isinstance(out, torch.Tensor):
            return None
        i, call = queue.pop(0)
        site, rec = self.sites[i], self.data[i]
        if call == 0:
            rec.a_out, rec.t_done = out, next(self._clock)
        like = rec.shapes[call]
        rec.a[call] = site.rows(out, like)
        if self.grads and out.requires_grad:
            self.handles.append(out.register_hook(self._grad_hook(i, rec.da, call, like)))
        return None

    def _grad_hook(self, i: int, store: dict[int, np.ndarray], call: int, like: Any) -> Any:
        site, rec = self.sites[i], self.data[i]

        def hook(grad: torch.Tensor) -> None:
            rows = site.rows(grad, like)
            rec.backward_seen = True
            store[call] = rows if call not in store else store[call] + rows

        return hook

    def _param_hook(self, i: int, attr: str) -> Any:
        rec = self.data[i]

        def hook(grad: torch.Tensor) -> None:
            g = grad.detach().clone()
            prev = getattr(rec, attr)
            setattr(rec, attr, g if prev is None else prev + g)

        return hook

    # -- results
    def called(self) -> list[int]:
        """Indices of the sites called during the pass, in the order of their first call."""
        idx = [i for i, d in enumerate(self.data) if d.first is not None]
        return sorted(idx, key=lambda i: self.data[i].first)


def _stack(parts: list[np.ndarray], n: int) -> np.ndarray:
    """The rows of every call, one array (a single call's own array: no copy)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, n))


def _pooled(d: dict[int, np.ndarray], calls: int, fallback: list[np.ndarray]) -> list[np.ndarray]:
    """The per-call arrays of ``d`` in call order; a call with none gets ``fallback[call]``."""
    return [d.get(c, fallback[c]) for c in range(calls)]


def step_event(
    step: int,
    cost: float,
    sites: list[Site],
    data: list[Captured],
    *,
    weights: list[np.ndarray] | None = None,
    biases: list[np.ndarray] | None = None,
    dw: list[np.ndarray],
    db: list[np.ndarray],
    updates: list[tuple[np.ndarray, np.ndarray]],
    with_grads: bool,
    x: np.ndarray | None = None,
) -> StepEvent:
    """The :class:`StepEvent` the NumPy engine would hand its probes at this step, for a
    network of K = 1 whose layers are ``sites`` (in forward order).

    ``weights``/``biases`` default to what each layer held at its first call; ``dw``/``db``
    are laid out like them; ``updates`` are the applied updates ``(u_W, u_b)``.  Missing
    activations are ``A = Z``; missing gradients (no backward reached the output, or
    ``with_grads=False``) are zeros, so the gradient rules of the verdict find nothing.  ``x``
    is the first layer's input as rows (the engine's ``X``)."""
    acts, Ws, bs, Zs, As, dZs, dAs = [], [], [], [], [], [], []
    L = len(sites)
    for l, (site, d) in enumerate(zip(sites, data, strict=True)):
        n = site.units
        calls = len(d.z)
        W = d.w0 if weights is None else weights[l]
        b = d.b0 if biases is None else biases[l]
        z = d.z
        a = _pooled(d.a, calls, z) if site.act_module is not None else z
        zero = [np.zeros_like(x) for x in z]
        zero_a = [np.zeros_like(x) for x in a]
        dz = _pooled(d.dz, calls, zero) if with_grads else zero
        if site.act_module is None:
            da = dz
        else:
            da = _pooled(d.da, calls, zero_a) if with_grads else zero_a
        acts.append(site.activation)
        Ws.append(W[None])
        bs.append(b.reshape(1, 1, n))
        Zs.append(_stack(z, n)[None])
        As.append(_stack(a, n)[None])
        dZs.append(_stack(dz, n)[None])
        dAs.append(_stack(da, n)[None] if l < L - 1 else None)
    sizes = (Ws[0].shape[1], *(s.units for s in sites))
    net = Network(sizes, tuple(acts), Ws, bs, {"weight_init": ["torch"]})
    empty = np.zeros((0, sizes[0]))
    cache = Cache([empty, *As], Zs)
    grads = Grads(
        [w[None] for w in dw],
        [b.reshape(1, 1, -1) for b in db],
        dZs,
        dAs,  # type: ignore[arg-type]
    )
    ups: list[np.ndarray] = []
    for uw, ub in updates:
        ups += [uw[None], ub.reshape(1, 1, -1)]
    return StepEvent(
        step=step,
        net=net,
        X=empty if x is None else x,
        Y=np.zeros((0, sizes[-1])),
        cache=cache,
        grads=grads,
        updates=ups,
        cost=np.array([cost], dtype=np.float64),
        active=np.array([True]),
        loss=None,  # type: ignore[arg-type]  (LayerStats does not read it)
    )


def label_records(
    records: list[dict[str, Any]], sites: list[Site], boundaries: list[str | None] | None = None
) -> None:
    """Add to LayerStats records (in place) what the torch model tells: the layer's qualified
    ``name`` and ``module`` type, its ``kind``, ``fan_in`` and ``connections`` (inputs per
    output value: ``fan_in / prod(stride)`` for a transposed conv) and the ``boundary`` after
    it (from :meth:`Capture.boundaries`)."""
    for r in records:
        site = sites[r["layer"] - 1]
        m = site.module
        fan_in = site.fan_in
        kind = (
            "conv_transpose" if isinstance(m, CONV_TRANSPOSE) else "conv" if site.conv else "dense"
        )
        stride = math.prod(m.stride) if kind == "conv_transpose" else 1
        r["name"] = site.name
        r["module"] = type(m).__name__
        r["kind"] = kind
        r["fan_in"] = fan_in
        r["connections"] = fan_in / stride
        if boundaries is not None:
            r["boundary"] = boundaries[r["layer"] - 1]
