"""One WebSocket's session: the messages the page sends, queued and applied in order, and the
frames sent back while training.

A :class:`Connection` owns a :class:`initlab.web.session.Session` and a worker thread of its own:
every call into the session (build, train a chunk, make a frame) runs there, one at a time, so
several tabs train side by side and the event loop only receives messages and sends frames.
The receiver never blocks on a full queue (it refuses the message with an error and keeps
reading, so pings are answered); a closed page stops the training within one frame's worth of
steps; a session idle for ``idle_seconds`` is closed with a message saying why.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from initlab._json import dumps
from initlab.web.protocol import WebError, decode, parse_message
from initlab.web.session import Session

__all__ = ["IDLE_SECONDS", "INBOX", "Connection"]

#: Seconds a session may go without a message from its page, while not training, before the
#: server closes it and frees its slot.
IDLE_SECONDS = 600.0
#: Messages a session keeps waiting; past that a message is refused with an error.
INBOX = 256

log = logging.getLogger("initlab.web")


class _Tick:
    pass


_TICK = _Tick()


class Connection:
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
        self.last_active = time.monotonic()  # the last message from the page, or frame trained
        self._lock = asyncio.Lock()

    def idle_for(self) -> float:
        """Seconds since the page last sent a message or the session last trained (0 while
        training): a run that finishes after a long time is not idle at once."""
        return 0.0 if self.session.running else time.monotonic() - self.last_active

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
                self.last_active = time.monotonic()
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
                        self.last_active = time.monotonic()
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
