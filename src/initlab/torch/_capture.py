"""The hooks of one recorded pass of :func:`initlab.torch.inspect` and :class:`initlab.torch.Watch`,
and the assembly of what they capture into the :class:`initlab.train.StepEvent` of initlab's NumPy
diagnostics, so that :class:`initlab.diagnostics.LayerStats` computes every statistic and
:func:`initlab.diagnostics.verdict` decides, exactly as for the NumPy engine.

Which layers are observed (:func:`find_sites`) and how each maps to the engine's arrays is in
:mod:`initlab.torch._sites` (and :mod:`initlab.torch._attention` for ``nn.MultiheadAttention``).

Capturing never changes what the model computes: every hook returns nothing (the forward
pass and its graph are the model's own), values are copied the moment they are produced, and a
tensor hook registered on an output receives the gradient with respect to that output as it was
then, also when an in-place module that follows (``nn.ReLU(inplace=True)``) overwrites it
(PyTorch's behaviour for tensor hooks and in-place operations; the tests check it against the
NumPy engine).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab.network import Cache, Grads, Network
from initlab.torch._attention import ATTENTION_PARTS, NESTED, AttentionSite, call_output
from initlab.torch._sites import (
    INSPECTED_NAMES,
    PASS_THROUGH,
    SUPPORTED,
    UNKNOWN,
    Site,
    following,
    initlab_activation,
    observed,
    opaque,
    site_for,
)
from initlab.train import StepEvent

__all__ = ["Capture", "Captured", "find_sites", "label_records", "step_event"]


def find_sites(model: nn.Module) -> tuple[list[Site], list[tuple[str, str]]]:
    """Every observed layer of ``model`` in module order, and ``(name, reason)`` for the
    supported layers that are not observed (Embedding, recurrent layers).  Raises a ValueError
    when there is nothing to observe."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    after = following(model)
    sites: list[Site] = []
    skipped = []
    inside: set[int] = set()  # an attention's out_proj: observed with the attention
    for name, m in model.named_modules():
        if id(m) in inside:
            continue
        if isinstance(m, nn.MultiheadAttention):
            sites.append(AttentionSite(name or "<model>", m, UNKNOWN, None))
            inside.add(id(m.out_proj))
        elif observed(m):
            if id(m) in after:
                act_module = after[id(m)]
                act = initlab_activation(act_module)
            else:
                act_module, act = None, UNKNOWN
            sites.append(site_for(name or "<model>", m, act, act_module))
        elif isinstance(m, SUPPORTED):
            skipped.append((name, f"{type(m).__name__}: not inspected (only {INSPECTED_NAMES})"))
    if not sites:
        kinds = sorted({type(m).__name__ for m in model.modules()})
        raise ValueError(
            f"the model has no layer initlab.torch can inspect ({INSPECTED_NAMES}); its modules "
            f"are: {', '.join(kinds)}"
        )
    return sites, skipped


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
    # an attention's other tensors: gradients by id(parameter), values at the first call
    pgrads: dict[int, torch.Tensor] = field(default_factory=dict)
    p0: dict[str, np.ndarray] | None = None
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
        #: site index -> why its calls were not recorded (an attention fed nested tensors)
        self.not_observed: dict[int, str] = {}

    # -- hooks
    def attach(self) -> None:
        try:
            acts: dict[int, nn.Module] = {}
            for i, site in enumerate(self.sites):
                attention = isinstance(site, AttentionSite)  # query may come as a keyword
                hook = self._layer_hook(i, attention)
                self.handles.append(site.module.register_forward_hook(hook, with_kwargs=attention))
                if site.act_module is not None:
                    acts[id(site.act_module)] = site.act_module
                if self.param_hooks:
                    for p, attr in zip(site.params, ("dw", "db"), strict=False):
                        if p.requires_grad:
                            self.handles.append(p.register_hook(self._param_hook(i, attr)))
                    for p in site.extra_params:
                        if p.requires_grad:
                            self.handles.append(p.register_hook(self._extra_hook(i, id(p))))
            for key, m in acts.items():
                self._pending[key] = []
                self.handles.append(m.register_forward_hook(self._act_hook))
            if self.model is not None:
                mine = {id(s.module) for s in self.sites} | set(acts)
                for m in self.model.modules():
                    if id(m) in mine or (any(True for _ in m.children()) and not opaque(m)):
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

    def _layer_hook(self, i: int, attention: bool) -> Any:
        if attention:

            def hook(module: nn.Module, args: Any, kwargs: Any, out: Any) -> Any:
                query = args[0] if args else kwargs.get("query")
                return self._layer_call(i, query, call_output(out))

            return hook
        return lambda module, args, out: self._layer_call(i, args[0] if args else None, out)

    def _layer_call(self, i: int, x: Any, out: Any) -> None:
        site, rec = self.sites[i], self.data[i]
        if self._skip() or not isinstance(out, torch.Tensor):
            return
        if out.is_nested:
            self.not_observed[i] = NESTED
            return
        if rec.first is None:
            rec.first = next(self._order)
            rec.w0, rec.b0 = site.weight(), site.bias()
            if self.param_hooks and isinstance(site, AttentionSite):
                rec.p0 = site.block_values()
            if rec.first == 0 and isinstance(x, torch.Tensor):
                self.x = site.input_rows(x)
            rec.x_in = x
            rec.t_call = rec.t_done = next(self._clock)
            rec.a_out = out
        call = len(rec.z)
        rec.z.append(site.rows(out))
        rec.shapes.append(out.shape)
        if site.act_module is not None:
            self._pending[id(site.act_module)].append((i, call))
        if self.grads and out.requires_grad:
            self.handles.append(out.register_hook(self._grad_hook(i, rec.dz, call, None)))

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
            rows = site.rows(grad, like, gradient=True)
            rec.backward_seen = True
            # the sum of several backward passes' gradients in float64
            store[call] = rows if call not in store else np.add(store[call], rows, dtype=np.float64)

        return hook

    def _param_hook(self, i: int, attr: str) -> Any:
        rec = self.data[i]

        def hook(grad: torch.Tensor) -> None:
            g = grad.detach().clone()
            prev = getattr(rec, attr)
            setattr(rec, attr, g if prev is None else prev + g)

        return hook

    def _extra_hook(self, i: int, key: int) -> Any:
        rec = self.data[i]

        def hook(grad: torch.Tensor) -> None:
            g = grad.detach().clone()
            rec.pgrads[key] = g if key not in rec.pgrads else rec.pgrads[key] + g

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


def _grads_or_zeros(d: dict[int, np.ndarray] | None, like: list[np.ndarray]) -> list[np.ndarray]:
    """The per-call gradients of ``d`` in call order; a call with none (every call when ``d``
    is None: gradients not taken) gets zeros shaped like its output ``like[call]``."""
    return [d[c] if d is not None and c in d else np.zeros_like(x) for c, x in enumerate(like)]


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
        dz = _grads_or_zeros(d.dz if with_grads else None, z)
        da = dz if site.act_module is None else _grads_or_zeros(d.da if with_grads else None, a)
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
    ``name`` and ``module`` type, its ``kind`` (``"attention"`` for a MultiheadAttention, with
    ``parts``: what it holds), ``fan_in`` and ``connections`` (inputs per output value:
    ``fan_in / prod(stride)`` for a transposed conv) and the ``boundary`` after it (from
    :meth:`Capture.boundaries`)."""
    for r in records:
        site = sites[r["layer"] - 1]
        m = site.module
        fan_in = site.fan_in
        stride = math.prod(m.stride) if site.kind == "conv_transpose" else 1
        r["name"] = site.name
        r["module"] = type(m).__name__
        r["kind"] = site.kind
        r["fan_in"] = fan_in
        r["connections"] = fan_in / stride
        if isinstance(site, AttentionSite):
            r["parts"] = ATTENTION_PARTS
        if boundaries is not None:
            r["boundary"] = boundaries[r["layer"] - 1]
