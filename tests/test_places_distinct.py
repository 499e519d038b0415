"""Places that are places (issue 14, item 5), on a hand-made release with hand-worked answers.

The release (reference date 31 October 2026, default period November 2025 to October
2026) has six places in two small areas:

- GG1 "Golden Grill" (takeaway, WX1 1AA, Small One) and GG2 "GOLDEN GRILL" (takeaway,
  WX2 2BB, Small Two): one name, two locations;
- ST "Central Station" (transport, Small One), where four missing children are found
  (on episodes with no exploitation type recorded);
- F1 and F2, two flats in Small One (never named); a child is found at F2 on a missing
  episode flagged for county lines;
- OLD "Old Kebab" (takeaway, Small One), with a CSE crime in 2024 only.

Hand-worked answers are in each test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from joinedup.disclosure import SUPPRESSED, Tier
from joinedup.insight import compute_insight, custom_period, hotspots, load_questions, rank_places
from joinedup.release.schema import create_schema_sql

REFERENCE = dt.date(2026, 10, 31)

PLACES = [
    # place_id, name, type, postcode, sector, small area
    ("GG1", "Golden Grill", "takeaway", "WX1 1AA", "WX1 1", "S1"),
    ("GG2", "GOLDEN GRILL", "takeaway", "WX2 2BB", "WX2 2", "S2"),
    ("ST", "Central Station", "transport", "WX1 1AB", "WX1 1", "S1"),
    ("F1", "Flat 1, Test House", "other_residential", "WX1 1AD", "WX1 1", "S1"),
    ("F2", "Flat 9, Other House", "other_residential", "WX1 1AE", "WX1 1", "S1"),
    ("OLD", "Old Kebab", "takeaway", "WX1 1AF", "WX1 1", "S1"),
]
PEOPLE = {  # person: date of birth
    "C1": "2012-01-01",
    "C2": "2011-01-01",
    "C3": "2010-06-01",
    "C4": "2013-01-01",
    "C5": "2012-05-05",
    "C6": "2011-07-07",
    "C7": "2012-09-09",
    "A1": "1990-01-01",
}
EVENTS = {  # event: (type, date, place, [(person, role)], [exploitation types])
    "E1": ("crime", "2026-03-01", "GG1", [("C1", "victim"), ("C2", "victim"),
                                         ("A1", "person_of_concern")], ["cse"]),
    "E2": ("crime", "2026-04-01", "GG2", [("C3", "victim"), ("C6", "witness")], ["cse"]),
    # a child recorded only as a suspect on a county-lines crime: a child with a concern
    "E3": ("crime", "2026-05-01", "F1", [("C4", "person_of_concern")], ["county_lines"]),
    "E4": ("crime", "2026-05-02", "F2", [("C5", "victim")], ["cce"]),
    "E5": ("crime", "2024-02-01", "OLD", [("C1", "victim"), ("C2", "victim"),
                                          ("C3", "victim")], ["cse"]),
    "E6": ("crime", "2026-02-01", "ST", [("C1", "victim")], []),  # no exploitation type
    "M1": ("missing_episode", "2026-06-01", "ST", [("C1", "subject")], []),
    "M2": ("missing_episode", "2026-06-05", "ST", [("C2", "subject")], []),
    "M3": ("missing_episode", "2026-07-01", "ST", [("C3", "subject")], []),
    "M4": ("missing_episode", "2026-07-02", "ST", [("C4", "subject")], []),
    "M5": ("missing_episode", "2026-08-01", "GG1", [("C5", "subject")], []),
    # found at the flat on an episode flagged for county lines: exploitation-related
    "M6": ("missing_episode", "2026-09-01", "F2", [("C7", "subject")], ["county_lines"]),
}  # fmt: skip


def _build(path: Path) -> Path:
    con = duckdb.connect(str(path))
    for sql in create_schema_sql():
        con.execute(sql)
    con.execute(
        "INSERT INTO release_info VALUES ('release_id', 'R-PLACES'), "
        "('reference_date', '2026-10-31')"
    )
    con.executemany(
        "INSERT INTO area VALUES (?, ?, ?, ?, NULL)",
        [
            ("A1", "Northtown", "authority", None),
            ("W1", "Ward One", "ward", "A1"),
            ("S1", "Small One", "small_area", "W1"),
            ("S2", "Small Two", "small_area", "W1"),
        ],
    )
    for pid, name, ptype, pc, sector, sa in PLACES:
        con.execute(
            "INSERT INTO place VALUES (?, ?, ?, ?, ?, ?, ?, 'W1', 'A1', NULL, NULL)",
            [pid, name, ptype, pc, sector, pc.split()[0], sa],
        )
    for person, dob in PEOPLE.items():
        con.execute(
            "INSERT INTO record_person VALUES ('police', ?, ?, 1.0, 'test')", [person, person]
        )
        con.execute(
            "INSERT INTO identity (source, source_record_id, dob, sex) "
            "VALUES ('police', ?, ?, 'U')",
            [person, dob],
        )
    for eid, (etype, date, place, people, types) in EVENTS.items():
        end = date if etype == "missing_episode" else None
        con.execute(
            "INSERT INTO event VALUES (?, 'police', 'police', ?, ?, ?, ?, NULL, false, NULL)",
            [eid, etype, date, end, place],
        )
        for person, role in people:
            con.execute("INSERT INTO event_person VALUES (?, 'police', ?, ?)", [eid, person, role])
        for t in types:
            con.execute("INSERT INTO event_exploitation VALUES (?, ?, 'X')", [eid, t])
    compute_insight(
        con,
        questions=load_questions(None),
        agency_types={"police": "police"},
        sources_by_type={"police": ["police"]},
        reference=REFERENCE,
        period="12 months",
    )
    con.close()
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("places-distinct") / "release.duckdb")


@pytest.fixture
def con(db: Path):
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


def _rows(spots) -> list[tuple[str, int, int, int]]:
    return [(h.label, h.children, h.persons_of_concern, h.events) for h in spots]


def test_two_places_sharing_a_name_stay_two(con) -> None:
    top = hotspots(con, time_window="all")
    assert _rows(top) == [
        ("Old Kebab", 3, 0, 1),  # C1, C2, C3 in 2024
        ("Golden Grill (WX1 1)", 2, 1, 1),  # C1, C2 and A1; C5 found there is not counted
        ("Residential address in Small One (2)", 2, 0, 2),  # C5; C7 found on a flagged episode
        ("GOLDEN GRILL (WX2 2)", 1, 0, 1),  # C3; C6 was a witness
        ("Residential address in Small One (1)", 1, 0, 1),  # C4, recorded as a suspect
    ]
    assert [h.place_rank for h in top] == [1, 2, 3, 4, 5]
    assert [h.place_id for h in top] == ["OLD", "GG1", "F2", "GG2", "F1"]
    # the labels that never name: by type and small area, numbered where alike
    assert {h.place_id: h.area_label for h in top} == {
        "OLD": "Takeaway in Small One (2)",
        "GG1": "Takeaway in Small One (1)",
        "GG2": "Takeaway in Small Two",
        "F1": "Residential address in Small One (1)",
        "F2": "Residential address in Small One (2)",
    }
    assert [h.named for h in top] == [True, True, False, True, False]
    # every place has one label and no label two places, in every stored ranking
    for window, ranking in con.execute(
        "SELECT DISTINCT time_window, ranking FROM place_hotspot"
    ).fetchall():
        for column in ("label", "area_label"):
            n, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT lower({column})) FROM place_hotspot "
                "WHERE time_window = ? AND ranking = ?",
                [window, ranking],
            ).fetchone()
            assert n == distinct, (window, ranking, column)


def test_where_missing_children_are_found_is_its_own_ranking(con) -> None:
    assert "ST" not in {h.place_id for h in hotspots(con, time_window="all")}
    found = hotspots(con, time_window="all", ranking="found")
    assert _rows(found) == [
        ("Central Station", 4, 0, 4),  # C1 to C4, one episode each
        ("Golden Grill (WX1 1)", 1, 0, 1),  # C5
        ("Residential address in Small One (2)", 1, 0, 1),  # C7
    ]
    assert _rows(hotspots(con, time_window="default", ranking="found")) == _rows(found)


def test_the_period_filters(con) -> None:
    # default period: November 2025 to October 2026; the 2024 crime at Old Kebab is out
    assert _rows(hotspots(con, time_window="default")) == [
        ("Golden Grill (WX1 1)", 2, 1, 1),
        ("Residential address in Small One (2)", 2, 0, 2),
        ("GOLDEN GRILL (WX2 2)", 1, 0, 1),
        ("Residential address in Small One (1)", 1, 0, 1),
    ]
    # a chosen period counted on request: March and April 2026
    chosen = custom_period("2026-03-01", "2026-04-30")
    assert _rows(rank_places(con, chosen)) == [
        ("Golden Grill (WX1 1)", 2, 1, 1),
        ("GOLDEN GRILL (WX2 2)", 1, 0, 1),
    ]
    assert _rows(rank_places(con, chosen, ranking="found")) == []
    # the stored periods counted on request give what the build stored
    for key, period in (("all", custom_period(None, None)),
                        ("default", custom_period("2025-11-01", "2026-10-31"))):  # fmt: skip
        for ranking in ("concern", "found"):
            assert _rows(rank_places(con, period, ranking=ranking)) == _rows(
                hotspots(con, time_window=key, ranking=ranking)
            )


def test_the_question_counts_distinct_places_by_period(con) -> None:
    def by_place(period: str) -> dict[str, int]:
        rows = con.execute(
            "SELECT category, units FROM question_result WHERE question_id = "
            "'places_of_concern' AND breakdown = 'place' AND period = ? "
            "AND split_value IS NULL AND category IS NOT NULL",
            [period],
        ).fetchall()
        return {str(c): int(n) for c, n in rows}

    # no place had more than 10 children: each is shown by type and small area, apart
    assert by_place("all") == {
        "Takeaway in Small One (2)": 3,
        "Takeaway in Small One (1)": 2,
        "Residential address in Small One (2)": 2,
        "Takeaway in Small Two": 1,
        "Residential address in Small One (1)": 1,
    }
    assert by_place("default") == {
        "Takeaway in Small One (1)": 2,
        "Residential address in Small One (2)": 2,
        "Takeaway in Small Two": 1,
        "Residential address in Small One (1)": 1,
    }


class _Handle:
    release_id = "R-PLACES"

    def __init__(self, db: Path) -> None:
        self.db = db

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.db), read_only=True)


def test_the_page_names_a_place_only_beside_a_count_shown(db: Path, tmp_path: Path) -> None:
    from joinedup.views import current_places

    def get(tier: Tier, **kw):
        return current_places(tmp_path, tier, open_release=lambda _: _Handle(db), **kw)

    strategic = get(Tier.STRATEGIC, period="all")
    assert [h["label"] for h in strategic["hotspots"]] == [
        "Takeaway in Small One (2)",
        "Takeaway in Small One (1)",
        "Residential address in Small One (2)",
        "Takeaway in Small Two",
        "Residential address in Small One (1)",
    ]
    assert all(h["children"] == SUPPRESSED for h in strategic["hotspots"])
    assert [h["label"] for h in strategic["found"]] == [
        "Transport in Small One",
        "Takeaway in Small One (1)",
        "Residential address in Small One (2)",
    ]
    operational = get(Tier.OPERATIONAL, period="all")
    assert [h["label"] for h in operational["hotspots"]][:3] == [
        "Old Kebab",
        "Golden Grill (WX1 1)",
        "Residential address in Small One (2)",
    ]
    text = str(strategic) + str(operational)
    assert not any(pc in text for _, _, _, pc, _, _ in PLACES)  # never a full postcode
    assert "Flat" not in text
    assert get(Tier.STRATEGIC)["period"]["key"] == "default"
    chosen = get(Tier.OPERATIONAL, start="2026-03-01", end="2026-04-30")
    assert chosen["period"]["stored"] is False and chosen["choices"]["period"] == "custom"
    assert [h["label"] for h in chosen["hotspots"]] == [
        "Golden Grill (WX1 1)",
        "GOLDEN GRILL (WX2 2)",
    ]
    assert get(Tier.COMMUNITY)["hotspots"] is None


def test_a_place_id_is_the_normalised_name_and_full_postcode(mini: Path) -> None:
    from joinedup.config import load_config
    from joinedup.pipeline.rows import place_id_sql

    src = load_config(mini, check_files=False).sources[0]
    ids = [
        r[0]
        for r in duckdb.sql(
            f"SELECT {place_id_sql(src)} FROM (VALUES ('Golden Grill', 'WX1 1AA'), "
            "('GOLDEN  GRILL.', 'WX1 1AA'), (' golden-grill ', 'WX1 1AA'), "
            "('Golden Grill', 'WX2 2BB'), ('Golden Grille', 'WX1 1AA'), (NULL, NULL)) "
            "t(place_name, place_postcode)"
        ).fetchall()
    ]
    assert ids[0] == ids[1] == ids[2]  # one name however written
    assert len({ids[0], ids[3], ids[4]}) == 3  # another postcode or name: another place
    assert ids[5] is None


GAZETTEER = """\
UPRN,Premises,AlsoKnownAs,Postcode,Kind
100,Chicken Palace Takeaway,Chicken Palace;CP,wx13ab,takeaway
200,Riverside Park,,QY1 2AB,park
"""

MORE_CRIMES = """\
20,C20,V,Ann,Lee,01/01/2011,F,WX1 2AB,,,06/09/2026 10:00,CSE,"CHICKEN  PALACE.",WX1 3AB,Takeaway
21,C21,V,Bo,Lee,01/02/2011,F,WX1 2AB,,,06/09/2026 11:00,CSE,Chicken Palace,WX2 1AB,Takeaway
"""


def test_a_gazetteer_entry_is_one_place_whoever_recorded_it(mini: Path) -> None:
    from joinedup.pipeline import build
    from joinedup.release import open_current

    crimes = mini / "extracts" / "crimes_2026-10.csv"
    crimes.write_bytes(crimes.read_bytes() + MORE_CRIMES.encode("cp1252"))
    (mini / "geography" / "premises.csv").write_text(GAZETTEER, encoding="utf-8")
    yaml = (mini / "partnership.yaml").read_text(encoding="utf-8")
    yaml = yaml.replace(
        "  postcodes: geography/postcodes.csv\n",
        "  postcodes: geography/postcodes.csv\n"
        "  gazetteer:\n    file: geography/premises.csv\n"
        "    columns: {id: UPRN, name: Premises, postcode: Postcode, type: Kind, "
        "aliases: AlsoKnownAs}\n",
    )
    (mini / "partnership.yaml").write_text(yaml, encoding="utf-8")
    build(mini)
    con = duckdb.connect(str(open_current(mini).db_path), read_only=True)
    try:
        places = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT place_id, name, place_type, postcode FROM place"
            ).fetchall()
        }
        assert places["GZ:100"] == ("Chicken Palace Takeaway", "takeaway", "WX1 3AB")
        # the same name at another postcode is another place, not the entry
        other = [k for k, v in places.items() if v[0] == "Chicken Palace"]
        assert len(other) == 1 and places[other[0]][2] == "WX2 1AB"
        at = dict(
            con.execute(
                "SELECT ep.source_record_id, e.place_id FROM event e JOIN event_person ep "
                "USING (event_id) WHERE ep.source_record_id IN ('1', '2', '20', '21')"
            ).fetchall()
        )
        assert at == {"1": "GZ:100", "2": "GZ:100", "20": "GZ:100", "21": other[0]}
        # "Park" at QY1 2AB is not named Riverside Park: no match by postcode alone
        assert "GZ:200" not in places
    finally:
        con.close()


# --- the synthetic partnership: the planted places are the top-ranked places ----------

_EXPLOITATION_FLAGS = {"CSE", "CCE", "CL", "CUCK", "ONL", "MSHT"}


def _truth_places(root: Path) -> tuple[dict[tuple[str, str], list[dt.date]], set[tuple[str, str]]]:
    """From the truth and the police extract (never the release): the planted places
    (name, postcode) with the dates of the crimes and incidents recorded there with an
    exploitation flag and someone other than a witness involved; and every place of such
    a crime that involves a member of a planted scenario (the planted places and the
    streets nearby where the scenarios' crimes were also planted)."""
    import csv

    truth = root / "truth"
    with open(truth / "scenario_places.csv", encoding="utf-8") as fh:
        planted = {(r["place name"].upper(), r["postcode"]) for r in csv.DictReader(fh)}
    with open(truth / "scenario_members.csv", encoding="utf-8") as fh:
        members = {r["person_id"] for r in csv.DictReader(fh)}
    with open(truth / "record_person.csv", encoding="utf-8") as fh:
        who = {
            r["source_record_id"]: r["person_id"]
            for r in csv.DictReader(fh)
            if r["source"] == "police_crimes"
        }
    dates: dict[tuple[str, str], list[dt.date]] = {p: [] for p in planted}
    scenario_places = set(planted)
    for path in sorted((root / "extracts" / "police").glob("crimes_incidents_*.csv")):
        with open(path, encoding="cp1252", newline="") as fh:
            for r in csv.DictReader(fh):
                key = ((r.get("LocationName") or "").upper(), r.get("LocationPostcode") or "")
                flags = set((r.get("Flags") or "").split(";"))
                if not flags & _EXPLOITATION_FLAGS or r.get("InvolvementType") == "Witness":
                    continue
                if who.get(r.get("InvolvementID") or "") in members:
                    scenario_places.add(key)
                if key in dates:
                    d, m, y = r["OccurredAt"][:10].split("/")
                    dates[key].append(dt.date(int(y), int(m), int(d)))
    return dates, scenario_places


def test_the_planted_places_are_the_top_ranked_places(synth_built: Path) -> None:
    """In each period, every planted place with a planted crime in it ranks above every
    place that no scenario touched (a station where runaways are found, a shop); the
    streets where a scenario's crimes were also planted may sit among them."""
    from joinedup.insight.periods import month_add
    from joinedup.release import open_current

    dates, scenario_places = _truth_places(synth_built)
    assert dates and all(dates.values())  # every planted place has its crimes
    con = duckdb.connect(str(open_current(synth_built).db_path), read_only=True)
    try:
        key_of = {
            str(r[0]): (str(r[1] or "").upper(), r[2])
            for r in con.execute("SELECT place_id, name, postcode FROM place").fetchall()
        }
        row = con.execute(
            "SELECT date_from, date_to FROM question_period WHERE period = 'default'"
        ).fetchone()
        default = custom_period(row[0], row[1])
        first = min(d for ds in dates.values() for d in ds)
        last = max(d for ds in dates.values() for d in ds)
        # the whole months from the first planted crime to the last, counted on request,
        # and the 12 months to the last one (the scenarios are part-way through it)
        span = custom_period(first.replace(day=1), month_add(last, 1) - dt.timedelta(1))
        year = custom_period(month_add(last, -11), month_add(last, 1) - dt.timedelta(1))
        checked = 0
        for name, period, stored in (
            ("all time", custom_period(None, None), "all"),
            ("default period", default, "default"),
            ("months of the planted crimes", span, None),
            ("12 months to the last planted crime", year, None),
        ):
            active = {
                p
                for p, ds in dates.items()
                if any((period.start is None or d >= period.start)
                       and (period.end is None or d <= period.end) for d in ds)
            }  # fmt: skip
            ranked = (
                hotspots(con, time_window=stored, limit=1000)
                if stored
                else rank_places(con, period, limit=1000)
            )
            top = [key_of[h.place_id] for h in ranked]
            assert active <= set(top), name
            worst = max(top.index(p) for p in active) if active else -1
            intruders = [p for p in top[: worst + 1] if p not in scenario_places]
            assert not intruders, (name, intruders)
            checked += len(active)
        assert checked >= len(dates) + 1  # all time and at least one period have them
    finally:
        con.close()
