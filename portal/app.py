"""The agencies' submission page (FastAPI, pages rendered on the server with Jinja2, Thai first, English beside).

Sign in; upload a CSV or XLSX and see the night's verdict (``nightly.check``); submit it into the landing zone
under the agency's own folder (``portal.landing``) with a receipt; follow each submission's fate and what the
agency still owes this fiscal year (``portal.follow``). Sessions are signed cookies (``DGWH_PORTAL_SECRET``, else a
generated secret in the state folder); every POST form carries the session's CSRF token. An agency account sees
and submits for its own agency only; an operator sees every agency.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import defaultdict, deque
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware.sessions import SessionMiddleware
from starlette.templating import Jinja2Templates

from ground.files import private_dir
from ground.registry import alias_keys, official_names
from ground.settings import Settings, get_settings, plausible_fiscal_years
from ground.sources import SOURCES, Source
from ground.thai import name_key
from ground.warehouse import connect
from ingest.readers import FileLimits, FileRejected
from nightly.check import ACCEPTED, REJECTED, ROWS_REJECTED, CheckResult, check_file
from nightly.feedback import column_label, explain, file_problem
from portal import accounts, follow, landing

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
BANGKOK = ZoneInfo("Asia/Bangkok")
# What a multipart body may add to the file it carries (boundaries, the other fields).
FORM_OVERHEAD = 64 * 1024
MAX_TABLE_ROWS = 200
VERDICTS = {ACCEPTED: ("ผ่านการตรวจสอบ ไฟล์นี้จะนำเข้าได้ทั้งไฟล์", "Accepted: the night would load the whole file"),
            ROWS_REJECTED: ("นำเข้าได้ ยกเว้นบางแถวที่ไม่ผ่านการตรวจสอบ", "The night would load it without the rows below"),
            REJECTED: ("ไม่ผ่านการตรวจสอบ ไฟล์นี้จะไม่ถูกนำเข้า", "Rejected: the night would not load this file")}


def _secret(settings: Settings) -> str:
    """The session-signing secret: ``DGWH_PORTAL_SECRET``, else one generated once into the state folder (0600)."""
    if os.environ.get("DGWH_PORTAL_SECRET"):
        return os.environ["DGWH_PORTAL_SECRET"]
    path = private_dir(settings.state_dir / "portal") / "session_secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _too_large(size: int, limits: FileLimits) -> FileRejected:
    """The night's reader's own refusal of a file over ``DGWH_MAX_FILE_MB``."""
    from ingest.readers import _too_large as readers_too_large

    return readers_too_large(size, limits, 0)


class UploadLimit:
    """Counts a request body as it arrives; past the night's file limit (plus a form's overhead) reading it raises
    ``TooLarge``, so no more of it is read or spooled to disk."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        limit = FileLimits.from_env().max_bytes + FORM_OVERHEAD
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(seen)
            return message

        await self.app(scope, limited, send)


class Window:
    """At most ``limit`` events per key in any ``seconds`` (this process's memory)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.recent: dict[object, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def _recent(self, key: object, now: float) -> deque[float]:
        times = self.recent[key]
        while times and now - times[0] > self.seconds:
            times.popleft()
        return times

    def full(self, key: object) -> bool:
        with self.lock:
            return len(self._recent(key, time.monotonic())) >= self.limit

    def allow(self, key: object) -> bool:
        """Count one event, unless the window is full (then False)."""
        now = time.monotonic()
        with self.lock:
            times = self._recent(key, now)
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True


class Flood(Window):
    """At most ``DGWH_PORTAL_CHECKS_PER_MINUTE`` checks per account in any minute (default 20) and
    ``DGWH_PORTAL_CHECKS_AT_ONCE`` (default 2) checks running at once in this process."""

    def __init__(self) -> None:
        super().__init__(int(os.environ.get("DGWH_PORTAL_CHECKS_PER_MINUTE") or 20), 60)
        self.running = threading.BoundedSemaphore(int(os.environ.get("DGWH_PORTAL_CHECKS_AT_ONCE") or 2))


# Sent with every page: nothing from another origin, no script, no framing, nothing cached.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
FAILED_LOGINS = (10, 900)  # per user name: at most 10 failed sign-ins in 15 minutes


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else ("-" if n is None else n)
    env.filters["bkk"] = lambda d: d.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M") if d else "-"
    return env


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="dgwh portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=_secret(settings), session_cookie="dgwh_portal",
                       max_age=8 * 3600, same_site="strict",
                       https_only=os.environ.get("DGWH_PORTAL_HTTPS_ONLY", "0") == "1")
    app.add_middleware(UploadLimit)
    templates = Jinja2Templates(env=_environment())
    flood = Flood()
    failed_logins = Window(*FAILED_LOGINS)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
    uploads = settings.state_dir / "portal" / "uploads"

    def csrf_token(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(32)
        return request.session["csrf"]

    def csrf_ok(request: Request, form) -> bool:
        sent, kept = form.get("csrf"), request.session.get("csrf")
        return isinstance(sent, str) and bool(kept) and hmac.compare_digest(sent, kept)

    def current_user(request: Request) -> accounts.User | None:
        user_id = request.session.get("user_id")
        if not isinstance(user_id, int):
            return None
        with connect(autocommit=True) as conn:
            return accounts.get_user(conn, user_id)

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        agencies = official_names()
        titles = {n: (s.title_th, s.title_en) for n, s in SOURCES.items()}
        return templates.TemplateResponse(request, name, {"csrf": csrf_token(request), "agencies": agencies,
                                                          "fates": follow.FATES, "titles": titles, **context},
                                          status_code=status)

    def sources_for(user: accounts.User) -> list[Source]:
        """What an account may send: an agency's own sources (not the budget books others extract)."""
        return [s for s in SOURCES.values() if user.is_operator or not s.third_party]

    def home(request: Request, user: accounts.User, status: int = 200, fiscal_year: int | None = None,
             **context) -> HTMLResponse:
        context.setdefault("refusal", None)
        scope = None if user.is_operator else user.agency_id
        current = follow.fiscal_year_be(datetime.now(BANGKOK).date())
        first, _last = plausible_fiscal_years()
        fiscal_year = fiscal_year if fiscal_year and first <= fiscal_year <= current else current
        with connect(autocommit=True) as conn:
            subs = follow.submissions(conn, scope)
            owed = follow.coverage(conn, scope, fiscal_year)
        return page(request, "home.html.j2", status, user=user, submissions=subs, owed=owed, fiscal_year=fiscal_year,
                    years=range(current, first - 1, -1), sources=sources_for(user), types=follow.SUBMISSION_TYPES,
                    **context)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return page(request, "login.html.j2", error=None)

    @app.post("/login", response_model=None)
    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        if not csrf_ok(request, form):
            return page(request, "login.html.j2", 403, error="csrf")
        username, password = str(form.get("username") or "")[:64], str(form.get("password") or "")[:256]
        if failed_logins.full(username.strip()):
            return page(request, "login.html.j2", 429, error="throttled")

        def check() -> accounts.User | None:
            with connect(autocommit=True) as conn:
                return accounts.authenticate(conn, username, password)

        user = await run_in_threadpool(check)
        if user is None:
            failed_logins.allow(username.strip())
            return page(request, "login.html.j2", 401, error="login")
        request.session.clear()  # a new session on sign-in: nothing from before carries over
        request.session.update({"user_id": user.user_id, "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse("/", status_code=303)

    @app.post("/logout", response_model=None)
    async def logout(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        if csrf_ok(request, form):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse, response_model=None)
    def index(request: Request, fy: int | None = None) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return home(request, user, fiscal_year=fy)

    @app.get("/submissions/{submission_id}", response_class=HTMLResponse, response_model=None)
    def submission(request: Request, submission_id: int) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        with connect(autocommit=True) as conn:
            found = follow.submissions(conn, None if user.is_operator else user.agency_id, submission_id)
            if not found:  # another agency's, or none: the same answer
                return page(request, "missing.html.j2", 404, user=user)
            sub = found[0]
            rows = follow.rejected_rows(conn, sub.file_id) if sub.file_id else []
        return page(request, "submission.html.j2", user=user, sub=sub, rows=rows, note=follow.night_note(sub))

    @app.post("/check", response_model=None)
    async def check(request: Request) -> Response:
        """The form is read here (its size counted as it arrives); everything else runs in a worker thread."""
        limits = FileLimits.from_env()
        declared = request.headers.get("content-length", "")
        try:
            if declared.isdigit() and int(declared) > limits.max_bytes + FORM_OVERHEAD:
                raise TooLarge(int(declared))
            form = await request.form(max_files=1, max_fields=10)
        except TooLarge as exc:
            refused = _too_large(exc.size, limits)
            return await run_in_threadpool(refuse, request, 413, (refused.message_th, refused.message_en,
                                                                  *reversed(file_problem(refused.code))))
        try:
            return await run_in_threadpool(check_form, request, form)
        finally:
            await form.close()

    def refuse(request: Request, status: int, refusal: tuple) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return home(request, user, status, refusal=refusal)

    def check_form(request: Request, form) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        if not csrf_ok(request, form):
            return home(request, user, 403, refusal=("คำขอไม่ถูกต้อง กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง",
                                                      "The form expired or was not sent from this page: reload "
                                                      "the page and try again", None, None))
        source_name = str(form.get("source") or "")
        agency_id = str(form.get("agency_id") or "") if user.is_operator else user.agency_id
        if not user.is_operator and form.get("agency_id") not in (None, "", user.agency_id):
            return page(request, "missing.html.j2", 403, user=user)
        upload = form.get("file")
        if source_name not in {s.name for s in sources_for(user)} or not isinstance(upload, UploadFile):
            return home(request, user, 400, refusal=("กรุณาเลือกประเภทข้อมูลและไฟล์", "Choose a submission type "
                                                      "and a file", None, None))
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in SOURCES[source_name].file_types:
            en, th = file_problem("file_type")
            return home(request, user, 400, refusal=(th, en, None, None))
        submitting = str(form.get("action") or "check") == "submit"
        if submitting and (not agency_id or agency_id not in official_names()):
            return home(request, user, 400, refusal=("กรุณาเลือกหน่วยงานที่จะส่งไฟล์ให้",
                                                      "Choose the agency the file is for", None, None))
        if not flood.allow(user.user_id):
            return home(request, user, 429, refusal=("ส่งไฟล์ตรวจบ่อยเกินไป กรุณารอสักครู่แล้วลองใหม่",
                                                      "Too many checks in a minute: wait a moment and try again",
                                                      None, None))
        work = Path(tempfile.mkdtemp(prefix="check-", dir=private_dir(uploads)))
        try:
            path = work / f"upload{suffix}"
            with open(path, "wb") as out:
                upload.file.seek(0)
                shutil.copyfileobj(upload.file, out, 1 << 20)
            with flood.running:
                result = check_file(path, source_name, _shown_name(upload.filename or ""), None, settings)
            if submitting:
                return submit(request, user, agency_id, result, path, suffix, form.get("confirm") == "yes")
            return checked(request, user, result, agency_id)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def checked(request: Request, user: accounts.User, result: CheckResult, agency_id: str | None,
                status: int = 200, note: tuple[str, str] | None = None) -> HTMLResponse:
        with connect(autocommit=True) as conn:
            held = conn.execute("SELECT path, status, processed_at FROM ops.file_ledger "
                                "WHERE source = %s AND content_sha256 = %s",
                                (result.source.name, result.sha256)).fetchone()
        if held and not user.is_operator:
            held = (None, *held[1:])  # another agency's path is not this agency's to see
        return page(request, "check.html.j2", status, user=user, result=result, table=_table(result),
                    verdicts=VERDICTS, agency_id=agency_id, held=held, note=note,
                    sources=sources_for(user), others=_other_agencies(result, agency_id))

    def submit(request: Request, user: accounts.User, agency_id: str, result: CheckResult, path: Path,
               suffix: str, confirmed: bool) -> HTMLResponse:
        if result.status == REJECTED:
            return checked(request, user, result, agency_id, 422,
                           ("ไฟล์นี้ไม่ผ่านการตรวจสอบ จึงยังไม่ได้ส่ง กรุณาแก้ไขแล้วตรวจอีกครั้ง",
                            "This file was not submitted: the night would reject it. Fix it and check it again."))
        if result.status == ROWS_REJECTED and not confirmed:
            return checked(request, user, result, agency_id, 422,
                           ("ยังไม่ได้ส่ง: มีบางแถวไม่ผ่านการตรวจสอบ หากต้องการส่ง กรุณาทำเครื่องหมายยืนยัน",
                            "Not submitted yet: some rows fail. Tick the confirmation to send it without them."))
        with connect(autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM ops.file_ledger WHERE source = %s AND content_sha256 = %s UNION ALL "
                            "SELECT 1 FROM ops.portal_submissions WHERE source = %s AND content_sha256 = %s",
                            (result.source.name, result.sha256) * 2).fetchone():
                return checked(request, user, result, agency_id, 409,
                               ("ไฟล์นี้ (เนื้อหาเดียวกันทุกไบต์) ได้รับแล้ว จึงไม่ส่งซ้ำ",
                                "These exact bytes were received already: not submitted again"))
            receipt = landing.store(path, result.source.name, agency_id, suffix, result.sha256, settings)
            submission_id = conn.execute(
                """INSERT INTO ops.portal_submissions (user_id, agency_id, source, original_name, landing_path,
                   content_sha256, size_bytes, verdict, rows_in, rows_rejected, night_of, submitted_at, client_addr)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING submission_id""",
                (user.user_id, agency_id, result.source.name, result.label, receipt.relative_path, receipt.sha256,
                 receipt.size_bytes, result.status, result.verdict.rows_in, result.verdict.rows_rejected,
                 receipt.night_of, receipt.submitted_at, request.client.host if request.client else None),
            ).fetchone()[0]
        log.info("portal: %s submitted %s for %s as %s", user.username, result.source.name, agency_id,
                 receipt.relative_path)
        return page(request, "receipt.html.j2", user=user, receipt=receipt, result=result, agency_id=agency_id,
                    submission_id=submission_id, verdicts=VERDICTS)

    return app


def _shown_name(filename: str) -> str:
    """The officer's file name as shown and kept in the receipt: its last part, printable, at most 200 characters
    (never used as a path)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())[:200].strip()
    return name or "file"


def _other_agencies(result: CheckResult, agency_id: str | None) -> list[str]:
    """Registered agencies other than ``agency_id`` that rows of the file name (as the file writes them)."""
    if result.parsed is None or not agency_id:
        return []
    keys = alias_keys()
    column = result.source.agency_column
    names = {str(r[column]) for r in result.parsed.records if r.get(column)}
    return sorted(n for n in names if keys.get(name_key(n), agency_id) != agency_id)[:20]


def _as_written(source: Source, name: str, value: object) -> object:
    """A parsed value as a person reads it: a code of a list (enum) as its first Thai spelling."""
    spellings = source.columns_by_name[name].values if name in source.columns_by_name else None
    if not spellings or value is None:
        return value
    return "; ".join(spellings[code][0] if spellings.get(code) else code for code in str(value).split(";"))


def _table(result: CheckResult) -> dict | None:
    """The rows to show (failing ones first, at most ``MAX_TABLE_ROWS``) with each failing cell's reason."""
    parsed = result.parsed
    if parsed is None or not parsed.records:
        return None
    source = result.source
    bad: dict[tuple[int, str], list[str]] = defaultdict(list)
    shown_value: dict[tuple[int, str], str] = {}
    for failure in result.verdict.failures:
        if failure.get("severity") != "critical":
            continue
        x = explain(failure, source)
        why = f"ต้องการ {x.expected_th} · expected {x.expected_en}"
        columns = str(failure.get("column") or "").split(",")
        if failure["expectation"] == "expect_compound_columns_to_be_unique":
            columns = list((failure.get("kwargs") or {}).get("column_list") or columns)
        for row in failure.get("rows", []):
            for column in columns:
                bad[(row, column)].append(why)
    for issue in result.verdict.row_issues:
        for column in (issue.column or "").split(","):
            bad.setdefault((issue.row, column), [])
            if issue.value is not None:
                shown_value[(issue.row, column)] = str(issue.value)
    bad_rows = {row for row, _ in bad}
    columns = [c.name for c in source.columns if any(c.name in r for r in parsed.records[:1])]
    records = sorted(parsed.records, key=lambda r: (int(r["source_row"]) not in bad_rows, int(r["source_row"])))
    rows = []
    for rec in records[:MAX_TABLE_ROWS]:
        row = int(rec["source_row"])
        if bad_rows and row not in bad_rows and len(rows) >= 20:
            break
        cells = []
        for name in columns:
            value = shown_value.get((row, name), _as_written(source, name, rec.get(name)))
            cells.append({"value": "" if value is None else str(value), "bad": (row, name) in bad,
                          "why": "; ".join(dict.fromkeys(bad.get((row, name), [])))})
        rows.append({"row": row, "sheet": rec.get("source_sheet"), "bad": row in bad_rows, "cells": cells})
    headers = [column_label(source, name)[1] for name in columns]
    return {"headers": headers, "rows": rows, "bad_rows": len(bad_rows), "total": len(parsed.records)}
