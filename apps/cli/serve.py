"""`codesense serve`: the HTTP API, the web pages (and Slack, when configured) in one process.

The process loads the term index, the rules and the graphs once and keeps them warm. Listen on
127.0.0.1 (the default) behind a TLS-terminating proxy; `--host 0.0.0.0` only on a trusted
network.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the HTTP API and the web pages")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument("--log-level", default="info", choices=["warning", "info", "debug"])
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from apps.server import create_app
    except ImportError as err:
        from core.errors import CodeSenseError

        raise CodeSenseError(
            f"the server needs its extra packages ({err.name}): pip install -e '.[server]'"
        ) from None
    from core.settings import Settings

    app = create_app(settings=Settings())
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
