"""Slack messages (Block Kit) for a coded chart: the summary, each code with its quoted evidence
and review buttons, the CDI queries, and a Submit review button.

Chart text is escaped before it is sent: a quote holding "<!channel>" must not ping anyone, and
`&`, `<`, `>` are Slack's control characters. Slack's limits shape the messages: at most 50
blocks a message and 3,000 characters a text block, so codes go 15 to a message and quotes are
shortened (the trace page has them whole).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.contract import Evidence, ReviewedChartResult
from store.marks import ReviewMark

CODES_PER_MESSAGE = 15
QUOTE_CHARS = 280
QUOTES_PER_CODE = 2
SECTION_CHARS = 2900

MARK_WORDS = {"accept": "accepted", "reject": "rejected", "escalate": "escalated"}
MARK_ACTIONS = ("accept", "reject", "escalate")
ACTION_PREFIX = "review_"
SUBMIT_ACTION = "review_submit"
_ROUTE_ICON = {"auto": ":white_check_mark:", "review": ":eyes:", "escalate": ":warning:"}


class Message(BaseModel):
    """One chat message: the notification text and its blocks."""

    text: str
    blocks: list[dict[str, Any]] = Field(default_factory=list)


def escape(text: str) -> str:
    """Text as Slack shows it literally: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def quote_line(evidence: Evidence) -> str:
    """A cited span as a Slack quote, with its section and page."""
    section = evidence.section.replace("_", " ") or "text"
    return f'> "{escape(one_line(evidence.quote, QUOTE_CHARS))}" _({section}, p.{evidence.page})_'


def quotes(evidence: list[Evidence], limit: int = QUOTES_PER_CODE) -> str:
    lines = [quote_line(e) for e in evidence[:limit]]
    if len(evidence) > limit:
        lines.append(f"_…and {len(evidence) - limit} more on the trace page_")
    return "\n".join(lines)


def section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_CHARS:
        text = text[: SECTION_CHARS - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2900]}]}


def summary(result: ReviewedChartResult, label: str, user: str, link: str | None) -> Message:
    """The line posted where the chart came in: route, counts, run id."""
    icon = _ROUTE_ICON[result.route]
    counts = f"{len(result.suggestions)} code{'s' * (len(result.suggestions) != 1)}"
    if result.escalations:
        counts += f", {len(result.escalations)} escalation{'s' * (len(result.escalations) != 1)}"
    if result.queries:
        counts += f", {len(result.queries)} CDI quer{'ies' if len(result.queries) != 1 else 'y'}"
    where = f" · <{link}|trace page>" if link else ""
    text = (
        f"{icon} Coded {escape(label)} for <@{user}> ({result.setting}): route *{result.route}*, "
        f"{counts} · run `{result.run_id}`{where}. Details in the thread."
    )
    return Message(text=text, blocks=[section(text)])


def details(result: ReviewedChartResult, link: str | None) -> Message:
    """The first thread reply: route, escalations, CDI queries and the trace link."""
    lines = [
        f"*Run `{result.run_id}`* · {result.setting} · route *{result.route}* · "
        f"{escape(result.code_set)} · reasoner {escape(result.reasoner)}"
    ]
    for esc in result.escalations:
        lines.append(f":warning: *{escape(esc.reason)}*: {escape(one_line(esc.detail, 300))}")
    if result.drg is not None and result.drg.drg is not None:
        lines.append(
            f"MS-DRG {result.drg.drg} {escape(result.drg.description or '')} ({result.drg.severity})"
        )
    blocks = [section("\n".join(lines))]
    for query in result.queries:
        text = f"*CDI query ({escape(query.topic)})*: {escape(one_line(query.question, 600))}"
        if query.options:
            text += "\nOptions: " + escape(" | ".join(query.options))[:600]
        if query.evidence:
            text += "\n" + quotes(query.evidence, 3)
        blocks.append(section(text))
    if link:
        blocks.append(
            context(f"<{link}|Open the trace page> for every code's text, rule and step.")
        )
    else:
        blocks.append(context(f"The whole trace: `codesense trace {result.run_id}`"))
    return Message(text=f"Run {result.run_id}: route {result.route}", blocks=blocks[:50])


def code_chunks(result: ReviewedChartResult) -> list[list[int]]:
    """Which suggestions go in which message (indices), CODES_PER_MESSAGE at a time."""
    n = len(result.suggestions)
    return [list(range(i, min(i + CODES_PER_MESSAGE, n))) for i in range(0, n, CODES_PER_MESSAGE)]


def codes_message(
    result: ReviewedChartResult,
    indices: list[int],
    marks: dict[str, ReviewMark],
    reviewable: bool,
) -> Message:
    """Each code with its description, confidence, status, quoted evidence and, while the run
    awaits review, Accept / Reject / Escalate buttons and the latest mark."""
    blocks: list[dict[str, Any]] = []
    final = set(result.review.codes) if result.review else None
    for i in indices:
        s = result.suggestions[i]
        warn = "".join(" :small_orange_diamond:" for r in s.rules if r.result != "pass")
        head = (
            f"*{s.code}* {escape(s.description)}\n{s.role} · confidence {s.confidence:.2f} · "
            f"{s.status}{warn}"
        )
        blocks.append(section(head + "\n" + quotes(s.evidence)))
        mark = marks.get(s.code)
        if reviewable:
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"mark:{s.code}",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": ACTION_PREFIX + action,
                            "text": {"type": "plain_text", "text": action.capitalize()},
                            "value": f"{result.run_id} {s.code}",
                            **({"style": _STYLE[action]} if action in _STYLE else {}),
                        }
                        for action in MARK_ACTIONS
                    ],
                }
            )
        if mark is not None:
            who = mark.actor.removeprefix("slack:")
            by = f"<@{who}>" if mark.actor.startswith("slack:") else escape(who)
            blocks.append(context(f"{MARK_WORDS[mark.mark]} by {by}"))
        elif final is not None:
            blocks.append(context("kept" if s.code in final else "rejected in review"))
    first, last = indices[0] + 1, indices[-1] + 1
    text = f"Codes {first}-{last} of {len(result.suggestions)} for run {result.run_id}"
    return Message(text=text, blocks=blocks)


_STYLE = {"accept": "primary", "reject": "danger"}


def submit_message(run_id: str, code_messages: list[str], marks: int, total: int) -> Message:
    """The Submit review button; its value carries the run and the code messages to update."""
    value = " ".join([run_id, *code_messages])
    text = (
        f"Mark each code, then *Submit review* to finish run `{run_id}`. Codes you leave "
        f"unmarked stand as suggested; a code marked Escalate keeps the run for an auditor. "
        f"({marks} of {total} marked)"
    )
    return Message(
        text=f"Submit the review of run {run_id}",
        blocks=[
            section(text),
            {
                "type": "actions",
                "block_id": "submit",
                "elements": [
                    {
                        "type": "button",
                        "action_id": SUBMIT_ACTION,
                        "text": {"type": "plain_text", "text": "Submit review"},
                        "style": "primary",
                        "value": value[:2000],
                    }
                ],
            },
        ],
    )


def reviewed_message(result: ReviewedChartResult, user: str) -> Message:
    """Posted when a review was applied: what was kept, dropped and added, and the final codes."""
    review = result.review
    assert review is not None
    parts = [f":white_check_mark: Review of run `{result.run_id}` submitted by <@{user}>."]
    if review.accepted:
        parts.append("Accepted: " + ", ".join(review.accepted))
    if review.rejected:
        parts.append("Rejected: " + ", ".join(review.rejected))
    if review.undecided:
        parts.append("Left as suggested: " + ", ".join(review.undecided))
    parts.append("Final codes: " + (", ".join(review.codes) or "none"))
    text = "\n".join(parts)
    return Message(text=text, blocks=[section(text)])


def plain(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])
