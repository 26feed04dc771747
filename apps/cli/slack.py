"""`codesense slack --socket`: the Slack app over Slack's websocket (Socket Mode), for teams
without a public URL. Over HTTP the app is served by `codesense serve` at /slack/events.

Socket Mode needs the app-level token (`SLACK_APP_TOKEN`, xapp-..., scope connections:write)
and the bot token (`SLACK_BOT_TOKEN`); Slack does not sign websocket messages, so no signing
secret is used. The process loads the term index and graphs once, like the server.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from core.errors import CodeSenseError


def register(sub: Any) -> None:
    slack = sub.add_parser("slack", help="run the Slack app in Socket Mode (no public URL)")
    slack.add_argument(
        "--socket",
        action="store_true",
        help="connect to Slack over its websocket with SLACK_APP_TOKEN (required)",
    )
    slack.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.socket:
        raise CodeSenseError(
            "over HTTP the Slack app runs inside `codesense serve` (/slack/events); "
            "use `codesense slack --socket` for Socket Mode"
        )
    from apps.slack.settings import SlackSettings

    slack = SlackSettings()
    if slack.app_token is None or not slack.app_token.get_secret_value().startswith("xapp-"):
        raise CodeSenseError("Socket Mode needs SLACK_APP_TOKEN, the app-level token (xapp-...)")
    if slack.bot_token is None:
        raise CodeSenseError("Socket Mode needs SLACK_BOT_TOKEN, the bot token (xoxb-...)")
    try:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        from apps.slack.app import create_slack_app
    except ImportError as err:
        raise CodeSenseError(
            f"Slack needs its extra packages ({err.name}): pip install -e '.[slack]'"
        ) from None
    from apps.service import Service
    from core.settings import Settings

    service = Service(Settings())
    service.warm()
    app = create_slack_app(service, slack, socket_mode=True)
    app_token = slack.app_token.get_secret_value()

    async def connect() -> None:
        # The socket client opens its aiohttp session when made: inside the running loop.
        handler = AsyncSocketModeHandler(app, app_token)
        try:
            await handler.start_async()
        finally:
            # Ctrl-C cancels start_async; close the websocket and its session on the way out.
            await handler.close_async()

    try:
        asyncio.run(connect())
    except KeyboardInterrupt:
        return 0
    return 0
