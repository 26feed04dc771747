"""What every listener shares: the facade, the Slack settings, who may ask, and how a result is
posted in its thread.

Listeners acknowledge first; the work here runs afterwards, with the facade's synchronous calls
in worker threads so the server's event loop keeps answering Slack within its 3 seconds.
Failures become one clear line in the thread (or to the one user), never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from apps.actors import Actor
from apps.service import Service
from apps.slack import blocks
from apps.slack.blocks import Message
from apps.slack.settings import SlackSettings
from core.contract import ChartResult, ReviewedChartResult
from core.errors import CodeSenseError
from store.marks import ReviewMark
from store.slack import SlackStore

log = logging.getLogger(__name__)
T = TypeVar("T")

REFUSE_CHANNEL = (
    "Sorry, Code Sense is not enabled in this channel, so it cannot post chart text here. "
    "Please use one of the channels your team set up for coding, or ask an admin to add this one."
)
REFUSE_USER = (
    "Sorry, you are not on Code Sense's list of Slack users yet. Please ask an admin to add your "
    "Slack id with a role (coder or auditor)."
)


class SlackRuntime:
    """One per app: holds the facade and the settings, and posts results."""

    def __init__(self, service: Service, settings: SlackSettings) -> None:
        self.service = service
        self.settings = settings
        self._store: SlackStore | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> SlackRuntime:
        # Bolt hands lazy listeners a deep copy of the request's context; the runtime (the
        # facade, its loaded indexes, its locks) is shared, never copied.
        return self

    @property
    def store(self) -> SlackStore:
        if self._store is None:
            self._store = SlackStore(self.service.records.db)
        return self._store

    # -- who may ask --------------------------------------------------------------------------

    def actor(self, user: str | None, channel: str | None) -> Actor | str:
        """The Slack user as an actor of this server's organisation, or a polite refusal."""
        s = self.settings
        if s.channels and channel not in s.channels:
            return REFUSE_CHANNEL
        if not user:
            return REFUSE_USER
        if s.users:
            role = s.users.get(user)
            if role is None:
                return REFUSE_USER
        else:
            role = "coder"
        try:
            return Actor(id=user, role=role, org=self.service.settings.org, via="slack")
        except ValueError:
            return REFUSE_USER

    # -- running the facade off the event loop -----------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- posting ------------------------------------------------------------------------------

    async def post(
        self, client: AsyncWebClient, channel: str, message: Message, thread_ts: str | None = None
    ) -> str:
        """Post a message (in a thread when `thread_ts` is given); returns its ts."""
        response = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    async def update(self, client: AsyncWebClient, channel: str, ts: str, message: Message) -> None:
        await client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)

    async def tell_user(self, client: AsyncWebClient, channel: str, user: str, text: str) -> None:
        """A message only `user` sees (refusals, errors about their click)."""
        await client.chat_postEphemeral(channel=channel, user=user, text=text)

    async def post_result(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        result: ReviewedChartResult,
        reviewable: bool,
        marks: dict[str, ReviewMark],
    ) -> None:
        """The run's details, its codes (with buttons while it awaits review) and Submit."""
        link = self.settings.trace_link(result.run_id)
        await self.post(client, channel, blocks.details(result, link), thread_ts)
        if not result.suggestions:
            return
        code_messages = []
        for indices in blocks.code_chunks(result):
            message = blocks.codes_message(result, indices, marks, reviewable)
            code_messages.append(await self.post(client, channel, message, thread_ts))
        if reviewable:
            submit = blocks.submit_message(
                result.run_id, code_messages, len(marks), len(result.suggestions)
            )
            await self.post(client, channel, submit, thread_ts)

    async def code_and_post(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        placeholder_ts: str,
        user: str,
        label: str,
        work: Callable[[], ChartResult],
    ) -> str | None:
        """Code a chart in a worker thread and post the answer; a failure is one line in the
        placeholder's place. Returns the run id, or None when coding failed."""
        try:
            coded = await self.call(work)
        except Exception as err:
            await self.fail(client, channel, placeholder_ts, f"Could not code {label}", err)
            return None
        result = ReviewedChartResult.model_validate(coded.model_dump())
        await self.call(
            self.store.bind, channel, thread_ts, result.run_id, self.service.settings.org
        )
        link = self.settings.trace_link(result.run_id)
        await self.update(
            client, channel, placeholder_ts, blocks.summary(result, label, user, link)
        )
        # A run routed review or escalate is paused for a person: its codes get buttons.
        await self.post_result(client, channel, thread_ts, result, result.route != "auto", {})
        log.info("slack coded run=%s route=%s", result.run_id, result.route)
        return result.run_id

    async def fail(
        self,
        client: AsyncWebClient,
        channel: str,
        ts: str | None,
        what: str,
        err: BaseException,
        thread_ts: str | None = None,
    ) -> None:
        """Replace the message at `ts` (or post in the thread) with one line saying why."""
        text = f":x: {what}: {failure_line(err)}"
        message = blocks.plain(text)
        try:
            if ts:
                await self.update(client, channel, ts, message)
            else:
                await self.post(client, channel, message, thread_ts)
        except Exception as post_err:  # Slack itself refused: nothing more to tell anyone
            log.warning("slack could not post a failure: %s", type(post_err).__name__)


def failure_line(err: BaseException) -> str:
    """One line a coder can act on. Our errors carry one; anything else is logged (its class and
    frames, never its message, which could quote a chart) and shown as an internal error."""
    if isinstance(err, CodeSenseError):
        lines = str(err).strip().splitlines()
        return blocks.escape(lines[0] if lines else type(err).__name__)
    log.error(
        "slack work failed: %s\n%s",
        type(err).__name__,
        "".join(traceback.format_tb(err.__traceback__)),
    )
    return f"internal error ({type(err).__name__}); the server log has the details"
