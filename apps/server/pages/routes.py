"""The auditor's web pages: sign-in, the worklist, a run side by side with its chart (and the
review form), an Audit Sentinel report beside its chart, the audit chain's status. Server-rendered with Jinja2; a little plain script for
choosing evidence by selecting chart text, nothing to build.

Pages take the same API key as the API (Bearer) or a session cookie from the sign-in form; a
signed-out visitor is sent to the sign-in page, a role that may not see a page gets 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from agent.review import AddRequest, ReviewError, ReviewRequest, SpanRequest
from apps.actors import Permission
from apps.chart_view import Highlight, document_html, visible_text
from apps.sentinel_report import KIND_TITLES
from apps.server.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    PageVisitor,
    ServiceDep,
    check_csrf,
    make_session,
    page_visitor,
)
from apps.trace import Trace
from apps.trace_html import trace_html
from core.contract import Finding, Route
from store.runs import RUN_STATUSES, ReviewConflict, RunKind, RunStatus
from tools.rules import rule_set

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
# Chart text outside the chart panel (quotes, mentions) shows control characters visibly too.
TEMPLATES.env.filters["shown"] = visible_text
router = APIRouter(include_in_schema=False)

Visitor = Annotated[PageVisitor | None, Depends(page_visitor)]
# Filters a worklist link may carry; anything else is ignored.
_ROUTES: dict[str, Route] = {r: r for r in get_args(Route)}
_STATUSES: dict[str, RunStatus] = {s: s for s in RUN_STATUSES}
_KINDS: dict[str, RunKind] = {k: k for k in get_args(RunKind)}


def _require(request: Request, visitor: PageVisitor | None, permission: Permission) -> PageVisitor:
    if visitor is None:
        raise HTTPException(
            303, "sign in first", headers={"Location": f"/login?next={quote(request.url.path)}"}
        )
    if not visitor.actor.can(permission):
        raise HTTPException(403, f"role {visitor.actor.role} may not see this page")
    return visitor


def _page(
    request: Request,
    name: str,
    visitor: PageVisitor | None,
    http_status: int = 200,
    **context: Any,
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {"visitor": visitor, "csrf": visitor.csrf if visitor else None, **context},
        status_code=http_status,
    )


# -- signing in and out ----------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _page(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    service: ServiceDep,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=400)] = "/",
) -> Response:
    actor = service.authenticate(key, via="web")
    if actor is None:
        return _page(
            request,
            "login.html",
            None,
            http_status=401,
            next=_safe_next(next),
            error="That key is unknown or revoked.",
        )
    key_id = key.strip().split("_")[1]
    cookie, _ = make_session(service, key_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(visitor: Visitor, csrf: Annotated[str | None, Form()] = None) -> Response:
    if visitor is not None:
        check_csrf(visitor, csrf)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _safe_next(target: str) -> str:
    """Only a path on this site: no scheme, no host, no `//evil.example`."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- the worklist ------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def worklist(
    request: Request,
    visitor: Visitor,
    service: ServiceDep,
    route: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> HTMLResponse:
    visitor = _require(request, visitor, "read_runs")
    wanted_route = _ROUTES.get(route or "")
    wanted_status = _STATUSES.get(status or "")
    wanted_kind = _KINDS.get(kind or "")
    runs = service.runs(
        visitor.actor,
        status=wanted_status,
        route=wanted_route,
        kind=wanted_kind,
        limit=200,
        surface="web",
    )
    return _page(
        request,
        "worklist.html",
        visitor,
        runs=runs,
        counts=service.route_counts(visitor.actor),
        route=wanted_route,
        status=wanted_status,
        kind=wanted_kind,
        statuses=RUN_STATUSES,
    )


# -- a run beside its chart --------------------------------------------------------------------


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, run_id: str, visitor: Visitor, service: ServiceDep, error: str | None = None
) -> HTMLResponse:
    visitor = _require(request, visitor, "trace")
    view = service.trace(visitor.actor, run_id, surface="web")
    result = service.run(visitor.actor, run_id, surface="web").result
    trace, chart = view.trace, view.chart
    highlights = _highlights(trace)
    documents = [
        {"doc": doc, "html": Markup(document_html(doc, highlights))}
        for doc in (chart.documents if chart else [])
    ]
    citations = _citations(trace)
    return _page(
        request,
        "run.html",
        visitor,
        trace=trace,
        result=result,
        documents=documents,
        citations=citations,
        can_review=visitor.actor.can("review") and trace.run.status == "awaiting_review",
        is_pdf=bool(chart and any(d.kind == "pdf" for d in chart.documents)),
        error=error,
    )


@router.post("/runs/{run_id}/review")
async def review_form(
    request: Request, run_id: str, visitor: Visitor, service: ServiceDep
) -> Response:
    visitor = _require(request, visitor, "review")
    form = await request.form(max_fields=2000)
    check_csrf(visitor, _str(form.get("csrf")))
    accept: list[str] = []
    reject: list[str] = []
    for name, value in form.multi_items():
        if name.startswith("decision:") and value in ("accept", "reject"):
            (accept if value == "accept" else reject).append(name.removeprefix("decision:"))
    add: list[AddRequest] = []
    code = _str(form.get("add_code")).strip()
    if code:
        spans = []
        start, end = _str(form.get("add_start")), _str(form.get("add_end"))
        if start.isdigit() and end.isdigit():
            spans.append(
                SpanRequest(
                    doc_id=_str(form.get("add_doc")) or None, start=int(start), end=int(end)
                )
            )
        add.append(AddRequest(code=code, spans=spans))
    request_model = ReviewRequest(
        reviewer=visitor.actor.id,
        accept=accept,
        reject=reject,
        add=add,
        reason=_str(form.get("reason"))[:4000],
    )
    try:
        await run_in_threadpool(service.review, visitor.actor, run_id, request_model)
    except (ReviewError, ReviewConflict) as err:
        # The decision could not be applied: back to the form, saying why.
        return RedirectResponse(
            f"/runs/{quote(run_id)}?error={quote(str(err)[:300])}#review", status_code=303
        )
    return RedirectResponse(f"/runs/{quote(run_id)}#review", status_code=303)


@router.get("/runs/{run_id}/trace.html", response_class=HTMLResponse)
def trace_page(
    request: Request, run_id: str, visitor: Visitor, service: ServiceDep
) -> HTMLResponse:
    visitor = _require(request, visitor, "trace")
    view = service.trace(visitor.actor, run_id, surface="web")
    return HTMLResponse(trace_html(view.trace, view.chart))


@router.get("/runs/{run_id}/annotated.pdf")
async def annotated_page(
    request: Request, run_id: str, visitor: Visitor, service: ServiceDep
) -> Response:
    visitor = _require(request, visitor, "trace")
    pdf = await run_in_threadpool(service.annotated_pdf, visitor.actor, run_id)
    return Response(pdf, media_type="application/pdf")


# -- an Audit Sentinel report ---------------------------------------------------------------


@router.get("/audits/{run_id}", response_class=HTMLResponse)
def sentinel_page(
    request: Request, run_id: str, visitor: Visitor, service: ServiceDep
) -> HTMLResponse:
    """Findings grouped by kind with their severity and rules; each finding's evidence quoted
    and highlighted in the chart beside it."""
    visitor = _require(request, visitor, "audit_codes")
    report = service.audit_report(visitor.actor, run_id, surface="web")
    chart = service.audit_chart_of(visitor.actor, run_id)
    marks: list[Highlight] = []
    groups: dict[str, list[tuple[int, Finding]]] = {}
    for n, finding in enumerate(report.findings):
        groups.setdefault(finding.kind, []).append((n, finding))
        for k, e in enumerate(finding.evidence):
            css = "rejected" if finding.kind == "unsupported" else "evidence"
            marks.append(Highlight(e.doc_id, e.start, e.end, f"f-{n}-{k}", css, finding.code))
    documents = [
        {"doc": doc, "html": Markup(document_html(doc, marks))}
        for doc in (chart.documents if chart else [])
    ]
    return _page(
        request,
        "sentinel.html",
        visitor,
        report=report,
        groups=[(kind, KIND_TITLES[kind], groups[kind]) for kind in KIND_TITLES if kind in groups],
        documents=documents,
    )


# -- the audit chain ---------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_status(request: Request, visitor: Visitor, service: ServiceDep) -> HTMLResponse:
    visitor = _require(request, visitor, "audit_log")
    report = service.verify_audit(visitor.actor)
    head_first = max(1, report.last - 49)
    events = service.audit_events(visitor.actor, first=head_first, limit=50)
    return _page(request, "audit.html", visitor, report=report, events=list(reversed(events)))


# -- helpers -------------------------------------------------------------------------------------


def _highlights(trace: Trace) -> list[Highlight]:
    marks: list[Highlight] = []
    for number, code in enumerate(trace.codes):
        css = "rejected" if code.review == "rejected" else "evidence"
        for k, e in enumerate(code.evidence):
            marks.append(Highlight(e.doc_id, e.start, e.end, f"ev-{number}-{k}", css, code.code))
    for r, review in enumerate(trace.reviews):
        for a, added in enumerate(review.added):
            for k, e in enumerate(added.evidence):
                marks.append(
                    Highlight(e.doc_id, e.start, e.end, f"add-{r}-{a}-{k}", "added", added.code)
                )
    return marks


def _citations(trace: Trace) -> dict[str, str]:
    """Rule id -> its citation ("Section I.C.9.a.2"), for every rule a code went through."""
    rules = rule_set()
    out: dict[str, str] = {}
    for code in trace.codes:
        for rule_id in [*code.guideline_rules, *(r.id for r in code.rules)]:
            rule = rules.get(rule_id)
            if rule is not None:
                out[rule_id] = rule.citation
    return out


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
