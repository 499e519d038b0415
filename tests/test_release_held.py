"""ReleasesHeldOpen: the web server keeps recently used releases open (read-only)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.release import open_current
from joinedup.release.store import ReleasesHeldOpen
from joinedup.web import create_app


def test_held_releases_are_the_current_ones_and_at_most_keep(synth_built: Path, tmp_path) -> None:
    held = ReleasesHeldOpen(keep=1)
    handle = held.open_current(synth_built)
    assert handle.release_id == open_current(synth_built).release_id
    assert held.held() == [handle.db_path]
    con = handle.connect()  # a connection of the caller's own, to the open database
    assert con.execute("SELECT count(*) FROM person").fetchall()[0][0] > 0
    con.close()
    other = tmp_path / "other"
    shutil.copytree(synth_built, other)
    second = held.open_current(other)
    assert held.held() == [second.db_path]  # the least recently used was let go
    held.close()
    assert held.held() == []


def test_a_serving_app_holds_the_release_it_shows(synth_built: Path, tmp_path) -> None:
    root = tmp_path / "p"
    shutil.copytree(synth_built, root)
    app = create_app(root, hold_releases=True)
    client = TestClient(app)
    sign_in(client, "analyst", username="held-analyst")
    assert client.get("/overview.json").status_code == 200
    assert app.state.releases.held() == [open_current(root).db_path]
    app.state.releases.close()
    app.state.governance.close()
