"""What the page and the server say to each other, and how a request is validated.

The page sends JSON messages over one WebSocket per browser tab.  Their envelope (``type`` and
its few fields) is checked by pydantic models; the run configuration inside a ``config``
message is checked by :class:`initlab.config.RunConfig` (the schema the CLI uses) and by
:func:`initlab.config.check_limits`, so the rules live in one place.  On top of that the page
applies only presentation rules of its own (:func:`validate_request`): 2-D synthetic data sets
(it draws a decision boundary), at most ``LIMITS["population"]`` schemes side by side, and a
bound on the size of the arrays one run allocates.

Client -> server messages::

    {"type": "config", "config": {<RunConfig fields>}, "compare": ["zeros", "he_normal"] | null}
    {"type": "start"} | {"type": "pause"} | {"type": "reset"}
    {"type": "step", "n": 1}
    {"type": "speed", "steps_per_frame": 5 | null}       # null: as many as fit in a frame
    {"type": "focus", "member": 0}                         # whose details the page shows

Server -> client messages: ``ready`` (after a configuration was applied: the data, the network,
the members), ``frame`` (the live state, many per second while training), ``error``
(``field``, ``message``, ``value``, ``allowed``: a bad request never closes the connection nor
shows a stack trace).  ``field`` is the RunConfig field (or message field) that the error's
:class:`initlab._checks.ParameterError` names, read from the error, never from its message.
Every message is at most ``MAX_MESSAGE`` bytes and ``MAX_DEPTH`` levels deep (:func:`decode`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from initlab._checks import ParameterError, plain_value
from initlab.config import LIMITS, RunConfig, check_limits

__all__ = [
    "MAX_CELLS",
    "MAX_DEPTH",
    "MAX_MESSAGE",
    "MAX_STEPS_PER_FRAME",
    "RUN_STATE_FIELDS",
    "SESSION_MEMORY_MB",
    "WebError",
    "decode",
    "parse_message",
    "validate_request",
    "web_datasets",
]

#: Fields that change how a run trains but not its initial weights: after changing only these,
#: a reset starts again from the very same weights, so two runs can be compared.
RUN_STATE_FIELDS = ("optimizer", "lr", "steps", "batch_size")

#: Upper bound of ``population x rows x (sum of layer widths)`` for one session: the number of
#: activations one forward pass keeps.  A session allocates about 70 bytes per cell at its peak
#: (the forward cache, the backward pass, the evaluation and the statistics: float64 values
#: about nine times over), so 2e6 cells bound a session by SESSION_MEMORY_MB.
MAX_CELLS = 2_000_000

#: The measured memory bound of one session at MAX_CELLS (MB): hidden [256]*4 with 2600 points
#: peaked at 139 MB of NumPy allocations (tracemalloc) and grew the process by 158 MB (RSS);
#: ``tests/test_web_hardening.py`` checks the first figure against this bound.
SESSION_MEMORY_MB = 160

#: Largest ``n`` of a ``step`` message and largest ``steps_per_frame``.
MAX_STEPS_PER_FRAME = 1000

#: Largest message the page may send (bytes, UTF-8); a configuration is a few hundred.
MAX_MESSAGE = 64 * 1024
#: Deepest nesting of arrays and objects a message may have (a configuration needs 3).
MAX_DEPTH = 16


class WebError(ValueError):
    """A request the page must show as an error: ``field`` names the control at fault (a
    RunConfig field or a message field; None when the problem is not one field's), ``value``
    and ``allowed`` say what it got and what it accepts (None when not one field's)."""

    def __init__(
        self, message: str, field: str | None = None, value: Any = None, allowed: Any = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.value = value
        self.allowed = allowed

    @classmethod
    def of(cls, exc: Exception, prefix: str = "", field: str | None = None) -> WebError:
        """A WebError from a validation error, keeping the ``field``, ``value`` and ``allowed``
        a :class:`initlab._checks.ParameterError` carries (``field`` overrides its field)."""
        if isinstance(exc, ParameterError):
            d = exc.to_dict()
            return cls(prefix + d["message"], field or d["field"], d["value"], d["allowed"])
        return cls(prefix + str(exc), field)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "error",
            "field": self.field,
            "message": self.message,
            "value": self.value,
            "allowed": self.allowed,
        }


# ----------------------------------------------------------------------------- messages


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfigMsg(_Msg):
    type: Literal["config"]
    config: dict[str, Any]
    compare: list[str] | None = None


class ControlMsg(_Msg):
    type: Literal["start", "pause", "reset"]


class StepMsg(_Msg):
    type: Literal["step"]
    n: int = Field(1, ge=1, le=MAX_STEPS_PER_FRAME, strict=True)


class SpeedMsg(_Msg):
    type: Literal["speed"]
    steps_per_frame: int | None = Field(None, ge=1, le=MAX_STEPS_PER_FRAME, strict=True)


class FocusMsg(_Msg):
    type: Literal["focus"]
    member: int = Field(ge=0, strict=True)


Message = Annotated[
    ConfigMsg | ControlMsg | StepMsg | SpeedMsg | FocusMsg, Field(discriminator="type")
]
_MESSAGE = TypeAdapter(Message)
_TYPES = ("config", "start", "pause", "reset", "step", "speed", "focus")


def _depth(data: Any) -> int:
    """How deeply arrays and objects nest in decoded JSON (iteratively: no recursion limit)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        x, d = todo.pop()
        if isinstance(x, dict | list):
            deepest = max(deepest, d)
            if d <= MAX_DEPTH:
                todo.extend((v, d + 1) for v in (x.values() if isinstance(x, dict) else x))
    return deepest


def decode(text: str | bytes, what: str = "message") -> Any:
    """One JSON document from the page: at most MAX_MESSAGE bytes and MAX_DEPTH levels deep;
    a WebError says what is wrong with it."""
    size = len(text.encode("utf-8", "replace") if isinstance(text, str) else text)
    if size > MAX_MESSAGE:
        raise WebError(
            f"{what} of {size:,} bytes is larger than the limit of {MAX_MESSAGE:,}",
            None,
            size,
            f"at most {MAX_MESSAGE} bytes",
        )
    try:
        data = json.loads(text)
    except RecursionError:
        data = None
        size = -1
    except ValueError as exc:
        raise WebError(f"the {what} is not valid JSON: {exc}") from None
    if size < 0 or _depth(data) > MAX_DEPTH:
        raise WebError(
            f"the {what} nests arrays or objects more than {MAX_DEPTH} levels deep",
            None,
            None,
            f"at most {MAX_DEPTH} levels",
        )
    return data


def parse_message(data: Any) -> ConfigMsg | ControlMsg | StepMsg | SpeedMsg | FocusMsg:
    """Check one decoded JSON message from the page; a WebError says what is wrong with it."""
    if not isinstance(data, Mapping):
        raise WebError(f"a message must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind not in _TYPES:
        raise WebError(
            f"message type={kind!r} is not allowed; choose one of: {', '.join(_TYPES)}",
            "type",
            plain_value(kind),
            "one of: " + ", ".join(_TYPES),
        )
    try:
        return _MESSAGE.validate_python(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"] if str(p) != kind]
        field = ".".join(loc) or None
        got = f", got {err['input']!r}" if "input" in err and loc else ""
        raise WebError(
            f"{kind} message: {field or 'message'}: {err['msg']}{got}",
            field,
            plain_value(err.get("input")) if loc else None,
            err["msg"],
        ) from None


# --------------------------------------------------------------------------- configurations


def web_datasets() -> tuple[str, ...]:
    """The data sets the page offers: the synthetic, two-feature ones (a 2-D decision boundary
    can be drawn for them)."""
    from initlab.data import available

    return available("synthetic")


def _config(fields: Mapping[str, Any], limits: Mapping[str, int]) -> RunConfig:
    """RunConfig's rules, then the limits; the error's ``field`` is the one the rule names."""
    try:
        return check_limits(RunConfig.from_dict(fields), limits)
    except (ValueError, TypeError) as exc:
        raise WebError.of(exc) from None


@dataclass(frozen=True)
class Request:
    """A validated request: one configuration per member (one, or one per compared scheme)."""

    configs: tuple[RunConfig, ...]
    compare: bool

    @property
    def config(self) -> RunConfig:
        return self.configs[0]


def validate_request(
    fields: Any, compare: Sequence[str] | None = None, limits: Mapping[str, int] = LIMITS
) -> Request:
    """Validate a ``config`` message: RunConfig's rules, the limits, then the page's own rules.

    ``compare`` lists schemes to train side by side; member k is the configuration with
    ``init = compare[k]`` (everything else shared, the same seed for every member, so the runs
    are paired)."""
    if not isinstance(fields, Mapping):
        raise WebError(f"config must be a JSON object, got {type(fields).__name__}", "config")
    config = _config(fields, limits)
    allowed = web_datasets()
    if config.dataset not in allowed:
        raise WebError(
            f"dataset={config.dataset!r} is not offered on the page (it draws a 2-D decision "
            f"boundary); choose one of: {', '.join(allowed)}",
            "dataset",
            config.dataset,
            "one of: " + ", ".join(allowed),
        )
    if compare is None:
        return Request((config,), False)
    if isinstance(compare, str) or not isinstance(compare, Sequence) or len(compare) == 0:
        raise WebError(
            "compare must list at least one scheme, e.g. ['zeros', 'he_normal']", "compare"
        )
    cap = limits.get("population", LIMITS["population"])
    if len(compare) > cap:
        raise WebError(
            f"compare lists {len(compare)} schemes, more than the limit of {cap}", "compare"
        )
    configs = []
    for i, scheme in enumerate(compare):
        try:
            configs.append(config.replace(init=scheme))
        except (ValueError, TypeError) as exc:
            raise WebError.of(exc, f"compare[{i}]: ", "compare") from None
    return Request(tuple(configs), True)


def check_size(population: int, rows: int, sizes: Sequence[int], cap: int = MAX_CELLS) -> None:
    """Refuse a run whose forward pass would keep more than ``cap`` activations:
    ``population x rows x sum(sizes)`` (rows = the batch, the test set or a grid chunk)."""
    cells = population * rows * sum(sizes)
    if cells > cap:
        raise WebError(
            f"this run is too large for the page: {population} network(s) x {rows} rows x "
            f"{sum(sizes)} units = {cells:,} activations per pass, above the limit of {cap:,}; "
            "use fewer points, a smaller batch_size, fewer units or fewer schemes",
            None,
            cells,
            f"at most {cap} activations per pass",
        )
