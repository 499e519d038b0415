"""Regions (issue 17): the synthetic region end to end, comparability notes against what
was planted, tampered packs refused, and an attack on the regional totals that fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from joinedup.cli import cli
from joinedup.config.region import PackEntry, RegionConfig
from joinedup.disclosure import DisclosurePolicy, determined_cells, protect_two_way
from joinedup.region import PackRefused, build_region, combine_packs, current_region_release
from joinedup.region.combine import REGION, _combined_cells
from joinedup.region.pack import TOTAL
from joinedup.region.packs import Pack
from joinedup.region.signing import public_key_text, sign, verify
from joinedup.synth.region import PLANTED


def _copy(region: Path, tmp_path: Path) -> Path:
    out = tmp_path / "region"
    shutil.copytree(region, out, ignore=shutil.ignore_patterns("partnerships", "releases"))
    return out


def test_every_planted_difference_is_noted_and_no_other(synth_region_built: Path) -> None:
    rel = current_region_release(synth_region_built)
    found = {(n["authority"], n["pack"], n["kind"], n["field"]) for n in rel["notes"]}
    planted = {(p["authority"], p["pack"], p["kind"], p["field"]) for p in PLANTED}
    assert found == planted
    # each note sits beside the figures of its authority, and names the gap
    coding = next(n for n in rel["notes"] if n["kind"] == "coding")
    assert coding["value"] < coding["benchmark"] - 0.25
    q = next(q for q in rel["questions"] if q["id"] == "children_with_concern")
    eastmoor = next(r for r in q["rows"] if r["authority"] == "Eastmoor")
    assert [rel["notes"][i]["kind"] for i in eastmoor["notes"]] == ["coding"]
    assert "event.exploitation" in rel["notes"][eastmoor["notes"][0]]["text"]


def test_the_regional_release_has_six_authorities_rates_and_lineage(
    synth_region_built: Path,
) -> None:
    rel = current_region_release(synth_region_built)
    assert [p["pack"] for p in rel["lineage"]] == ["north", "south", "west", "city"]
    assert sum(len(p["authorities"]) for p in rel["lineage"]) == 6
    assert all(len(p["manifest_sha256"]) == 64 and p["release_id"] for p in rel["lineage"])
    q = next(q for q in rel["questions"] if q["id"] == "children_with_concern")
    assert len(q["rows"]) == 6
    for r in q["rows"]:
        assert r["population"] and r["population"] > 1000
        if isinstance(r["count"], int):
            assert r["low"] <= r["rate"] <= r["high"]
        else:
            assert r["count"] == r["rate"] == "c"
    # the local question is shown as a local column of its own partnership only
    assert rel["local"] and {x["pack"] for x in rel["local"]} == {"south"}
    assert all(x["local"] for x in rel["local"])


def test_no_hidden_cell_can_be_worked_out_from_the_region(synth_region_built: Path) -> None:
    # The attacker holds the regional release and every pack: every relation between
    # their cells, every number shown. No hidden cell follows from them.
    rel = current_region_release(synth_region_built)
    values, rels, _ = _combined_cells_of(synth_region_built)
    hidden = {k for k, v in values.items() if v is None}  # hidden in a pack
    for q in rel["questions"]:  # ... or in the regional release
        qid = q["id"]
        shown = {}
        for r in q["rows"]:
            shown[(qid, r["pack"], r["authority"], TOTAL)] = r["count"]
            shown.update({(qid, r["pack"], r["authority"], c): v for c, v in r["by_type"].items()})
        for p in q["partnerships"]:
            shown[(qid, p["pack"], TOTAL, TOTAL)] = p["count"]
            shown.update({(qid, p["pack"], TOTAL, c): v for c, v in p["by_type"].items()})
        shown[(qid, REGION, TOTAL, TOTAL)] = q["region"]["count"]
        shown.update({(qid, REGION, TOTAL, c): v for c, v in q["region"]["by_type"].items()})
        hidden |= {k for k, v in shown.items() if v == "c" and k in values}
    assert hidden
    zeros = dict.fromkeys(values, 0)
    assert determined_cells(zeros, hidden, rels) == set()


def _combined_cells_of(region: Path):
    from joinedup.config.region import load_region
    from joinedup.region import read_pack

    cfg = load_region(region)
    return _combined_cells([read_pack(e, region) for e in cfg.packs])


# --- the attack: one authority's small count, the regional total, the other packs --------

POLICY = DisclosurePolicy(threshold=5)
CATS = ("CSE", "CCE and county lines")


def _pack(pid: str, truth: dict[str, dict[str, int]]) -> Pack:
    """A pack as the pack writer makes it: the authority x type table protected with its
    margins (the partnership's totals), only the published numbers kept."""
    auths = list(truth)
    t = protect_two_way(
        {(a, c): truth[a][c] for a in auths for c in CATS}, POLICY, rows=auths, cols=list(CATS)
    )

    def row(a: str, c: str, v: object) -> dict[str, object]:
        return {"question_id": "q", "question": "Q?", "unit": "children", "authority": a,
                "breakdown": "" if c == TOTAL else "exploitation_type", "category": c,
                "count": None if v == "c" else v, "hidden": v == "c"}  # fmt: skip

    rows = [row(a, c, t.cells[(a, c)]) for a in auths for c in CATS]
    rows += [row(a, TOTAL, t.row_totals[a]) for a in auths]
    rows += [row(TOTAL, c, t.col_totals[c]) for c in CATS]
    rows.append(row(TOTAL, TOTAL, t.total))
    entry = PackEntry(id=pid, name=pid, path=pid, public_key="ed25519:" + "A" * 43 + "=")
    manifest = {"partnership": pid, "authorities": auths, "release_id": "r", "threshold": 5}
    tables = {"answers": rows, "local": [], "population": [], "quality": [], "sources": []}
    return Pack(entry, Path(pid), manifest, "0" * 64, tables)


TRUTH = {
    "p1": {"Alpha": {"CSE": 3, "CCE and county lines": 40}},  # Alpha's CSE: the target
    "p2": {
        "Beta": {"CSE": 30, "CCE and county lines": 25},
        "Gamma": {"CSE": 22, "CCE and county lines": 18},
    },
    "p3": {"Delta": {"CSE": 17, "CCE and county lines": 31}},
}  # fmt: skip
TARGET = ("q", "p1", "Alpha", "CSE")


def _attacker_can_find(values, rels, extra_shown: dict | None = None) -> bool:
    """Exact linear algebra over every published number: is the target determined?"""
    shown = {**values, **(extra_shown or {})}
    hidden = {k for k, v in shown.items() if v is None}
    assert TARGET in hidden
    return TARGET in determined_cells(dict.fromkeys(shown, 0), hidden, rels)


def test_an_attack_on_a_suppressed_cell_through_the_regional_total_fails() -> None:
    packs = [_pack(pid, t) for pid, t in TRUTH.items()]
    entries = [
        {"id": p.id, "name": p.id, "path": p.id, "public_key": p.entry.public_key} for p in packs
    ]
    cfg = RegionConfig.model_validate({"region": {"name": "R"}, "packs": entries})
    rel = combine_packs(cfg, packs)
    values, rels, computed = _combined_cells(packs)
    q = rel["questions"][0]
    published = {k: v for k, v in values.items() if k not in computed}
    for c, shown in q["region"]["by_type"].items():
        published[("q", REGION, TOTAL, c)] = None if shown == "c" else shown
    published[("q", REGION, TOTAL, TOTAL)] = (
        None if q["region"]["count"] == "c" else q["region"]["count"]
    )
    # Alpha's CSE count is hidden in its pack, and not recoverable from what is published
    assert values[TARGET] is None
    assert not _attacker_can_find(published, rels)
    # Control: a region that published its true CSE total (what it would if packs carried
    # true counts) gives the count away to the same attacker, so the test can fail.
    true_cse = sum(t[a]["CSE"] for t in TRUTH.values() for a in t)
    naive = {**published, ("q", REGION, TOTAL, "CSE"): true_cse}
    assert _attacker_can_find(naive, rels)


# --- tampering ---------------------------------------------------------------------------


def test_a_pack_with_one_number_changed_is_refused(
    synth_region_built: Path, tmp_path: Path
) -> None:
    region = _copy(synth_region_built, tmp_path)
    path = region / "packs" / "west" / "answers.parquet"
    rows = pq.read_table(path).to_pylist()
    victim = next(r for r in rows if r["count"] is not None and r["count"] > 0)
    victim["count"] += 1
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)
    with pytest.raises(PackRefused) as err:
        build_region(region)
    text = str(err.value)
    assert "Pack 'west'" in text and "answers.parquet does not match the SHA-256" in text
    assert "joinedup pack DIR" in text
    result = CliRunner().invoke(cli, ["region", "build", str(region)])
    assert result.exit_code == 1
    assert "answers.parquet does not match" in result.output
    assert not (region / "releases").exists()  # nothing built
    # the refusal is in the region's audit log, twice (library and command)
    from joinedup.region.audit import region_state

    with region_state(region) as state:
        refused = state.audit.entries(actions=["refuse_pack"])
        assert [e.target for e in refused] == ["west", "west"]
        assert "does not match the SHA-256" in refused[0].detail["reason"]
        assert not state.audit.entries(actions=["region_build"], newest_first=False)[1:]


def test_a_pack_whose_manifest_was_rewritten_to_match_is_refused(
    synth_region_built: Path, tmp_path: Path
) -> None:
    region = _copy(synth_region_built, tmp_path)
    folder = region / "packs" / "city"
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["answers.parquet"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    with pytest.raises(PackRefused, match="not signed by the key region.yaml holds"):
        build_region(region)


def test_signatures_only_verify_with_the_partnerships_key() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    sig = sign(key, b"manifest")
    assert verify(public_key_text(key), b"manifest", sig)
    assert not verify(public_key_text(other), b"manifest", sig)
    assert not verify(public_key_text(key), b"manifest!", sig)


# --- the commands on bad input ------------------------------------------------------------


def test_region_commands_say_what_to_do(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["region", "build", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "joinedup region init" in result.output
    result = runner.invoke(cli, ["region", "init", str(tmp_path / "r"), "--name", "Test region"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["region", "build", str(tmp_path / "r")])
    assert result.exit_code == 1 and "packs" in result.output
    (tmp_path / "r" / "region.yaml").write_text(
        "region: {name: R}\npacks:\n- {id: a, name: A, path: packs/a, public_key: nope}\n"
    )
    result = runner.invoke(cli, ["region", "build", str(tmp_path / "r")])
    assert result.exit_code == 1 and "packs.0.public_key" in result.output
    result = runner.invoke(cli, ["pack", str(tmp_path / "r")])
    assert result.exit_code == 1 and "partnership.yaml" in result.output


def test_publishing_a_pack_is_audited(synth_region_built: Path) -> None:
    from joinedup.state import open_state

    with open_state(synth_region_built / "partnerships" / "north") as state:
        actions = [e.action for e in state.audit.entries()]
        assert "publish_pack" in actions


def test_every_region_key_is_documented() -> None:
    from pydantic import BaseModel

    doc = (Path(__file__).parent.parent / "docs" / "region.md").read_text(encoding="utf-8")
    missing: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            if f"`{name}`" not in doc:
                missing.append(prefix + name)
            ann = info.annotation
            for arg in (ann, *getattr(ann, "__args__", ())):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    walk(arg, f"{prefix}{name}.")

    walk(RegionConfig, "")
    assert not missing, f"undocumented region.yaml keys in docs/region.md: {missing}"


def test_region_builds_and_pack_reads_are_in_a_tamper_evident_log(
    synth_region_built: Path, tmp_path: Path
) -> None:
    from joinedup.region.audit import region_state

    rel = current_region_release(synth_region_built)
    with region_state(synth_region_built) as state:
        (built,) = state.audit.entries(actions=["region_build"])
        assert built.target == rel["release_id"]
        assert built.detail["packs"] == ["north", "south", "west", "city"]
        reads = state.audit.entries(actions=["read_pack"], newest_first=False)
        assert [e.target for e in reads] == ["north", "south", "west", "city"]
        by_pack = {p["pack"]: p["manifest_sha256"] for p in rel["lineage"]}
        assert all(e.detail["manifest_sha256"] == by_pack[e.target] for e in reads)
        assert state.audit.verify().ok
    result = CliRunner().invoke(cli, ["audit", "verify", str(synth_region_built)])
    assert result.exit_code == 0, result.output
    # one entry changed afterwards: the chain says so
    region = _copy(synth_region_built, tmp_path)
    import sqlite3

    with sqlite3.connect(region / "state" / "joinedup.sqlite") as db:
        db.execute("DROP TRIGGER audit_log_no_update")  # an attacker with the file itself
        db.execute(
            "UPDATE audit_log SET target = 'south' WHERE action = 'read_pack' AND target = 'north'"
        )
    result = CliRunner().invoke(cli, ["audit", "verify", str(region)])
    assert result.exit_code != 0
