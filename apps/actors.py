"""Who is calling the service, and what each role may do: the one role matrix every surface uses.

An `Actor` is a person or system with an id, a role and an organisation. The command line acts as
the local operator (role `admin`, org from `CODESENSE_ORG`); the HTTP API and the web pages act as
the API key presented; Slack as the Slack user, mapped to a role. A run belongs to the org that
made it; another org's runs do not exist for the caller (404, not 403).
"""

from __future__ import annotations

import getpass
import re
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints

from core.errors import Forbidden
from core.settings import Settings

Role = Literal["coder", "auditor", "integration", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
Surface = Literal["cli", "api", "web", "slack"]
ActorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]
OrgId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,47}$")]

Permission = Literal[
    "code",  # code a chart (text, file, FHIR)
    "read_runs",  # list runs, read one run's output
    "trace",  # the justification trace and the auditor's run page
    "review",  # accept, reject or add codes on a paused run
    "audit_codes",  # Audit Sentinel: check codes already assigned
    "audit_log",  # verify the audit chain, list its events
    "rules",  # look up guideline rules
    "manage_keys",  # create, list and revoke API keys
    "report_outcome",  # record what happened to a run's claim (billing systems)
    "metrics",  # the leaders' figures, the dashboard and the education feedback
]

_ALL: frozenset[Role] = frozenset(ROLES)
GRANTS: dict[Permission, frozenset[Role]] = {
    "code": frozenset({"coder", "integration", "admin"}),
    "read_runs": _ALL,
    "trace": frozenset({"coder", "auditor", "admin"}),
    "review": frozenset({"coder", "auditor", "admin"}),
    "audit_codes": _ALL,
    "audit_log": frozenset({"auditor", "admin"}),
    "rules": _ALL,
    "manage_keys": frozenset({"admin"}),
    "report_outcome": frozenset({"integration", "admin"}),
    "metrics": frozenset({"auditor", "admin"}),
}

# How each surface's actors are named in the audit log ("apikey:billing-sync").
_AUDIT_PREFIX: dict[Surface, str] = {
    "cli": "user",
    "api": "apikey",
    "web": "apikey",
    "slack": "slack",
}
_SAFE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: ActorId
    role: Role
    org: OrgId = "default"
    via: Surface = "cli"

    @property
    def audit_id(self) -> str:
        return f"{_AUDIT_PREFIX[self.via]}:{self.id}"

    def can(self, permission: Permission) -> bool:
        return self.role in GRANTS[permission]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"role {self.role} may not {permission.replace('_', ' ')}")


def cli_actor(settings: Settings) -> Actor:
    """The person at the command line: `CODESENSE_ACTOR` or the OS login, as the local admin."""
    name = settings.actor if settings.actor is not None else _os_user()
    return Actor(
        id=name if name and _SAFE.match(name) else "operator",
        role="admin",
        org=settings.org,
        via="cli",
    )


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
