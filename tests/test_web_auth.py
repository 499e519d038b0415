"""Signing in and out of the web app: the password form, CSRF, lockout, sessions, and
OpenID Connect against a local provider stub (Entra-style claims) served on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from joinedup.access import create_user, disable_user
from joinedup.web import create_app

PASSWORD = "correct horse battery"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _error(html: str) -> str:
    return re.search(r'id="error-message">([^<]+)<', html).group(1)


@pytest.fixture
def app(tmp_path: Path):
    (tmp_path / "partnership.yaml").write_text(
        "auth:\n  max_failed_logins: 3\n  session_idle_minutes: 30\n", encoding="utf-8"
    )
    app = create_app(tmp_path)
    create_user(
        app.state.governance.state,
        username="ann",
        display_name="Ann Analyst",
        agency="police",
        roles=["analyst"],
        password=PASSWORD,
        actor="t",
    )
    return app


def _sign_in(client: TestClient, username: str, password: str, next_path: str = "/account"):
    token = _csrf(client.get(f"/sign-in?next={next_path}").text)
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def test_anonymous_visitors_are_sent_to_sign_in(app) -> None:
    client = TestClient(app)
    r = client.get("/account?x=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2Faccount%3Fx%3D1"
    j = client.get("/account.json")
    assert j.status_code == 401
    assert j.json() == {
        "error": {"status": 401, "title": "Unauthorized", "detail": "Sign in to see this page."}
    }
    page = client.get("/sign-in")
    assert page.status_code == 200 and "<script" not in page.text
    assert 'autocomplete="current-password"' in page.text
    assert client.get("/sign-in.json").json()["methods"] == ["password"]


def test_sign_in_and_out(app) -> None:
    client = TestClient(app)
    r = _sign_in(client, "ann", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/account"
    cookie = r.headers["set-cookie"]
    assert "joinedup_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = client.get("/account.json").json()
    assert (me["username"], me["agency"], me["tiers"]) == ("ann", "police", ["strategic"])
    page = client.get("/account")
    assert 'id="signed-in-as"' in page.text
    # signing out needs the session's CSRF token
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    out = client.post("/sign-out", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("joinedup_session", r.cookies["joinedup_session"])  # replayed cookie
    assert client.get("/account.json").status_code == 401
    actions = [e.action for e in app.state.governance.state.audit.entries(newest_first=False)]
    assert actions == ["user_created", "sign_in", "sign_out"]


def test_wrong_password_csrf_and_lockout(app) -> None:
    client = TestClient(app)
    r = client.post("/sign-in", data={"username": "ann", "password": PASSWORD})
    assert r.status_code == 400 and "form had expired" in _error(r.text)
    for _ in range(3):
        r = _sign_in(client, "ann", "not the password")
        assert r.status_code == 401
        assert _error(r.text) == "The username or password is not right. Check them and try again."
        assert PASSWORD not in r.text
    r = _sign_in(client, "ann", PASSWORD)
    assert r.status_code == 429 and "locked after 3 failed sign-ins" in _error(r.text)
    assert client.get("/account.json").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil"])
def test_next_never_leaves_the_site(app, target) -> None:
    r = _sign_in(TestClient(app), "ann", PASSWORD, next_path=target)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_disabling_a_user_ends_their_session(app) -> None:
    client = TestClient(app)
    _sign_in(client, "ann", PASSWORD)
    assert client.get("/account.json").status_code == 200
    disable_user(app.state.governance.state, username="ann", actor="admin")
    assert client.get("/account.json").status_code == 401


# --- OpenID Connect against a local provider stub -----------------------------------


class Provider:
    """A minimal OpenID provider: discovery, JWKS, authorize (auto-consent), token."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.codes: dict[str, dict] = {}
        self.claims = {
            "oid": "00000000-aaaa-4bbb-8ccc-000000000001",
            "tid": "tenant-1",
            "preferred_username": "jo@police.example",
        }
        self.nonce_override: str | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/tenant-1/v2.0"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _json(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                base = provider.issuer
                if url.path.endswith("/.well-known/openid-configuration"):
                    self._json(
                        {
                            "issuer": base,
                            "authorization_endpoint": base + "/authorize",
                            "token_endpoint": base + "/token",
                            "jwks_uri": base + "/keys",
                            "id_token_signing_alg_values_supported": ["RS256"],
                        }
                    )
                elif url.path.endswith("/keys"):
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                elif url.path.endswith("/authorize"):
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = q
                    self.send_response(302)
                    back = urlencode({"code": code, "state": q["state"]})
                    self.send_header("Location", f"{q['redirect_uri']}?{back}")
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                q = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if q is None or q["code_challenge"] != challenge or q["client_id"] != "jdu":
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                claims = {
                    "iss": provider.issuer,
                    "aud": q["client_id"],
                    "sub": "pairwise-sub",
                    "iat": now,
                    "exp": now + 600,
                    "nonce": provider.nonce_override or q["nonce"],
                    **provider.claims,
                }
                token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, provider.key)
                self._json({"access_token": "at", "token_type": "Bearer", "id_token": token})

        return Handler


@pytest.fixture
def provider():
    p = Provider()
    yield p
    p.close()


@pytest.fixture
def oidc_app(tmp_path: Path, provider: Provider):
    (tmp_path / "partnership.yaml").write_text(
        "auth:\n"
        "  oidc:\n"
        f"    issuer: {provider.issuer}\n"
        "    client_id: jdu\n"
        "    label: Sign in with Microsoft\n"
        "    allowed_tenants: [tenant-1]\n",
        encoding="utf-8",
    )
    app = create_app(tmp_path)
    create_user(
        app.state.governance.state,
        username="jo@police.example",
        display_name="Jo",
        agency="police",
        roles=["panel_member"],
        actor="admin",
    )
    return app


def _oidc_round_trip(client: TestClient) -> httpx.Response:
    start = client.get("/auth/oidc/start?next=/account.json", follow_redirects=False)
    assert start.status_code == 303
    authorize = httpx.get(start.headers["location"], follow_redirects=False)
    assert authorize.status_code == 302
    back = urlsplit(authorize.headers["location"])
    assert back.path == "/auth/oidc/callback"
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def test_oidc_sign_in_binds_the_account(oidc_app, provider) -> None:
    client = TestClient(oidc_app)
    page = client.get("/sign-in").text
    assert "Sign in with Microsoft" in page
    r = _oidc_round_trip(client)
    assert r.status_code == 303 and r.headers["location"] == "/account.json"
    me = client.get("/account.json").json()
    assert (me["username"], me["signed_in_with"], me["tiers"][0]) == (
        "jo@police.example",
        "oidc",
        "operational",
    )
    state = oidc_app.state.governance.state
    assert [e.action for e in state.audit.entries(newest_first=False)][-2:] == [
        "oidc_bound",
        "sign_in",
    ]
    # bound to the provider's id: a new username claim for the same oid still signs in
    provider.claims["preferred_username"] = "renamed@police.example"
    other = TestClient(oidc_app)
    assert _oidc_round_trip(other).status_code == 303


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nonce": "forged"}, "could not be verified"),
        ({"tid": "other-tenant"}, "cannot sign in here"),
        (
            {"oid": "someone-else", "preferred_username": "stranger@example"},
            "do not have a joinedup account",
        ),
    ],
)
def test_oidc_refusals(oidc_app, provider, change, message) -> None:
    if "nonce" in change:
        provider.nonce_override = change["nonce"]
    else:
        provider.claims.update(change)
    client = TestClient(oidc_app)
    r = _oidc_round_trip(client)
    assert r.status_code == 401 and message in _error(r.text)
    assert client.get("/account.json").status_code == 401
    failed = oidc_app.state.governance.state.audit.entries(actions=["sign_in_failed"])
    assert failed and failed[0].detail["method"] == "oidc"


def test_oidc_callback_cannot_be_replayed(oidc_app) -> None:
    client = TestClient(oidc_app)
    start = client.get("/auth/oidc/start", follow_redirects=False)
    back = urlsplit(httpx.get(start.headers["location"]).headers["location"])
    assert client.get(f"{back.path}?{back.query}", follow_redirects=False).status_code == 303
    again = TestClient(oidc_app).get(f"{back.path}?{back.query}", follow_redirects=False)
    assert again.status_code == 401 and "expired or was already used" in _error(again.text)
