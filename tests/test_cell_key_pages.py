"""Cell key perturbation on the pages that count on request (issue 19, item 7).

With ``disclosure.method: cell_key`` the overview (its concern table, persons and
sources), places (areas and both rankings), networks, data quality, the linkage report and
the releases list publish every count of people, events, places and records perturbed:
each a multiple of 5, 0 or "c"; the same in two releases built from the same extracts; the
same figure for the same people on every page; and an attacker who differences
overlapping figures across those pages and the questions' answers recovers no count of
1 to 4, where the same attack on the counts before perturbation recovers every one.

The partnership is the session's ``cell_key_built`` (built twice from the extracts alone).
The attacker knows the published figures and the public perturbation table, not the
partnership's secret.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from joinedup.config import load_config
from joinedup.disclosure import Tier, policy_for
from joinedup.disclosure.cellkey import KEY_RANGE, perturb
from joinedup.insight import overview_figures, read_answer
from joinedup.insight.answers import release_period
from joinedup.release import list_releases
from joinedup.views import (
    current_linkage_report,
    current_networks,
    current_overview,
    current_places,
    current_quality,
    release_listing,
)
from joinedup.views.cellkey import NO_SECRET_NOTE, page_disclosure, page_keys

TIER = Tier.STRATEGIC
C = "c"


@pytest.fixture(scope="module")
def releases(cell_key_built: Path) -> list[Any]:
    found = list_releases(cell_key_built)
    assert len(found) == 2
    return found


def _pages(root: Path, handle: Any) -> dict[str, Any]:
    """Every page this issue item covers, for one release, at the strategic tier."""
    opener: Callable[[Path], Any] = lambda _d: handle  # noqa: E731
    linkage, _chart = current_linkage_report(root, TIER, open_release=opener)
    return {
        "overview": current_overview(root, TIER, open_release=opener),
        "overview_all": current_overview(root, TIER, open_release=opener, period="all"),
        "community": current_overview(root, Tier.COMMUNITY, open_release=opener),
        "places": current_places(root, TIER, open_release=opener),
        "places_all": current_places(root, TIER, open_release=opener, period="all"),
        "networks": current_networks(root, TIER, open_release=opener),
        "quality": current_quality(root, TIER, open_release=opener),
        "linkage": linkage,
    }


@pytest.fixture(scope="module")
def pages(cell_key_built: Path, releases: list[Any]) -> list[dict[str, Any]]:
    return [_pages(cell_key_built, h) for h in releases]


def _counts(page: str, out: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(where, published value) of every count of people, events, places or records."""
    if page.startswith("overview"):
        for k, v in out["persons"].items():
            yield ("persons", k), v
        for row in out["concerns"]["rows"]:
            for a, v in zip(out["concerns"]["authorities"], row["cells"], strict=True):
                yield ("cell", row["group"], a["code"]), v
            yield ("group", row["group"]), row["total"]
        for a, v in zip(out["concerns"]["authorities"], out["concerns"]["totals"], strict=True):
            yield ("authority", a["code"]), v
        yield ("total",), out["concerns"]["total"]
        for s in out["sources"]:
            for k in ("rows_read", "rows_loaded", "rows_quarantined"):
                yield ("source", s["source"], k), s[k]
        for k, v in out["sources_total"].items():
            yield ("sources_total", k), v
    elif page == "community":
        for a, v in zip(
            out["areas"]["authorities"], out["areas"]["persons_with_concern"], strict=True
        ):
            yield ("authority", a["code"]), v
        yield ("total",), out["areas"]["total"]
    elif page.startswith("places"):
        for row in out["areas"]["rows"]:
            yield ("area", row["code"]), row["children"]
        yield ("area_total",), out["areas"]["total"]
        if out["areas"]["unknown"] is not None:
            yield ("area_unknown",), out["areas"]["unknown"]
        for ranking in ("hotspots", "found"):
            for row in out[ranking] or []:
                for k in ("children", "persons_of_concern", "events"):
                    yield (ranking, row["label"], k), row[k]
    elif page == "networks":
        for g in out["groups"]:
            for k in ("members", "children", "persons_of_concern", "others", "places"):
                yield (g["network_id"], k), g[k]
        for k, v in out["totals"].items():
            yield ("totals", k), v
    elif page == "quality":
        for s in out["sources"]:
            for k in ("rows_read", "rows_loaded", "rows_quarantined"):
                if k in s:
                    yield (s["source"], k), s[k]
            for c in s.get("coverage", []):
                yield (s["source"], "month", c["month"]), c["records"]
            for q in s.get("quarantine", []):
                yield (s["source"], "quarantine", q.get("problem"), q.get("column")), q["rows"]
    elif page == "linkage":
        for k in ("records", "new_or_changed_records", "persons"):
            yield ("run", k), out["run"][k]
        for section in ("links_by_rule", "blocking", "match_weight", "cluster_size", "agencies"):
            for row in out[section]["rows"]:
                yield (section, row["item"]), row["count"]
            yield (section, "total"), out[section]["total"]
        for k, v in out["review"].items():
            yield ("review", k), v


def test_every_count_on_the_pages_is_perturbed(pages) -> None:
    seen: dict[str, int] = {}
    for name, out in pages[-1].items():
        assert out["disclosure"]["method"] == "cell_key", name
        assert "cell key perturbation" in out["disclosure"]["footnote"], name
        for where, value in _counts(name, out):
            assert value == C or (isinstance(value, int) and value % 5 == 0), (name, where)
            seen[name] = seen.get(name, 0) + 1
    # every page has figures to check, and the places page ranks places
    assert all(seen.get(name, 0) >= 3 for name in pages[-1]), seen
    assert sum(seen.values()) > 500, seen
    assert pages[-1]["places"]["hotspots"], "the synthetic partnership has hotspots"
    assert "fairness" in pages[-1]["linkage"]["disclosure"]["footnote"]


def test_the_pages_are_the_same_in_two_releases_of_the_same_data(pages) -> None:
    first, second = pages
    compared = 0
    for name in first:
        a, b = dict(_counts(name, first[name])), dict(_counts(name, second[name]))
        if name == "linkage":  # the second build links incrementally: no pairs scored
            same = {"records", "persons", "links_by_rule", "cluster_size", "agencies"}
            a = {k: v for k, v in a.items() if same & set(k)}
            b = {k: v for k, v in b.items() if same & set(k)}
            assert len(a) > 10
        assert a == b, name
        compared += len(a)
    assert compared > 300


def test_the_same_people_give_the_same_figure_on_every_page(cell_key_built, pages) -> None:
    """Persons: overview, linkage report and releases list; records: the overview's
    sources and the quality page; a network's members and the question counting them."""
    page = pages[-1]
    persons = page["overview"]["persons"]["all"]
    assert page["linkage"]["run"]["persons"] == persons
    listing = release_listing(cell_key_built, TIER)
    assert {r["persons"] for r in listing["releases"]} == {persons}
    quality = {s["source"]: s for s in page["quality"]["sources"]}
    for s in page["overview"]["sources"]:
        for k in ("rows_read", "rows_loaded", "rows_quarantined"):
            assert s[k] == quality[s["source"]][k], (s["source"], k)
    assert page["linkage"]["links_by_rule"]["total"] == page["linkage"]["run"]["records"]


def _preimages(threshold: int, most: int = 6000) -> dict[Any, set[int]]:
    """For each published value, every true count some cell key publishes as it."""
    policy = policy_for(TIER)
    assert policy.threshold == threshold
    out: dict[Any, set[int]] = {}
    for n in range(most + 1):
        for ck in range(KEY_RANGE) if n else (0,):
            out.setdefault(perturb(n, ck, policy), set()).add(n)
    return out


def _raw(root: Path, handle: Any) -> dict[str, Any]:
    """The counts before protection, read from the release as the pages count them."""
    cfg = load_config(root)
    con = handle.connect()
    try:
        default, _ = release_period(con, None)
        ov = overview_figures(con, children_first=True, window=(default.start, default.end))
        hot = {
            (str(r[0]), str(r[1])): int(r[2])
            for r in con.execute(
                "SELECT time_window, place_id, children FROM place_hotspot "
                "WHERE ranking = 'concern'"
            ).fetchall()
        }
        labels = {
            str(r[0]): str(r[1])
            for r in con.execute(
                "SELECT DISTINCT place_id, label FROM place_hotspot WHERE ranking = 'concern'"
            ).fetchall()
        }
        groups = {
            str(r[0]): (int(r[1]), int(r[2]), int(r[3]))
            for r in con.execute(
                "SELECT network_id, members, children, persons_of_concern FROM network_group"
            ).fetchall()
        }
        sources = {
            str(r[0]): (int(r[1]), int(r[2]))
            for r in con.execute("SELECT source, rows_read, rows_loaded FROM source").fetchall()
        }
        question = read_answer(con, "children_with_concern", by="exploitation_type")
        members = read_answer(con, "network_members")
    finally:
        con.close()
    assert cfg.disclosure.method == "cell_key"
    return {
        "overview": ov,
        "hot": hot,
        "labels": labels,
        "groups": groups,
        "sources": sources,
        "question": question,
        "members": members,
    }


def _relations(
    page: dict[str, Any], raw: dict[str, Any], policy: Any
) -> Iterator[tuple[str, Any, Any, int]]:
    """(what, published larger figure, published smaller figure, true difference) for
    figures that overlap, on one page, across pages and with the questions' answers."""
    ov, t = page["overview"], raw["overview"].concerns
    rows = {r["group"]: r for r in ov["concerns"]["rows"]}
    codes = [a["code"] for a in ov["concerns"]["authorities"]]
    totals = dict(zip(codes, ov["concerns"]["totals"], strict=True))
    for g, row in rows.items():
        yield "group in total", ov["concerns"]["total"], row["total"], t.total - t.by_group[g]
        for a, v in zip(codes, row["cells"], strict=True):
            n = t.cells.get((g, a), 0)
            yield "cell in group", row["total"], v, t.by_group[g] - n
            yield "cell in authority", totals[a], v, t.by_authority[a] - n
    # a place's children all time and in the default period (two stored periods)
    shown_all = {r["label"]: r for r in page["places_all"]["hotspots"] or []}
    by_label = {v: k for k, v in raw["labels"].items()}
    for row in page["places"]["hotspots"] or []:
        pid = by_label.get(row["label"])
        if pid is None or row["label"] not in shown_all:
            continue
        diff = raw["hot"].get(("all", pid), 0) - raw["hot"].get(("default", pid), 0)
        yield "place in two periods", shown_all[row["label"]]["children"], row["children"], diff
    # a network's members and its children, persons of concern and others
    for g in page["networks"]["groups"]:
        members, children, poc = raw["groups"][g["network_id"]]
        yield "children in group", g["members"], g["children"], members - children
        yield "others in group", g["members"], g["others"], children + poc
    # records: a source's rows read and rows loaded, on the quality page
    for s in page["quality"]["sources"]:
        read, loaded = raw["sources"][s["source"]]
        yield "rows loaded in rows read", s["rows_read"], s["rows_loaded"], read - loaded
    # across pages and questions: the overview's people with a concern of a type (any
    # age as victim or subject, any role but witness as a child) and the question's
    # children of that type, both for the default period
    for (split, cat), cell in raw["question"].cells.items():
        if split is None and cat in rows:
            d = t.by_group[cat] - cell.units
            yield "question's children in the overview", rows[cat]["total"], _q(cell, policy), d
    # every person, and the people in networks (the networks page and its question)
    members = sum(m for m, _, _ in raw["groups"].values())
    persons = page["overview"]["persons"]["all"]
    yield (
        "networks in persons",
        persons,
        page["networks"]["totals"]["members"],
        (raw["overview"].persons - members),
    )
    head = raw["members"].cells.get((None, None))
    if head is not None:
        yield (
            "question's members in persons",
            persons,
            _q(head, policy),
            (raw["overview"].persons - head.units),
        )


def _q(cell: Any, policy: Any) -> Any:
    """A question's cell as published (perturbed by its stored cell key)."""
    if not cell.units:
        return 0
    return perturb(cell.units, cell.cell_key, policy) if cell.cell_key is not None else C


def test_differencing_overlapping_figures_recovers_no_small_count(
    cell_key_built, releases, pages
) -> None:
    policy = policy_for(TIER, load_config(cell_key_built).disclosure)
    raw = _raw(cell_key_built, releases[-1])
    pre = _preimages(threshold=5)
    small = pinned = naive = 0
    kinds: set[str] = set()
    for what, big, little, d in _relations(pages[-1], raw, policy):
        if not 1 <= d <= 4:
            continue
        small += 1
        kinds.add(what)
        options = {y - x for y in pre[big] for x in pre[little] if y >= x}
        assert d in options, (what, big, little, d)  # consistent with the truth
        pinned += len(options) == 1
        naive += isinstance(big, int) and isinstance(little, int) and big - little == d
    # before perturbation each of these differences is exact: the attack would work
    assert small >= 10, small
    assert len(kinds) >= 3, kinds
    assert pinned == 0 and naive == 0


def test_a_period_on_request_is_perturbed_not_rounded(cell_key_built, releases) -> None:
    con = releases[-1].connect()
    try:
        ref = dt.date.fromisoformat(
            str(
                con.execute(
                    "SELECT value FROM release_info WHERE key = 'reference_date'"
                ).fetchone()[0]
            )
        )
    finally:
        con.close()
    start = dt.date(ref.year - 1, 1, 1).isoformat()
    end = (dt.date(ref.year, 4, 1) - dt.timedelta(days=1)).isoformat()
    out = current_places(cell_key_built, TIER, start=start, end=end)
    assert out["period"]["stored"] is False
    assert "cell key perturbation" in out["period"]["note"]
    values = [r["children"] for r in out["areas"]["rows"]] + [out["areas"]["total"]]
    assert all(v == C or v % 5 == 0 for v in values)
    assert out["disclosure"]["rounding_base"] is None  # perturbed, not rounded again


def test_without_the_secret_a_page_keeps_suppression_and_says_so(tmp_path) -> None:
    (tmp_path / "partnership.yaml").write_text("name: x\n", encoding="utf-8")
    policy = policy_for(TIER)
    chosen = type(policy)(threshold=policy.threshold, method="cell_key")
    assert page_keys(tmp_path, chosen) is None
    said = page_disclosure(chosen, None)
    assert said["footnote"].endswith(NO_SECRET_NOTE)
    assert "method" not in said
    (tmp_path / ".joinedup-secret").write_text("k" * 64, encoding="utf-8")
    keys = page_keys(tmp_path, chosen)
    assert keys is not None and page_keys(tmp_path, policy) is None  # suppression chosen
    # a stored count: the same cell and count always give the same figure
    assert keys.perturb(("records", "x"), 12, chosen) == keys.perturb(("records", "x"), 12, chosen)
    assert page_disclosure(chosen, keys)["method"] == "cell_key"
