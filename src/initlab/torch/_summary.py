"""What :func:`initlab.torch.initialize` did: one row per parameter and buffer of the model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from initlab._text import format_table

__all__ = ["InitSummary", "ParamInit"]


@dataclass(frozen=True)
class ParamInit:
    """How one parameter or buffer was initialized, or why it was left.

    ``scheme`` is the spec chosen for the tensor (after overrides; ``"keep"`` for a bias kept,
    ``"left"`` for a tensor initlab has no rule for), ``fan_in``/``fan_out`` the fans of one
    chunk (a recurrent gate or an attention q/k/v block when ``chunks > 1``), ``gain`` the gain
    the scheme used (None for schemes without one), ``activation`` the activation the gain was
    taken from and ``source`` where that came from ("relu (traced)", "default (unknown
    successor)", ...), ``std`` the standard deviation of the law the entries were drawn from
    (for deterministic fills: the std of the values set; None where nothing was written).
    ``kind`` is "parameter" or "buffer"; ``left`` says why a tensor was not written (empty when
    it was); ``tied_to`` names the tensor this one is the same object as (it was set once,
    there).
    """

    name: str
    module: str
    shape: tuple[int, ...]
    scheme: str
    fan_in: float | None
    fan_out: float | None
    gain: float | None
    activation: str | None
    std: float | None
    chunks: int = 1
    kind: str = "parameter"
    source: str = ""
    left: str = ""
    tied_to: str = ""


@dataclass(frozen=True)
class InitSummary:
    """One :class:`ParamInit` per parameter and buffer of the model: the parameters in
    ``model.named_parameters()`` order, then the buffers; a tensor reachable under two names
    (tied weights, a shared module) has a row for each."""

    params: tuple[ParamInit, ...]
    #: what a model-level scheme found and what it needs from the model (e.g. DeepNorm's alpha)
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[ParamInit]:
        return iter(self.params)

    def __getitem__(self, key: int | str) -> ParamInit:
        if isinstance(key, str):
            for p in self.params:
                if p.name == key:
                    return p
            raise KeyError(f"no parameter or buffer {key!r}; rows: {', '.join(self.names)}")
        return self.params[key]

    @property
    def names(self) -> list[str]:
        """Every row's tensor name."""
        return [p.name for p in self.params]

    @property
    def written(self) -> list[str]:
        """The tensors whose values :func:`initialize` set (tied names included)."""
        return [p.name for p in self.params if not p.left]

    @property
    def left(self) -> list[ParamInit]:
        """The rows of tensors left as they were, each with its reason."""
        return [p for p in self.params if p.left]

    def to_dicts(self) -> list[dict[str, Any]]:
        """The records as plain dicts (JSON-ready)."""
        return [{**asdict(p), "shape": list(p.shape)} for p in self.params]

    def __str__(self) -> str:
        headers = (
            "tensor",
            "module",
            "shape",
            "scheme",
            "fan_in",
            "fan_out",
            "gain",
            "gain from",
            "std",
        )
        rows = []
        for p in self.params:
            shape = "x".join(map(str, p.shape)) or "scalar"
            if p.chunks > 1:
                shape += f" ({p.chunks} blocks)"
            if p.kind == "buffer":
                shape += " buffer"
            if p.left:
                rows.append((p.name, p.module, shape, f"left: {p.left}", *[None] * 5))
                continue
            scheme = f"tied to {p.tied_to}" if p.tied_to else p.scheme
            rows.append(
                (p.name, p.module, shape, scheme, p.fan_in, p.fan_out, p.gain, p.source, p.std)
            )
        n_left = len(self.left)
        text = format_table(headers, rows)
        text += f"\n{len(self.params) - n_left} tensor(s) set, {n_left} left"
        return "\n".join([text, *self.notes])
