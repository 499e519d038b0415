"""Generate ``docs/data-model.md`` from the schema: ``python -m joinedup.release.docs``."""

from __future__ import annotations

import sys

from joinedup.release.schema import TABLES

__all__ = ["data_model_markdown"]

INTRO = """\
# Data model: the release schema

Each release is one DuckDB file (`joinedup releases DIR --current` prints its path). Open it
with DuckDB's CLI, Python, R, or any tool with a DuckDB driver; Power BI and Excel can read
the exports. Tables marked *restricted* hold identifying fields: only the operational tier
sees them, through the web app's audited pages.

How the tables join:

- `record` (source, source_record_id) is one person as they appear in one row of an extract;
  `identity` has the same key. `record_person` maps each record to its `person`.
- `event_person` links events to records (and so to persons) with a role;
  `event_exploitation` lists the exploitation types recorded on an event.
- `event.place_id` points to `place`; `place.small_area`, `ward` and `authority` point to
  `area`; `person.home_*` likewise.
- `group_member` links records to `groups`.

For example, distinct children with a recorded CSE concern by home authority:

```sql
SELECT p.home_authority, count(DISTINCT p.person_id) AS children
FROM event_exploitation x
JOIN event_person ep USING (event_id)
JOIN record_person rp USING (source, source_record_id)
JOIN person p USING (person_id)
WHERE x.exploitation_type = 'cse' AND p.age < 18
GROUP BY 1;
```

(Any figure taken from the file directly has not been through disclosure control: use
the web app, reports or exports to publish.)

This page is generated from `src/joinedup/release/schema.py`; a test keeps them in step.
"""


def data_model_markdown() -> str:
    parts = [INTRO]
    for t in TABLES:
        flag = " *(restricted)*" if t.restricted else ""
        parts.append(f"\n## `{t.name}`{flag}\n\n{t.description}\n\n")
        parts.append("| column | type | meaning |\n|---|---|---|\n")
        parts.extend(f"| `{c.name}` | {c.type} | {c.description} |\n" for c in t.columns)
    return "".join(parts)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(data_model_markdown())
