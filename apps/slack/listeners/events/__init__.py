from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from apps.slack.listeners.events.app_mention import acknowledge_mention, mention


def register(app: AsyncApp) -> None:
    app.event("app_mention")(ack=acknowledge_mention, lazy=[mention])
