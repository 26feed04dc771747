"""A scripted OpenAI-compatible chat endpoint on loopback, for tests, benchmarks and evals that
must never reach a real model.

`ScriptedLlm(script)` serves `POST /v1/chat/completions` on 127.0.0.1 (a free port) from a thread;
`script(request_body, n)` decides each reply: an answer, tool calls, a status code, a delay or
raw bytes. Every request body is kept in `requests`, so a test can read exactly what a model
would have been sent. Token counts are estimated (4 characters a token) so usage figures exist.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    # A chat completion message ({"content": ...} or {"tool_calls": [...]}), or raw bytes.
    message: dict[str, Any] | None = None
    raw: bytes | None = None
    finish_reason: str = "stop"
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[dict[str, Any], int], Reply]


def answer(payload: dict[str, Any] | str) -> Reply:
    """A final structured answer (JSON content)."""
    content = payload if isinstance(payload, str) else json.dumps(payload)
    return Reply(message={"role": "assistant", "content": content})


def tool_calls(*calls: tuple[str, dict[str, Any] | str]) -> Reply:
    """One turn calling tools by name with JSON arguments."""
    return Reply(
        message={
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{n}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for n, (name, args) in enumerate(calls)
            ],
        },
        finish_reason="tool_calls",
    )


def refusal() -> Reply:
    return Reply(message={"role": "assistant", "content": None, "refusal": "I can't help."})


def status(code: int) -> Reply:
    return Reply(status=code, raw=json.dumps({"error": {"message": "scripted failure"}}).encode())


def slow(seconds: float, then: Reply | None = None) -> Reply:
    reply = then or answer({"codes": []})
    reply.delay_s = seconds
    return reply


class ScriptedLlm:
    """The scripted endpoint; use as a context manager, or `start()` and `stop()`."""

    def __init__(self, script: Script, model: str = "scripted-model") -> None:
        self.script = script
        self.model = model
        self.requests: list[dict[str, Any]] = []
        # The replies as sent, request by request.
        self.replies: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the endpoint first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ScriptedLlm:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with endpoint._lock:
                    endpoint.requests.append(body)
                    n = len(endpoint.requests)
                reply = endpoint.script(body, n)
                with endpoint._lock:
                    endpoint.replies.append(reply)
                if reply.delay_s and endpoint._stopping.wait(reply.delay_s):
                    return
                data = reply.raw if reply.raw is not None else endpoint._completion(body, reply, n)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("x-request-id", f"req_scripted_{n}")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines would go to stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedLlm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _completion(self, body: dict[str, Any], reply: Reply, n: int) -> bytes:
        message = reply.message or {"role": "assistant", "content": ""}
        prompt_chars = len(json.dumps(body.get("messages", [])))
        answer_chars = len(json.dumps(message))
        return json.dumps(
            {
                "id": f"chatcmpl-scripted-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", self.model),
                "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
                "usage": {
                    "prompt_tokens": prompt_chars // 4,
                    "completion_tokens": answer_chars // 4,
                    "total_tokens": prompt_chars // 4 + answer_chars // 4,
                },
            }
        ).encode()


def data_block(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON inside the data block of a request's last user message (what a model reads)."""
    user = next(m for m in reversed(body["messages"]) if m["role"] == "user")
    text = user["content"]
    start = text.index(">>>\n", text.index("<<<CHART DATA ")) + 4
    end = text.rindex("\n<<<END CHART DATA ")
    result: dict[str, Any] = json.loads(text[start:end])
    return result
