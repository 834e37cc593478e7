"""The ASGI application (Starlette) and ``serve()`` (uvicorn).

Routes:

* ``GET /`` — the page; ``GET /static/...`` — its script and style, served from this package;
* ``GET /api/options`` — what the controls offer: data sets, activations, every registered
  scheme with its parameters, optimizers, defaults and limits;
* ``POST /api/config`` — validate a request (``{"config": {...}, "compare": [...]}``) without
  training: the normalised configurations, or ``422 {"field", "message"}``;
* ``WS /ws`` — one training session per connection (see :mod:`initlab.web.protocol`).

Each WebSocket is an :class:`initlab.web.connection.Connection` (its own session and worker
thread); the application counts them against ``max_sessions``, answers only the Host names it
is given (against DNS rebinding) and refuses request bodies over ``MAX_MESSAGE`` bytes as they
stream in.  Every response is strict JSON in the one convention of :mod:`initlab._json`.
"""

from __future__ import annotations

import socket
import threading
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from initlab._json import dumps, jsonable
from initlab.config import LIMITS
from initlab.web.connection import IDLE_SECONDS, Connection
from initlab.web.protocol import (
    MAX_MESSAGE,
    MAX_STEPS_PER_FRAME,
    WebError,
    decode,
    validate_request,
    web_datasets,
)

__all__ = ["LOOPBACK", "STATIC", "allowed_hosts", "create_app", "dumps", "options", "serve"]

STATIC = Path(__file__).resolve().parent / "static"
#: Host names that always reach the server when it checks the Host header.
LOOPBACK = ("127.0.0.1", "localhost", "::1")

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
    for name in schemes.available():  # per-tensor only: model-level ones need initlab.torch
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
        "categories": list(schemes.TENSOR_CATEGORIES),  # model-level schemes: not offered
        "optimizers": list(OPTIMIZERS),
        "limits": {**lim, "steps_per_frame": MAX_STEPS_PER_FRAME},
        "compare_default": ["zeros", "small", "large", "xavier_normal", "he_normal"],
    }


# -------------------------------------------------------------------------------- routes


async def _index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=_HEADERS)


async def _options(request: Request) -> Response:
    return _json(request.app.state.options)


class _TooLarge(WebError):
    """A request body over MAX_MESSAGE bytes (HTTP 413)."""


async def _body(request: Request) -> bytes:
    """The request's body, refused as soon as it passes MAX_MESSAGE bytes (the declared
    length first, then the bytes as they stream in): a huge body is never held whole."""
    declared = request.headers.get("content-length", "")
    too_big = _TooLarge(
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
        return _json(exc.to_dict(), 413 if isinstance(exc, _TooLarge) else 422)
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
    conn = Connection(ws, state.limits, state.frame_seconds, state.idle_seconds)
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

    hosts = allowed_hosts(host, allow_hosts)
    app = create_app(limits, max_sessions=max_sessions, hosts=hosts)
    sock = bind(host, port)
    url = address(sock)
    print(f"initlab serve: open {url}  (Ctrl+C to stop)", flush=True)
    if host not in LOOPBACK:
        print(
            "initlab serve: warning: the page has no login; anyone who can reach this "
            "address can train on this machine",
            flush=True,
        )
        print(
            f"initlab serve: it answers requests addressed to {', '.join(hosts)}; add the "
            "names others use to reach it with --allow-host NAME",
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
