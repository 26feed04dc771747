"""`GET /v1/rules`: which guideline rules apply to a code, a situation in words, or both."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from apps.server.auth import RuleReader, ServiceDep
from core.contract import Setting
from tools.rule_lookup import RuleLookupInput, RuleLookupOutput

router = APIRouter(prefix="/v1", tags=["rules"])


@router.get("/rules", response_model=RuleLookupOutput)
def rules(
    actor: RuleReader,
    service: ServiceDep,
    code: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=400)] = None,
    setting: Setting | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 10,
) -> RuleLookupOutput:
    request = RuleLookupInput(query=q, code=code, setting=setting, limit=limit)
    return service.lookup_rules(actor, request)
