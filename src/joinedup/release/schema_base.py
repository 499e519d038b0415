"""What a release table is: its name, description and documented columns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "Table", "table"]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    restricted: bool = False  # holds identifying fields: operational tier only

    def create_sql(self) -> str:
        cols = ",\n  ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f'CREATE TABLE "{self.name}" (\n  {cols}\n)'


def table(
    name: str, description: str, *cols: tuple[str, str, str], restricted: bool = False
) -> Table:
    return Table(name, description, tuple(Column(*c) for c in cols), restricted)
