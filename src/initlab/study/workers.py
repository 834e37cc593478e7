"""The study's worker processes: they train populations and draw figures while this process
runs the experiments.

``initlab study`` runs on two cores in its time budget by training independent populations in
two processes (see :class:`initlab.study.context.TrainingContext`) and drawing the figures in
the same processes (:class:`initlab.study.render.FigureRenderer`).  A population's numbers
depend only on its spec (one BLAS thread in every process, the same engine), so a study with
workers gives exactly the report of a study run in one process.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import sys

from initlab._process import exit_with_parent

__all__ = ["DEFAULT_JOBS", "default_jobs", "start_pool", "stop_pool"]

#: Processes of a default study: the budget is "60 s on two cores".
DEFAULT_JOBS = 2


def default_jobs(quick: bool) -> int:
    """The processes a study uses when none are asked for: one for ``--quick`` (starting a
    worker, which imports numpy, initlab and matplotlib again, costs more than it saves on a
    run of a few seconds), else up to :data:`DEFAULT_JOBS` (no more than the CPUs)."""
    return 1 if quick else max(1, min(DEFAULT_JOBS, os.cpu_count() or 1))


def _spawn_safe() -> bool:
    """Can worker processes be spawned?  ``spawn`` re-imports the main module, which must then
    be a file (not ``python -`` or an interactive session)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return bool(path) and os.path.exists(str(path))


def _worker_init(parent: int) -> None:  # pragma: no cover - runs in the worker processes
    exit_with_parent(parent)
    # Ctrl-C goes to the whole process group: the parent handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        pass


def start_pool(jobs: int) -> cf.ProcessPoolExecutor | None:
    """``jobs`` worker processes (``spawn``, one BLAS thread each, ending with this process),
    or None for ``jobs == 1`` or where processes cannot be started (everything then runs in
    this process, with the same results)."""
    if jobs <= 1 or not _spawn_safe():
        return None
    try:
        import multiprocessing as mp

        return cf.ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=mp.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
    except (OSError, ValueError, ImportError):  # pragma: no cover - restricted hosts
        return None


def stop_pool(pool: cf.ProcessPoolExecutor | None, cancel: bool = False) -> None:
    """Shut ``pool`` down: wait for its work, or with ``cancel`` (Ctrl-C, an error) drop what
    has not started and end the workers now (a population may take many seconds to train,
    and nothing of it would be used)."""
    if pool is None:
        return
    if not cancel:
        pool.shutdown(wait=True)
        return
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for w in workers:
        if w.is_alive():
            w.terminate()
    for w in workers:
        w.join(timeout=5)
