"""A national return's CSV table, lined up with the return's columns (issue 13).

The SSDA903 return and the Standard Safeguarding Dataset are sets of CSV tables, each
read by the CSV reader as any extract is. Before the built-in mapping reads one,
:func:`return_table_columns` checks it is the table the source says (it has the columns
that table must have; if not, and it is another table of the return, it says which) and
names its columns as the return does: matched case-insensitively (``child`` is
``CHILD``), and a column of the table that the file does not have (a column added in a
later year of the return) read as blank, so one mapping reads every year's files.
"""

from __future__ import annotations

from joinedup.config import SourceConfig
from joinedup.config.returns import ReturnTable, return_spec, table_from_file
from joinedup.errors import SourceError

__all__ = ["TABLE_FORMATS", "return_columns_sql", "return_table_columns"]

#: Returns made of CSV tables.
TABLE_FORMATS = ("ssda903", "ssd")


def _fits(table: ReturnTable, have: set[str]) -> bool:
    return all(c.lower() in have for c in table.required)


def return_table_columns(
    source: SourceConfig, file_name: str, names: list[str]
) -> list[tuple[str | None, str]]:
    """(the file's column, or None for a blank one; the name the mapping reads) for each
    column of a staged return table: the table's columns in order, then the file's others.
    Raises :class:`SourceError` when the file is not the table the source names."""
    spec = return_spec(source.format)
    name = source.table or table_from_file(source.format, source.file)
    if name is None or name not in spec.tables:  # a mapping of the partnership's own
        return [(n, n) for n in names]
    table = spec.tables[name]
    by_lower: dict[str, str] = {}
    for n in names:
        by_lower.setdefault(n.strip().lower(), n)
    missing = [c for c in table.required if c.lower() not in by_lower]
    if missing:
        have = set(by_lower)
        others = [t for t in spec.tables.values() if t is not table and _fits(t, have)]
        best = max(others, key=lambda t: sum(c.lower() in have for c in t.columns), default=None)
        if best is not None:
            hint = (
                f"its columns are those of the {best.name} table: set 'table: {best.name}' "
                "for this source, or point 'file:' at the "
                f"{table.name} table"
            )
        else:
            hint = (
                f"check 'file:' points at the {table.name} table of the return (it has "
                f"{', '.join(table.required)}) and the delimiter"
            )
        raise SourceError(
            f"{file_name}: is not the {table.name} table of the {spec.title}: it has no "
            f"{', '.join(missing)}; {hint}."
        )
    out: list[tuple[str | None, str]] = []
    taken: set[str] = set()
    for col in table.columns:
        found = by_lower.get(col.lower())
        out.append((found, col))
        if found is not None:
            taken.add(found)
    canonical = {c.lower() for c in table.columns}
    out += [(n, n) for n in names if n not in taken and n.strip().lower() not in canonical]
    return out


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def return_columns_sql(pairs: list[tuple[str | None, str]]) -> str:
    """The select list naming a staged table's columns as :func:`return_table_columns`
    pairs them."""
    out = []
    for col, name in pairs:
        if col is None:
            out.append(f"CAST(NULL AS VARCHAR) AS {_ident(name)}")
        elif col == name:
            out.append(_ident(col))
        else:
            out.append(f"{_ident(col)} AS {_ident(name)}")
    return ", ".join(out)
