"""Code Sense in Slack, end to end: the real server on 127.0.0.1 with genuinely signed requests
and a stub of Slack's Web API recording what the app posts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.apps.slack.conftest import (
    AUDITOR,
    CHANNEL,
    CODER,
    command_root,
    thread_posts,
    wait_coded,
    wait_submit,
)
from tests.apps.slack.slack_api import texts
from tests.conftest import EXAMPLES

NOTE = (EXAMPLES / "clinic_progress_note.txt").read_text(encoding="utf-8")
PDF = (EXAMPLES / "clinic_followup.pdf").read_bytes()


@pytest.fixture(scope="module")
def coded(slack, stub, service):
    """The clinic note coded through `/codesense code`: run id, thread and message ids."""
    before = len(stub.calls)
    response = slack.command("code " + NOTE)
    assert response.status_code == 200, response.text
    root = command_root(stub, before)
    wait_coded(stub, root)
    update = next(c for c in stub.of("chat.update") if c.params.get("ts") == root)
    run_id = texts(update).split("run `", 1)[1].split("`", 1)[0]
    posts = thread_posts(stub, root)
    submit = next(p for p in posts if "Submit review" in json.dumps(p.params.get("blocks")))
    value = next(
        e["value"] for b in submit.params["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    return {"run_id": run_id, "root": root, "posts": posts, "submit": submit, "value": value}


# -- signatures ------------------------------------------------------------------------------------


def test_a_signed_url_verification_is_answered(slack):
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}).encode()
    response = slack.post(body, "application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


@pytest.mark.parametrize(
    "case",
    ["tampered", "old", "future", "no_headers", "no_signature", "wrong_secret", "bad_timestamp"],
)
def test_a_badly_signed_request_is_401_and_does_no_work(slack, stub, service, case):
    import httpx

    from tests.apps.slack.slack_api import sign

    calls, runs = len(stub.calls), len(service.runs(_admin(), limit=1000))
    seen = service.records.db.query("SELECT COUNT(*) FROM slack_events")[0][0]
    body = slack.command_body("code Assessment: essential hypertension.")
    event = slack.event_body(
        {
            "type": "app_mention",
            "user": CODER,
            "channel": CHANNEL,
            "text": "code",
            "ts": "1.1",
            "files": [{"id": "F1"}],
        }
    )
    for payload, kind in ((body, "application/x-www-form-urlencoded"), (event, "application/json")):
        headers = {"Content-Type": kind, **sign(slack.secret, payload)}
        sent = payload
        if case == "tampered":
            sent = payload.replace(b"hypertension", b"hypotension").replace(b"F1", b"F2")
            assert sent != payload
        elif case == "old":
            headers.update(
                sign(slack.secret, payload, int(headers["X-Slack-Request-Timestamp"]) - 360)
            )
        elif case == "future":
            headers.update(
                sign(slack.secret, payload, int(headers["X-Slack-Request-Timestamp"]) + 360)
            )
        elif case == "no_headers":
            del headers["X-Slack-Signature"], headers["X-Slack-Request-Timestamp"]
        elif case == "no_signature":
            del headers["X-Slack-Signature"]
        elif case == "wrong_secret":
            headers.update(sign("f" * 32, payload))
        elif case == "bad_timestamp":
            headers["X-Slack-Request-Timestamp"] = "12ab"
        response = httpx.post(
            slack.url + "/slack/events", content=sent, headers=headers, timeout=30
        )
        assert response.status_code == 401, (case, response.text)
        assert "invalid" in response.text
    # No work: Slack was never called, no run was made, no event was recorded as seen.
    assert len(stub.calls) == calls
    assert len(service.runs(_admin(), limit=1000)) == runs
    assert service.records.db.query("SELECT COUNT(*) FROM slack_events")[0][0] == seen


def _admin():
    from tests.conftest import ADMIN

    return ADMIN


# -- acknowledge first, code afterwards -------------------------------------------------------------


def test_the_acknowledgement_returns_while_coding_is_held(slack, stub, service):
    """The coding graph's lock is held by the test: Slack still gets its answer at once."""
    service.warm()
    before = len(stub.calls)
    held = service._graph_lock
    held.acquire()
    try:
        response = slack.command("code --inpatient " + NOTE)
        assert response.status_code == 200
        assert "Coding your note (inpatient)" in response.text
        # The placeholder can be posted; the coding itself cannot have finished.
        root = command_root(stub, before)
        assert not [c for c in stub.of("chat.update") if c.params.get("ts") == root]
    finally:
        held.release()
    wait_coded(stub, root)
    summary = next(c for c in stub.of("chat.update") if c.params.get("ts") == root)
    assert "(inpatient)" in texts(summary) and "route *" in texts(summary)


# -- the answer in the thread --------------------------------------------------------------------------


def test_a_coded_note_is_posted_as_a_thread_with_codes_quotes_and_buttons(coded, stub):
    posts = coded["posts"]
    details, *code_messages = posts
    assert coded["run_id"] in texts(details)
    assert "https://codesense.example/runs/" + coded["run_id"] in texts(details)
    shown = "\n".join(texts(p) for p in code_messages)
    assert "*E11.21* Type 2 diabetes mellitus with diabetic nephropathy" in shown
    assert '"Type 2 diabetes mellitus with diabetic nephropathy' in shown
    assert "*E78.5* Hyperlipidemia, unspecified" in shown
    buttons = [
        e["action_id"]
        for p in code_messages
        for b in p.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert {"review_accept", "review_reject", "review_escalate", "review_submit"} <= set(buttons)
    # Every message went to the channel of the command, in the run's thread.
    assert all(p.params["channel"] == CHANNEL for p in posts)


def test_four_deliveries_of_one_event_make_one_run(slack, stub, service):
    stub.add_file("FPDF00001", "clinic_followup.pdf", PDF, "application/pdf")
    runs = len(service.runs(_admin(), limit=1000))
    files = [{"id": "FPDF00001", "name": "clinic_followup.pdf"}]
    event_id = "Ev4DELIVERIES"

    def deliver(retry):
        return slack.mention("please code this", files=files, event_id=event_id, retry=retry)

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(deliver, [None, 1, 2, 3]))
    assert [r.status_code for r in responses] == [200] * 4
    stub.wait_for(
        lambda calls: any(
            c.method == "chat.update" and "Coded clinic_followup.pdf" in texts(c) for c in calls
        )
    )
    assert len([c for c in stub.of("files.info") if c.params["file"] == "FPDF00001"]) == 1
    assert len([c for c in stub.of("file.download") if c.params["file"] == "FPDF00001"]) == 1
    assert len(service.runs(_admin(), limit=1000)) == runs + 1
    seen = service.records.db.query(
        "SELECT COUNT(*) FROM slack_events WHERE event_id = ?", (event_id,)
    )
    assert seen[0][0] == 1


# -- questions in the thread ----------------------------------------------------------------------------


def _ask(slack, stub, coded, question: str) -> str:
    before = len(thread_posts(stub, coded["root"]))
    response = slack.mention(question, thread_ts=coded["root"])
    assert response.status_code == 200
    stub.wait_for(lambda calls: len(thread_posts(stub, coded["root"])) > before)
    return texts(thread_posts(stub, coded["root"])[before])


def test_what_supports_a_code_quotes_the_chart(slack, stub, coded):
    answer = _ask(slack, stub, coded, "what supports E11.21?")
    assert "*E11.21* Type 2 diabetes mellitus with diabetic nephropathy" in answer
    assert '"Type 2 diabetes mellitus with diabetic nephropathy' in answer
    assert "(assessment" in answer.lower()


def test_why_not_a_code_names_the_chosen_one_and_the_non_asserted_mention(slack, stub, coded):
    answer = _ask(slack, stub, coded, "why not e11.9?")
    assert "*E11.9*" in answer and "*E11.21*" in answer  # beaten by the combination code
    assert "“Type 2 diabetes” (past medical history) is *historical*" in answer
    answer = _ask(slack, stub, coded, "Why not G47.33")
    assert "“obstructive sleep apnea”" in answer and "*possible*" in answer


def test_what_is_missing_lists_unspecified_codes_with_more_specific_ones(slack, stub, coded):
    answer = _ask(slack, stub, coded, "what is missing for a more specific code?")
    assert "*E78.5* Hyperlipidemia, unspecified is the unspecified code" in answer
    assert "E78.0" in answer and '"Hyperlipidemia' in answer


def test_which_rules_apply_lists_rules_naming_the_code(slack, stub, service, coded):
    from tools.rule_lookup import RuleLookupInput

    expected = service.lookup_rules(_admin(), RuleLookupInput(code="E11.21", limit=3)).hits
    assert expected
    answer = _ask(slack, stub, coded, "which rules apply to E11.21?")
    assert "Rules that apply to E11.21" in answer
    for hit in expected:
        assert f"`{hit.id}`" in answer


def test_check_runs_audit_sentinel_on_the_listed_codes(slack, stub, service, coded):
    answer = _ask(slack, stub, coded, "check E11.9, I10")
    assert answer.startswith("*Audit Sentinel* on E11.9, I10:")
    assert "*E11.9* specificity" in answer and "Supported instead: E11.21." in answer
    assert '"type 2 diabetes with diabetic nephropathy"' in answer
    assert "What the documentation supports: E11.21, I10" in answer
    audits = service.runs(_admin(), kind="audit", limit=1000)
    assert audits and audits[0].codes  # the check is an audit run in the store
    failed = _ask(slack, stub, coded, "check E11.9, Q99.99X")
    assert failed.startswith(":x: Could not answer about " + coded["run_id"])
    assert len(set(failed.splitlines())) == 1  # the text and its block say one line


def test_trace_shows_versions_and_steps(slack, stub, coded):
    answer = _ask(slack, stub, coded, "trace")
    assert f"Trace of run `{coded['run_id']}`" in answer
    assert "ICD-10-CM 2026-04" in answer and "graph steps" in answer
    assert "*E11.21* from term" in answer


def test_an_unknown_form_offline_says_which_forms_are_understood(slack, stub, coded):
    answer = _ask(slack, stub, coded, "is this patient going to be ok?")
    assert "I understand these questions" in answer and "`why not E11.9?`" in answer


def test_a_question_outside_a_run_thread_is_pointed_to_one(slack, stub):
    before = len(stub.of("chat.postMessage"))
    slack.mention("what supports E11.21?")
    stub.wait_for(lambda calls: len([c for c in calls if c.method == "chat.postMessage"]) > before)
    reply = stub.of("chat.postMessage")[before]
    assert "Ask me in the thread of a coded chart" in texts(reply)


# -- review buttons ------------------------------------------------------------------------------------


def test_button_clicks_are_audited_and_submit_resumes_the_run(slack, stub, service, coded):
    run_id = coded["run_id"]
    message = next(p for p in coded["posts"] if "E11.21" in texts(p))
    ts = str(message.result["ts"])
    updates = len(stub.of("chat.update"))
    for action, code in (("review_accept", "E11.21"), ("review_reject", "R40.0")):
        response = slack.click(action, f"{run_id} {code}", ts, coded["root"])
        assert response.status_code == 200
    stub.wait_for(lambda calls: len([c for c in calls if c.method == "chat.update"]) >= updates + 2)
    redrawn = [c for c in stub.of("chat.update")[updates:] if c.params["ts"] == ts]
    assert "accepted by <@UCODER>" in texts(redrawn[-1]) or "accepted by <@UCODER>" in texts(
        redrawn[0]
    )
    posts = len(thread_posts(stub, coded["root"]))
    slack.click("review_submit", coded["value"], "1800000000.999999", coded["root"])
    stub.wait_for(lambda calls: len(thread_posts(stub, coded["root"])) > posts)
    reviewed = texts(thread_posts(stub, coded["root"])[posts])
    assert "submitted by <@UCODER>" in reviewed
    assert "Accepted: E11.21" in reviewed and "Rejected: R40.0" in reviewed
    events = service.records.audit.events(run_id)
    marks = [e for e in events if e.action == "review.mark"]
    assert [(e.actor, e.codes, e.result) for e in marks] == [
        ("slack:UCODER", ["E11.21"], "accepted"),
        ("slack:UCODER", ["R40.0"], "rejected"),
    ]
    decisions = {tuple(e.codes): e.result for e in events if e.action == "review.decision"}
    assert decisions[("E11.21",)] == "accepted" and decisions[("R40.0",)] == "rejected"
    run = service.run(_admin(), run_id).run
    assert run.status == "reviewed" and "R40.0" not in run.codes
    # A second submit is refused to the user alone, in one line.
    ephemeral = len(stub.of("chat.postEphemeral"))
    slack.click("review_submit", coded["value"], "1800000000.999999", coded["root"])
    stub.wait_for(
        lambda calls: len([c for c in calls if c.method == "chat.postEphemeral"]) > ephemeral
    )
    refusal = stub.of("chat.postEphemeral")[-1]
    assert refusal.params["user"] == CODER and "already reviewed" in refusal.params["text"]
    assert "\n" not in refusal.params["text"]


# -- who may ask --------------------------------------------------------------------------------------------


def test_other_channels_and_users_get_a_polite_refusal(slack, stub, service):
    runs = len(service.runs(_admin(), limit=1000))
    response = slack.command("code Essential hypertension.", channel="CRANDOM")
    assert response.status_code == 200 and "not enabled in this channel" in response.text
    response = slack.command("code Essential hypertension.", user="USTRANGER")
    assert "not on Code Sense's list" in response.text
    response = slack.command("code Essential hypertension.", user=AUDITOR)
    assert "may not code charts" in response.text
    before = len(stub.of("chat.postEphemeral"))
    slack.mention("what supports I10?", user="USTRANGER")
    stub.wait_for(
        lambda calls: len([c for c in calls if c.method == "chat.postEphemeral"]) > before
    )
    assert "not on Code Sense's list" in stub.of("chat.postEphemeral")[-1].params["text"]
    assert len(service.runs(_admin(), limit=1000)) == runs


def test_failures_are_one_line(slack, stub):
    response = slack.command("run run-0123456789abcdef")
    assert response.status_code == 200
    got = stub.wait_for(
        lambda calls: [
            c
            for c in calls
            if c.method == "response_url" and "run-0123456789abcdef" in str(c.params)
        ]
    )
    assert "Could not show run-0123456789abcdef: no run" in got[-1].params["text"]
    before = len(stub.calls)
    stub.add_file("FBINARY01", "scan.png", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png")
    slack.mention("code this", files=[{"id": "FBINARY01"}])
    failed = stub.wait_for(
        lambda calls: [c for c in calls[before:] if c.method == "chat.update" and ":x:" in texts(c)]
    )
    line = texts(failed[-1]).split("\n")[0]
    assert line.startswith(":x: Could not code scan.png:")
    response = slack.command("frobnicate")
    assert "I don't know the command 'frobnicate'" in response.text


# -- earlier runs ----------------------------------------------------------------------------------------


def test_codesense_run_shows_a_run_in_its_own_thread_only(slack, stub, service, coded):
    run_id = coded["run_id"]
    # Same channel: the run is shown again inside the thread where its chart was posted.
    before = len(thread_posts(stub, coded["root"]))
    assert "Looking up" in slack.command(f"run {run_id}").text
    # Its codes message is the answer's last one (with Submit while the run awaits review).
    stub.wait_for(
        lambda calls: any(
            str(p.params.get("text", "")).startswith("Codes 1-")
            for p in thread_posts(stub, coded["root"])[before:]
        )
    )
    if service.run(_admin(), run_id).run.status == "awaiting_review":
        wait_submit(stub, coded["root"], before)
    again = thread_posts(stub, coded["root"])[before:]
    assert "asked to see run" in texts(again[0]) and run_id in texts(again[1])
    # Another channel: only a pointer to that thread, no chart text.
    posted = len(stub.of("chat.postMessage"))
    slack.command(f"run {run_id}", channel="CAUDIT")
    got = stub.wait_for(
        lambda calls: [
            c for c in calls if c.method == "response_url" and "was posted in" in str(c.params)
        ]
    )
    assert f"<#{CHANNEL}>" in got[-1].params["text"]
    assert len(stub.of("chat.postMessage")) == posted


def test_codesense_run_of_a_run_made_elsewhere_starts_a_thread(slack, stub, service):
    from core.contract import Setting

    setting: Setting = "outpatient"
    result = service.code_text(_admin(), "Assessment: essential hypertension.", setting)
    before = len(stub.calls)
    slack.command(f"run {result.run_id}", channel="CAUDIT", user=AUDITOR)
    root = stub.wait_for(
        lambda calls: [
            c for c in calls[before:] if c.method == "chat.postMessage" and "Coded run " in texts(c)
        ]
    )[0]
    assert (
        root.params["channel"] == "CAUDIT"
        and "thread_ts" not in root.params
        or not root.params.get("thread_ts")
    )
    ts = root.result["ts"]
    wait_submit(stub, ts)
    assert "*I10* Essential (primary) hypertension" in "\n".join(
        texts(p) for p in thread_posts(stub, ts)
    )
    # The thread now belongs to the run: a question there is about it.
    before = len(thread_posts(stub, ts))
    slack.mention("what supports I10?", thread_ts=ts, channel="CAUDIT", user=AUDITOR)
    stub.wait_for(lambda calls: len(thread_posts(stub, ts)) > before)
    assert '"essential hypertension"' in texts(thread_posts(stub, ts)[before]).lower()


# -- escalation --------------------------------------------------------------------------------------------


def test_an_escalated_code_keeps_the_run_for_an_auditor(slack, stub, service):
    before = len(stub.calls)
    slack.command(
        "code Assessment:\n1. Essential hypertension.\n2. Gastroesophageal reflux disease."
    )
    root = command_root(stub, before)
    wait_coded(stub, root)
    posts = thread_posts(stub, root)
    run_id = texts(posts[0]).split("`")[1]
    codes_message = next(p for p in posts if "*I10*" in texts(p))
    submit = next(p for p in posts if "Submit review" in json.dumps(p.params.get("blocks")))
    value = submit.params["blocks"][1]["elements"][0]["value"]
    ts = codes_message.result["ts"]
    slack.click("review_accept", f"{run_id} K21.9", ts, root)
    slack.click("review_escalate", f"{run_id} I10", ts, root)
    stub.wait_for(
        lambda calls: (
            len(service.records.audit.events(run_id))
            and sum(1 for e in service.records.audit.events(run_id) if e.action == "review.mark")
            == 2
        )
    )
    n = len(thread_posts(stub, root))
    slack.click("review_submit", value, submit.result["ts"], root)
    stub.wait_for(lambda calls: len(thread_posts(stub, root)) > n)
    assert "I10 marked Escalate" in texts(thread_posts(stub, root)[n])
    assert service.run(_admin(), run_id).run.status == "awaiting_review"
    # The auditor decides the escalated code, then submits: the run finishes, as the auditor.
    slack.click("review_reject", f"{run_id} I10", ts, root, user=AUDITOR)
    stub.wait_for(
        lambda calls: (
            sum(1 for e in service.records.audit.events(run_id) if e.action == "review.mark") == 3
        )
    )
    n = len(thread_posts(stub, root))
    slack.click("review_submit", value, submit.result["ts"], root, user=AUDITOR)
    stub.wait_for(lambda calls: len(thread_posts(stub, root)) > n)
    assert "submitted by <@UAUDIT>" in texts(thread_posts(stub, root)[n])
    view = service.run(_admin(), run_id)
    assert view.run.status == "reviewed"
    assert view.result.review.reviewer == AUDITOR
    assert view.result.review.accepted == ["K21.9"] and view.result.review.rejected == ["I10"]
