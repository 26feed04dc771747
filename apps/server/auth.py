"""Who is calling: an API key in `Authorization: Bearer`, or (web pages) a signed session cookie.

Missing, malformed, unknown or revoked key: 401. Known key whose role may not do this: 403 (the
one role matrix of `apps/actors.py`). The session cookie is made by the login form from a key:
it holds the key's id, an expiry and a CSRF token, signed with a key derived from the data
directory's secret; every request checks the key is still active, so revoking a key ends its
sessions. Cookies are HttpOnly and SameSite=Strict; forms carry the CSRF token as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Annotated

import orjson
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from apps.actors import Actor, Permission
from apps.service import Service

SESSION_COOKIE = "codesense_session"
SESSION_SECONDS = 8 * 3600

# auto_error=False: we answer 401 ourselves, with one line and WWW-Authenticate.
_bearer = HTTPBearer(auto_error=False, description="An API key: `codesense apikey create`")


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def api_actor(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor of an API request: a valid, active API key, else 401."""
    if credentials is None:
        raise _unauthorized("missing API key (Authorization: Bearer <key>)")
    actor = service.authenticate(credentials.credentials, via="api")
    if actor is None:
        raise _unauthorized("unknown or revoked API key")
    return actor


class Allowed:
    """A dependency that admits only actors whose role has `permission` (else 403)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, actor: Annotated[Actor, Depends(api_actor)]) -> Actor:
        if not actor.can(self.permission):
            raise HTTPException(
                403, f"role {actor.role} may not {self.permission.replace('_', ' ')}"
            )
        return actor


# The actors each API route admits, named for what they may do.
CodingActor = Annotated[Actor, Depends(Allowed("code"))]
RunReader = Annotated[Actor, Depends(Allowed("read_runs"))]
TraceReader = Annotated[Actor, Depends(Allowed("trace"))]
Reviewer = Annotated[Actor, Depends(Allowed("review"))]
SentinelUser = Annotated[Actor, Depends(Allowed("audit_codes"))]
AuditLogReader = Annotated[Actor, Depends(Allowed("audit_log"))]
RuleReader = Annotated[Actor, Depends(Allowed("rules"))]
KeyAdmin = Annotated[Actor, Depends(Allowed("manage_keys"))]


# -- web sessions ---------------------------------------------------------------------------


class WebSession(BaseModel):
    key_id: str
    expires: int
    csrf: str


def _mac(service: Service, payload: bytes) -> str:
    key = service.records.keys.sessions
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode()


def make_session(service: Service, key_id: str) -> tuple[str, WebSession]:
    session = WebSession(
        key_id=key_id, expires=int(time.time()) + SESSION_SECONDS, csrf=secrets.token_urlsafe(24)
    )
    payload = base64.urlsafe_b64encode(orjson.dumps(session.model_dump())).decode()
    return f"{payload}.{_mac(service, payload.encode())}", session


def read_session(service: Service, cookie: str | None) -> WebSession | None:
    if not cookie or cookie.count(".") != 1:
        return None
    payload, mac = cookie.split(".")
    if not hmac.compare_digest(_mac(service, payload.encode()), mac):
        return None
    try:
        session = WebSession.model_validate(orjson.loads(base64.urlsafe_b64decode(payload)))
    except (ValueError, ValidationError):
        return None
    return session if session.expires > time.time() else None


class PageVisitor(BaseModel):
    """Who is looking at a page, and the CSRF token their forms must carry (None for Bearer)."""

    actor: Actor
    csrf: str | None = None


def page_visitor(request: Request, service: ServiceDep) -> PageVisitor | None:
    """The visitor of a web page: a Bearer key or a session cookie; None when signed out."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = service.authenticate(header[7:].strip(), via="web")
        return PageVisitor(actor=actor) if actor else None
    session = read_session(service, request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    actor = service.actor_for_key(session.key_id, via="web")
    return PageVisitor(actor=actor, csrf=session.csrf) if actor else None


def check_csrf(visitor: PageVisitor, token: str | None) -> None:
    """A form posted from a session must carry the session's CSRF token."""
    if visitor.csrf is not None and not (token and hmac.compare_digest(token, visitor.csrf)):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
