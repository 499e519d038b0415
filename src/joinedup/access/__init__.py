"""Access control: users, roles and tiers, sign-in (passwords and OpenID Connect),
server-side sessions, and person-level access that is checked and logged.

It builds on ``joinedup.state`` (where users, sessions and the audit log are kept),
``joinedup.disclosure`` (tiers) and ``joinedup.views`` (the only way person-level rows
leave a release).
``docs/governance.md`` explains it for information governance leads.
"""

from __future__ import annotations

from joinedup.access.audit import (
    PERSON_LEVEL_ACTIONS,
    audit_accepted_drops,
    audit_build,
    audit_output,
    audit_person_view,
    audit_person_views,
    cli_actor,
    verify_audit,
    visible_audit,
)
from joinedup.access.demo import DemoAccount, ensure_demo_accounts
from joinedup.access.errors import AccessError, Forbidden, SignInError, UserError
from joinedup.access.oidc import begin_oidc_sign_in, complete_oidc_sign_in, provider_metadata
from joinedup.access.passwords import generate_password, hash_password, verify_password
from joinedup.access.person_access import (
    MIN_PURPOSE_LENGTH,
    PersonExport,
    reidentify,
    subject_access,
)
from joinedup.access.roles import (
    ROLE_PERMISSIONS,
    ROLE_TIERS,
    Permission,
    Role,
    permissions_of,
    tiers_of,
)
from joinedup.access.sessions import (
    SESSION_COOKIE,
    SessionInfo,
    end_session,
    resolve_session,
    start_session,
)
from joinedup.access.settings import auth_config, partnership_agencies, source_agencies
from joinedup.access.signin import authenticate
from joinedup.access.users import (
    User,
    create_user,
    disable_user,
    enable_user,
    get_user,
    get_user_by_id,
    list_users,
    set_password,
    set_roles,
    unlock_user,
)

__all__ = [
    "MIN_PURPOSE_LENGTH",
    "PERSON_LEVEL_ACTIONS",
    "ROLE_PERMISSIONS",
    "ROLE_TIERS",
    "SESSION_COOKIE",
    "AccessError",
    "DemoAccount",
    "Forbidden",
    "Permission",
    "PersonExport",
    "Role",
    "SessionInfo",
    "SignInError",
    "User",
    "UserError",
    "audit_accepted_drops",
    "audit_build",
    "audit_output",
    "audit_person_view",
    "audit_person_views",
    "auth_config",
    "authenticate",
    "begin_oidc_sign_in",
    "cli_actor",
    "complete_oidc_sign_in",
    "create_user",
    "disable_user",
    "enable_user",
    "end_session",
    "ensure_demo_accounts",
    "generate_password",
    "get_user",
    "get_user_by_id",
    "hash_password",
    "list_users",
    "partnership_agencies",
    "permissions_of",
    "provider_metadata",
    "reidentify",
    "resolve_session",
    "set_password",
    "set_roles",
    "source_agencies",
    "start_session",
    "subject_access",
    "tiers_of",
    "unlock_user",
    "verify_audit",
    "verify_password",
    "visible_audit",
]
