"""The agencies' submission page through its HTTP interface (FastAPI's TestClient) on a real warehouse: sign-in,
CSRF, a check's verdict and Thai message naming row and column, a submission into the agency's own landing folder
with its receipt, the night's load step then showing its fate, and what another agency, a hostile name or an
oversized upload can and cannot do."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ground.schema import ensure_schema
from nightly.pipeline import batches, new_files, process_files
from nightly.withdraw import withdraw
from tests.conftest import REPO
from tests.test_landing_object_storage import s3_server  # noqa: F401 - the fixture, shared

BAD = (REPO / "tests" / "corpus" / "bad" / "project_reports" / "year_out_of_range.csv").read_bytes()
GOOD = BAD.replace(b",2656,", b",2566,")  # the same report with its bad year corrected
AGENCY_A, AGENCY_B = "D0023", "D0026"  # the Comptroller General's Department (the file's agency), the Revenue Dept.


@pytest.fixture(scope="module")
def portal(make_warehouse):
    from portal.accounts import AGENCY, OPERATOR, add_user
    from portal.app import create_app

    wh = make_warehouse("portal")
    wh.use()
    with wh.connect() as conn:
        ensure_schema(conn)
        wh.passwords = {name: add_user(conn, name, role, agency)[1] for name, role, agency in (
            ("cgd", AGENCY, AGENCY_A), ("rd", AGENCY, AGENCY_B), ("ops", OPERATOR, None))}
    wh.app = create_app()
    return wh


def _client(portal, name: str | None = None) -> TestClient:
    portal.use()
    client = TestClient(portal.app)
    if name:
        r = client.post("/login", data={"username": name, "password": portal.passwords[name],
                                        "csrf": _csrf(client.get("/login").text)})
        assert r.status_code == 200 and "ไฟล์ที่ส่งแล้ว" in r.text, r.text[:500]
    return client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _send(client: TestClient, content: bytes, name: str = "report.csv", action: str = "check", **fields):
    csrf = _csrf(client.get("/").text)
    return client.post("/check", data={"csrf": csrf, "source": "project_reports", "action": action, **fields},
                       files={"file": (name, content, "text/csv")})


def _landed(portal) -> list[Path]:
    return sorted(p for p in portal.landing.rglob("*") if p.is_file())


def test_sign_in_refuses_a_wrong_password_and_a_form_without_its_token(portal):
    client = _client(portal)
    assert client.get("/", follow_redirects=False).status_code == 303
    page = client.get("/login").text
    wrong = client.post("/login", data={"username": "cgd", "password": "not-it-at-all", "csrf": _csrf(page)})
    assert wrong.status_code == 401 and "รหัสผ่านไม่ถูกต้อง" in wrong.text
    forged = client.post("/login", data={"username": "cgd", "password": portal.passwords["cgd"], "csrf": "x" * 43})
    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303  # still signed out
    signed = _client(portal, "cgd")
    no_token = signed.post("/check", data={"source": "project_reports", "action": "submit"},
                           files={"file": ("r.csv", GOOD, "text/csv")})
    assert no_token.status_code == 403 and not _landed(portal)
    assert "default-src 'none'" in wrong.headers["content-security-policy"]
    assert wrong.headers["x-frame-options"] == "DENY" and wrong.headers["cache-control"] == "no-store"
    for _ in range(10):  # ten failed sign-ins for a name in 15 minutes: the next one waits
        client.post("/login", data={"username": "nobody", "password": "guess", "csrf": _csrf(page)})
    assert client.post("/login", data={"username": "nobody", "password": "guess",
                                       "csrf": _csrf(page)}).status_code == 429
    with portal.connect() as conn:  # never in clear
        hashes = [h for (h,) in conn.execute("SELECT password_hash FROM ops.portal_users")]
    assert all(h.startswith("scrypt:") and portal.passwords["cgd"] not in h for h in hashes)


def test_the_add_user_command_prints_a_password_once_that_signs_in(portal, capsys):
    from dgwh.cli import main

    assert main(["portal", "add-user", "rd-second", "--agency", AGENCY_B]) == 0
    printed = capsys.readouterr().out
    password = re.search(r"password: (\S+)", printed).group(1)
    portal.passwords["rd-second"] = password
    assert "กรมสรรพากร" in _client(portal, "rd-second").get("/").text
    assert main(["portal", "add-user", "rd-second", "--agency", AGENCY_B]) == 1  # exists: --reset to replace
    with portal.connect() as conn:
        stored = conn.execute("SELECT password_hash FROM ops.portal_users WHERE username = 'rd-second'").fetchone()[0]
    assert password not in stored

def test_a_check_names_row_and_column_in_thai_highlights_the_cell_and_keeps_nothing(portal):
    client = _client(portal, "cgd")
    r = _send(client, BAD, "รายงาน 2566.csv")
    assert r.status_code == 200
    assert "นำเข้าได้ ยกเว้นบางแถว" in r.text  # the night loads it without the bad row
    text = html.unescape(r.text)
    assert re.search(r'แถวที่ 3 คอลัมน์ "ปีงบประมาณที่รายงาน" \(reporting_fy_be\)', text), text
    assert 'Row 3, column "ปีงบประมาณที่รายงาน" (reporting_fy_be)' in text and "2656" in text
    bad_row = re.search(r'<tr class="bad-row" data-row="3">(.*?)</tr>', r.text, re.S).group(1)
    assert re.search(r'<td class="bad" title="[^"]+">2656</td>', bad_row)
    assert 'data-row="2"' in r.text and '<tr class="" data-row="2">' in r.text  # the good row, not marked
    assert "<td>เริ่มดำเนินการแล้ว</td>" in r.text and "<td>started</td>" not in r.text  # labels, not codes
    assert not _landed(portal)
    assert not list((portal.state / "portal" / "uploads").iterdir())
    with portal.connect() as conn:
        assert conn.execute("SELECT count(*) FROM ops.portal_submissions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM ops.file_ledger").fetchone()[0] == 0


def test_submit_lands_in_the_agency_folder_with_a_receipt_and_the_night_loads_it(portal):
    client = _client(portal, "cgd")
    refused = _send(client, BAD, action="submit")  # rows would be rejected: not without the officer's say
    assert refused.status_code == 422 and not _landed(portal)
    r = _send(client, GOOD, "../../../etc/cron.d/x;rm -rf ~.csv", action="submit")
    assert r.status_code == 200, r.text[:1000]
    (landed,) = _landed(portal)
    assert landed.parent == portal.landing / "project_reports" / AGENCY_A
    assert re.fullmatch(r"portal-\d{8}T\d{6}Z-[0-9a-f]{8}\.csv", landed.name)
    sha = hashlib.sha256(GOOD).hexdigest()
    assert landed.read_bytes() == GOOD and sha in r.text
    receipt = html.unescape(r.text.split('id="receipt"')[1].split("</table>")[0])
    assert "x;rm -rf ~.csv" in receipt and "../" not in receipt
    again = _send(client, GOOD, "copy.csv", action="submit")
    assert again.status_code == 409 and len(_landed(portal)) == 1
    submission = re.search(r'href="/submissions/(\d+)"', r.text).group(1)
    assert 'data-fate="waiting"' in client.get(f"/submissions/{submission}").text

    outcomes = [o for batch in batches(new_files()) for o in process_files(batch, run_id="test-portal")]
    assert [(o.path, o.status, o.rows_loaded) for o in outcomes] == [
        (f"project_reports/{AGENCY_A}/{landed.name}", "loaded", 2)]
    page = client.get(f"/submissions/{submission}").text
    assert 'data-fate="loaded"' in page and "นำเข้าแล้ว" in page
    assert "fate-loaded" in client.get("/").text

    # the bad report sent on purpose, without its bad row: it loads partly and supersedes the good one
    partly = _send(client, BAD, "รายงาน.csv", action="submit", confirm="yes")
    assert partly.status_code == 200 and "ใบรับไฟล์" in partly.text
    later = re.search(r'href="/submissions/(\d+)"', partly.text).group(1)
    outcomes = [o for batch in batches(new_files()) for o in process_files(batch, run_id="test-portal-2")]
    assert [(o.status, o.rows_loaded, o.rows_rejected) for o in outcomes] == [("loaded", 1, 1)]
    page = html.unescape(client.get(f"/submissions/{later}").text)
    assert 'data-fate="loaded_partly"' in page
    rejected = page.split('id="rejected"')[1].split("</table>")[0]
    assert "<td>3</td>" in rejected and "reporting_fy_be" in rejected and "2656" in rejected
    assert re.search(r'แถวที่ 3 คอลัมน์ "ปีงบประมาณที่รายงาน"', page.split('id="night-note"')[1])
    assert 'data-fate="superseded"' in client.get(f"/submissions/{submission}").text
    with portal.connect() as conn:  # what `make withdraw` records (its rebuild of the marts aside)
        withdraw(conn, outcomes[0].path, "ส่งผิดไฟล์ sent by mistake")
    page = html.unescape(client.get(f"/submissions/{later}").text)
    assert 'data-fate="withdrawn"' in page and "ส่งผิดไฟล์ sent by mistake" in page
    assert 'data-fate="loaded"' in client.get(f"/submissions/{submission}").text  # no longer superseded


def test_another_agency_sees_and_touches_nothing_of_the_first(portal):
    with portal.connect() as conn:
        (first,) = conn.execute("SELECT submission_id FROM ops.portal_submissions WHERE agency_id = %s",
                                (AGENCY_A,)).fetchone()
    other = _client(portal, "rd")
    assert other.get(f"/submissions/{first}").status_code == 404
    assert other.get("/submissions/999999").status_code == 404  # the same answer as another agency's
    home = other.get("/").text
    assert "/submissions/" not in home and "นำเข้าแล้ว" not in home
    named = html.unescape(_send(other, GOOD).text)  # a check of a file about the first agency says so
    assert "ระบุหน่วยงานอื่น: กรมบัญชีกลาง" in named.split('id="others"')[1].split("</div>")[0]
    before = _landed(portal)
    forged = _send(other, GOOD.replace(b"DG63-30", b"DG63-40"), action="submit", agency_id=AGENCY_A)
    assert forged.status_code == 403 and _landed(portal) == before
    operator = _client(portal, "ops")
    assert operator.get(f"/submissions/{first}").status_code == 200
    assert f"/submissions/{first}" in operator.get("/").text


def test_an_upload_over_the_nights_file_limit_is_refused_with_its_message(portal, monkeypatch):
    monkeypatch.setenv("DGWH_MAX_FILE_MB", "0.2")
    client = _client(portal, "cgd")
    before = _landed(portal)
    r = _send(client, GOOD + b"x" * 400_000, action="submit")
    assert r.status_code == 413 and "เกินขนาดสูงสุด 0.2 MB ต่อไฟล์" in r.text and "at most 0.2 MB" in r.text
    assert _landed(portal) == before
    small = _send(client, GOOD.replace(b"2566,", b"2566,", 1) + b"\n" * 10, action="check")
    assert small.status_code == 200



def test_a_zip_bomb_a_flood_and_a_traversing_agency_id_get_nowhere(portal, tmp_path, monkeypatch):
    from portal.app import create_app
    from tests.corpus.hostile import lying_zip_bomb

    operator = _client(portal, "ops")
    before = _landed(portal)
    bomb = lying_zip_bomb(tmp_path / "plan.xlsx").read_bytes()
    csrf = _csrf(operator.get("/").text)
    r = operator.post("/check", data={"csrf": csrf, "source": "integration_plan", "action": "submit",
                                      "agency_id": AGENCY_A}, files={"file": ("plan.xlsx", bomb)})
    assert r.status_code == 422 and "larger than its declared uncompressed size" in html.unescape(r.text)
    for agency in ("../../etc", f"{AGENCY_A}/../{AGENCY_B}", ""):
        r = _send(operator, GOOD.replace(b"DG63-30", b"DG63-60"), action="submit", agency_id=agency)
        assert r.status_code == 400, agency
    assert _landed(portal) == before

    monkeypatch.setenv("DGWH_PORTAL_CHECKS_PER_MINUTE", "2")
    portal.app, app = create_app(), portal.app
    try:
        client = _client(portal, "rd")
        assert [_send(client, GOOD).status_code for _ in range(3)] == [200, 200, 429]
        assert _send(_client(portal, "cgd"), GOOD).status_code == 200  # the limit is per account
    finally:
        portal.app = app


class _Tab:
    """One Chromium tab over the DevTools protocol: navigate, run JavaScript, attach a file to an input."""

    def __init__(self, browser) -> None:
        import httpx
        from websockets.sync.client import connect

        target = httpx.put(f"http://127.0.0.1:{browser.port}/json/new?about:blank", timeout=30).json()
        self.ws = connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.ids = iter(range(1, 100_000))
        self.loads = 0  # page loads seen and not yet waited for (one may arrive before a call's answer)
        self.call("Page.enable")

    def call(self, method: str, **params) -> dict:
        import json

        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=90))
            self.loads += message.get("method") == "Page.loadEventFired"
            if message.get("id") == n:
                assert "error" not in message, message
                return message.get("result", {})

    def loaded(self) -> None:
        """Wait for the next page load (a navigation or a form's answer)."""
        import json

        while not self.loads:
            self.loads += json.loads(self.ws.recv(timeout=90)).get("method") == "Page.loadEventFired"
        self.loads -= 1

    def js(self, expression: str) -> object:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def go(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.loaded()

    def click(self, selector: str) -> None:
        self.js(f"document.querySelector({selector!r}).click()")
        self.loaded()

    def attach(self, selector: str, path: Path) -> None:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node)


def test_in_a_browser_an_officer_reads_the_thai_message_fixes_the_row_and_submits(portal, tmp_path):
    """Headless Chromium (every outside host blocked): sign in, upload a report with a bad year, read the Thai
    message naming row and column, upload the corrected file, submit it, see the receipt and, once the night's
    load step ran, the file loaded."""
    import socket
    import threading
    import time

    import uvicorn

    from tests.offline_browser import OfflineChromium

    portal.use()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(portal.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    bad, good = tmp_path / "รายงานสถานะ 2566.csv", tmp_path / "รายงานสถานะ 2566 แก้ไข.csv"
    bad.write_bytes(BAD.replace(b"DG63-30", b"DG63-50"))
    good.write_bytes(GOOD.replace(b"DG63-30", b"DG63-50"))
    browser = OfflineChromium()
    try:
        tab = _Tab(browser)
        base = f"http://127.0.0.1:{port}"
        tab.go(f"{base}/login")
        tab.js(f"document.querySelector('[name=username]').value = 'cgd';"
               f"document.querySelector('[name=password]').value = {portal.passwords['cgd']!r}")
        tab.click("#sign-in")
        tab.attach("input[type=file]", bad)
        tab.click("#check")
        text = tab.js("document.body.innerText")
        assert 'แถวที่ 3 คอลัมน์ "ปีงบประมาณที่รายงาน" (reporting_fy_be) ต้องการ: ปี พ.ศ. ระหว่าง' in text, text
        assert tab.js("document.querySelector('tr.bad-row td.bad').innerText") == "2656"
        tab.attach("input[type=file]", good)
        tab.click("#submit")
        text = tab.js("document.body.innerText")
        assert "ใบรับไฟล์" in text and hashlib.sha256(good.read_bytes()).hexdigest() in text, text
        tab.click("#receipt ~ p a")
        assert tab.js("document.getElementById('fate').dataset.fate") == "waiting"
        outcomes = [o for batch in batches(new_files()) for o in process_files(batch, run_id="test-portal-browser")]
        assert [o.status for o in outcomes] == ["loaded"]
        mine = tab.js("location.href")
        tab.go(mine)
        assert tab.js("document.getElementById('fate').dataset.fate") == "loaded"
        tab.click("header form button")  # sign out; the second agency signs in and tries the same address
        tab.js(f"document.querySelector('[name=username]').value = 'rd';"
               f"document.querySelector('[name=password]').value = {portal.passwords['rd']!r}")
        tab.click("#sign-in")
        assert "กรมสรรพากร" in tab.js("document.querySelector('header').innerText")
        tab.go(mine)
        assert tab.js("document.getElementById('fate')") is None
        assert "ไม่พบรายการนี้" in tab.js("document.body.innerText")
        tab.ws.close()
    finally:
        browser.close()
        server.should_exit = True
        thread.join(30)


@pytest.mark.usefixtures("s3_server")
def test_a_submission_into_object_storage_is_what_the_night_discovers(portal, monkeypatch, tmp_path):
    """LANDING_ZONE as an S3 URL (moto's server, as tests/test_landing_object_storage.py): the file lands in one
    put under the agency's folder and discovery lists it with the receipt's hash."""
    import uuid

    import boto3

    from ingest.discover import discover
    from portal.landing import store

    bucket = f"dgwh-portal-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    monkeypatch.setenv("LANDING_ZONE", f"s3://{bucket}/landing")
    path = tmp_path / "upload.csv"
    path.write_bytes(GOOD)
    receipt = store(path, "project_reports", AGENCY_A, ".csv", hashlib.sha256(GOOD).hexdigest())
    (found,) = discover(f"s3://{bucket}/landing")
    assert (found.relative_path, found.sha256, found.source) == (
        receipt.relative_path, receipt.sha256, "project_reports")
    assert found.relative_path.startswith(f"project_reports/{AGENCY_A}/portal-")
