"""Answers to a coder's questions about one run, from the facade's trace, output and rule look-up.

Every quote shown is chart text at the run's cited spans (the trace keeps them); nothing is
paraphrased from the chart. The functions are synchronous: the listeners call them in a worker
thread, since each reads the store and the trace.
"""

from __future__ import annotations

from agent.questions import QuestionUnavailable
from apps.actors import Actor
from apps.service import Service
from apps.slack.blocks import Message, escape, one_line, quotes, section
from apps.slack.questions import FORMS_HELP, Question
from apps.trace import CodeTrace, Trace
from core.contract import AuditReport, Evidence, ReviewedChartResult
from core.errors import UnknownCode
from tools.codeset import CodeSet
from tools.rule_lookup import RuleLookupInput

MAX_LISTED = 8


def answer(service: Service, actor: Actor, run_id: str, question: Question) -> Message:
    """The answer to one parsed question about `run_id`, as a thread message."""
    if question.kind == "help":
        return _text(FORMS_HELP)
    if question.kind == "check":
        return _check(service, actor, run_id, question.codes)
    if question.kind == "free":
        return _free(service, actor, run_id, question.text)
    view = service.trace(actor, run_id, surface="slack")
    trace = view.trace
    if question.kind == "trace":
        return _trace(trace, service)
    result = service.run(actor, run_id, surface="slack").result
    if result is None:
        return _text(f"Run `{run_id}` has no stored output to answer from.")
    if question.kind == "supports":
        return _supports(trace, result, question.codes)
    if question.kind == "why_not":
        return _why_not(trace, result, question.codes)
    if question.kind == "missing":
        return _missing(result, question.codes)
    return _rules(service, actor, trace, result, question.codes)


# -- "what supports E11.22?" ----------------------------------------------------------------------


def _supports(trace: Trace, result: ReviewedChartResult, codes: list[str]) -> Message:
    parts: list[str] = []
    for code in codes[:MAX_LISTED]:
        found = _coded(trace, code)
        if found:
            parts.extend(_code_support(c) for c in found)
            continue
        added = _added(result, code)
        if added:
            parts.append(added)
            continue
        parts.append(
            f"*{code}* is not among this run's codes ({_codes_list(trace)}). "
            f"Ask `why not {code}?` to see why."
        )
    return _text("\n\n".join(parts))


def _code_support(c: CodeTrace) -> str:
    lines = [
        f"*{c.code}* {escape(c.description)} · {c.role} · confidence {c.confidence:.2f} · "
        f"{c.status}" + (f" · {c.review} in review" if c.review else ""),
        quotes(c.evidence, 3),
    ]
    if c.chosen is not None:
        lines.append(
            f"Read from the term “{escape(c.chosen.term)}” ({c.chosen.origin}, score "
            f"{c.chosen.score:.2f})."
        )
    if c.guideline_rules:
        lines.append(
            "Guideline rules that shaped it: " + ", ".join(f"`{r}`" for r in c.guideline_rules)
        )
    checks = [r for r in c.rules if r.result != "pass"]
    for r in checks[:4]:
        lines.append(f"`{r.id}` {r.result}: {escape(one_line(r.message, 240))}")
    passed = len(c.rules) - len(checks)
    if passed:
        lines.append(f"{passed} rule check{'s' * (passed != 1)} passed.")
    if c.rationale:
        lines.append("_" + escape(one_line(c.rationale, 400)) + "_")
    return "\n".join(lines)


def _added(result: ReviewedChartResult, code: str) -> str | None:
    if result.review is None:
        return None
    for a in result.review.added:
        if a.code == code:
            text = f"*{a.code}* {escape(a.description)} was added in review by {result.review.reviewer}."
            if a.evidence:
                text += "\n" + quotes(a.evidence, 3)
            elif a.reason:
                text += " (reason given; see the trace page)"
            return text
    return None


# -- "why not E11.9?" -----------------------------------------------------------------------------


def _why_not(trace: Trace, result: ReviewedChartResult, codes: list[str]) -> Message:
    parts = []
    for code in codes[:MAX_LISTED]:
        parts.append(_why_not_one(trace, result, code))
    return _text("\n\n".join(parts))


def _why_not_one(trace: Trace, result: ReviewedChartResult, code: str) -> str:
    coded = [c for c in trace.codes if c.code == code]
    if coded:
        c = coded[0]
        if result.review and code in result.review.rejected:
            return f"*{code}* was suggested but rejected in review by {result.review.reviewer}."
        return f"*{code}* is coded in this run.\n" + _code_support(c)
    reasons = []
    # A candidate for the same text that another code beat.
    for c in trace.codes:
        for beaten in c.beaten:
            if _same(beaten.code, code):
                chosen = (
                    f" from the term “{escape(c.chosen.term)}” (score {c.chosen.score:.2f})"
                    if c.chosen
                    else ""
                )
                rules = (
                    " by " + ", ".join(f"`{r}`" for r in c.guideline_rules)
                    if c.guideline_rules
                    else ""
                )
                reasons.append(
                    f"*{beaten.code}* {escape(_describe(beaten.code))} was a candidate for the same "
                    f"text (term “{escape(beaten.term)}”, score {beaten.score:.2f}), but "
                    f"*{c.code}* {escape(c.description)} was chosen{chosen}{rules}.\n"
                    + quotes(c.evidence, 1)
                )
                break
    # Mentions that would be this code but are not asserted (negated, family, history, ...).
    not_coded = {(m.doc_id, m.start, m.end): m for m in trace.not_coded}
    for m in result.mentions:
        if not any(_same(mc, code) for mc in m.codes):
            continue
        key = (m.doc_id, m.start, m.end)
        if m.assertion != "present":
            why = not_coded.get(key)
            detail = f": {escape(one_line(why.reason, 240))}" if why else ""
            reasons.append(
                f"“{escape(one_line(m.text, 200))}” ({m.section.replace('_', ' ')}) is "
                f"*{m.assertion}*, so it is not coded{detail}."
            )
        elif key in not_coded:
            reasons.append(
                f"“{escape(one_line(m.text, 200))}” ({m.section.replace('_', ' ')}) was not "
                f"coded: {escape(one_line(not_coded[key].reason, 240))}"
            )
    if reasons:
        return "\n".join(dict.fromkeys(reasons))
    return (
        f"No text in this chart was read as *{code}* {escape(_describe(code))}. "
        f"This run's codes: {_codes_list(trace)}."
    )


# -- "what is missing for a more specific code?" --------------------------------------------------


def _missing(result: ReviewedChartResult, codes: list[str]) -> Message:
    codeset = CodeSet.load()
    wanted = set(codes)
    parts = []
    for s in result.suggestions:
        if wanted and s.code not in wanted:
            continue
        more = _more_specific(codeset, s.code)
        if more is None:
            continue
        listed = "; ".join(f"{c} {escape(_describe(c))}" for c in more[:4])
        parts.append(
            f"*{s.code}* {escape(s.description)} is the unspecified code: the chart does not "
            f"say which kind. More specific codes: {listed}"
            + (f" (and {len(more) - 4} more)" if len(more) > 4 else "")
            + ".\n"
            + quotes(s.evidence, 1)
        )
    for q in result.queries:
        if wanted and q.codes and not wanted & set(q.codes):
            continue
        text = f"*CDI query ({escape(q.topic)})*: {escape(one_line(q.question, 500))}"
        if q.evidence:
            text += "\nClinical indicators:\n" + quotes(q.evidence, 3)
        parts.append(text)
    if not parts:
        named = f" for {', '.join(codes)}" if codes else ""
        return _text(
            f"Nothing is missing{named}: no code of this run is the unspecified one of its "
            "category and no documentation (CDI) query was raised."
        )
    return _text("\n\n".join(parts))


def _more_specific(codeset: CodeSet, code: str) -> list[str] | None:
    """The billable siblings of an unspecified code (E11.9 -> E11.0..., E11.8), else None."""
    try:
        info = codeset.get(code)
    except UnknownCode:
        return None
    if info.parent is None:
        return None
    unspecified = "unspecified" in info.description.lower() or (
        codeset.unspecified_child(info.parent) == code
    )
    if not unspecified:
        return None
    try:
        siblings = [c for c in codeset.leaves_under(info.parent) if c != code]
    except UnknownCode:
        return None
    return siblings or None


# -- "which rules apply to I13.0?" ----------------------------------------------------------------


def _rules(
    service: Service, actor: Actor, trace: Trace, result: ReviewedChartResult, codes: list[str]
) -> Message:
    parts = []
    for code in codes[:3]:
        hits = service.lookup_rules(
            actor, RuleLookupInput(code=code, setting=result.setting, limit=MAX_LISTED)
        ).hits
        lines = [f"*Rules that apply to {code}* {escape(_describe(code))}:"]
        if not hits:
            lines.append("No rule in the loaded packs names this code.")
        for h in hits:
            lines.append(f"• `{h.id}` {escape(h.title)} ({escape(h.citation)}; {h.file}:{h.line})")
        for c in trace.codes:
            if c.code == code and c.rules:
                checks = ", ".join(f"`{r.id}` {r.result}" for r in c.rules[:MAX_LISTED])
                lines.append(f"In this run: {checks}")
        parts.append("\n".join(lines))
    return _text("\n\n".join(parts))


# -- "check E11.22, N18.31, I10" (Audit Sentinel) -------------------------------------------------


def _check(service: Service, actor: Actor, run_id: str, codes: list[str]) -> Message:
    report = service.audit_run(actor, run_id, codes)
    return _text(render_audit(report))


_SEVERITY_ICON = {
    "high": ":red_circle:",
    "medium": ":large_orange_circle:",
    "low": ":white_circle:",
}


def render_audit(report: AuditReport) -> str:
    """Audit Sentinel's findings on the listed codes, each with the chart text and rule it rests
    on, the codes the documentation supports, and the chart's risk score."""
    assigned = ", ".join(a.code for a in report.assigned)
    n = len(report.findings)
    lines = [
        f"*Audit Sentinel* on {assigned}: {n} finding{'s' * (n != 1)}, chart risk "
        f"{report.risk:.2f} (audit `{report.run_id}`)."
    ]
    for f in report.findings[:20]:
        line = (
            f"{_SEVERITY_ICON[f.severity]} *{f.code}* {f.kind}: {escape(one_line(f.message, 400))}"
        )
        if f.suggested:
            line += " Supported instead: " + ", ".join(f.suggested) + "."
        lines.append(line)
        if f.evidence:
            lines.append(quotes(f.evidence, 1))
        if f.rules:
            lines.append(
                "Rules: " + "; ".join(f"`{r.id}` ({escape(r.citation)})" for r in f.rules[:3])
            )
    if n > 20:
        lines.append(f"_…and {n - 20} more findings on the audit page_")
    clean = [a.code for a in report.assigned if a.supported and not _flagged(report, a.code)]
    if clean:
        lines.append("Supported with no finding: " + ", ".join(clean))
    if report.supported_codes:
        lines.append("What the documentation supports: " + ", ".join(report.supported_codes))
    return "\n".join(lines)


def _flagged(report: AuditReport, code: str) -> bool:
    return any(f.code == code for f in report.findings)


# -- "trace" and free-form --------------------------------------------------------------------------


def _trace(trace: Trace, service: Service) -> Message:
    run = trace.run
    versions = trace.versions
    steps = sum(1 for e in trace.events if e.action == "graph.step")
    lines = [
        f"*Trace of run `{run.run_id}`* · {run.status.replace('_', ' ')} · route {trace.route} · "
        f"{trace.setting}",
        f"Code set {escape(versions.get('code_set', '?'))} · rules "
        f"`{versions.get('rules', '?')[:19]}` · reasoner {escape(versions.get('reasoner', '?'))} · "
        f"{escape(versions.get('software', ''))}",
        f"{len(trace.events)} audit events, {steps} graph steps; final codes: "
        + (", ".join(trace.final_codes) or "none"),
    ]
    for c in trace.codes[:20]:
        origin = f"term “{escape(c.chosen.term)}”" if c.chosen else "a guideline rule"
        lines.append(f"• *{c.code}* from {origin}; evidence {_spans(c.evidence)}")
    for r in trace.reviews:
        lines.append(
            f"Review `{r.decision_id}` by {escape(r.reviewer)} at {r.decided_at[:19]}Z: "
            f"accepted {', '.join(r.accepted) or 'none'}; rejected {', '.join(r.rejected) or 'none'}"
        )
    return _text("\n".join(lines))


def _spans(evidence: list[Evidence]) -> str:
    return ", ".join(f"p.{e.page} {e.start}-{e.end}" for e in evidence[:3])


def _free(service: Service, actor: Actor, run_id: str, text: str) -> Message:
    if service.settings.reasoner != "llm":
        return _text("I can't answer that form of question here. " + FORMS_HELP)
    try:
        got = service.ask(actor, run_id, text, surface="slack")
    except QuestionUnavailable as err:
        return _text(f"The model could not answer: {escape(one_line(str(err), 300))}")
    body = escape(got.answer)
    if got.evidence:
        body += "\n" + quotes(got.evidence, 4)
    else:
        body += "\n_(no chart text cited)_"
    return _text(body)


# -- helpers ----------------------------------------------------------------------------------------


def _coded(trace: Trace, code: str) -> list[CodeTrace]:
    exact = [c for c in trace.codes if c.code == code]
    return exact or [c for c in trace.codes if _same(c.code, code) and len(code) <= 3]


def _same(candidate: str, asked: str) -> bool:
    """The asked code, or a code under an asked category ("E11" covers E11.22)."""
    return candidate == asked or (len(asked) <= 3 and candidate.startswith(asked))


def _codes_list(trace: Trace) -> str:
    return ", ".join(c.code for c in trace.codes) or "none"


def _describe(code: str) -> str:
    codeset = CodeSet.load()
    try:
        return codeset.get(code).description
    except UnknownCode:
        return "(not an ICD-10-CM code)"


def _text(text: str) -> Message:
    # Long answers are split over several sections (3,000 characters each, 50 at most).
    chunks = [text[i : i + 2800] for i in range(0, len(text), 2800)][:49] or [""]
    return Message(text=one_line(text, 300), blocks=[section(c) for c in chunks])
