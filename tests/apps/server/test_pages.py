"""The auditor's web pages: sign-in, session cookie and CSRF, the worklist, the run page with its
highlighted evidence and review form, the audit chain page; and the run page in a real browser."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.conftest import EXAMPLES, ROOT

NOTE = (
    "HISTORY OF PRESENT ILLNESS:\nFollow-up of diabetes.\n\n"
    "ASSESSMENT:\n1. Type 2 diabetes mellitus with diabetic CKD stage 3a.\n"
    "2. Essential hypertension.\n\nPLAN:\nContinue metformin.\n"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def run_id(client, keys) -> str:
    response = client.post("/v1/charts/code", json={"text": NOTE}, headers=keys.auth("coder"))
    assert response.status_code == 200, response.text
    return response.json()["run_id"]


def _signed_in(app, token: str):
    from fastapi.testclient import TestClient

    c = TestClient(app, follow_redirects=False)
    response = c.post("/login", data={"key": token, "next": "/"})
    assert response.status_code == 303, response.text
    return c, response


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found[1]


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
    assert "Sign in" in client.get("/login").text


def test_a_wrong_key_does_not_sign_in(client):
    response = client.post(
        "/login", data={"key": "csk_000000000000_" + "A" * 43}, follow_redirects=False
    )
    assert response.status_code == 401 and "unknown or revoked" in response.text
    assert "codesense_session" not in response.headers.get("set-cookie", "")


def test_the_session_cookie_is_httponly_and_strict(app, keys):
    _, response = _signed_in(app, keys.tokens["auditor"])
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert keys.tokens["auditor"].split("_")[-1].lower() not in cookie


def test_an_off_site_next_is_ignored(app, keys):
    from fastapi.testclient import TestClient

    c = TestClient(app, follow_redirects=False)
    response = c.post("/login", data={"key": keys.tokens["coder"], "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_the_worklist_shows_counts_and_filters(app, keys, run_id):
    c, _ = _signed_in(app, keys.tokens["coder"])
    page = c.get("/")
    assert page.status_code == 200 and run_id in page.text
    assert re.search(r"<b>\d+</b>review", page.text)
    filtered = c.get("/", params={"route": "auto"})
    assert run_id not in filtered.text
    assert c.get("/", params={"status": "nonsense"}).status_code == 200


def test_the_run_page_highlights_evidence_and_cites_rules(app, keys, run_id):
    c, _ = _signed_in(app, keys.tokens["auditor"])
    page = c.get(f"/runs/{run_id}")
    assert page.status_code == 200
    html = page.text
    assert '<mark class="evidence" id="ev-0-0"' in html
    assert 'href="#ev-0-0"' in html
    assert "Section I." in html  # a guideline citation next to a rule
    assert 'form class="review card"' in html and _csrf(html)


def test_the_page_text_keeps_offsets(app, keys, client):
    """Control characters show as one character each, so a selection maps back to offsets."""
    note = "ASSESSMENT:\r\n1. Essential\x07 hypertension.\x1b[31m\r\n"
    run = client.post("/v1/charts/code", json={"text": note}, headers=keys.auth("coder")).json()
    c, _ = _signed_in(app, keys.tokens["auditor"])
    html = c.get(f"/runs/{run['run_id']}").text
    pre = re.search(r'<pre class="doc"[^>]*>(.*?)</pre>', html, re.S)[1]
    text = re.sub(r"<[^>]+>", "", pre)
    import html as html_lib

    shown = html_lib.unescape(text)
    assert len(shown) == len(note) and "\x1b" not in shown and "\r" not in shown
    # Nowhere on the page, quotes on the code cards included, is a raw ESC or BEL.
    assert "\x1b" not in html and "\x07" not in html
    assert re.search(r"&ldquo;Essential\u2407 hypertension", html)


def test_a_review_form_needs_its_csrf_token(app, keys, client):
    run = client.post("/v1/charts/code", json={"text": NOTE}, headers=keys.auth("coder")).json()
    code = run["suggestions"][0]["code"]
    c, _ = _signed_in(app, keys.tokens["coder"])
    page = c.get(f"/runs/{run['run_id']}").text
    forged = c.post(f"/runs/{run['run_id']}/review", data={f"decision:{code}": "accept"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    start = NOTE.index("Essential hypertension")
    done = c.post(
        f"/runs/{run['run_id']}/review",
        data={
            "csrf": _csrf(page),
            f"decision:{code}": "accept",
            "add_code": "Z79.899",
            "add_doc": run["suggestions"][0]["evidence"][0]["doc_id"],
            "add_start": str(NOTE.index("metformin")),
            "add_end": str(NOTE.index("metformin") + len("metformin")),
            "reason": "oral hypoglycemic",
        },
    )
    assert done.status_code == 303
    assert "error" not in done.headers["location"], done.headers["location"]
    after = c.get(f"/runs/{run['run_id']}").text
    assert "Review by coder.north" in after and "Z79.899" in after
    assert 'mark class="added"' in after
    bad = c.post(
        f"/runs/{run['run_id']}/review", data={"csrf": _csrf(page), f"decision:{code}": "accept"}
    )
    assert bad.status_code == 303 and "already%20reviewed" in bad.headers["location"]
    assert start >= 0


def test_pages_keep_to_roles_and_orgs(app, keys, run_id):
    integration, _ = _signed_in(app, keys.tokens["integration"])
    assert integration.get(f"/runs/{run_id}").status_code == 403
    coder, _ = _signed_in(app, keys.tokens["coder"])
    assert coder.get("/audit").status_code == 403
    south, _ = _signed_in(app, keys.tokens["south"])
    missing = south.get(f"/runs/{run_id}")
    assert missing.status_code == 404 and "<html" in missing.text


def test_the_audit_page_says_the_chain_verifies(app, keys, run_id):
    c, _ = _signed_in(app, keys.tokens["auditor"])
    page = c.get("/audit")
    assert page.status_code == 200 and "The chain verifies" in page.text


SENTINEL_NOTE = (
    "HISTORY:\nNo chest pain.\n\n"
    "ASSESSMENT:\n1. Type 2 diabetes mellitus with diabetic CKD stage 3a.\n"
    "2. Essential hypertension.\n\nPLAN:\nContinue metformin.\n"
)


def test_the_sentinel_page_groups_findings_and_highlights_their_evidence(app, keys, client):
    response = client.post(
        "/v1/audits",
        json={"text": SENTINEL_NOTE, "codes": ["E11.9", "N18.31", "I10", "R07.9"]},
        headers=keys.auth("integration"),
    )
    assert response.status_code == 200, response.text
    audit = response.json()
    # Every role may read an audit's page; another organisation may not see it.
    c, _ = _signed_in(app, keys.tokens["integration"])
    page = c.get(f"/audits/{audit['run_id']}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="kind-combination"' in html and 'id="kind-unsupported"' in html
    assert "combo.diabetes-ckd" in html and "Section I.A.15" in html
    # The negated mention is highlighted in the chart, anchored from its finding.
    unsupported = next(f for f in audit["findings"] if f["kind"] == "unsupported")
    n = audit["findings"].index(unsupported)
    assert f'href="#f-{n}-0"' in html and f'id="f-{n}-0"' in html
    assert re.search(rf'<mark[^>]*id="f-{n}-0"[^>]*>chest pain</mark>', html)
    south, _ = _signed_in(app, keys.tokens["south"])
    assert south.get(f"/audits/{audit['run_id']}").status_code == 404
    worklist = c.get("/?kind=audit").text
    assert f'href="/audits/{audit["run_id"]}"' in worklist


def test_a_bearer_key_opens_pages_without_a_session(client, keys, run_id):
    page = client.get(f"/runs/{run_id}", headers=keys.auth("auditor"))
    assert page.status_code == 200 and 'name="csrf"' not in page.text


def test_signing_out_ends_the_session(app, keys):
    c, _ = _signed_in(app, keys.tokens["auditor"])
    page = c.get("/").text
    out = c.post("/logout", data={"csrf": _csrf(page)})
    assert out.status_code == 303
    c.cookies.clear()
    assert c.get("/").status_code == 303


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_the_run_page_in_headless_chromium(live, keys, client, tmp_path):
    """Sign in through the form, open the run, see a highlighted evidence span, click a code,
    select chart text for an added code: the form gets that text's exact offsets."""
    playwright = pytest.importorskip("playwright.sync_api")
    note = (EXAMPLES / "clinic_progress_note.txt").read_text(encoding="utf-8")
    run_id = client.post(
        "/v1/charts/code",
        json={"text": note, "name": "clinic_progress_note.txt"},
        headers=keys.auth("coder"),
    ).json()["run_id"]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{live.url}/runs/{run_id}")
            assert "/login" in page.url
            page.fill("input[name=key]", keys.tokens["auditor"])
            page.click("button[type=submit]")
            page.wait_for_url(f"**/runs/{run_id}")
            mark = page.locator("mark#ev-0-0")
            assert mark.is_visible()
            quote = mark.inner_text()
            assert quote and quote in note
            page.click(".code-card h3 a.evidence-link >> nth=0")
            assert "flash" in (mark.get_attribute("class") or "")
            # Select "Essential hypertension" in the chart text, as a reviewer would.
            target = "Essential hypertension"
            page.evaluate(
                """(target) => {
                  const pre = document.querySelector('pre.doc');
                  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
                  let node;
                  while ((node = walker.nextNode())) {
                    const i = node.textContent.indexOf(target);
                    if (i >= 0) {
                      const r = document.createRange();
                      r.setStart(node, i); r.setEnd(node, i + target.length);
                      const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
                      document.dispatchEvent(new MouseEvent('mouseup'));
                      return;
                    }
                  }
                }""",
                target,
            )
            start = int(page.input_value("input[name=add_start]"))
            end = int(page.input_value("input[name=add_end]"))
            assert note[start:end] == target
            page.evaluate("window.scrollTo(0, 0)")
            shot = tmp_path / "run-page.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 20_000
            if os.environ.get("CODESENSE_UPDATE_SCREENSHOTS"):
                docs = ROOT / "docs"
                docs.mkdir(exist_ok=True)
                shutil.copy(shot, docs / "run-page.png")
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_the_sentinel_page_in_headless_chromium(live, keys, client, tmp_path):
    """Open an audit's report page as an integration key: its findings' evidence is highlighted
    in the chart, and clicking a finding's quote flashes the span it cites."""
    playwright = pytest.importorskip("playwright.sync_api")
    note = (EXAMPLES / "clinic_progress_note.txt").read_text(encoding="utf-8")
    audit = client.post(
        "/v1/audits",
        json={"text": note, "codes": ["E11.9", "N18.31", "I10", "E78.5"]},
        headers=keys.auth("integration"),
    ).json()
    assert audit["findings"], audit
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{live.url}/login?next=/audits/{audit['run_id']}")
            page.fill("input[name=key]", keys.tokens["integration"])
            page.click("button[type=submit]")
            page.wait_for_url(f"**/audits/{audit['run_id']}")
            # An unsupported code has nothing to quote: take the first finding that cites text.
            n, first = next((n, f) for n, f in enumerate(audit["findings"]) if f["evidence"])
            mark = page.locator(f"mark#f-{n}-0")
            # Overlapping spans split a highlight into pieces; the anchor is on the first.
            assert mark.is_visible() and mark.inner_text() in first["evidence"][0]["quote"]
            page.click(f"#finding-{n} a.evidence-link >> nth=0")
            assert "flash" in (mark.get_attribute("class") or "")
            assert page.locator(f"#kind-{first['kind']}").is_visible()
            shot = tmp_path / "sentinel-page.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 20_000
            if os.environ.get("CODESENSE_UPDATE_SCREENSHOTS"):
                shutil.copy(shot, ROOT / "docs" / "sentinel-page.png")
        finally:
            browser.close()
