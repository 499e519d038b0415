"""``joinedup pack DIR``: a partnership's regional pack, written from its current release.

A pack is a folder of Parquet files and a signed manifest. It holds protected figures
only, read through :mod:`joinedup.views` at the strategic tier exactly as the
partnership's own pages publish them (no person-level row, no hidden count):

- ``answers.parquet``: each shared-core question (a default question with an authority
  breakdown) by home authority, and by authority and type of exploitation; local types
  counted under their shared parents (the questions count report groups). The tables of
  one question are protected together again (:func:`~joinedup.region.protect.secure_published`)
  so that a total shown in one cannot undo a hidden cell of another.
- ``local.parquet``: the partnership's own questions (its local nuance), marked local.
- ``population.parquet``: residents by authority and age (public statistics, the
  denominators of rates).
- ``quality.parquet``: each source's quality measures, as the quality page shows them.
- ``sources.parquet``: each source's agency type and authority, and how many of its
  exploitation codes map to a local list (rolled up to shared parents).
- ``manifest.json``: the files' SHA-256 hashes, the release, period, taxonomy version,
  who published it and when; ``manifest.sig`` its Ed25519 signature
  (:mod:`joinedup.region.signing`).

Publishing a pack is written to the partnership's audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from joinedup.access.audit import cli_actor
from joinedup.config.model import PartnershipConfig
from joinedup.errors import ConfigError, JoinedupError
from joinedup.region.protect import Relation, secure_published
from joinedup.region.signing import load_or_make_key, public_key_text, sign
from joinedup.state import open_state
from joinedup.views import (
    SUPPRESSED,
    QuestionError,
    Tier,
    current_answer,
    current_quality,
    current_questions,
    open_current_release,
    partnership_config,
    policy_for,
)

__all__ = [
    "FORMAT",
    "PACK_FILES",
    "PackResult",
    "seal_pack",
    "write_pack",
]

FORMAT = "joinedup-regional-pack/1"
PACK_FILES = ("answers", "local", "population", "quality", "sources")
TOTAL = "Total"
TYPE = "exploitation_type"
#: Ages each unit counts, for the population a rate is per.
AGES = {"children": (0, 17), "young adults": (18, 24), "young people": (0, 24)}


@dataclass(frozen=True)
class PackResult:
    folder: Path
    release_id: str
    public_key: str
    questions: int
    files: dict[str, str]


Key = tuple[str, str, str, str]  # question, authority, breakdown ("" for a total), category


def _cells(protected: dict[str, Any], qid: str, breakdown: str) -> dict[Key, int | None]:
    out: dict[Key, int | None] = {}
    for row in protected["rows"]:
        auth = str(row["category"])
        cat = str(row.get("category_b", TOTAL)) if breakdown else TOTAL
        key: Key = (qid, auth, "" if cat == TOTAL else breakdown, cat)
        count = row["count"]
        out[key] = None if count == SUPPRESSED else int(count)
    return out


def _relations(cells: dict[Key, int | None]) -> list[Relation[Key]]:
    rels: list[Relation[Key]] = []
    by_q: dict[str, list[Key]] = {}
    for k in cells:
        by_q.setdefault(k[0], []).append(k)
    for q, keys in by_q.items():
        auths = sorted({k[1] for k in keys if k[1] != TOTAL})
        if auths:
            rels.append(Relation((q, TOTAL, "", TOTAL), tuple((q, a, "", TOTAL) for a in auths)))
        cats = sorted({k[3] for k in keys if k[2] == TYPE})
        for a in auths:
            parts = tuple((q, a, TYPE, c) for c in cats if (q, a, TYPE, c) in cells)
            if parts:
                rels.append(Relation((q, a, "", TOTAL), parts))
        for c in cats:
            parts = tuple((q, a, TYPE, c) for a in auths if (q, a, TYPE, c) in cells)
            if (q, TOTAL, TYPE, c) in cells:
                rels.append(Relation((q, TOTAL, TYPE, c), parts))
        margin = tuple((q, TOTAL, TYPE, c) for c in cats if (q, TOTAL, TYPE, c) in cells)
        if margin:
            rels.append(Relation((q, TOTAL, "", TOTAL), margin))
    return rels


def _core_answers(
    partnership_dir: Path, cfg: PartnershipConfig, threshold: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[dict[str, Any]]]:
    listing = current_questions(partnership_dir, Tier.STRATEGIC, config=cfg)
    cells: dict[Key, int | None] = {}
    meta: dict[str, dict[str, Any]] = {}
    period: dict[str, Any] | None = None
    local_rows: list[dict[str, Any]] = []
    for q in listing["questions"]:
        if not q["available"]:
            continue
        if q["origin"] != "default":
            local_rows += _local(partnership_dir, cfg, q)
            continue
        if "authority" not in q["breakdowns"]:
            continue
        one = current_answer(partnership_dir, q["id"], by="authority", config=cfg)
        period = period or one["period"]
        cells.update(_cells(one, q["id"], ""))
        if TYPE in q["breakdowns"]:
            two = current_answer(partnership_dir, q["id"], by=("authority", TYPE), config=cfg)
            for k, v in _cells(two, q["id"], TYPE).items():
                if k in cells and (cells[k] is None or v is None):
                    cells[k] = None  # hidden in either table: hidden in both
                else:
                    cells.setdefault(k, v)
        meta[q["id"]] = {"question": q["question"], "unit": q["unit"]}
    hidden = secure_published(cells, _relations(cells), threshold)
    rows = [
        {
            "question_id": k[0],
            "question": meta[k[0]]["question"],
            "unit": meta[k[0]]["unit"],
            "authority": k[1],
            "breakdown": k[2],
            "category": k[3],
            "count": None if k in hidden else v,
            "hidden": k in hidden,
        }
        for k, v in cells.items()
    ]
    return rows, period, local_rows


def _local(
    partnership_dir: Path, cfg: PartnershipConfig, q: dict[str, Any]
) -> list[dict[str, Any]]:
    """A partnership's own question, by authority where it has that breakdown."""
    by = "authority" if "authority" in q["breakdowns"] else None
    try:
        ans = current_answer(partnership_dir, q["id"], by=by, config=cfg)
    except QuestionError:
        return []
    out = []
    for row in ans["rows"]:
        if row.get("split") not in (None, TOTAL):
            continue
        count = row["count"]
        out.append(
            {
                "question_id": q["id"],
                "question": q["question"],
                "unit": q["unit"],
                "authority": str(row.get("category", TOTAL)),
                "count": None if count == SUPPRESSED else int(count),
                "hidden": count == SUPPRESSED,
            }
        )
    return out


_POPULATION_SQL = (
    "SELECT au.area_name AS authority, po.age AS age, sum(po.population) AS people "
    "FROM population po "
    "JOIN area sa ON sa.area_code = po.area_code AND sa.area_type = 'small_area' "
    "JOIN area w ON w.area_code = sa.parent_code AND w.area_type = 'ward' "
    "JOIN area au ON au.area_code = w.parent_code AND au.area_type = 'authority' "
    "GROUP BY ALL ORDER BY 1, 2"
)


def _population(partnership_dir: Path) -> list[dict[str, Any]]:
    """Residents by authority and single year of age: public statistics the release
    holds as the denominators of rates (no child's record)."""
    handle = open_current_release(partnership_dir)
    con = handle.connect()
    try:
        rows = con.execute(_POPULATION_SQL).fetchall()
    except Exception:  # noqa: BLE001 - a release without population: no rates
        rows = []
    finally:
        con.close()
    return [{"authority": str(a), "age": int(g), "people": int(n)} for a, g, n in rows if a]


def _quality(partnership_dir: Path, cfg: PartnershipConfig) -> list[dict[str, Any]]:
    page = current_quality(partnership_dir, Tier.STRATEGIC, config=cfg)
    out = []
    for src in page["sources"]:
        for m in src.get("measures", []):
            num, den, val = m.get("numerator"), m.get("denominator"), m.get("value")
            out.append(
                {
                    "source": str(src["source"]),
                    "dimension": str(m.get("dimension")),
                    "measure": str(m.get("measure")),
                    "field": str(m.get("field") or ""),
                    "value": float(val) if isinstance(val, int | float) else None,
                    "numerator": int(num) if isinstance(num, int) else None,
                    "denominator": int(den) if isinstance(den, int) else None,
                }
            )
    return out


def _sources(cfg: PartnershipConfig) -> list[dict[str, Any]]:
    names = {a.code: a.name for a in cfg.authorities}
    agencies = {a.id: a for a in cfg.agencies}
    local = {
        code: (lc.parent or "")
        for code, lc in cfg.taxonomy_extensions.get("exploitation_type", {}).items()
    }
    out = []
    for s in cfg.sources:
        agency = agencies[s.agency]
        crosswalk = None
        if s.event is not None and s.event.exploitation is not None:
            crosswalk = s.event.exploitation.crosswalk
        codes = (cfg.crosswalks[crosswalk].codes or {}) if crosswalk in cfg.crosswalks else {}
        local_codes = sorted({v for v in codes.values() if v in local})
        out.append(
            {
                "source": s.id,
                "agency": agency.id,
                "agency_type": str(agency.type),
                "authority": names.get(agency.authority or "", ""),
                "local_codes": len(local_codes),
                "local_parents": ",".join(sorted({local[c] for c in local_codes})),
            }
        )
    return out


_SCHEMAS: dict[str, pa.Schema] = {
    "answers": pa.schema(
        [
            ("question_id", pa.string()), ("question", pa.string()), ("unit", pa.string()),
            ("authority", pa.string()), ("breakdown", pa.string()), ("category", pa.string()),
            ("count", pa.int64()), ("hidden", pa.bool_()),
        ]
    ),
    "local": pa.schema(
        [
            ("question_id", pa.string()), ("question", pa.string()), ("unit", pa.string()),
            ("authority", pa.string()), ("count", pa.int64()), ("hidden", pa.bool_()),
        ]
    ),
    "population": pa.schema(
        [("authority", pa.string()), ("age", pa.int64()), ("people", pa.int64())]
    ),
    "quality": pa.schema(
        [
            ("source", pa.string()), ("dimension", pa.string()), ("measure", pa.string()),
            ("field", pa.string()), ("value", pa.float64()), ("numerator", pa.int64()),
            ("denominator", pa.int64()),
        ]
    ),
    "sources": pa.schema(
        [
            ("source", pa.string()), ("agency", pa.string()), ("agency_type", pa.string()),
            ("authority", pa.string()), ("local_codes", pa.int64()), ("local_parents", pa.string()),
        ]
    ),
}  # fmt: skip


def _write(folder: Path, name: str, rows: list[dict[str, Any]]) -> str:
    path = folder / f"{name}.parquet"
    table = pa.Table.from_pylist(rows, schema=_SCHEMAS[name])
    pq.write_table(table, path, compression="zstd")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_pack(
    partnership_dir: Path,
    out: Path | None = None,
    *,
    published_by: str | None = None,
    share_local: bool = True,
) -> PackResult:
    """Write the regional pack of the partnership's current release into ``out``
    (default ``DIR/packs/RELEASE``), sign it and record it in the audit log."""
    partnership_dir = Path(partnership_dir)
    cfg = partnership_config(partnership_dir)
    if cfg is None:
        raise ConfigError(
            f"{partnership_dir} has no partnership.yaml: run `joinedup pack` on a "
            "partnership folder with a built release."
        )
    release_id = open_current_release(partnership_dir).release_id
    threshold = policy_for(Tier.STRATEGIC, cfg.disclosure).threshold
    answers, period, local = _core_answers(partnership_dir, cfg, threshold)
    if not answers:
        raise JoinedupError(
            f"Release {release_id} answers no shared-core question by authority at the "
            "strategic tier, so there is nothing to pack. Check its questions with "
            f"`joinedup questions {partnership_dir}`."
        )
    folder = Path(out) if out is not None else partnership_dir / "packs" / release_id
    if folder.exists():
        if not (folder / "manifest.json").is_file():
            raise ConfigError(
                f"{folder} exists and is not a pack: choose an empty folder with --out."
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tables = {
        "answers": answers,
        "local": local if share_local else [],
        "population": _population(partnership_dir),
        "quality": _quality(partnership_dir, cfg),
        "sources": _sources(cfg),
    }
    key = load_or_make_key(partnership_dir)
    actor = published_by or cli_actor()
    facts = {
        "partnership": cfg.partnership.name,
        "authorities": [a.name for a in cfg.authorities],
        "release_id": release_id,
        "period": period,
        "taxonomy_version": str(cfg.taxonomy_version),
        "tier": Tier.STRATEGIC.value,
        "threshold": threshold,
        "published_by": actor,
        "published_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    body = seal_pack(folder, tables, facts, key)
    with open_state(partnership_dir) as state:
        state.audit.append(
            actor=actor,
            action="publish_pack",
            target=release_id,
            detail={"folder": str(folder), "manifest_sha256": hashlib.sha256(body).hexdigest()},
            agencies=sorted({a.id for a in cfg.agencies}),
        )
    questions = len({r["question_id"] for r in answers})
    files = json.loads(body)["files"]
    return PackResult(folder, release_id, public_key_text(key), questions, files)


def seal_pack(
    folder: Path,
    tables: dict[str, list[dict[str, Any]]],
    facts: dict[str, Any],
    key: Ed25519PrivateKey,
) -> bytes:
    """Write the tables as Parquet, and the manifest (``facts``, the public key and the
    files' hashes) with its signature; returns the manifest's bytes."""
    files = {f"{name}.parquet": _write(folder, name, tables[name]) for name in PACK_FILES}
    manifest = {"format": FORMAT, **facts, "public_key": public_key_text(key), "files": files}
    body = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    (folder / "manifest.json").write_bytes(body)
    (folder / "manifest.sig").write_text(sign(key, body) + "\n", encoding="ascii")
    return body
