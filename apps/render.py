"""Readable terminal output of a coding result: codes with their evidence, then what was not coded."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from core.contract import ChartResult

_ROUTE_STYLE = {"auto": "green", "review": "yellow", "escalate": "red"}


def render_table(result: ChartResult, label: str, console: Console | None = None) -> None:
    console = console or Console(soft_wrap=False)
    style = _ROUTE_STYLE[result.route]
    console.print(
        f"[bold]{label}[/bold]  chart {result.chart_id}  run {result.run_id}  "
        f"{result.setting}  route: [{style}]{result.route}[/{style}]"
    )
    for esc in result.escalations:
        console.print(f"  [red]![/red] {esc.reason}: {esc.detail}")
    table = Table(show_lines=False, expand=False, pad_edge=False)
    table.add_column("Code", no_wrap=True)
    table.add_column("Description", max_width=44)
    table.add_column("Role", no_wrap=True)
    table.add_column("Conf", justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Evidence (section, page)", max_width=52)
    for s in result.suggestions:
        first = s.evidence[0]
        quote = " ".join(first.quote.split())
        more = f" (+{len(s.evidence) - 1} more)" if len(s.evidence) > 1 else ""
        warn = "".join(" !" for r in s.rules if r.result != "pass")
        st = _ROUTE_STYLE[s.status]
        table.add_row(
            s.code,
            s.description,
            s.role,
            f"{s.confidence:.2f}",
            f"[{st}]{s.status}[/{st}]{warn}",
            f'"{quote}" ({first.section.replace("_", " ")}, p.{first.page}){more}',
        )
    if result.suggestions:
        console.print(table)
    # A mention a code cites was coded, whatever its assertion (an inpatient "probable" is coded
    # as if established, Section II.H), and so was an uncertain one whose reading is coded on
    # other words ("for probable pneumonia" beside a coded J18.9); the rest that are not present
    # are listed with why (a negated mention of a coded condition stays: the chart disagrees).
    spans = {(e.doc_id, e.start, e.end) for s in result.suggestions for e in s.evidence}
    codes = {s.code for s in result.suggestions}
    skipped = [
        m
        for m in result.mentions
        if m.assertion != "present"
        and (m.doc_id, m.start, m.end) not in spans
        and not (m.assertion == "possible" and codes.intersection(m.codes))
    ]
    if skipped:
        console.print("  Not coded:")
        for m in skipped:
            text = " ".join(m.text.split())
            console.print(f'    "{text}" - {m.assertion} ({m.section.replace("_", " ")})')
    if result.drg is not None:
        console.print(
            f"  {result.drg.grouper}: DRG {result.drg.drg} {result.drg.description} "
            f"(MDC {result.drg.mdc}, {result.drg.severity})"
        )
    for q in result.queries:
        cited = "; ".join(f'"{" ".join(e.quote.split())}"' for e in q.evidence[:4])
        console.print(f"  [cyan]Query[/cyan] ({q.topic}): {q.question}")
        console.print(f"    options: {' | '.join(q.options)}")
        console.print(f"    indicators: {cited}")
    console.print(
        f"  code set {result.code_set}  rules {result.rules_version[:19]}  "
        f"reasoner {result.reasoner}\n"
    )
