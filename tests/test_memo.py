"""Protected figures are remembered per release (disclosure.memo): the same answer while
the release is current, a fresh one when it changes, never shared between callers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from joinedup.disclosure import Tier
from joinedup.release import open_current
from joinedup.views import current_overview
from joinedup.views.memo import clear_memo, per_release

CALLS: list[str] = []


@per_release
def _counted(partnership_dir: Path, tier: Tier, *, label: str = "x", open_release=None):
    CALLS.append(label)
    return {"tier": tier.value, "rows": [1, 2, 3]}


@pytest.fixture()
def partnership(synth_built: Path, tmp_path: Path) -> Path:
    root = tmp_path / "p"
    shutil.copytree(synth_built, root)
    clear_memo()
    CALLS.clear()
    return root


def test_one_computation_per_release_tier_and_choice(partnership: Path) -> None:
    first = _counted(partnership, Tier.STRATEGIC)
    first["rows"].append(99)  # a caller changing its copy changes nothing remembered
    again = _counted(partnership, Tier.STRATEGIC)
    assert again == {"tier": "strategic", "rows": [1, 2, 3]}
    assert CALLS == ["x"]
    _counted(partnership, Tier.COMMUNITY)
    _counted(partnership, Tier.STRATEGIC, label="y")
    assert CALLS == ["x", "x", "y"]


def test_a_changed_release_file_or_config_is_computed_afresh(partnership: Path) -> None:
    _counted(partnership, Tier.STRATEGIC)
    db = open_current(partnership).db_path
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    _counted(partnership, Tier.STRATEGIC)
    config = partnership / "partnership.yaml"
    config.write_text(config.read_text() + "\n")
    _counted(partnership, Tier.STRATEGIC)
    assert CALLS == ["x", "x", "x"]


def test_values_that_are_not_plain_are_never_remembered(partnership: Path) -> None:
    _counted(partnership, Tier.STRATEGIC, label=["not", "plain"])  # type: ignore[arg-type]
    _counted(partnership, Tier.STRATEGIC, label=["not", "plain"])  # type: ignore[arg-type]
    assert len(CALLS) == 2


def test_the_overview_is_the_same_remembered_or_not(partnership: Path) -> None:
    fresh = current_overview(partnership, Tier.STRATEGIC)
    remembered = current_overview(partnership, Tier.STRATEGIC)
    assert remembered == fresh and remembered is not fresh
    clear_memo()
    assert current_overview(partnership, Tier.STRATEGIC) == fresh
