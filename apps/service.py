"""The one service layer every surface calls: code charts and return contract objects."""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path
from typing import Any

from agent.context import CodingContext
from agent.graph import build_graph
from agent.schema import ChartResult, Setting
from agent.settings import Settings
from agent.state import CodingInput
from tools.chart import Chart

log = logging.getLogger(__name__)


def new_run_id() -> str:
    return "run-" + uuid.uuid4().hex[:16]


def chart_id_for(path: Path) -> str:
    """A stable id from the file's bytes, so no patient name in a file name leaks into ids."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "chart-" + h.hexdigest()[:12]


class CodingService:
    """Holds the loaded term index and the compiled graph; safe to reuse for many charts."""

    def __init__(self, settings: Settings | None = None, context: CodingContext | None = None):
        self.settings = settings or Settings()
        self.context = context or CodingContext.create(self.settings)
        self.graph: Any = build_graph().compile()

    def code_file(self, path: str | Path, setting: Setting | None = None) -> ChartResult:
        source = Path(path)
        chart_id = chart_id_for(source) if source.is_file() else "chart-unknown"
        return self._run(
            CodingInput(
                chart_id=chart_id,
                run_id=new_run_id(),
                setting=setting or self.settings.setting,
                sources=[str(source)],
            )
        )

    def code_chart(self, chart: Chart, setting: Setting | None = None) -> ChartResult:
        return self._run(
            CodingInput(
                chart_id=chart.chart_id,
                run_id=new_run_id(),
                setting=setting or self.settings.setting,
                chart=chart,
            )
        )

    def _run(self, inp: CodingInput) -> ChartResult:
        state = self.graph.invoke(inp, context=self.context)
        result = state["result"]
        log.info(
            "coded chart=%s run=%s route=%s codes=%d",
            result.chart_id,
            result.run_id,
            result.route,
            len(result.suggestions),
        )
        return ChartResult.model_validate(result)
