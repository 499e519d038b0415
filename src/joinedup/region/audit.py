"""The region's own tamper-evident audit log (issue 17 follow-up).

A region keeps an app state of its own, ``REGION_DIR/state/joinedup.sqlite``, made and
migrated by the same :func:`joinedup.state.open_state` a partnership uses, with the same
keyed hash chain (``joinedup.state.audit``, its key derived from the region's own secret
in ``REGION_DIR/state``) and the same head file. Written to it:

- ``region_build``: a regional release built (its id, each pack's partnership release and
  manifest hash);
- ``read_pack``: each pack read into a build, after its signature and hashes were
  checked; ``refuse_pack``: a pack refused (altered, wrong key), with the reason's kind;
- ``view_region_page``: every regional page or JSON twin shown to a signed-in user (the
  page, the role, the release shown);
- ``region_user``: a regional user added or changed (never the password).

``joinedup audit verify REGION_DIR`` walks the chain, as for a partnership. The log
holds no figure and no person: packs carry none.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from joinedup.state import AuditEntry, State, open_state

__all__ = ["audit_region", "audit_region_many", "region_state"]


def region_state(region_dir: Path) -> State:
    """The region's app state (created and migrated on first use)."""
    return open_state(Path(region_dir))


def audit_region(
    region_dir: Path | None,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    state: State | None = None,
) -> AuditEntry:
    """One entry in the region's audit log (``state`` when the caller holds it open)."""
    return audit_region_many(
        region_dir,
        [{"actor": actor, "action": action, "target": target, "detail": detail or {}}],
        state=state,
    )[0]


def audit_region_many(
    region_dir: Path | None, items: Iterable[dict[str, Any]], *, state: State | None = None
) -> list[AuditEntry]:
    """Entries written in one transaction."""
    rows = list(items)
    if state is not None:
        return state.audit.append_many(rows)
    assert region_dir is not None
    with region_state(region_dir) as own:
        return own.audit.append_many(rows)
