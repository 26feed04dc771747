"""The tool registry a model calls: names, descriptions and schemas; each tool on good and bad
arguments, without a model."""

from __future__ import annotations

import json

import pytest

from tools.chart import Chart
from tools.extract import text_document
from tools.registry import Registry, ToolContext
from tools.rules import rule_set
from tools.spans import chart_view

NOTE = "ASSESSMENT AND PLAN:\n1. Type 2 diabetes mellitus with CKD stage 3a.\n2. Hypertension.\n"


@pytest.fixture(scope="module")
def context(term_index):
    chart = Chart(chart_id="c", documents=[text_document(NOTE, "d1")])
    return ToolContext(
        chart=chart,
        view=chart_view(chart),
        index=term_index,
        rules=rule_set(),
        setting="outpatient",
    )


def _call(context, name, args):
    out, record = Registry().call(context, name, json.dumps(args))
    return json.loads(out), record


def test_every_tool_has_a_name_a_description_and_a_json_schema():
    specs = Registry().specs()
    names = [s["function"]["name"] for s in specs]
    assert names == [
        "find_codes",
        "get_span",
        "find_rules",
        "validate_codes",
        "walk_code_set",
        "check_assigned_codes",
    ]
    for spec in specs:
        fn = spec["function"]
        assert spec["type"] == "function" and len(fn["description"]) > 40
        assert fn["parameters"]["type"] == "object"
        assert fn["parameters"]["additionalProperties"] is False


def test_find_codes(context):
    out, record = _call(context, "find_codes", {"phrase": "type 2 DM with CKD", "limit": 3})
    assert out["candidates"][0]["code"].startswith("E11.2")
    assert record.ok and record.name == "find_codes"
    assert record.arguments_sha256.startswith("sha256:")


def test_get_span(context):
    out, _ = _call(context, "get_span", {"span_id": 2})
    assert out["text"] == "1. Type 2 diabetes mellitus with CKD stage 3a."
    assert out["section"] == "assessment_plan" and out["previous_span_id"] == 1
    out, record = _call(context, "get_span", {"span_id": 99})
    assert "no span 99" in out["error"] and not record.ok


def test_find_rules(context):
    out, _ = _call(context, "find_rules", {"code": "E11.22", "query": None, "limit": 3})
    assert out["rules"] and all(r["citation"] for r in out["rules"])
    out, _ = _call(context, "find_rules", {})
    assert "give a query" in out["error"]


def test_validate_codes(context):
    out, record = _call(context, "validate_codes", {"codes": ["E11", "I10", "X99.999"]})
    by = {c["proposed"]: c for c in out["codes"]}
    assert by["E11"]["code"] == "E11.9"
    assert by["X99.999"]["code"] is None
    assert record.codes == ["E11", "I10", "X99.999"]  # code-shaped, so the audit may name them


def test_walk_code_set(context):
    out, _ = _call(context, "walk_code_set", {"code": "E11.2", "relation": "children"})
    assert {c["code"] for c in out["codes"]} >= {"E11.21", "E11.22", "E11.29"}
    out, _ = _call(context, "walk_code_set", {"code": "E11.22", "relation": "siblings"})
    assert "E11.22" not in {c["code"] for c in out["codes"]}
    out, _ = _call(context, "walk_code_set", {"code": "E11.22", "relation": "notes"})
    assert any(n["kind"] == "use_additional_code" for n in out["notes"])
    out, _ = _call(context, "walk_code_set", {"code": "Q99.999X"})
    assert "Unknown ICD-10-CM code" in out["error"]


def test_bad_arguments_and_unknown_tools_are_errors_for_the_model(context):
    out, record = _call(context, "find_codes", {"phrase": "x", "limit": 0})
    assert out["error"].startswith("invalid arguments: limit")
    out, record = _call(context, "find_codes", {"phrase": "x", "surprise": 1})
    assert "surprise" in out["error"]
    out, record = _call(context, "drop_table", {})
    assert out["error"].startswith("unknown tool") and record.name == "unknown_tool"
    out, _ = Registry().call(context, "get_span", "{not json")
    assert json.loads(out)["error"].startswith("invalid arguments")


def test_check_assigned_codes_finds_the_combination_and_refuses_a_non_code(context):
    out, record = _call(context, "check_assigned_codes", {"codes": ["E11.9", "N18.31", "I10"]})
    assert record.ok and record.codes == ["E11.9", "I10", "N18.31"]
    found = {(f["kind"], f["code"]) for f in out["findings"]}
    assert ("combination", "E11.9") in found and ("combination", "I10") in found
    assert out["risk"] > 0 and "E11.22" in out["supported_codes"]
    diabetes = next(f for f in out["findings"] if f["code"] == "E11.9")
    assert diabetes["suggested"] == ["E11.22"] and diabetes["rules"][0].startswith("combo.")
    bad, record = _call(context, "check_assigned_codes", {"codes": ["E11.22", "ZZ9"]})
    assert not record.ok and "ZZ9" in bad["error"]
