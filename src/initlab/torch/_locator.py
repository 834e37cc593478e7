"""Naming where ``model(batch)`` failed inside :func:`initlab.torch.inspect`: forward hooks that
keep the stack of running modules, so that the error names the innermost one, what input it
expects and what it got."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from initlab.torch._sites import CONV, CONV_TRANSPOSE, describe


def _spatial(module: nn.Module) -> str:
    return ", ".join(("D", "H", "W")[-len(module.kernel_size) :]) if module.kernel_size else ""


def _expected(module: nn.Module) -> str | None:
    """What input a module expects, in words (None when there is nothing specific to say)."""
    w = getattr(module, "weight", None)
    where = f" ({w.dtype} on {w.device})" if isinstance(w, torch.Tensor) else ""
    if isinstance(module, nn.Linear):
        return f"input of shape (*, {module.in_features}){where}"
    if isinstance(module, CONV + CONV_TRANSPOSE):
        s, c = _spatial(module), module.in_channels
        return f"input of shape (N, {c}, {s}) or ({c}, {s}){where}"
    if isinstance(module, nn.Embedding):
        return f"integer indices in [0, {module.num_embeddings}) on {module.weight.device}"
    if where:
        return f"input matching its parameters{where}"
    return None


class Locator:
    """Forward pre-hooks and hooks on every module that keep the stack of modules running, so
    that an error can name the innermost module it came from."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.stack: list[tuple[str, nn.Module, tuple[Any, ...]]] = []
        self.handles: list[Any] = []

    def attach(self) -> None:
        try:
            for name, m in self.model.named_modules():
                self.handles.append(m.register_forward_pre_hook(self._push(name or "<model>")))
                self.handles.append(m.register_forward_hook(self._pop))
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        while self.handles:
            self.handles.pop().remove()

    def _push(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            self.stack.append((name, module, args))

        return hook

    def _pop(self, module: nn.Module, args: Any, out: Any) -> None:
        for j in range(len(self.stack) - 1, -1, -1):
            if self.stack[j][1] is module:
                del self.stack[j:]  # entries above it were left by errors caught inside
                return

    def message(self, exc: BaseException, batch: Any) -> str:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"inspect: model(batch) failed for batch {describe(batch)}"
        if self.stack:
            name, module, args = self.stack[-1]
            text += f" in module {name!r} ({type(module).__name__})"
            expected = _expected(module)
            if expected:
                text += f", which expects {expected}"
            text += f"; it got {describe(args[0] if len(args) == 1 else args)}"
        return f"{text}: {type(exc).__name__}: {first}"
