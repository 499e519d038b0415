"""The attacker's test (issue 11, item 2): every output protected the same way.

On the 400-person synthetic partnership built twice (so that releases can be compared),
for the strategic and the community tier, this collects every JSON twin of the web app
(signed in as a user of that tier), the export files and the report's tables, and then:

(a) looks for any count of people OR of records (rows of an agency's file) from 1 to
    the tier's threshold: a count is an integer under any key but the few that are not
    counts (:data:`NOT_COUNTS`);
(b) plays the attacker with what is published, across pages: the same figure shown on
    one page and hidden on another; a hidden figure that follows from the published
    ones by exact linear algebra (a source's rows read = loaded + filtered +
    quarantined, the quarantined rows by problem, the records per month, the sources'
    totals, the linkage report's record total); a field-quality measure whose share and
    denominator give away a hidden numerator or a small complement; records per month
    of a source that add up to a quarter the questions hide (month -> quarter); hidden
    wards that the authority total pins down or narrows to small numbers (ward ->
    authority); a change published beside a hidden figure (change = a - b).

The attacker's solver is written here, separately from ``joinedup.disclosure``.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.config import load_config, resolve_source_file
from joinedup.disclosure import DisclosurePolicy, Tier, policy_for, scope_release, source_scope
from joinedup.export import export_overview
from joinedup.release import current_release_id, list_releases, open_current
from joinedup.report import gather_report
from joinedup.views.places import _areas, _reference
from joinedup.web import create_app

C = "c"
TIERS = (Tier.STRATEGIC, Tier.COMMUNITY)
#: Keys whose integer values are not counts of people or records: release facts and the
#: policy, audit positions, build facts, ranks (positions), seconds and days.
NOT_COUNTS = {
    "release",
    "disclosure",
    "threshold",
    "rounding_base",
    "seq",
    "offset",
    "next_offset",
    "verify",
    "seconds",
    "build_seconds",
    "extract_lag_days",
    "rank",
    "builds",
    "choices",
    "chosen",
    "model",
    "truth",
    "maturity",  # issue 21: self-assessed levels 1-5 and counts of agencies, not of people
    # issue 16, the quality page's summary per agency: hidden cells, thin months, measures
    "hidden_shares",
    "thin_months",
    "measures_dropped",
    # a change is the difference of two figures that are both shown beside it
    # (test_a_change_is_shown_only_beside_both_figures checks that, and that it is their
    # difference): it tells a reader nothing the two figures do not, so it is not a count
    "change",
}
#: Routes that are not figures: the session, the audit log (governance, read by data
#: leads and administrators about their own data), health.
SKIP_ROUTES = {"/account.json", "/sign-in.json", "/audit.json", "/healthz"}
KINDS = ("rows_loaded", "rows_filtered", "rows_quarantined")


# --- the partnership, built twice ----------------------------------------------------


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic partnership with a second release in which the police missing
    extract lost three rows and the NRM extract two (so there is something to compare)."""
    from joinedup.pipeline import build

    root = tmp_path_factory.mktemp("attack") / "partnership"
    shutil.copytree(synth_built, root)
    cfg = load_config(root, check_files=False)
    for source, drop in (("police_missing", 3), ("nrm_referrals", 2)):
        path = resolve_source_file(root, next(s for s in cfg.sources if s.id == source))
        assert path is not None
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        path.write_text("\n".join(lines[:-drop]) + "\n", encoding="utf-8-sig")
    build(root)
    assert len(list_releases(root)) >= 2
    return root


@pytest.fixture(scope="module")
def app(partnership: Path):
    app = create_app(partnership)
    yield app
    app.state.governance.close()


@pytest.fixture(scope="module")
def client(app) -> TestClient:
    """A data lead who is also a community viewer: every page, at either tier."""
    client = TestClient(app)
    sign_in(client, "data_lead+community_viewer", agency="other", username="attacker")
    return client


@pytest.fixture(scope="module")
def release(partnership: Path):
    con = duckdb.connect(str(open_current(partnership).db_path), read_only=True)
    yield con
    con.close()


def _routes(app) -> list[str]:
    def walk(routes):
        for r in routes:
            inner = getattr(r, "original_router", None)
            yield from walk(inner.routes) if inner is not None else [r]

    return sorted(
        r.path
        for r in walk(app.routes)
        if isinstance(r, APIRoute)
        and "GET" in r.methods
        and r.path.endswith(".json")
        and "{" not in r.path
        and r.path not in SKIP_ROUTES
    )


def _get(client: TestClient, url: str, tier: Tier) -> dict[str, Any] | None:
    sep = "&" if "?" in url else "?"
    r = client.get(f"{url}{sep}tier={tier.value}")
    if r.status_code != 200:
        assert r.status_code in (403, 404, 422), f"{url}: {r.status_code}"
        return None
    data = r.json()
    # the community briefing is the community tier for everyone: never more detailed
    assert data.get("tier", tier.value) in (tier.value, FIXED_TIERS.get(url)), url
    return data


#: Pages shown at one fixed, least detailed tier whatever the visitor's (issue 20).
FIXED_TIERS = {"/community.json": Tier.COMMUNITY.value}


@pytest.fixture(scope="module")
def pages(app, client: TestClient) -> dict[Tier, dict[str, Any]]:
    """Every JSON twin at each tier: url -> JSON."""
    out: dict[Tier, dict[str, Any]] = {}
    for tier in TIERS:
        got: dict[str, Any] = {}
        for url in _routes(app):
            data = _get(client, url, tier)
            if data is not None:
                got[url] = data
        for g in got.get("/questions.json", {}).get("groups", []):
            for q in g["questions"]:
                if not q["available"]:
                    continue
                base = f"/questions/{q['id']}.json"
                first = _get(client, base, tier)
                if first is None:
                    continue
                got[base] = first
                for b in first["question"]["breakdowns"]:
                    data = _get(client, f"{base}?by={b}", tier)
                    if data is not None:
                        got[f"{base}?by={b}"] = data
        for group in got.get("/networks.json", {}).get("groups", []):
            url = f"/networks/{group['network_id']}.json"
            data = _get(client, url, tier)
            if data is not None:
                got[url] = data
        out[tier] = got
    assert (
        "/quality.json" in out[Tier.STRATEGIC] and "/releases/compare.json" in out[Tier.STRATEGIC]
    )
    assert "/places.json" in out[Tier.COMMUNITY]
    return out


@pytest.fixture(scope="module")
def exports(partnership: Path, tmp_path_factory) -> dict[Tier, dict[str, list[dict[str, str]]]]:
    out = {}
    for tier in TIERS:
        folder = tmp_path_factory.mktemp(f"export-{tier.value}")
        files = export_overview(partnership, "csv", folder, tier=tier)
        tables = {}
        for f in files:
            if f.suffix == ".csv":
                with f.open(encoding="utf-8-sig", newline="") as fh:
                    tables[f.stem] = list(csv.DictReader(fh))
        out[tier] = tables
    assert "sources" in out[Tier.STRATEGIC]
    return out


@pytest.fixture(scope="module")
def reports(partnership: Path):
    return {
        tier: [gather_report(partnership, board=b, tier=tier) for b in ("children", "adults")]
        for tier in TIERS
    }


# --- (a) no small count anywhere -------------------------------------------------------


def _counts(value: Any, key: str | None = None, where: str = "") -> Iterator[tuple[str, int]]:
    if key in NOT_COUNTS:
        return
    if isinstance(value, dict):
        months = value.get("measure") == "months_without_gaps"  # counts of months
        for k, v in value.items():
            if months and k in ("numerator", "denominator"):
                continue
            yield from _counts(v, k, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _counts(v, key, f"{where}[{i}]")
    elif isinstance(value, int) and not isinstance(value, bool):
        yield where, value


@pytest.mark.parametrize("tier", TIERS, ids=lambda t: t.value)
def test_no_small_count_of_people_or_records_in_any_json_twin(pages, tier) -> None:
    k = policy_for(tier).threshold
    small = [
        f"{url}{where}={n}"
        for url, data in pages[tier].items()
        for where, n in _counts(data)
        if 1 <= n <= k
    ]
    assert not small, f"{len(small)} small counts at {tier.value}: {small[:12]}"


@pytest.mark.parametrize("tier", TIERS, ids=lambda t: t.value)
def test_no_small_count_in_exports_or_report(exports, reports, tier) -> None:
    k = policy_for(tier).threshold
    small = []
    for name, rows in exports[tier].items():
        if name == "release":
            continue
        for i, row in enumerate(rows):
            for col, v in row.items():
                if re.fullmatch(r"\d+", v or "") and 1 <= int(v) <= k:
                    small.append(f"export {name} row {i + 1} {col}={v}")
    for report in reports[tier]:
        for s in report.sections:
            for t in s.tables:
                for c, col in enumerate(t.columns):
                    if col.kind not in ("count", "number"):
                        continue
                    for i, r in enumerate(t.rows):
                        if isinstance(r[c], int) and 1 <= r[c] <= k:
                            small.append(f"report {s.id}/{t.name} row {i + 1} {col.key}={r[c]}")
            for text in [s.summary, *s.caveats]:
                for m in re.finditer(r"\b([\d,]+) (?:of [\d,]+ )?(?:rows|records)\b", text):
                    if 1 <= int(m.group(1).replace(",", "")) <= k:
                        small.append(f"report {s.id}: {m.group(0)}")
    assert not small, small[:12]


# --- (b) the attacker's solver ---------------------------------------------------------


def _determined(known: dict[Any, int], hidden: set[Any], relations) -> set[Any]:
    """Hidden cells whose value follows from the known cells and the relations
    (``total = sum(parts)``), by exact Gaussian elimination."""
    unknowns = sorted(hidden, key=repr)
    col = {u: i for i, u in enumerate(unknowns)}
    rows = []
    for total, parts in relations:
        cells = [total, *parts]
        if not all(c in known or c in hidden for c in cells):
            continue  # a relation with a cell nobody published
        row = [Fraction(0)] * len(unknowns)
        for p in parts:
            if p in col:
                row[col[p]] += 1
        if total in col:
            row[col[total]] -= 1
        if any(row):
            rows.append(row)
    # reduced row echelon form
    pivots: dict[int, int] = {}
    r = 0
    for c in range(len(unknowns)):
        p = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        rows[r] = [x / rows[r][c] for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots[c] = r
        r += 1
    free = [c for c in range(len(unknowns)) if c not in pivots]
    return {unknowns[c] for c, row in pivots.items() if all(rows[row][f] == 0 for f in free)}


class Published:
    """What the attacker has collected: each figure (a key) with every value any output
    showed for it ("c" where one hid it)."""

    def __init__(self) -> None:
        self.values: dict[Any, set[Any]] = defaultdict(set)
        self.where: dict[Any, set[str]] = defaultdict(set)

    def add(self, key: Any, value: Any, where: str) -> None:
        if value is None:
            return
        self.values[key].add(value)
        self.where[key].add(where)

    def known(self) -> dict[Any, int]:
        return {k: next(v for v in vs if v != C) for k, vs in self.values.items() if vs - {C}}

    def hidden(self) -> set[Any]:
        return {k for k, vs in self.values.items() if vs == {C}}

    def shown_and_hidden(self) -> list[str]:
        return [
            f"{k}: {sorted(map(str, vs))} on {sorted(self.where[k])}"
            for k, vs in self.values.items()
            if C in vs and len(vs) > 1
        ]


def _source_rows(pub: Published, rid: str, sources, where: str) -> None:
    for s in sources or []:
        for kind in ("rows_read", *KINDS):
            if kind in s:
                pub.add(("src", rid, s["source"], kind), s[kind], where)


def _collect(pages, exports, reports, tier: Tier, current: str) -> Published:
    pub = Published()
    got = pages[tier]
    by_dataset = {
        (r.get("dataset") or r["source"]): r["source"]
        for t in pages
        for r in pages[t].get("/overview.json", {}).get("sources") or []
    }
    _source_rows(pub, current, got.get("/overview.json", {}).get("sources"), "overview")
    quality = got.get("/quality.json")
    if quality:
        _source_rows(pub, current, quality["sources"], "quality")
        for s in quality["sources"]:
            for q in s.get("quarantine", []):
                key = ("quar", current, s["source"], q["problem"], q["column_name"])
                pub.add(key, q["rows"], "quality")
            for m in s.get("coverage", []):
                pub.add(("month", current, s["source"], m["month"]), m["records"], "quality")
    listing = got.get("/releases.json")
    if listing:
        for r in listing["releases"]:
            _source_rows(pub, r["release_id"], r.get("sources"), "releases")
            pub.add(("total", r["release_id"], "rows_loaded"), r.get("rows_loaded"), "releases")
            pub.add(
                ("total", r["release_id"], "rows_quarantined"),
                r.get("rows_quarantined"),
                "releases",
            )
    compare = (got.get("/releases/compare.json") or {}).get("comparison")
    if compare:
        for side in ("a", "b"):
            rid = compare[side]["release_id"]
            for s in compare.get("sources") or []:
                for kind, v in (s[side] or {}).items():
                    pub.add(("src", rid, s["source"], kind), v, "compare")
    linkage = got.get("/linkage.json")
    if linkage:
        pub.add(("total", current, "rows_loaded"), linkage["run"]["records"], "linkage")
    labels = {"rows_read": "Rows read", "rows_loaded": "Rows loaded"}
    labels["rows_quarantined"] = "Rows quarantined"
    for row in exports[tier].get("sources", []):
        for kind, label in labels.items():
            v = row[label]
            pub.add(("src", current, row["Source"], kind), int(v) if v.isdigit() else v, "export")
    for report in reports[tier]:
        for s in report.sections:
            for t in s.tables:
                if t.name == "sources":
                    for rec in t.records():
                        # the report names extracts in words (issue 16): back to their ids
                        sid = rec.get("source") or by_dataset[rec["dataset"]]
                        for kind in ("rows_read", "rows_loaded", "rows_quarantined"):
                            pub.add(("src", current, sid, kind), rec[kind], "report")
    return pub


def _relations(pub: Published, release) -> list[tuple[Any, tuple[Any, ...]]]:
    """The relations an attacker may assume, kept where they hold in the release (so a
    solved value is the true one)."""
    rels = []
    keys = set(pub.values)
    by_release: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        if k[0] == "src":
            by_release[k[1]].add(k[2])
    for rid, sources in by_release.items():
        for s in sources:
            rels.append((("src", rid, s, "rows_read"), tuple(("src", rid, s, k) for k in KINDS)))
        for kind in ("rows_loaded", "rows_quarantined"):
            rels.append((("total", rid, kind), tuple(("src", rid, s, kind) for s in sources)))
    current = current_release_id_of(release)
    truth_q = dict(
        release.execute("SELECT source, count(*) FROM quarantine GROUP BY source").fetchall()
    )
    truth_months = dict(
        release.execute("SELECT source, sum(records) FROM date_coverage GROUP BY source").fetchall()
    )
    loaded = dict(release.execute("SELECT source, rows_loaded FROM source").fetchall())
    quarantined = dict(release.execute("SELECT source, rows_quarantined FROM source").fetchall())
    per_source_q: dict[str, list[Any]] = defaultdict(list)
    per_source_m: dict[str, list[Any]] = defaultdict(list)
    for k in keys:
        if k[0] == "quar":
            per_source_q[k[2]].append(k)
        if k[0] == "month":
            per_source_m[k[2]].append(k)
    for s, parts in per_source_q.items():
        if truth_q.get(s) == quarantined.get(s):
            rels.append((("src", current, s, "rows_quarantined"), tuple(parts)))
    for s, parts in per_source_m.items():
        if truth_months.get(s) == loaded.get(s):
            rels.append((("src", current, s, "rows_loaded"), tuple(parts)))
    return rels


def current_release_id_of(release) -> str:
    row = release.execute("SELECT value FROM release_info WHERE key = 'release_id'").fetchone()
    return str(row[0])


@pytest.mark.parametrize("tier", TIERS, ids=lambda t: t.value)
def test_no_hidden_record_count_is_shown_elsewhere_or_solved(
    pages, exports, reports, release, tier
) -> None:
    pub = _collect(pages, exports, reports, tier, current_release_id_of(release))
    both = pub.shown_and_hidden()
    assert not both, f"hidden on one output, shown on another: {both[:8]}"
    known, hidden = pub.known(), pub.hidden()
    rels = _relations(pub, release)
    solved = _determined(known, hidden, rels)
    assert not solved, f"worked out from the published figures: {sorted(map(str, solved))[:8]}"
    # Hidden parts of a relation with a known total must not add up to a small number.
    k = policy_for(tier).threshold
    narrowed = []
    for total, parts in rels:
        hidden_parts = [p for p in parts if p in hidden]
        if total in known and hidden_parts and all(p in known or p in hidden for p in parts):
            rest = known[total] - sum(known[p] for p in parts if p in known)
            if rest <= k or rest <= len(hidden_parts):
                narrowed.append(f"{total}: {len(hidden_parts)} hidden add up to {rest}")
    assert not narrowed, narrowed[:8]


def _measures(quality: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for s in quality["sources"]:
        for m in s["measures"]:
            if m["measure"] in ("months_without_gaps", "extract_lag_days"):
                continue
            yield s["source"], m


def test_field_quality_counts_give_nothing_small_away(pages, release) -> None:
    """A share beside its denominator gives the numerator; the denominator less the
    numerator is a count of records too (rows without the field, say)."""
    truth = {
        (s, m, f or ""): (n, d)
        for s, m, f, n, d in release.execute(
            "SELECT source, measure, field, numerator, denominator FROM quality_measure"
        ).fetchall()
    }
    for tier in TIERS:
        k = policy_for(tier).threshold
        quality = pages[tier]["/quality.json"]
        leaks = []
        for source, m in _measures(quality):
            n_true, d_true = truth[(source, m["measure"], m["field"] or "")]
            n, d, share = m.get("numerator"), m.get("denominator"), m.get("value")
            if isinstance(n, int) and isinstance(d, int) and 1 <= d - n <= k:
                leaks.append(f"{source} {m['measure']} {m['field']}: {d - n} short of {d}")
            if isinstance(share, float) and isinstance(d, int) and n == C:
                leaks.append(f"{source} {m['measure']} {m['field']}: share x {d} gives it")
            if isinstance(share, float) and d_true and tier is Tier.COMMUNITY:
                missing = d_true - n_true
                if 1 <= missing <= k or 1 <= n_true <= k:
                    leaks.append(f"{source} {m['measure']} {m['field']}: share {share}")
        for s in quality["sources"]:
            for dim, d in s["dimensions"].items():
                if d["share"] is None:
                    continue
                pooled = [
                    truth[(s["source"], m["measure"], m["field"] or "")]
                    for m in s["measures"]
                    if m["dimension"] == dim
                    and m["measure"] not in ("extract_lag_days", "months_without_gaps")
                ]
                num = sum(x for x, y in pooled if y)
                den = sum(y for _, y in pooled if y)
                if den and abs(d["share"] - num / den) < 1e-12 and 1 <= den - num <= k:
                    leaks.append(f"{s['source']} {dim}: pooled share hides {den - num} rows")
        assert not leaks, f"{tier.value}: {leaks[:8]}"


def _quarter(month: str) -> str:
    year, m = month.split("-")[:2]
    return f"{year} Q{(int(m) - 1) // 3 + 1}"


def test_months_of_a_source_do_not_add_up_to_a_hidden_quarter(pages, release) -> None:
    """The finding: the NRM question hides each quarter, the quality page listed the NRM
    source's records month by month, and they added up to exactly the hidden values."""
    truth = dict(
        release.execute(
            "SELECT year(event_date) || ' Q' || quarter(event_date), count(DISTINCT event_id) "
            "FROM event WHERE event_type = 'nrm_referral' GROUP BY 1"
        ).fetchall()
    )
    for tier in TIERS:
        got = pages[tier]
        quality = got.get("/quality.json")
        answers = [
            (url, d)
            for url, d in got.items()
            if url.startswith("/questions/") and "by=quarter" in url
        ]
        sums: dict[tuple[str, str], int | None] = {}
        for s in quality["sources"]:
            for m in s.get("coverage", []):
                key = (s["source"], _quarter(m["month"]))
                v = m["records"]
                sums[key] = None if v == C or sums.get(key, 0) is None else sums.get(key, 0) + v
        leaks = []
        for url, data in answers:
            for row in data["answer"]["rows"]:
                if row.get("count") != C or row.get("category") in (None, "Total"):
                    continue
                q = row["category"]
                true = truth.get(q) if "nrm_referrals" in url else None
                for (source, quarter), total in sums.items():
                    if quarter == q and total is not None and true is not None and total == true:
                        leaks.append(f"{url} {q}: {source}'s months add up to it")
        assert not leaks, f"{tier.value}: {leaks[:8]}"
    assert truth, "the synthetic partnership has NRM referrals"


def test_hidden_wards_are_not_pinned_down_by_their_authority(partnership, pages) -> None:
    """Community tier: a reader who knows an authority's total (from any other output)
    must not be able to work out a hidden ward, nor learn that its hidden wards are all
    small."""
    data = pages[Tier.COMMUNITY]["/places.json"]
    k = policy_for(Tier.COMMUNITY).threshold
    cfg = load_config(partnership, check_files=False)
    con = open_current(partnership).connect()
    try:
        scope_release(con, source_scope(cfg, Tier.COMMUNITY))
        raw = _areas(
            con,
            "ward",
            DisclosurePolicy(threshold=0),
            since=None,
            reference=_reference(con),
            place_type=None,
        )
    finally:
        con.close()
    true = {r["code"]: r["children"] for r in raw["rows"]}
    by_parent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in data["areas"]["rows"]:
        by_parent[r["parent"]].append(r)
    problems = []
    for parent, rows in by_parent.items():
        hidden = [r for r in rows if r["children"] == C]
        if len(hidden) == 1:
            problems.append(f"{parent}: one hidden ward, {hidden[0]['name']}")
        elif hidden:
            total = sum(true[r["code"]] for r in hidden)
            if total <= k or total <= len(hidden):
                problems.append(f"{parent}: {len(hidden)} hidden wards add up to {total}")
    assert not problems, problems


def _change_rows(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "change" in value and ("previous" in value or "count" in value):
            yield value
        for v in value.values():
            yield from _change_rows(v)
    elif isinstance(value, list):
        for v in value:
            yield from _change_rows(v)


@pytest.mark.parametrize("tier", TIERS, ids=lambda t: t.value)
def test_a_change_is_shown_only_beside_both_figures(pages, tier) -> None:
    bad = []
    for url, data in pages[tier].items():
        for row in _change_rows(data):
            change = row["change"]
            if change in (None, C):
                continue
            now = row.get("count", row.get("headline"))
            before = row.get("previous")
            if not (isinstance(now, int) and isinstance(before, int)):
                bad.append(f"{url}: change {change} beside {now} and {before}")
            elif isinstance(change, int) and change != now - before:
                bad.append(f"{url}: change {change} is not {now} - {before}")
        compare = data.get("comparison") if url == "/releases/compare.json" else None
        for q in (compare or {}).get("quality", {}).get("changed", []) if compare else []:
            if C in (q["a"], q["b"]) or None in (q["a"], q["b"]):
                bad.append(f"{url}: quality change beside a hidden share {q}")
        for d in data.get("drops", []) if url == "/quality.json" else []:
            if d.get("change_points") in (None, C):
                continue
            if d.get("percent") in (None, C) or d.get("previous_percent") in (None, C):
                bad.append(f"{url}: drop {d['change_points']} beside a hidden share")
    assert not bad, bad[:8]


def test_quality_changes_between_releases_hide_nothing_small(pages, partnership: Path) -> None:
    """A share that moved between two releases is listed only where, in both, its rows
    and the rows failing it are not small counts (else a and b give them away)."""
    compare = pages[Tier.STRATEGIC]["/releases/compare.json"]["comparison"]
    k = policy_for(Tier.STRATEGIC).threshold
    truth = {}
    for side in ("a", "b"):
        rid = compare[side]["release_id"]
        handle = next(h for h in list_releases(partnership) if h.release_id == rid)
        con = duckdb.connect(str(handle.db_path), read_only=True)
        truth[side] = {
            (s, m, f or ""): (n, d)
            for s, m, f, n, d in con.execute(
                "SELECT source, measure, field, numerator, denominator FROM quality_measure "
                "WHERE numerator IS NOT NULL AND measure <> 'months_without_gaps'"
            ).fetchall()
        }
        con.close()
    bad = []
    for q in compare["quality"]["changed"]:
        for side in ("a", "b"):
            n, d = truth[side].get((q["source"], q["measure"], q["field"]), (None, None))
            if n is not None and (1 <= n <= k or 1 <= d - n <= k):
                bad.append(f"{q['source']} {q['measure']} {q['field']} ({side}: {n} of {d})")
    assert compare["quality"]["changed"] or not bad
    assert not bad, bad[:8]


def test_sources_agree_between_releases_pages(pages, partnership: Path) -> None:
    """The release comparison shows each release's source rows exactly as the releases
    list does for that release (both protected the same way)."""
    got = pages[Tier.STRATEGIC]
    compare = got["/releases/compare.json"]["comparison"]
    listing = {r["release_id"]: r for r in got["/releases.json"]["releases"]}
    assert compare["b"]["release_id"] == current_release_id(partnership)
    for side in ("a", "b"):
        rows = {s["source"]: s for s in listing[compare[side]["release_id"]]["sources"]}
        for s in compare["sources"]:
            if s[side] is None:
                continue
            for kind, v in s[side].items():
                assert rows[s["source"]][kind] == v, (side, s["source"], kind)


def test_operational_tier_sees_counts_of_records_as_before(partnership, release) -> None:
    """The operational tier is unchanged: its pages show counts of records as they are."""
    from joinedup.views import current_overview, current_quality

    raw = {
        s: (r, lo, q)
        for s, r, lo, q in release.execute(
            "SELECT source, rows_read, rows_loaded, rows_quarantined FROM source"
        ).fetchall()
    }
    quality = current_quality(partnership, Tier.OPERATIONAL)
    overview = current_overview(partnership, Tier.OPERATIONAL)
    for rows in (quality["sources"], overview["sources"]):
        assert {
            s["source"]: (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) for s in rows
        } == raw
    months = {
        (s, m.strftime("%Y-%m")): n
        for s, m, n in release.execute(
            "SELECT source, month, records FROM date_coverage"
        ).fetchall()
        if s is not None
    }
    shown = {
        (s["source"], c["month"]): c["records"] for s in quality["sources"] for c in s["coverage"]
    }
    assert shown == months


def test_quality_beside_a_question_hides_what_the_quality_page_hides(pages) -> None:
    """The sources a question draws on carry quality shares. A share of records is a
    count of records in disguise (NRM "rows usable 90.9%" is 10 of 11: one row set aside),
    so beside a question it must be hidden wherever the quality page hides it."""
    for tier in TIERS:
        got = pages[tier]
        hidden = {
            (source, m["measure"])
            for source, m in _measures(got["/quality.json"])
            if C in (m.get("value"), m.get("numerator"), m.get("denominator"))
        }
        leaks = []
        for url, data in got.items():
            if not url.startswith("/questions/"):
                continue
            for s in data.get("sources", []):
                for m in s.get("measures", []):
                    if m["measure"] in ("months_without_gaps", "extract_lag_days"):
                        continue
                    if (s["source"], m["measure"]) in hidden and m["percent"] not in (C, None):
                        leaks.append(f"{url} {s['source']} {m['measure']}: {m['percent']}%")
        assert not leaks, f"{tier.value}: {sorted(set(leaks))[:8]}"
