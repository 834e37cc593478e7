"""The progress bars: clean in a real terminal, absent off one, silenced by ``--quiet``.

``initlab train`` and ``initlab study --quick`` run under a pseudo-terminal; the bytes they
write are rendered by a terminal emulator (pyte) and the final screen must hold exactly one
well-formed bar line plus the lines the same command prints when it is not on a terminal --
no leftover characters of an earlier, longer redraw."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pyte = pytest.importorskip("pyte")
if sys.platform == "win32":  # pragma: no cover
    pytest.skip("pseudo-terminals are POSIX", allow_module_level=True)

import fcntl  # noqa: E402
import pty  # noqa: E402
import struct  # noqa: E402
import termios  # noqa: E402

from initlab._progress import ProgressBar  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")
COLS, ROWS = 160, 300  # wide enough for every line, tall enough that none scrolls off


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    pp = env.get("PYTHONPATH")
    env.update(
        PYTHONPATH=SRC + (os.pathsep + pp if pp else ""),
        TERM="xterm-256color",
        COLUMNS=str(COLS),
        LINES=str(ROWS),
    )
    return env


def _run_in_pty(
    args: list[str], cwd: Path, timeout: float = 300.0, stdout: object = None
) -> tuple[int, bytes]:
    """Run ``python -m initlab ARGS`` with stdin/stdout/stderr on a pseudo-terminal of
    COLS x ROWS (stdout to the file ``stdout`` if given); return its exit status and every
    byte it wrote to the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    p = subprocess.Popen(
        [sys.executable, "-m", "initlab", *args],
        stdin=slave,
        stdout=slave if stdout is None else stdout,
        stderr=slave,
        cwd=cwd,
        env=_env(),
        close_fds=True,
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed its side
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        else:
            p.kill()
            pytest.fail(f"initlab {' '.join(args)} did not finish in {timeout} s")
    finally:
        os.close(master)
    return p.wait(), bytes(out)


def _run_piped(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "initlab", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def _screen(raw: bytes) -> list[str]:
    """The lines of the emulated screen after ``raw`` (trailing blanks dropped)."""
    screen = pyte.Screen(COLS, ROWS)
    screen.set_mode(pyte.modes.LNM)  # the pty turns \n into \r\n anyway
    pyte.ByteStream(screen).feed(raw)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# seconds differ between two runs; nothing else may
_TIMES = re.compile(r"\d+\.\d+ ?s\b")


def _same(a: list[str], b: list[str]) -> bool:
    return [_TIMES.sub("T s", x) for x in a] == [_TIMES.sub("T s", x) for x in b]


def _bar_line(label: str, total: int, note: str = r"(?: \S.*)?") -> re.Pattern:
    # label, a full bar of rich's heavy line characters, done/total, elapsed h:mm:ss, a note
    return re.compile(rf"{label} \u2501+ {total}/{total} \d:\d\d:\d\d{note}")


def _check_screen(lines: list[str], piped_out: str, bar: re.Pattern) -> None:
    at = [i for i, line in enumerate(lines) if bar.fullmatch(line)]
    assert len(at) == 1, "expected exactly one final bar line:\n" + "\n".join(lines)
    rest = lines[: at[0]] + lines[at[0] + 1 :]
    expected = piped_out.rstrip("\n").split("\n") if piped_out else []
    assert _same(rest, expected), "\n".join(lines)


def test_train_under_a_terminal_ends_with_one_clean_bar_line(tmp_path):
    args = ["train", "--steps", "3000"]
    rc, raw = _run_in_pty(args, tmp_path)
    assert rc == 0, raw.decode(errors="replace")
    piped = _run_piped(args, tmp_path)
    assert piped.returncode == 0 and piped.stderr == ""  # off a terminal: no bar at all
    assert b"\x1b[" in raw  # the bar was drawn (redrawn in place) on the terminal
    # the note is the training cost, e.g. "cost 3.38e-05"
    _check_screen(_screen(raw), piped.stdout, _bar_line("training", 3000, r" cost \S+"))


def _after_live(raw: bytes) -> str:
    """What was written after the live display ended (rich shows the cursor again)."""
    tail = raw.rsplit(b"\x1b[?25h", 1)[-1].decode()
    assert "\x1b" not in tail and "\r" not in tail.replace("\r\n", "")  # plain lines only
    return tail.replace("\r\n", "\n")


def test_study_quick_under_a_terminal_ends_with_one_clean_bar_line(tmp_path):
    rc, raw = _run_in_pty(["study", "--quick", "--out", "out", "--store", "runs.sqlite"], tmp_path)
    assert rc == 0, raw.decode(errors="replace")
    lines = _screen(raw)
    n = int(re.search(r"\d+/(\d+)", "\n".join(lines)).group(1))
    # the rest of the screen is exactly the plain text printed after the bar
    _check_screen(lines, _after_live(raw), _bar_line("study", n, ""))


def test_a_redirected_stdout_holds_only_the_result(tmp_path):
    """stdout to a file, stderr on the terminal: the bar is drawn on the terminal, and the
    file holds exactly what the command prints off a terminal."""
    args = ["train", "--steps", "500"]
    with open(tmp_path / "out.txt", "w") as f:
        rc, raw = _run_in_pty(args, tmp_path, stdout=f)
    assert rc == 0 and "\u2501" in raw.decode()
    piped = _run_piped(args, tmp_path)
    got = (tmp_path / "out.txt").read_text().split("\n")
    assert _same(got, piped.stdout.split("\n"))
    _check_screen(_screen(raw), "", _bar_line("training", 500, r" cost \S+"))


def test_quiet_draws_no_bar_on_a_terminal(tmp_path):
    rc, raw = _run_in_pty(["train", "--steps", "50", "--quiet"], tmp_path)
    assert rc == 0
    assert "\u2501" not in raw.decode() and b"\x1b[" not in raw
    assert "result   train accuracy" in raw.decode()


def test_the_bar_writes_nothing_off_a_terminal_or_when_disabled():
    for stream, enabled in ((io.StringIO(), True), (io.StringIO(), False)):
        with ProgressBar(10, "x", stream, enabled=enabled) as bar:
            bar.update(5, "half")
        assert not bar.live and stream.getvalue() == ""
