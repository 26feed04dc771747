"""The HTTP API as integrators meet it: every route authenticated, the role matrix, each route's
triad (works, not found, forbidden), organisations kept apart, bad input as a one-line 4xx."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from apps.actors import ROLES
from apps.server.app import AUTHENTICATORS, OPEN_PATHS, ROUTERS
from tests.conftest import EXAMPLES

NOTE = "ASSESSMENT:\n1. Type 2 diabetes mellitus with diabetic CKD stage 3a.\n2. Hypertension.\n"
PDF = (EXAMPLES / "clinic_followup.pdf").read_bytes()
MISSING_RUN = "run-0123456789abcdef"


@pytest.fixture(scope="module")
def coded(client, keys):
    """A text run and a PDF run of organisation north, coded by its coder."""
    text = client.post("/v1/charts/code", json={"text": NOTE}, headers=keys.auth("coder"))
    pdf = client.post(
        "/v1/charts/code",
        files={"file": ("followup.pdf", PDF, "application/pdf")},
        headers=keys.auth("coder"),
    )
    audit = client.post(
        "/v1/audits",
        json={"text": NOTE, "codes": ["E11.9", "N18.31", "I10"]},
        headers=keys.auth("auditor"),
    )
    assert text.status_code == 200, text.text
    assert pdf.status_code == 200, pdf.text
    assert audit.status_code == 200, audit.text
    return {"text": text.json(), "pdf": pdf.json(), "audit": audit.json()}


def _dependencies(dependant) -> set:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _dependencies(sub)
    return found


def test_every_route_is_authenticated_unless_listed_open(app):
    """The route inventory: a new route without a key or session check fails here."""
    seen = set()
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            seen.add(route.path)
            if route.path in OPEN_PATHS:
                continue
            calls = _dependencies(route.dependant)
            assert calls & set(AUTHENTICATORS), f"{route.path} has no authentication"
    # Nothing reaches the app but through those routers, the static mount and FastAPI's docs.
    for route in app.routes:
        if isinstance(route, Mount | Route):
            assert route.path in OPEN_PATHS, route.path
    included = [r for r in app.routes if not isinstance(r, Mount | Route)]
    assert len(included) == len(ROUTERS)
    assert {
        "/v1/charts/code",
        "/v1/runs/{run_id}/review",
        "/runs/{run_id}",
        "/audit",
        "/v1/audits",
        "/v1/audits/{run_id}",
        "/audits/{run_id}",
    } <= seen


def test_healthz_and_openapi_are_open(client):
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/v1/charts/code" in spec["paths"]
    assert "/runs/{run_id}" not in spec["paths"]  # pages are not API


@pytest.mark.parametrize(
    "header", [None, "Bearer ", "Bearer csk_000000000000_" + "A" * 43, "Basic x"]
)
def test_a_missing_or_unknown_key_is_401(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/v1/runs", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "\n" not in response.json()["detail"]


def _requests(coded, keys):
    run, pdf_run = coded["text"]["run_id"], coded["pdf"]["run_id"]
    audit = coded["audit"]["run_id"]
    code = coded["text"]["suggestions"][0]["code"]
    return {
        ("POST", "/v1/audits"): dict(json={"text": NOTE, "codes": ["E11.22", "N18.31"]}),
        ("GET", f"/v1/audits/{audit}"): {},
        ("POST", "/v1/charts/code"): dict(json={"text": "Assessment: essential hypertension."}),
        ("GET", "/v1/runs"): {},
        ("GET", f"/v1/runs/{run}"): {},
        ("GET", f"/v1/runs/{run}/trace"): {},
        ("GET", f"/v1/runs/{run}/trace.html"): {},
        ("GET", f"/v1/runs/{pdf_run}/annotated.pdf"): {},
        ("POST", f"/v1/runs/{run}/review"): dict(json={"accept": [code]}),
        ("GET", "/v1/audit/verify"): {},
        ("GET", "/v1/audit/events"): dict(params={"run": run}),
        ("GET", "/v1/rules"): dict(params={"code": "E11.22"}),
        ("GET", "/v1/apikeys"): {},
        ("GET", f"/v1/runs/{run}/fhir"): {},
        ("GET", "/v1/schema/chart-result"): {},
    }


ALLOWED = {
    "/v1/audits": set(ROLES),
    "/v1/audits/{id}": set(ROLES),
    "/v1/charts/code": {"coder", "integration", "admin"},
    "/v1/runs": set(ROLES),
    "/v1/runs/{id}": set(ROLES),
    "/v1/runs/{id}/trace": {"coder", "auditor", "admin"},
    "/v1/runs/{id}/trace.html": {"coder", "auditor", "admin"},
    "/v1/runs/{id}/annotated.pdf": {"coder", "auditor", "admin"},
    "/v1/runs/{id}/review": {"coder", "auditor", "admin"},
    "/v1/audit/verify": {"auditor", "admin"},
    "/v1/audit/events": {"auditor", "admin"},
    "/v1/rules": set(ROLES),
    "/v1/apikeys": {"admin"},
    "/v1/runs/{id}/fhir": set(ROLES),
    "/v1/schema/chart-result": set(ROLES),
}


def _shape(path: str) -> str:
    parts = path.split("/")
    return "/".join("{id}" if p.startswith("run-") else p for p in parts)


def test_the_role_matrix(client, keys, coded):
    """Each role gets through exactly the routes the issue's table gives it (403 otherwise)."""
    for (method, path), kwargs in _requests(coded, keys).items():
        for role in ROLES:
            response = client.request(method, path, headers=keys.auth(role), **kwargs)
            allowed = role in ALLOWED[_shape(path)]
            if allowed:
                # A second review of the same run is a 409: allowed, but already done.
                assert response.status_code in (200, 201, 409), (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.status_code)
                assert role in response.json()["detail"]


def test_another_orgs_run_is_404_on_every_route(client, keys, coded):
    run, pdf_run = coded["text"]["run_id"], coded["pdf"]["run_id"]
    south = keys.auth("south")
    for method, path, body in [
        ("GET", f"/v1/runs/{run}", None),
        ("GET", f"/v1/runs/{run}/trace", None),
        ("GET", f"/v1/runs/{run}/trace.html", None),
        ("GET", f"/v1/runs/{pdf_run}/annotated.pdf", None),
        ("POST", f"/v1/runs/{run}/review", {"accept": ["I10"]}),
        ("GET", "/v1/audit/events?run=" + run, None),
        ("GET", f"/v1/audits/{coded['audit']['run_id']}", None),
        ("POST", "/v1/audits", {"run_id": run, "codes": ["I10"]}),
    ]:
        response = client.request(method, path, json=body, headers=south)
        assert response.status_code == 404, (path, response.status_code)
    listed = client.get("/v1/runs", headers=south).json()
    assert all(r["org"] == "south" for r in listed["runs"])
    assert run not in {r["run_id"] for r in listed["runs"]}


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("GET", f"/v1/runs/{MISSING_RUN}", {}),
        ("GET", f"/v1/runs/{MISSING_RUN}/trace", {}),
        ("GET", f"/v1/runs/{MISSING_RUN}/trace.html", {}),
        ("GET", f"/v1/runs/{MISSING_RUN}/annotated.pdf", {}),
        ("POST", f"/v1/runs/{MISSING_RUN}/review", {"json": {"accept": ["I10"]}}),
        ("GET", "/v1/audit/events", {"params": {"run": MISSING_RUN}}),
        ("DELETE", "/v1/apikeys/000000000000", {}),
        ("GET", "/v1/runs/not-a-run-id", {}),
        ("GET", f"/v1/audits/{MISSING_RUN}", {}),
        ("POST", "/v1/audits", {"json": {"run_id": MISSING_RUN, "codes": ["I10"]}}),
    ],
)
def test_not_found_is_404_with_one_line(client, keys, method, path, kwargs):
    response = client.request(method, path, headers=keys.auth("admin"), **kwargs)
    assert response.status_code == 404
    assert "\n" not in response.json()["detail"]


def test_the_output_contract_comes_back_with_run_id_and_evidence(client, keys, coded):
    out = coded["text"]
    assert out["schema_version"] == 1 and out["run_id"].startswith("run-")
    for s in out["suggestions"]:
        for e in s["evidence"]:
            assert NOTE[e["start"] : e["end"]] == e["quote"]
    again = client.get(f"/v1/runs/{out['run_id']}", headers=keys.auth("integration")).json()
    assert again["run_id"] == out["run_id"] and again["suggestions"] == out["suggestions"]


def test_charts_in_every_body_form(client, keys):
    auth = keys.auth("integration")
    raw = client.post(
        "/v1/charts/code",
        content=NOTE.encode(),
        headers={**auth, "content-type": "text/plain"},
        params={"setting": "inpatient"},
    )
    assert raw.status_code == 200 and raw.json()["setting"] == "inpatient"
    pdf = client.post(
        "/v1/charts/code", content=PDF, headers={**auth, "content-type": "application/pdf"}
    )
    assert pdf.status_code == 200 and pdf.json()["suggestions"]
    fhir = {
        "resourceType": "DocumentReference",
        "id": "dr-1",
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(NOTE.encode()).decode(),
                }
            }
        ],
    }
    response = client.post(
        "/v1/charts/code",
        content=json.dumps(fhir),
        headers={**auth, "content-type": "application/fhir+json"},
    )
    assert response.status_code == 200, response.text
    assert {e["doc_id"] for s in response.json()["suggestions"] for e in s["evidence"]} == {"dr-1"}


def _encrypted_pdf() -> bytes:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Assessment: hypertension")
    return doc.tobytes(encryption=pymupdf.mupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")


@pytest.mark.parametrize(
    "kwargs, status, says",
    [
        (
            {"content": b"\x89PNG....", "headers": {"content-type": "image/png"}},
            415,
            "content type",
        ),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"json": {"text": ""}}, 422, "text"),
        ({"json": {"text": "x", "setting": "emergency"}}, 422, "setting"),
        ({"json": {"resourceType": "Patient"}}, 422, "DocumentReference or a Bundle"),
        (
            {"json": {"resourceType": "DocumentReference", "status": "current"}},
            422,
            "DocumentReference.content",
        ),
        ({"json": [1, 2]}, 422, "body"),
        (
            {
                "content": b"%PDF-1.7\n" + b"\x00garbage" * 50,
                "headers": {"content-type": "application/pdf"},
            },
            400,
            "PDF",
        ),
        (
            {"content": _encrypted_pdf(), "headers": {"content-type": "application/pdf"}},
            400,
            "encrypted",
        ),
        (
            {"content": "Diabète".encode("latin-1"), "headers": {"content-type": "text/plain"}},
            400,
            "UTF-8",
        ),
        ({"files": {"other": ("a.txt", b"x")}}, 422, "file"),
    ],
)
def test_bad_input_is_a_one_line_4xx(client, keys, kwargs, status, says):
    headers = {**keys.auth("coder"), **kwargs.pop("headers", {})}
    response = client.post("/v1/charts/code", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert says in detail and "\n" not in detail and "Traceback" not in detail


def test_a_body_over_the_limit_is_413(tmp_path, term_index):
    from fastapi.testclient import TestClient

    from apps.server import create_app
    from tests.apps.server.conftest import make_service
    from tests.conftest import ADMIN

    small = make_service(tmp_path, term_index, max_file_mb=0.01)
    _, token = small.create_api_key(ADMIN, "coder.small", "coder")
    with TestClient(create_app(small)) as c:
        auth = {"Authorization": f"Bearer {token}"}
        big = c.post("/v1/charts/code", json={"text": "hypertension " * 5000}, headers=auth)
        assert big.status_code == 413 and "limit" in big.json()["detail"]
        upload = c.post(
            "/v1/charts/code", files={"file": ("n.txt", b"x" * 12_000, "text/plain")}, headers=auth
        )
        assert upload.status_code == 413


def test_a_review_through_the_api_resumes_the_run(client, keys):
    first = client.post("/v1/charts/code", json={"text": NOTE}, headers=keys.auth("coder")).json()
    codes = [s["code"] for s in first["suggestions"]]
    start = NOTE.index("Hypertension")
    body = {
        "accept": codes[:1],
        "reject": codes[1:2],
        "add": [{"code": "Z79.4", "spans": [{"start": start, "end": start + 12}]}],
        "reason": "insulin on the med list",
    }
    bad = client.post(
        f"/v1/runs/{first['run_id']}/review",
        json={"add": [{"code": "E11", "spans": [{"start": 0, "end": 5}]}]},
        headers=keys.auth("auditor"),
    )
    assert bad.status_code == 422 and "not a billable code" in bad.json()["detail"]
    done = client.post(
        f"/v1/runs/{first['run_id']}/review", json=body, headers=keys.auth("auditor")
    )
    assert done.status_code == 200, done.text
    review = done.json()["review"]
    assert review["reviewer"] == "auditor.north" and "Z79.4" in review["codes"]
    again = client.post(f"/v1/runs/{first['run_id']}/review", json=body, headers=keys.auth("coder"))
    assert again.status_code == 409 and "already reviewed" in again.json()["detail"]
    stored = client.get(f"/v1/runs/{first['run_id']}", headers=keys.auth("coder")).json()
    assert stored["review"]["decision_id"] == review["decision_id"]


def test_the_audit_chain_verifies_and_events_hold_no_chart_text(client, keys, coded):
    report = client.get("/v1/audit/verify", headers=keys.auth("auditor")).json()
    assert report["ok"] and report["events"] > 0
    events = client.get(
        "/v1/audit/events", params={"run": coded["text"]["run_id"]}, headers=keys.auth("auditor")
    ).json()["events"]
    assert events[0]["action"] == "run.start" and events[0]["actor"] == "apikey:coder.north"
    dumped = json.dumps(events)
    assert "diabetes" not in dumped.lower() and "Hypertension" not in dumped


def test_rules_lookup_by_code_and_by_meaning(client, keys):
    by_code = client.get("/v1/rules", params={"code": "I12.9"}, headers=keys.auth("integration"))
    assert by_code.status_code == 200 and by_code.json()["hits"]
    by_words = client.get(
        "/v1/rules", params={"q": "why is the cough not coded"}, headers=keys.auth("coder")
    ).json()
    assert by_words["hits"] and all(h["citation"] for h in by_words["hits"])


def test_api_keys_through_the_api(client, keys):
    made = client.post(
        "/v1/apikeys", json={"name": "rcm.bot", "role": "integration"}, headers=keys.auth("admin")
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert made.json()["key"]["org"] == "north"
    assert client.get("/v1/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = client.get("/v1/apikeys", headers=keys.auth("admin")).json()["keys"]
    assert "rcm.bot" in {k["name"] for k in listed} and token not in json.dumps(listed)
    key_id = made.json()["key"]["key_id"]
    assert client.delete(f"/v1/apikeys/{key_id}", headers=keys.auth("admin")).status_code == 200
    assert client.get("/v1/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    bad = client.post(
        "/v1/apikeys", json={"name": "x y", "role": "root"}, headers=keys.auth("admin")
    )
    assert bad.status_code == 422


def test_the_annotated_pdf_highlights_the_evidence(client, keys, coded):
    import pymupdf

    response = client.get(
        f"/v1/runs/{coded['pdf']['run_id']}/annotated.pdf", headers=keys.auth("auditor")
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    doc = pymupdf.open(stream=response.content, filetype="pdf")
    notes = {a.info["content"] for page in doc for a in page.annots()}
    assert {s["code"] for s in coded["pdf"]["suggestions"]} <= notes
    assert "Highlights mark" in doc[-1].get_text()
    text_run = client.get(
        f"/v1/runs/{coded['text']['run_id']}/annotated.pdf", headers=keys.auth("auditor")
    )
    assert text_run.status_code == 409 and "no PDF document" in text_run.json()["detail"]


def test_two_reviews_at_once_over_http_one_wins(live, service, keys):
    """Two reviewers post at the same moment to a real server: the first is held inside its
    graph (a lock in the test, not a clock) while the second arrives; one 200, one 409, and
    only the first decision is stored."""
    import threading

    import httpx

    with httpx.Client(base_url=live.url, timeout=120) as http:
        run = http.post("/v1/charts/code", json={"text": NOTE}, headers=keys.auth("coder")).json()
    code = run["suggestions"][0]["code"]
    workflow = service.workflow
    original = workflow.invoke
    inside, release = threading.Event(), threading.Event()

    def held(*args, **kwargs):
        inside.set()
        release.wait(60)
        return original(*args, **kwargs)

    answers: dict[str, httpx.Response] = {}

    def post(who: str, body: dict) -> None:
        with httpx.Client(base_url=live.url, timeout=120) as http:
            answers[who] = http.post(
                f"/v1/runs/{run['run_id']}/review", json=body, headers=keys.auth(who)
            )

    workflow.invoke = held
    try:
        first = threading.Thread(target=post, args=("coder", {"accept": [code]}))
        first.start()
        assert inside.wait(60)
        post("auditor", {"reject": [code]})
        release.set()
        first.join(120)
    finally:
        release.set()
        workflow.invoke = original
    assert answers["coder"].status_code == 200, answers["coder"].text
    assert answers["auditor"].status_code == 409
    assert "being reviewed" in answers["auditor"].json()["detail"]
    stored = service.records.runs.reviews(run["run_id"])
    assert [r.reviewer for r, _ in stored] == ["coder.north"]


def test_published_schemas_are_served(client, keys):
    from apps.schemas import schema_document

    for role in ROLES:
        response = client.get("/v1/schema/chart-result", headers=keys.auth(role))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/schema+json")
        assert response.json() == schema_document("chart-result")
    assert client.get("/v1/schema/nope", headers=keys.auth("coder")).status_code == 404
    assert client.get("/v1/schema/chart-result").status_code == 401


def test_the_fhir_export_route(client, keys):
    from fhir.resources.R4B.bundle import Bundle

    run = client.post("/v1/charts/code", json={"text": NOTE}, headers=keys.auth("coder")).json()
    waiting = client.get(f"/v1/runs/{run['run_id']}/fhir", headers=keys.auth("integration"))
    assert waiting.status_code == 409 and "awaiting review" in waiting.json()["detail"]
    code = run["suggestions"][0]["code"]
    client.post(
        f"/v1/runs/{run['run_id']}/review", json={"accept": [code]}, headers=keys.auth("coder")
    )
    done = client.get(f"/v1/runs/{run['run_id']}/fhir", headers=keys.auth("integration"))
    assert done.status_code == 200 and done.headers["content-type"].startswith(
        "application/fhir+json"
    )
    Bundle.model_validate(done.json())
    assert (
        client.get(f"/v1/runs/{MISSING_RUN}/fhir", headers=keys.auth("integration")).status_code
        == 404
    )
    assert (
        client.get(f"/v1/runs/{run['run_id']}/fhir", headers=keys.auth("south")).status_code == 404
    )


# -- Audit Sentinel ------------------------------------------------------------------------------


def test_an_audit_finds_the_combination_and_is_stored(client, keys, coded):
    report = coded["audit"]
    assert report["run_id"].startswith("run-") and 0 < report["risk"] <= 1
    kinds = {(f["kind"], f["code"]) for f in report["findings"]}
    assert ("combination", "E11.9") in kinds and ("combination", "I10") in kinds
    for finding in report["findings"]:
        assert finding["rules"] and all(r["citation"] for r in finding["rules"])
    again = client.get(f"/v1/audits/{report['run_id']}", headers=keys.auth("integration"))
    assert again.status_code == 200 and again.json()["findings"] == report["findings"]
    listed = client.get("/v1/runs", params={"kind": "audit"}, headers=keys.auth("coder")).json()
    assert report["run_id"] in {r["run_id"] for r in listed["runs"]}
    # A coding run is not an audit.
    assert (
        client.get(f"/v1/audits/{coded['text']['run_id']}", headers=keys.auth("admin")).status_code
        == 404
    )


def test_audits_in_every_body_form(client, keys, coded):
    auth = keys.auth("integration")
    upload = client.post(
        "/v1/audits",
        files={"file": ("followup.pdf", PDF, "application/pdf")},
        data={"codes": "I10", "setting": "outpatient"},
        headers=auth,
    )
    assert upload.status_code == 200, upload.text
    doc = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(NOTE.encode()).decode(),
                }
            }
        ],
    }
    bare = client.post(
        "/v1/audits", params={"codes": "E11.22,N18.31,I12.9"}, json=doc, headers=auth
    )
    assert bare.status_code == 200, bare.text
    wrapped = client.post("/v1/audits", json={"fhir": doc, "codes": ["E11.22"]}, headers=auth)
    assert wrapped.status_code == 200, wrapped.text
    of_run = client.post(
        "/v1/audits",
        json={"run_id": coded["text"]["run_id"], "codes": ["E11.22", "N18.31", "I12.9"]},
        headers=keys.auth("auditor"),
    )
    assert of_run.status_code == 200, of_run.text
    assert of_run.json()["source_run_id"] == coded["text"]["run_id"]


@pytest.mark.parametrize(
    "kwargs, status, says",
    [
        (dict(json={"text": NOTE, "codes": ["E11.22", "XX99"]}), 422, "XX99"),
        (dict(json={"text": NOTE, "codes": []}), 422, "codes"),
        (dict(json={"codes": ["I10"]}), 422, "exactly one"),
        (dict(json={"text": NOTE}), 422, "codes"),
        (dict(content=b"{", headers={"content-type": "application/json"}), 422, "JSON"),
        (dict(content=b"x", headers={"content-type": "text/plain"}), 415, "JSON"),
        (dict(files={"file": ("n.txt", NOTE.encode(), "text/plain")}), 422, "codes"),
    ],
)
def test_bad_audits_are_a_one_line_4xx(client, keys, kwargs, status, says):
    headers = {**keys.auth("coder"), **kwargs.pop("headers", {})}
    response = client.post("/v1/audits", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert says in detail and "\n" not in detail
