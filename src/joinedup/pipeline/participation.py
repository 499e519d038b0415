"""The ``participation`` stage (issue 20, item 2): what children and young people say in
surveys and mapping exercises, read into the release and placed in areas.

Each entry of partnership.yaml's ``participation:`` is read by the sources' readers and
refused if it holds an identifier (:mod:`joinedup.sources.participation`). Then:

- an **individual** survey gives one ``participation_response`` a row. The place is put
  in an area with the geography stage's lookups, trying in turn: its **postcode**
  (``postcode_lookup``), an **area code** (``area``: a small area, a ward or an
  authority), the place's **name** (a place recorded by an agency, or in the gazetteer,
  that has that name in one ward only) and the free-text **location** (the name of one
  ward or small area written in it). What would help, the place's name and the location
  are scrubbed (:mod:`joinedup.insight.scrubber`) against every name in the release.
- an **aggregate** table gives one ``participation_area`` a row: an area code, a type of
  place, responses and those saying unsafe, over a period (a date, a month ``2026-03``,
  a year ``2026``, or ``2026-01-01 to 2026-03-31``).

A row that cannot be used (an unreadable date, a count that is not a whole number, more
saying unsafe than responded) is set aside in ``quarantine`` with its row, column and
why, never its value. Both kinds are summed into ``participation_count`` (survey, ward,
date), which the places page's "where children feel unsafe" layer counts.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from joinedup.config.participation import ParticipationSource
from joinedup.config.participation_check import participation_file
from joinedup.insight.notes import known_names_sql
from joinedup.insight.rows import insert_rows
from joinedup.insight.scrubber import Scrubber
from joinedup.pipeline.context import BuildContext
from joinedup.pipeline.places import GAZETTEER
from joinedup.pipeline.read import file_sha256
from joinedup.sources.dates import parse_date
from joinedup.sources.identifiers import postcode_normalise
from joinedup.sources.participation import stage_participation
from joinedup.sources.readers import drop_staged
from joinedup.sources.readreport import record_read_quarantine

__all__ = ["Places", "load_participation", "parse_period"]

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$|^(\d{1,2})/(\d{4})$")
_RANGE = re.compile(r"^(.+?)\s+(?:to|-|–)\s+(.+)$")


def parse_period(
    text: str | None, formats: Sequence[str] | None = None
) -> tuple[dt.date, dt.date] | None:
    """(first day, last day) of a period written as a date, a month (``2026-03``,
    ``03/2026``), a year (``2026``) or two of those joined by "to"; None if unreadable."""
    t = " ".join((text or "").split())
    if not t:
        return None
    m = _RANGE.match(t)
    if m and not _MONTH.match(t):
        a, b = parse_period(m.group(1), formats), parse_period(m.group(2), formats)
        if a is None or b is None or b[1] < a[0]:
            return None
        return a[0], b[1]
    if y := _YEAR.match(t):
        year = int(y.group(1))
        return (dt.date(year, 1, 1), dt.date(year, 12, 31)) if 1900 < year < 2200 else None
    if mm := _MONTH.match(t):
        year = int(mm.group(1) or mm.group(4))
        month = int(mm.group(2) or mm.group(3))
        if not (1 <= month <= 12 and 1900 < year < 2200):
            return None
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    day = parse_date(t, formats)
    return None if day is None else (day, day)


def _key(text: str | None) -> str:
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", (text or "").upper()).split())


@dataclass
class Places:
    """The geography's lookups, read once: postcodes, areas, and place and area names."""

    postcodes: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    areas: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # code -> type, parent
    by_name: dict[str, tuple[str | None, str, str | None]] = field(default_factory=dict)
    area_names: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    _words: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> Places:
        out = cls()
        for pc, sa, ward, la in con.execute(
            "SELECT postcode, small_area, ward, authority FROM postcode_lookup"
        ).fetchall():
            out.postcodes[str(pc)] = (sa, ward, la)
        for code, kind, parent in con.execute(
            "SELECT area_code, area_type, parent_code FROM area"
        ).fetchall():
            out.areas[str(code)] = (str(kind), None if parent is None else str(parent))
        named: dict[str, set[tuple[str | None, str, str | None]]] = {}
        rows = con.execute(
            "SELECT name, small_area, ward, authority FROM place WHERE ward IS NOT NULL"
        ).fetchall()
        if _has_temp(con, GAZETTEER):
            rows += con.execute(
                f"SELECT g.name, l.small_area, l.ward, l.authority FROM {GAZETTEER} g "
                "JOIN postcode_lookup l ON l.postcode = g.postcode WHERE l.ward IS NOT NULL"
            ).fetchall()
        for name, sa, ward, la in rows:
            if _key(name):
                named.setdefault(_key(name), set()).add((sa, str(ward), la))
        for key in named:
            out._words.update(key.split())
        for key, where in named.items():
            wards = {w for _, w, _ in where}
            if len(wards) == 1:  # a name in one ward only; its small area if only one
                sas = {s for s, _, _ in where}
                sa, ward, la = next(iter(where))
                out.by_name[key] = (sa if len(sas) == 1 else None, ward, la)
        names = con.execute(
            "SELECT area_name, area_code FROM area WHERE area_type IN ('ward', 'small_area') "
            "AND area_name IS NOT NULL"
        ).fetchall()
        counts: dict[str, int] = {}
        for name, _ in names:
            counts[_key(name)] = counts.get(_key(name), 0) + 1
            out._words.update(_key(name).split())
        for name, code in sorted(names, key=lambda r: -len(str(r[0]))):
            if len(_key(name)) >= 4 and counts[_key(name)] == 1:
                pattern = re.compile(r"\b" + re.escape(_key(name)) + r"\b")
                out.area_names.append((pattern, str(code)))
        return out

    def words(self) -> frozenset[str]:
        """Every word of the areas' and places' names (upper case)."""
        return frozenset(self._words)

    def of_area(self, code: str | None) -> tuple[str | None, str | None, str | None] | None:
        """(small area, ward, authority) of an area code, or None for an unknown code."""
        c = (code or "").strip().upper()
        if c not in self.areas:
            return None
        kind, parent = self.areas[c]
        if kind == "small_area":
            ward = parent
            return c, ward, self.areas.get(ward or "", ("", None))[1]
        if kind == "ward":
            return None, c, parent
        if kind == "authority":
            return None, None, c
        return None

    def place(
        self, *, postcode: str | None, area_code: str | None, name: str | None, text: str | None
    ) -> tuple[str | None, str | None, str | None, str | None, str | None]:
        """(postcode, small area, ward, authority, placed_by) for a response's place."""
        pc = postcode_normalise(postcode)
        if pc is not None and pc in self.postcodes:
            return (pc, *self.postcodes[pc], "postcode")
        found = self.of_area(area_code)
        if found is not None:
            return (pc, *found, "area_code")
        if (hit := self.by_name.get(_key(name))) is not None:
            return (pc, *hit, "place")
        for words in (_key(text), _key(name)):  # the location first, then the name
            found_in = [self.of_area(code) for p, code in self.area_names if p.search(words)]
            areas = {a for a in found_in if a is not None}
            if len({a[1] for a in areas}) == 1:  # the areas named lie in one ward
                sa = {a[0] for a in areas}
                _, ward, la = next(iter(areas))
                return pc, (sa.pop() if len(sa) == 1 else None), ward, la, "location"
        return pc, None, None, None, None


def _has_temp(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [table]
    ).fetchone()
    return bool(row and row[0])


def _count(text: str | None) -> int | None:
    t = (text or "").strip().replace(",", "")
    if re.fullmatch(r"\d{1,9}(?:\.0+)?", t):
        return int(float(t))
    return None


@dataclass
class _Read:
    """One file's rows as used, and the rows set aside (row, column, reason, problem)."""

    rows: list[tuple[object, ...]] = field(default_factory=list)
    set_aside: list[tuple[int, str, str, str]] = field(default_factory=list)


def _individual(
    p: ParticipationSource,
    data: list[dict[str, str | None]],
    rows: list[int],
    places: Places,
    scrub: Scrubber,
    scrub_place: Scrubber,
) -> _Read:
    cols = p.columns
    out = _Read()
    for row, r in zip(rows, data, strict=True):
        day = p.collected
        raw_date = r.get("date")
        if raw_date and raw_date.strip():
            day = parse_date(raw_date, p.date_formats)
            if day is None:
                out.set_aside.append(
                    (
                        row,
                        str(cols.date),
                        "not a date in an accepted format: write it as YYYY-MM-DD or "
                        "DD/MM/YYYY, or list its format under date_formats",
                        "bad_date",
                    )
                )
                continue
        if day is None:
            out.set_aside.append(
                (
                    row,
                    str(cols.date),
                    "no date: give one, or the survey's closing date as 'collected:'",
                    "blank_date",
                )
            )
            continue
        pc, sa, ward, la, how = places.place(
            postcode=r.get("postcode"),
            area_code=r.get("area_code"),
            name=r.get("place"),
            text=r.get("location"),
        )
        redactions = 0
        texts: list[str | None] = []
        for key in ("place", "location", "what_helps"):
            value = (r.get(key) or "").strip()
            if value:
                done = (scrub if key == "what_helps" else scrub_place)(value)
                redactions += done.redactions
                texts.append(done.text)
            else:
                texts.append(None)
        band = (r.get("age_band") or "").strip() or None
        out.rows.append(
            (p.id, row, band, texts[0], texts[1], pc, sa, ward, la, how)
            + (p.feeling_of(r.get("feeling")), texts[2], redactions, day)
        )
    return out


def _aggregate(
    p: ParticipationSource, data: list[dict[str, str | None]], rows: list[int], places: Places
) -> _Read:
    cols = p.columns
    out = _Read()
    for row, r in zip(rows, data, strict=True):
        responses, unsafe = _count(r.get("responses")), _count(r.get("unsafe"))
        bad = None
        if responses is None:
            bad = (str(cols.responses), "not a whole number of responses", "bad_count")
        elif unsafe is None:
            bad = (str(cols.unsafe), "not a whole number of responses", "bad_count")
        elif unsafe > responses:
            bad = (str(cols.unsafe), "more saying unsafe than responded", "bad_count")
        period = (p.collected, p.collected) if p.collected else None
        if bad is None and (r.get("period") or "").strip():
            period = parse_period(r.get("period"), p.date_formats)
            if period is None:
                bad = (
                    str(cols.period),
                    "not a period: write a date, a month (2026-03), a year (2026), or two "
                    "joined by 'to'",
                    "bad_date",
                )
        if bad is None and period is None:
            bad = (str(cols.period), "no period: give one, or 'collected:'", "blank_date")
        if bad is not None:
            out.set_aside.append((row, *bad))
            continue
        assert period is not None and responses is not None and unsafe is not None
        code = (r.get("area_code") or "").strip().upper() or None
        sa, ward, la = places.of_area(code) or (None, None, None)
        kind = (r.get("place_type") or "").strip() or None
        out.rows.append((p.id, row, code, sa, ward, la, kind, responses, unsafe, *period))
    return out


def load_participation(ctx: BuildContext) -> None:
    """The build's stage: read every participation source into the release (see the
    module docstring); a refused file stops the build, naming the file and column."""
    if not ctx.config.participation:
        return
    con = ctx.con
    places = Places.read(con)
    names = [str(r[0]) for r in con.execute(known_names_sql()).fetchall()]
    scrub = Scrubber(names)
    # a place's name and location keep the words of the partnership's own area and place
    # names ("Eastleigh Green", "Linden"), which a surname list would otherwise remove
    local = places.words()
    scrub_place = Scrubber(n for n in names if _key(n) not in local)
    total = len(ctx.config.participation)
    for i, p in enumerate(ctx.config.participation):
        ctx.progress("participation", i, total)
        path = participation_file(ctx.partnership_dir, p)
        assert path is not None  # load_config checked the file is there
        name = os.path.relpath(path, ctx.partnership_dir)
        table = f"_ju_part_{p.id}"
        staged = stage_participation(con, path, p, table, name=name)
        try:
            mapped = p.columns.mapped()
            fields = list(mapped)
            select = ", ".join('"' + mapped[f].replace('"', '""') + '"' for f in fields)
            raw = con.execute(f'SELECT _row, {select} FROM "{table}" ORDER BY _row').fetchall()
            rows = [int(r[0]) for r in raw]
            data = [
                {f: (None if v is None else str(v)) for f, v in zip(fields, r[1:], strict=True)}
                for r in raw
            ]
            if p.kind == "individual":
                got = _individual(p, data, rows, places, scrub, scrub_place)
                insert_rows(con, "participation_response", got.rows)
            else:
                got = _aggregate(p, data, rows, places)
                insert_rows(con, "participation_area", got.rows)
            reader_set_aside = record_read_quarantine(con, staged.report, p.id, name)
            set_aside = [(p.id, name, row, col, why, kind) for row, col, why, kind in got.set_aside]
            insert_rows(con, "quarantine", set_aside)
        finally:
            drop_staged(con, table)
        _source_row(
            con, p, name, file_sha256(path), len(raw), reader_set_aside + len(got.set_aside)
        )
    con.execute(_COUNT_SQL)
    ctx.progress("participation", total, total)


_COUNT_SQL = """INSERT INTO participation_count
SELECT participation, ward, authority, response_date, count(*)::INTEGER,
  count(*) FILTER (WHERE feeling = 'unsafe')::INTEGER
FROM participation_response GROUP BY ALL
UNION ALL
SELECT participation, ward, authority, period_end, sum(responses)::INTEGER, sum(unsafe)::INTEGER
FROM participation_area GROUP BY ALL"""


def _source_row(
    con: duckdb.DuckDBPyConnection,
    p: ParticipationSource,
    name: str,
    sha: str,
    read: int,
    set_aside: int,
) -> None:
    if p.kind == "individual":
        facts = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE ward IS NULL), min(response_date), "
            "max(response_date) FROM participation_response WHERE participation = ?",
            [p.id],
        ).fetchone()
    else:
        facts = con.execute(
            "SELECT coalesce(sum(responses), 0), coalesce(sum(responses) FILTER "
            "(WHERE ward IS NULL), 0), min(period_start), max(period_end) "
            "FROM participation_area WHERE participation = ?",
            [p.id],
        ).fetchone()
    assert facts is not None
    con.execute(
        "INSERT INTO participation_source VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [p.id, p.title, p.kind, p.agency, p.sharing_agreement, name, sha, read, set_aside]
        + [int(facts[0]), int(facts[1]), facts[2], facts[3]],
    )
