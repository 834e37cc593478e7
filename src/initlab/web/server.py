"""The ASGI application (Starlette) and ``serve()`` (uvicorn).

Routes:

* ``GET /`` — the page; ``GET /static/...`` — its script and style, served from this package;
* ``GET /api/options`` — what the controls offer: data sets, activations, every registered
  scheme with its parameters, optimizers, defaults and limits;
* ``POST /api/config`` — validate a request (``{"config": {...}, "compare": [...]}``) without
  training: the normalised configurations, or ``422 {"field", "message"}``;
* ``WS /ws`` — one training session per connection (see :mod:`initlab.web.protocol`).

Each connection gets a :class:`initlab.web.session.Session` and a worker thread of its own:
every call into the session (build, train a chunk, make a frame) runs there, one at a time, so
several tabs train side by side and the event loop only receives messages and sends frames.
A frame is sent every ``frame_seconds`` while training (30 per second by default), with as many
steps trained in between as fit (or the page's chosen steps per frame).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import threading
import webbrowser
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from initlab.config import LIMITS
from initlab.web.protocol import (
    MAX_STEPS_PER_FRAME,
    WebError,
    parse_message,
    validate_request,
    web_datasets,
)
from initlab.web.session import Session

__all__ = ["STATIC", "create_app", "options", "serve"]

STATIC = Path(__file__).resolve().parent / "static"
#: Largest message the page may send (bytes); a configuration is a few hundred.
MAX_MESSAGE = 64 * 1024

log = logging.getLogger("initlab.web")

_HEADERS = {
    # the page loads nothing from elsewhere; this makes that a rule the browser enforces
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


# ----------------------------------------------------------------------------------- JSON


def _clean(x: Any) -> Any:
    """Non-finite floats to None, recursively (JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def dumps(msg: Any) -> str:
    """Strict JSON (no NaN/inf tokens, which browsers cannot parse)."""
    try:
        return json.dumps(msg, allow_nan=False, default=_default, separators=(",", ":"))
    except ValueError:
        return json.dumps(
            _clean(json.loads(json.dumps(msg, default=_default))),
            allow_nan=False,
            separators=(",", ":"),
        )


# -------------------------------------------------------------------------------- options


def options(limits: dict[str, int] | None = None) -> dict[str, Any]:
    """What the page's controls offer, read from the registries (nothing listed by hand)."""
    from initlab import data, schemes
    from initlab.activations import ACTIVATIONS, parse_activation
    from initlab.config import RunConfig
    from initlab.optim import OPTIMIZERS

    acts = []
    for name in ACTIVATIONS:
        g = parse_activation(name)
        if g.elementwise:
            acts.append({"name": name, "param": getattr(g, "param", None)})
    scheme_list = []
    for name in schemes.available():
        i = schemes.info(name)
        scheme_list.append(
            {
                "name": name,
                "summary": i.summary,
                "formula": i.formula,
                "category": i.category,
                "recommended_for": list(i.recommended_for),
                "data_dependent": i.data_dependent,
                "params": _clean(dict(i.defaults)),
            }
        )
    lim = dict(LIMITS if limits is None else limits)
    return {
        "defaults": RunConfig().to_dict(),
        "datasets": [
            {"name": n, "summary": data.describe(n), "defaults": _clean(data.defaults(n))}
            for n in web_datasets()
        ],
        "activations": acts,
        "schemes": scheme_list,
        "categories": list(schemes.CATEGORIES),
        "optimizers": list(OPTIMIZERS),
        "limits": {**lim, "steps_per_frame": MAX_STEPS_PER_FRAME},
        "compare_default": ["zeros", "small", "large", "xavier_normal", "he_normal"],
    }


# -------------------------------------------------------------------------------- routes


async def _index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=_HEADERS)


async def _options(request: Request) -> Response:
    return JSONResponse(request.app.state.options, headers=_HEADERS)


async def _validate(request: Request) -> Response:
    try:
        body = await request.body()
        if len(body) > MAX_MESSAGE:
            raise WebError(f"request of {len(body)} bytes is larger than {MAX_MESSAGE}")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise WebError(f"the request is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise WebError("the request must be a JSON object {'config': {...}}")
        extra = sorted(set(payload) - {"config", "compare"})
        if extra:
            raise WebError(f"unknown request key(s) {extra}; use 'config' and 'compare'")
        req = validate_request(
            payload.get("config", {}), payload.get("compare"), request.app.state.limits
        )
    except WebError as exc:
        return JSONResponse(exc.to_dict(), status_code=422, headers=_HEADERS)
    return JSONResponse(
        {"configs": [c.to_dict() for c in req.configs], "compare": req.compare}, headers=_HEADERS
    )


def _origin_ok(ws: WebSocket) -> bool:
    """Refuse connections opened by pages of other sites (cross-site WebSocket hijacking)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    host = ws.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


class _Tick:
    pass


_TICK = _Tick()


class _Connection:
    """One WebSocket: receives messages into a queue; a runner applies them and, while
    training, makes and sends a frame every ``frame_seconds``."""

    def __init__(self, ws: WebSocket, limits: dict[str, int], frame_seconds: float) -> None:
        self.ws = ws
        self.session = Session(limits, frame_seconds=frame_seconds)
        self.interval = frame_seconds
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="initlab-session")
        self.inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)

    async def call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send_text(dumps(msg))

    async def receive(self) -> None:
        try:
            while True:
                m = await self.ws.receive()
                if m["type"] == "websocket.disconnect":
                    break
                text = m.get("text")
                if text is None:
                    text = (m.get("bytes") or b"").decode("utf-8", "replace")
                await self.inbox.put(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            await self.inbox.put(None)

    def _tick(self) -> dict[str, Any]:
        s = self.session
        s.advance()
        return s.frame()

    def _step(self, n: int) -> dict[str, Any]:
        s = self.session
        s.running = False
        s.advance(n, force_stats=True)
        return s.frame(boundary=True)

    def _configure(self, fields: Any, compare: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        s = self.session
        was = s.running
        ready = s.configure(fields, compare)
        s.running = was and not s.done
        return ready, s.frame(boundary=True)

    def _full_frame(self) -> dict[str, Any]:
        return self.session.frame(boundary=False, full=True)

    def _reset(self) -> dict[str, Any]:
        s = self.session
        s.reset()
        return s.frame(boundary=True)

    async def handle(self, text: str) -> None:
        s = self.session
        if len(text) > MAX_MESSAGE:
            raise WebError(f"message of {len(text)} characters is larger than {MAX_MESSAGE}")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise WebError(f"the message is not valid JSON: {exc}") from None
        msg = parse_message(data)
        kind = msg.type
        if kind == "config":
            ready, frame = await self.call(self._configure, msg.config, msg.compare)
            await self.send(ready)
            await self.send(frame)
            return
        if s.built is None:
            raise WebError(f"{kind}: no configuration yet; send a config message first")
        if kind == "start":
            s.running = not s.done
            await self.send(await self.call(s.frame, False))
        elif kind == "pause":
            s.running = False
            await self.send(await self.call(s.frame, True))
        elif kind == "step":
            await self.send(await self.call(self._step, msg.n))
        elif kind == "reset":
            await self.send(await self.call(self._reset))
        elif kind == "speed":
            s.set_speed(msg.steps_per_frame)
        elif kind == "focus":
            s.set_focus(msg.member)
            await self.send(await self.call(self._full_frame))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        receiver = asyncio.create_task(self.receive())
        next_tick = loop.time()
        try:
            while True:
                if self.session.running:
                    wait = next_tick - loop.time()
                    try:
                        if wait > 0:
                            item = await asyncio.wait_for(self.inbox.get(), wait)
                        else:
                            item = self.inbox.get_nowait()
                    except (TimeoutError, asyncio.QueueEmpty):
                        item = _TICK
                else:
                    item = await self.inbox.get()
                    next_tick = loop.time()
                if item is None:
                    break
                try:
                    if item is _TICK:
                        next_tick = loop.time() + self.interval
                        await self.send(await self.call(self._tick))
                    else:
                        await self.handle(item)
                except WebError as exc:
                    await self.send(exc.to_dict())
                except (WebSocketDisconnect, RuntimeError, OSError):
                    raise
                except Exception as exc:  # a bug: tell the page in a sentence, log the trace
                    log.exception("initlab web session failed")
                    self.session.running = False
                    await self.send(
                        {
                            "type": "error",
                            "field": None,
                            "message": f"internal error ({type(exc).__name__}: {exc}); "
                            "the run was paused",
                        }
                    )
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            receiver.cancel()
            self.executor.shutdown(wait=False, cancel_futures=True)


async def _websocket(ws: WebSocket) -> None:
    state = ws.app.state
    if not _origin_ok(ws):
        await ws.close(code=1008)
        return
    await ws.accept()
    with state.lock:
        full = state.active >= state.max_sessions
        if not full:
            state.active += 1
    if full:
        await ws.send_text(
            dumps(
                WebError(
                    f"the server is already training {state.max_sessions} sessions (its "
                    "limit); close another tab and reload this one"
                ).to_dict()
            )
        )
        await ws.close(code=1013)
        return
    try:
        await _Connection(ws, state.limits, state.frame_seconds).run()
    finally:
        with state.lock:
            state.active -= 1


def create_app(
    limits: dict[str, int] | None = None,
    *,
    max_sessions: int = 8,
    frame_seconds: float = 1.0 / 30.0,
) -> Starlette:
    """The page's ASGI application.  ``limits`` bound every request (default
    :data:`initlab.config.LIMITS`); ``max_sessions`` bounds the tabs training at once;
    ``frame_seconds`` is the time between frames while training."""
    from initlab._checks import check_finite_real, check_positive_int

    check_positive_int("max_sessions", max_sessions)
    check_finite_real("frame_seconds", frame_seconds, low=0.001, high=10.0)
    lim = dict(LIMITS if limits is None else limits)
    missing = sorted(set(LIMITS) - set(lim))
    if missing:
        raise ValueError(f"limits lacks {', '.join(missing)}; give every key of LIMITS")
    app = Starlette(
        routes=[
            Route("/", _index),
            Route("/api/options", _options),
            Route("/api/config", _validate, methods=["POST"]),
            WebSocketRoute("/ws", _websocket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
    app.state.limits = lim
    app.state.options = options(lim)
    app.state.max_sessions = max_sessions
    app.state.frame_seconds = frame_seconds
    app.state.active = 0
    app.state.lock = threading.Lock()
    return app


# ---------------------------------------------------------------------------------- serve


def bind(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port); errors name the address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"host={host!r} cannot be resolved: {exc}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    open_browser: bool = False,
    limits: dict[str, int] | None = None,
    max_sessions: int = 8,
    log_level: str = "warning",
) -> None:
    """Run the page's server until interrupted; prints the address first."""
    import uvicorn

    app = create_app(limits, max_sessions=max_sessions)
    sock = bind(host, port)
    url = address(sock)
    print(f"initlab serve: open {url}  (Ctrl+C to stop)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "initlab serve: warning: the page has no login; anyone who can reach this "
            "address can train on this machine",
            flush=True,
        )
    config = uvicorn.Config(
        app, log_level=log_level, ws_max_size=MAX_MESSAGE, lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    if open_browser:
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    print("initlab serve: stopped", flush=True)
