"""``joinedup synth-region DIR``: a fictional region of six authorities in four
partnerships, with recording differences planted where the region must notice them.

Each partnership is an ordinary synthetic partnership (:func:`joinedup.synth.generate`)
with its authorities renamed; two of the four keep one authority only (as a county and a
city that split into two partnerships). Planted, and written to ``DIR/truth/planted.json``:

- Eastmoor (partnership ``north``) codes exploitation rarely: the exploitation field is
  blanked on most of its children's social care rows;
- Westmere (partnership ``west``) supplies no voluntary-sector data;
- Kingsford (partnership ``south``) records exploitation in a local code list, with
  parents in the shared taxonomy.

``DIR/region.yaml`` names the four packs (``DIR/packs/ID``) without keys: the public keys
are filled in when each partnership publishes its pack.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from joinedup.errors import ConfigError
from joinedup.synth.generator import MIN_PEOPLE, generate

__all__ = ["PARTNERSHIPS", "PLANTED", "RegionPartnership", "generate_region"]

_WEX, _ASH = ("XA0000001", "Wexbury"), ("XA0000002", "Ashdown")


@dataclass(frozen=True)
class RegionPartnership:
    id: str
    name: str
    first: tuple[str, str]  # (code, name) replacing Wexbury
    second: tuple[str, str] | None  # replacing Ashdown; None keeps one authority


_N, _S = "Northby and Eastmoor", "Southwick and Kingsford"
PARTNERSHIPS = (
    RegionPartnership("north", _N, ("XA0000011", "Northby"), ("XA0000012", "Eastmoor")),
    RegionPartnership("south", _S, ("XA0000021", "Southwick"), ("XA0000022", "Kingsford")),
    RegionPartnership("west", "Westmere", ("XA0000031", "Westmere"), None),
    RegionPartnership("city", "Ashby City", ("XA0000041", "Ashby City"), None),
)

#: What was planted: (authority, kind, field) as the comparability notes name them.
PLANTED: tuple[dict[str, str], ...] = (
    {"authority": "Eastmoor", "pack": "north", "kind": "coding", "field": "event.exploitation"},
    {"authority": "Westmere", "pack": "west", "kind": "source", "field": "agency type voluntary"},
    {
        "authority": "Kingsford",
        "pack": "south",
        "kind": "local_codes",
        "field": "event.exploitation (ashdown_csc)",
    },
)

_LOCAL = {
    "local_ks_gang_affiliated": {
        "label": "Gang-affiliated (Kingsford local code)",
        "parent": "cce",
    },
    "local_ks_sexual_risk": {
        "label": "Sexual exploitation risk (Kingsford local code)",
        "parent": "cse",
    },
}
_LOCAL_MAP = {
    "11A": "local_ks_sexual_risk",
    "13A": "local_ks_gang_affiliated",
    "24A": "local_ks_gang_affiliated",
}


def _rename(text: str, p: RegionPartnership) -> str:
    pairs = [(_WEX, p.first)] + ([(_ASH, p.second)] if p.second else [])
    for (old_code, old_name), (code, name) in pairs:
        text = text.replace(old_code, code)
        text = (
            re.sub(rf"\b{old_name} and Ashdown\b", p.name, text) if old_name == "Wexbury" else text
        )
        text = text.replace(old_name, name)
    return text


def _edit_yaml(folder: Path, p: RegionPartnership) -> None:
    path = folder / "partnership.yaml"
    cfg: dict[str, Any] = yaml.safe_load(_rename(path.read_text(encoding="utf-8"), p))
    cfg["partnership"]["name"] = f"{p.name} Safeguarding Partnership"
    drop: set[str] = set()
    # the base partnership's own local codes are folded into their parents, so that the
    # only local code list in the region is the one planted below
    ext = cfg.get("taxonomy_extensions", {}).pop("exploitation_type", {})
    for cw in cfg.get("crosswalks", {}).values():
        if cw.get("list") == "exploitation_type" and cw.get("codes"):
            cw["codes"] = {k: ext[v]["parent"] if v in ext else v for k, v in cw["codes"].items()}
    if p.second is None:
        cfg["authorities"] = [a for a in cfg["authorities"] if a["code"] == p.first[0]]
        drop |= {a["id"] for a in cfg["agencies"] if a.get("authority") not in (None, p.first[0])}
    if p.id == "west":
        drop |= {a["id"] for a in cfg["agencies"] if a["type"] == "voluntary"}
    if p.id == "south":
        cfg.setdefault("taxonomy_extensions", {}).setdefault("exploitation_type", {}).update(_LOCAL)
        cfg["crosswalks"]["ashdown_factors"]["codes"].update(_LOCAL_MAP)
    cfg["agencies"] = [a for a in cfg["agencies"] if a["id"] not in drop]
    cfg["sources"] = [s for s in cfg["sources"] if s["agency"] not in drop]
    # surveys run by a dropped agency go with it (issue 20's participation data)
    if cfg.get("participation"):
        cfg["participation"] = [x for x in cfg["participation"] if x["agency"] not in drop]
        if not cfg["participation"]:
            del cfg["participation"]
    cfg.setdefault("build", {})["max_drop_share"] = 1.0
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _rarely_coded(folder: Path, seed: int, keep: float = 0.1) -> None:
    """Blank the exploitation field on most rows of the second authority's children's
    social care extract (a plain UTF-8 CSV)."""
    rng = random.Random(f"{seed}:rarely-coded")
    for path in sorted((folder / "extracts" / "ashdown_csc").glob("*.csv")):
        raw = path.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(raw, newline="")))
        col = rows[0].index("Risk_Factors")
        for row in rows[1:]:
            if len(row) > col and row[col] and rng.random() > keep:
                row[col] = ""
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\r\n" if "\r\n" in raw else "\n").writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8", newline="")


#: South's own question: shared with the region as a local column.
_LOCAL_QUESTION = """\
id: local_repeat_missing
question: How many children went missing three times or more (our local measure)?
definition: >
  Distinct children with three or more missing episodes that started before they were
  18, by home authority. Southwick and Kingsford's own measure of repeat missing.
unit: children
sql: |
  WITH m AS (
    SELECT person_id, start_date AS event_date,
      count(*) OVER (PARTITION BY person_id) AS episodes
    FROM missing_episode WHERE age_at_event < 18
  )
  SELECT m.person_id AS unit_id, h.authority AS authority, m.event_date
  FROM m LEFT JOIN person_home h ON h.person_id = m.person_id
  WHERE m.episodes >= 3
breakdowns:
  authority: Home local authority
tiers: [strategic, operational]
depends_on: [police]
"""


def _region_yaml(name: str) -> str:
    packs = [
        {"id": p.id, "name": f"{p.name} Safeguarding Partnership", "path": f"packs/{p.id}"}
        for p in PARTNERSHIPS
    ]
    body = yaml.safe_dump(
        {"region": {"name": name}, "packs": packs}, sort_keys=False, allow_unicode=True
    )
    return (
        "# A FICTIONAL region made by `joinedup synth-region`. Each pack's public_key is\n"
        "# added when its partnership publishes it (`joinedup pack`).\n" + body
    )


def generate_region(out_dir: Path, *, people: int = 300, seed: int = 42) -> dict[str, Any]:
    """Write the region: ``DIR/partnerships/ID/`` (four synthetic partnerships),
    ``DIR/region.yaml`` and ``DIR/truth/planted.json``. Returns what was written."""
    if people < MIN_PEOPLE:
        raise ConfigError(f"people must be at least {MIN_PEOPLE} per partnership.")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "region.yaml").is_file():
        raise ConfigError(
            f"{out_dir} is not empty and holds no region.yaml: choose a new or empty folder."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    folders = {}
    for i, p in enumerate(PARTNERSHIPS):
        folder = out_dir / "partnerships" / p.id
        generate(folder, people=people, seed=seed * 10 + i)
        for geo in sorted((folder / "geography").glob("*")):
            if geo.suffix in (".csv", ".geojson"):
                geo.write_text(_rename(geo.read_text(encoding="utf-8"), p), encoding="utf-8")
        _edit_yaml(folder, p)
        if p.id == "north":
            _rarely_coded(folder, seed)
        if p.id == "south":
            (folder / "questions").mkdir(exist_ok=True)
            (folder / "questions" / "local_repeat_missing.yaml").write_text(
                _LOCAL_QUESTION, encoding="utf-8"
            )
        folders[p.id] = folder
    (out_dir / "region.yaml").write_text(_region_yaml("Midshire Region (fictional)"), "utf-8")
    truth = out_dir / "truth"
    truth.mkdir(exist_ok=True)
    (truth / "planted.json").write_text(json.dumps(list(PLANTED), indent=1) + "\n", "utf-8")
    return {"region_dir": out_dir, "partnerships": folders, "planted": list(PLANTED)}
