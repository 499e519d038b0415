"""Checks of partnership.yaml's ``participation:`` entries (issue 20, item 2) against the
rest of the configuration, run by :func:`joinedup.config.load.load_config` with its other
cross-checks; and the file each entry reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from joinedup.config.participation import ParticipationSource
from joinedup.errors import Problem

if TYPE_CHECKING:
    from joinedup.config.model import PartnershipConfig

__all__ = ["participation_file", "participation_problems"]


def participation_problems(
    cfg: PartnershipConfig, base: Path, *, outside: Callable[[Path, str], Path | None]
) -> list[Problem]:
    """Cross-checks of ``participation:``: unique ids, declared agencies and agreements,
    a file inside the partnership folder that exists (``outside`` says where a path that
    leaves the folder leads: :func:`joinedup.config.load.outside_folder_problems`' rule)."""
    problems: list[Problem] = []
    agencies = {a.id for a in cfg.agencies}
    agreements = {a.key for a in cfg.sharing_agreements}
    seen: set[str] = {s.id for s in cfg.sources}
    for i, p in enumerate(cfg.participation):
        where = f"participation[{i}] ({p.id})"
        if p.id in seen:
            problems.append(
                Problem(f"{where}.id", f"'{p.id}' is used more than once (sources included)")
            )
        seen.add(p.id)
        if p.agency not in agencies:
            problems.append(
                Problem(
                    f"{where}.agency",
                    f"'{p.agency}' is not a declared agency; add it under 'agencies' or use "
                    f"one of: {', '.join(sorted(agencies))}",
                )
            )
        if p.sharing_agreement not in agreements:
            problems.append(
                Problem(
                    f"{where}.sharing_agreement",
                    f"'{p.sharing_agreement}' is not a declared sharing agreement; declared: "
                    f"{', '.join(sorted(agreements))}",
                )
            )
        if p.format != "xlsx" and p.sheet != 0:
            problems.append(Problem(f"{where}.sheet", "'sheet' applies only to xlsx files"))
        leads_to = outside(base, p.file)
        if leads_to is not None:
            problems.append(
                Problem(
                    f"{where}.file",
                    f"'{p.file}' is outside the partnership folder (it leads to {leads_to}); "
                    "put the file inside the partnership folder and give its path relative "
                    "to that folder",
                )
            )
        elif participation_file(base, p) is None:
            problems.append(
                Problem(
                    f"{where}.file",
                    f"no file matches '{p.file}' in {base}; check the path (relative to the "
                    "partnership folder)",
                )
            )
    return problems


def participation_file(base: Path, p: ParticipationSource) -> Path | None:
    """The file a participation source reads (the last match by name inside the
    partnership folder), or None."""
    pattern = p.file
    if Path(pattern).is_absolute():
        found = sorted(Path(pattern).parent.glob(Path(pattern).name))
    else:
        found = sorted(Path(base).glob(pattern))
    inside = Path(base).resolve()
    files = [c for c in found if c.is_file() and c.resolve().is_relative_to(inside)]
    return files[-1] if files else None
