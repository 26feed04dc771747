"""No chart text reaches any log, over a whole Slack flow with every library logging at DEBUG:
a badly signed request (Bolt logs its raw body), a pasted note, a shared file, a question, a
button, an event nobody handles (Bolt logs it), and every Web API call (slack_sdk logs bodies)."""

from __future__ import annotations

import logging

from tests.apps.slack.conftest import wait_coded
from tests.apps.slack.slack_api import texts

CANARIES = ["Zebulon", "Quaxworth", "739104", "diabetic nephropathy", "reflux"]
NOTE = """CLINIC NOTE
Patient: Zebulon Quaxworth   MRN: QX-739104-CANARY
ASSESSMENT AND PLAN:
1. Type 2 diabetes mellitus with diabetic nephropathy.
2. Gastroesophageal reflux disease.
"""


def _library_loggers() -> list[logging.Logger]:
    names = [
        n for n in logging.root.manager.loggerDict if n.startswith(("slack_bolt", "slack_sdk"))
    ]
    return [logging.getLogger(n) for n in ["slack_bolt", "slack_sdk", *names]]


def test_no_chart_text_in_any_log_over_a_whole_flow(slack, stub, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    loggers = _library_loggers()
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        # A bad signature: Bolt's RequestVerification logs the whole body at INFO.
        body = slack.command_body("code " + NOTE)
        assert (
            slack.post(body, "application/x-www-form-urlencoded", secret="e" * 32).status_code
            == 401
        )
        # A pasted note, coded and posted with its quotes.
        before = len(stub.calls)
        assert slack.command("code " + NOTE).status_code == 200
        root = stub.wait_for(
            lambda calls: [
                c
                for c in calls[before:]
                if c.method == "chat.postMessage" and "Coding a note" in texts(c)
            ]
        )[0].result["ts"]
        wait_coded(stub, root)
        # A shared file named after the patient.
        stub.add_file("FCANARY01", "zebulon_quaxworth_739104.txt", NOTE.encode(), "text/plain")
        slack.mention("code this", files=[{"id": "FCANARY01"}])
        stub.wait_for(
            lambda calls: any(
                c.method == "chat.update" and "Coded zebulon_quaxworth" in texts(c) for c in calls
            )
        )

        # A question in the thread, and an event no listener handles (Bolt warns with its body).
        def thread():
            return [c for c in stub.of("chat.postMessage") if c.params.get("thread_ts") == root]

        posts = len(thread())
        slack.mention("what supports E11.21?", thread_ts=root)
        stub.wait_for(lambda calls: len(thread()) > posts)
        answer = texts(thread()[posts])
        assert "diabetic nephropathy" in answer  # the quote did go to Slack
        event = {
            "type": "message",
            "channel": "CCODING",
            "user": "UCODER",
            "text": NOTE,
            "ts": "9.9",
        }
        assert slack.post(slack.event_body(event), "application/json").status_code in (200, 404)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
    logged = (
        "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        + caplog.text
    )
    out = capfd.readouterr()
    for canary in CANARIES:
        assert canary not in logged, canary
        assert canary not in out.err and canary not in out.out, canary
    # The libraries did log (the test would see a leak): their records arrive summarised.
    names = {r.name for r in caplog.records}
    assert any(n.startswith("slack_sdk") for n in names)
    assert any(
        r.name == "slack_bolt.RequestVerification"
        and r.getMessage() == "Invalid request signature detected"
        for r in caplog.records
    )
