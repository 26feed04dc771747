"""What every command runs on: the service facade and the person at the command line as its actor."""

from __future__ import annotations

from apps.actors import Actor, cli_actor
from apps.service import Service
from core.settings import Settings


def open_service(settings: Settings | None = None) -> tuple[Service, Actor]:
    settings = settings or Settings()
    return Service(settings), cli_actor(settings)
