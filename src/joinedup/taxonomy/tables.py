"""The taxonomy as tables, so a release can store the definitions it was built with.

Each table is a list of rows (dicts with the same keys, in the order of ``TABLE_COLUMNS``),
ready for DuckDB, CSV or Parquet:

- ``taxonomy_list``: one row per list, with its rules.
- ``taxonomy_code``: one row per code of every list, with label, definition and hierarchy.
- ``taxonomy_crosswalk``: one row per built-in mapping (CIN factor or NRM type -> our code).
"""

from __future__ import annotations

from joinedup.taxonomy.loader import load_taxonomy
from joinedup.taxonomy.model import Taxonomy

__all__ = ["Cell", "TABLE_COLUMNS", "taxonomy_tables"]

Cell = str | int | bool | None

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "taxonomy_list": (
        "version",
        "list",
        "title",
        "description",
        "fixed",
        "multi",
        "extensible",
        "maps_to_list",
        "sort_order",
    ),
    "taxonomy_code": (
        "version",
        "list",
        "code",
        "label",
        "definition",
        "source",
        "parent",
        "report_group",
        "ethnicity_group",
        "flags",
        "verified",
        "note",
        "local",
        "sort_order",
    ),
    "taxonomy_crosswalk": ("version", "crosswalk", "from_list", "from_code", "to_list", "to_code"),
}


def taxonomy_tables(taxonomy: Taxonomy | None = None) -> dict[str, list[dict[str, Cell]]]:
    """The taxonomy (default: the current version) as ``{table name: rows}``."""
    tax = taxonomy if taxonomy is not None else load_taxonomy()
    lists: list[dict[str, Cell]] = []
    codes: list[dict[str, Cell]] = []
    crosswalks: list[dict[str, Cell]] = []
    for list_order, (name, entries) in enumerate(tax.lists.items(), start=1):
        info = tax.info[name]
        lists.append(
            {
                "version": tax.version,
                "list": name,
                "title": info.title,
                "description": info.description,
                "fixed": info.fixed,
                "multi": info.multi,
                "extensible": info.extensible,
                "maps_to_list": info.maps_to_list,
                "sort_order": list_order,
            }
        )
        for order, (code, entry) in enumerate(entries.items(), start=1):
            report_group = tax.report_group(code) if name == "exploitation_type" else None
            codes.append(
                {
                    "version": tax.version,
                    "list": name,
                    "code": code,
                    "label": entry.label,
                    "definition": entry.definition,
                    "source": entry.source,
                    "parent": entry.parent,
                    "report_group": report_group,
                    "ethnicity_group": entry.group,
                    "flags": ";".join(entry.flags) or None,
                    "verified": entry.verified,
                    "note": entry.note,
                    "local": entry.local,
                    "sort_order": order,
                }
            )
            for target in entry.maps_to:
                crosswalks.append(
                    {
                        "version": tax.version,
                        "crosswalk": name,
                        "from_list": name,
                        "from_code": code,
                        "to_list": info.maps_to_list,
                        "to_code": target,
                    }
                )
    return {"taxonomy_list": lists, "taxonomy_code": codes, "taxonomy_crosswalk": crosswalks}
