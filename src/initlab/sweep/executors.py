"""Where the populations train: one seam in the shape of ``concurrent.futures``, two back ends.

An executor has ``submit(fn, *args) -> future``, ``as_completed(futures)`` (an iterator over
the futures as they finish, each with ``.result()``), ``cancel()`` (stop what is queued or
running, now) and ``close()``.  The back ends are libraries, not a home-made layer:

* :class:`LocalExecutor`: ``concurrent.futures.ProcessPoolExecutor`` with ``workers``
  processes on this machine (default: the number of cores).  Its workers ignore SIGINT, so a
  Ctrl-C reaches only the driver, which then stops them, and end when the driver dies.
* :class:`DaskExecutor`: a ``distributed.Client`` on a running scheduler
  (``tcp://host:port``) or on a ``LocalCluster`` of ``local_workers`` processes started for
  the sweep (extra ``initlab[dask]``).  Every worker needs initlab installed.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "make_executor"]


class Executor(Protocol):
    """The seam the driver talks to."""

    workers: int
    description: str

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any: ...

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def _worker_init(parent: int) -> None:
    """A local worker: Ctrl-C is the driver's, and the worker ends when the driver dies."""
    from initlab._process import exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while the block starts processes (an ignored signal stays ignored in a
    child, and Python then installs no KeyboardInterrupt handler there)."""
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class LocalExecutor:
    """Local processes (``concurrent.futures.ProcessPoolExecutor``)."""

    def __init__(self, workers: int | None = None) -> None:
        n = _cores() if workers is None else workers
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"workers={workers!r} is not allowed; give an integer >= 1")
        self.workers = n
        self.description = f"{n} local process{'es' if n > 1 else ''}"
        self._before = set(multiprocessing.active_children())
        self._pool = cf.ProcessPoolExecutor(
            max_workers=n, initializer=_worker_init, initargs=(os.getpid(),)
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future:
        return self._pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[cf.Future]) -> Iterator[cf.Future]:
        return cf.as_completed(list(futures))

    def cancel(self) -> None:
        """Drop queued tasks and stop the worker processes now (a running task is lost; the
        driver has not recorded it, so a resumed sweep runs it again)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        # the pool's processes: the children started since it was made
        ours = [p for p in multiprocessing.active_children() if p not in self._before]
        for p in ours:
            p.terminate()
        for p in ours:
            p.join(timeout=5)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class DaskExecutor:
    """Dask distributed: a scheduler address, or a LocalCluster of ``local_workers``
    single-threaded worker processes."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None) -> None:
        if (scheduler is None) == (local_workers is None):
            raise ValueError("give a Dask scheduler address or a number of local workers")
        try:
            import logging

            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError(
                'Dask sweeps need dask distributed: pip install "initlab[dask]"'
            ) from None
        self._cluster = None
        if local_workers is not None:
            if (
                isinstance(local_workers, bool)
                or not isinstance(local_workers, int)
                or local_workers < 1
            ):
                raise ValueError(
                    f"dask_local={local_workers!r} is not allowed; give an integer >= 1"
                )
            with _sigint_ignored():  # the worker processes inherit it: Ctrl-C is the driver's
                self._cluster = LocalCluster(
                    n_workers=local_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            address: Any = self._cluster
            self.description = f"Dask LocalCluster of {local_workers} worker processes"
        else:
            if not isinstance(scheduler, str) or "://" not in scheduler:
                raise ValueError(
                    f"scheduler={scheduler!r} is not allowed; give an address such as "
                    "tcp://host:8786"
                )
            address = scheduler
            self.description = f"Dask scheduler {scheduler}"
        try:
            self._client = Client(address, timeout=30)
        except (OSError, TimeoutError) as exc:
            self._close_cluster()
            raise ValueError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
        self.workers = max(1, sum(self._client.nthreads().values()))
        self._futures: list[Any] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        f = self._client.submit(fn, *args, pure=False)
        self._futures.append(f)
        return f

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed

        return iter(as_completed(list(futures)))

    def cancel(self) -> None:
        if self._futures:
            self._client.cancel(self._futures)
        self.close()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
            self._client = None
        self._close_cluster()


def make_executor(
    workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None
) -> LocalExecutor | DaskExecutor:
    """The executor the options ask for: Dask with ``scheduler`` or ``dask_local``, else
    local processes."""
    if scheduler is not None and dask_local is not None:
        raise ValueError("give --scheduler or --dask-local, not both")
    if scheduler is not None or dask_local is not None:
        if workers is not None:
            raise ValueError("--workers is for local processes; a Dask cluster has its own")
        return DaskExecutor(scheduler, dask_local)
    return LocalExecutor(workers)
