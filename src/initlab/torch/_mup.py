"""μP (maximal update parametrization; Yang & Hu 2021, Yang et al. 2022 "Tensor Programs V")
for torch models: width-aware initialization, per-layer learning rates, and a coordinate check.

:func:`mup` compares the model with the same model built at a base width and sorts every weight
by which of its dimensions grow (``m = width / base width`` of the growing fan):

==========  =======================  ===================  ==================  ===============
role        fans that grow           init (Var)           Adam lr             SGD lr
==========  =======================  ===================  ==================  ===============
input       fan_out only             scheme (1/fan_in)    lr                  lr * m
            (Embedding: its dim)     (Embedding: fixed)
hidden      fan_in and fan_out       scheme (1/fan_in)    lr / m              lr
output      fan_in only              scheme / m           lr / m              lr / m
biases      --                       as initialize        lr                  lr * m (fan_out)
fixed       neither                  scheme               lr                  lr
==========  =======================  ===================  ==================  ===============

"scheme / m" multiplies the variance by ``1/m``: ``Var = 1/(fan_in m)``, which is the scheme's
own at the base width and ``∝ 1/fan_in^2`` as the width grows (TP5, table 3).  At the base width
μP is standard parametrization (SP), so hyperparameters tuned there transfer.  An Embedding's
rows are inputs (one-hot), so its std stays the base model's as ``dim`` grows.

:func:`coord_check` trains a few steps at several widths under μP and SP and records the mean
absolute coordinate of every weight layer's output; under μP it stays flat across widths, under
SP with Adam it grows with the width (the updates ``ΔW x`` add up coherently over fan_in).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab import schemes
from initlab._checks import check_choice, check_finite_real, check_positive_int
from initlab._text import format_table
from initlab.torch._layers import is_weight_layer, layer_weights
from initlab.torch._plan import initialize
from initlab.torch._summary import InitSummary

__all__ = ["CoordCheck", "MupLayer", "MupResult", "coord_check", "mup"]


@dataclass(frozen=True)
class MupLayer:
    """One tensor under μP: role, width multiplier ``m``, init std multiplier, lr multiplier."""

    name: str
    role: str
    width_mult: float
    init_mult: float
    lr_mult: float


@dataclass(frozen=True)
class MupResult:
    """What :func:`mup` did: the init summary, one :class:`MupLayer` per parameter and the
    optimizer's parameter groups (``torch.optim.Adam(result.param_groups)``)."""

    init: InitSummary
    layers: tuple[MupLayer, ...]
    param_groups: list[dict[str, Any]]

    def __str__(self) -> str:
        rows = [(x.name, x.role, x.width_mult, x.init_mult, x.lr_mult) for x in self.layers]
        headers = ("tensor", "role", "width mult", "init std x", "lr x")
        return "muP\n" + format_table(headers, rows)


def _role(module: nn.Module, fans: tuple[float, float], base: tuple[float, float]) -> tuple:
    fi, fo = fans[0] / base[0], fans[1] / base[1]
    if isinstance(module, nn.Embedding):
        return "input", fi  # (num, dim): fan_in is the dim, which grows
    if fi > 1 and fo > 1:
        return "hidden", fi
    if fi > 1:
        return "output", fi
    if fo > 1:
        return "input", fo
    return "fixed", 1.0


def _roles(model: nn.Module, base: nn.Module) -> dict[str, tuple[str, float]]:
    """``tensor name -> (role, m)`` for every weight of a weight layer (see the table)."""
    base_mods = dict(base.named_modules())
    out: dict[str, tuple[str, float]] = {}
    for name, m in model.named_modules():
        if not is_weight_layer(m):
            continue
        b = base_mods.get(name)
        if b is None or type(b) is not type(m):
            raise ValueError(
                f"mup: the base model has no {type(m).__name__} {name!r}; build it with the "
                "same code at the base width"
            )
        for w, bw in zip(layer_weights(m), layer_weights(b), strict=True):
            fans = (w.fans.fan_in, w.fans.fan_out)
            role, mult = _role(m, fans, (bw.fans.fan_in, bw.fans.fan_out))
            full = f"{name}.{w.name}" if name else w.name
            out[full] = (role, mult)
            for bname, _ in w.biases:
                out[f"{name}.{bname}" if name else bname] = (
                    "bias",
                    w.fans.fan_out / bw.fans.fan_out,
                )
    return out


def _base_scheme(scheme: str | None = None) -> str:
    """The per-tensor scheme μP starts from: ``scheme``, or the registered ``mup`` default."""
    params = {} if scheme is None else {"scheme": scheme}
    return str(schemes.info("mup").base(**params))


def _lr_mult(role: str, m: float, optimizer: str) -> float:
    if optimizer == "adam":
        return 1.0 / m if role in ("hidden", "output") else 1.0
    return {"input": m, "bias": m, "hidden": 1.0, "output": 1.0 / m}.get(role, 1.0)


def mup(
    model: nn.Module,
    base: nn.Module,
    lr: float,
    *,
    optimizer: str = "adam",
    scheme: str | None = None,
    generator: torch.Generator | int | None = None,
    **kwargs: Any,
) -> MupResult:
    """Initialize ``model`` under μP relative to ``base`` (the same model at the base width)
    and return the per-parameter learning rates as optimizer parameter groups.

    ``scheme`` is the base law (None: the registered ``mup`` scheme's default, LeCun,
    ``Var = 1/fan_in``; any fan-in scheme of :func:`initialize` works, with its gain);
    ``optimizer`` is "adam" (Adam/AdamW) or "sgd";
    ``kwargs`` go to :func:`initialize`.  See the module docstring for the table.

    Example::

        result = mup(make(1024), base=make(64), lr=1e-2, generator=0)
        opt = torch.optim.Adam(result.param_groups)
    """
    check_choice("optimizer", optimizer, ("adam", "sgd"))
    lr = check_finite_real("lr", lr, low=0.0, low_inclusive=False)
    if not isinstance(base, nn.Module):
        raise TypeError(f"base must be the model built at the base width, got {base!r}")
    base_scheme = _base_scheme(scheme)
    roles = _roles(model, base)
    overrides = dict(kwargs.pop("overrides", None) or {})
    init_mult: dict[str, float] = {}
    for name, (role, m) in roles.items():
        mod = name.rpartition(".")[0]
        if role == "output":
            init_mult[name] = 1.0 / math.sqrt(m)
        elif role == "input" and isinstance(model.get_submodule(mod), nn.Embedding):
            init_mult[name] = math.sqrt(m)
        if name in init_mult:
            overrides.setdefault(mod, {"scale": init_mult[name]})
    summary = initialize(model, base_scheme, generator=generator, overrides=overrides, **kwargs)
    layers, groups = [], {}
    for name, p in model.named_parameters():
        role, m = roles.get(name, ("other", 1.0))
        mult = _lr_mult(role, m, optimizer)
        layers.append(MupLayer(name, role, m, init_mult.get(name, 1.0), mult))
        groups.setdefault(mult, []).append((name, p))
    param_groups = [
        {"params": [p for _, p in items], "lr": lr * mult, "names": [n for n, _ in items]}
        for mult, items in groups.items()
    ]
    return MupResult(summary, tuple(layers), param_groups)


# --------------------------------------------------------------------------- coordinate check


@dataclass(frozen=True)
class CoordCheck:
    """Records ``(parametrization, width, step, layer, mean |coordinate|)`` of a coordinate
    check; :meth:`slope` fits ``log scale = a + slope log width`` for one layer and step."""

    records: tuple[tuple[str, int, int, str, float], ...]
    widths: tuple[int, ...]
    steps: int

    def scales(self, parametrization: str, layer: str, step: int | None = None) -> list[float]:
        step = self.steps if step is None else step
        by_width = {
            w: s
            for p, w, t, name, s in self.records
            if (p, t, name) == (parametrization, step, layer)
        }
        return [by_width[w] for w in self.widths]

    def slope(self, parametrization: str, layer: str, step: int | None = None) -> float:
        """The exponent of ``scale ∝ width^slope`` (least squares on log-log)."""
        y = np.log(np.asarray(self.scales(parametrization, layer, step)))
        x = np.log(np.asarray(self.widths, dtype=float))
        return float(np.polyfit(x, y, 1)[0])

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys(r[3] for r in self.records))

    def __str__(self) -> str:
        headers = ("param.", "layer", *(f"w={w}" for w in self.widths), "slope")
        rows = []
        for p in dict.fromkeys(r[0] for r in self.records):
            for layer in self.layers:
                rows.append((p, layer, *self.scales(p, layer), self.slope(p, layer)))
        title = f"coordinate check: mean |output| after {self.steps} step(s), by width"
        return title + "\n" + format_table(headers, rows)

    def figure(self, path: str | None = None) -> Any:
        """One panel per parametrization: mean |output| against width (log-log), a line per
        layer, after the last step.  Saved to ``path`` when given; the figure is returned."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        params = list(dict.fromkeys(r[0] for r in self.records))
        fig, axes = plt.subplots(1, len(params), figsize=(4.5 * len(params), 3.5), sharey=True)
        for ax, p in zip(np.atleast_1d(axes), params, strict=True):
            for layer in self.layers:
                ax.loglog(self.widths, self.scales(p, layer), marker="o", label=layer)
            ax.set_title(f"{p}: after {self.steps} step(s)")
            ax.set_xlabel("width")
        np.atleast_1d(axes)[0].set_ylabel("mean |output coordinate|")
        np.atleast_1d(axes)[-1].legend(fontsize=7)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
        return fig


def _scales(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    out: dict[str, float] = {}
    handles = []
    for name, m in model.named_modules():
        if is_weight_layer(m):

            def hook(mod: nn.Module, args: Any, y: Any, name: str = name) -> None:
                out[name] = float(y.detach().abs().mean())

            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out


def coord_check(
    model_fn: Callable[[int], nn.Module],
    widths: Sequence[int],
    batch: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int = 3,
    lr: float = 1e-2,
    optimizer: str = "adam",
    base_width: int | None = None,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    seed: int = 0,
) -> CoordCheck:
    """Train ``model_fn(width)`` for ``steps`` steps on ``batch = (x, y)`` under μP (base width
    ``base_width``, default the smallest) and SP (LeCun init, one learning rate), and record
    each weight layer's mean |output| after every step.  ``loss_fn`` defaults to MSE."""
    widths = tuple(check_positive_int("widths", w) for w in widths)
    if len(widths) < 2:
        raise ValueError(f"widths needs at least two widths to compare, got {widths!r}")
    steps = check_positive_int("steps", steps)
    check_choice("optimizer", optimizer, ("adam", "sgd"))
    base_width = min(widths) if base_width is None else check_positive_int("base_width", base_width)
    loss_fn = loss_fn or nn.functional.mse_loss
    x, y = batch
    records = []
    for param in ("mup", "sp"):
        for width in widths:
            model = model_fn(width)
            if param == "mup":
                groups = mup(model, model_fn(base_width), lr, optimizer=optimizer, generator=seed)
                params: Any = groups.param_groups
            else:
                initialize(model, _base_scheme(), generator=seed)
                params = [{"params": list(model.parameters()), "lr": lr}]
            opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(params, lr=lr)
            for t in range(steps + 1):
                for layer, s in _scales(model, x).items():
                    records.append((param, width, t, layer, s))
                if t == steps:
                    break
                opt.zero_grad()
                loss_fn(model(x), y).backward()
                opt.step()
    return CoordCheck(tuple(records), widths, steps)
