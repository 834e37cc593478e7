"""What the benchmarks read about the machine they run on (one home for ``/proc/stat``)."""

from __future__ import annotations

import os


def busy_seconds() -> float | None:
    """All CPUs' busy seconds since boot: every ``/proc/stat`` field but idle and iowait,
    divided by the clock tick; None where there is no ``/proc/stat`` (not Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields[:8]) - idle) / hz
