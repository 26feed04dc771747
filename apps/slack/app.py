"""The Bolt app: Slack's async app over the facade, with the listeners, the runtime in every
listener's context and each Events API delivery handled once.

Async throughout (`AsyncApp`, `AsyncWebClient`): inside FastAPI the sync handler would run
listeners on the server's event loop and block it. The Web API client points at
`CODESENSE_SLACK_API_URL`, so tests and benchmarks talk to a stub on 127.0.0.1.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from apps.service import Service
from apps.slack.context import KEY
from apps.slack.listeners import register_listeners
from apps.slack.logs import APP_NAME, install_log_gate
from apps.slack.runtime import SlackRuntime
from apps.slack.settings import SlackSettings
from core.errors import CodeSenseError

log = logging.getLogger(__name__)


def create_slack_app(
    service: Service, settings: SlackSettings, socket_mode: bool = False
) -> AsyncApp:
    """The app for HTTP mode (verifies signatures) or Socket Mode (Slack's websocket)."""
    install_log_gate()
    if settings.bot_token is None:
        raise CodeSenseError("Slack needs SLACK_BOT_TOKEN (the bot's xoxb- token)")
    if not socket_mode and settings.signing_secret is None:
        raise CodeSenseError(
            "Slack over HTTP needs SLACK_SIGNING_SECRET (the app's signing secret)"
        )
    client = AsyncWebClient(
        token=settings.bot_token.get_secret_value(),
        base_url=settings.api_base(),
        logger=logging.getLogger("slack_sdk.web.codesense"),
    )
    app = AsyncApp(
        name=APP_NAME,
        client=client,
        signing_secret=settings.signing_secret.get_secret_value()
        if settings.signing_secret
        else "",
        request_verification_enabled=not socket_mode,
        process_before_response=False,
    )
    runtime = SlackRuntime(service, settings)

    async def attach_runtime(context: Any, next_: Any) -> None:
        context[KEY] = runtime
        await next_()

    async def once_per_event(body: dict[str, Any], request: Any, next_: Any) -> Any:
        """Slack re-delivers an event it thinks was not acknowledged; only the first counts."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id:
            first = await runtime.call(runtime.store.first_delivery, event_id[:64])
            if not first:
                retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
                log.info("slack event %s delivered again (retry %s): ignored", event_id[:64], retry)
                return BoltResponse(status=200, body="")
        await next_()
        return None

    app.middleware(attach_runtime)
    app.middleware(once_per_event)
    register_listeners(app)
    return app
