"""docs/sources.md's cookbook cannot go stale: every recipe's YAML, put in the cookbook's
frame with its sample rows written to the files it names, passes the configuration loader
and `joinedup check --full` (every row mapped, none set aside)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from joinedup.config import load_config
from joinedup.pipeline.check import check_partnership

DOC = Path(__file__).resolve().parents[1] / "docs" / "sources.md"
KINDS = 11  # police crimes and missing, CSC contacts, CIN/RHI, A&E, sexual health,
# education, youth justice, voluntary, adult safeguarding, NRM
_FENCE = re.compile(r"^```(\w+)[ \t]*(\S*)\n(.*?)^```$", re.M | re.S)


def _cookbook() -> tuple[dict[str, Any], list[tuple[str, list[tuple[str, str]], str]]]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Cookbook")
    end = text.index("\n## ", start + 1)
    section = text[start:end]
    head, *parts = re.split(r"^### ", section, flags=re.M)
    frames = [m.group(3) for m in _FENCE.finditer(head) if m.group(1) == "yaml"]
    assert len(frames) == 1, "the cookbook opens with one frame"
    recipes = []
    for part in parts:
        title = part.splitlines()[0]
        blocks = [(m.group(1), m.group(2), m.group(3)) for m in _FENCE.finditer(part)]
        samples = [(path, body) for kind, path, body in blocks if kind == "csv"]
        mappings = [body for kind, _, body in blocks if kind == "yaml"]
        assert samples and all(path for path, _ in samples), f"{title}: a sample names its file"
        assert len(mappings) == 1, f"{title}: one mapping"
        recipes.append((title, samples, mappings[0]))
    return yaml.safe_load(frames[0]), recipes


FRAME, RECIPES = _cookbook()


def test_the_cookbook_has_a_recipe_for_every_kind_of_extract() -> None:
    assert len(RECIPES) == KINDS
    agencies = {a["id"] for a in FRAME["agencies"]}
    used = {s["agency"] for _, _, m in RECIPES for s in yaml.safe_load(m)["sources"]}
    assert used == agencies  # every agency of the frame has its recipe


@pytest.mark.parametrize("title,samples,mapping", RECIPES, ids=[r[0] for r in RECIPES])
def test_recipe_is_valid_and_maps_its_sample(
    tmp_path: Path, title: str, samples: list[tuple[str, str]], mapping: str
) -> None:
    doc = dict(FRAME)
    for key, value in yaml.safe_load(mapping).items():
        assert key not in FRAME, f"{title}: '{key}' belongs to the frame"
        doc[key] = value
    (tmp_path / "partnership.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    for rel, body in samples:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    cfg = load_config(tmp_path)
    assert len(cfg.sources) == len(samples)
    lines = check_partnership(tmp_path, full=True)
    assert not [x for x in lines if "field problems" in x], lines  # samples hold good values
    for source in cfg.sources:
        (line,) = [x for x in lines if x.startswith(f"{source.id}: ")]
        found = re.search(
            r", ([\d,]+) rows.*?: ([\d,]+) mapped, ([\d,]+) filtered, (\d+) to q", line
        )
        assert found, line
        rows, mapped, filtered, quarantined = (int(g.replace(",", "")) for g in found.groups())
        assert quarantined == 0 and mapped + filtered == rows and mapped > 0, line
