"""Coding without storage: the compiled graph and its context, for evals, benchmarks, rule
examples and tests that need codes but no run, audit trail or review pause."""

from __future__ import annotations

from typing import Any

from agent.context import CodingContext
from agent.graph import build_graph
from agent.state import CodingInput
from core.contract import ChartResult, Setting
from core.settings import Settings
from tools.chart import Chart
from tools.extract import text_document


class Coder:
    """One loaded term index and one compiled graph (no pause, no checkpointer, nothing stored)."""

    def __init__(self, context: CodingContext | None = None, settings: Settings | None = None):
        self.context = context or CodingContext.create(settings)
        self.graph: Any = build_graph(human_review=False).compile()

    def run(self, chart: Chart, setting: Setting, run_id: str | None = None) -> dict[str, Any]:
        """The graph's whole final state (mentions, candidates, drafts, result)."""
        state: dict[str, Any] = self.graph.invoke(
            CodingInput(
                chart_id=chart.chart_id,
                run_id=run_id or f"local-{chart.chart_id}",
                setting=setting,
                chart=chart,
            ),
            context=self.context,
        )
        return state

    def code(self, chart: Chart, setting: Setting) -> ChartResult:
        return ChartResult.model_validate(self.run(chart, setting)["result"])

    def code_text(self, text: str, setting: Setting, chart_id: str = "note") -> ChartResult:
        chart = Chart(chart_id=chart_id, documents=[text_document(text, "d1")])
        return self.code(chart, setting)
