"""Counts of records protected like counts of people, the same way on every output.

A row of an agency's extract stands for a person or an event about one: a row of the NRM
extract is one child referred for modern slavery. So the counts of records that pages
show (each source's rows read, loaded, filtered out and quarantined, quarantined rows
by problem, records per month, the rows behind each quality measure, and their totals
across sources) are protected with the tier's policy exactly as counts of people are
(``docs/disclosure.md``): small counts hidden, and secondary suppression over every
relation a reader can use, solved together as one table by
:func:`~joinedup.disclosure.protect_cells`:

- rows read = rows checked + rows filtered out; rows checked = loaded + quarantined;
- rows quarantined = the sum of the rows quarantined by problem and column;
- records with a date = the sum of the records per month;
- a quality measure's denominator = its numerator + the rows that fail it (the
  shortfall is a count of records too, e.g. "3 rows without a date of birth");
- each kind of row count, summed over the sources, and those totals' own sum.

Within one source, equal counts are treated as one figure (a reader who sees 11 as the
denominator of two measures assumes they count the same rows): it is hidden everywhere
or nowhere. A share (a measure's value) is shown only where its numerator and
denominator both are, computed from them as published.

:func:`record_cells` is the one place this is decided; the overview's sources table, the
quality page, the releases list and comparison, the exports and the report all take
their counts of records from it, so a count hidden on one is hidden on all.

With ``disclosure.method: cell_key`` (issue 19) every count of records is instead
perturbed on its own by a *count key*, a keyed hash under the partnership's secret of
the cell (its source and what it counts) and its count
(:meth:`joinedup.views.cellkey.PageKeys.perturb`): the release stores these counts as
numbers, not as lists of rows, so a sum of record keys is not to hand, but the same rows
counted under the same name give the same figure on every page and in every release,
and no secondary suppression is needed. Without the secret at hand they keep
suppression.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from joinedup.disclosure import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    Relation,
    SourceScope,
    Tier,
    protect_cells,
)
from joinedup.views.cellkey import PageKeys, keys_for_release

__all__ = [
    "KINDS",
    "NOT_RECORDS",
    "RecordCells",
    "protect_source_rows",
    "record_cells",
    "release_key",
    "share_of",
]

#: The row counts of a source, in the order shown.
KINDS = ("rows_read", "rows_loaded", "rows_filtered", "rows_quarantined")

#: Quality measures whose numerator and denominator are not counts of records.
NOT_RECORDS = frozenset({"months_without_gaps", "extract_lag_days"})


@dataclass(frozen=True)
class RecordCells:
    """The protected counts of records of one release at one tier."""

    sources: dict[str, dict[str, Cell]]  # source -> KINDS -> count or "c"
    totals: dict[str, Cell]  # KINDS -> count or "c", over the sources
    quarantine: dict[tuple[str, str, str], Cell]  # (source, problem, column) -> rows
    months: dict[tuple[str, str], Cell]  # (source, "YYYY-MM") -> records
    measures: dict[tuple[str, str, str], tuple[Cell, Cell]]  # (source, measure, field)

    def source(self, source: str) -> dict[str, Cell]:
        return dict(self.sources.get(source, dict.fromkeys(KINDS, SUPPRESSED)))


def share_of(numerator: Cell | None, denominator: Cell | None) -> float | str | None:
    """A share computed from a published numerator and denominator: "c" when either is
    hidden, None when there is nothing to divide."""
    if numerator == SUPPRESSED or denominator == SUPPRESSED:
        return SUPPRESSED
    if not isinstance(numerator, int) or not isinstance(denominator, int) or denominator <= 0:
        return None
    return numerator / denominator


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return []  # a release built before this table


class _Table:
    """The cells (keyed by what they count, each with its source) and the relations."""

    def __init__(self) -> None:
        self.values: dict[Hashable, int] = {}
        self.source_of: dict[Hashable, str] = {}
        self.relations: dict[tuple[Hashable, tuple[Hashable, ...]], Relation[Hashable]] = {}

    def cell(self, key: Hashable, value: int, source: str | None = None) -> Hashable:
        self.values[key] = int(value)
        if source is not None:
            self.source_of[key] = source
        return key

    def relate(self, total: Hashable, parts: list[Hashable]) -> None:
        if total in parts or not parts:
            return  # an identity (x = x + 0): says nothing
        ident = (total, tuple(sorted(parts, key=repr)))
        if ident not in self.relations:
            self.relations[ident] = Relation(total, tuple(parts))

    def same_value(self, hidden: set[Hashable]) -> set[Hashable]:
        """Cells of a source whose count equals a count hidden in that source."""
        seen = {(self.source_of[k], self.values[k]) for k in hidden if k in self.source_of}
        return {
            k
            for k, s in self.source_of.items()
            if (s, self.values[k]) in seen and self.values[k] != 0
        }


_CACHE: dict[tuple[Any, ...], RecordCells] = {}
_LOCK = threading.Lock()


def record_cells(
    con: duckdb.DuckDBPyConnection,
    policy: DisclosurePolicy,
    scope: SourceScope,
    *,
    handle: object | None = None,
    keys: PageKeys | None = None,
) -> RecordCells:
    """Every count of records in the release that ``con`` sees (already narrowed to
    ``scope``, the tier's sources), protected together with ``policy``.

    At the operational tier counts of records are published as they are, as before
    (``docs/disclosure.md``). ``handle`` (the release) lets an unchanged release's answer
    be reused. Under cell key perturbation ``keys`` (default: found from ``handle``)
    perturb every count; without them the counts are suppressed.
    """
    if scope.tier is Tier.OPERATIONAL:
        policy = DisclosurePolicy(threshold=0)
        keys = None
    elif keys is None and handle is not None:
        keys = keys_for_release(handle, policy)
    base = None if handle is None else release_key(handle, scope)
    key = None
    if base is not None:
        key = (
            *base,
            policy.threshold,
            policy.rounding_base,
            policy.method,
            None if keys is None else keys.fingerprint,
        )
    if key is not None:
        with _LOCK:
            if key in _CACHE:
                return _CACHE[key]
    cells = _compute(con, policy, keys)
    if key is not None:
        with _LOCK:
            if len(_CACHE) > 64:
                _CACHE.clear()
            _CACHE[key] = cells
    return cells


def _compute(
    con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy, keys: PageKeys | None = None
) -> RecordCells:
    t = _Table()
    keep: set[Hashable] = set()
    sources = _rows(
        con,
        "SELECT source, rows_read, rows_loaded, coalesce(rows_filtered, 0), rows_quarantined "
        "FROM source ORDER BY source",
    )
    raw: dict[str, dict[str, int]] = {}
    for s, read, loaded, filtered, quarantined in sources:
        s = str(s)
        raw[s] = {
            "rows_read": int(read or 0),
            "rows_loaded": int(loaded or 0),
            "rows_filtered": int(filtered or 0),
            "rows_quarantined": int(quarantined or 0),
        }
        for kind, v in raw[s].items():
            t.cell(("src", s, kind), v, s)
        checked = t.cell(("checked", s), raw[s]["rows_loaded"] + raw[s]["rows_quarantined"], s)
        keep.add(checked)  # the denominator of most quality measures
        t.relate(("src", s, "rows_read"), [checked, ("src", s, "rows_filtered")])
        t.relate(checked, [("src", s, "rows_loaded"), ("src", s, "rows_quarantined")])
    for kind in KINDS:
        t.cell(("total", kind), sum(r[kind] for r in raw.values()))
        t.relate(("total", kind), [("src", s, kind) for s in raw])
    t.relate(("total", "rows_read"), [("total", k) for k in KINDS[1:]])
    # The totals of records loaded (the linkage report's) and quarantined: rows read go
    # first when one of the four totals must be hidden.
    keep.update({("total", "rows_loaded"), ("total", "rows_quarantined")})

    quarantine: dict[tuple[str, str, str], Hashable] = {}
    by_source: dict[str, list[Hashable]] = {}
    for s, problem, column, n in _rows(
        con,
        "SELECT source, problem, coalesce(column_name, ''), count(*) FROM quarantine "
        "GROUP BY ALL ORDER BY ALL",
    ):
        if str(s) not in raw:
            continue
        q = (str(s), str(problem), str(column))
        quarantine[q] = t.cell(("quar", *q), int(n), str(s))
        by_source.setdefault(str(s), []).append(quarantine[q])
    for s, parts in by_source.items():
        t.relate(("src", s, "rows_quarantined"), parts)

    months: dict[tuple[str, str], Hashable] = {}
    dated: dict[str, list[tuple[Hashable, int]]] = {}
    for s, month, n in _rows(
        con, "SELECT source, strftime(month, '%Y-%m'), records FROM date_coverage ORDER BY ALL"
    ):
        if s is None or str(s) not in raw:
            continue
        cell = t.cell(("m", str(s), str(month)), int(n or 0), str(s))
        months[(str(s), str(month))] = cell
        dated.setdefault(str(s), []).append((cell, int(n or 0)))
    for s, series in dated.items():
        total = sum(v for _, v in series)
        key = ("src", s, "rows_loaded") if total == raw[s]["rows_loaded"] else ("dated", s)
        t.relate(t.cell(key, total, s), [c for c, _ in series])

    measures: dict[tuple[str, str, str], tuple[Hashable, Hashable]] = {}
    for s, measure, field, num, den in _rows(
        con,
        "SELECT source, measure, coalesce(field, ''), numerator, denominator "
        "FROM quality_measure WHERE numerator IS NOT NULL AND denominator IS NOT NULL "
        "ORDER BY ALL",
    ):
        s, measure, field = str(s), str(measure), str(field)
        if measure in NOT_RECORDS or s not in raw:
            continue
        n, d = int(num), int(den)
        kn = _named(t, s, n, ("num", s, measure, field), raw[s])
        kd = _named(t, s, d, ("den", s, measure, field), raw[s])
        if measure == "valid" and t.values.get(("num", s, "filled", field)) == d:
            kd = ("num", s, "filled", field)
        measures[(s, measure, field)] = (kn, kd)
        t.relate(kd, [kn, t.cell(("miss", s, measure, field), max(d - n, 0), s)])
        keep.add(kd)

    if keys is not None:  # cell key perturbation: each count on its own (issue 19)
        out = {k: keys.perturb(("records", k), v, policy) for k, v in t.values.items()}
    else:
        out = _suppress(t, policy, keep)
    return RecordCells(
        sources={s: {kind: out[("src", s, kind)] for kind in KINDS} for s in raw},
        totals={kind: out[("total", kind)] for kind in KINDS},
        quarantine={q: out[c] for q, c in quarantine.items()},
        months={m: out[c] for m, c in months.items()},
        measures={m: (out[a], out[b]) for m, (a, b) in measures.items()},
    )


def _suppress(t: _Table, policy: DisclosurePolicy, keep: set[Hashable]) -> dict[Hashable, Cell]:
    """The table's counts by primary and secondary suppression over its relations."""
    hidden: set[Hashable] = set()
    rels = list(t.relations.values())
    while True:
        out = protect_cells(t.values, rels, policy, keep=keep, hidden=hidden)
        now = {k for k, v in out.items() if v == SUPPRESSED}
        # Equal counts in one source are hidden together: a reader who sees the number
        # elsewhere on the page would take it for the hidden one.
        more = t.same_value(now) - now
        if not more:
            return out
        hidden = now | more


def _named(t: _Table, source: str, value: int, key: Hashable, raw: dict[str, int]) -> Hashable:
    """The cell a measure's count is: the source's rows checked or loaded when it is that
    many (the measures count those rows), else a cell of its own."""
    checked = raw["rows_loaded"] + raw["rows_quarantined"]
    if value == checked and checked != raw["rows_loaded"]:
        return ("checked", source)
    if value == raw["rows_loaded"]:
        return ("src", source, "rows_loaded")
    return t.cell(key, value, source)


def release_key(handle: object, scope: SourceScope) -> tuple[Any, ...] | None:
    """What identifies a release's record counts at a tier: its database file (path,
    size, modification time) and the sources left out; None when unknown."""
    path = getattr(handle, "db_path", None)
    if path is None:
        return None
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, scope.excluded_ids)


def protect_source_rows(
    rows: dict[str, dict[str, int]], policy: DisclosurePolicy
) -> tuple[dict[str, dict[str, Cell]], dict[str, Cell]]:
    """Only the sources table (rows read, loaded, quarantined per source, rows filtered
    out worked out from them), protected with its totals: for a caller holding no
    release (:func:`record_cells` is what pages use)."""
    t = _Table()
    for s, r in rows.items():
        read, loaded, quarantined = r["rows_read"], r["rows_loaded"], r["rows_quarantined"]
        filtered = r.get("rows_filtered", max(read - loaded - quarantined, 0))
        for kind, v in zip(KINDS, (read, loaded, filtered, quarantined), strict=True):
            t.cell(("src", s, kind), v, s)
        t.relate(("src", s, "rows_read"), [("src", s, k) for k in KINDS[1:]])
    for kind in KINDS:
        t.cell(("total", kind), sum(int(t.values[("src", s, kind)]) for s in rows))
        t.relate(("total", kind), [("src", s, kind) for s in rows])
    t.relate(("total", "rows_read"), [("total", k) for k in KINDS[1:]])
    out = protect_cells(t.values, list(t.relations.values()), policy)
    return (
        {s: {kind: out[("src", s, kind)] for kind in KINDS} for s in rows},
        {kind: out[("total", kind)] for kind in KINDS},
    )
