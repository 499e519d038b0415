"""Data quality per source and agency, as each tier may see it (the ``/quality`` page).

:func:`current_quality` opens the current release, reads its quality tables
(``quality_measure``, ``date_coverage``, ``quality_advice``, ``quality_change``,
``quarantine`` and, for a data lead, ``unmapped_code``) and returns only what the tier may
see. These are measures of RECORDS (rows of an agency's extract), not counts of people:

- every tier: each source's share in the six quality dimensions (floats from 0 to 1 with
  a percentage string), the extract's lag in days, its thin months (month names only),
  and the measures that dropped since the previous release (shares);
- strategic and operational: also the row counts behind each share (numerator and
  denominator), records per month, rows quarantined by problem, and the ranked recording
  advice per agency, kept inside each source's entry;
- community: shares and month names only; no row counts and no advice.

A row of an extract stands for a person or an event about one, so every count of records
is protected with the tier's policy like a count of people, together with every relation
between them (:func:`joinedup.views.records.record_cells`, shared with the overview and
the releases pages): "c" where hidden. A share is shown only where its numerator and
denominator both are ("c" otherwise, at every tier); a dimension pools the measures whose
counts are shown. A drop since the previous release is shown only where the share is
shown in both releases at this tier ("c" otherwise).

Codes a crosswalk does not know (``unmapped_code``, restricted: a local code may be free
text) are added only when the caller passes ``unmapped_for``: the web app does so for a
data lead (``Permission.AUDIT_OWN_AGENCY``), for their own agency's sources only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import SUPPRESSED, DisclosurePolicy, SourceScope
from joinedup.disclosure.policy import policy_for
from joinedup.disclosure.sharing import scope_release, source_scope
from joinedup.disclosure.tiers import Tier
from joinedup.errors import JoinedupError, ReleaseError
from joinedup.release import open_release as open_release_by_id
from joinedup.views.cellkey import PageKeys, page_disclosure, page_keys, protect_counts
from joinedup.views.memo import per_release
from joinedup.views.records import NOT_RECORDS, RecordCells, record_cells, share_of
from joinedup.views.release import (
    ReleaseLike,
    connect_release,
    open_current_release,
    partnership_config,
    policy_dict,
    release_facts,
)

__all__ = [
    "DIMENSIONS",
    "GOOD_SHARE",
    "MEASURE_LABELS",
    "QUALITY_TABLES",
    "UnknownAgency",
    "agency_summaries",
    "current_quality",
    "percent",
]

#: The six quality dimensions, in the order the page shows them.
DIMENSIONS = ("completeness", "validity", "timeliness", "uniqueness", "consistency", "linkability")

#: Tables the page reads; a release without them was built by an older joinedup.
QUALITY_TABLES = ("quality_measure", "date_coverage", "quality_advice", "quality_change")

#: Plain words for each measure (``quality_measure.measure``).
MEASURE_LABELS: dict[str, str] = {
    "filled": "Rows with the field filled in",
    "valid": "Filled values that are valid",
    "rows_usable": "Rows usable (not quarantined)",
    "extract_lag_days": "Days from the newest record to the extract",
    "months_without_gaps": "Months without a gap",
    "unique_ids": "Rows whose id is not a repeat",
    "distinct_records": "Records that do not repeat another",
    "not_before_birth": "Records not dated before the person's birth",
    "end_after_start": "Events that do not end before they start",
    "age_in_range": "People of an age the service works with",
    "strong_identifier": "Records with a valid NHS number, UPN or PNC id",
    "name_dob_postcode": "Records with name, date of birth and postcode",
}


class UnknownAgency(JoinedupError):
    """The ``agency`` asked for has no source in the release (at this tier)."""


def percent(value: object) -> str | None:
    """A share (0 to 1) as a percentage with one decimal, e.g. "97.5%"; None for None,
    "c" for a hidden share."""
    if value == SUPPRESSED:
        return SUPPRESSED
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{100 * value:.1f}%"


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _iso(value: object) -> str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    return None if value is None else str(value)


def _has_tables(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> bool:
    got = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name IN "
            f"({', '.join('?' for _ in names)})",
            list(names),
        ).fetchall()
    }
    return set(names) <= got


def _dimension_shares(
    measures: list[dict[str, Any]], shown: dict[tuple[str, str], tuple[Any, Any]]
) -> dict[str, dict[str, Any]]:
    """Per dimension: the share of all checks in it that passed (numerators over
    denominators of its share measures, pooled, AS PUBLISHED: a measure whose counts are
    hidden is left out), None where it has none, "c" where every one is hidden."""
    out: dict[str, dict[str, Any]] = {}
    for dim in DIMENSIONS:
        num = den = hidden = 0
        for m in measures:
            if m["dimension"] != dim or not m["denominator"]:
                continue
            n, d = shown.get((m["measure"], m["field"] or ""), (m["numerator"], m["denominator"]))
            if isinstance(n, int) and isinstance(d, int):
                num += n
                den += d
            else:
                hidden += 1
        share: float | str | None = num / den if den else (SUPPRESSED if hidden else None)
        out[dim] = {"share": None if share == SUPPRESSED else share, "percent": percent(share)}
    return out


def _measure_cells(cells: RecordCells, sid: str, m: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(numerator, denominator, value) of a measure as published."""
    if m["measure"] in NOT_RECORDS or m["denominator"] is None:
        return m["numerator"], m["denominator"], m["value"]
    n, d = cells.measures.get((sid, m["measure"], m["field"] or ""), (SUPPRESSED, SUPPRESSED))
    return n, d, share_of(n, d)


def _collect(
    con: duckdb.DuckDBPyConnection,
    tier: Tier,
    *,
    agency: str | None,
    unmapped_for: str | None,
    agency_names: dict[str, str],
    policy: DisclosurePolicy,
    cells: RecordCells,
    previous_shares: dict[tuple[str, str, str], Any] | None,
    keys: PageKeys | None = None,
) -> dict[str, Any]:
    detailed = tier is not Tier.COMMUNITY
    sources = _rows(
        con,
        "SELECT source, agency, agency_type, dataset, extracted_at, rows_read, rows_loaded, "
        "rows_filtered, rows_quarantined FROM source ORDER BY agency, source",
    )
    agencies = sorted({str(s["agency"]) for s in sources})
    if agency is not None and agency not in agencies:
        raise UnknownAgency(
            f"There is no agency '{agency}' in this release at the {tier.value} tier. "
            "Choose one from the list."
        )
    shown = [s for s in sources if agency is None or s["agency"] == agency]
    measures = _rows(
        con,
        "SELECT source, dimension, measure, field, value, numerator, denominator, "
        "higher_is_better FROM quality_measure ORDER BY source, dimension, measure, field",
    )
    coverage = _rows(con, "SELECT source, month, records, thin FROM date_coverage ORDER BY 1, 2")
    quarantine = _rows(
        con,
        "SELECT source, problem, column_name, count(*) AS rows FROM quarantine "
        "GROUP BY ALL ORDER BY source, problem, column_name",
    )
    unmapped: list[dict[str, Any]] = []
    if unmapped_for is not None and _has_tables(con, ("unmapped_code",)):
        unmapped = _rows(
            con,
            "SELECT u.source, u.field, u.column_name, u.local_code, u.rows FROM unmapped_code u "
            "JOIN source s USING (source) WHERE s.agency = ? "
            "ORDER BY u.source, u.field, u.rows DESC, u.local_code",
            [unmapped_for],
        )
    names_of = {str(s["source"]): str(s["dataset"] or s["source"]) for s in sources}
    out_sources = []
    for s in shown:
        sid = s["source"]
        mine = [m for m in measures if m["source"] == sid]
        cov = [c for c in coverage if c["source"] == sid]
        lag = next(
            (m["value"] for m in mine if m["measure"] == "extract_lag_days" and not m["field"]),
            None,
        )
        published = {(m["measure"], m["field"] or ""): _measure_cells(cells, sid, m) for m in mine}
        entry: dict[str, Any] = {
            "source": sid,
            "agency": s["agency"],
            "agency_name": agency_names.get(str(s["agency"]), str(s["agency"])),
            "dataset": s["dataset"],
            "extracted_at": _iso(s["extracted_at"]),
            "dimensions": _dimension_shares(
                mine, {k: (n, d) for k, (n, d, _) in published.items()}
            ),
            "extract_lag_days": lag,
            "first_month": _iso(cov[0]["month"])[:7] if cov else None,  # type: ignore[index]
            "last_month": _iso(cov[-1]["month"])[:7] if cov else None,  # type: ignore[index]
            "thin_months": [str(_iso(c["month"]))[:7] for c in cov if c["thin"]],
        }
        rows_of_measure = []
        for m in mine:
            n, d, value = published[(m["measure"], m["field"] or "")]
            item: dict[str, Any] = {
                "dimension": m["dimension"],
                "measure": m["measure"],
                "label": MEASURE_LABELS.get(m["measure"], m["measure"].replace("_", " ")),
                "field": m["field"],
                "value": value,
                "percent": percent(value) if m["denominator"] is not None else None,
                "higher_is_better": m["higher_is_better"],
            }
            if detailed:
                item["numerator"] = n
                item["denominator"] = d
            rows_of_measure.append(item)
        entry["measures"] = rows_of_measure
        if detailed:
            entry.update(cells.source(sid))
            entry["quarantine"] = [
                {
                    "problem": q["problem"],
                    "column_name": q["column_name"],
                    "rows": cells.quarantine.get(
                        (sid, str(q["problem"]), str(q["column_name"] or "")), SUPPRESSED
                    ),
                }
                for q in quarantine
                if q["source"] == sid
            ]
            entry["coverage"] = [
                {
                    "month": str(_iso(c["month"]))[:7],
                    "records": cells.months.get((sid, str(_iso(c["month"]))[:7]), SUPPRESSED),
                    "thin": c["thin"],
                }
                for c in cov
            ]
        if unmapped_for is not None and s["agency"] == unmapped_for:
            mine_u = [u for u in unmapped if u["source"] == sid]
            # Rows holding each unknown code: counts of records, each protected alone.
            # (issue 19: or each perturbed by its count key, named by what it counts)
            named_u = {
                (sid, str(u["field"]), str(u["column_name"]), str(u["local_code"])): i
                for i, u in enumerate(mine_u)
            }
            shown_u = protect_counts(
                {k: int(mine_u[i]["rows"]) for k, i in named_u.items()},
                [],
                policy,
                keys,
                space="unmapped_rows",
            )
            rows_u = {i: shown_u[k] for k, i in named_u.items()}
            entry["unmapped_codes"] = [
                {
                    **{k: u[k] for k in ("field", "column_name", "local_code")},
                    "rows": rows_u[i],
                }
                for i, u in enumerate(mine_u)
            ]
        out_sources.append(entry)
    ids = {s["source"] for s in shown}
    changes = _rows(
        con,
        "SELECT source, dimension, measure, field, previous_release_id, previous_value, value, "
        "change FROM quality_change WHERE dropped ORDER BY source, dimension, measure, field",
    )
    previous = con.execute("SELECT min(previous_release_id) FROM quality_change").fetchall()[0][0]
    by_source = {s["source"]: s for s in sources}
    drops = []
    for c in changes:
        if c["source"] not in ids:
            continue
        share = c["measure"] != "extract_lag_days"
        row = {
            "source": c["source"],
            "source_name": names_of.get(str(c["source"]), str(c["source"])),
            "agency": by_source[c["source"]]["agency"],
            "dimension": c["dimension"],
            "measure": c["measure"],
            "label": MEASURE_LABELS.get(c["measure"], c["measure"]),
            "field": c["field"],
            "previous_value": c["previous_value"],
            "value": c["value"],
            "change": c["change"],
            "previous_percent": percent(c["previous_value"]) if share else None,
            "percent": percent(c["value"]) if share else None,
            "change_points": f"{100 * c['change']:+.1f} points" if share else None,
        }
        if share:
            key = (str(c["source"]), str(c["measure"]), str(c["field"] or ""))
            now = _measure_cells(
                cells,
                key[0],
                {
                    "measure": key[1],
                    "field": key[2],
                    "denominator": 1,
                    "numerator": None,
                    "value": None,
                },
            )[2]
            before = None if previous_shares is None else previous_shares.get(key)
            if not isinstance(now, float) or not isinstance(before, float):
                # A change is shown only where both shares are (docs/disclosure.md).
                row.update(
                    previous_value=SUPPRESSED if not isinstance(before, float) else before,
                    value=now,
                    change=SUPPRESSED,
                    previous_percent=percent(before if isinstance(before, float) else SUPPRESSED),
                    percent=percent(now),
                    change_points=SUPPRESSED,
                )
            else:
                row.update(previous_value=before, value=now, change=now - before)
                row.update(
                    previous_percent=percent(before),
                    percent=percent(now),
                    change_points=f"{100 * (now - before):+.1f} points",
                )
        drops.append(row)
    out: dict[str, Any] = {
        "agencies": [{"id": a, "name": agency_names.get(a, a)} for a in agencies],
        "agency": agency,
        "dimensions": list(DIMENSIONS),
        "sources": out_sources,
        "previous_release_id": previous,
        "drops": drops,
        "unmapped_shown": unmapped_for is not None,
    }
    if detailed:
        advice = _rows(
            con,
            "SELECT agency, rank, source, field, dimension, advice, records_affected "
            "FROM quality_advice ORDER BY agency, rank",
        )
        advice = [a for a in advice if a["source"] in ids]
        # Rows each change would improve: counts of records, each protected on its own.
        named_a = {
            (str(a["source"]), str(a["field"]), str(a["dimension"]), str(a["advice"])): i
            for i, a in enumerate(advice)
        }
        shown_a = protect_counts(
            {k: int(advice[i]["records_affected"] or 0) for k, i in named_a.items()},
            [],
            policy,
            keys,
            space="records_affected",
        )
        affected = {i: shown_a[k] for k, i in named_a.items()}
        grouped: dict[str, list[dict[str, Any]]] = {}
        for i, a in enumerate(advice):
            grouped.setdefault(str(a["agency"]), []).append(
                {
                    **{k: a[k] for k in ("source", "field", "dimension", "advice")},
                    "source_name": names_of.get(str(a["source"]), str(a["source"])),
                    "records_affected": affected[i],
                }
            )
        # In rank order: the list's order is the rank (1 = most effect).
        out["advice"] = [
            {"agency": a, "agency_name": agency_names.get(a, a), "ranked": items}
            for a, items in sorted(grouped.items())
        ]
    out["agency_summaries"] = agency_summaries(out)
    return out


#: A dimension at or above this share is "good" in an agency's summary.
GOOD_SHARE = 0.95


def agency_summaries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per agency, in the order of ``data["agencies"]``: what is good (the dimensions in
    which every source of the agency with a share shown reaches :data:`GOOD_SHARE`),
    the weakest share shown (source and dimension) and what to fix first (the agency's
    first piece of advice, where the tier sees advice). Built from the published figures
    of ``data`` only: nothing the rest of the page does not show."""
    advice = {a["agency"]: a["ranked"] for a in data.get("advice") or []}
    out = []
    for agency in data["agencies"]:
        mine = [s for s in data["sources"] if s["agency"] == agency["id"]]
        if not mine:
            continue
        good: list[dict[str, Any]] = []
        weakest: dict[str, Any] | None = None
        hidden = 0
        for dim in DIMENSIONS:
            shares = [
                (s, s["dimensions"][dim]["share"])
                for s in mine
                if isinstance(s["dimensions"][dim]["share"], float)
            ]
            hidden += sum(1 for s in mine if s["dimensions"][dim]["percent"] == SUPPRESSED)
            if not shares:
                continue
            low_source, low = min(shares, key=lambda x: (x[1], x[0]["dataset"]))
            if low >= GOOD_SHARE:
                good.append({"dimension": dim, "percent": percent(low)})
            elif weakest is None or low < weakest["share"]:
                weakest = {
                    "dimension": dim,
                    "source": low_source["source"],
                    "source_name": low_source["dataset"],
                    "share": low,
                    "percent": percent(low),
                }
        first = (advice.get(agency["id"]) or [None])[0]
        out.append(
            {
                "agency": agency["id"],
                "agency_name": agency["name"],
                "sources": [{"source": s["source"], "name": s["dataset"]} for s in mine],
                "good": good,
                "weakest": weakest,
                "hidden_shares": hidden,
                "fix_first": None if first is None else first["advice"],
                "thin_months": sum(len(s["thin_months"]) for s in mine),
                "measures_dropped": sum(1 for d in data["drops"] if d["agency"] == agency["id"]),
            }
        )
    return out


@per_release
def current_quality(
    partnership_dir: Path,
    tier: Tier,
    *,
    agency: str | None = None,
    unmapped_for: str | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    config: PartnershipConfig | None = None,
) -> dict[str, Any]:
    """Data quality of the current release for ``tier``, JSON-ready.

    ``agency`` keeps one agency's sources (:class:`UnknownAgency` when it has none);
    ``unmapped_for`` adds that agency's unknown codes (restricted: data leads only).
    Sources a sharing agreement leaves out at the tier are left out (``exclusions``).
    Raises :class:`~joinedup.errors.ReleaseError` without a release, or for a release
    built before the quality measures.
    """
    tier = Tier(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    scope = source_scope(config, tier)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    names = {a.id: a.name for a in config.agencies} if config is not None else {}
    handle = (open_release or open_current_release)(partnership_dir)
    con = connect_release(handle)
    try:
        if not _has_tables(con, QUALITY_TABLES):
            raise ReleaseError(
                f"Release {handle.release_id} has no data-quality measures: it was built by "
                "an older joinedup. Run `joinedup build DIR` to rebuild it."
            )
        scope_release(con, scope)
        out: dict[str, Any] = {
            "tier": tier.value,
            "release": release_facts(con),
            "disclosure": policy_dict(policy),
        }
        if scope.excluded:
            out["exclusions"] = scope.as_dict()
        keys = page_keys(partnership_dir, policy)
        if policy.method == "cell_key":
            out["disclosure"] = page_disclosure(policy, keys)
        cells = record_cells(con, policy, scope, handle=handle, keys=keys)
        previous_id = con.execute("SELECT min(previous_release_id) FROM quality_change").fetchall()
        previous = _previous_shares(partnership_dir, previous_id[0][0], policy, scope)
        out.update(
            _collect(
                con,
                tier,
                agency=agency,
                unmapped_for=unmapped_for,
                agency_names=names,
                policy=policy,
                cells=cells,
                previous_shares=previous,
                keys=keys,
            )
        )
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    return out


def _previous_shares(
    partnership_dir: Path, release_id: object, policy: DisclosurePolicy, scope: SourceScope
) -> dict[tuple[str, str, str], Any] | None:
    """The shares of the previous release's measures as this tier saw them ("c" where
    hidden), or None when that release cannot be read (its drops then show "c")."""
    if not release_id:
        return None
    try:
        handle = open_release_by_id(partnership_dir, str(release_id))
        con = handle.connect()
    except (JoinedupError, duckdb.Error, OSError):
        return None
    try:
        scope_release(con, scope)
        cells = record_cells(con, policy, scope, handle=handle)
    except duckdb.Error:
        return None
    finally:
        con.close()
    return {key: share_of(n, d) for key, (n, d) in cells.measures.items()}
