"""The justification trace of a reviewed run, as JSON, Markdown and a self-contained HTML page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from agent.review import ReviewRequest
from tests.conftest import ADMIN, EXAMPLES
from tools.chart import Chart
from tools.extract import text_document

HOSTILE = (
    "ASSESSMENT:\n1. Type 2 diabetes\x07 with diabetic nephropathy.\x1b[2J\n"
    "2. Essential hypertension. <script>alert('x')</script> <img src=x onerror=alert(1)>\n"
    "3. Hyperlipidemia \u202eon statin.\n"
)


def _pair(view):
    return view.trace, view.chart


@pytest.fixture(scope="module")
def traced(tmp_path_factory, term_index):
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from apps.service import Service
    from core.settings import Settings

    folder = tmp_path_factory.mktemp("trace")
    settings = Settings(data_dir=folder, auto_threshold=1.0, review_threshold=1.0)
    service = Service(
        settings, CodingContext(settings, term_index, OfflineReasoner(), rules_version())
    )
    result = service.code_file(ADMIN, EXAMPLES / "discharge_summary.txt")
    first, last = result.suggestions[0].code, result.suggestions[-1].code
    service.review(
        ADMIN,
        result.run_id,
        ReviewRequest(
            reviewer="auditor.kim", accept=[first], reject=[last], reason="not supported"
        ),
    )
    hostile = service.code_chart(
        ADMIN, Chart(chart_id="h", documents=[text_document(HOSTILE, "d1")])
    )
    return (
        _pair(service.trace(ADMIN, result.run_id)),
        _pair(service.trace(ADMIN, hostile.run_id)),
        (first, last),
        service,
    )


def test_every_code_has_evidence_candidates_rules_versions_and_events(traced):
    (trace, chart), _, (first, last), _ = traced
    assert trace.codes
    text = chart.documents[0].text
    for code in trace.codes:
        # From a term candidate, or read from the chart by a guideline rule.
        assert code.evidence and (code.chosen is not None or code.guideline_rules), code.code
        for e in code.evidence:
            assert text[e.start : e.end] == e.quote and e.section
        assert code.rules and 0.0 <= code.confidence <= 1.0 and code.status
        assert code.audit_events, code.code
    assert any(code.beaten for code in trace.codes)
    assert {"code_set", "rules", "reasoner", "software", "langgraph"} <= set(trace.versions)
    assert trace.run.status == "reviewed" and trace.reviews[0].reviewer == "auditor.kim"
    assert last not in trace.final_codes and first in trace.final_codes
    seqs = {e.seq for e in trace.events}
    assert all(set(c.audit_events) <= seqs for c in trace.codes)
    # Reading the trace was itself audited.
    assert trace.events[-1].action == "run.read" and trace.events[-1].name == "trace"


def test_json_round_trips(traced):
    (trace, _), *_ = traced
    data = json.loads(trace.model_dump_json())
    assert data["codes"][0]["evidence"][0]["quote"]
    assert data["reviews"][0]["reason"] == "not supported"


def test_markdown_names_the_reviewer_and_the_evidence(traced):
    from apps.trace import trace_markdown

    (trace, _), _, (first, last), _ = traced
    md = trace_markdown(trace)
    assert f"### {first}" in md and "review: **rejected**" in md
    assert "Review by auditor.kim" in md and "reason: not supported" in md
    assert "From candidate" in md and "## Audit events" in md


def test_html_is_self_contained_and_escapes_the_chart(traced):
    from apps.trace_html import trace_html

    _, (trace, chart), _, _ = traced
    page = trace_html(trace, chart)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    for outside in ("http://", "https://", "<link", "@import"):
        assert outside not in page
    assert not re.search(r"<[a-z]+[^>]*\s(src|onerror|onload)=", page)
    assert "<mark" in page and 'href="#ev-0-0"' in page and 'id="ev-0-0"' in page


def test_html_shows_control_and_bidi_characters_visibly(traced):
    """A raw ESC or BEL reaches a terminal that cats the file; a raw right-to-left override
    reverses what the reviewer reads."""
    from apps.trace_html import trace_html

    _, (trace, chart), _, _ = traced
    page = trace_html(trace, chart)

    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in page
    assert "\u241b[2J" in page and "\u2407" in page and "\ufffdon statin" in page
    # Quotes on the code cards too, not only the chart panel.
    quotes = re.findall(r"&ldquo;(.*?)&rdquo;", page)
    assert any("\u2407" in q for q in quotes)


def test_html_greys_hidden_text_with_its_reason(traced):
    from apps.trace_html import trace_html
    from tools.chart import TextRun

    _, (trace, chart), _, _ = traced
    doc = chart.documents[0]
    at = doc.text.index("Hyperlipidemia")
    runs = [
        TextRun(start=0, end=at),
        TextRun(start=at, end=at + 14, visible=False, hidden_reason="covered"),
        TextRun(start=at + 14, end=len(doc.text)),
    ]
    hidden = chart.model_copy(update={"documents": [doc.model_copy(update={"runs": runs})]})

    page = trace_html(trace, hidden)

    assert (
        '<span class="hidden-text" data-reason="hidden: painted over" '
        'title="not visible on the page (painted over); never evidence">Hyperlipidemia</span>'
    ) in page
    assert ".hidden-text::after" in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_html_renders_in_headless_chromium(traced, tmp_path):
    from apps.trace_html import trace_html

    (trace, chart), *_ = traced
    page = tmp_path / "trace.html"
    page.write_text(trace_html(trace, chart), encoding="utf-8")
    shot = tmp_path / "trace.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1400,900",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists() and shot.stat().st_size > 20_000


def test_an_unknown_run_is_an_error(traced):
    from store.runs import RunNotFound

    *_, service = traced
    with pytest.raises(RunNotFound):
        service.trace(ADMIN, "run-0000000000000000")
