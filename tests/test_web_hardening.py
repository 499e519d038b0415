"""Hardening of the web app (issue 11): sign-in before bodies and a request-size limit
(item 4), sign-in that resists abuse (item 7), security headers on every response (item
9), an access log without query strings or identifiers and a clear answer to a bad
audit offset (item 10)."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from pathlib import Path

import anyio
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.access import SESSION_COOKIE, SignInError, authenticate, create_user, start_session
from joinedup.access.signin import flush_sign_in_audit
from joinedup.config.model import AuthConfig
from joinedup.state import open_state
from joinedup.web import create_app
from joinedup.web.middleware import CONTENT_SECURITY_POLICY

UPLOAD = "/releases/sources/police_missing/upload"
PASSWORD = "correct horse battery"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hardening") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def app(partnership: Path):
    app = create_app(partnership)
    yield app
    app.state.governance.close()


def _cookie(app, role: str, username: str) -> str:
    state = app.state.governance.state
    user = create_user(
        state, username=username, display_name="T", agency="police", roles=[role], actor="t"
    )
    return start_session(state, user, method="password", client="testclient").token


# --- item 4: sign-in before bodies, a request-size limit --------------------------------


class Sent:
    """What an ASGI app answered, and how many bytes of the request body it took."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.consumed = 0


def _asgi(
    app,
    method: str,
    path: str,
    chunks: Iterable[bytes],
    headers: dict[str, str],
) -> Sent:
    """Call the app as a server would, feeding the body one chunk per ``receive``."""
    sent = Sent()
    body: Iterator[bytes] = iter(chunks)
    pending = next(body, None)

    async def receive():
        nonlocal pending
        if pending is None:
            return {"type": "http.disconnect"}
        chunk, pending = pending, next(body, None)
        sent.consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pending is not None}

    async def send(message):
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("192.0.2.10", 50000),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        await app(scope, receive, send)

    anyio.run(run)
    return sent


def _multipart(total: int, chunk: int = MB) -> Iterator[bytes]:
    """A multipart body of about ``total`` bytes, made as it is read."""
    yield (
        b'--XyZ\r\nContent-Disposition: form-data; name="extract"; filename="big.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n"
    )
    block = b"a" * chunk
    for _ in range(total // chunk):
        yield block
    yield b"\r\n--XyZ--\r\n"


def _form_headers(length: int | None, cookie: str | None = None) -> dict[str, str]:
    headers = {"content-type": "multipart/form-data; boundary=XyZ", "accept": "application/json"}
    if length is None:
        headers["transfer-encoding"] = "chunked"
    else:
        headers["content-length"] = str(length)
    if cookie:
        headers["cookie"] = f"{SESSION_COOKIE}={cookie}"
    return headers


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_upload_without_a_session_is_refused_before_its_body_is_read(app, declared) -> None:
    size = 300 * MB
    r = _asgi(app, "POST", UPLOAD, _multipart(size), _form_headers(size if declared else None))
    assert r.status == 401
    assert r.consumed == 0  # today the whole 300 MB was read and spooled to disk
    assert r.headers["connection"] == "close"  # the server does not go on reading it


def test_upload_without_permission_is_refused_before_its_body_is_read(app) -> None:
    cookie = _cookie(app, "analyst", "hardening-analyst")
    size = 50 * MB
    r = _asgi(app, "POST", UPLOAD, _multipart(size), _form_headers(size, cookie))
    assert r.status == 403 and r.consumed == 0


def test_upload_over_the_declared_size_is_refused_before_its_body_is_read(app) -> None:
    cookie = _cookie(app, "data_lead", "hardening-lead")
    app.state.upload_max_bytes = 1000
    try:
        declared = _asgi(app, "POST", UPLOAD, _multipart(5 * MB), _form_headers(5 * MB, cookie))
        chunked = _asgi(
            app, "POST", UPLOAD, _multipart(5 * MB, 64 * 1024), _form_headers(None, cookie)
        )
    finally:
        del app.state.upload_max_bytes
    message = (
        "The file is larger than the 1,000 bytes the web app accepts. Split the extract by "
        "date, or ask the partnership's administrator to put it in the partnership folder "
        "and run `joinedup build`."
    )
    assert declared.status == 413 and declared.consumed == 0
    assert '"detail":"' + message + '"' in declared.body.decode()
    assert chunked.status == 413
    assert chunked.consumed <= 1000 + MB + 64 * 1024  # cut at the limit, not read to the end
    assert message in chunked.body.decode()


GLOBAL_413 = "The request is larger than the 1.0 MB this app accepts for it, so it was not read."


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/sign-in"), ("GET", "/healthz"), ("POST", "/releases/build"), ("PUT", "/nowhere")],
)
def test_a_body_over_the_limit_is_refused_on_any_route(app, method, path) -> None:
    big = 2 * MB
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    declared = _asgi(app, method, path, [b"a" * big], {**headers, "content-length": str(big)})
    assert declared.status == 413 and declared.consumed == 0
    assert declared.body.decode() == (
        '{"error":{"status":413,"title":"'
        + HTTPStatus(413).phrase
        + '","detail":"'
        + GLOBAL_413
        + '"}}'
    )
    chunks = (b"a" * (64 * 1024) for _ in range(64))  # 4 MB, no length declared
    chunked = _asgi(app, method, path, chunks, {**headers, "transfer-encoding": "chunked"})
    assert chunked.consumed <= MB + 64 * 1024  # cut at the limit
    if chunked.status != 413:  # a route that never reads a body answers without it
        assert chunked.headers["connection"] == "close"
    else:
        assert GLOBAL_413 in chunked.body.decode()
    if path == "/sign-in":
        assert chunked.status == 413


def test_the_request_limit_is_configurable_and_forms_under_it_work(tmp_path: Path) -> None:
    (tmp_path / "partnership.yaml").write_text("web:\n  max_request_kb: 16\n", encoding="utf-8")
    client = TestClient(create_app(tmp_path))
    r = client.post("/sign-in", data={"username": "x" * 20_000}, headers={"accept": "text/html"})
    assert r.status_code == 413
    assert "The request is larger than the 16.0 KB this app accepts for it" in r.text
    r = client.post("/sign-in", data={"username": "ann", "password": "x"})
    assert r.status_code == 400 and "form had expired" in r.text  # read, then judged


# --- item 7: sign-in that resists abuse -------------------------------------------------


@pytest.fixture
def st(tmp_path: Path):
    with open_state(tmp_path) as state:
        create_user(
            state,
            username="ann",
            display_name="Ann",
            agency="police",
            roles=["analyst"],
            password=PASSWORD,
            actor="t",
        )
        yield state


def _refused(st, auth: AuthConfig, client: str, password: str = "wrong password") -> str:
    with pytest.raises(SignInError) as err:
        authenticate(st, auth, username="ann", password=password, client=client)
    return err.value.reason


def test_wrong_passwords_elsewhere_do_not_lock_a_person_out_of_their_own_address(st) -> None:
    auth = AuthConfig()  # 5 failed sign-ins lock
    for n in range(5):
        assert _refused(st, auth, f"198.51.100.{n}") == "wrong_password"
    user = authenticate(st, auth, username="ann", password=PASSWORD, client="192.0.2.7")
    assert user.username == "ann"
    # at one address, five wrong passwords still lock that address
    for _ in range(5):
        assert _refused(st, auth, "198.51.100.99") == "wrong_password"
    with pytest.raises(SignInError, match="locked after 5 failed sign-ins from your address"):
        authenticate(st, auth, username="ann", password=PASSWORD, client="198.51.100.99")
    assert authenticate(st, auth, username="ann", password=PASSWORD, client="192.0.2.7")


def test_a_guess_spread_over_many_addresses_is_stopped_where_the_person_never_signed_in(
    st,
) -> None:
    auth = AuthConfig(account_max_failed_logins=6)
    authenticate(st, auth, username="ann", password=PASSWORD, client="192.0.2.7")  # known
    for n in range(6):
        _refused(st, auth, f"198.51.100.{n}")
    with pytest.raises(SignInError) as err:
        authenticate(st, auth, username="ann", password=PASSWORD, client="203.0.113.1")
    assert err.value.reason == "locked"
    assert str(err.value) == (
        "There have been many failed sign-ins to this account from other addresses, so it is "
        "refused from addresses it has not signed in from lately. Sign in from where you "
        "usually do, try again in 15 minutes, or ask an administrator to unlock it."
    )
    assert authenticate(st, auth, username="ann", password=PASSWORD, client="192.0.2.7")


def test_one_address_spraying_is_still_stopped(st) -> None:
    auth = AuthConfig(rate_limit_attempts=4)
    for n in range(4):
        with pytest.raises(SignInError):
            authenticate(st, auth, username=f"user{n}", password="x", client="198.51.100.1")
    with pytest.raises(SignInError) as err:
        authenticate(st, auth, username="ann", password=PASSWORD, client="198.51.100.1")
    assert err.value.reason == "rate_limited"


def test_refused_attempts_are_counted_in_a_summary_not_one_entry_each(st) -> None:
    auth = AuthConfig(max_failed_logins=3)
    for _ in range(3):
        _refused(st, auth, "198.51.100.1")
    for _ in range(300):
        assert _refused(st, auth, "198.51.100.1") == "locked"
    assert flush_sign_in_audit(st) == 2  # the failures' summary and the refusals'
    entries = [e for e in st.audit.entries(newest_first=False) if e.action.startswith("sign_in")]
    assert len(entries) <= 4  # today: 303
    assert [e.action for e in entries] == [
        "sign_in_failed",
        "sign_in_refused",
        "sign_in_summary",
        "sign_in_summary",
    ]
    summaries = {e.detail["of"]: e.detail for e in entries if e.action == "sign_in_summary"}
    assert summaries["sign_in_refused"]["attempts"] == 300
    assert summaries["sign_in_refused"]["reasons"] == {"locked": 300}
    assert summaries["sign_in_failed"]["attempts"] == 3
    assert summaries["sign_in_failed"]["client"] == "198.51.100.1"
    assert all(e.target == "ann" for e in entries)


def test_a_successful_sign_in_writes_its_pending_summary_first(st) -> None:
    auth = AuthConfig()
    for _ in range(2):
        _refused(st, auth, "192.0.2.7")
    authenticate(st, auth, username="ann", password=PASSWORD, client="192.0.2.7")
    (summary,) = st.audit.entries(actions=["sign_in_summary"])
    assert summary.detail["attempts"] == 2 and summary.detail["reasons"] == {"wrong_password": 2}


@pytest.fixture
def proxied(tmp_path: Path):
    (tmp_path / "partnership.yaml").write_text(
        "web:\n  trusted_proxies: [10.0.0.1, 10.1.0.0/16]\n", encoding="utf-8"
    )
    app = create_app(tmp_path)
    yield app
    app.state.governance.close()


def _sign_in_from(app, peer: str, headers: dict[str, str]) -> str:
    """Try a wrong password from ``peer``; the address the audit recorded."""
    client = TestClient(app, client=(peer, 40000))
    page = client.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(
        "/sign-in",
        data={"username": "nobody", "password": "x", "csrf_token": token},
        headers=headers,
    )
    assert r.status_code == 401
    state = app.state.governance.state
    return state.audit.entries(actions=["sign_in_failed"], limit=1)[0].detail["client"]


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(proxied) -> None:
    forwarded = {"x-forwarded-for": "203.0.113.9"}
    assert _sign_in_from(proxied, "192.0.2.50", forwarded) == "192.0.2.50"
    assert _sign_in_from(proxied, "10.0.0.1", forwarded) == "203.0.113.9"
    # a chain through two trusted proxies: the nearest address that is not a proxy
    chain = {"x-forwarded-for": "198.51.100.1, 203.0.113.77, 10.1.2.3"}
    assert _sign_in_from(proxied, "10.0.0.1", chain) == "203.0.113.77"


def test_a_bad_trusted_proxies_entry_is_a_config_error(tmp_path: Path) -> None:
    from joinedup.access.settings import web_config
    from joinedup.errors import ConfigError

    (tmp_path / "partnership.yaml").write_text(
        "web:\n  trusted_proxies: [proxy.internal]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        web_config(tmp_path)
    assert "'proxy.internal' is not an IP address or network" in str(err.value.problems)


# --- item 9: security headers on every response ----------------------------------------

HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _all_routes(routes) -> list:
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out.extend(_all_routes(inner.routes) if inner is not None else [r])
    return out


def _has_headers(r, where: str) -> None:
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, f"{where}: {name}={r.headers.get(name)!r}"
    assert "strict-transport-security" not in r.headers, where  # plain http


def test_the_policy_is_strict() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    )
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_every_route_carries_the_security_headers(app) -> None:
    admin = TestClient(app)
    sign_in(admin, "admin", username="hardening-admin")
    anonymous = TestClient(app)
    checked = 0
    routes = [r for r in _all_routes(app.routes) if isinstance(r, APIRoute)]
    assert set(app.openapi()["paths"]) <= {r.path for r in routes}  # every described route
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted(route.methods):
            for who, client in (("admin", admin), ("anonymous", anonymous)):
                r = client.request(method, path, follow_redirects=False)
                _has_headers(r, f"{who} {method} {path} {r.status_code}")
                checked += 1
    assert checked > 60
    statuses = {
        "static": admin.get("/static/joinedup.css"),
        "404": anonymous.get("/no/such/page"),
        "redirect": anonymous.get("/overview", follow_redirects=False),
        "json 401": anonymous.get("/overview.json"),
    }
    for where, r in statuses.items():
        _has_headers(r, where)
    assert statuses["static"].status_code == 200


def test_server_errors_and_hsts(tmp_path: Path, proxied) -> None:
    app = create_app(tmp_path)

    def boom() -> None:
        raise RuntimeError("synthetic failure")

    app.add_api_route("/boom", boom)
    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500
    _has_headers(r, "500")
    https = TestClient(app, base_url="https://testserver").get("/healthz")
    assert https.headers["strict-transport-security"] == "max-age=31536000"
    _has_headers(TestClient(app).get("/healthz"), "http")
    # X-Forwarded-Proto: believed from a trusted proxy only
    proto = {"x-forwarded-proto": "https"}
    untrusted = TestClient(proxied, client=("192.0.2.50", 1)).get("/healthz", headers=proto)
    assert "strict-transport-security" not in untrusted.headers
    trusted = TestClient(proxied, client=("10.0.0.1", 1)).get("/healthz", headers=proto)
    assert trusted.headers["strict-transport-security"] == "max-age=31536000"


def test_templates_hold_no_inline_script_or_style() -> None:
    # served pages only: templates/print/ is printed to PDF, never served (its README)
    folder = Path(__file__).parent.parent / "src" / "joinedup" / "web" / "templates"
    for page in folder.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        where = page.name
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), where
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", text), where


# --- item 10: the access log and the audit offset ---------------------------------------


def test_the_access_log_has_route_templates_not_paths_or_queries(app, caplog) -> None:
    admin = TestClient(app)
    sign_in(admin, "admin", username="hardening-log-admin")
    person = "P" + "7" * 15
    with caplog.at_level(logging.INFO, logger="joinedup.web.access"):
        admin.get(f"/people/{person}?q=secret-query")
        admin.get("/overview.json?tier=strategic")
        admin.get("/static/joinedup.css?v=1")
        admin.get(f"/no/such/{person}")
    lines = [r.getMessage() for r in caplog.records if r.name == "joinedup.web.access"]
    assert len(lines) == 4
    text = "\n".join(lines)
    assert person not in text and "secret-query" not in text and "?" not in text
    assert '"GET /people/{person_id} HTTP/1.1" 403' in lines[0]  # admin: not person-level
    assert '"GET /overview.json HTTP/1.1" 200' in lines[1]
    assert '"GET /static/{path} HTTP/1.1" 200' in lines[2]
    assert '"GET (no route) HTTP/1.1" 404' in lines[3]


BAD_OFFSET = (
    "The offset must be a whole number from 0 to 1,000,000,000: how many of the newest "
    "entries to skip. Use the links on the page, or leave it out to start at the newest."
)


@pytest.mark.parametrize(
    "offset", ["99999999999999999999999999", "-1", "ten", "1e3", "1000000001", "٣"]
)
def test_a_bad_audit_offset_is_a_clear_422_not_a_500(app, offset) -> None:
    admin = TestClient(app, raise_server_exceptions=False)
    sign_in(admin, "admin", username=f"hardening-audit-{abs(hash(offset))}")
    r = admin.get("/audit.json", params={"offset": offset})
    assert r.status_code == 422
    assert r.json() == {
        "error": {"status": 422, "title": HTTPStatus(422).phrase, "detail": BAD_OFFSET}
    }
    page = admin.get("/audit", params={"offset": offset})
    assert page.status_code == 422 and "how many of the newest entries to skip" in page.text
    assert admin.get("/audit.json", params={"offset": "100"}).status_code == 200


# --- item 9 in a real browser: the policy breaks neither the script nor the charts -----


def test_the_policy_blocks_nothing_the_pages_use(app, partnership: Path) -> None:
    """Chromium with JavaScript on: the build page's progress script runs (updates the
    page, then reloads it when the build ends) and the overview's chart and the places
    map draw, with no Content-Security-Policy violation reported."""
    import threading

    from playwright.sync_api import sync_playwright

    from joinedup.errors import BuildError
    from joinedup.report.pdf import launch_chromium
    from joinedup.web.assets import ensure_assets
    from joinedup.web.builds import STAGES, BuildRunner
    from joinedup.web.live import live_server

    ensure_assets()
    step = threading.Event()
    finish = threading.Event()

    def slow_build(partnership_dir, *, progress):
        progress(STAGES[0][0], 1, 3)
        step.wait(60)
        progress(STAGES[0][0], 2, 3)
        finish.wait(60)
        raise BuildError("Synthetic stop for the browser test.")

    runner = BuildRunner(partnership, build=slow_build)
    app.state.builds = runner
    build_id = runner.start(started_by="hardening-browser")
    create_user(
        app.state.governance.state,
        username="hardening-browser",
        display_name="Browser",
        agency="police",
        roles=["admin"],
        password=PASSWORD,
        actor="t",
    )
    violations: list[str] = []
    try:
        with live_server(app) as url, sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_context().new_page()
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            page.goto(f"{url}/sign-in")
            page.fill("#username", "hardening-browser")
            page.fill("#password", PASSWORD)
            page.click("#sign-in-button")
            page.wait_for_url(f"{url}/")
            assert page.locator("svg[role=img]").first.bounding_box()["width"] > 0
            page.goto(f"{url}/places")
            assert page.locator("main svg").count() >= 1
            page.goto(f"{url}/releases/builds/{build_id}")
            assert page.locator("#build-progress").inner_text().endswith("1 of 3")
            step.set()
            page.wait_for_selector("#build-progress:has-text('2 of 3')", timeout=15_000)
            finish.set()
            page.wait_for_selector("#build-error", timeout=15_000)  # reloaded by the script
            browser.close()
    finally:
        step.set()
        finish.set()
        runner.wait(build_id, timeout=30)
        del app.state.builds
    assert not violations, violations
