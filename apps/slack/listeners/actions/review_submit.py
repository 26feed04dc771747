"""Submit review: the marks become the reviewer's decision and the paused run resumes through the
facade as the Slack user. A code marked Escalate keeps the run paused for an auditor."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from agent.review import ReviewRequest
from apps.slack import blocks
from apps.slack.context import runtime_of
from apps.slack.runtime import failure_line


async def acknowledge_submit(ack: AsyncAck) -> None:
    await ack()


async def review_submit(body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    runtime = runtime_of(context)
    service = runtime.service
    action = body["actions"][0]
    run_id, *code_messages = str(action.get("value", "")).split()
    user = str(body["user"]["id"])
    channel = str(body["channel"]["id"])
    message = body["message"]
    submit_ts = str(message["ts"])
    thread_ts = str(message.get("thread_ts") or submit_ts)
    who = runtime.actor(user, channel)
    if isinstance(who, str):
        await runtime.tell_user(client, channel, user, who)
        return
    try:
        marks = await runtime.call(service.review_marks, who, run_id)
    except Exception as err:
        await runtime.tell_user(client, channel, user, f"Not submitted: {failure_line(err)}")
        return
    escalated = sorted(c for c, m in marks.items() if m.mark == "escalate")
    if escalated:
        await runtime.post(
            client,
            channel,
            blocks.plain(
                f":warning: <@{user}>: {', '.join(escalated)} marked Escalate, so run `{run_id}` "
                "stays paused for an auditor, who can mark those codes Accept or Reject and "
                "submit the review."
            ),
            thread_ts,
        )
        return
    request = ReviewRequest(
        accept=[c for c, m in marks.items() if m.mark == "accept"],
        reject=[c for c, m in marks.items() if m.mark == "reject"],
    )
    try:
        result = await runtime.call(service.review, who, run_id, request)
    except Exception as err:
        await runtime.tell_user(client, channel, user, f"Not submitted: {failure_line(err)}")
        return
    await runtime.post(client, channel, blocks.reviewed_message(result, user), thread_ts)
    await runtime.update(
        client,
        channel,
        submit_ts,
        blocks.plain(f"Review of run `{run_id}` submitted by <@{user}>."),
    )
    # The code messages lose their buttons and show the marks that were decided.
    for ts, indices in zip(code_messages, blocks.code_chunks(result), strict=False):
        await runtime.update(
            client, channel, ts, blocks.codes_message(result, indices, marks, reviewable=False)
        )
