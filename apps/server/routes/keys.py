"""API keys (admins): create (the key is in the answer, once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from apps.actors import ActorId, OrgId, Role
from apps.server.auth import KeyAdmin, ServiceDep
from store.api_keys import ApiKeyRecord

router = APIRouter(prefix="/v1/apikeys", tags=["api keys"])


class KeyRequest(BaseModel):
    model_config = {"extra": "forbid"}

    name: ActorId
    role: Role
    org: OrgId | None = Field(default=None, description="default: your own organisation")


class NewKey(BaseModel):
    key: ApiKeyRecord
    token: str = Field(description="the key itself: shown once, store it now")


class KeyList(BaseModel):
    keys: list[ApiKeyRecord]


@router.post("", response_model=NewKey, status_code=201)
def create_key(body: KeyRequest, actor: KeyAdmin, service: ServiceDep) -> NewKey:
    record, token = service.create_api_key(actor, body.name, body.role, body.org)
    return NewKey(key=record, token=token)


@router.get("", response_model=KeyList)
def list_keys(actor: KeyAdmin, service: ServiceDep) -> KeyList:
    return KeyList(keys=service.api_keys(actor))


@router.delete("/{key_id}", response_model=ApiKeyRecord)
def revoke_key(key_id: str, actor: KeyAdmin, service: ServiceDep) -> ApiKeyRecord:
    return service.revoke_api_key(actor, key_id)
