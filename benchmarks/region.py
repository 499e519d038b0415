"""Regional build at scale (issue 17): six partnerships' packs as a 1M-record partnership
publishes them, combined into a regional release; then 150 authorities (a national
picture) the same way.

A pack holds aggregates: its size depends on authorities x questions x types of
exploitation (and sources x quality measures), not on records. A partnership of 1M
records (about 100,000 people) publishes the same tables as one of 1,000, with larger
counts; so the packs here are written with that shape and counts of that size, signed
with real keys, and the region verifies, reads and combines them exactly as in use. The
partnerships' own builds are measured by benchmarks/synth_build.py and linkage.py.

Baseline in the same run: verifying and reading the packs alone (signatures, hashes,
Parquet); the ratio is the whole regional build over it.

Run: .venv/bin/python benchmarks/region.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from joinedup.config.region import load_region
from joinedup.region import build_region, read_pack
from joinedup.region.pack import TOTAL, TYPE, seal_pack
from joinedup.region.signing import public_key_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, write_section  # noqa: E402

QUESTIONS = 11  # the shared-core questions with an authority breakdown
TYPES = ("CSE", "CCE and county lines", "Online", "Trafficking and modern slavery", "Other",
         "Type not stated")  # fmt: skip
AGENCY_TYPES = ("police", "childrens_social_care", "health", "education", "youth_justice",
                "voluntary", "other", "adult_social_care")  # fmt: skip


CSC = "childrens_social_care"


def _tables(rng: random.Random, authorities: list[str], people: int) -> dict[str, list[dict]]:
    answers = []
    for q in range(QUESTIONS):
        qid = f"question_{q:02d}"
        for a in [*authorities, TOTAL]:
            scale = people // 40 if a != TOTAL else people // 20
            cells = {c: rng.randint(0, scale) for c in TYPES}
            for c, v in cells.items():
                small = 1 <= v <= 5
                row = {"question_id": qid, "question": f"Question {q}?", "unit": "children"}
                answers.append({**row, "authority": a, "breakdown": TYPE, "category": c,
                                "count": None if small else v, "hidden": small})  # fmt: skip
            row = {"question_id": qid, "question": f"Question {q}?", "unit": "children"}
            answers.append({**row, "authority": a, "breakdown": "", "category": TOTAL,
                            "count": sum(cells.values()), "hidden": False})  # fmt: skip
    population = [{"authority": a, "age": g, "people": people // 25} for a in authorities
                  for g in range(25)]  # fmt: skip
    sources = [{"source": f"s{i}", "agency": f"a{i}", "agency_type": t,
                "authority": authorities[i % len(authorities)] if t == CSC else "",
                "local_codes": 0, "local_parents": ""}
               for i, t in enumerate(AGENCY_TYPES)]  # fmt: skip
    quality = [{"source": s["source"], "dimension": "completeness", "measure": "filled",
                "field": f"field_{f}", "value": 0.9, "numerator": 90_000, "denominator": 100_000}
               for s in sources for f in range(40)]  # fmt: skip
    for s in sources:
        quality.append({"source": s["source"], "dimension": "completeness", "measure": "filled",
                        "field": "event.exploitation", "value": 0.8, "numerator": 80_000,
                        "denominator": 100_000})  # fmt: skip
    return {"answers": answers, "local": [], "population": population, "quality": quality,
            "sources": sources}  # fmt: skip


def make_region(root: Path, partnerships: int, per: int) -> Path:
    rng = random.Random(17)
    entries = []
    for p in range(partnerships):
        pid = f"p{p:03d}"
        authorities = [f"Authority {p:03d}-{i}" for i in range(per)]
        key = Ed25519PrivateKey.generate()
        folder = root / "packs" / pid
        folder.mkdir(parents=True)
        facts = {"partnership": pid, "authorities": authorities, "release_id": "r",
                 "period": None, "taxonomy_version": "2026.1", "tier": "strategic", "threshold": 5,
                 "published_by": "benchmark",
                 "published_at": "2026-12-04T00:00:00+00:00"}  # fmt: skip
        seal_pack(folder, _tables(rng, authorities, 100_000), facts, key)
        entries.append({"id": pid, "name": pid, "path": f"packs/{pid}",
                        "public_key": public_key_text(key)})  # fmt: skip
    (root / "region.yaml").write_text(
        yaml.safe_dump({"region": {"name": "Benchmark"}, "packs": entries}), encoding="utf-8"
    )
    return root


def timed(region: Path) -> tuple[float, float]:
    cfg = load_region(region)
    start = time.perf_counter()
    for e in cfg.packs:
        read_pack(e, region)
    verify = time.perf_counter() - start
    start = time.perf_counter()
    build_region(region)
    return verify, time.perf_counter() - start


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = (
            ("warm-up (not reported)", 2, 2),
            ("6 partnerships of 1M records, 12 authorities", 6, 2),
            ("national: 75 partnerships, 150 authorities", 75, 2),
        )
        for label, partnerships, per in cases:
            region = make_region(Path(tmp) / f"r{partnerships}", partnerships, per)
            verify, build = timed(region)
            if partnerships > 2:
                rows.append((label, verify, build))
            print(f"{label}: verify+read {verify:.2f}s, regional build {build:.2f}s "  # noqa: T201
                  f"({build / verify:.1f}x)")  # fmt: skip
    body = [
        f"Measured on {machine()} with `.venv/bin/python benchmarks/region.py`. Each pack has "
        f"the tables of a 1M-record partnership ({QUESTIONS} questions x authorities x "
        f"{len(TYPES)} types, 8 sources x 41 quality measures), signed with Ed25519.",
        "",
        "| Region | Verify and read packs (baseline) | Whole regional build | Ratio |",
        "|---|---|---|---|",
    ]
    body += [f"| {lbl} | {v:.2f} s | {b:.2f} s | {b / v:.1f}x |" for lbl, v, b in rows]
    write_section("region", "\n".join(body))


if __name__ == "__main__":
    main()
