"""One retention runner (issue 19): what is past retention, reported first, then deleted.

``joinedup retention DIR`` reports, for a day (default today):

- the records of the current release that the next build will leave out, per source
  (:func:`joinedup.pipeline.retention.records_due`: the build's own rule);
- releases other than the current one built longer ago than the shortest retention of
  the agreements their data is held under;
- panel meetings older than their panel's retention period (``retention_days``, set from
  the panel's agreement when the panel was made; see ``docs/panels.md``).

``--apply`` deletes those releases and meetings. Every deletion is one audit entry:
``delete_release`` (target the release id; the agreement, its retention, the day it fell
due) and ``delete_panel_meeting`` (written by
:func:`joinedup.access.panel_access.purge_due_meetings`). Records are never deleted here:
the next build leaves them out, and says so in its lineage.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joinedup.access.audit import cli_actor
from joinedup.access.panel_access import panel_store, purge_due_meetings
from joinedup.config import load_config
from joinedup.errors import JoinedupError
from joinedup.pipeline.retention import Due, ReleaseDue, records_due, releases_due
from joinedup.release.store import build_lock, current_release_id, open_current
from joinedup.state import open_state

__all__ = ["RetentionPlan", "apply_retention", "retention_plan"]


@dataclass
class RetentionPlan:
    """What is past retention on ``day``, and (after :func:`apply_retention`) what went."""

    day: dt.date
    records: list[Due]
    releases: list[ReleaseDue]
    meetings: list[dict[str, Any]]
    applied: bool = False
    deleted_meetings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "applied": self.applied,
            "records": [
                {
                    "source": d.source,
                    "agreement": d.agreement,
                    "retention_years": d.retention_years,
                    "cutoff": d.cutoff.isoformat(),
                    "records": d.records,
                }
                for d in self.records
            ],
            "releases": [
                {
                    "release_id": r.release_id,
                    "built_at": r.built_at,
                    "agreement": r.agreement,
                    "retention_years": r.retention_years,
                    "due_on": r.due_on.isoformat(),
                }
                for r in self.releases
            ],
            "meetings": self.meetings,
        }


def retention_plan(partnership_dir: Path, *, day: dt.date | None = None) -> RetentionPlan:
    """What is past retention on ``day`` (default today); nothing is changed."""
    base = Path(partnership_dir)
    if not base.is_dir():
        raise JoinedupError(
            f"{base} is not a partnership folder; give the folder holding partnership.yaml."
        )
    day = day or dt.date.today()
    config = load_config(base, check_files=False)
    records: list[Due] = []
    if current_release_id(base) is not None:
        con = open_current(base).connect()
        try:
            records = records_due(con, config, day)
        finally:
            con.close()
    with open_state(base) as state:
        meetings = [
            {
                "panel_id": p.id,
                "meeting_id": m.id,
                "held_on": m.held_on.isoformat(),
                "retention_days": p.retention_days,
                "agreement": p.agreement,
            }
            for p, m in panel_store(state).due_for_deletion(day)
        ]
    return RetentionPlan(day, records, releases_due(base, config, day), meetings)


def apply_retention(
    partnership_dir: Path, *, day: dt.date | None = None, actor: str | None = None
) -> RetentionPlan:
    """Delete the releases and meetings past retention on ``day``, each deletion audited;
    returns the plan it carried out."""
    base = Path(partnership_dir)
    who = actor or cli_actor()
    plan = retention_plan(base, day=day)
    config = load_config(base, check_files=False)
    agencies = sorted({s.agency for s in config.sources})
    with open_state(base) as state:
        with build_lock(base, operation="retention"):
            for r in plan.releases:
                if r.release_id == current_release_id(base):
                    continue  # made current since the plan: never delete the current one
                shutil.rmtree(r.path, ignore_errors=False)
                state.audit.append(
                    actor=who,
                    action="delete_release",
                    target=r.release_id,
                    purpose=f"Retention under sharing agreement {r.agreement}",
                    detail={
                        "release_id": r.release_id,
                        "built_at": r.built_at,
                        "agreement": r.agreement,
                        "retention_years": r.retention_years,
                        "due_on": r.due_on.isoformat(),
                    },
                    agencies=agencies,
                )
        plan.deleted_meetings = purge_due_meetings(state, today=plan.day, actor=who)
    plan.applied = True
    return plan
