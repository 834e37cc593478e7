"""Which process is which: a process's identity (pid plus start time), whether it still runs,
and ending a helper process when the process that started it dies.

The run store records the process running each study (:func:`process_started`) and asks
:func:`process_alive` when it finds a study still marked running; the study's figure workers
call :func:`exit_with_parent` so that they never outlive a killed study."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

__all__ = ["exit_with_parent", "process_alive", "process_started"]


def process_started(pid: int) -> str:
    """When process ``pid`` started, as ``"<boot id>:<clock ticks since boot>"`` (Linux);
    ``""`` where that cannot be read.  Together with the pid it names one process: a pid
    reused after a reboot or by a later process has another start."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()  # the name in parentheses may hold spaces
    return f"{boot}:{fields[19]}" if len(fields) > 19 else ""  # field 22: starttime


def process_alive(pid: int, started: str) -> bool:
    """Is the process ``pid`` that started at ``started`` (see :func:`process_started`) still
    running on this host?  True where that cannot be told (so nothing is marked wrongly)."""
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would end it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):  # exited, not yet reaped
            return False
    except (OSError, IndexError):
        pass
    now = process_started(pid)
    return not (started and now and now != started)


def exit_with_parent(parent: int) -> None:
    """End this process as soon as ``parent`` (the process that started it) dies, even by
    SIGKILL: on Linux the kernel sends SIGKILL (``prctl(PR_SET_PDEATHSIG)``); everywhere a
    daemon thread also checks every 0.2 s that the parent is still the parent."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    if os.getppid() != parent:  # it died before the watch began
        os._exit(1)
    threading.Thread(target=watch, name="initlab-parent-watch", daemon=True).start()
