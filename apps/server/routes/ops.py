"""`/metrics` for Prometheus: operational counters, behind the scrape token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from apps.server.auth import ServiceDep

router = APIRouter(tags=["operations"])


def metrics_scraper(request: Request, service: ServiceDep) -> None:
    """Admit only `Authorization: Bearer <CODESENSE_METRICS_TOKEN>` (401 otherwise)."""
    token = service.settings.metrics_token
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if token is None or not given or not hmac.compare_digest(given, token.get_secret_value()):
        raise HTTPException(
            401,
            "missing or wrong scrape token (CODESENSE_METRICS_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.get("/metrics", include_in_schema=False)
def prometheus(_: Annotated[None, Depends(metrics_scraper)], service: ServiceDep) -> Response:
    data, content_type = service.telemetry.exposition()
    return Response(data, media_type=content_type)
