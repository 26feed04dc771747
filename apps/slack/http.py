"""`/slack/events` on the FastAPI app: commands, events and interactivity on one URL.

The route has no API key: Slack proves itself by signing every request with the app's signing
secret (`X-Slack-Signature` over the timestamp and body; Bolt checks it and the timestamp's age).
A timestamp that is not a number is refused here first, as Bolt would fail on it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from apps.service import Service
from apps.slack.app import create_slack_app
from apps.slack.settings import SlackSettings

PATH = "/slack/events"


def mount_slack(app: FastAPI, service: Service, settings: SlackSettings) -> None:
    bolt = create_slack_app(service, settings)
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        if not timestamp.isdigit() or len(timestamp) > 12:
            return JSONResponse({"error": "invalid request"}, status_code=401)
        return await handler.handle(request)

    app.add_api_route(PATH, slack_events, methods=["POST"], include_in_schema=False)
    app.state.slack = bolt
