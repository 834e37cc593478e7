"""The ``initlab`` command line.

Each command lives in its own module of this package and exposes ``register(subparsers)``, which
adds its parser and sets ``func``; an optional module-level ``ORDER`` (int) places it in
``initlab --help``.  Modules are discovered, so adding a command touches no other file.
Command modules import their heavy dependencies inside ``func``, so ``--help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["flag_message", "main", "writable_dir"]


def writable_dir(flag: str, path: str) -> Path:
    """``path`` as a folder that exists (created if needed) and takes a new file; otherwise a
    ParameterError naming ``flag``.  Commands call it before they compute what they will
    write there."""
    from initlab._checks import ParameterError

    allowed = "a folder that can be created and written to"
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ParameterError(
            flag, path, allowed, f"{flag} {path}: {why}; allowed: {allowed}"
        ) from None
    return p


def flag_message(exc: BaseException, args: argparse.Namespace) -> str:
    """The error as the user should read it: a :class:`initlab._checks.ParameterError` about a
    field that came from a flag names that flag and the value as typed (``args.flags`` may map
    a field to ``(flag, typed)``, e.g. ``hidden`` to ``("--layers", "2,0,1")``; otherwise the
    flag is ``--field-name`` when the command has it)."""
    from initlab._checks import ParameterError, plain_value

    if not isinstance(exc, ParameterError):
        return str(exc)
    flags = getattr(args, "flags", None) or {}
    if exc.field in flags:
        flag, typed = flags[exc.field]
    elif exc.field in vars(args) and exc.field not in ("command", "func", "flags"):
        flag, typed = "--" + exc.field.replace("_", "-"), getattr(args, exc.field)
    else:
        return str(exc)
    text = exc.message
    for prefix in (f"{exc.field}={plain_value(exc.value)!r}", f"{exc.field}={exc.value!r}"):
        if text.startswith(prefix):  # the flag and the typed value say it
            text = text[len(prefix) :].lstrip(":")
            break
    else:
        if text.startswith(exc.field + " "):  # "lr must be > 0" -> "--lr -1: must be > 0"
            text = text[len(exc.field) :]
    text = text.strip()
    return f"{flag} {typed} {text}" if text.startswith("is ") else f"{flag} {typed}: {text}"


def _command_modules() -> list:
    mods = [
        importlib.import_module(f"{__name__}.{m.name}")
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_")
    ]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="initlab",
        description="A lab for neural-network weight initialization.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``initlab`` script; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError) as exc:
        print(f"initlab {args.command}: error: {flag_message(exc, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
