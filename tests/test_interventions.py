"""Interventions and outcomes, and youth violence beside exploitation (issue 21): planted
interventions' before/after figures against truth, and the violence crosswalk."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import duckdb
import yaml

from joinedup.insight.questions import load_questions
from joinedup.release import open_current
from joinedup.taxonomy import load_taxonomy

LABELS = {
    "support_programme": "Support programme",
    "disruption": "Disruption",
    "safety_planning": "Safety plan",
    "step_down": "Step-down",
}


def _spec(qid: str):
    return next(q.spec for q in load_questions(None) if q.id == qid)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _months(day: dt.date, n: int) -> dt.date:
    m = day.month - 1 + n
    y, m = day.year + m // 12, m % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(y, m, d)
        except ValueError:
            continue
    raise AssertionError


def test_intervention_event_types_are_in_the_taxonomy() -> None:
    codes = load_taxonomy().codes("event_type")
    assert {"support_programme", "disruption", "safety_planning", "step_down"} <= codes


def test_planted_interventions_before_and_after_match_truth(synth_built: Path) -> None:
    truth = synth_built / "truth"
    planted = _rows(truth / "interventions.csv")
    assert len(planted) >= 8
    true_pid = {
        (r["source"], r["source_record_id"]): r["person_id"]
        for r in _rows(truth / "record_person.csv")
    }
    con = duckdb.connect(str(open_current(synth_built).db_path), read_only=True)
    try:
        # every event about each TRUE person (truth ids, not the product's linkage)
        events: dict[str, list[tuple[str, str, dt.date]]] = {}
        rows = con.execute(
            "SELECT ep.source, ep.source_record_id, e.event_id, e.event_type, e.event_date, "
            "ep.role, EXISTS (SELECT 1 FROM event_exploitation x WHERE x.event_id = e.event_id) "
            "FROM event e JOIN event_person ep USING (event_id) WHERE e.event_date IS NOT NULL"
        ).fetchall()
        last = max(r[4] for r in rows)
        for source, rid, eid, etype, day, role, concern in rows:
            pid = true_pid.get((source, rid))
            if pid is None:
                continue
            if concern and role != "witness":
                events.setdefault(pid, []).append((eid, "New exploitation concerns", day))
            if etype == "missing_episode":
                events.setdefault(pid, []).append((eid, "Missing episodes", day))
            if etype == "absence":
                events.setdefault(pid, []).append((eid, "Terms of persistent school absence", day))
        product = con.execute(_spec("intervention_outcomes").sql).fetchall()
        linked = dict(
            con.execute(
                "SELECT source_record_id, person_id FROM record_person "
                "WHERE source = 'wexbury_interventions'"
            ).fetchall()
        )
    finally:
        con.close()
    got = {(r[0], r[1], r[2], r[6]): (r[4], r[5]) for r in product}
    checked = 0
    for p in planted:
        start = dt.date.fromisoformat(p["start_date"])
        if _months(start, 6) > last:
            continue
        for measure in ("New exploitation concerns", "Missing episodes",
                        "Terms of persistent school absence"):  # fmt: skip
            mine = {e for e, m, day in events.get(p["person_id"], []) if m == measure}
            days = {e: day for e, m, day in events.get(p["person_id"], []) if m == measure}
            before = sum(1 for e in mine if _months(start, -6) <= days[e] < start)
            after = sum(1 for e in mine if start < days[e] <= _months(start, 6))
            key = (linked[p["source_record_id"]], LABELS[p["event_type"]], measure, start)
            assert got[key] == (before, after), (p["source_record_id"], measure)
            checked += 1
    assert checked >= 3 * 8
    assert any(v != (0, 0) for v in got.values())  # something was recorded around them


def test_violence_question_reads_the_taxonomy_crosswalk_exactly() -> None:
    cw = load_taxonomy().crosswalk("home_office_violence")
    expected = {(code.lower(), t) for code, targets in cw.items() for t in targets}
    sql = _spec("violence_overlap").sql
    found = set(re.findall(r"\('([0-9a-z.]+)', '([a-z_]+)'\)", sql))
    assert found == expected
    knife = {c for c, t in expected if t == "knife_crime"}
    assert knife == {"10d", "90"}
    assert load_taxonomy().info["home_office_violence"].maps_to_list == "violence_type"


def test_violence_overlap_splits_children_known_through_both(synth_built: Path) -> None:
    con = duckdb.connect(str(open_current(synth_built).db_path), read_only=True)
    try:
        rows = con.execute(_spec("violence_overlap").sql).fetchall()
        violent = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT rp.person_id FROM event e JOIN event_person ep USING (event_id) "
                "JOIN record_person rp ON rp.source = ep.source "
                "AND rp.source_record_id = ep.source_record_id "
                "WHERE e.event_type = 'crime' AND upper(e.detail) IN ('8N', '34B', '10D') "
                "AND ep.role IS DISTINCT FROM 'witness'"
            ).fetchall()
        }
    finally:
        con.close()
    overlap = {r[0]: r[1] for r in rows}
    both = {p for p, o in overlap.items() if o == "Exploitation and serious violence"}
    assert both and both <= violent
    assert {p for p, o in overlap.items() if o == "Exploitation only"}.isdisjoint(violent)


def test_questions_say_what_they_are_for() -> None:
    for qid in ("intervention_outcomes", "violence_overlap"):
        spec = _spec(qid)
        assert spec.aim and spec.informs
        assert any("not proof" in c or "victim first" in c for c in spec.caveats)
    raw = yaml.safe_load(
        (
            Path(__file__).parents[1] / "src/joinedup/insight/questions/intervention_outcomes.yaml"
        ).read_text()
    )
    assert raw["informs"].startswith("Commissioning")
