"""The synthetic region end to end: ``joinedup synth-region DIR`` writes the four
fictional partnerships (:func:`joinedup.synth.region.generate_region`), builds each one's
release, publishes each one's pack into the region folder (as each partnership would),
writes each public key into region.yaml, and builds the regional release."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from joinedup.config import load_config
from joinedup.config.region import REGION_FILE
from joinedup.pipeline import build as build_release
from joinedup.region.combine import build_region
from joinedup.region.pack import write_pack
from joinedup.synth.region import generate_region

__all__ = ["register_pack", "synthetic_region"]


def register_pack(region_dir: Path, pack_id: str, public_key: str) -> None:
    """Write a partnership's public key into region.yaml (comments are not kept)."""
    path = Path(region_dir) / REGION_FILE
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in data.get("packs") or []:
        if entry.get("id") == pack_id:
            entry["public_key"] = public_key
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def synthetic_region(
    out_dir: Path,
    *,
    people: int = 300,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Make, build and pack the synthetic region, then build its regional release."""
    say = progress or (lambda _msg: None)
    made = generate_region(Path(out_dir), people=people, seed=seed)
    region_dir: Path = made["region_dir"]
    for pack_id, folder in made["partnerships"].items():
        say(f"building partnership {pack_id}")
        sources = [s.id for s in load_config(folder).sources]
        build_release(folder, accept_drop=sources)  # synthetic: small extracts may be empty
        result = write_pack(folder, region_dir / "packs" / pack_id, published_by="synth-region")
        register_pack(region_dir, pack_id, result.public_key)
    say("building the regional release")
    release_id, path = build_region(region_dir)
    return {**made, "release_id": release_id, "release": path}
