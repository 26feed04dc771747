"""A mention of the bot: files shared with it are coded; in a run's thread, a question about the
run is answered; anything else gets the list of what the bot understands."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from apps.actors import Actor
from apps.slack import blocks
from apps.slack.answers import answer
from apps.slack.context import runtime_of
from apps.slack.files import download
from apps.slack.questions import FORMS_HELP, clean_text, parse_question
from apps.slack.runtime import SlackRuntime

MAX_FILES = 5


async def acknowledge_mention() -> None:
    """Events are acknowledged by Bolt itself; the work is the lazy listener below."""


async def mention(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    runtime = runtime_of(context)
    channel, user = str(event.get("channel", "")), str(event.get("user", ""))
    who = runtime.actor(user, channel)
    if isinstance(who, str):
        await runtime.tell_user(client, channel, user, who)
        return
    thread_ts = str(event.get("thread_ts") or event.get("ts"))
    files = [f for f in event.get("files") or [] if isinstance(f, dict) and f.get("id")]
    if files:
        await _code_files(runtime, client, who, channel, user, thread_ts, event, files)
        return
    question = parse_question(str(event.get("text", "")))
    runs = (
        await runtime.call(runtime.store.runs_in, channel, str(event["thread_ts"]), who.org)
        if event.get("thread_ts")
        else []
    )
    if not runs:
        hint = (
            "Ask me in the thread of a coded chart. "
            if question.kind not in ("help",) and clean_text(str(event.get("text", "")))
            else ""
        )
        await runtime.post(client, channel, blocks.plain(hint + FORMS_HELP), thread_ts)
        return
    run_id = question.run_id if question.run_id in runs else runs[0]
    try:
        reply = await runtime.call(answer, runtime.service, who, run_id, question)
    except Exception as err:
        await runtime.fail(
            client, channel, None, f"Could not answer about {run_id}", err, thread_ts
        )
        return
    await runtime.post(client, channel, reply, thread_ts)


async def _code_files(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    who: Actor,
    channel: str,
    user: str,
    thread_ts: str,
    event: dict[str, Any],
    files: list[dict[str, Any]],
) -> None:
    if not who.can("code"):
        await runtime.tell_user(
            client, channel, user, f"Sorry, your role ({who.role}) may not code charts."
        )
        return
    text = clean_text(str(event.get("text", ""))).lower()
    setting = (
        "inpatient"
        if "--inpatient" in text.split()
        else "outpatient"
        if "--outpatient" in text.split()
        else runtime.service.settings.setting
    )
    service = runtime.service
    limit = int(service.settings.max_file_mb * 1024 * 1024)
    for shared in files[:MAX_FILES]:
        file_id = str(shared["id"])
        placeholder = await runtime.post(
            client,
            channel,
            blocks.plain(
                f":hourglass_flowing_sand: Coding a shared file for <@{user}> ({setting})…"
            ),
            thread_ts,
        )
        try:
            got = await download(client, file_id, runtime.settings.api_base(), limit)
        except Exception as err:
            await runtime.fail(client, channel, placeholder, "Could not read the shared file", err)
            continue

        def work(data: bytes = got.data, name: str = got.name) -> Any:
            return service.code_upload(who, data, name, setting)

        await runtime.code_and_post(client, channel, thread_ts, placeholder, user, got.name, work)
    if len(files) > MAX_FILES:
        await runtime.post(
            client,
            channel,
            blocks.plain(f"I coded the first {MAX_FILES} files; share the others separately."),
            thread_ts,
        )
