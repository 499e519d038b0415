"""Signing in through OpenID Connect (authorisation code flow with PKCE), with Authlib.

Works with Microsoft Entra ID and any standard provider. The partnership registers
joinedup with its provider and names it under ``auth.oidc`` in partnership.yaml. A person
signing in this way needs a joinedup account first (an administrator creates it with
their username, usually their email address, and their agency and roles): on their
first sign-in the account is bound to the provider's stable id for them (Entra's ``oid``),
and from then on only that id signs in to it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, insert, select, update

from joinedup.access.errors import SignInError
from joinedup.access.users import User, get_user, get_user_by_id
from joinedup.config.model import OidcConfig
from joinedup.state import State
from joinedup.state.tables import oidc_flow, user_account

__all__ = ["begin_oidc_sign_in", "complete_oidc_sign_in", "provider_metadata"]

_FLOW_MINUTES = 10
_TIMEOUT = 10.0
_CACHE_SECONDS = 3600.0
_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}

UNAVAILABLE = (
    "Your organisation's sign-in service could not be reached. Try again in a few minutes, "
    "or sign in with a joinedup password if you have one."
)


def provider_metadata(cfg: OidcConfig) -> dict[str, Any]:
    """The provider's discovery document (cached for an hour)."""
    url = cfg.metadata_url or cfg.issuer.rstrip("/") + "/.well-known/openid-configuration"
    hit = _metadata_cache.get(url)
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    try:
        response = httpx.get(url, timeout=_TIMEOUT)
        response.raise_for_status()
        meta = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInError(UNAVAILABLE, "oidc_unavailable") from exc
    if not isinstance(meta, dict) or not all(
        k in meta for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")
    ):
        raise SignInError(UNAVAILABLE, "oidc_bad_metadata")
    _metadata_cache[url] = (time.monotonic(), meta)
    return meta


def _client(cfg: OidcConfig, redirect_uri: str) -> OAuth2Client:
    secret = os.environ.get(cfg.client_secret_env) or None
    return OAuth2Client(
        client_id=cfg.client_id,
        client_secret=secret,
        scope=" ".join(cfg.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if secret else "none",
        timeout=_TIMEOUT,
    )


def begin_oidc_sign_in(
    state: State, cfg: OidcConfig, *, redirect_uri: str, next_path: str = "/"
) -> str:
    """The provider's URL to send the browser to; the flow's secrets stay server-side."""
    meta = provider_metadata(cfg)
    flow_state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    now = dt.datetime.now(dt.UTC)
    with state.session() as s:
        s.execute(
            delete(oidc_flow).where(
                oidc_flow.c.created_at < now - dt.timedelta(minutes=_FLOW_MINUTES)
            )
        )
        s.execute(
            insert(oidc_flow).values(
                state=flow_state,
                nonce=nonce,
                code_verifier=verifier,
                next_path=next_path[:512],
                created_at=now,
            )
        )
    with _client(cfg, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=flow_state, nonce=nonce, code_verifier=verifier
        )
    return str(url)


def _take_flow(state: State, flow_state: str) -> tuple[str, str, str]:
    now = dt.datetime.now(dt.UTC)
    with state.session() as s:
        row = s.execute(
            delete(oidc_flow)
            .where(oidc_flow.c.state == flow_state)
            .returning(
                oidc_flow.c.nonce,
                oidc_flow.c.code_verifier,
                oidc_flow.c.next_path,
                oidc_flow.c.created_at,
            )
        ).first()
    if row is None or now - row.created_at > dt.timedelta(minutes=_FLOW_MINUTES):
        raise SignInError(
            "This sign-in link has expired or was already used. Start again.", "oidc_bad_state"
        )
    return row.nonce, row.code_verifier, row.next_path


def _claims(cfg: OidcConfig, meta: dict[str, Any], id_token: str, nonce: str) -> dict[str, Any]:
    try:
        response = httpx.get(meta["jwks_uri"], timeout=_TIMEOUT)
        response.raise_for_status()
        keys = KeySet.import_key_set(response.json())
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInError(UNAVAILABLE, "oidc_unavailable") from exc
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": meta.get("issuer", cfg.issuer)},
            aud={"essential": True, "value": cfg.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SignInError(
            "Your organisation's sign-in could not be verified. Start again.",
            f"oidc_invalid_token:{type(exc).__name__}",
        ) from exc
    return dict(token.claims)


def complete_oidc_sign_in(
    state: State,
    cfg: OidcConfig,
    *,
    redirect_uri: str,
    code: str,
    flow_state: str,
    client: str,
) -> tuple[User, str]:
    """Finish a sign-in the provider has sent back: (the user, the page to go to)."""
    try:
        nonce, verifier, next_path = _take_flow(state, flow_state)
        meta = provider_metadata(cfg)
        try:
            with _client(cfg, redirect_uri) as oauth:
                token = oauth.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
        except Exception as exc:  # authlib raises OAuthError and httpx errors
            raise SignInError(UNAVAILABLE, f"oidc_token:{type(exc).__name__}") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError(UNAVAILABLE, "oidc_no_id_token")
        claims = _claims(cfg, meta, id_token, nonce)
    except SignInError as exc:
        state.audit.append(
            actor="anonymous",
            action="sign_in_failed",
            detail={"reason": exc.reason, "client": client, "method": "oidc"},
        )
        raise
    user = _user_for(state, cfg, claims, meta.get("issuer", cfg.issuer), client)
    return user, next_path


def _refuse(state: State, reason: str, client: str, target: str | None, message: str) -> None:
    state.audit.append(
        actor=target or "anonymous",
        action="sign_in_failed",
        target=target,
        detail={"reason": reason, "client": client, "method": "oidc"},
    )
    raise SignInError(message, reason)


def _user_for(
    state: State, cfg: OidcConfig, claims: dict[str, Any], issuer: str, client: str
) -> User:
    subject = claims.get(cfg.subject_claim) or (
        claims.get("sub") if cfg.subject_claim == "oid" else None
    )
    if not isinstance(subject, str) or not subject:
        _refuse(
            state, "oidc_no_subject", client, None, "Your organisation's sign-in gave no user id."
        )
    assert isinstance(subject, str)
    if cfg.allowed_tenants and claims.get("tid") not in cfg.allowed_tenants:
        _refuse(
            state,
            "oidc_tenant",
            client,
            None,
            "Accounts from your organisation's directory cannot sign in here.",
        )
    with state.session() as s:
        uid = s.execute(
            select(user_account.c.id).where(
                user_account.c.oidc_issuer == issuer, user_account.c.oidc_subject == subject
            )
        ).scalar()
    user = get_user_by_id(state, uid) if uid is not None else None
    if user is None:
        username = claims.get(cfg.username_claim)
        candidate = get_user(state, username) if isinstance(username, str) and username else None
        if candidate is not None:
            with state.session() as s:
                bound = s.execute(
                    update(user_account)
                    .where(user_account.c.id == candidate.id, user_account.c.oidc_subject.is_(None))
                    .values(oidc_issuer=issuer, oidc_subject=subject)
                    .returning(user_account.c.id)
                ).first()
            if bound is not None:
                state.audit.append(
                    actor=candidate.username, action="oidc_bound", target=candidate.username
                )
                user = get_user_by_id(state, candidate.id)
    if user is None:
        _refuse(
            state,
            "oidc_no_account",
            client,
            None,
            "You do not have a joinedup account yet. Ask your partnership's joinedup "
            "administrator to add you.",
        )
    assert user is not None
    if user.disabled:
        _refuse(
            state,
            "disabled",
            client,
            user.username,
            "Your joinedup account is disabled. Ask your administrator.",
        )
    return user
