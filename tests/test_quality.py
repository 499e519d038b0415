"""Data quality: measures per source and field, advice per agency, report, comparison."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from joinedup.pipeline import build as build_release
from joinedup.quality import REPORT_HTML, REPORT_JSON
from joinedup.release import open_current


def _planted(root: Path) -> list[dict[str, str]]:
    with (root / "truth" / "planted_problems.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_quarantine_is_exactly_the_planted_rows_set_aside(synth_built: Path) -> None:
    """Issue 13: an impossible date of birth is emptied and its row kept, except in the one
    source with ``bad_dates: quarantine``; a cut-short row and a repeated row are set aside;
    rows with an unquoted address are recovered. The truth says which does what."""
    kinds = {
        "impossible_date": "bad_date",
        "cut_short_row": "too_few_fields",
        "repeated_row": "duplicate_row",
    }
    planted = _planted(synth_built)
    expected = Counter(
        (p["source"], kinds[p["problem"]]) for p in planted if p["effect"] == "quarantined"
    )
    emptied = Counter(
        (p["source"], p["column"])
        for p in planted
        if p["problem"] == "impossible_date" and p["effect"] == "value_emptied"
    )
    assert set(expected.values()) and sum(emptied.values()) > 0
    assert {k for _, k in expected} == {"bad_date", "too_few_fields", "duplicate_row"}
    with open_current(synth_built).connect() as con:
        got = Counter(
            {
                (s, k): n
                for s, k, n in con.execute(
                    "SELECT source, problem, count(*) FROM quarantine GROUP BY ALL"
                ).fetchall()
            }
        )
        kept = Counter(
            {
                (s, c): n
                for s, c, n in con.execute(
                    "SELECT source, column_name, count(*) FROM field_problem "
                    "WHERE problem = 'bad_date' AND field = 'identity.dob' GROUP BY ALL"
                ).fetchall()
            }
        )
    assert got == expected
    assert kept == emptied


def test_invalid_identifiers_are_counted_where_planted(synth_built: Path) -> None:
    planted = Counter(
        p["source"] for p in _planted(synth_built) if p["problem"] == "invalid_nhs_check_digit"
    )
    with open_current(synth_built).connect() as con:
        got = dict(
            con.execute(
                "SELECT source, filled - valid FROM field_quality "
                "WHERE field = 'identity.nhs_number'"
            ).fetchall()
        )
    # the quality counts include rows later quarantined for a bad date, so at least planted
    for src, n in planted.items():
        assert got[src] >= n
    assert sum(got.values()) - sum(planted.values()) <= 2


def test_every_source_has_measures_in_all_dimensions(synth_built: Path) -> None:
    with open_current(synth_built).connect() as con:
        sources = {r[0] for r in con.execute("SELECT source FROM source").fetchall()}
        dims = con.execute(
            "SELECT source, list(DISTINCT dimension ORDER BY dimension) FROM quality_measure "
            "GROUP BY source"
        ).fetchall()
        shares = con.execute(
            "SELECT count(*) FROM quality_measure WHERE denominator IS NOT NULL "
            "AND NOT (value BETWEEN 0 AND 1)"
        ).fetchone()
        strong = dict(
            con.execute(
                "SELECT source, value FROM quality_measure WHERE measure = 'strong_identifier'"
            ).fetchall()
        )
        coverage = con.execute("SELECT count(DISTINCT source) FROM date_coverage").fetchone()
    assert {s for s, _ in dims} == sources
    for _, d in dims:
        assert {"completeness", "validity", "timeliness", "uniqueness", "linkability"} <= set(d)
    assert shares == (0,)
    # health carries NHS numbers for most rows; the voluntary sector none
    assert strong["health_ae"] > 0.9 and strong["brightpath_support"] == 0
    assert coverage == (len(sources),)


def test_advice_per_agency_and_report_files(synth_built: Path) -> None:
    rel = open_current(synth_built)
    with rel.connect() as con:
        agencies = {r[0] for r in con.execute("SELECT DISTINCT agency FROM source").fetchall()}
        advice = con.execute(
            "SELECT agency, count(*), min(rank), max(rank) FROM quality_advice GROUP BY agency"
        ).fetchall()
    assert {a for a, *_ in advice} == agencies
    assert all(n <= 5 and lo == 1 and hi == n for _, n, lo, hi in advice)
    report = json.loads((rel.path / REPORT_JSON).read_text())
    assert {s["source"] for s in report["sources"]} >= {"health_ae", "police_crimes"}
    page = (rel.path / REPORT_HTML).read_text()
    assert "What would improve the picture most" in page and "<script" not in page


def test_a_drop_since_the_previous_release_is_flagged(mini: Path) -> None:
    build_release(mini)
    ae = mini / "extracts" / "ae.csv"
    with ae.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:  # blank every NHS number: its completeness falls to 0
        r["NHSNumber"] = ""
    with ae.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    rel = build_release(mini).release
    with rel.connect() as con:
        drops = con.execute(
            "SELECT source, dimension, field FROM quality_change WHERE dropped ORDER BY ALL"
        ).fetchall()
        same = con.execute(
            "SELECT count(*) FROM quality_change WHERE source = 'police_crimes' AND dropped"
        ).fetchone()
    assert ("health_ae", "completeness", "identity.nhs_number") in drops
    assert same == (0,)
    report = json.loads((rel.path / REPORT_JSON).read_text())
    assert any(d["field"] == "identity.nhs_number" for d in report["drops"])
