"""The quality report: ``quality.json`` and a self-contained ``quality.html`` in a release.

The report holds measures, counts and (for crosswalked columns) the codes a crosswalk
does not know; never a name, date of birth or identifier value.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["REPORT_HTML", "REPORT_JSON", "quality_report", "render_html", "write_report"]

REPORT_JSON = "quality.json"
REPORT_HTML = "quality.html"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description or []]
    out = []
    for r in cur.fetchall():
        row = {}
        for k, v in zip(names, r, strict=True):
            row[k] = v.isoformat() if hasattr(v, "isoformat") else v
        out.append(row)
    return out


def quality_report(
    con: duckdb.DuckDBPyConnection, *, release_id: str, partnership: str
) -> dict[str, Any]:
    """The report as plain data, from the quality tables of ``con``."""
    sources = _rows(
        con,
        "SELECT source, agency, agency_type, dataset, file, format, extracted_at, rows_read, "
        "rows_loaded, rows_filtered, rows_quarantined FROM source ORDER BY source",
    )
    measures = _rows(
        con, "SELECT * FROM quality_measure ORDER BY source, dimension, measure, field"
    )
    fields = _rows(con, "SELECT * FROM field_quality ORDER BY source, field")
    unmapped = _rows(con, "SELECT * FROM unmapped_code ORDER BY source, field, rows DESC")
    coverage = _rows(con, "SELECT * FROM date_coverage ORDER BY source, month")
    advice = _rows(con, "SELECT * FROM quality_advice ORDER BY agency, rank")
    changes = _rows(con, "SELECT * FROM quality_change ORDER BY dropped DESC, source, measure")
    quarantine = _rows(
        con,
        "SELECT source, problem, column_name, count(*) AS rows FROM quarantine "
        "GROUP BY ALL ORDER BY source, problem, column_name",
    )
    for s in sources:
        sid = s["source"]
        s["summary"] = {
            m["measure"]: m["value"] for m in measures if m["source"] == sid and m["field"] == ""
        }
        s["fields"] = [f for f in fields if f["source"] == sid]
        s["unmapped"] = [u for u in unmapped if u["source"] == sid]
        s["coverage"] = [c for c in coverage if c["source"] == sid]
        s["quarantine"] = [q for q in quarantine if q["source"] == sid]
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for a in advice:
        by_agency.setdefault(str(a["agency"]), []).append(a)
    return {
        "release_id": release_id,
        "partnership": partnership,
        "sources": sources,
        "measures": measures,
        "advice": by_agency,
        "changes": changes,
        "drops": [c for c in changes if c["dropped"]],
    }


def _pct(v: object) -> str:
    return f"{100 * v:.1f}%" if isinstance(v, int | float) else "–"


_CSS = """
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;margin:2rem;max-width:70rem}
h1{font-size:2rem}h2{font-size:1.5rem;margin-top:2.5rem}h3{font-size:1.15rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}caption{text-align:left;font-weight:bold}
th,td{border-bottom:1px solid #b1b4b6;padding:.3rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.drop{color:#d4351c;font-weight:bold}.note{color:#505a5f}
"""


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page (no scripts, no external files) for the report."""
    e = html.escape
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Data quality: {e(report['partnership'])}</title><style>{_CSS}</style></head>",
        f"<body><h1>Data quality</h1><p>{e(report['partnership'])}, release "
        f"<code>{e(report['release_id'])}</code>.</p>",
    ]
    if report["drops"]:
        out.append(
            "<h2>Drops since the previous release</h2><table><tr><th>Source</th>"
            "<th>Measure</th><th>Field</th><th>Then</th><th>Now</th></tr>"
        )
        for c in report["drops"]:
            out.append(
                f"<tr class='drop'><td>{e(c['source'])}</td><td>{e(c['measure'])}</td>"
                f"<td>{e(c['field'])}</td><td class='n'>{c['previous_value']:.3g}</td>"
                f"<td class='n'>{c['value']:.3g}</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>What would improve the picture most</h2>")
    for agency, items in sorted(report["advice"].items()):
        out.append(f"<h3>{e(agency)}</h3><ol>")
        out.extend(f"<li>{e(a['advice'])}</li>" for a in items)
        out.append("</ol>")
    out.append(
        "<h2>Sources</h2><table><tr><th>Source</th><th>Rows</th><th>Loaded</th>"
        "<th>Quarantined</th><th>Usable</th><th>Unique ids</th><th>Strong identifier</th>"
        "<th>Name, DOB, postcode</th><th>Not before birth</th><th>Age in range</th>"
        "<th>Lag (days)</th></tr>"
    )
    for s in report["sources"]:
        m = s["summary"]
        lag = m.get("extract_lag_days")
        out.append(
            f"<tr><td>{e(s['source'])}</td><td class='n'>{s['rows_read']:,}</td>"
            f"<td class='n'>{s['rows_loaded']:,}</td><td class='n'>{s['rows_quarantined']:,}</td>"
            f"<td class='n'>{_pct(m.get('rows_usable'))}</td>"
            f"<td class='n'>{_pct(m.get('unique_ids'))}</td>"
            f"<td class='n'>{_pct(m.get('strong_identifier'))}</td>"
            f"<td class='n'>{_pct(m.get('name_dob_postcode'))}</td>"
            f"<td class='n'>{_pct(m.get('not_before_birth'))}</td>"
            f"<td class='n'>{_pct(m.get('age_in_range'))}</td>"
            f"<td class='n'>{'–' if lag is None else f'{lag:.0f}'}</td></tr>"
        )
    out.append("</table>")
    for s in report["sources"]:
        out.append(f"<h3>{e(s['source'])}: {e(s['dataset'])}</h3>")
        out.append(
            "<table><tr><th>Field</th><th>Column</th><th>Filled</th><th>Valid</th>"
            "<th>Unmapped codes</th><th>Formula-like</th></tr>"
        )
        for f in s["fields"]:
            out.append(
                f"<tr><td>{e(f['field'])}</td><td>{e(f['column_name'])}</td>"
                f"<td class='n'>{_pct(f['completeness'])}</td>"
                f"<td class='n'>{_pct(f['validity'])}</td>"
                f"<td class='n'>{f['unmapped']:,}</td><td class='n'>{f['formula_like']:,}</td></tr>"
            )
        out.append("</table>")
        if s["unmapped"]:
            out.append("<p>Codes the crosswalks do not know:</p><ul>")
            out.extend(
                f"<li>{e(u['column_name'])}: <code>{e(u['local_code'])}</code> "
                f"({u['rows']:,} rows)</li>"
                for u in s["unmapped"][:50]
            )
            out.append("</ul>")
        thin = [c["month"][:7] for c in s["coverage"] if c["thin"]]
        if thin:
            out.append(f"<p class='note'>Thin months (possible gaps): {e(', '.join(thin))}</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(report: dict[str, Any], out_dir: Path) -> None:
    """Write ``quality.json`` and ``quality.html`` into ``out_dir``."""
    (out_dir / REPORT_JSON).write_text(
        json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    (out_dir / REPORT_HTML).write_text(render_html(report), encoding="utf-8")
