"""A free-form question in a run's thread goes to the LLM when the LLM reasoner is configured
(a scripted OpenAI-compatible server on loopback); the quotes shown are the chart's own text."""

from __future__ import annotations

import secrets

import pytest

from evals.scripted_llm import ScriptedLlm, answer, data_block
from tests.agent.llm_fixtures import llm_service
from tests.apps.server.conftest import serve
from tests.apps.slack.conftest import (
    SlackClient,
    command_root,
    slack_settings,
    thread_posts,
    wait_coded,
)
from tests.apps.slack.slack_api import SlackApiStub, texts

NOTE = (
    "ASSESSMENT AND PLAN:\n1. Type 2 diabetes mellitus with diabetic chronic kidney disease, "
    "CKD stage 3a - A1c 7.9, above goal.\n2. Essential hypertension.\n"
)
QUESTION = "is the diabetes under control?"
SAID = "No: the assessment says the A1c of 7.9 is above goal."


def _script(body, n):
    data = data_block(body)
    if "draft" in data:  # coding: agree with the offline draft
        return answer(
            {
                "codes": [
                    {
                        "code": c["code"],
                        "span_ids": c["span_ids"],
                        "rationale": "agreed",
                        "role": c["role"],
                    }
                    for c in data["draft"]["codes"]
                ]
            }
        )
    span = next(s["id"] for s in data["spans"] if "above goal" in s["text"])
    return answer({"answer": SAID, "span_ids": [span, 9999]})


@pytest.fixture()
def llm_slack(tmp_path, term_index):
    with ScriptedLlm(_script) as llm, SlackApiStub("xoxb-llm-" + secrets.token_hex(8)) as stub:
        service = llm_service(llm, tmp_path, term_index, auto_threshold=1.0, review_threshold=1.0)
        secret = secrets.token_hex(16)
        from apps.server import create_app

        with serve(create_app(service, slack=slack_settings(stub, secret))) as live:
            yield SlackClient(live.url, secret, stub), stub, service, llm


def test_a_free_form_question_is_answered_by_the_model_with_chart_quotes(llm_slack):
    slack, stub, service, llm = llm_slack
    assert slack.command("code " + NOTE).status_code == 200
    root = command_root(stub, 0)
    wait_coded(stub, root)

    def thread():
        return thread_posts(stub, root)

    before = len(thread())
    asked = len(llm.requests)
    assert slack.mention(QUESTION, thread_ts=root).status_code == 200
    stub.wait_for(lambda calls: len(thread()) > before)
    reply = texts(thread()[before])
    assert SAID in reply
    # The quote is the chart's text at the span the model cited.
    quote = reply.split('> "', 1)[1].split('"', 1)[0]
    assert "above goal" in quote and quote in NOTE
    # The question reached the model outside the data block; the invented span was dropped.
    question_request = llm.requests[asked]["messages"][1]["content"]
    assert QUESTION in question_request.split("<<<CHART DATA")[0]
    run_id = texts(next(c for c in stub.of("chat.update") if c.params.get("ts") == root)).split(
        "run `"
    )[1][:20]
    events = service.records.audit.events(run_id)
    assert any(e.action == "model.call" and e.name == "question" for e in events)
    # A listed form is still answered by the deterministic parser, not the model.
    asked = len(llm.requests)
    before = len(thread())
    slack.mention("what supports E11.22?", thread_ts=root)
    stub.wait_for(lambda calls: len(thread()) > before)
    assert "*E11.22*" in texts(thread()[before]) and len(llm.requests) == asked
