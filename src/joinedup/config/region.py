"""region.yaml: the partnerships whose regional packs a region combines (issue 17).

A region holds no child's record. Its folder holds ``region.yaml``, the packs the
partnerships deliver into it (each a folder of Parquet files and a signed manifest) and
the regional releases built from them. ``region.yaml`` names each pack's folder and the
public key the region knows for that partnership: a pack whose signature does not verify
with that key is refused.

.. code-block:: yaml

    region:
      name: Midshire Regional Exploitation Partnership
    packs:
      - id: north
        name: Northby and Eastmoor Safeguarding Partnership
        path: packs/north
        public_key: ed25519:1n2Jx...  # printed by `joinedup pack DIR`
    disclosure: {threshold: 5}
    comparability: {coding_gap: 0.25, coding_ratio: 0.4}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from joinedup.errors import ConfigError

__all__ = [
    "REGION_FILE",
    "ComparabilityConfig",
    "PackEntry",
    "RegionConfig",
    "RegionDisclosure",
    "load_region",
    "region_yaml",
]

REGION_FILE = "region.yaml"

_ID = r"^[a-z][a-z0-9_]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionInfo(_Strict):
    name: str = Field(min_length=1, max_length=200)


class PackEntry(_Strict):
    """One partnership's pack: where it is delivered and the key it is signed with."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    path: str = Field(min_length=1)
    public_key: str = Field(pattern=r"^ed25519:[A-Za-z0-9+/=]{40,60}$")
    share_local: bool = True


class RegionDisclosure(_Strict):
    """The region's own threshold: never below the strictest pack's."""

    threshold: int = Field(default=5, ge=1, le=100)


class ComparabilityConfig(_Strict):
    """When a recording difference is worth a note beside an authority's figure."""

    coding_gap: float = Field(default=0.25, gt=0, lt=1)
    coding_ratio: float = Field(default=0.4, gt=0, lt=1)
    source_share: float = Field(default=0.5, gt=0, le=1)


class RegionConfig(_Strict):
    region: RegionInfo
    packs: list[PackEntry] = Field(min_length=1)
    disclosure: RegionDisclosure = RegionDisclosure()
    comparability: ComparabilityConfig = ComparabilityConfig()

    @model_validator(mode="after")
    def _unique(self) -> RegionConfig:
        ids = [p.id for p in self.packs]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"pack ids must be unique; repeated: {', '.join(dupes)}")
        return self


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(x) for x in loc) or "(top level)"


def load_region(region_dir: Path) -> RegionConfig:
    """``REGION_DIR/region.yaml`` validated; every problem reported at once."""
    path = Path(region_dir) / REGION_FILE
    if not path.is_file():
        raise ConfigError(
            f"{path} does not exist. Run `joinedup region init {region_dir}` to write one, "
            "then list the partnerships' packs in it."
        )
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{path} is not valid YAML{line}: fix the indentation or quoting."
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping with region: and packs: sections.")
    try:
        return RegionConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"- {_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(
            f"{path} has {len(lines)} problem(s):\n" + "\n".join(lines) + "\n"
            "See docs/region.md for every key."
        ) from None


def region_yaml(name: str) -> str:
    """The region.yaml that ``joinedup region init`` writes: no packs yet."""
    return (
        "# A region combines the partnerships' regional packs (docs/region.md).\n"
        "# No child's record comes here: each pack holds protected figures only.\n"
        "region:\n"
        f"  name: {yaml.safe_dump(name, default_style=None).splitlines()[0]}\n"
        "packs: []\n"
        "# - id: north                     # a short id: a-z, 0-9, _\n"
        "#   name: North Safeguarding Partnership\n"
        "#   path: packs/north             # where the partnership delivers its pack\n"
        "#   public_key: ed25519:...       # printed by `joinedup pack DIR`\n"
        "#   share_local: true             # show its own questions as local columns\n"
        "disclosure:\n"
        "  threshold: 5                    # never below the strictest pack's\n"
        "comparability:\n"
        "  coding_gap: 0.25                # a coding share this far below the others' median\n"
        "  coding_ratio: 0.4               # ... and below this share of it, gets a note\n"
        "  source_share: 0.5               # a source type most authorities supply\n"
    )
