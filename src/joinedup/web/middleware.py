"""What every request passes through before and after the routes (issue 11).

Outermost first (:func:`wrap`):

- :class:`AccessLog`: one line per request on the ``joinedup.web.access`` logger: the
  client, the method, the route's *template* (``/people/{person_id}``, never the path
  with its values, never the query string), the status and the time taken. ``serve``
  turns uvicorn's own access log off, which logs whole URLs.
- :class:`SecurityHeaders`: a strict Content-Security-Policy and the other security
  headers on every response, errors and redirects included; ``Strict-Transport-Security``
  when the request came over TLS.
- :class:`BodyLimit`: a request whose declared ``Content-Length`` is over the limit is
  answered 413 at once, before a byte of its body is read; a body without a length
  (chunked) is counted as it streams and cut at the limit (413). The limit is
  ``web.max_request_kb`` everywhere but the extract upload route, whose limit is the
  upload size limit. A response sent before the request's body was read closes the
  connection, so the server does not go on reading it.

Proxies: ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the
direct peer is one of ``web.trusted_proxies`` (:func:`client_address`, :func:`is_https`).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from joinedup.web.errors import error_response, route_template
from joinedup.web.uploads import DEFAULT_MAX_BYTES, human_size

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "UPLOAD_PATH",
    "AccessLog",
    "BodyLimit",
    "Networks",
    "SecurityHeaders",
    "client_address",
    "is_https",
    "parse_networks",
    "route_template",
    "wrap",
]

access_log = logging.getLogger("joinedup.web.access")

#: The pages use one script file (build progress) and stylesheets, all from /static;
#: charts and maps are inline SVG with presentation attributes, no style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
)
HSTS = "max-age=31536000"
#: The route that takes large bodies (an agency extract).
UPLOAD_PATH = re.compile(r"^/releases/sources/[^/]+/upload$")
#: Room for the multipart framing and the form's other fields around an uploaded file.
UPLOAD_SLACK = 1024 * 1024

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def parse_networks(items: Iterable[str]) -> Networks:
    return tuple(ipaddress.ip_network(i, strict=False) for i in items)


def _in(address: str, networks: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def client_address(scope: Scope, trusted: Networks) -> str:
    """The visitor's network address: the direct peer, unless the peer is a trusted
    proxy, when it is the nearest address in ``X-Forwarded-For`` that is not one."""
    peer = _peer(scope)
    if peer is None:
        return "unknown"
    if not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in Headers(scope=scope).get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # not an address: believe nothing further along
        if not _in(hop, trusted):
            return hop
    return peer


def is_https(scope: Scope, trusted: Networks) -> bool:
    """Whether the request came over TLS: to us, or to a trusted proxy that says so."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    peer = _peer(scope)
    if peer is None or not _in(peer, trusted):
        return False
    proto = Headers(scope=scope).get("x-forwarded-proto", "")
    return proto.split(",")[-1].strip().lower() == "https"


TrustedOf = Callable[[Scope], Networks]


class AccessLog:
    def __init__(self, app: ASGIApp, trusted: TrustedOf) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            access_log.info(
                '%s "%s %s HTTP/%s" %d %.0fms',
                client_address(scope, self.trusted(scope)),
                scope.get("method", ""),
                route_template(scope, root_path),
                scope.get("http_version", "1.1"),
                status,
                (time.perf_counter() - started) * 1000,
            )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, trusted: TrustedOf) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = is_https(scope, self.trusted(scope))

        async def send_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                if https:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_headers)


def _too_large(limit: int, upload: bool) -> str:
    if upload:
        return (
            f"The file is larger than the {human_size(limit - UPLOAD_SLACK)} the web app "
            "accepts. Split the extract by date, or ask the partnership's administrator to "
            "put it in the partnership folder and run `joinedup build`."
        )
    return (
        f"The request is larger than the {human_size(limit)} this app accepts for it, so "
        "it was not read."
    )


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit = limit

    def _upload_limit(self, scope: Scope) -> int:
        app = scope.get("app")
        value = getattr(getattr(app, "state", None), "upload_max_bytes", None)
        return (value if isinstance(value, int) else DEFAULT_MAX_BYTES) + UPLOAD_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("method") == "POST" and bool(UPLOAD_PATH.match(scope["path"]))
        limit = self._upload_limit(scope) if upload else self.limit(scope)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
            status = 413 if declared.strip().isdigit() else 400
            detail = (
                _too_large(limit, upload)
                if status == 413
                else "The request's Content-Length is not a number of bytes."
            )
            response = error_response(Request(scope), status, detail)
            response.headers["connection"] = "close"
            await response(scope, _no_body, send)
            return
        has_body = (
            bool(declared and int(declared) > 0)
            or "chunked" in Headers(scope=scope).get("transfer-encoding", "").lower()
        )
        received = 0
        finished = not has_body

        async def counted() -> Message:
            nonlocal received, finished
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    finished = True
                if received > limit:
                    finished = False
                    raise HTTPException(413, _too_large(limit, upload))
            return message

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and not finished:
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await self.app(scope, counted, closing)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def wrap(app: ASGIApp, *, trusted: TrustedOf, limit: Callable[[Scope], int]) -> ASGIApp:
    """``app`` inside the access log, the security headers and the body limit."""
    return AccessLog(SecurityHeaders(BodyLimit(app, limit), trusted), trusted)
