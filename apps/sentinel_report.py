"""Audit Sentinel reports for people: one chart's findings in the terminal, and a batch of charts
as Markdown and HTML (`codesense audit-codes --batch`). Codes, findings and the quoted evidence
of each finding; the HTML is escaped by Jinja2 (chart text is data, never markup)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from jinja2 import Environment, select_autoescape
from rich.console import Console

from core.contract import AuditReport, Finding, FindingKind

SEVERITY_STYLE = {"high": "red", "medium": "yellow", "low": "cyan"}
KIND_TITLES: dict[FindingKind, str] = {
    "unsupported": "Unsupported by the documentation",
    "missed": "Documented but not assigned",
    "specificity": "A more specific code is supported",
    "conflict": "Excludes1 conflict",
    "combination": "Must be a combination code",
    "incomplete": "Not billable / 7th character missing",
    "sequencing": "Sequencing",
    "hcc_meat": "HCC without MEAT evidence",
}


@dataclass
class BatchRow:
    """One manifest row's outcome: its report, or the one-line reason it failed."""

    line: int
    path: str
    codes: str
    report: AuditReport | None = None
    error: str | None = None


def render_findings(report: AuditReport, label: str, console: Console | None = None) -> None:
    console = console or Console(soft_wrap=False)
    console.print(
        f"[bold]{label}[/bold]  audit {report.run_id}  {report.setting}  "
        f"risk {report.risk:.2f}  assigned: {' '.join(a.code for a in report.assigned)}"
    )
    if not report.findings:
        console.print("  [green]no findings[/green]: the assigned codes match the documentation")
        return
    for f in report.findings:
        style = SEVERITY_STYLE[f.severity]
        console.print(
            f"  [{style}]{f.severity:<6}[/{style}] [bold]{f.kind:<12}[/bold] {_code_cell(f)}",
            highlight=False,
        )
        console.print(f"      {f.message}", highlight=False)
        for e in f.evidence[:3]:
            console.print(
                f'      evidence: "{_flat(e.quote)}" ({e.section.replace("_", " ")}, p.{e.page})',
                highlight=False,
            )
        for r in f.rules[:3]:
            console.print(f"      rule: {r.id} ({r.citation})", highlight=False)


def batch_markdown(rows: list[BatchRow], title: str = "Audit Sentinel batch report") -> str:
    done = [r for r in rows if r.report is not None]
    failed = [r for r in rows if r.report is None]
    kinds = Counter(f.kind for r in done if r.report for f in r.report.findings)
    lines = [
        f"# {title}",
        "",
        f"Charts audited: {len(done)}; failed rows: {len(failed)}; findings: "
        f"{sum(kinds.values())}.",
        "",
    ]
    if kinds:
        lines += ["| Finding kind | Count |", "|---|---|"]
        lines += [f"| {k} | {n} |" for k, n in kinds.most_common()]
        lines.append("")
    for row in sorted(done, key=lambda r: -(r.report.risk if r.report else 0)):
        report = row.report
        assert report is not None
        lines += [
            f"## {_md(row.path)}",
            "",
            f"Audit `{report.run_id}`, {report.setting}, risk **{report.risk:.2f}**; assigned "
            f"{', '.join(a.code for a in report.assigned)}; the documentation supports "
            f"{', '.join(report.supported_codes) or 'no code'}.",
            "",
        ]
        if not report.findings:
            lines += ["No findings.", ""]
            continue
        lines += [
            "| Kind | Severity | Code | Finding | Evidence | Rules |",
            "|---|---|---|---|---|---|",
        ]
        for f in report.findings:
            lines.append(
                f"| {f.kind} | {f.severity} | {_md(_code_cell(f))} | {_md(f.message)} | "
                f"{_md('; '.join(repr(_flat(e.quote)) for e in f.evidence[:3]))} | "
                f"{_md('; '.join(f'{r.id}: {r.citation}' for r in f.rules))} |"
            )
        lines.append("")
    if failed:
        lines += ["## Rows that could not be audited", ""]
        lines += [f"- line {r.line} ({_md(r.path)}): {_md(r.error or '')}" for r in failed]
        lines.append("")
    return "\n".join(lines)


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .5em;
vertical-align:top;text-align:left}.high{color:#b00020;font-weight:600}.medium{color:#a06000}
.low{color:#00607a}q{background:#fff3a0}
</style></head><body>
<h1>{{ title }}</h1>
<p>Charts audited: {{ done|length }}; failed rows: {{ failed|length }};
findings: {{ total }}.</p>
{% if kinds %}<table><tr><th>Finding kind</th><th>Count</th></tr>
{% for k, n in kinds %}<tr><td>{{ titles[k] }} ({{ k }})</td><td>{{ n }}</td></tr>{% endfor %}
</table>{% endif %}
{% for row in done %}{% set r = row.report %}
<h2>{{ row.path }}</h2>
<p>Audit <code>{{ r.run_id }}</code>, {{ r.setting }}, risk <b>{{ '%.2f'|format(r.risk) }}</b>;
assigned {{ r.assigned|map(attribute='code')|join(', ') }}; the documentation supports
{{ r.supported_codes|join(', ') or 'no code' }}.</p>
{% if r.findings %}<table><tr><th>Kind</th><th>Severity</th><th>Code</th><th>Finding</th>
<th>Evidence</th><th>Rules</th></tr>
{% for f in r.findings %}<tr><td>{{ f.kind }}</td><td class="{{ f.severity }}">{{ f.severity }}</td>
<td>{{ f.code }}{% if f.suggested %} &rarr; {{ f.suggested|join(', ') }}{% endif %}</td>
<td>{{ f.message }}</td>
<td>{% for e in f.evidence[:3] %}<q>{{ e.quote }}</q> ({{ e.section }}, p.{{ e.page }})<br>{% endfor %}</td>
<td>{% for x in f.rules %}<code>{{ x.id }}</code>: {{ x.citation }}<br>{% endfor %}</td></tr>
{% endfor %}</table>{% else %}<p>No findings.</p>{% endif %}
{% endfor %}
{% if failed %}<h2>Rows that could not be audited</h2><ul>
{% for row in failed %}<li>line {{ row.line }} ({{ row.path }}): {{ row.error }}</li>{% endfor %}
</ul>{% endif %}
</body></html>
"""
_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def batch_html(rows: list[BatchRow], title: str = "Audit Sentinel batch report") -> str:
    done = sorted(
        (r for r in rows if r.report is not None),
        key=lambda r: -(r.report.risk if r.report else 0),
    )
    failed = [r for r in rows if r.report is None]
    kinds = Counter(f.kind for r in done if r.report for f in r.report.findings)
    return _env.from_string(_HTML).render(
        title=title,
        done=done,
        failed=failed,
        kinds=kinds.most_common(),
        total=sum(kinds.values()),
        titles=KIND_TITLES,
    )


def _code_cell(f: Finding) -> str:
    return f.code + (f" -> {', '.join(f.suggested)}" if f.suggested else "")


def _flat(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _md(text: str) -> str:
    """A table cell: pipes escaped, one line."""
    return " ".join(text.split()).replace("|", "\\|")
