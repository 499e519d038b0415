"""The truth harness (issue 14, items 8 and 4): the product's answers on the synthetic
partnership against figures worked out from the synthetic TRUTH (joinedup.synth.expected:
true persons, true dates of birth and homes, what each agency recorded), within 5%.

The product's figures are read through the API `joinedup ask` uses (insight.read_answer,
before disclosure control: the operational tier still hides counts of 1 to 5, and the
comparison needs every count); the headline totals are also checked as `ask` prints them
at the operational tier. Definitions: docs/synthetic-data.md, "The truth harness".
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from joinedup.disclosure import Tier
from joinedup.insight import read_answer
from joinedup.insight.answers import ALL
from joinedup.insight.periods import Period
from joinedup.release.store import open_current
from joinedup.synth.expected import (
    LIVES_OUTSIDE,
    Expected,
    SynthTruth,
    default_period_bounds,
    load_truth,
)
from joinedup.views import current_answer

TOLERANCE = 0.05  # never loosened: a gap above it is explained below or fixed


@pytest.fixture(scope="module")
def truth(synth_built: Path) -> SynthTruth:
    return load_truth(synth_built)


@pytest.fixture(scope="module")
def con(synth_built: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    db = duckdb.connect(str(open_current(synth_built).db_path), read_only=True)
    yield db
    db.close()


@pytest.fixture(scope="module")
def all_time(truth: SynthTruth) -> Expected:
    return truth.figures()


@pytest.fixture(scope="module")
def default(truth: SynthTruth, con: duckdb.DuckDBPyConnection) -> Expected:
    period = read_answer(con, "children_with_concern").period
    start, end = default_period_bounds(truth.reference)
    assert (period.key, period.start, period.end) == ("default", start, end)
    return truth.figures(start, end)


def _got(con, question: str, by: str | None, category: str | None, period: Period | None):
    answer = read_answer(con, question, by=by, period=period)
    cell = answer.cells.get((None, category))
    return 0 if cell is None else cell.units


def _within(name: str, want: int, got: int) -> None:
    gap = abs(got - want) / want if want else float(got != 0)
    assert gap <= TOLERANCE, f"{name}: expected {want} from the truth, the product says {got}"


def test_truth_is_the_generators(truth: SynthTruth, synth_built: Path) -> None:
    # every person the truth names exists, and the truth reads every agency's extract
    assert {r.source for r in truth.rows} >= {
        "police_crimes",
        "police_missing",
        "health_ae",
        "yjs_outcomes",
        "asc_concerns",
    }
    # a CSE flag beside an online flag is an online case: only online scenarios carry both
    with open(synth_built / "truth" / "scenario_members.csv", encoding="utf-8") as fh:
        online = {r["person_id"] for r in csv.DictReader(fh) if r["scenario_type"] == "online"}
    both = {r.person_id for r in truth.rows if {"online", "cse"} <= set(r.types)}
    assert both and both <= online


def _recorded_home(con, synth_built: Path) -> dict[str, str]:
    """Each true person's authority as their agencies last RECORDED it: the postcode on
    their latest-dated record in the release (through the truth's record -> person map).
    The synthetic extracts record an old address for 30% of records of people who moved
    in the last year, as real agencies do; where every record is stale, no product can
    know the move."""
    with open(synth_built / "truth" / "record_person.csv", encoding="utf-8") as fh:
        true_of = {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(fh)}
    rows = con.execute(
        "SELECT r.source, r.source_record_id, r.record_date, a.area_name FROM record r "
        "JOIN identity i USING (source, source_record_id) "
        "JOIN postcode_lookup l ON l.postcode = i.postcode "
        "JOIN area a ON a.area_code = l.authority WHERE r.record_date IS NOT NULL"
    ).fetchall()
    latest: dict[str, tuple] = {}
    for source, rid, day, name in rows:
        pid = true_of.get((source, rid))
        if pid is not None and (pid not in latest or day > latest[pid][0]):
            latest[pid] = (day, str(name))
    return {pid: name for pid, (_, name) in latest.items()}


def test_children_with_a_concern(con, all_time: Expected, default: Expected, synth_built) -> None:
    recorded = _recorded_home(con, synth_built)
    for label, exp, period in (("all time", all_time, ALL), ("default period", default, None)):
        got = _got(con, "children_with_concern", None, None, period)
        _within(f"children with a concern, {label}", len(exp.children), got)
        for authority, ids in exp.by_authority.items():
            got = _got(con, "children_with_concern", "authority", authority, period)
            # a gap above 5% must be exactly children whose every recent record gives an
            # old address (moved, not yet recorded): measured, never assumed
            moved_in = {p for p in exp.children - ids if recorded.get(p) == authority}
            moved_out = {p for p in ids if p in recorded and recorded[p] != authority}
            assert len(moved_in) + len(moved_out) <= max(1, len(ids) // 10)
            _within(
                f"children living in {authority}, {label}",
                len(ids) + len(moved_in) - len(moved_out),
                got,
            )
        for role, ids in exp.by_role.items():
            got = _got(con, "children_with_concern", "recorded_role", role, period)
            _within(f"children {role.lower()}, {label}", len(ids), got)
    # county lines included: every child on a county-lines event (recorded as a suspect
    # on most) is a child with a CCE concern
    assert all_time.by_type["county_lines"] <= all_time.by_group["CCE and county lines"]
    assert all_time.by_role["Recorded as suspect or offender"]


def test_children_by_type(con, all_time: Expected, default: Expected) -> None:
    for label, exp, period in (("all time", all_time, ALL), ("default period", default, None)):
        for group, ids in exp.by_group.items():
            got = _got(con, "children_with_concern", "exploitation_type", group, period)
            # The police mapping reads the offence code as a fallback (indicators.fallback):
            # without it, class 92A (drug supply) typed CSE victims of "supplying a
            # controlled drug to a child" as CCE as well, 3 children too many (+8.6%).
            _within(f"children under {group}, {label}", len(ids), got)


def _split_by_linkage(con, synth_built: Path, units: set[str], expected: set[str]) -> set[str]:
    """The product's units (person ids) whose true person is not in ``expected`` because
    linkage left one of their records apart: a true person spread over more than one
    product person. Measured against the truth's record -> person map."""
    with open(synth_built / "truth" / "record_person.csv", encoding="utf-8") as fh:
        true_of = {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(fh)}
    rows = con.execute("SELECT source, source_record_id, person_id FROM record_person").fetchall()
    product_of = {(s, r): p for s, r, p in rows}
    persons_of: dict[str, set[str]] = {}
    for key, true_id in true_of.items():
        if key in product_of:
            persons_of.setdefault(true_id, set()).add(product_of[key])
    out = set()
    for unit in units:
        trues = {true_of[(s, r)] for (s, r), p in product_of.items() if p == unit}
        if not trues & expected and any(len(persons_of[t]) > 1 for t in trues):
            out.add(unit)
    return out


def test_known_to_one_agency_and_non_residents(
    con, all_time: Expected, default, synth_built: Path
) -> None:
    for label, exp, period in (("all time", all_time, ALL), ("default period", default, None)):
        got = _got(con, "children_known_to_one_agency", None, None, period)
        # Linkage error, measured not hidden (issue 15): a data-minimised voluntary record
        # (forename with a typo, no surname) left apart from the rest of a child's records
        # makes that fragment "known to one agency". The gap must be exactly such splits.
        start, end = (None, None) if period is ALL else (exp.start, exp.end)
        units = {
            u
            for (u,) in con.execute(
                "SELECT DISTINCT unit_id FROM question_row "
                "WHERE question_id = 'children_known_to_one_agency' "
                "AND ($1::DATE IS NULL OR event_date BETWEEN $1 AND $2)",
                [start, end],
            ).fetchall()
        }
        assert len(units) == got
        split = _split_by_linkage(con, synth_built, units, exp.known_to_one_agency)
        # issue 15's linkage leaves no such split on this partnership: the product's own
        # figure is within 5% of the truth, and any split is still measured and named
        assert not split, f"{len(split)} children split by linkage"
        _within(f"children known to one agency, {label}", len(exp.known_to_one_agency), got)
        got = _got(con, "children_with_concern", "authority", LIVES_OUTSIDE, period)
        _within(f"children living outside the partnership, {label}", len(exp.non_resident), got)


def test_persons_of_concern_linked_to_two_or_more(con, all_time, default) -> None:
    for label, exp, period in (("all time", all_time, ALL), ("default period", default, None)):
        got = _got(con, "persons_of_concern", None, None, period)
        _within(f"persons of concern, {label}", len(exp.persons_of_concern), got)
        got = _got(
            con, "persons_of_concern", "linked_children", "Linked to 2 or more children", period
        )
        _within(f"linked to 2+ children, {label}", len(exp.linked_to_two_or_more), got)


def test_missing_episodes_and_interviews(con, all_time: Expected, default: Expected) -> None:
    for label, exp, period in (("default period", default, None), ("all time", all_time, ALL)):
        got = _got(con, "missing_episodes_rhi", None, None, period)
        _within(f"missing episodes, {label}", len(exp.missing_episodes), got)
        got = _got(con, "missing_episodes_rhi", "rhi_offered", "Offered within 72 hours", period)
        _within(f"interviews offered within 72 hours, {label}", len(exp.rhi_offered_72h), got)
        got = _got(
            con, "missing_episodes_rhi", "rhi_completed", "Completed within 72 hours", period
        )
        _within(f"interviews completed within 72 hours, {label}", len(exp.rhi_completed_72h), got)


def test_young_adults(con, all_time: Expected, default: Expected) -> None:
    known = "Known to children's social care before 18"
    for label, exp, period in (("all time", all_time, ALL), ("default period", default, None)):
        got = _got(con, "young_adults_with_concern", None, None, period)
        _within(f"young adults with a concern, {label}", len(exp.young_adults), got)
        got = _got(con, "young_adults_with_concern", "childrens_services", known, period)
        _within(f"of them known to CSC before 18, {label}", len(exp.young_adults_known_to_csc), got)


@pytest.mark.parametrize("window", ["all", "default"])
def test_places_ranked_as_the_truth_ranks_them(con, all_time, default, window) -> None:
    # The truth counts distinct children (under 18, any role but witness) on events with
    # an exploitation type at each named place: a missing episode the police flagged is
    # one, at the place the child was found; where children are found after any episode
    # is its own ranking (issue 14, item 5).
    exp = all_time if window == "all" else default
    truth = dict(exp.ranked_places())
    rows = con.execute(
        "SELECT p.name, p.postcode, h.children FROM place_hotspot h JOIN place p USING "
        "(place_id) WHERE h.time_window = $w AND h.ranking = 'concern' ORDER BY h.place_rank",
        {"w": window},
    ).fetchall()
    product = {(str(n), str(pc)): int(c) for n, pc, c in rows}
    for place, _ in exp.ranked_places()[:12]:
        _within(f"children at {place[0]} ({window})", truth[place], product.get(place, 0))
    # The planted places (truth/scenario_places.csv: trap houses, the takeaways, hotels
    # and flats of the CSE networks) that saw harm in the period are the product's first
    # places, in the order of their children in the truth.
    planted = {p for p in exp.planted_places if truth.get(p, 0) > 0}
    assert len(planted) >= 4, "too few planted places in the period to test the ranking"
    first = list(product)[: len(planted)]
    assert set(first) == planted, (window, first)
    counts = [product[p] for p in first]
    assert counts == sorted(counts, reverse=True)
    assert min(counts) >= max(n for p, n in product.items() if p not in planted)


def test_headline_as_ask_prints_it(synth_built: Path, con, all_time: Expected) -> None:
    # the same figure through `joinedup ask --tier operational --period all`
    shown = current_answer(
        synth_built, "children_with_concern", tier=Tier.OPERATIONAL, period="all"
    )
    assert shown["rows"][-1]["count"] == _got(con, "children_with_concern", None, None, ALL)
    _within(
        "children with a concern (as shown)", len(all_time.children), shown["rows"][-1]["count"]
    )
