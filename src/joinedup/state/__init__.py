"""Application state: users, sessions, review decisions and the audit log.

A foundation, like ``config``: any stage may import it, and it imports no stage. The
schema is migrated by Alembic with migrations shipped inside the package; SQLite in the
partnership folder by default, PostgreSQL by URL for a shared deployment.

    from joinedup.state import open_state

    with open_state(partnership_dir) as state:
        state.link_decisions.record(left=("police", "17"), right=("health", "A3"),
                                    decision="match", decided_by="analyst1")
        state.audit.append(actor="cli", action="build", target=release_id)
        assert state.audit.verify().ok
"""

from __future__ import annotations

from joinedup.state.audit import AuditEntry, AuditLog, AuditProblem, VerifyResult
from joinedup.state.database import HEAD_FILE, State, StateError, open_state
from joinedup.state.decisions import Decision, LinkDecision, LinkDecisions, RecordKey
from joinedup.state.engine import STATE_DIR, STATE_FILE, state_url
from joinedup.state.maturity import MaturityError, SelfAssessments  # issue 21
from joinedup.state.migrate import current_revision, head_revision
from joinedup.state.panels import PanelError, Panels
from joinedup.state.purposes import SessionPurposes

__all__ = [
    "HEAD_FILE",
    "STATE_DIR",
    "STATE_FILE",
    "AuditEntry",
    "AuditLog",
    "AuditProblem",
    "Decision",
    "LinkDecision",
    "LinkDecisions",
    "MaturityError",
    "PanelError",
    "Panels",
    "RecordKey",
    "SelfAssessments",
    "SessionPurposes",
    "State",
    "StateError",
    "VerifyResult",
    "current_revision",
    "head_revision",
    "open_state",
    "state_url",
]
