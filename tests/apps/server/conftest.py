"""One app per test module over a service with the session's term index, and an API key per role
and organisation; a real uvicorn server on 127.0.0.1 for tests that need concurrency or a browser.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from apps.actors import ROLES
from tests.conftest import ADMIN


@dataclass
class Keys:
    """Bearer headers per role, for organisation `north`, and one admin of `south`."""

    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_service(folder, term_index, **settings):
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from apps.service import Service
    from core.settings import Settings

    config = Settings(data_dir=folder, **settings)
    return Service(config, CodingContext(config, term_index, OfflineReasoner(), rules_version()))


@pytest.fixture(scope="module")
def service(tmp_path_factory, term_index):
    # Both thresholds at 1.0: every chart waits for review, so review routes have work.
    return make_service(
        tmp_path_factory.mktemp("server"), term_index, auto_threshold=1.0, review_threshold=1.0
    )


@pytest.fixture(scope="module")
def keys(service) -> Keys:
    tokens = {}
    for role in ROLES:
        _, tokens[role] = service.create_api_key(ADMIN, f"{role}.north", role, org="north")
    _, tokens["south"] = service.create_api_key(ADMIN, "admin.south", "admin", org="south")
    return Keys(tokens)


@pytest.fixture(scope="module")
def app(service):
    from apps.server import create_app

    return create_app(service)


@pytest.fixture(scope="module")
def client(app) -> Iterator:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@dataclass
class LiveServer:
    url: str
    server: object


@pytest.fixture(scope="module")
def live(app) -> Iterator[LiveServer]:
    """The app on a real uvicorn server on 127.0.0.1 (an ephemeral port), stopped afterwards."""
    with serve(app) as server:
        yield server


@contextmanager
def serve(app) -> Iterator[LiveServer]:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            break
        threading.Event().wait(0.1)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(url=f"http://127.0.0.1:{port}", server=server)
    server.should_exit = True
    thread.join(30)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")
