"""The trace as one self-contained HTML page: chart text on the left with every evidence span
highlighted, codes and their reasons on the right; each quote links to its place in the chart.

No scripts, fonts or links outside the page: an auditor can open it from a file share offline.
All chart text goes through `html.escape`; a chart is untrusted input.
"""

from __future__ import annotations

from html import escape

from apps.chart_view import Highlight, document_html, visible_text
from apps.trace import CodeTrace, Trace
from tools.chart import Chart, Document

_CSS = """
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2430}
header{padding:12px 20px;background:#1d2430;color:#fff}
header h1{margin:0 0 4px;font-size:18px}
header p{margin:2px 0;font-size:12px;color:#c9d1dc}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);height:calc(100vh - 92px)}
#chart,#codes{overflow:auto;padding:12px 20px}
#chart{border-right:1px solid #d5dbe3;background:#fbfbfc}
pre{white-space:pre-wrap;word-wrap:break-word;font:13px/1.5 ui-monospace,Menlo,Consolas,monospace}
mark{background:#ffe58f;border-radius:2px;padding:0 1px}
mark.added{background:#b7eb8f}
mark.rejected{background:#ffccc7;text-decoration:line-through}
mark:target{outline:2px solid #d4380d}
.hidden-text{color:#b0b6bf;background:#f3f4f6}
.hidden-text::after{content:" [" attr(data-reason) "]";font-size:11px;color:#a8071a;font-style:italic}
.card{border:1px solid #d5dbe3;border-radius:6px;padding:8px 12px;margin:0 0 10px;background:#fff}
.card h3{margin:0 0 4px;font-size:15px}
.tag{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;background:#eef1f5;
margin-right:4px}
.auto{background:#d9f7be}.review{background:#fff1b8}.escalate{background:#ffccc7}
.accepted{background:#d9f7be}.rejected{background:#ffccc7}.undecided{background:#eef1f5}
.pass{color:#237804}.warn{color:#ad6800}.fail{color:#a8071a}
ul{margin:4px 0;padding-left:18px}
table{border-collapse:collapse;font-size:12px;width:100%}
td,th{border-bottom:1px solid #e5e8ec;padding:2px 4px;text-align:left;vertical-align:top}
code{font-size:12px}
small{color:#5a6473}
"""


def trace_html(trace: Trace, chart: Chart | None) -> str:
    spans = _spans(trace)
    run = trace.run
    versions = ", ".join(f"{k} {v}" for k, v in sorted(trace.versions.items()))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Trace {_text(run.run_id)}</title><style>{_CSS}</style></head><body>",
        "<header>",
        f"<h1>Justification trace: {_text(run.run_id)}</h1>",
        f"<p>chart {_text(trace.chart_id)} &middot; {_text(trace.setting)} &middot; route "
        f"<b>{_text(trace.route)}</b> &middot; {_text(run.status.replace('_', ' '))} &middot; "
        f"final codes: {_text(', '.join(trace.final_codes) or 'none')}</p>",
        f"<p>{_text(versions)}</p>",
        f"<p>audit: {run.audit_events} events, head <code>{_text(run.audit_head or '')}</code></p>",
        "</header><main>",
        '<section id="chart">',
    ]
    if chart is None:
        parts.append("<p>The chart text is not stored for this run.</p>")
    else:
        for doc_index, doc in enumerate(chart.documents):
            parts.append(f"<h2>{_text(doc.doc_id)}</h2>")
            parts.append(f"<pre>{_highlighted(doc, doc_index, spans)}</pre>")
    parts.append('</section><section id="codes">')
    parts += _escalations(trace)
    for number, code in enumerate(trace.codes):
        parts.append(_code_card(code, number))
    parts += _reviews(trace)
    parts += _not_coded(trace)
    parts += _events(trace)
    parts.append("</section></main></body></html>")
    return "\n".join(parts)


# (doc_id, start, end, anchor id, css class, label) for every highlighted span.
Span = tuple[str, int, int, str, str, str]


def _spans(trace: Trace) -> list[Span]:
    spans: list[Span] = []
    for number, code in enumerate(trace.codes):
        css = "rejected" if code.review == "rejected" else ""
        for k, e in enumerate(code.evidence):
            spans.append((e.doc_id, e.start, e.end, f"ev-{number}-{k}", css, code.code))
    for r, review in enumerate(trace.reviews):
        for a, added in enumerate(review.added):
            for k, e in enumerate(added.evidence):
                spans.append((e.doc_id, e.start, e.end, f"add-{r}-{a}-{k}", "added", added.code))
    return spans


def _highlighted(doc: Document, doc_index: int, spans: list[Span]) -> str:
    """The document text with each span in a <mark> and hidden text greyed with its reason, as
    on the run page (`apps.chart_view`): control characters shown as visible pictures."""
    return document_html(doc, [Highlight(*s) for s in spans])


def _shown(text: str) -> str:
    """Chart text for a one-line quote: whitespace folded, control characters made visible."""
    return _text(" ".join(text.split()))


def _text(text: str) -> str:
    """Any text on the page, escaped, with control and format characters shown as marks (a
    rationale or a reviewer's reason can quote the chart)."""
    return escape(visible_text(text))


def _code_card(code: CodeTrace, number: int) -> str:
    review = f'<span class="tag {code.review}">{code.review}</span>' if code.review else ""
    evidence = "".join(
        f'<li><a href="#ev-{number}-{k}">&ldquo;{_shown(e.quote)}&rdquo;</a> '
        f"<small>{_text(e.section.replace('_', ' '))}, {_text(e.doc_id)} "
        f"{e.start}&ndash;{e.end}, p.{e.page}</small></li>"
        for k, e in enumerate(code.evidence)
    )
    rules = "".join(
        f'<li class="{r.result}">{r.result} <code>{_text(r.id)}</code> {_text(r.message)}</li>'
        for r in code.rules
    )
    chosen = ""
    if code.chosen:
        c = code.chosen
        chosen = (
            f"<p><small>from candidate <b>{_text(c.code)}</b> ({_text(c.origin)} term "
            f"&lsquo;{_text(c.term)}&rsquo;, score {c.score:.2f})"
        )
        if code.beaten:
            beaten = ", ".join(f"{_text(b.code)} ({b.score:.2f})" for b in code.beaten)
            chosen += f"; beat {beaten}"
        chosen += "</small></p>"
    if code.guideline_rules:
        chosen += (
            "<p><small>guideline rules: "
            + ", ".join(f"<code>{_text(r)}</code>" for r in code.guideline_rules)
            + "</small></p>"
        )
    events = ", ".join(f"#{s}" for s in code.audit_events)
    return (
        f'<div class="card"><h3>{_text(code.code)} <small>{_text(code.description)}</small></h3>'
        f'<span class="tag">{_text(code.role)}</span>'
        f'<span class="tag {code.status}">{code.status}</span>'
        f'<span class="tag">confidence {code.confidence:.2f}</span>{review}'
        f"<p>{_text(code.rationale)}</p><ul>{evidence}</ul>{chosen}"
        f"<ul>{rules}</ul><p><small>audit events {events or 'none'}</small></p></div>"
    )


def _escalations(trace: Trace) -> list[str]:
    if not trace.escalations:
        return []
    items = "".join(
        f"<li><b>{_text(e.reason)}</b>: {_text(e.detail)}</li>" for e in trace.escalations
    )
    return [f'<div class="card"><h3>Escalations</h3><ul>{items}</ul></div>']


def _reviews(trace: Trace) -> list[str]:
    out = []
    for r, review in enumerate(trace.reviews):
        added = "".join(
            f"<li>added <b>{_text(a.code)}</b> {_text(a.description)} "
            + " ".join(
                f'<a href="#add-{r}-{i}-{k}">&ldquo;{_shown(e.quote)}&rdquo;</a>'
                for k, e in enumerate(a.evidence)
            )
            + "</li>"
            for i, a in enumerate(review.added)
        )
        out.append(
            f'<div class="card"><h3>Review by {_text(review.reviewer)}</h3>'
            f"<p><small>{_text(review.decided_at)} &middot; {_text(review.decision_id)}</small></p>"
            f"<ul><li>accepted {_text(', '.join(review.accepted) or 'none')}</li>"
            f"<li>rejected {_text(', '.join(review.rejected) or 'none')}</li>{added}</ul>"
            f"<p>Reason: {_text(review.reason or '(none given)')}</p></div>"
        )
    return out


def _not_coded(trace: Trace) -> list[str]:
    if not trace.not_coded:
        return []
    items = "".join(
        f"<li>&ldquo;{_shown(m.text)}&rdquo; <small>{_text(m.assertion)}, "
        f"{_text(m.section.replace('_', ' '))}</small>: {_text(m.reason)}</li>"
        for m in trace.not_coded
    )
    return [f'<div class="card"><h3>Not coded</h3><ul>{items}</ul></div>']


def _events(trace: Trace) -> list[str]:
    rows = "".join(
        f"<tr><td>{e.seq}</td><td>{_text(e.ts)}</td><td>{_text(e.actor)}</td>"
        f"<td>{_text(e.action)}</td><td>{_text(e.name or '')}</td><td>{_text(e.result)}</td>"
        f"<td>{_text(' '.join(e.codes))}</td><td><code>{_text(e.hash[:19])}&hellip;</code></td></tr>"
        for e in trace.events
    )
    return [
        f'<details class="card"><summary>Audit events ({len(trace.events)})</summary>'
        "<table><tr><th>seq</th><th>time</th><th>actor</th><th>action</th><th>step</th>"
        f"<th>result</th><th>codes</th><th>hash</th></tr>{rows}</table></details>"
    ]
