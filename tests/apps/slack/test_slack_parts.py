"""The Slack app's parts without a server: the command and question parsers, the settings, the
log sanitiser, the manifest, and the route inventory with Slack mounted."""

from __future__ import annotations

import logging

import pytest
import yaml

from apps.slack.commands import parse_command
from apps.slack.logs import safe_summary, sanitize
from apps.slack.questions import parse_question
from apps.slack.settings import SlackSettings
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("text", "verb", "setting", "note"),
    [
        ("code Essential hypertension.", "code", None, "Essential hypertension."),
        (
            "code --inpatient Sepsis due to E. coli",
            "code",
            "inpatient",
            "Sepsis due to E. coli",
        ),
        ("code Sepsis.\nPneumonia. --inpatient", "code", "inpatient", "Sepsis.\nPneumonia."),
        ("CODE\nA &amp; P: HTN &lt;stage 2&gt;", "code", None, "A & P: HTN <stage 2>"),
        ("", "help", None, ""),
        ("help", "help", None, ""),
    ],
)
def test_commands_are_parsed(text, verb, setting, note):
    got = parse_command(text)
    assert (got.verb, got.setting, got.note, got.problem) == (verb, setting, note, None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("code", "paste the note"),
        ("code --inpatient", "paste the note"),
        ("run", "give a run id"),
        ("run 42", "give a run id"),
        ("frobnicate now", "I don't know the command 'frobnicate'"),
    ],
)
def test_bad_commands_say_what_is_wrong_in_one_line(text, problem):
    got = parse_command(text)
    assert got.problem is not None and problem in got.problem and "\n" not in got.problem


@pytest.mark.parametrize(
    ("text", "kind", "codes"),
    [
        ("<@UCODESENSE> what supports E11.22?", "supports", ["E11.22"]),
        ("What supports e1122", "supports", ["E11.22"]),
        ("why is I10 coded?", "supports", ["I10"]),
        ("why not E11.9?", "why_not", ["E11.9"]),
        ("why wasn't I12.9 chosen", "why_not", ["I12.9"]),
        ("what is missing for a more specific code?", "missing", []),
        ("what is missing for a more specific code than E78.5?", "missing", ["E78.5"]),
        ("which rules apply to I13.0?", "rules", ["I13.0"]),
        ("check E11.22, N18.31, I10", "check", ["E11.22", "N18.31", "I10"]),
        ("audit e11.22 n1831", "check", ["E11.22", "N18.31"]),
        ("trace", "trace", []),
        ("show me the trace", "trace", []),
        ("help", "help", []),
        ("", "help", []),
        ("what supports it?", "free", []),
        ("is the patient's A1c at goal?", "free", ["A1C"]),
    ],
)
def test_question_forms(text, kind, codes):
    got = parse_question(text)
    assert (got.kind, got.codes) == (kind, codes)


def test_a_question_may_name_one_of_the_thread_runs():
    got = parse_question("run-0123456789abcdef why not E11.9?")
    assert got.run_id == "run-0123456789abcdef" and got.kind == "why_not"


def test_settings_read_allow_lists_and_refuse_bad_ones():
    s = SlackSettings(channels="C01, C02", users="U01=coder,U02=auditor", bot_token="x")
    assert s.channels == {"C01", "C02"} and s.users == {"U01": "coder", "U02": "auditor"}
    assert not s.enabled
    for bad in ("U01", "U01=boss", "bob=coder"):
        with pytest.raises(ValueError, match="USERID=ROLE"):
            SlackSettings(users=bad)
    with pytest.raises(ValueError, match="channel id"):
        SlackSettings(channels="#general")
    with pytest.raises(ValueError, match="http"):
        SlackSettings(api_url="file:///etc/passwd")
    assert SlackSettings(public_url="https://cs.example/").trace_link("run-1") == (
        "https://cs.example/runs/run-1"
    )


@pytest.mark.parametrize(
    ("message", "summary"),
    [
        (
            "Invalid request signature detected (signature: v0=ab, timestamp: 1, body: text=HTN)",
            "Invalid request signature detected",
        ),
        ("Unhandled request ({'type': 'event_callback'})", "Unhandled request"),
        ("Sending a request - url: https://x, json_body: {'text': 'HTN'}", "Sending a request"),
        (
            "Received the following response - status: 200, body: {}",
            "Received the following response",
        ),
        ("Zebulon Quaxworth has diabetes: E11.9", "Zebulon Quaxworth has diabetes"),
        ("{'text': 'HTN'}", "(message withheld)"),
    ],
)
def test_library_messages_are_cut_to_their_leading_words(message, summary):
    assert safe_summary(message) == summary


def test_a_library_exception_keeps_its_class_and_frames_not_its_message():
    try:
        chart = "Essential " + "hypertension"
        raise ValueError(f"chart text: {chart}")
    except ValueError as err:
        record = logging.LogRecord(
            "slack_bolt.AsyncApp",
            logging.ERROR,
            __file__,
            1,
            "Failed (error: %s)",
            (err,),
            (ValueError, err, err.__traceback__),
        )
    sanitize(record)
    text = logging.Formatter().format(record)
    assert "hypertension" not in text
    assert text.startswith("Failed [ValueError]") and "test_slack_parts.py" in text


def test_the_manifest_declares_the_command_event_scopes_and_interactivity():
    manifest = yaml.safe_load((ROOT / "apps" / "slack" / "manifest.yaml").read_text())
    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/codesense" and command["url"].endswith("/slack/events")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "chat:write",
        "commands",
        "files:read",
    }
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")


def test_the_route_inventory_holds_with_slack_mounted(tmp_path, term_index):
    """/slack/events is the one route Slack adds, and it is listed as open (signed instead)."""
    from starlette.routing import Mount, Route

    from apps.server.app import OPEN_PATHS, create_app
    from tests.apps.server.conftest import make_service

    service = make_service(tmp_path, term_index)
    slack = SlackSettings(
        signing_secret="a1b2c3d4" * 4, bot_token="xoxb-test", api_url="http://127.0.0.1:9/api/"
    )
    with_slack = {
        r.path for r in create_app(service, slack=slack).routes if isinstance(r, Mount | Route)
    }
    without = {
        r.path
        for r in create_app(service, slack=SlackSettings()).routes
        if isinstance(r, Mount | Route)
    }
    assert with_slack - without == {"/slack/events"}
    assert with_slack <= OPEN_PATHS


def test_chart_text_is_escaped_before_it_is_posted():
    """A chart line "<!channel>" must not ping the channel, nor "<https://x|click>" become a link."""
    from apps.slack.blocks import quote_line
    from core.contract import Evidence

    quote = "<!channel> BP 150/90 & <https://evil.example|click>"
    line = quote_line(
        Evidence(
            doc_id="d", page=1, start=0, end=len(quote), quote=quote, section="assessment_plan"
        )
    )
    assert "<" not in line.replace("&lt;", "") and ">" not in line.replace("&gt;", "").lstrip(">")
    assert "&lt;!channel&gt; BP 150/90 &amp; &lt;https://evil.example|click&gt;" in line
    assert line.endswith("_(assessment plan, p.1)_")
