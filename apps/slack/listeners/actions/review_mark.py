"""Accept, Reject or Escalate on one code: recorded (and audited) through the facade, then the
code's message is redrawn with every mark so far."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from apps.slack import blocks
from apps.slack.context import runtime_of
from apps.slack.runtime import failure_line
from core.contract import ReviewedChartResult


async def acknowledge_mark(ack: AsyncAck) -> None:
    await ack()


async def review_mark(body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    runtime = runtime_of(context)
    service = runtime.service
    action = body["actions"][0]
    mark = str(action["action_id"]).removeprefix(blocks.ACTION_PREFIX)
    run_id, _, code = str(action.get("value", "")).partition(" ")
    user = str(body["user"]["id"])
    channel = str(body["channel"]["id"])
    message_ts = str(body["message"]["ts"])
    who = runtime.actor(user, channel)
    if isinstance(who, str):
        await runtime.tell_user(client, channel, user, who)
        return
    try:
        marks = await runtime.call(service.mark_code, who, run_id, code, mark, "slack")
        view = await runtime.call(service.run, who, run_id, "slack")
    except Exception as err:
        await runtime.tell_user(client, channel, user, f"Not recorded: {failure_line(err)}")
        return
    if view.result is None:
        return
    result = ReviewedChartResult.model_validate(view.result.model_dump())
    for indices in blocks.code_chunks(result):
        if any(result.suggestions[i].code == code for i in indices):
            message = blocks.codes_message(result, indices, marks, reviewable=True)
            await runtime.update(client, channel, message_ts, message)
            break
