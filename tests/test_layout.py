"""The package reads as the flow of data (docs/architecture.md): rules read from imports.

Every module under ``src/joinedup`` is parsed with ``ast``; its imports (at module level
and inside functions) are edges between modules. The flow of rooms is written once, in
:data:`FLOW`; docs/architecture.md explains it and must name exactly the packages there are.
"""

from __future__ import annotations

import ast
import re
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "joinedup"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: The rooms in flow order, earlier first. A module may import its own room, the
#: foundations and earlier rooms, never a later one. Rooms on one step are peers.
FLOW: tuple[tuple[str, ...], ...] = (
    ("joinedup", "errors", "taxonomy", "config", "state"),  # foundations
    ("sources",),
    ("quality",),
    ("linkage",),
    ("release",),
    ("insight",),
    ("pipeline",),
    ("disclosure",),
    ("views",),
    ("access",),
    ("present",),
    ("region",),  # issue 17: packs and the regional release (views -> region -> outputs)
    ("web", "report", "export"),  # the outputs: none imports another
    ("cli",),
)
#: The outputs: they take figures from views/ only.
OUTPUTS = frozenset({"web", "report", "export"})
#: Rooms no output may import: figures leave the store only through views/.
FIGURE_ROOMS = frozenset({"insight", "disclosure"})
#: Rooms only the web app may use, for operations (uploads, builds, publishing).
OPERATIONS = frozenset({"release", "pipeline"})
#: synth/ stands beside the flow (anyone may use it): it plays the agencies, who know
#: nothing of joinedup, so it imports the foundations alone.
SYNTH_MAY_IMPORT = frozenset({"synth", "joinedup", "errors", "taxonomy", "config"})

DISCLOSURE_MAX_LINES = 1000  # disclosure/ in total: below this
MODULE_MAX_LINES = 600  # any one module: at most this
MEDIAN_RANGE = (100, 300)  # the median module: within this

STEP = {room: i for i, rooms in enumerate(FLOW) for room in rooms}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. joinedup.views.overview
    path: Path
    is_package: bool

    @property
    def room(self) -> str:
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else parts[0]

    @property
    def lines(self) -> int:
        return len(self.path.read_text(encoding="utf-8").splitlines())

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


@cache
def modules() -> dict[str, Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(parts)
        out[name] = Module(name, path, is_package)
    return out


def _imported(mod: Module) -> Iterator[str]:
    """Every joinedup module ``mod`` imports, anywhere in its code."""
    known = modules()
    package = mod.name if mod.is_package else mod.name.rpartition(".")[0]
    tree = ast.parse(mod.path.read_text(encoding="utf-8"), filename=str(mod.path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield sub if sub in known else target


@cache
def edges() -> frozenset[tuple[str, str]]:
    """(importer, imported) between joinedup modules, a module importing itself left out."""
    known = modules()
    out = set()
    for mod in known.values():
        for target in _imported(mod):
            if target != mod.name and (target == "joinedup" or target.startswith("joinedup.")):
                # ``import joinedup.a.b`` with no such module still names the room
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                out.add((mod.name, target))
    return frozenset(out)


def room(name: str) -> str:
    return modules()[name].room


def _edge(a: str, b: str) -> str:
    return f"{modules()[a].rel} imports {b}"


# --- the rules: each returns its offenders -------------------------------------------------


def rooms_not_in_the_flow() -> list[str]:
    rooms = {m.room for m in modules().values()} - {"synth"}
    return [f"{r}/ is in no step of FLOW (tests/test_layout.py)" for r in sorted(rooms - set(STEP))]


def later_room_imports() -> list[str]:
    out = []
    for a, b in sorted(edges()):
        ra, rb = room(a), room(b)
        if ra == rb or ra == "synth" or ra not in STEP or rb == "synth":
            continue  # synth/ stands beside the flow: anyone may use it
        if rb not in STEP or STEP[rb] > STEP[ra]:
            out.append(f"{_edge(a, b)}: {rb}/ comes after {ra}/ in the flow")
    return out


def output_imports_output() -> list[str]:
    return [
        f"{_edge(a, b)}: an output never imports another output (share it through present/)"
        for a, b in sorted(edges())
        if room(a) in OUTPUTS and room(b) in OUTPUTS and room(a) != room(b)
    ]


def output_imports_figures() -> list[str]:
    out = []
    for a, b in sorted(edges()):
        ra, rb = room(a), room(b)
        if ra not in OUTPUTS:
            continue
        if rb in FIGURE_ROOMS:
            out.append(f"{_edge(a, b)}: outputs take figures from views/ only")
        elif rb in OPERATIONS and ra != "web":
            out.append(f"{_edge(a, b)}: only web/ uses {rb}/, and for operations only")
    return out


def synth_imports() -> list[str]:
    return [
        f"{_edge(a, b)}: synth/ imports only {', '.join(sorted(SYNTH_MAY_IMPORT - {'synth'}))}"
        for a, b in sorted(edges())
        if room(a) == "synth" and room(b) not in SYNTH_MAY_IMPORT
    ]


def mutual_imports() -> list[str]:
    found = edges()
    return [
        f"{modules()[a].rel} and {modules()[b].rel} import each other"
        for a, b in sorted(found)
        if a < b and (b, a) in found
    ]


def disclosure_size() -> list[str]:
    mods = [m for m in modules().values() if m.room == "disclosure"]
    total = sum(m.lines for m in mods)
    if total < DISCLOSURE_MAX_LINES:
        return []
    sizes = ", ".join(f"{m.rel} {m.lines}" for m in sorted(mods, key=lambda m: -m.lines))
    return [
        f"disclosure/ holds {total} lines (must stay under {DISCLOSURE_MAX_LINES}: rules "
        f"only, page models belong in views/): {sizes}"
    ]


def large_modules() -> list[str]:
    return [
        f"{m.rel} has {m.lines} lines (at most {MODULE_MAX_LINES}: split it at a seam)"
        for m in sorted(modules().values(), key=lambda m: -m.lines)
        if m.lines > MODULE_MAX_LINES
    ]


def median_module() -> list[str]:
    median = statistics.median(m.lines for m in modules().values())
    low, high = MEDIAN_RANGE
    if low <= median <= high:
        return []
    return [f"the median module has {median} lines (should be {low} to {high})"]


def _documented_packages() -> set[str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    match = re.search(r"^## Rooms\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{ARCHITECTURE.relative_to(ROOT)} has no '## Rooms' section"
    return set(re.findall(r"`([a-z_]+)/`", match.group(1)))


def architecture_doc() -> list[str]:
    if not ARCHITECTURE.is_file():
        return [f"{ARCHITECTURE.relative_to(ROOT)} is missing"]
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    named = _documented_packages()
    out = [
        f"docs/architecture.md names {n}/, which is not a package of src/joinedup"
        for n in sorted(named - packages)
    ]
    out += [
        f"src/joinedup/{p}/ is not named in docs/architecture.md's Rooms section"
        for p in sorted(packages - named)
    ]
    return out


RULES: dict[str, Callable[[], list[str]]] = {
    "every room is in the flow": rooms_not_in_the_flow,
    "no room imports a later room": later_room_imports,
    "no output imports another output": output_imports_output,
    "outputs take figures from views only": output_imports_figures,
    "synth imports only the foundations": synth_imports,
    "no two modules import each other": mutual_imports,
    "disclosure holds the rules only": disclosure_size,
    "no module is over 600 lines": large_modules,
    "the median module is 100 to 300 lines": median_module,
    "docs/architecture.md names every package": architecture_doc,
}


@pytest.mark.parametrize("rule", list(RULES), ids=lambda r: r.replace(" ", "-"))
def test_layout(rule: str) -> None:
    offenders = RULES[rule]()
    assert not offenders, f"{rule}: {len(offenders)} offender(s)\n  " + "\n  ".join(offenders)


def test_the_reader_sees_every_import() -> None:
    # The rules are only as good as the import reader: function-level and relative
    # imports count, and ``from package import module`` names the module.
    found = edges()
    assert ("joinedup.views.overview", "joinedup.views.release") in found
    assert ("joinedup.views", "joinedup.views.overview") in found
    local = {
        (a, b)
        for a, b in found
        if a == "joinedup.present.profile" and b == "joinedup.views.questions"
    }
    assert local, "a function-level import (present/profile.py) was not read"
    assert all(room(a) in STEP or room(a) == "synth" for a, _ in found)
