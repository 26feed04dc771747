from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from apps.slack.listeners.commands.codesense import acknowledge_codesense, codesense_command


def register(app: AsyncApp) -> None:
    # Acknowledge within Slack's 3 seconds; the work runs after the reply (a lazy listener).
    app.command("/codesense")(ack=acknowledge_codesense, lazy=[codesense_command])
