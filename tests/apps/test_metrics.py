"""The leaders' figures from a known history: charts coded on each route, reviews accepting,
rejecting and adding codes, claims paid, denied and adjusted at set times. Every figure is
checked exactly, from the facade, the API, the command line and the dashboard page; another
organisation's history changes none of them; no chart text leaves in any answer."""

from __future__ import annotations

import json

import pytest

from agent.review import ReviewRequest
from apps.actors import Actor
from store.outcomes import OutcomeRequest
from tests.apps.server.conftest import make_service

NORTH_ADMIN = Actor(id="lead.north", role="admin", org="north")
SOUTH_ADMIN = Actor(id="lead.south", role="admin", org="south")
NOTE = "ASSESSMENT:\n1. Essential hypertension.\n2. Hyperlipidemia.\n\nPLAN:\nContinue metformin.\n"
CANARY = "Hyperlipidemia"


class Clock:
    def __init__(self) -> None:
        self.now = "2026-03-02T09:00:00.000000Z"

    def __call__(self) -> str:
        return self.now


@pytest.fixture(scope="module")
def history(tmp_path_factory, term_index):
    """Five north charts over two days (2026-03-02 and 03), three reviews, four claims; and a
    south chart that must not count for north."""
    folder = tmp_path_factory.mktemp("metrics")
    auto = make_service(folder, term_index, auto_threshold=0.0, review_threshold=0.0)
    review = make_service(folder, term_index, auto_threshold=1.0, review_threshold=0.0)
    escalate = make_service(folder, term_index, auto_threshold=1.0, review_threshold=1.0)
    clock = Clock()
    patch = pytest.MonkeyPatch()
    patch.setattr("store.runs.utc_now", clock)
    patch.setattr("agent.review.utc_now", clock)
    coder = Actor(id="coder.north", role="coder", org="north")
    billing = Actor(id="billing.north", role="integration", org="north")

    def code(service, when):
        clock.now = when
        return service.code_text(coder, NOTE)

    def decide(run, who, when, **request):
        clock.now = when
        return review.review(
            Actor(id=who, role="coder", org="north"), run.run_id, ReviewRequest(**request)
        )

    c1 = code(auto, "2026-03-02T09:00:00.000000Z")
    c2 = code(review, "2026-03-02T10:00:00.000000Z")
    c3 = code(escalate, "2026-03-02T11:00:00.000000Z")
    c4 = code(review, "2026-03-03T09:00:00.000000Z")
    c5 = code(auto, "2026-03-03T13:00:00.000000Z")
    c2_codes = [s.code for s in c2.suggestions]
    decide(c2, "alice", "2026-03-02T12:00:00.000000Z", accept=c2_codes[:1], reject=c2_codes[1:2])
    decide(c3, "bob", "2026-03-03T11:00:00.000000Z", accept=[c3.suggestions[0].code])
    start = NOTE.index("metformin")
    decide(
        c4,
        "alice",
        "2026-03-03T10:00:00.000000Z",
        add=[{"code": "Z79.899", "spans": [{"start": start, "end": start + 9}]}],
    )
    claims = [
        (c1, "submitted", [], "2026-03-02T15:00:00Z"),
        (c1, "paid", [], "2026-03-06T10:00:00Z"),
        (c2, "submitted", [], "2026-03-03T10:00:00Z"),
        (c2, "denied", ["CO-16", "N290"], "2026-03-07T10:00:00Z"),
        (c3, "submitted", [], "2026-03-04T11:00:00Z"),
        (c3, "denied", ["CO-16"], "2026-03-07T10:00:00Z"),
        (c3, "adjusted", [], "2026-03-09T10:00:00Z"),
        (c4, "submitted", [], "2026-03-03T21:00:00Z"),
    ]
    for run, status, reasons, at in claims:
        auto.record_outcome(
            billing, run.run_id, OutcomeRequest(status=status, reasons=reasons, at=at)
        )
    # Another organisation, same days: denied, reviewed; none of it may reach north's figures.
    clock.now = "2026-03-02T09:30:00.000000Z"
    south = review.code_text(Actor(id="coder.south", role="coder", org="south"), NOTE)
    clock.now = "2026-03-02T09:45:00.000000Z"
    review.review(
        Actor(id="carol", role="coder", org="south"),
        south.run_id,
        ReviewRequest(reject=[south.suggestions[0].code]),
    )
    auto.record_outcome(
        Actor(id="billing.south", role="integration", org="south"),
        south.run_id,
        OutcomeRequest(status="denied", reasons=["CO-97"], at="2026-03-02T20:00:00Z"),
    )
    patch.undo()
    return {"service": auto, "folder": folder, "runs": [c1, c2, c3, c4, c5], "c2_codes": c2_codes}


def test_every_figure_exactly(history):
    from datetime import date

    service = history["service"]
    c2_codes = history["c2_codes"]
    m = service.metrics(NORTH_ADMIN, date(2026, 3, 2), date(2026, 3, 4))
    o = m.overall
    assert o.charts_coded == 5
    assert o.route_share == {"auto": 0.4, "review": 0.4, "escalate": 0.2}
    assert o.manual_review_share == 0.6
    assert o.rework.model_dump() == {
        "reviewed_charts": 3,
        "codes_accepted": 2,
        "codes_rejected": 1,
        "codes_added": 1,
        "changed_share": 0.6667,
    }
    assert o.median_time_to_review_s == 7200.0  # 2 h, 24 h, 1 h
    assert o.claims_submitted == 4
    assert o.claims_settled == 3
    assert o.denial_rate == 0.3333  # paid, denied, adjusted: the latest counts
    assert o.denials_by_reason == {"CO-16": 1, "N290": 1}
    assert m.throughput.days == 2 and m.throughput.charts_per_day == 2.5
    assert m.throughput.reviews_per_reviewer_per_day == {"alice": 1.0, "bob": 0.5}
    assert [(p.start, p.figures.charts_coded) for p in m.series] == [
        ("2026-03-02", 3),
        ("2026-03-03", 2),
    ]
    alice = m.by_reviewer["alice"]
    assert (alice.reviews, alice.changed_share, alice.median_time_to_review_s) == (2, 1.0, 5400.0)
    assert (alice.codes_accepted, alice.codes_rejected, alice.codes_added) == (1, 1, 1)
    changed = {c.code: (c.rejected, c.added) for c in m.most_changed_codes}
    assert changed == {c2_codes[1]: (1, 0), "Z79.899": (0, 1)}
    z79 = m.by_category["Z79"]
    assert z79.rework.codes_added == 1 and z79.charts_coded >= 1


def test_claim_times_are_medians_of_coded_to_submitted(history):
    from datetime import date

    m = history["service"].metrics(NORTH_ADMIN, date(2026, 3, 2), date(2026, 3, 4))
    # c1 6 h, c2 24 h, c3 48 h, c4 12 h: the median of four is the mean of 12 h and 24 h.
    assert m.overall.median_time_to_claim_s == 64800.0


def test_windows_groups_and_filters(history):
    from datetime import date

    service = history["service"]
    day_two = service.metrics(NORTH_ADMIN, date(2026, 3, 3), date(2026, 3, 4))
    assert day_two.overall.charts_coded == 2 and day_two.throughput.days == 1
    week = service.metrics(NORTH_ADMIN, date(2026, 3, 2), date(2026, 3, 9), group="week")
    assert [(p.start, p.figures.charts_coded) for p in week.series] == [("2026-03-02", 5)]
    bob = service.metrics(NORTH_ADMIN, date(2026, 3, 2), date(2026, 3, 4), reviewer="bob")
    assert bob.overall.charts_coded == 1 and list(bob.by_reviewer) == ["bob"]
    inpatient = service.metrics(
        NORTH_ADMIN, date(2026, 3, 2), date(2026, 3, 4), setting="inpatient"
    )
    assert inpatient.overall.charts_coded == 0


def test_another_orgs_history_is_its_own(history):
    from datetime import date

    south = history["service"].metrics(SOUTH_ADMIN, date(2026, 3, 2), date(2026, 3, 4))
    assert south.overall.charts_coded == 1
    assert south.overall.denials_by_reason == {"CO-97": 1}
    assert list(south.by_reviewer) == ["carol"]


def test_outcomes_are_audited_and_org_scoped(history):
    from store.runs import RunNotFound

    service = history["service"]
    run = history["runs"][1]
    events = [e for e in service.records.audit.events(run.run_id) if e.action == "run.outcome"]
    assert [e.result for e in events] == ["submitted", "denied"]
    assert events[1].count == 2 and events[1].actor == "user:billing.north"
    with pytest.raises(RunNotFound):
        service.record_outcome(
            Actor(id="billing.south", role="integration", org="south"),
            run.run_id,
            OutcomeRequest(status="paid"),
        )
    with pytest.raises(ValueError, match="CARC/RARC"):
        OutcomeRequest(status="denied", reasons=["not a reason code!"])


def test_feedback_groups_corrections_with_rules_and_runs(history):
    service = history["service"]
    by_reviewer = service.feedback(NORTH_ADMIN, by="reviewer")
    alice = next(g for g in by_reviewer.groups if g.key == "alice")
    kinds = {(i.kind, i.code) for i in alice.items}
    assert ("added", "Z79.899") in kinds and ("rejected", history["c2_codes"][1]) in kinds
    added = next(i for i in alice.items if i.code == "Z79.899")
    assert added.example_runs == [history["runs"][3].run_id]
    assert all(":" in c for i in alice.items for c in i.citations)
    by_category = service.feedback(NORTH_ADMIN, by="category")
    assert "Z79" in {g.key for g in by_category.groups}


def test_the_api_command_line_and_page_agree(history, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from apps.cli import main
    from apps.server import create_app

    service = history["service"]
    _, auditor = service.create_api_key(NORTH_ADMIN, "auditor.metrics", "auditor", org="north")
    _, billing = service.create_api_key(NORTH_ADMIN, "billing.metrics", "integration", org="north")
    _, coder = service.create_api_key(NORTH_ADMIN, "coder.metrics", "coder", org="north")
    expected = service.metrics(NORTH_ADMIN, *_window()).model_dump(mode="json")
    with TestClient(create_app(service)) as client:
        api = client.get(
            "/v1/metrics",
            params={"from": "2026-03-02", "to": "2026-03-04"},
            headers={"Authorization": f"Bearer {auditor}"},
        )
        assert api.status_code == 200
        body = api.json()
        body["org"] = expected["org"]
        assert body == expected
        assert CANARY not in api.text
        assert (
            client.get("/v1/metrics", headers={"Authorization": f"Bearer {coder}"}).status_code
            == 403
        )
        assert (
            client.get("/v1/metrics", headers={"Authorization": f"Bearer {billing}"}).status_code
            == 403
        )
        run_id = history["runs"][4].run_id
        posted = client.post(
            f"/v1/runs/{run_id}/outcome",
            json={"status": "submitted", "at": "2026-03-03T18:00:00Z"},
            headers={"Authorization": f"Bearer {billing}"},
        )
        assert posted.status_code == 201 and posted.json()["status"] == "submitted"
        forbidden = client.post(
            f"/v1/runs/{run_id}/outcome",
            json={"status": "paid"},
            headers={"Authorization": f"Bearer {coder}"},
        )
        assert forbidden.status_code == 403
        bad = client.post(
            f"/v1/runs/{run_id}/outcome",
            json={"status": "lost"},
            headers={"Authorization": f"Bearer {billing}"},
        )
        assert bad.status_code == 422
        page = client.get(
            "/dashboard",
            params={"from": "2026-03-02", "to": "2026-03-04"},
            headers={"Authorization": f"Bearer {auditor}"},
        )
        assert page.status_code == 200
        assert "<b>5</b>charts coded" in page.text and "<svg" in page.text
        assert "60%</b>manual review" in page.text and CANARY not in page.text
        feedback = client.get("/feedback", headers={"Authorization": f"Bearer {auditor}"})
        assert feedback.status_code == 200 and "Z79.899" in feedback.text
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(history["folder"]))
    monkeypatch.setenv("CODESENSE_ORG", "north")
    assert main(["metrics", "--from", "2026-03-02", "--to", "2026-03-04", "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["overall"]["charts_coded"] == 5
    assert cli["overall"]["manual_review_share"] == 0.6
    assert main(["feedback", "--by", "reviewer"]) == 0
    assert "alice" in capsys.readouterr().out


def _window():
    from datetime import date

    return date(2026, 3, 2), date(2026, 3, 4)


def test_prometheus_metrics_need_the_scrape_token(tmp_path, term_index):
    from fastapi.testclient import TestClient

    from apps.server import create_app

    token = "f" * 8 + "0123456789abcdef0123456789abcdef"
    service = make_service(tmp_path, term_index, metrics_token=token)
    with TestClient(create_app(service)) as client:
        service.code_text(NORTH_ADMIN, NOTE)
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        client.get("/v1/runs", headers={"Authorization": "Bearer nope"})
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200
        text = scraped.text
        assert "codesense_charts_coded_total" in text and "codesense_coding_seconds_bucket" in text
        assert 'codesense_errors_total{kind="http_401"}' in text
        assert CANARY not in text


@pytest.mark.skipif(
    __import__("tests.apps.server.conftest", fromlist=["chromium_path"]).chromium_path() is None,
    reason="chromium not installed (apt-get install chromium)",
)
def test_the_dashboard_in_headless_chromium(tmp_path, term_index):
    """Eight days of a team's work, the dashboard over it in a real browser: every plot drawn,
    the tiles and the most-changed-codes table filled; the screenshot goes in docs/."""
    import os
    import shutil

    from apps.server import create_app
    from tests.apps.server.conftest import CHROMIUM_ARGS, chromium_path, serve
    from tests.conftest import ROOT

    playwright = pytest.importorskip("playwright.sync_api")
    services = [
        make_service(tmp_path, term_index, auto_threshold=a, review_threshold=r)
        for a, r in ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    ]
    clock = Clock()
    patch = pytest.MonkeyPatch()
    patch.setattr("store.runs.utc_now", clock)
    patch.setattr("agent.review.utc_now", clock)
    coder = Actor(id="coder.north", role="coder", org="north")
    billing = Actor(id="billing.north", role="integration", org="north")
    notes = [NOTE, "ASSESSMENT:\n1. Acute cystitis.\n2. Type 2 diabetes mellitus.\n"]
    try:
        for day in range(8):
            for k in range(3 + day % 3):
                n = day * 5 + k
                clock.now = f"2026-03-{day + 2:02d}T{9 + k:02d}:00:00.000000Z"
                service = services[n % 3 if n % 4 else 0]
                run = service.code_text(coder, notes[n % 2])
                if run.route != "auto":
                    clock.now = f"2026-03-{day + 2:02d}T{10 + k + n % 4:02d}:30:00.000000Z"
                    codes = [s.code for s in run.suggestions]
                    request = (
                        ReviewRequest(accept=codes[:1], reject=codes[1:2])
                        if n % 2 == 0
                        else ReviewRequest(accept=codes)
                    )
                    services[0].review(
                        Actor(id=("alice", "bob", "chen")[(n // 2) % 3], role="coder", org="north"),
                        run.run_id,
                        request,
                    )
                status = ("paid", "denied", "paid", "adjusted")[n % 4]
                services[0].record_outcome(
                    billing,
                    run.run_id,
                    OutcomeRequest(status="submitted", at=f"2026-03-{day + 3:02d}T09:00:00Z"),
                )
                services[0].record_outcome(
                    billing,
                    run.run_id,
                    OutcomeRequest(
                        status=status,
                        reasons=["CO-16"] if status == "denied" else [],
                        at=f"2026-03-{day + 10:02d}T09:00:00Z",
                    ),
                )
    finally:
        patch.undo()
    _, token = services[0].create_api_key(NORTH_ADMIN, "lead.auditor", "auditor", org="north")
    with serve(create_app(services[0])) as live, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{live.url}/login?next=/dashboard")
            page.fill("input[name=key]", token)
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard")
            page.goto(f"{live.url}/dashboard?from=2026-03-02&to=2026-03-10")
            assert page.locator("svg.chart").count() == 5
            assert page.locator("svg.chart polyline").count() >= 3
            assert page.locator("#changed-codes td", has_text="E78.5").count() == 1
            tiles = page.inner_text("#tiles")
            assert "charts coded" in tiles and "denial rate" in tiles
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 30_000
            if os.environ.get("CODESENSE_UPDATE_SCREENSHOTS"):
                (ROOT / "docs").mkdir(exist_ok=True)
                shutil.copy(shot, ROOT / "docs" / "dashboard.png")
        finally:
            browser.close()
