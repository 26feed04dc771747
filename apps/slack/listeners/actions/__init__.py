from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from apps.slack.blocks import ACTION_PREFIX, MARK_ACTIONS, SUBMIT_ACTION
from apps.slack.listeners.actions.review_mark import acknowledge_mark, review_mark
from apps.slack.listeners.actions.review_submit import acknowledge_submit, review_submit

_MARKS = re.compile(f"^{ACTION_PREFIX}({'|'.join(MARK_ACTIONS)})$")


def register(app: AsyncApp) -> None:
    app.action(_MARKS)(ack=acknowledge_mark, lazy=[review_mark])
    app.action(SUBMIT_ACTION)(ack=acknowledge_submit, lazy=[review_submit])
