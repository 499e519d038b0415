"""Disclosure policies from partnership.yaml, and sharing agreements at each tier."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from joinedup.config import load_config
from joinedup.config.model import MIN_THRESHOLDS, DisclosureConfig
from joinedup.disclosure import SUPPRESSED, Tier, policy_for, protect_two_way, source_scope
from joinedup.pipeline import build as build_release
from joinedup.views import current_overview


def test_defaults_and_the_weakest_allowed_agree() -> None:
    for tier in Tier:
        assert policy_for(tier).threshold == MIN_THRESHOLDS[tier.value]


def test_partnership_can_make_policies_stricter_never_weaker() -> None:
    cfg = DisclosureConfig.model_validate(
        {"strategic": {"threshold": 7, "rounding_base": 5}, "community": {"threshold": 20}}
    )
    strategic = policy_for(Tier.STRATEGIC, cfg)
    assert (strategic.threshold, strategic.rounding_base) == (7, 5)
    assert policy_for(Tier.COMMUNITY, cfg).threshold == 20
    assert policy_for(Tier.OPERATIONAL, cfg) == policy_for(Tier.OPERATIONAL)
    with pytest.raises(ValidationError, match="weaker than the default 10"):
        DisclosureConfig.model_validate({"community": {"threshold": 3}})


@settings(max_examples=80, deadline=None)
@given(
    threshold=st.integers(min_value=5, max_value=9),
    cells=st.lists(st.integers(0, 30), min_size=6, max_size=6),
)
def test_configured_policy_hides_small_counts_and_no_cell_is_left_alone(threshold, cells):
    cfg = DisclosureConfig.model_validate({"strategic": {"threshold": threshold}})
    policy = policy_for(Tier.STRATEGIC, cfg)
    rows, cols = ["a", "b"], ["x", "y", "z"]
    values = {(r, c): cells[i * 3 + j] for i, r in enumerate(rows) for j, c in enumerate(cols)}
    t = protect_two_way(values, policy, rows=rows, cols=cols)
    published = [*t.cells.values(), *t.row_totals.values(), *t.col_totals.values(), t.total]
    assert not [v for v in published if v != SUPPRESSED and 1 <= v <= threshold]
    # the subtraction attack: a shown total with exactly one hidden part gives it away
    for r in rows:
        hidden = [c for c in cols if t.cells[(r, c)] == SUPPRESSED]
        assert t.row_totals[r] == SUPPRESSED or len(hidden) != 1
    for c in cols:
        hidden = [r for r in rows if t.cells[(r, c)] == SUPPRESSED]
        assert t.col_totals[c] == SUPPRESSED or len(hidden) != 1


def _agreements(mini: Path, health_tiers: list[str]) -> None:
    path = mini / "partnership.yaml"
    data = yaml.safe_load(path.read_text())
    data["sharing_agreements"].append(
        {"key": "health_isa", "title": "Health data", "tiers": health_tiers, "owner": "health"}
    )
    for src in data["sources"]:
        if src["id"] == "health_ae":
            src["sharing_agreement"] = "health_isa"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_source_not_permitted_at_a_tier_contributes_nothing_there(mini: Path) -> None:
    _agreements(mini, ["operational"])
    build_release(mini)
    cfg = load_config(mini)
    assert cfg.sources_for_tier("strategic") == ["police_crimes"]
    scope = source_scope(cfg, Tier.STRATEGIC)
    assert scope.note == (
        "Figures at the strategic tier exclude health data: the sharing agreements for "
        "A&E attendances (health_ae) do not permit its use at this tier."
    )
    assert source_scope(cfg, Tier.OPERATIONAL).note is None
    operational = current_overview(mini, Tier.OPERATIONAL)
    strategic = current_overview(mini, Tier.STRATEGIC)
    assert "exclusions" not in operational
    assert strategic["exclusions"]["sources"] == [
        {"source": "health_ae", "agency": "health", "dataset": "A&E attendances"}
    ]
    assert [s["source"] for s in strategic["sources"]] == ["police_crimes"]
    assert {s["source"] for s in operational["sources"]} == {"police_crimes", "health_ae"}


def test_scope_views_hide_excluded_rows_from_every_table(mini: Path) -> None:
    import duckdb

    from joinedup.disclosure import scope_release
    from joinedup.release import open_current

    _agreements(mini, ["operational"])
    build_release(mini)
    scope = source_scope(load_config(mini), Tier.STRATEGIC)
    con = open_current(mini).connect()
    before = con.execute("SELECT count(*) FROM person").fetchone()[0]
    scope_release(con, scope)
    for table in ("record", "identity", "record_person", "event", "event_person", "source"):
        sources = {r[0] for r in con.execute(f"SELECT DISTINCT source FROM {table}").fetchall()}
        assert sources <= {"police_crimes"}, table
    after = con.execute("SELECT count(*) FROM person").fetchone()[0]
    assert after < before  # Zoe White is known to health only
    orphan = con.execute(
        "SELECT count(*) FROM event_exploitation WHERE event_id NOT IN "
        "(SELECT event_id FROM event_person)"
    ).fetchone()[0]
    assert orphan == 0
    con.close()
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(open_current(mini).db_path), read_only=True).execute(
            "CREATE TABLE x (a INT)"
        )
