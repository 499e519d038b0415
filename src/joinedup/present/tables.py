"""The protected table: what every output writes, laid out from what views return.

A :class:`ProtectedTable` holds figures that have ALREADY passed disclosure control: its
builders take what ``joinedup.views`` returned for a tier (the protected overview
today, protected question answers as ``joinedup.insight`` grows) and only lay it out.
Nothing here computes a figure from a release. A count is a whole number or "c"
(suppressed); writers keep "c" as "c" (Excel, CSV, GeoJSON) or as a null with a flag
column (Parquet).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from joinedup.views import SUPPRESSED

__all__ = [
    "Column",
    "ColumnKind",
    "ProtectedTable",
    "answer_table",
    "overview_tables",
    "slug",
]

ColumnKind = Literal["text", "count", "number", "area"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: ColumnKind = "text"


@dataclass(frozen=True)
class ProtectedTable:
    """A table of protected figures with what a reader needs to use it safely."""

    name: str  # a slug: file and sheet names
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    tier: str
    release_id: str
    notes: tuple[str, ...] = ()
    area_column: str | None = None  # key of a column of area codes or names (GeoJSON)
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        width = len(self.columns)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(
                    f"table {self.name}: row {i + 1} has {len(row)} cells, not {width}"
                )
        for c, col in enumerate(self.columns):
            if col.kind != "count":
                continue
            for i, row in enumerate(self.rows):
                v = row[c]
                if not (v is None or v == SUPPRESSED or (isinstance(v, int) and v >= 0)):
                    raise ValueError(
                        f"table {self.name}: row {i + 1}, column {col.key} is not a protected "
                        "count (a whole number or 'c')"
                    )
        if self.area_column is not None and self.area_column not in self.keys:
            raise ValueError(f"table {self.name}: no column {self.area_column}")

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.columns]

    def column(self, key: str) -> list[Any]:
        i = self.keys.index(key)
        return [r[i] for r in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.keys, r, strict=True)) for r in self.rows]


def slug(text: str) -> str:
    """A lower-case name of letters, digits and underscores."""
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s or "table"


def _notes(protected: dict[str, Any]) -> tuple[str, ...]:
    notes = [str(protected["disclosure"]["footnote"])]
    exclusions = protected.get("exclusions")
    if exclusions and exclusions.get("note"):
        notes.append(str(exclusions["note"]))
    return tuple(notes)


def overview_tables(protected: dict[str, Any]) -> list[ProtectedTable]:
    """The tables of a protected overview (``joinedup.views.current_overview``)."""
    tier = str(protected["tier"])
    release = protected["release"]
    rid = str(release["release_id"])
    notes = _notes(protected)
    out = [
        ProtectedTable(
            name="release",
            title="Release",
            columns=(Column("item", "Item"), Column("value", "Value")),
            rows=tuple(
                (label, release.get(key))
                for key, label in (
                    ("release_id", "Release"),
                    ("built_at", "Built"),
                    ("partnership", "Partnership"),
                    ("reference_date", "Reference date"),
                )
            )
            + (("Tier", tier),),
            tier=tier,
            release_id=rid,
        )
    ]
    persons = protected.get("persons")
    if persons:
        out.append(
            ProtectedTable(
                name="people",
                title="People in the release",
                columns=(Column("group", "Group"), Column("people", "People", "count")),
                rows=(
                    ("All people", persons["all"]),
                    ("Children (under 18)", persons["children"]),
                    ("Young adults (18 to 24)", persons["young_adults"]),
                ),
                tier=tier,
                release_id=rid,
                notes=notes,
            )
        )
    concerns = protected.get("concerns")
    if concerns:
        authorities = concerns["authorities"]
        groups = [r["group"] for r in concerns["rows"]]
        all_types = "All types (a person with several types is counted once)"
        out.append(
            ProtectedTable(
                name="concerns_by_type",
                title="People with an exploitation concern, by type and local authority",
                columns=(
                    Column("exploitation_type", "Type of exploitation"),
                    *(Column(a["code"], a["name"], "count") for a in authorities),
                    Column("all_areas", "All areas", "count"),
                ),
                rows=tuple((r["group"], *r["cells"], r["total"]) for r in concerns["rows"])
                + ((all_types, *concerns["totals"], concerns["total"]),),
                tier=tier,
                release_id=rid,
                notes=notes,
            )
        )
        out.append(
            ProtectedTable(
                name="concerns_by_authority",
                title="People with an exploitation concern, by local authority and type",
                columns=(
                    Column("area_code", "Area code", "area"),
                    Column("area_name", "Local authority"),
                    *(Column(slug(g), g, "count") for g in groups),
                    Column("all_types", "All types", "count"),
                ),
                rows=tuple(
                    (
                        a["code"],
                        a["name"],
                        *(r["cells"][i] for r in concerns["rows"]),
                        concerns["totals"][i],
                    )
                    for i, a in enumerate(authorities)
                ),
                tier=tier,
                release_id=rid,
                notes=notes,
                area_column="area_code",
            )
        )
    areas = protected.get("areas")
    if areas:
        out.append(
            ProtectedTable(
                name="concerns_by_authority",
                title="People with an exploitation concern, by local authority",
                columns=(
                    Column("area_code", "Area code", "area"),
                    Column("area_name", "Local authority"),
                    Column("people", "People", "count"),
                ),
                rows=tuple(
                    (a["code"], a["name"], v)
                    for a, v in zip(
                        areas["authorities"], areas["persons_with_concern"], strict=True
                    )
                ),
                tier=tier,
                release_id=rid,
                notes=notes,
                area_column="area_code",
            )
        )
    sources = protected.get("sources")
    if sources:
        out.append(
            ProtectedTable(
                name="sources",
                title="Sources: rows in each agency extract",
                columns=(
                    Column("source", "Source"),
                    Column("agency", "Agency"),
                    Column("dataset", "Dataset"),
                    Column("extracted_at", "Extracted"),
                    # A row stands for a person or an event about one: protected counts.
                    Column("rows_read", "Rows read", "count"),
                    Column("rows_loaded", "Rows loaded", "count"),
                    Column("rows_quarantined", "Rows quarantined", "count"),
                ),
                rows=tuple(
                    (
                        s["source"],
                        s["agency"],
                        s["dataset"],
                        s.get("extracted_at"),
                        s["rows_read"],
                        s["rows_loaded"],
                        s["rows_quarantined"],
                    )
                    for s in sources
                ),
                tier=tier,
                release_id=rid,
                notes=notes,
                meta={"totals": dict(protected.get("sources_total") or {})},
            )
        )
    return out


def answer_table(protected: dict[str, Any], *, area_key: str | None = None) -> ProtectedTable:
    """The table of a protected question answer (``joinedup.views`` ``protect_answer``
    / ``current_answer``). ``area_key`` names the column of area names or codes, when the
    answer is broken down by area (e.g. ``category`` for a breakdown by ward)."""
    q = protected["question"]
    cols: list[Column] = []
    for c in protected["columns"]:
        key = str(c["key"])
        kind: ColumnKind = "text"
        if key == "count" or key == "previous":
            kind = "count"
        elif key not in ("split", "category"):
            kind = "number"
        if key == area_key:
            kind = "area"
        cols.append(Column(key, str(c["label"]), kind))
    rows = tuple(tuple(r.get(c.key) for c in cols) for r in protected["rows"])
    notes = [str(protected["disclosure"]["footnote"]), *(str(x) for x in q.get("caveats", []))]
    breakdown: Sequence[str] = [protected["breakdown"]] if protected.get("breakdown") else []
    return ProtectedTable(
        name=slug("_".join([q["id"], *breakdown])),
        title=str(q["question"]),
        columns=tuple(cols),
        rows=rows,
        tier=str(protected["tier"]),
        release_id=str(protected["release_id"]),
        notes=tuple(notes),
        area_column=area_key,
        meta={"question_id": q["id"], "definition": q.get("definition")},
    )
