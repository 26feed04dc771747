"""Operational counters for Prometheus: charts coded by route, coding latency, review decisions,
model (reasoner) calls and failures, errors by kind. Served at `/metrics` with a scrape token.

Counters live in the process (one `Service`, one registry). Without `prometheus_client` (the
server extra) every method is a no-op, so the command line never pays for it. Labels are routes,
outcomes and error class names: never ids, codes or text.
"""

from __future__ import annotations

from typing import Any


class Telemetry:
    def __init__(self) -> None:
        try:
            import prometheus_client as prom
        except ImportError:
            self._prom: Any = None
            return
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        self._charts = prom.Counter(
            "codesense_charts_coded", "Charts coded, by route", ["route"], registry=self.registry
        )
        self._latency = prom.Histogram(
            "codesense_coding_seconds",
            "Time to code one chart through the facade (graph, storage, audit)",
            buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self._decisions = prom.Counter(
            "codesense_review_decisions",
            "Codes decided in review, by decision",
            ["decision"],
            registry=self.registry,
        )
        self._model_calls = prom.Counter(
            "codesense_model_calls", "Reasoner calls, by result", ["result"], registry=self.registry
        )
        self._errors = prom.Counter(
            "codesense_errors",
            "Refused or failed requests, by kind",
            ["kind"],
            registry=self.registry,
        )

    @property
    def enabled(self) -> bool:
        return self._prom is not None

    def coded(self, route: str, seconds: float) -> None:
        if self._prom:
            self._charts.labels(route=route).inc()
            self._latency.observe(seconds)

    def reviewed(self, accepted: int, rejected: int, added: int) -> None:
        if self._prom:
            for decision, n in (("accepted", accepted), ("rejected", rejected), ("added", added)):
                if n:
                    self._decisions.labels(decision=decision).inc(n)

    def model_calls(self, ok: int, failed: int) -> None:
        if self._prom:
            if ok:
                self._model_calls.labels(result="ok").inc(ok)
            if failed:
                self._model_calls.labels(result="error").inc(failed)

    def error(self, kind: str) -> None:
        if self._prom:
            self._errors.labels(kind=kind[:64]).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text format Prometheus scrapes, and its content type."""
        if not self._prom:
            return b"", "text/plain"
        data: bytes = self._prom.generate_latest(self.registry)
        return data, str(self._prom.CONTENT_TYPE_LATEST)
