"""The LLM reasoner: an OpenAI-compatible model reviews the offline draft of a chart, may call our
deterministic tools, and answers with codes that each cite numbered chart spans.

It can never make a chart less safe than the offline reasoner: the model sees only the chart's
visible text, inside one delimited data block; each code it gives must pass the checks of
`llm_checks` (real code, spans that exist, not instruction-like, grounded in a mention there,
validation, the assertion guard) or it is dropped and recorded; a code the model and the draft
disagree on goes to review. When the model cannot be reached or answers with nothing usable, the
chart gets the offline decisions and is escalated (`llm_unavailable`, `llm_invalid_output`).
"""

from __future__ import annotations

import logging
from typing import Any

from agent.guidelines import delivery
from agent.llm_client import ChatEndpoint, Conversation, ModelFailure
from agent.llm_payload import DataBlock, draft_payload, spans_payload
from agent.prompts import load_prompt
from agent.reasoners.base import DecisionRequest, DecisionResult
from agent.reasoners.llm_checks import CodingAnswer, check_answer, merge
from agent.reasoners.offline import OfflineReasoner
from agent.usage import ReasonerActivity
from core.contract import Escalation
from core.settings import Settings
from tools.lookup import TermIndex
from tools.registry import Registry, Tool, ToolContext
from tools.rules.load import RuleSet, rule_set
from tools.spans import chart_view

log = logging.getLogger(__name__)

_FAILURE_DETAIL = {
    "llm_unavailable": "the model endpoint did not answer ({cause}); the codes are the offline "
    "reasoner's",
    "llm_invalid_output": "the model's answer could not be used ({cause}); the codes are the "
    "offline reasoner's",
}


class LlmReasoner:
    """Codes a chart with a model on top of the offline reasoner's draft."""

    def __init__(
        self,
        settings: Settings,
        rules: RuleSet | None = None,
        index: TermIndex | None = None,
        extra_tools: tuple[Tool, ...] = (),
    ) -> None:
        self.settings = settings
        self.endpoint = ChatEndpoint(settings)
        self.offline = OfflineReasoner(rules)
        self._rules = rules
        self._index = index
        self.registry = Registry(extra_tools)
        self.system = load_prompt("system")
        self.coding = load_prompt("coding")

    @property
    def name(self) -> str:
        return f"llm:{self.endpoint.model}"

    @property
    def prompt_hashes(self) -> dict[str, str]:
        """Recorded in every run's versions and its first audit event (`prompt:<name>`)."""
        return {"system": self.system.sha256, "coding": self.coding.sha256}

    @property
    def rules(self) -> RuleSet:
        return self._rules or rule_set()

    @property
    def index(self) -> TermIndex:
        if self._index is None:
            self._index = TermIndex.load_or_build(self.settings.cache_dir)
        return self._index

    def decide(self, request: DecisionRequest) -> DecisionResult:
        rules = self.rules
        # The draft as the offline reasoner would deliver it: shown to the model, and the
        # chart's codes whenever the model fails.
        draft = delivery.guard(request, self.offline.decide(request), rules)
        activity = ReasonerActivity(model=self.endpoint.model)
        if request.chart is None:
            return draft
        view = chart_view(request.chart)
        block = DataBlock()
        payload = {"spans": spans_payload(view), "draft": draft_payload(request, draft, view)}
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self.system.text},
            {
                "role": "user",
                "content": self.coding.render(
                    setting=request.setting, data_block=block.render(payload)
                ),
            },
        ]
        conversation = Conversation(
            endpoint=self.endpoint,
            registry=self.registry,
            tools=ToolContext(
                chart=request.chart,
                view=view,
                index=self.index,
                rules=rules,
                setting=request.setting,
            ),
            max_tool_calls=self.settings.llm_max_tool_calls,
            budget_s=self.settings.llm_chart_budget_s,
            wrap_data=block.wrap,
        )
        try:
            answer = conversation.answer(messages, CodingAnswer, activity)
        except ModelFailure as failure:
            activity.failure = failure.reason
            activity.failure_type = failure.cause
            escalation = Escalation(
                reason=failure.reason,
                detail=_FAILURE_DETAIL[failure.reason].format(cause=failure.cause),
            )
            return draft.model_copy(
                update={"escalations": [*draft.escalations, escalation], "activity": activity}
            )
        checked = check_answer(answer, request, draft, view, rules)
        activity.dropped = checked.dropped
        return DecisionResult(
            decisions=merge(draft, checked.decisions),
            rejections=draft.rejections,
            escalations=draft.escalations,
            activity=activity,
        )
