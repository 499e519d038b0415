"""Reading the geography's reference files with the columns partnership.yaml names.

A CSV (or Excel, or Parquet) reference file is read as an extract is
(:func:`joinedup.sources.stage`: encoding and delimiter found, unreadable rows set
aside), into a temporary view; a GeoJSON file is read feature by feature, its
properties standing for columns. Every column the configuration names is looked up
before any row is used: a missing one is a :class:`~joinedup.errors.Problem` naming the
key, the file and the column and listing the file's columns. ``check`` and ``build``
both read through here, so they find the same problems in the same words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel

from joinedup.config.model import SourceConfig
from joinedup.errors import Problem, SourceError
from joinedup.sources import drop_staged, stage

__all__ = ["Columns", "GeoTable", "read_geojson", "read_table", "resolve_columns"]


@dataclass
class GeoTable:
    """A reference file read into ``view``: its columns and what reading it found."""

    key: str  # e.g. geography.postcodes
    rel: str  # the file as messages name it
    view: str
    columns: tuple[str, ...]
    rows: int = 0
    notes: list[str] = field(default_factory=list)
    staged: bool = True  # read by sources.stage (a view over a table), else a temp table

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remove what reading the file left in the database."""
        if self.staged:
            drop_staged(con, self.view)
        else:
            con.execute(f"DROP TABLE IF EXISTS {_q(self.view)}")


#: canonical name -> the file's column (None when the file has none and none was asked for)
Columns = dict[str, str | None]


def _format(rel: str) -> str:
    low = rel.lower()
    if low.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if low.endswith(".parquet"):
        return "parquet"
    return "csv"


def _as_source(key: str, rel: str) -> SourceConfig:
    """The reading options of an extract, for a reference file (its mapping is unused)."""
    return SourceConfig.model_validate(
        {
            "id": key.replace(".", "_"),
            "agency": "geography",
            "dataset": key,
            "file": rel,
            "format": _format(rel),
            "sharing_agreement": "geography",
            "record": {"id": {"value": "-"}},
        }
    )


def read_table(
    con: duckdb.DuckDBPyConnection, path: Path, rel: str, key: str, view: str
) -> GeoTable:
    """Read a tabular reference file into ``view`` (text columns and ``_row``).

    Raises :class:`SourceError` with the file's problem under ``key``."""
    try:
        staged = stage(con, path, _as_source(key, rel), view)
    except SourceError as exc:
        drop_staged(con, view)
        raise SourceError(str(exc), [Problem(key, str(exc))]) from None
    out = GeoTable(key, rel, view, tuple(c for c in staged.columns if c != "_row"), staged.rows)
    rep = staged.report
    if rep.rows_quarantined:
        shown = ", ".join(str(q.row) for q in rep.quarantined[:5])
        more = " ..." if rep.rows_quarantined > 5 else ""
        out.notes.append(
            f"  {rel}: {rep.rows_quarantined:,} row(s) could not be read and are left out "
            f"(rows {shown}{more}); correct them in the file"
        )
    return out


def read_geojson(
    con: duckdb.DuckDBPyConnection, path: Path, rel: str, key: str, view: str
) -> GeoTable:
    """Read a GeoJSON FeatureCollection into ``view``: one text column per property
    (``_geometry`` holds each feature's geometry as GeoJSON text)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        features = doc.get("features")
        if not isinstance(features, list):
            raise ValueError("no features")
    except (OSError, ValueError, AttributeError) as exc:
        msg = (
            f"{rel}: not a GeoJSON FeatureCollection ({type(exc).__name__}); export the "
            "areas as GeoJSON (a FeatureCollection) or as a CSV"
        )
        raise SourceError(msg, [Problem(key, msg)]) from None
    names: dict[str, None] = {}
    rows: list[tuple[int, dict[str, Any], str | None]] = []
    for i, feat in enumerate(features, start=1):
        props = feat.get("properties") if isinstance(feat, dict) else None
        props = props if isinstance(props, dict) else {}
        names.update(dict.fromkeys(str(k) for k in props))
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        text = json.dumps(geom, separators=(",", ":")) if geom else None
        rows.append((i, props, text))
    cols = list(names)
    table = [
        (i, text, *(None if p.get(c) is None else str(p.get(c)) for c in cols))
        for i, p, text in rows
    ]
    defs = ", ".join(["_row BIGINT", "_geometry VARCHAR", *(f"{_q(c)} VARCHAR" for c in cols)])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(view)} ({defs})")
    if table:
        marks = ", ".join("?" for _ in range(len(cols) + 2))
        con.executemany(f"INSERT INTO {_q(view)} VALUES ({marks})", table)
    return GeoTable(key, rel, view, tuple(cols), len(table), staged=False)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def resolve_columns(
    table: GeoTable,
    spec: BaseModel,
    *,
    required: tuple[str, ...],
    word: str = "column",
) -> tuple[Columns, list[Problem]]:
    """Match the columns ``spec`` names to ``table``'s.

    A column in ``required``, or one the configuration names explicitly, must be in the
    file; one left at its default name is used only when the file has it."""
    have = set(table.columns)
    out: Columns = {}
    problems = []
    for name in type(spec).model_fields:
        col = getattr(spec, name)
        if col is None:
            out[name] = None
            continue
        if col in have:
            out[name] = col
            continue
        out[name] = None
        if name in required or name in spec.model_fields_set:
            close = sorted(h for h in have if h.lower().strip() == col.lower().strip())
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            where = "in no feature of" if word == "property" else "not in"
            listed = ", ".join(sorted(have)) or "none"
            problems.append(
                Problem(
                    f"{table.key}.columns.{name}",
                    f"{word} '{col}' is {where} {table.rel}{hint}; {word}s in the file: "
                    f"{listed}. Name the file's {word} under {table.key}.columns.{name} "
                    "in partnership.yaml",
                )
            )
    return out, problems
