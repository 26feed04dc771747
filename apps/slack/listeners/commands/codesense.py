"""`/codesense code <note>` codes a pasted note and posts the answer as a thread in the channel;
`/codesense run <run-id>` shows an earlier run (in its own thread when it was posted in Slack)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from apps.actors import Actor
from apps.slack import blocks
from apps.slack.commands import USAGE, SlashCommand, parse_command
from apps.slack.context import runtime_of
from apps.slack.questions import FORMS_HELP
from apps.slack.runtime import SlackRuntime, failure_line
from core.contract import ReviewedChartResult


async def acknowledge_codesense(ack: AsyncAck, command: dict[str, Any], context: Any) -> None:
    """Answer Slack at once, with what will happen (only the coder sees this)."""
    runtime = runtime_of(context)
    who = runtime.actor(command.get("user_id"), command.get("channel_id"))
    if isinstance(who, str):
        await ack(who)
        return
    parsed = parse_command(command.get("text", ""))
    if parsed.problem:
        await ack(parsed.problem)
    elif parsed.verb == "help":
        await ack(FORMS_HELP + "\n" + USAGE)
    elif parsed.verb == "code" and not who.can("code"):
        await ack(f"Sorry, your role ({who.role}) may not code charts; ask a coder.")
    elif parsed.verb == "code":
        setting = parsed.setting or runtime.service.settings.setting
        await ack(f"Coding your note ({setting})… the answer will be posted here as a thread.")
    else:
        await ack(f"Looking up {parsed.run_id}…")


async def codesense_command(
    command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: Any
) -> None:
    """The work after the acknowledgement (a lazy listener)."""
    runtime = runtime_of(context)
    who = runtime.actor(command.get("user_id"), command.get("channel_id"))
    parsed = parse_command(command.get("text", ""))
    if isinstance(who, str) or parsed.problem or parsed.verb == "help":
        return
    channel, user = str(command["channel_id"]), str(command["user_id"])
    if parsed.verb == "code":
        if who.can("code"):
            await _code(runtime, client, respond, who, channel, user, parsed)
        return
    await _show_run(runtime, client, respond, who, channel, user, str(parsed.run_id))


async def _code(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    respond: AsyncRespond,
    who: Actor,
    channel: str,
    user: str,
    parsed: SlashCommand,
) -> None:
    setting = parsed.setting or runtime.service.settings.setting
    try:
        root = await runtime.post(
            client,
            channel,
            blocks.plain(f":hourglass_flowing_sand: Coding a note for <@{user}> ({setting})…"),
        )
    except SlackApiError as err:
        await respond(_cannot_post(err))
        return
    service, note = runtime.service, parsed.note
    await runtime.code_and_post(
        client,
        channel,
        root,
        root,
        user,
        "a pasted note",
        lambda: service.code_text(who, note, setting, name="slack-note.txt"),
    )


async def _show_run(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    respond: AsyncRespond,
    who: Actor,
    channel: str,
    user: str,
    run_id: str,
) -> None:
    service = runtime.service
    try:
        view = await runtime.call(service.run, who, run_id, "slack")
        marks = await runtime.call(service.review_marks, who, run_id)
    except Exception as err:
        await respond(f"Could not show {run_id}: {failure_line(err)}")
        return
    thread = await runtime.call(runtime.store.thread_of, run_id)
    if thread is not None and thread.channel != channel:
        # Chart text stays in the thread where the chart was posted.
        await respond(
            f"Run `{run_id}` was posted in <#{thread.channel}>; its answers stay in that thread."
        )
        return
    if view.result is None:
        await respond(f"Run `{run_id}` is {view.run.status.replace('_', ' ')}: no output to show.")
        return
    result = ReviewedChartResult.model_validate(view.result.model_dump())
    link = runtime.settings.trace_link(run_id)
    try:
        if thread is not None:
            thread_ts = thread.thread_ts
            await runtime.post(
                client,
                channel,
                blocks.plain(f"<@{user}> asked to see run `{run_id}` again."),
                thread_ts,
            )
        else:
            summary = blocks.summary(result, f"run {run_id}", user, link)
            thread_ts = await runtime.post(client, channel, summary)
            await runtime.call(runtime.store.bind, channel, thread_ts, run_id, who.org)
        reviewable = view.run.status == "awaiting_review"
        await runtime.post_result(client, channel, thread_ts, result, reviewable, marks)
    except SlackApiError as err:
        await respond(_cannot_post(err))


def _cannot_post(err: SlackApiError) -> str:
    code = err.response.get("error", "error") if err.response is not None else "error"
    if code in ("not_in_channel", "channel_not_found"):
        return "I can't post in this channel: invite me first (`/invite @Code Sense`)."
    return f"Slack refused my message ({code})."
