"""``generate``: the one entry point that writes a complete synthetic partnership folder."""

from __future__ import annotations

import csv
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from joinedup.errors import ConfigError
from joinedup.synth.adult_care import write_adult_care
from joinedup.synth.context import Context
from joinedup.synth.education import write_education
from joinedup.synth.geography import build_geography
from joinedup.synth.health import write_health
from joinedup.synth.interventions import write_interventions
from joinedup.synth.justice import write_justice
from joinedup.synth.mapping import partnership_yaml
from joinedup.synth.names import NameBook
from joinedup.synth.outreach import write_outreach
from joinedup.synth.participation import write_participation
from joinedup.synth.people import build_people
from joinedup.synth.police import write_police
from joinedup.synth.scenarios import plan_scenarios
from joinedup.synth.social_care import write_social_care
from joinedup.synth.voluntary import write_voluntary
from joinedup.synth.writer import Truth

__all__ = ["MARKER", "MIN_PEOPLE", "SynthSummary", "generate"]

MARKER = ".joinedup-synth.json"
MIN_PEOPLE = 50
_OWNED = ("extracts", "geography", "truth", "partnership.yaml", MARKER, "participation")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SynthSummary:
    """What ``generate`` wrote."""

    out_dir: Path
    people: int
    scenarios: int
    files: dict[str, int] = field(default_factory=dict)  # extract file -> data rows
    sources: dict[str, int] = field(default_factory=dict)  # source id -> rows (test rows too)
    total_records: int = 0  # rows across all extracts
    scenario_types: dict[str, int] = field(default_factory=dict)


def _prepare(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is a file. Give `joinedup synth` a folder to write into.")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / MARKER).is_file():
            raise ConfigError(
                f"{out_dir} is not empty and was not made by `joinedup synth`, so nothing was "
                "written. Choose a new or empty folder, or a folder made earlier by "
                "`joinedup synth` (which is then regenerated)."
            )
        for name in _OWNED:  # regenerate: remove only what synth wrote before
            path = out_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def generate(
    out_dir: Path,
    *,
    people: int,
    seed: int,
    progress: Progress | None = None,
    reviewers: tuple[str, ...] = (),
) -> SynthSummary:
    """Write a fictional partnership into ``out_dir``: partnership.yaml, geography/,
    extracts/ (one folder per agency, each in its native shape) and truth/.

    The same ``people`` and ``seed`` give byte-identical files. About ten source records
    are written per person (``people=100_000`` gives roughly a million). ``reviewers``
    (the demo's choice) names the roles every sharing agreement lets review links with
    both records' identifying fields shown (``sharing_agreements[].reviewers``).
    """
    if isinstance(people, bool) or not isinstance(people, int) or people < MIN_PEOPLE:
        raise ConfigError(
            f"people must be a whole number of at least {MIN_PEOPLE}; use --people 50 or more."
        )
    out_dir = Path(out_dir)
    _prepare(out_dir)

    def step(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    step("geography", 0, 1)
    geo = build_geography(random.Random(f"{seed}:geography"), people)
    files = geo.write(out_dir / "geography")
    step("geography", 1, 1)
    names = NameBook()
    step("people", 0, people)
    population = build_people(random.Random(f"{seed}:people"), geo, names, people)
    step("people", people, people)
    plan = plan_scenarios(random.Random(f"{seed}:scenarios"), geo, population)
    truth = Truth(out_dir / "truth")
    ctx = Context(out_dir, seed, geo, names, population, plan, truth, progress)
    try:
        for writer in (
            write_police,
            write_social_care,
            write_health,
            write_education,
            write_justice,
            write_voluntary,
            write_outreach,
            write_adult_care,
        ):
            writer(ctx)
    finally:
        truth.close()
    write_interventions(ctx)  # issue 21: after truth/record_person.csv is complete
    _write_scenarios(out_dir / "truth", plan.members, plan.places)
    write_participation(out_dir, geo, plan.places, seed)  # issue 20: children's own maps
    (out_dir / "partnership.yaml").write_text(
        partnership_yaml(geo, seed=seed, people=people, reviewers=reviewers), encoding="utf-8"
    )
    sources = {out.source: out.rows for out in ctx.outs}
    extract_files: dict[str, int] = {}
    for out in ctx.outs:
        extract_files[out.file] = extract_files.get(out.file, 0) + out.rows
    types: dict[str, int] = {}
    for sid, stype in sorted({(m[0], m[1]) for m in plan.members}):
        types[stype] = types.get(stype, 0) + 1
        _ = sid
    marker = {"generator": "joinedup.synth", "people": people, "seed": seed}
    (out_dir / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    step("done", 1, 1)
    return SynthSummary(
        out_dir=out_dir,
        people=people,
        scenarios=plan.count,
        files={**extract_files, **files},
        sources=sources,
        total_records=sum(sources.values()),
        scenario_types=types,
    )


def _write_scenarios(
    folder: Path, members: list[tuple[str, str, str, str]], places: list[tuple[str, str, str]]
) -> None:
    with open(folder / "scenario_members.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["scenario_id", "scenario_type", "person_id", "role"])
        w.writerows(members)
    with open(folder / "scenario_places.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["scenario_id", "place name", "postcode"])
        w.writerows(places)
