"""`codesense slack --socket` as a process: it opens Slack's websocket (a local stand-in speaking
Socket Mode's envelopes), acknowledges a slash command over it, codes the note and posts the
answer through the Web API stub; a re-delivered event is handled once."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.apps.slack.conftest import CHANNEL, CODER, command_root, thread_posts, wait_coded
from tests.apps.slack.slack_api import BOT_USER, TEAM, SlackApiStub, texts
from tests.conftest import ROOT


class FakeSocketMode:
    """Slack's end of Socket Mode: one websocket; envelopes out, acknowledgements in."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self.ws: Any = None
        self.port = 0

    async def _handler(self, request: Any) -> Any:
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.ws = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.received.put(json.loads(msg.data))
        return ws

    def start(self) -> FakeSocketMode:
        from aiohttp import web

        started = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/link", self._handler)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = runner.addresses[0][1]
            started.set()

        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(serve(), self.loop)
        assert started.wait(30)
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def send(self, envelope: dict[str, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(self.ws.send_str(json.dumps(envelope)), self.loop)
        future.result(30)

    def ack_of(self, envelope_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
        while True:
            got = self.received.get(timeout=timeout_s)
            if got.get("envelope_id") == envelope_id:
                return got


@pytest.fixture()
def socket_app(tmp_path):
    fake = FakeSocketMode().start()
    with SlackApiStub("xoxb-socket-" + secrets.token_hex(8)) as stub:
        stub.app_token = "xapp-1-" + secrets.token_hex(8)
        stub.socket_url = fake.url
        data = tmp_path / "data"
        data.mkdir()
        (data / "cache").symlink_to(Path(os.environ["CODESENSE_DATA_DIR"]) / "cache")
        env = dict(
            os.environ,
            CODESENSE_DATA_DIR=str(data),
            CODESENSE_AUTO_THRESHOLD="1.0",
            CODESENSE_REVIEW_THRESHOLD="1.0",
            SLACK_APP_TOKEN=stub.app_token,
            SLACK_BOT_TOKEN=stub.token,
            CODESENSE_SLACK_API_URL=stub.api_url,
            PYTHONPATH=str(ROOT),
        )
        env.pop("SLACK_SIGNING_SECRET", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "apps.cli", "-v", "slack", "--socket"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            connected = fake.connected.wait(300)
            assert connected, (
                proc.stderr.read().decode() if proc.poll() is not None else "no connection"
            )
            yield fake, stub, proc
        finally:
            _stop(proc)
            fake.loop.call_soon_threadsafe(fake.loop.stop)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    """Stop the process (Ctrl-C) and return what it logged."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return (err or b"").decode(errors="replace")


def test_socket_mode_acknowledges_codes_and_answers_once(socket_app):
    fake, stub, proc = socket_app
    fake.send(
        {
            "envelope_id": "env-command-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "team_id": TEAM,
                "channel_id": CHANNEL,
                "user_id": CODER,
                "command": "/codesense",
                "text": "code ASSESSMENT:\n1. Essential hypertension.\n2. Hyperlipidemia.",
                "response_url": stub.response_url("socket"),
                "trigger_id": "t.1",
            },
        }
    )
    ack = fake.ack_of("env-command-1")
    assert "Coding your note (outpatient)" in ack["payload"]["text"]
    root = command_root(stub, 0)
    wait_coded(stub, root)
    assert "*I10* Essential (primary) hypertension" in "\n".join(
        texts(p) for p in thread_posts(stub, root)
    )
    before = len(thread_posts(stub, root))
    for attempt in (0, 1):
        envelope = {
            "envelope_id": f"env-event-{attempt}",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": attempt,
            "retry_reason": "timeout" if attempt else "",
            "payload": {
                "team_id": TEAM,
                "api_app_id": "ASOCKET",
                "type": "event_callback",
                "event_id": "EvSOCKET0001",
                "event_time": 1,
                "event": {
                    "type": "app_mention",
                    "user": CODER,
                    "channel": CHANNEL,
                    "text": f"<@{BOT_USER}> what supports I10?",
                    "ts": "1700000000.900001",
                    "thread_ts": root,
                },
            },
        }
        fake.send(envelope)
        fake.ack_of(envelope["envelope_id"])
    stub.wait_for(lambda calls: len(thread_posts(stub, root)) > before)
    answer = texts(thread_posts(stub, root)[before])
    assert '"Essential hypertension."' in answer or '"Essential hypertension' in answer
    # The retry was acknowledged and dropped before any work (the process logs it); once the
    # process has stopped, the thread holds exactly one answer.
    logged = _stop(proc)
    assert "slack event EvSOCKET0001 delivered again (retry 1): ignored" in logged
    answers = thread_posts(stub, root)[before:]
    assert len(answers) == 1
    assert "Essential hypertension" not in logged  # chart text stays out of its log
    assert "Traceback" not in logged and "Unclosed" not in logged  # Ctrl-C closes cleanly
