"""``initlab serve``: start the interactive page on a local server and print its address."""

from __future__ import annotations

import argparse

ORDER = 60


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="start the interactive page (pick an initialization, watch the network train)",
        description="Start a local web server with the interactive page: choose a data set, a "
        "network and an initialization, and watch training live, layer by layer. Needs the "
        'web extra: pip install "initlab[web]".',
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free port)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    p.add_argument(
        "--max-sessions",
        type=int,
        default=8,
        help="most browser tabs training at once (default 8)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests addressed to NAME (the Host header); by default only "
        "loopback names and --host are answered, against DNS rebinding ('*': any)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_sessions < 1:
        raise ValueError(f"--max-sessions must be >= 1, got {args.max_sessions}")
    try:
        from initlab.web.server import serve
    except ImportError as exc:
        raise ValueError(
            f'the page needs the web extra ({exc.name} is missing): pip install "initlab[web]"'
        ) from None
    serve(
        args.host,
        args.port,
        open_browser=not args.no_browser,
        max_sessions=args.max_sessions,
        allow_hosts=args.allow_host,
    )
    return 0
