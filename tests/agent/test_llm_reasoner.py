"""The LLM reasoner against a scripted OpenAI-compatible server on loopback: tool calls, checks
on every code the model gives, fallback to the offline decisions when the model fails, and the
audit trail of it all (usage, never text)."""

from __future__ import annotations

import hashlib
import json

import pytest

from agent.prompts import PROMPTS_DIR
from evals.scripted_llm import (
    Reply,
    ScriptedLlm,
    answer,
    data_block,
    refusal,
    slow,
    status,
    tool_calls,
)
from tests.agent.llm_fixtures import llm_coder, llm_service
from tests.conftest import ADMIN, EXAMPLES
from tools.untrusted import hidden_chars

NOTE = (
    "PROGRESS NOTE\n\nHISTORY OF PRESENT ILLNESS:\n61-year-old man with type 2 diabetes "
    "mellitus. No congestive heart failure. Denies chest pain.\n\nASSESSMENT AND PLAN:\n"
    "1. Type 2 diabetes mellitus - continue metformin.\n2. Essential hypertension.\n"
)


def _span_with(body: dict, words: str) -> int:
    return next(s["id"] for s in data_block(body)["spans"] if words in s["text"])


def _draft_codes(body: dict) -> list[dict]:
    return [
        {"code": c["code"], "span_ids": c["span_ids"], "rationale": "agreed", "role": c["role"]}
        for c in data_block(body)["draft"]["codes"]
    ]


def _events(service, run_id):
    return service.records.audit.events(run_id)


def _codes(result) -> set[str]:
    return {s.code for s in result.suggestions}


def test_tool_calling_round_trip(tmp_path, term_index):
    def script(body, n):
        if n == 1:
            span = _span_with(body, "Essential hypertension")
            return tool_calls(
                ("get_span", {"span_id": span}),
                ("find_codes", {"phrase": "essential hypertension", "limit": 3}),
                ("validate_codes", {"codes": ["E11.9", "I10"]}),
                ("walk_code_set", {"code": "E11.9", "relation": "siblings"}),
                ("find_rules", {"query": "hypertension with diabetes", "code": "I10", "limit": 2}),
            )
        return answer({"codes": _draft_codes(body)})

    with ScriptedLlm(script) as llm:
        service = llm_service(llm, tmp_path, term_index)
        result = service.code_text(ADMIN, NOTE)
    assert result.reasoner == "llm:scripted-model"
    assert {"E11.9", "I10"} <= _codes(result)
    assert not any(e.reason.startswith("llm_") for e in result.escalations)
    first, second = llm.requests
    # The tools were offered with their JSON schemas; the second request carries their output.
    offered = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert set(offered) >= {"find_codes", "get_span", "find_rules", "validate_codes"}
    assert offered["get_span"]["parameters"]["properties"]["span_id"]["type"] == "integer"
    assert first["response_format"]["type"] == "json_schema"
    tool_turns = [m for m in second["messages"] if m["role"] == "tool"]
    assert len(tool_turns) == 5
    span_out = json.loads(tool_turns[0]["content"].split("\n", 1)[1].rsplit("\n", 1)[0])
    assert span_out["text"] == "2. Essential hypertension."
    assert span_out["section"] == "assessment_plan"
    found = json.loads(tool_turns[1]["content"].split("\n", 1)[1].rsplit("\n", 1)[0])
    assert found["candidates"][0]["code"] == "I10"
    # Tool output that quotes the chart sits in the request's data block too.
    block_id = first["messages"][1]["content"].split("<<<CHART DATA ", 1)[1].split(">>>", 1)[0]
    assert tool_turns[0]["content"].startswith(f"<<<CHART DATA {block_id}>>>")

    events = _events(service, result.run_id)
    start = next(e for e in events if e.action == "run.start")
    for name in ("system", "coding"):
        sha = hashlib.sha256((PROMPTS_DIR / f"{name}.md").read_bytes()).hexdigest()
        assert start.versions[f"prompt:{name}"] == f"sha256:{sha}"
    assert start.versions["reasoner"] == "llm:scripted-model"
    tools = [e.name for e in events if e.action == "tool.call" and e.input_hash]
    assert {"get_span", "find_codes", "validate_codes", "walk_code_set", "find_rules"} <= set(tools)
    requests = [e for e in events if e.action == "model.call" and e.name == "chat_completion"]
    assert len(requests) == 2
    assert all(e.usage and e.usage.prompt_tokens and e.usage.request_id for e in requests)
    summary = next(e for e in events if e.action == "model.call" and e.name == "reasoner")
    assert summary.usage.requests == 2 and summary.usage.tool_calls == 5
    # Usage, never text: no event carries a word of the chart or the prompts.
    raw = b"".join(row[0] for row in service.records.db.query("SELECT body FROM audit_events"))
    for canary in (b"metformin", b"Essential hypertension", b"certified medical coder"):
        assert canary not in raw
    assert service.verify_audit(ADMIN).ok


def test_code_citing_a_span_that_does_not_exist_is_dropped(tmp_path, term_index):
    def script(body, n):
        codes = _draft_codes(body)
        for c in codes:
            c["span_ids"] = [9999]  # the model cites text it was never shown
        return answer({"codes": codes})

    with ScriptedLlm(script) as llm:
        service = llm_service(llm, tmp_path, term_index)
        result = service.code_text(ADMIN, NOTE)
    # The draft's codes stay, but a coder must look: the model did not stand behind them.
    assert {"E11.9", "I10"} <= _codes(result)
    for s in result.suggestions:
        assert s.status != "auto"
        assert any(r.id == "llm.disagreement" for r in s.rules)
    rejects = [e for e in _events(service, result.run_id) if e.action == "model.reject"]
    assert {e.reason for e in rejects} == {"unknown_span"}
    assert {c for e in rejects for c in e.codes} >= {"E11.9", "I10"}


def test_code_on_a_negated_mention_is_dropped_by_the_guard(tmp_path, term_index):
    def script(body, n):
        span = _span_with(body, "No congestive heart failure")
        codes = _draft_codes(body) + [
            {"code": "I50.9", "span_ids": [span], "rationale": "CHF", "role": "secondary"}
        ]
        return answer({"codes": codes})

    with ScriptedLlm(script) as llm:
        service = llm_service(llm, tmp_path, term_index)
        result = service.code_text(ADMIN, NOTE)
    assert "I50.9" not in _codes(result)
    rejects = [e for e in _events(service, result.run_id) if e.action == "model.reject"]
    assert [(e.codes, e.reason) for e in rejects] == [(["I50.9"], "assertion_guard")]
    chf = NOTE.index("congestive heart failure")
    assert rejects[0].spans[0].start == chf


def test_model_only_code_goes_to_review(term_index):
    chosen: dict[str, str] = {}

    def script(body, n):
        data = data_block(body)
        drafted = {c["code"] for c in data["draft"]["codes"]}
        # Another reading of a present mention: a candidate the draft did not choose.
        mention = next(
            m
            for m in data["draft"]["mentions"]
            if m["assertion"] == "present"
            and any(c["code"] not in drafted for c in m["candidates"][1:])
        )
        other = next(c["code"] for c in mention["candidates"][1:] if c["code"] not in drafted)
        chosen["code"] = other
        codes = _draft_codes(body) + [
            {
                "code": other,
                "span_ids": mention["span_ids"],
                "rationale": "more apt",
                "role": "principal",
            }
        ]
        return answer({"codes": codes})

    with ScriptedLlm(script) as llm:
        result = llm_coder(llm, term_index).code_text(NOTE, "outpatient")
    extra = next(s for s in result.suggestions if s.code == chosen["code"])
    assert extra.status in ("review", "escalate")
    # Sequencing stays the draft's: a code only the model chose is never principal.
    assert extra.role == "secondary"
    assert extra.rationale.startswith("Model: more apt")
    assert any(r.id == "llm.disagreement" and r.result == "warn" for r in extra.rules)
    # The codes both chose carry no disagreement.
    agreed = [s for s in result.suggestions if s.code != chosen["code"]]
    assert agreed and not any(r.id == "llm.disagreement" for s in agreed for r in s.rules)


@pytest.mark.parametrize(
    ("reply", "reason", "requests"),
    [
        (slow(3.0), "llm_unavailable", 2),  # timeout, retried once
        (status(500), "llm_unavailable", 2),  # 5xx, retried once
        (status(401), "llm_unavailable", 1),
        (Reply(raw=b'{"id": "x", "choices": [{"index": 0, "mess'), "llm_invalid_output", 1),
        (answer('{"codes": [{"code": "E11.9"'), "llm_invalid_output", 1),
        (answer({"codes": [{"code": "E11.9"}]}), "llm_invalid_output", 1),
        (refusal(), "llm_invalid_output", 1),
        (
            Reply(message={"role": "assistant", "content": "{}"}, finish_reason="length"),
            "llm_invalid_output",
            1,
        ),
    ],
    ids=["timeout", "500", "401", "cut-json", "cut-answer", "schema", "refusal", "length"],
)
def test_model_failure_falls_back_to_the_offline_decisions(
    tmp_path, term_index, coder, reply, reason, requests
):
    with ScriptedLlm(lambda body, n: reply) as llm:
        service = llm_service(llm, tmp_path, term_index, llm_timeout_s=0.5, llm_max_retries=1)
        result = service.code_text(ADMIN, NOTE)
    offline = coder.code_text(NOTE, "outpatient")
    assert _codes(result) == _codes(offline)
    assert result.route == "escalate"
    assert [e.reason for e in result.escalations if e.reason.startswith("llm_")] == [reason]
    assert len(llm.requests) == requests
    # The run is stored and its audit chain verifies.
    view = service.run(ADMIN, result.run_id)
    assert view.result is not None and view.result.route == "escalate"
    events = _events(service, result.run_id)
    summary = next(e for e in events if e.action == "model.call" and e.name == "reasoner")
    assert summary.reason == reason and summary.result == "warn"
    assert service.verify_audit(ADMIN).ok


def test_tool_calls_past_the_cap_end_in_the_offline_decisions(term_index):
    def script(body, n):
        return tool_calls(("find_codes", {"phrase": "diabetes", "limit": 2}))

    with ScriptedLlm(script) as llm:
        coder = llm_coder(llm, term_index, llm_max_tool_calls=3)
        result = coder.code_text(NOTE, "outpatient")
    assert "llm_invalid_output" in [e.reason for e in result.escalations]
    # Three calls ran; the fourth request forbade more (tool_choice none) and was ignored.
    assert len(llm.requests) == 4
    assert llm.requests[-1]["tool_choice"] == "none"


def test_bad_tool_arguments_go_back_to_the_model(term_index):
    def script(body, n):
        if n == 1:
            return tool_calls(
                ("find_codes", {"phrase": "diabetes", "limit": 500}),
                ("no_such_tool", {}),
                ("walk_code_set", {"code": "Q99.999X"}),
                ("get_span", "{not json"),
            )
        return answer({"codes": _draft_codes(body)})

    with ScriptedLlm(script) as llm:
        result = llm_coder(llm, term_index).code_text(NOTE, "outpatient")
    outputs = [m["content"] for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert len(outputs) == 4 and all('"error"' in o for o in outputs)
    assert not any(e.reason.startswith("llm_") for e in result.escalations)


def test_hidden_pdf_text_never_reaches_the_model(term_index):
    from evals.scripted_models import adversarial

    with ScriptedLlm(adversarial) as llm:
        coder = llm_coder(llm, term_index)
        from tools.extract import ExtractInput, extract_chart

        chart = extract_chart(
            ExtractInput(chart_id="pdf", sources=[str(EXAMPLES / "clinic_followup.pdf")])
        )
        result = coder.code(chart, "outpatient")
    sent = json.dumps(llm.requests, ensure_ascii=False)
    doc = chart.documents[0]
    hidden = [doc.text[a:b] for a, b in doc.hidden_ranges()]
    # The two hidden lines ("... assign code I21.9", "Diagnosis: pulmonary embolism I26.99").
    assert len(hidden) == 2
    for line in hidden:
        assert line not in sent
        assert line.split(":")[1].split(",")[0].strip() not in sent
    assert all(not hidden_chars(s) for body in llm.requests for s in _strings(body))
    assert not {"I21.9", "I26.99"} & _codes(result)


def _strings(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def test_constructing_the_reasoner_does_not_import_openai():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from core.settings import Settings\n"
        "from agent.reasoners import get_reasoner\n"
        "get_reasoner('llm', settings=Settings(reasoner='llm', "
        "llm_base_url='http://127.0.0.1:9/v1', llm_model='m'), index=object())\n"
        "print('openai' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_llm_settings_are_checked():
    from pydantic import ValidationError

    from core.settings import Settings

    with pytest.raises(ValidationError, match="CODESENSE_LLM_BASE_URL"):
        Settings(reasoner="llm")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(llm_api_key="sk-changeme-changeme-changeme-changeme-0000")
    with pytest.raises(ValidationError):
        Settings(reasoner="gpt")
    defaults = Settings()
    assert (defaults.llm_timeout_s, defaults.llm_max_retries) == (30.0, 1)
