"""Answers through disclosure control: thresholds, rounding, rates from published counts,
tiers, person-level lists, and change since the previous release."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from joinedup.disclosure import DisclosurePolicy, Tier
from joinedup.insight import QuestionError, read_answer
from joinedup.views.answers import protect_answer

sys.path.insert(0, str(Path(__file__).parent))
from conftest import build_insight_release, compute_insight_on  # noqa: E402


@pytest.fixture(scope="module")
def con(insight_release: Path):
    c = duckdb.connect(str(insight_release), read_only=True)
    yield c
    c.close()


def rows(protected: dict) -> dict:
    return {r.get("category", r.get("split")): r for r in protected["rows"]}


def test_small_counts_hidden_with_their_rates(con) -> None:
    a = read_answer(con, "disproportionality", by="ethnicity")
    shown = rows(protect_answer(a, Tier.STRATEGIC))
    assert shown["Total"]["count"] == "c"  # 4 children in all: everything is small
    assert shown["White"]["rate"] == "c" and shown["White"]["rate_low"] == "c"
    open_ = rows(protect_answer(a, Tier.STRATEGIC, policy=DisclosurePolicy(threshold=0)))
    assert open_["White"]["count"] == 2 and open_["White"]["denominator"] == 350
    assert open_["White"]["rate"] == round(2 / 350 * 10_000, 2)
    assert open_["White"]["rate_low"] < open_["White"]["rate"] < open_["White"]["rate_high"]
    assert open_["Black"]["rate_ratio"] == round((1 / 50) / (4 / 500), 2)


def test_rates_come_from_rounded_counts(con) -> None:
    a = read_answer(con, "disproportionality", by="ethnicity")
    shown = rows(protect_answer(a, Tier.STRATEGIC, policy=DisclosurePolicy(0, rounding_base=5)))
    assert shown["Total"]["count"] == 5  # 4 rounds to 5
    assert shown["Total"]["rate"] == round(5 / 500 * 10_000, 2)


def test_tiers_and_medians(con) -> None:
    a = read_answer(con, "first_agency_to_record_concern")
    with pytest.raises(QuestionError, match="community tier"):
        protect_answer(a, Tier.COMMUNITY)
    hidden = protect_answer(a, Tier.OPERATIONAL)["rows"][-1]
    assert hidden["count"] == "c" and hidden["days_to_second_agency"] is None
    shown = protect_answer(a, Tier.OPERATIONAL, policy=DisclosurePolicy(0))["rows"][-1]
    assert shown["count"] == 5 and shown["days_to_second_agency"] == 31.0


def test_change_since_previous_release(insight_release: Path, tmp_path: Path) -> None:
    path = build_insight_release(tmp_path / "next.duckdb", with_insight=False)
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM event_exploitation WHERE event_id = 'E9'")  # C4's concern gone
    con.execute(f"ATTACH '{insight_release}' AS prev (READ_ONLY)")
    compute_insight_on(con, previous=("prev", "R-OLD"))
    a = read_answer(con, "children_with_concern", by="exploitation_type")
    assert a.question.previous_release_id == "R-OLD"
    assert a.total.units == 4 and a.total.previous == 5  # Y1 was a child at 16 (issue 14)
    assert a.cells[(None, "Online")].previous == 1 and (None, "Online") not in {
        k for k, v in a.cells.items() if v.units
    }
    out = protect_answer(a, Tier.STRATEGIC, policy=DisclosurePolicy(0))
    assert [c["key"] for c in out["columns"]][:4] == ["category", "count", "previous", "change"]
    assert rows(out)["Total"]["change"] == -1
    assert rows(protect_answer(a, Tier.STRATEGIC))["Total"]["change"] == "c"
    con.close()
