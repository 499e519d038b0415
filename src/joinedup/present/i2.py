"""Entity/link CSV for i2 Analyst's Notebook (and other link-analysis tools).

Analyst's Notebook imports a CSV in which every row is one link between two entities,
using an import specification that maps columns to "Entity 1", "Link" and "Entity 2"
(identity, type and label each), the link's strength and date. The columns written
here are exactly those (:data:`I2_COLUMNS`), so one import specification serves every
file joinedup writes; ``docs/exports.md`` says how to set it up.

Two shapes are written:

- from a protected table (:func:`table_links`): each row's entity (an area, a cohort)
  linked to each count column's entity (an exploitation type, an agency), labelled
  with the protected count ("c" kept). Zero counts make no link.
- from a protected network (:func:`network_links`): people (pseudonymous ids only),
  places and groups with their links, for the operational tier.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from joinedup.present.tables import ProtectedTable, slug
from joinedup.present.writers import neutralise
from joinedup.views import SUPPRESSED

__all__ = ["I2_COLUMNS", "Link", "links_csv", "network_links", "table_links"]

I2_COLUMNS = (
    "Entity1 Type",
    "Entity1 Identity",
    "Entity1 Label",
    "Link Type",
    "Link Label",
    "Link Strength",
    "Link Date",
    "Entity2 Type",
    "Entity2 Identity",
    "Entity2 Label",
)


@dataclass(frozen=True)
class Link:
    from_type: str
    from_id: str
    from_label: str
    link_type: str
    link_label: str
    to_type: str
    to_id: str
    to_label: str
    strength: str = "Confirmed"
    date: str = ""


def table_links(
    table: ProtectedTable,
    *,
    from_column: str,
    from_type: str,
    to_type: str,
    label_column: str | None = None,
    link_type: str = "count",
    to_columns: Sequence[str] | None = None,
) -> list[Link]:
    """Links from each row's ``from_column`` entity to each count column's entity."""
    keys = table.keys
    targets = [
        c
        for c in table.columns
        if c.kind == "count" and (to_columns is None or c.key in to_columns)
    ]
    out = []
    for row in table.rows:
        ident = str(row[keys.index(from_column)])
        label = str(row[keys.index(label_column)]) if label_column else ident
        for col in targets:
            value = row[keys.index(col.key)]
            if value is None or value == 0:
                continue
            shown = SUPPRESSED if value == SUPPRESSED else f"{value:,}"
            out.append(
                Link(
                    from_type=from_type,
                    from_id=f"{slug(from_type)}:{ident}",
                    from_label=label,
                    link_type=link_type,
                    link_label=shown,
                    to_type=to_type,
                    to_id=f"{slug(to_type)}:{col.key}",
                    to_label=col.label,
                )
            )
    return out


def network_links(
    nodes: Iterable[tuple[str, str, str]], edges: Iterable[tuple[str, str, str, str]]
) -> list[Link]:
    """Links of a protected network: ``nodes`` are (id, type, label) with pseudonymous
    ids for people; ``edges`` are (from id, to id, link type, date)."""
    known = {n[0]: n for n in nodes}
    out = []
    for a, b, kind, date in edges:
        if a not in known or b not in known:
            raise ValueError("an edge of the network names a node that is not in it")
        na, nb = known[a], known[b]
        out.append(Link(na[1], na[0], na[2], kind, kind, nb[1], nb[0], nb[2], date=date))
    return out


def links_csv(links: Iterable[Link]) -> str:
    """The links as an i2 import CSV (formula injection neutralised)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(I2_COLUMNS)
    for k in links:
        w.writerow(
            neutralise(x)
            for x in (
                k.from_type,
                k.from_id,
                k.from_label,
                k.link_type,
                k.link_label,
                k.strength,
                k.date,
                k.to_type,
                k.to_id,
                k.to_label,
            )
        )
    return buf.getvalue()
