"""The whole server (FastAPI, Bolt, the facade) on a real uvicorn on 127.0.0.1, a stub of Slack's
Web API beside it, and a client that signs requests as Slack does.

The app allows two channels and three users, so refusals can be tested on the same server:
UCODER (coder), UAUDIT (auditor), UADMIN (admin); channels CCODING and CAUDIT.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.apps.server.conftest import make_service, serve
from tests.apps.slack.slack_api import BOT_USER, TEAM, SlackApiStub, sign, texts

CHANNEL = "CCODING"
CODER, AUDITOR, ADMIN_USER = "UCODER", "UAUDIT", "UADMIN"
_ids = itertools.count(1)


@dataclass
class SlackClient:
    """Sends what Slack sends to /slack/events, genuinely signed."""

    url: str
    secret: str
    stub: SlackApiStub

    def post(
        self,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        signed = sign(secret or self.secret, body, timestamp)
        return httpx.post(
            self.url + "/slack/events",
            content=body,
            headers={"Content-Type": content_type, **signed, **(headers or {})},
            timeout=60,
        )

    def command_body(self, text: str, user: str = CODER, channel: str = CHANNEL) -> bytes:
        return urlencode(
            {
                "token": "legacy-unused",
                "team_id": TEAM,
                "channel_id": channel,
                "user_id": user,
                "command": "/codesense",
                "text": text,
                "response_url": self.stub.response_url(f"cmd{next(_ids)}"),
                "trigger_id": f"trigger.{next(_ids)}",
                "api_app_id": "ACODESENSE",
            }
        ).encode()

    def command(self, text: str, user: str = CODER, channel: str = CHANNEL) -> httpx.Response:
        return self.post(
            self.command_body(text, user, channel), "application/x-www-form-urlencoded"
        )

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> bytes:
        return json.dumps(
            {
                "token": "legacy-unused",
                "team_id": TEAM,
                "api_app_id": "ACODESENSE",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
                "event": event,
            }
        ).encode()

    def mention(
        self,
        text: str,
        thread_ts: str | None = None,
        user: str = CODER,
        channel: str = CHANNEL,
        files: list[dict[str, Any]] | None = None,
        event_id: str | None = None,
        retry: int | None = None,
    ) -> httpx.Response:
        ts = f"1700000000.{next(_ids):06d}"
        event: dict[str, Any] = {
            "type": "app_mention",
            "user": user,
            "text": f"<@{BOT_USER}> {text}",
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        if files:
            event["files"] = files
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return self.post(self.event_body(event, event_id), "application/json", headers)

    def click(
        self,
        action_id: str,
        value: str,
        message_ts: str,
        thread_ts: str | None,
        user: str = CODER,
        channel: str = CHANNEL,
    ) -> httpx.Response:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user},
            "api_app_id": "ACODESENSE",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "channel": {"id": channel},
            "message": {"ts": message_ts, "thread_ts": thread_ts, "type": "message"},
            "trigger_id": f"trigger.{next(_ids)}",
            "response_url": self.stub.response_url(f"act{next(_ids)}"),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded")


def slack_settings(stub: SlackApiStub, secret: str, **extra: Any) -> Any:
    from apps.slack.settings import SlackSettings

    return SlackSettings(
        signing_secret=secret,
        bot_token=stub.token,
        api_url=stub.api_url,
        public_url="https://codesense.example",
        channels=f"{CHANNEL},CAUDIT",
        users=f"{CODER}=coder,{AUDITOR}=auditor,{ADMIN_USER}=admin",
        **extra,
    )


@pytest.fixture(scope="module")
def stub() -> Iterator[SlackApiStub]:
    with SlackApiStub("xoxb-test-" + secrets.token_hex(12)) as s:
        yield s


@pytest.fixture(scope="module")
def service(tmp_path_factory, term_index):
    # Both thresholds at 1.0: every chart waits for review, so the buttons have work.
    return make_service(
        tmp_path_factory.mktemp("slack"), term_index, auto_threshold=1.0, review_threshold=1.0
    )


@pytest.fixture(scope="module")
def secret() -> str:
    return secrets.token_hex(16)


@pytest.fixture(scope="module")
def slack(stub, service, secret) -> Iterator[SlackClient]:
    from apps.server import create_app

    app = create_app(service, slack=slack_settings(stub, secret))
    with serve(app) as live:
        yield SlackClient(live.url, secret, stub)


# -- waiting for the app's posts ------------------------------------------------------------------


def thread_posts(stub, thread_ts):
    return [c for c in stub.of("chat.postMessage") if c.params.get("thread_ts") == thread_ts]


def wait_coded(stub, root_ts):
    """Wait until the summary replaced the placeholder at `root_ts` and Submit was posted."""

    def done(calls):
        updated = any(
            c.method == "chat.update" and c.params.get("ts") == root_ts and "Coded" in texts(c)
            for c in calls
        )
        failed = any(
            c.method == "chat.update" and c.params.get("ts") == root_ts and ":x:" in texts(c)
            for c in calls
        )
        submit = any(
            c.method == "chat.postMessage"
            and c.params.get("thread_ts") == root_ts
            and "Submit review" in json.dumps(c.params.get("blocks"))
            for c in calls
        )
        return failed or (updated and submit)

    stub.wait_for(done)


def command_root(stub, before: int) -> str:
    """The ts of the placeholder the command posted (the thread's root)."""
    posts = stub.wait_for(
        lambda calls: [
            c
            for c in calls[before:]
            if c.method == "chat.postMessage" and "Coding a note" in texts(c)
        ]
    )
    return str(posts[0].result["ts"])


def wait_submit(stub, thread_ts: str, after: int = 0) -> None:
    """Wait until a Submit review message was posted in the thread (after its first `after`
    posts): the last message of a run's answer while it awaits review."""
    stub.wait_for(
        lambda calls: any(
            "Submit review" in json.dumps(p.params.get("blocks"))
            for p in thread_posts(stub, thread_ts)[after:]
        )
    )
