"""Every listener of the app, one plain callback per file, registered by kind (Slack's starter
layout): commands (`/codesense`), events (mentions of the bot), actions (review buttons)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from apps.slack.listeners import actions, commands, events


def register_listeners(app: AsyncApp) -> None:
    commands.register(app)
    events.register(app)
    actions.register(app)
