"""The interactive page: pick an initialization and watch the network train, layer by layer.

``initlab serve`` (or :func:`serve`) starts a local server; the page trains on the server in the
NumPy engine and streams the state over a WebSocket.  Needs the ``web`` extra (Starlette,
uvicorn, pydantic); nothing here is imported by ``import initlab``.

* :mod:`initlab.web.protocol` — the messages and how a request is validated (RunConfig's rules);
* :mod:`initlab.web.session` — one tab's run: configure, reset, advance, frame; over
  :mod:`initlab.web.build` (a request to data and initial weights), :mod:`initlab.web.probes`
  (what training records for the page) and :mod:`initlab.web.frames` (the ``ready`` and
  ``frame`` messages);
* :mod:`initlab.web.connection` — one WebSocket's queue and worker thread;
* :mod:`initlab.web.server` — the Starlette application and ``serve``;
* ``static/`` — the page itself (HTML, script, style; no build step, nothing from the network).
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The ASGI application; see :func:`initlab.web.server.create_app`."""
    from initlab.web.server import create_app as _create

    return _create(*args, **kwargs)


def serve(*args: Any, **kwargs: Any) -> None:
    """Run the server until interrupted; see :func:`initlab.web.server.serve`."""
    from initlab.web.server import serve as _serve

    _serve(*args, **kwargs)
