"""Data-quality measures per source, as SQL over the release's canonical tables.

Six dimensions, each a row of ``quality_measure`` (a share from 0 to 1 unless said):

* completeness: share of rows with each mapped field filled;
* validity: share of filled values that parse and validate (codes, check digits,
  formats, dates in range), and share of rows usable (not quarantined);
* timeliness: days from the newest record to the extract date (``extract_lag_days``),
  and share of months in the source's span without a gap (``months_without_gaps``);
* uniqueness: share of rows whose id is not a repeat (``unique_ids``), and share of
  records that do not repeat another record's person, date and event type
  (``distinct_records``);
* consistency: share of dated records not before the person's birth
  (``not_before_birth``), of events not ending before they start (``end_after_start``),
  and of people whose age at the record date is in the service's range (``age_in_range``);
* linkability: share with a valid NHS number, UPN or PNC id (``strong_identifier``), and
  with forename, surname, date of birth and postcode (``name_dob_postcode``).

Every function here returns SQL; :func:`joinedup.quality.stage.run_quality` runs it.
"""

from __future__ import annotations

__all__ = ["AGE_RANGES", "date_coverage_sql", "measures_sql", "source_ages_sql"]

AGE_RANGES: dict[str, tuple[int, int]] = {
    "childrens_social_care": (0, 17),
    "youth_justice": (10, 17),
    "education": (2, 19),
    "adult_social_care": (18, 120),
}
"""The ages each kind of service works with, unless a source declares ``age_range``."""


def _share(num: str, den: str) -> str:
    return f"CASE WHEN ({den}) > 0 THEN ({num})::DOUBLE / ({den}) END"


def source_ages_sql(ranges: dict[str, tuple[int, int]]) -> str:
    """A VALUES list (source, youngest, oldest) for the age-range measure."""
    if not ranges:
        return "SELECT NULL::VARCHAR AS source, 0 AS youngest, 0 AS oldest LIMIT 0"
    rows = ", ".join(f"('{s}', {lo}, {hi})" for s, (lo, hi) in sorted(ranges.items()))
    return f"SELECT * FROM (VALUES {rows}) AS t(source, youngest, oldest)"


def date_coverage_sql() -> str:
    """INSERT of records per source and month, flagging months under half the median."""
    return (
        "INSERT INTO date_coverage SELECT source, month, records, "
        "records < 0.5 * median(records) OVER (PARTITION BY source) AS thin FROM ("
        "SELECT r.source, m.month, count(r.record_date) AS records FROM ("
        "SELECT source, unnest(generate_series(date_trunc('month', min(record_date)), "
        "date_trunc('month', max(record_date)), INTERVAL 1 MONTH))::DATE AS month "
        "FROM record WHERE record_date IS NOT NULL GROUP BY source) m "
        "LEFT JOIN record r ON r.source = m.source "
        "AND date_trunc('month', r.record_date) = m.month GROUP BY ALL)"
    )


def _insert(select: str) -> str:
    return (
        "INSERT INTO quality_measure (source, agency, dimension, measure, field, value, "
        f"numerator, denominator, higher_is_better) {select}"
    )


def measures_sql(ages_sql: str) -> list[str]:
    """INSERT statements filling ``quality_measure`` from the release's tables.

    Needs ``source``, ``record``, ``identity``, ``event``, ``event_person``,
    ``field_quality``, ``quarantine`` and ``date_coverage`` filled; ``ages_sql`` is
    :func:`source_ages_sql`'s SELECT.
    """
    per_field = _insert(
        "SELECT f.source, s.agency, 'completeness', 'filled', f.field, "
        f"{_share('f.filled', 'f.rows')}, f.filled, f.rows, true "
        "FROM field_quality f JOIN source s USING (source) "
        "UNION ALL SELECT f.source, s.agency, 'validity', 'valid', f.field, "
        f"{_share('f.valid', 'f.filled')}, f.valid, f.filled, true "
        "FROM field_quality f JOIN source s USING (source) WHERE f.filled > 0"
    )
    usable = _insert(
        "SELECT source, agency, 'validity', 'rows_usable', '', "
        f"{_share('rows_loaded', 'rows_read - rows_filtered')}, rows_loaded, "
        "rows_read - rows_filtered, true FROM source"
    )
    lag = _insert(
        "SELECT s.source, s.agency, 'timeliness', 'extract_lag_days', '', "
        "date_diff('day', max(r.record_date), s.extracted_at)::DOUBLE, NULL, NULL, false "
        "FROM source s JOIN record r USING (source) WHERE r.record_date IS NOT NULL "
        "GROUP BY s.source, s.agency, s.extracted_at"
    )
    gaps = _insert(
        "SELECT c.source, s.agency, 'timeliness', 'months_without_gaps', '', "
        f"{_share('count(*) FILTER (WHERE NOT c.thin)', 'count(*)')}, "
        "count(*) FILTER (WHERE NOT c.thin), count(*), true "
        "FROM date_coverage c JOIN source s USING (source) GROUP BY c.source, s.agency"
    )
    kept = "s.rows_read - s.rows_filtered"
    unique_ids = _insert(
        "SELECT s.source, s.agency, 'uniqueness', 'unique_ids', '', "
        f"{_share(f'{kept} - coalesce(q.n, 0)', kept)}, "
        f"{kept} - coalesce(q.n, 0), {kept}, true "
        "FROM source s LEFT JOIN (SELECT source, count(*) AS n FROM quarantine "
        "WHERE problem = 'duplicate_id' GROUP BY source) q USING (source)"
    )
    distinct = _insert(
        "SELECT s.source, s.agency, 'uniqueness', 'distinct_records', '', "
        f"{_share('coalesce(d.groups, 0)', 'coalesce(d.n, 0)')}, d.groups, d.n, true "
        "FROM source s JOIN (SELECT source, count(*) AS n, "
        "count(DISTINCT (i.forename, i.surname, i.dob, r.record_date, e.event_type)) AS groups "
        "FROM record r JOIN identity i USING (source, source_record_id) "
        "LEFT JOIN event_person ep USING (source, source_record_id) "
        "LEFT JOIN event e USING (event_id) "
        "WHERE i.forename IS NOT NULL AND i.surname IS NOT NULL AND i.dob IS NOT NULL "
        "GROUP BY source) d USING (source)"
    )
    # dated records with a date of birth: the event (or record) date against birth and age
    dated = (
        "SELECT r.source, coalesce(e.event_date, r.record_date) AS d, e.event_date, "
        "e.end_date, i.dob FROM record r JOIN identity i USING (source, source_record_id) "
        "LEFT JOIN event_person ep USING (source, source_record_id) "
        "LEFT JOIN event e USING (event_id)"
    )
    birth = _insert(
        "SELECT x.source, s.agency, 'consistency', 'not_before_birth', '', "
        f"{_share('count(*) FILTER (WHERE x.d >= x.dob)', 'count(*)')}, "
        "count(*) FILTER (WHERE x.d >= x.dob), count(*), true "
        f"FROM ({dated}) x JOIN source s USING (source) "
        "WHERE x.d IS NOT NULL AND x.dob IS NOT NULL GROUP BY x.source, s.agency"
    )
    ends = _insert(
        "SELECT x.source, s.agency, 'consistency', 'end_after_start', '', "
        f"{_share('count(*) FILTER (WHERE x.end_date >= x.event_date)', 'count(*)')}, "
        "count(*) FILTER (WHERE x.end_date >= x.event_date), count(*), true "
        f"FROM ({dated}) x JOIN source s USING (source) "
        "WHERE x.end_date IS NOT NULL AND x.event_date IS NOT NULL GROUP BY x.source, s.agency"
    )
    age = (
        "date_diff('year', x.dob, x.d) - "
        "CASE WHEN strftime(x.d, '%m%d') < strftime(x.dob, '%m%d') THEN 1 ELSE 0 END"
    )
    in_range = f"count(*) FILTER (WHERE ({age}) BETWEEN a.youngest AND a.oldest)"
    ages = _insert(
        "SELECT x.source, s.agency, 'consistency', 'age_in_range', '', "
        f"{_share(in_range, 'count(*)')}, {in_range}, count(*), true "
        f"FROM ({dated}) x JOIN source s USING (source) JOIN ({ages_sql}) a USING (source) "
        "WHERE x.d IS NOT NULL AND x.dob IS NOT NULL AND x.d >= x.dob GROUP BY x.source, s.agency"
    )
    strong = "i.nhs_number IS NOT NULL OR i.upn IS NOT NULL OR i.pnc_id IS NOT NULL"
    ndp = (
        "i.forename IS NOT NULL AND i.surname IS NOT NULL AND i.dob IS NOT NULL "
        "AND i.postcode_district IS NOT NULL"
    )
    link = _insert(
        "SELECT i.source, s.agency, 'linkability', 'strong_identifier', '', "
        f"{_share(f'count(*) FILTER (WHERE {strong})', 'count(*)')}, "
        f"count(*) FILTER (WHERE {strong}), count(*), true "
        "FROM identity i JOIN source s USING (source) GROUP BY i.source, s.agency "
        "UNION ALL SELECT i.source, s.agency, 'linkability', 'name_dob_postcode', '', "
        f"{_share(f'count(*) FILTER (WHERE {ndp})', 'count(*)')}, "
        f"count(*) FILTER (WHERE {ndp}), count(*), true "
        "FROM identity i JOIN source s USING (source) GROUP BY i.source, s.agency"
    )
    return [per_field, usable, lag, gaps, unique_ids, distinct, birth, ends, ages, link]
