"""A local stand-in for Slack's Web API on 127.0.0.1, for tests and the Slack benchmark.

It answers the methods the app calls (auth.test, chat.postMessage, chat.update,
chat.postEphemeral, files.info), serves registered files at their private download address
(only with the bot token), takes `response_url` posts, and records every call in order so a test
can wait for one and read exactly what the app sent. Signing helpers build requests the way
Slack does: HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

BOT_USER = "UCODESENSE"
TEAM = "T0CODING"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.perf_counter)
    # What the stub answered (a posted message's ts is `result["ts"]`).
    result: dict[str, Any] = field(default_factory=dict)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request body, signed with `secret`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


class SlackApiStub:
    """The Web API stub; `start()` / `stop()` or use as a context manager."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.files: dict[str, tuple[str, bytes, str]] = {}
        self.refuse_channels: set[str] = set()
        # Socket Mode: the app-level token and the websocket address apps.connections.open gives.
        self.app_token: str | None = None
        self.socket_url: str | None = None
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base_url}/response/{quote(name)}"

    def add_file(self, file_id: str, name: str, data: bytes, mimetype: str) -> None:
        self.files[file_id] = (name, data, mimetype)

    # -- reading what the app sent --------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[list[Call]], Any], timeout_s: float = 120.0) -> Any:
        """Block until `predicate(calls)` is truthy (a safety timeout, never the measure)."""
        with self._cond:
            got = self._cond.wait_for(lambda: predicate(list(self.calls)), timeout=timeout_s)
            assert got, f"the app never made the expected Slack calls: {self.summary()}"
            return got

    def summary(self) -> list[str]:
        return [c.method for c in self.calls]

    # -- serving ---------------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _api(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method == "apps.connections.open":
            if self.app_token and token == self.app_token and self.socket_url:
                return {"ok": True, "url": self.socket_url}
            return {"ok": False, "error": "invalid_auth"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://coding.example/",
                "team": "Coding",
                "user": "codesense",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "BCODESENSE",
            }
        if method in ("chat.postMessage", "chat.postEphemeral"):
            channel = str(params.get("channel"))
            if channel in self.refuse_channels:
                return {"ok": False, "error": "not_in_channel"}
            ts = f"1800000000.{next(self._ts):06d}"
            key = "ts" if method == "chat.postMessage" else "message_ts"
            return {"ok": True, "channel": channel, key: ts, "message": {"ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "files.info":
            found = self.files.get(str(params.get("file")))
            if found is None:
                return {"ok": False, "error": "file_not_found"}
            name, data, mimetype = found
            file_id = str(params["file"])
            return {
                "ok": True,
                "file": {
                    "id": file_id,
                    "name": name,
                    "title": name,
                    "mimetype": mimetype,
                    "size": len(data),
                    "url_private": f"{self.base_url}/files-pri/{file_id}/{quote(name)}",
                    "url_private_download": f"{self.base_url}/files-pri/{file_id}/download/"
                    + quote(name),
                },
            }
        return {"ok": True}

    def start(self) -> SlackApiStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _token(self) -> str | None:
                auth = self.headers.get("Authorization", "")
                return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                params: dict[str, Any] = dict(parse_qsl(parts.query))
                if raw:
                    if "json" in (self.headers.get("Content-Type") or ""):
                        params.update(json.loads(raw))
                    else:
                        params.update(parse_qsl(raw.decode()))
                token = self._token() or params.pop("token", None)
                if parts.path.startswith("/api/"):
                    method = parts.path.removeprefix("/api/")
                    result = stub._api(method, params, token)
                    stub._record(Call(method, params, token, result=result))
                    self._reply(200, json.dumps(result).encode(), "application/json; charset=utf-8")
                elif parts.path.startswith("/files-pri/"):
                    file_id = parts.path.split("/")[2]
                    stub._record(Call("file.download", {"file": file_id}, token))
                    found = stub.files.get(file_id)
                    if token != stub.token or found is None:
                        self._reply(403 if found else 404, b"no", "text/plain")
                    else:
                        self._reply(200, found[1], found[2])
                elif parts.path.startswith("/response/"):
                    stub._record(Call("response_url", params, token))
                    self._reply(200, b"ok", "text/plain")
                else:
                    self._reply(404, b"not found", "text/plain")

            do_GET = _handle  # noqa: N815 (http.server's names)
            do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackApiStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def texts(call: Call) -> str:
    """Everything a posted message says: its text and its blocks' texts."""
    parts = [str(call.params.get("text") or "")]
    blocks = call.params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)
