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
import logging
import socket
import threading
import time
import webbrowser
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from initlab._json import dumps, jsonable
from initlab.config import LIMITS
from initlab.web.protocol import (
    MAX_MESSAGE,
    MAX_STEPS_PER_FRAME,
    WebError,
    decode,
    parse_message,
    validate_request,
    web_datasets,
)
from initlab.web.session import Session

__all__ = ["LOOPBACK", "STATIC", "allowed_hosts", "create_app", "dumps", "options", "serve"]

STATIC = Path(__file__).resolve().parent / "static"
#: Host names that always reach the server when it checks the Host header.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Seconds a session may go without a message from its page, while not training, before the
#: server closes it and frees its slot.
IDLE_SECONDS = 600.0
#: Messages a session keeps waiting; past that a message is refused with an error.
INBOX = 256

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
                "params": jsonable(dict(i.defaults)),
            }
        )
    lim = dict(LIMITS if limits is None else limits)
    return {
        "defaults": RunConfig().to_dict(),
        "datasets": [
            {"name": n, "summary": data.describe(n), "defaults": jsonable(data.defaults(n))}
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
    return _json(request.app.state.options)


async def _body(request: Request) -> bytes:
    """The request's body, refused as soon as it passes MAX_MESSAGE bytes (the declared
    length first, then the bytes as they stream in): a huge body is never held whole."""
    declared = request.headers.get("content-length", "")
    too_big = WebError(
        f"the request is larger than the limit of {MAX_MESSAGE:,} bytes",
        None,
        None,
        f"at most {MAX_MESSAGE} bytes",
    )
    if declared.isdigit() and int(declared) > MAX_MESSAGE:
        raise too_big
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_MESSAGE:
            raise too_big
        parts.append(chunk)
    return b"".join(parts)


async def _validate(request: Request) -> Response:
    try:
        payload = decode(await _body(request), "request")
        if not isinstance(payload, dict):
            raise WebError("the request must be a JSON object {'config': {...}}")
        extra = sorted(set(payload) - {"config", "compare"})
        if extra:
            raise WebError(
                f"unknown request key(s) {extra}; use 'config' and 'compare'",
                extra[0],
                None,
                "config, compare",
            )
        req = validate_request(
            payload.get("config", {}), payload.get("compare"), request.app.state.limits
        )
    except WebError as exc:
        status = 413 if str(exc).startswith("the request is larger") else 422
        return _json(exc.to_dict(), status)
    return _json({"configs": [c.to_dict() for c in req.configs], "compare": req.compare})


def _json(doc: Any, status: int = 200) -> Response:
    """A response in the one JSON convention (:func:`initlab._json.dumps`)."""
    return Response(dumps(doc), status, _HEADERS, media_type="application/json")


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
    """One WebSocket: receives messages into a bounded queue (a message past :data:`INBOX`
    waiting is refused with an error, and the socket keeps being read, so pings are answered);
    a runner applies them and, while training, makes and sends a frame every
    ``frame_seconds``.  When the page closes, the runner stops before its next chunk of
    training (no longer than one frame's worth of steps) and drops what is queued."""

    def __init__(
        self,
        ws: WebSocket,
        limits: dict[str, int],
        frame_seconds: float,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.ws = ws
        self.session = Session(limits, frame_seconds=frame_seconds)
        self.interval = frame_seconds
        self.idle_seconds = idle_seconds
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="initlab-session")
        self.inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=INBOX)
        self.closed = threading.Event()
        self.last_message = time.monotonic()
        self._lock = asyncio.Lock()

    def idle_for(self) -> float:
        """Seconds since the page last sent a message (0 while training)."""
        return 0.0 if self.session.running else time.monotonic() - self.last_message

    async def call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def send(self, msg: dict[str, Any]) -> None:
        async with self._lock:  # the receiver and the runner both send
            await self.ws.send_text(dumps(msg))

    async def receive(self) -> None:
        refused = False
        try:
            while True:
                m = await self.ws.receive()
                if m["type"] == "websocket.disconnect":
                    break
                self.last_message = time.monotonic()
                text = m.get("text")
                if text is None:
                    text = (m.get("bytes") or b"").decode("utf-8", "replace")
                if self.inbox.full():
                    if not refused:  # one error per burst, not one per message
                        await self.send(_too_many().to_dict())
                    refused = True
                    continue
                refused = refused and self.inbox.qsize() > INBOX // 2
                self.inbox.put_nowait(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.closed.set()
            while not self.inbox.empty():  # what is queued is for a page that is gone
                self.inbox.get_nowait()
            self.inbox.put_nowait(None)

    def _advance(self, n: int | None, force_stats: bool = False) -> None:
        """Train ``n`` steps (None: one frame's worth) in pieces of about one frame, so a
        closed page stops the work within one piece."""
        s = self.session
        if n is None:
            s.advance()
            return
        done = 0
        while done < n and not self.closed.is_set():
            sps = getattr(s, "_sec_per_step", None)  # measured by the session as it trains
            piece = 1 if not sps else max(1, min(n - done, int(self.interval / sps)))
            ran = s.advance(piece, force_stats=force_stats and done + piece >= n)
            if ran == 0:
                break
            done += ran

    def _tick(self) -> dict[str, Any]:
        s = self.session
        self._advance(s.steps_per_frame)
        return s.frame()

    def _step(self, n: int) -> dict[str, Any]:
        s = self.session
        s.running = False
        self._advance(n, force_stats=True)
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
        msg = parse_message(decode(text))
        kind = msg.type
        if kind == "config":
            ready, frame = await self.call(self._configure, msg.config, msg.compare)
            await self.send(ready)
            await self.send(frame)
            return
        if kind == "speed":  # kept for the run to come too: the page sends it first
            s.set_speed(msg.steps_per_frame)
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
        elif kind == "focus":
            s.set_focus(msg.member)
            await self.send(await self.call(self._full_frame))

    async def _next(self, next_tick: float) -> Any:
        """The next message, a tick when a frame is due, or None when the page is gone or
        the session has been idle for ``idle_seconds``."""
        loop = asyncio.get_running_loop()
        if self.session.running:
            wait = next_tick - loop.time()
            try:
                if wait > 0:
                    return await asyncio.wait_for(self.inbox.get(), wait)
                return self.inbox.get_nowait()
            except (TimeoutError, asyncio.QueueEmpty):
                return _TICK
        while True:
            left = self.idle_seconds - self.idle_for()
            if left <= 0:
                break
            try:
                return await asyncio.wait_for(self.inbox.get(), left)
            except TimeoutError:
                continue  # a message may have come and been refused meanwhile: look again
        await self.send(
            {
                "type": "error",
                "field": None,
                "message": f"this session was closed after {self.idle_seconds:g} s without a "
                "message from the page, to free its place; reload the page to start again",
                "value": None,
                "allowed": None,
            }
        )
        await self.ws.close(code=1000, reason="idle")
        return None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        receiver = asyncio.create_task(self.receive())
        next_tick = loop.time()
        try:
            while not self.closed.is_set():
                was_running = self.session.running
                item = await self._next(next_tick)
                if not was_running:
                    next_tick = loop.time()
                if item is None or self.closed.is_set():
                    break
                try:
                    if item is _TICK:
                        next_tick = loop.time() + self.interval
                        await self.send(await self.call(self._tick))
                    else:
                        await self.handle(item)
                except WebError as exc:
                    await self.send(exc.to_dict())
                except (WebSocketDisconnect, OSError):
                    raise
                except Exception as exc:  # a bug: tell the page in a sentence, log the trace
                    if isinstance(exc, RuntimeError) and self.closed.is_set():
                        raise  # sending to a closed socket
                    log.exception("initlab web session failed")
                    self.session.running = False
                    await self.send(
                        {
                            "type": "error",
                            "field": None,
                            "message": f"internal error ({type(exc).__name__}: {exc}); "
                            "the run was paused",
                            "value": None,
                            "allowed": None,
                        }
                    )
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.closed.set()
            receiver.cancel()
            self.executor.shutdown(wait=False, cancel_futures=True)


def _too_many() -> WebError:
    return WebError(
        f"too many commands: {INBOX} are already waiting; this one was dropped. Wait for the "
        "answers (frames) before sending more",
        None,
        None,
        f"at most {INBOX} waiting commands",
    )


def _full(state: Any) -> WebError:
    """Why a new page is refused, and when a place may free up."""
    idle = [c.idle_for() for c in state.connections]
    waits = [max(0.0, state.idle_seconds - t) for t in idle]
    soon = min(waits, default=state.idle_seconds)
    when = (
        f"the first idle one closes in about {soon:.0f} s"
        if any(c.session.running is False for c in state.connections)
        else "retry when one finishes"
    )
    return WebError(
        f"the server is already training {state.max_sessions} sessions (its limit); close "
        f"another tab or retry later ({when}; sessions close after {state.idle_seconds:g} s "
        "without a message)",
        None,
        {"retry_after": round(soon, 1)},
        f"at most {state.max_sessions} sessions at once",
    )


async def _websocket(ws: WebSocket) -> None:
    state = ws.app.state
    if not _origin_ok(ws):
        await ws.close(code=1008)
        return
    await ws.accept()
    conn = _Connection(ws, state.limits, state.frame_seconds, state.idle_seconds)
    with state.lock:
        full = len(state.connections) >= state.max_sessions
        refusal = _full(state) if full else None
        if not full:
            state.connections.append(conn)
    if refusal is not None:
        await ws.send_text(dumps(refusal.to_dict()))
        await ws.close(code=1013, reason="server busy: try again later")
        return
    try:
        await conn.run()
    finally:
        with state.lock:
            state.connections.remove(conn)


def allowed_hosts(host: str, extra: Sequence[str] = ()) -> list[str]:
    """The Host header names the server answers (against DNS rebinding): the loopback names,
    the name it listens on (unless a wildcard address such as 0.0.0.0) and ``extra`` (``"*"``
    allows any)."""
    names = [*LOOPBACK]
    if host not in ("0.0.0.0", "::", ""):
        names.append(host.strip("[]"))
    names.extend(extra)
    return list(dict.fromkeys(n.lower() for n in names))


def create_app(
    limits: dict[str, int] | None = None,
    *,
    max_sessions: int = 8,
    frame_seconds: float = 1.0 / 30.0,
    idle_seconds: float = IDLE_SECONDS,
    hosts: Sequence[str] | None = None,
) -> Starlette:
    """The page's ASGI application.  ``limits`` bound every request (default
    :data:`initlab.config.LIMITS`); ``max_sessions`` bounds the tabs training at once;
    ``frame_seconds`` is the time between frames while training; a session that is not
    training closes after ``idle_seconds`` without a message.  ``hosts``: the Host header
    names answered (see :func:`allowed_hosts`; :func:`serve` always gives them); None answers
    any (tests, an app mounted behind a proxy that checks)."""
    from initlab._checks import check_finite_real, check_positive_int

    check_positive_int("max_sessions", max_sessions)
    check_finite_real("frame_seconds", frame_seconds, low=0.001, high=10.0)
    check_finite_real("idle_seconds", idle_seconds, low=0.0, low_inclusive=False)
    lim = dict(LIMITS if limits is None else limits)
    missing = sorted(set(LIMITS) - set(lim))
    if missing:
        raise ValueError(f"limits lacks {', '.join(missing)}; give every key of LIMITS")
    middleware = [] if hosts is None else [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]
    app = Starlette(
        routes=[
            Route("/", _index),
            Route("/api/options", _options),
            Route("/api/config", _validate, methods=["POST"]),
            WebSocketRoute("/ws", _websocket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=middleware,
    )
    app.state.limits = lim
    app.state.options = options(lim)
    app.state.max_sessions = max_sessions
    app.state.frame_seconds = frame_seconds
    app.state.idle_seconds = float(idle_seconds)
    app.state.connections = []
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
    allow_hosts: Sequence[str] = (),
) -> None:
    """Run the page's server until interrupted; prints the address first.  It answers only
    requests whose Host header is a loopback name, ``host`` itself or one of ``allow_hosts``
    (``"*"``: any), so a web page of another site cannot reach it by DNS rebinding."""
    import uvicorn

    app = create_app(limits, max_sessions=max_sessions, hosts=allowed_hosts(host, allow_hosts))
    sock = bind(host, port)
    url = address(sock)
    print(f"initlab serve: open {url}  (Ctrl+C to stop)", flush=True)
    if host not in LOOPBACK:
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
