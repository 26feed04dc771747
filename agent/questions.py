"""Free-form questions about a coding run ("what supports E11.22?", "why not E11.9?"), answered
by the same model endpoint, prompts folder and tools as the LLM reasoner.

The model sees the run (codes, statuses, rules, evidence as span ids) and the chart's visible
text as numbered spans, inside one delimited data block; the coder's question is the only text
outside it. The answer cites span ids; the quotes shown to the coder are taken from the chart at
those spans, never from the model, and a span id the model invents is left out.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agent.llm_client import ChatEndpoint, Conversation, ModelFailure
from agent.llm_payload import DataBlock, run_payload, spans_payload
from agent.prompts import load_prompt
from agent.usage import ModelUsage, ReasonerActivity
from core.contract import ChartResult, Evidence
from core.errors import CodeSenseError
from core.settings import Settings
from tools.chart import Chart
from tools.evidence import cite
from tools.lookup import TermIndex
from tools.registry import Registry, ToolContext
from tools.rules.load import rule_set
from tools.spans import chart_view
from tools.untrusted import strip_hidden

QUESTION_CHARS = 1000
ANSWER_CHARS = 2000


class ModelAnswer(BaseModel):
    """The structured answer a model gives to a question about a run."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(description="the answer, at most five sentences")
    span_ids: list[int] = Field(description="ids of the spans the answer rests on")


class RunAnswer(BaseModel):
    """What a surface shows: the answer, the chart text it cites, and what it cost."""

    question: str
    answer: str
    evidence: list[Evidence]
    usage: ModelUsage
    prompt_sha256: str


class QuestionUnavailable(CodeSenseError):
    """No model is configured, or the model did not answer usably."""


def answer_question(
    question: str,
    result: ChartResult,
    chart: Chart,
    settings: Settings,
    index: TermIndex,
    endpoint: ChatEndpoint | None = None,
) -> RunAnswer:
    """Answer a coder's question about one run from its output, its chart and our tools."""
    if not settings.llm_base_url or not settings.llm_model:
        raise QuestionUnavailable(
            "free-form questions need a model: set CODESENSE_LLM_BASE_URL and CODESENSE_LLM_MODEL"
        )
    question = " ".join(strip_hidden(question).split())[:QUESTION_CHARS]
    if not question:
        raise CodeSenseError("the question is empty")
    endpoint = endpoint or ChatEndpoint(settings)
    system, prompt = load_prompt("system"), load_prompt("question")
    view = chart_view(chart)
    block = DataBlock()
    payload = {"run": run_payload(result, chart, view), "spans": spans_payload(view)}
    messages = [
        {"role": "system", "content": system.text},
        {
            "role": "user",
            "content": prompt.render(question=question, data_block=block.render(payload)),
        },
    ]
    activity = ReasonerActivity(model=endpoint.model)
    conversation = Conversation(
        endpoint=endpoint,
        registry=Registry(),
        tools=ToolContext(
            chart=chart, view=view, index=index, rules=rule_set(), setting=result.setting
        ),
        max_tool_calls=settings.llm_max_tool_calls,
        budget_s=settings.llm_chart_budget_s,
        wrap_data=block.wrap,
    )
    try:
        given = conversation.answer(messages, ModelAnswer, activity)
    except ModelFailure as failure:
        raise QuestionUnavailable(
            f"the model could not answer ({failure.reason}: {failure.cause}); the run's trace "
            "still shows every code's evidence and rules"
        ) from None
    evidence = []
    for span_id in dict.fromkeys(given.span_ids):
        span = view.span(span_id)
        # Quotes come from the chart at the cited span; instruction-like text is no evidence.
        if span is not None and not span.instruction_like:
            evidence.append(cite(chart, span.doc_id, span.start, span.end))
    return RunAnswer(
        question=question,
        answer=" ".join(strip_hidden(given.answer).split())[:ANSWER_CHARS],
        evidence=evidence,
        usage=activity.usage(),
        prompt_sha256=prompt.sha256,
    )
