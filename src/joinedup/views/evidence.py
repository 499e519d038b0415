"""Why a person is counted: the evidence trail behind their exploitation concern, for the
operational tier (issue 14).

:func:`person_evidence` lists, for one pseudonymous person, every exploitation code
behind their concern events (``concern_evidence``): which source and agency, which field
and column of the extract, which code as recorded, which taxonomy type and report group,
which date, the role recorded and the person's age that day, and whether the code
counted. A panel member can check why a child is in a figure; a data lead can see which
crosswalk to fix. No name, date of birth or identifier: ids are pseudonymous and codes
are the agencies' own category codes.

The caller must record the view with ``joinedup.access.audit_person_view`` before
showing it, as for the timeline. Sources whose sharing agreements leave out the
operational tier are removed first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure.tiers import Tier, require_operational
from joinedup.views.release import ReleaseLike, operational_release, partnership_config

__all__ = ["EVIDENCE_COLUMNS", "evidence_sql", "person_evidence"]

#: The columns of each evidence row, in order.
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_date",
    "age_at_event",
    "role",
    "source",
    "agency",
    "event_type",
    "field",
    "column_name",
    "local_code",
    "exploitation_type",
    "report_group",
    "counted",
)


def evidence_sql() -> str:
    """One person's evidence rows (parameter ``$person``), in date order."""
    return (
        f"SELECT {', '.join(EVIDENCE_COLUMNS)} FROM concern_evidence "
        "WHERE person_id = $person "
        "ORDER BY event_date NULLS LAST, event_id, local_code, exploitation_type, role"
    )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def person_evidence(
    partnership_dir: Path,
    person_id: str,
    *,
    tier: Tier,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> list[dict[str, Any]]:
    """The evidence trail of one person in the current release, as the operational tier
    sees it (empty when nothing is recorded, or the release predates the table)."""
    require_operational(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    with operational_release(partnership_dir, config=config, open_release=open_release) as (
        _handle,
        con,
        _scope,
    ):
        try:
            rows = con.execute(evidence_sql(), {"person": person_id}).fetchall()
        except duckdb.CatalogException:
            return []  # a release built before concern_evidence existed
    return [dict(zip(EVIDENCE_COLUMNS, map(_jsonable, row), strict=True)) for row in rows]
