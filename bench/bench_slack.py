"""Code Sense in Slack, timed (`make bench-slack`): how fast Slack gets its acknowledgement, and
how long until the answer is posted in the thread.

Starts `codesense serve` on 127.0.0.1 in a fresh data directory (term index cache shared) with
Slack configured against a stub of Slack's Web API in this process, then, round after round,
sends genuinely signed requests as Slack would: the two-page note shared as a PDF with a
mention of the bot, and the clinic note pasted into `/codesense code`. For each it prints the
time to the HTTP acknowledgement (Slack allows 3 s) and the time until the last message of the
answer (the Submit review button) reached the stub. The reference beside them, measured in the
same run: the same charts coded in-process through the facade (no HTTP, no Slack), and the
server's plainest round trip (`GET /healthz`), since the machine's load moves every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_api import _free_port, reference  # noqa: E402
from tests.apps.slack.slack_api import BOT_USER, TEAM, SlackApiStub, sign, texts  # noqa: E402

PDF = ROOT / "examples" / "clinic_followup.pdf"
TEXT = ROOT / "examples" / "clinic_progress_note.txt"
CHANNEL = "CBENCH"


def _post(url: str, secret: str, body: bytes, content_type: str) -> tuple[float, httpx.Response]:
    headers = {"Content-Type": content_type, **sign(secret, body)}
    start = time.perf_counter()
    response = httpx.post(url + "/slack/events", content=body, headers=headers, timeout=60)
    return start, response


def _answered(stub: SlackApiStub, first_call: int, timeout_s: float = 300.0) -> float:
    """When the Submit review message (the answer's last message) reached the stub."""
    calls = stub.wait_for(
        lambda calls: [
            c
            for c in calls[first_call:]
            if (
                c.method == "chat.postMessage"
                and "Submit review" in json.dumps(c.params.get("blocks"))
            )
            or (c.method == "chat.update" and ":x:" in texts(c))
        ],
        timeout_s,
    )
    if ":x:" in texts(calls[0]):
        raise SystemExit("the app posted a failure: " + texts(calls[0]).splitlines()[0])
    return calls[0].at


def share_pdf(url: str, secret: str, stub: SlackApiStub, n: int) -> tuple[float, float]:
    file_id = f"FBENCH{n:05d}"
    stub.add_file(file_id, PDF.name, PDF.read_bytes(), "application/pdf")
    ts = f"1700000000.{n:06d}"
    event = {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": "ABENCH",
        "event_id": f"EvBENCH{n:06d}",
        "event_time": int(time.time()),
        "event": {
            "type": "app_mention",
            "user": "UBENCH",
            "text": f"<@{BOT_USER}> please code this",
            "ts": ts,
            "channel": CHANNEL,
            "files": [{"id": file_id, "name": PDF.name}],
        },
    }
    first = len(stub.calls)
    start, response = _post(url, secret, json.dumps(event).encode(), "application/json")
    acked = time.perf_counter()
    assert response.status_code == 200, response.text
    return acked - start, _answered(stub, first) - start


def paste_note(url: str, secret: str, stub: SlackApiStub, n: int) -> tuple[float, float]:
    from urllib.parse import urlencode

    body = urlencode(
        {
            "command": "/codesense",
            "text": "code " + TEXT.read_text(encoding="utf-8"),
            "user_id": "UBENCH",
            "channel_id": CHANNEL,
            "team_id": TEAM,
            "response_url": stub.response_url(f"bench{n}"),
            "trigger_id": f"t.{n}",
        }
    ).encode()
    first = len(stub.calls)
    start, response = _post(url, secret, body, "application/x-www-form-urlencoded")
    acked = time.perf_counter()
    assert response.status_code == 200 and "Coding your note" in response.text, response.text
    return acked - start, _answered(stub, first) - start


def _summary(name: str, rounds: list[tuple[float, float]], ref: list[float]) -> None:
    acks, answers = [a for a, _ in rounds], [b for _, b in rounds]
    ms = [round(a * 1000, 1) for a in acks]
    print(f"\n{name} ({len(acks)} rounds)")
    print(
        f"  acknowledgement   median {statistics.median(acks) * 1000:7.1f} ms   max {max(acks) * 1000:7.1f} ms   {ms}"
    )
    print(
        f"  posted answer     median {statistics.median(answers) * 1000:7.1f} ms   "
        f"first {answers[0] * 1000:7.1f} ms   rest {[round(a * 1000) for a in answers[1:]]}"
    )
    print(f"  reference: facade in-process, median {statistics.median(ref) * 1000:7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="codesense-bench-slack-"))
    cache = ROOT / ".codesense" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (data / "cache").symlink_to(cache, target_is_directory=True)
    secret = secrets.token_hex(16)
    stub = SlackApiStub("xoxb-bench-" + secrets.token_hex(8)).start()
    port = _free_port()
    env = dict(
        os.environ,
        CODESENSE_DATA_DIR=str(data / "server"),
        SLACK_SIGNING_SECRET=secret,
        SLACK_BOT_TOKEN=stub.token,
        CODESENSE_SLACK_API_URL=stub.api_url,
        CODESENSE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=str(ROOT),
    )
    (data / "server").mkdir()
    (data / "server" / "cache").symlink_to(cache, target_is_directory=True)
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "apps.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    try:
        t0 = time.perf_counter()
        for _ in range(1200):
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit("codesense serve exited during start-up")
            time.sleep(0.25)
        print(
            f"server up (warm) in {time.perf_counter() - t0:.1f} s; Slack Web API stub at {stub.api_url}"
        )
        # The same server's plainest round trip, for scale under this run's load.
        healthz = []
        for _ in range(20):
            t = time.perf_counter()
            httpx.get(url + "/healthz", timeout=30)
            healthz.append(time.perf_counter() - t)
        pdf = [share_pdf(url, secret, stub, n) for n in range(args.rounds)]
        note = [paste_note(url, secret, stub, n) for n in range(args.rounds)]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        stub.stop()
    (data / "ref").mkdir()
    (data / "ref" / "cache").symlink_to(cache, target_is_directory=True)
    ref_pdf = reference(data / "ref", "pdf", args.rounds)
    ref_text = reference(data / "ref", "text", args.rounds)
    print(
        f"\nreference: GET /healthz on the same server, median "
        f"{statistics.median(healthz) * 1000:.1f} ms, max {max(healthz) * 1000:.1f} ms (20 requests)"
    )
    _summary(f"PDF shared with a mention ({PDF.name}, 2 pages)", pdf, ref_pdf)
    _summary(f"/codesense code with the pasted note ({TEXT.name})", note, ref_text)
    shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
