"""``joinedup region build``: the regional release, combined from verified packs.

It combines aggregates, never records: for every shared-core question, each authority's
count (as its partnership published it), its rate per 10,000 residents of the ages the
question counts with a 95% (Wilson) interval, and how it sits in a funnel around the
regional rate; each partnership's total; the region's totals (the sum of the
partnerships' published totals) with disclosure control re-applied across the whole
combined table (:func:`~joinedup.region.protect.secure_published`); comparability notes
(:mod:`~joinedup.region.notes`); local columns; and the release's lineage (which packs,
which releases, when). The release is one JSON file under ``REGION_DIR/releases/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joinedup.access.audit import cli_actor
from joinedup.config.region import RegionConfig, load_region
from joinedup.errors import ReleaseError
from joinedup.region.audit import audit_region, audit_region_many, region_state
from joinedup.region.notes import comparability_notes, recording_of
from joinedup.region.pack import AGES, TOTAL
from joinedup.region.packs import Pack, PackRefused, read_pack
from joinedup.region.protect import Relation, secure_published
from joinedup.views import SUPPRESSED

__all__ = [
    "PER",
    "REGION",
    "build_region",
    "combine_packs",
    "current_region_release",
    "funnel_limits",
    "wilson",
]

PER = 10_000
REGION = "Region"
_Z95, _Z998 = 1.959964, 3.090232

Key = tuple[str, str, str, str]  # question, pack (or REGION), authority (or Total), category


def wilson(count: int, n: int, z: float = _Z95) -> tuple[float, float]:
    p = count / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def funnel_limits(p0: float, n: int) -> dict[str, float]:
    """Control limits per :data:`PER` around the regional proportion ``p0`` for a
    population ``n`` (normal approximation to the binomial, as in Spiegelhalter's funnel)."""
    sd = math.sqrt(max(p0 * (1 - p0), 0.0) / n)
    return {
        "low95": max(0.0, (p0 - _Z95 * sd) * PER),
        "high95": (p0 + _Z95 * sd) * PER,
        "low998": max(0.0, (p0 - _Z998 * sd) * PER),
        "high998": (p0 + _Z998 * sd) * PER,
    }


def _people(pack: Pack, authority: str, unit: str) -> int | None:
    ages = AGES.get(unit)
    if ages is None:
        return None
    lo, hi = ages
    n = sum(
        r["people"] for r in pack.tables["population"]
        if r["authority"] == authority and lo <= r["age"] <= hi
    )  # fmt: skip
    return n or None


def _pub(x: int | None) -> int | str:
    return SUPPRESSED if x is None else x


def _combined_cells(
    packs: list[Pack],
) -> tuple[dict[Key, int | None], list[Relation[Key]], set[Key]]:
    """Every pack's cells side by side, the region's totals and every relation a reader
    could use between them."""
    values: dict[Key, int | None] = {}
    for p in packs:
        for r in p.tables["answers"]:
            values[(r["question_id"], p.id, r["authority"], r["category"])] = r["count"]
    rels: list[Relation[Key]] = []
    computed: set[Key] = set()
    questions = sorted({k[0] for k in values})
    for q in questions:
        cats = sorted({k[3] for k in values if k[0] == q})
        for p in packs:
            auths = sorted({k[2] for k in values if k[0] == q and k[1] == p.id and k[2] != TOTAL})
            for c in cats:
                parts = tuple((q, p.id, a, c) for a in auths if (q, p.id, a, c) in values)
                if (q, p.id, TOTAL, c) in values and parts:
                    rels.append(Relation((q, p.id, TOTAL, c), parts))
            for a in [*auths, TOTAL]:
                parts = tuple(
                    (q, p.id, a, c) for c in cats if c != TOTAL and (q, p.id, a, c) in values
                )
                if parts and (q, p.id, a, TOTAL) in values:
                    rels.append(Relation((q, p.id, a, TOTAL), parts))
        for c in cats:
            parts = tuple((q, p.id, TOTAL, c) for p in packs if (q, p.id, TOTAL, c) in values)
            if not parts:
                continue  # a partnership without a category counted no child in it
            key: Key = (q, REGION, TOTAL, c)
            sums = [values[k] for k in parts]
            values[key] = None if any(v is None for v in sums) else sum(v or 0 for v in sums)
            computed.add(key)
            rels.append(Relation(key, parts))
        region_parts = tuple(
            (q, REGION, TOTAL, c) for c in cats if c != TOTAL and (q, REGION, TOTAL, c) in values
        )
        typed = {
            p.id for p in packs if any((q, p.id, TOTAL, c) in values for c in cats if c != TOTAL)
        }
        whole = {p.id for p in packs if (q, p.id, TOTAL, TOTAL) in values}
        # the region's total is the sum of its types only when every pack breaks it down
        if region_parts and (q, REGION, TOTAL, TOTAL) in values and typed == whole:
            rels.append(Relation((q, REGION, TOTAL, TOTAL), region_parts))
    return values, rels, computed


def _rate(count: int | None, people: int | None) -> dict[str, Any]:
    if not people:
        return {"rate": None, "low": None, "high": None}
    if count is None:
        return {"rate": SUPPRESSED, "low": SUPPRESSED, "high": SUPPRESSED}
    lo, hi = wilson(min(count, people), people)
    return {
        "rate": round(count / people * PER, 1),
        "low": round(lo * PER, 1),
        "high": round(hi * PER, 1),
    }


def combine_packs(cfg: RegionConfig, packs: list[Pack]) -> dict[str, Any]:
    """The regional release (JSON-ready) from verified packs."""
    threshold = max(
        [cfg.disclosure.threshold, *(int(p.manifest.get("threshold", 0)) for p in packs)]
    )
    values, rels, computed = _combined_cells(packs)
    hidden = secure_published(values, rels, threshold, computed=computed)
    shown: dict[Key, int | None] = {k: (None if k in hidden else v) for k, v in values.items()}
    recordings = [
        recording_of(
            a, p.id, p.tables["sources"], p.tables["quality"], int(p.manifest.get("threshold", 5))
        )
        for p in packs
        for a in p.manifest["authorities"]
    ]
    notes = comparability_notes(recordings, cfg.comparability)
    questions = []
    meta: dict[str, tuple[str, str]] = {}
    for p in packs:
        for r in p.tables["answers"]:
            meta.setdefault(r["question_id"], (r["question"], r["unit"]))
    for q in sorted(meta):
        text, unit = meta[q]
        cats = [c for c in sorted({k[3] for k in values if k[0] == q}) if c != TOTAL]
        rows = []
        for p in packs:
            for a in p.manifest["authorities"]:
                if (q, p.id, a, TOTAL) not in values:
                    continue
                count = shown[(q, p.id, a, TOTAL)]
                people = _people(p, a, unit)
                rows.append(
                    {
                        "authority": a,
                        "pack": p.id,
                        "partnership": p.manifest["partnership"],
                        "count": _pub(count),
                        "population": people,
                        **_rate(count, people),
                        "by_type": {
                            c: _pub(shown.get((q, p.id, a, c)))
                            for c in cats
                            if (q, p.id, a, c) in values
                        },
                        "notes": [
                            i for i, n in enumerate(notes) if n.authority == a and n.pack == p.id
                        ],
                    }
                )
        shown_rows = [r for r in rows if isinstance(r["count"], int) and r["population"]]
        n_all = sum(r["population"] for r in shown_rows)
        k_all = sum(r["count"] for r in shown_rows)
        p0 = k_all / n_all if n_all else None
        for r in rows:
            r["compared"] = None
            if p0 is not None and isinstance(r["count"], int) and r["population"]:
                lim = funnel_limits(p0, r["population"])
                rate = r["count"] / r["population"] * PER
                r["limits"] = {k: round(v, 1) for k, v in lim.items()}
                r["compared"] = (
                    "higher"
                    if rate > lim["high95"]
                    else "lower"
                    if rate < lim["low95"]
                    else "similar"
                )
        partnerships = [
            {
                "pack": p.id,
                "partnership": p.manifest["partnership"],
                "count": _pub(shown.get((q, p.id, TOTAL, TOTAL))),
                "by_type": {
                    c: _pub(shown.get((q, p.id, TOTAL, c)))
                    for c in cats
                    if (q, p.id, TOTAL, c) in values
                },
            }
            for p in packs
            if (q, p.id, TOTAL, TOTAL) in values
        ]
        region_total = shown.get((q, REGION, TOTAL, TOTAL))
        questions.append(
            {
                "id": q,
                "question": text,
                "unit": unit,
                "categories": cats,
                "rows": rows,
                "partnerships": partnerships,
                "region": {
                    "count": _pub(region_total) if (q, REGION, TOTAL, TOTAL) in values else None,
                    "by_type": {
                        c: _pub(shown.get((q, REGION, TOTAL, c)))
                        for c in cats
                        if (q, REGION, TOTAL, c) in values
                    },
                    "benchmark_rate": None if p0 is None else round(p0 * PER, 1),
                    "benchmark_population": n_all or None,
                    "benchmark_authorities": len(shown_rows),
                },
            }
        )  # fmt: skip
    local = []
    for p in packs:
        if not p.entry.share_local:
            continue
        for r in p.tables["local"]:
            local.append({"pack": p.id, "partnership": p.manifest["partnership"], "local": True,
                          "question_id": r["question_id"], "question": r["question"],
                          "authority": r["authority"], "count": _pub(r["count"])})  # fmt: skip
    return {
        "region": cfg.region.name,
        "threshold": threshold,
        "suppressed": SUPPRESSED,
        "per": PER,
        "questions": questions,
        "notes": [n.as_dict() for n in notes],
        "recording": [
            {
                "authority": r.authority,
                "pack": r.pack,
                "coding_share": r.coding_share,
                "coding_at_most": r.coding_at_most,
                "coding_records": r.coding_records,
                "agency_types": sorted(r.agency_types),
            }
            for r in recordings
        ],  # fmt: skip
        "local": local,
        "lineage": [
            {
                "pack": p.id,
                "partnership": p.manifest["partnership"],
                "authorities": p.manifest["authorities"],
                "release_id": p.manifest["release_id"],
                "period": p.manifest.get("period"),
                "taxonomy_version": p.manifest.get("taxonomy_version"),
                "published_by": p.manifest.get("published_by"),
                "published_at": p.manifest.get("published_at"),
                "manifest_sha256": p.manifest_sha256,
            }
            for p in packs
        ],
    }


def build_region(
    region_dir: Path,
    *,
    now: Callable[[], dt.datetime] | None = None,
    actor: str | None = None,
) -> tuple[str, Path]:
    """Verify every pack of region.yaml, combine them and publish the regional release
    (written whole, then made current): (release id, path). Each pack read or refused and
    the build are written to the region's audit log (``joinedup.region.audit``) as
    ``actor`` (default: the command line's user)."""
    region_dir = Path(region_dir)
    cfg = load_region(region_dir)
    who = actor or cli_actor()
    with region_state(region_dir) as state:
        packs = []
        for entry in cfg.packs:
            try:
                packs.append(read_pack(entry, region_dir))
            except PackRefused as exc:
                audit_region(
                    None, state=state, actor=who, action="refuse_pack", target=entry.id,
                    detail={"path": str(entry.path), "reason": str(exc)},
                )  # fmt: skip
                raise
        release_id, path = _publish(region_dir, cfg, packs, now)
        audit_region_many(
            None,
            [
                {
                    "actor": who,
                    "action": "read_pack",
                    "target": p.entry.id,
                    "detail": {
                        "release_id": p.manifest.get("release_id"),
                        "manifest_sha256": p.manifest_sha256,
                        "regional_release": release_id,
                    },
                }
                for p in packs
            ]
            + [
                {
                    "actor": who,
                    "action": "region_build",
                    "target": release_id,
                    "detail": {"packs": [p.entry.id for p in packs]},
                }
            ],
            state=state,
        )
    return release_id, path


def _publish(
    region_dir: Path,
    cfg: RegionConfig,
    packs: list[Pack],
    now: Callable[[], dt.datetime] | None,
) -> tuple[str, Path]:
    release = combine_packs(cfg, packs)
    stamp = (now or (lambda: dt.datetime.now(dt.UTC)))().replace(microsecond=0)
    digest = hashlib.sha256("".join(p.manifest_sha256 for p in packs).encode()).hexdigest()
    release_id = f"{stamp.strftime('%Y%m%dT%H%M%SZ')}-{digest[:6]}"
    release = {"release_id": release_id, "built_at": stamp.isoformat(), **release}
    folder = region_dir / "releases" / release_id
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "release.json.tmp"
    tmp.write_text(json.dumps(release, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / "release.json")
    pointer = region_dir / "releases" / "CURRENT.tmp"
    pointer.write_text(release_id + "\n", encoding="utf-8")
    os.replace(pointer, region_dir / "releases" / "CURRENT")
    return release_id, folder / "release.json"


def current_region_release(region_dir: Path) -> dict[str, Any]:
    """The region's current release."""
    pointer = Path(region_dir) / "releases" / "CURRENT"
    if not pointer.is_file():
        raise ReleaseError(
            f"{region_dir} has no regional release yet: run `joinedup region build {region_dir}`."
        )
    release_id = pointer.read_text(encoding="utf-8").strip()
    data: dict[str, Any] = json.loads(
        (Path(region_dir) / "releases" / release_id / "release.json").read_text(encoding="utf-8")
    )
    return data
