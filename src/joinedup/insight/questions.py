"""Questions as data: one YAML file per question (indicator), validated before anything runs.

joinedup ships a default pack (``joinedup/insight/questions/*.yaml``); a partnership adds
its own in ``DIR/questions/*.yaml``. The format is described in ``docs/insight.md``; in
short, a question's ``sql`` returns one row per unit and category (column ``unit_id``
plus one column per breakdown, the split and any values), and joinedup counts distinct
units by each breakdown at build.

:func:`validate_questions` reports every problem in every file at once (it is what
``joinedup check`` runs); :func:`load_questions` raises with them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from joinedup.config.model import AgencyType, TierName
from joinedup.config.purposes import purpose_codes
from joinedup.errors import ConfigError, JoinedupError, Problem

__all__ = [
    "QUESTIONS_DIR",
    "UNITS",
    "Question",
    "QuestionError",
    "QuestionSpec",
    "RateSpec",
    "ValueSpec",
    "default_pack_files",
    "check_questions",
    "default_pack_ids",
    "load_questions",
    "validate_questions",
]

#: Folder of a partnership's own questions, inside the partnership folder.
QUESTIONS_DIR = "questions"

UNITS: tuple[str, ...] = (
    "children",
    "young people",
    "children and young people",
    "persons",
    "persons of concern",
    "events",
    "places",
    "groups",
)
_RESERVED = {"unit_id", "denominator", "split", "category", "units"}
_NAME = r"^[a-z][a-z0-9_]{0,62}$"


class QuestionError(JoinedupError):
    """A question is unknown, not available at a tier, or cannot be answered."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueSpec(_Strict):
    """A numeric column summarised in every cell (the median over the cell's units)."""

    column: str = Field(pattern=_NAME)
    label: str
    summary: Literal["median", "mean"] = "median"


class RateSpec(_Strict):
    """A rate per ``per`` against a denominator (population, or a cohort's size)."""

    per: int = Field(default=10_000, ge=1)
    label: str
    denominator_sql: str
    # breakdowns whose categories all share the denominator of the split (or of the
    # whole) because the denominator does not vary by them, e.g. school outcome
    constant_over: list[str] = []


class QuestionSpec(_Strict):
    id: str = Field(pattern=_NAME)
    question: str = Field(min_length=5)
    definition: str = Field(min_length=5)
    unit: Literal[
        "children",
        "young people",
        "children and young people",
        "persons",
        "persons of concern",
        "events",
        "places",
        "groups",
    ]
    sql: str = Field(min_length=10)
    breakdowns: dict[str, str] = {}
    split: str | None = Field(default=None, pattern=_NAME)
    split_label: str | None = None
    values: list[ValueSpec] = []
    rate: RateSpec | None = None
    tiers: list[TierName] = ["strategic", "operational"]
    caveats: list[str] = []
    depends_on: list[AgencyType] = []
    sort_by_count: list[str] = []
    # issue 20: themes of notes whose scrubbed words may be quoted beside the figure
    # ("*": any theme); see joinedup.views.voices
    voices: list[str] = []
    order: dict[str, list[str]] = {}
    # issue 19, purposes that bind: what the question is for (a code of the taxonomy's
    # purposes.yaml); None takes the default for its unit and tiers (config/purposes.py)
    purpose: str | None = None
    # issue 21: what the figure is for, and the decision or board it informs (shown with it)
    aim: str | None = Field(default=None, max_length=500)
    informs: str | None = Field(default=None, max_length=300)

    @field_validator("breakdowns")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not re.match(_NAME, name) or name in _RESERVED:
                raise ValueError(
                    f"breakdown '{name}' must be a lower-case name (letters, digits, _) "
                    f"and not one of {sorted(_RESERVED)}"
                )
        return v

    def columns(self) -> list[str]:
        """Columns the SQL must return."""
        cols = ["unit_id", *self.breakdowns]
        if self.split:
            cols.append(self.split)
        cols += [v.column for v in self.values]
        return cols


@dataclass(frozen=True)
class Question:
    """A question as loaded: its spec, where it came from and its file's hash."""

    spec: QuestionSpec
    origin: Literal["default", "partnership"]
    file: str
    sha256: str

    @property
    def id(self) -> str:
        return self.spec.id


def default_pack_files() -> list[tuple[str, bytes]]:
    """(file name, bytes) of every question in the default pack, sorted by name."""
    folder = resources.files("joinedup.insight").joinpath("questions")
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith((".yaml", ".yml")):
            out.append((entry.name, entry.read_bytes()))
    return sorted(out)


def default_pack_ids() -> list[str]:
    """Ids of the questions in the default pack (their file names)."""
    return [Path(name).stem for name, _ in default_pack_files()]


def _partnership_files(partnership_dir: Path | None) -> list[tuple[str, bytes]]:
    if partnership_dir is None:
        return []
    folder = Path(partnership_dir) / QUESTIONS_DIR
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [(f"{QUESTIONS_DIR}/{p.name}", p.read_bytes()) for p in files]


def _parse(name: str, data: bytes, origin: str) -> tuple[Question | None, list[Problem]]:
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None, [Problem(name, "is not UTF-8 text; save it as UTF-8")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [Problem(name, f"is not valid YAML{where}; check the indentation")]
    if not isinstance(raw, dict):
        return None, [Problem(name, "must be a mapping of keys (id, question, sql, ...)")]
    try:
        spec = QuestionSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(file)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "is not a key of a question; see docs/insight.md for the keys"
            elif err["type"] == "missing":
                msg = "is required"
            problems.append(Problem(f"{name}: {loc}", msg))
        return None, problems
    stem = Path(name).stem
    problems = []
    if spec.id != stem:
        problems.append(Problem(f"{name}: id", f"must match the file name ('{stem}')"))
    if spec.purpose is not None and spec.purpose not in purpose_codes():  # issue 19
        problems.append(Problem(f"{name}: purpose", "must be one of " + ", ".join(purpose_codes())))
    for key, listed in (("sort_by_count", spec.sort_by_count), ("order", list(spec.order))):
        for b in listed:
            if b not in spec.breakdowns and b != spec.split:
                problems.append(Problem(f"{name}: {key}", f"'{b}' is not a breakdown"))
    if spec.rate:
        for b in spec.rate.constant_over:
            if b not in spec.breakdowns:
                problems.append(Problem(f"{name}: rate.constant_over", f"'{b}' is not a breakdown"))
    sha = hashlib.sha256(data).hexdigest()
    question = Question(spec, "default" if origin == "default" else "partnership", name, sha)
    return question, problems


def _check_select(con: duckdb.DuckDBPyConnection, name: str, key: str, sql: str) -> list[str]:
    """Problems with one SQL text, or its output columns (lower case) when it is good."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise _SqlProblem(
            Problem(f"{name}: {key}", f"is not valid SQL: {_first_line(exc)}")
        ) from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise _SqlProblem(Problem(f"{name}: {key}", "must be exactly one SELECT statement"))
    try:
        rel = con.execute(f"SELECT * FROM ({sql.strip().rstrip(';')}) LIMIT 0")
    except duckdb.Error as exc:
        raise _SqlProblem(
            Problem(
                f"{name}: {key}",
                f"does not run on the release schema: {_first_line(exc)} "
                "(tables and columns are listed in docs/data-model.md)",
            )
        ) from None
    return [str(d[0]).lower() for d in rel.description or []]


class _SqlProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _check_sql(con: duckdb.DuckDBPyConnection, q: Question) -> list[Problem]:
    spec = q.spec
    try:
        cols = _check_select(con, q.file, "sql", spec.sql)
    except _SqlProblem as p:
        return [p.problem]
    problems = []
    missing = [c for c in spec.columns() if c not in cols]
    if missing:
        problems.append(
            Problem(
                f"{q.file}: sql",
                "must return the column(s) "
                + ", ".join(missing)
                + "; it returns "
                + ", ".join(cols),
            )
        )
    if spec.rate:
        try:
            den = _check_select(con, q.file, "rate.denominator_sql", spec.rate.denominator_sql)
        except _SqlProblem as p:
            return [*problems, p.problem]
        allowed = {*spec.breakdowns, *([spec.split] if spec.split else []), "denominator"}
        if "denominator" not in den:
            problems.append(
                Problem(f"{q.file}: rate.denominator_sql", "must return a column 'denominator'")
            )
        extra = [c for c in den if c not in allowed]
        if extra:
            problems.append(
                Problem(
                    f"{q.file}: rate.denominator_sql",
                    "returns column(s) that are not breakdowns: " + ", ".join(extra),
                )
            )
    return problems


def _empty_release() -> duckdb.DuckDBPyConnection:
    from joinedup.release.schema import create_schema_sql

    con = duckdb.connect()
    for sql in create_schema_sql():
        con.execute(sql)
    con.execute("SET enable_external_access = false")
    return con


def _load(partnership_dir: Path | None) -> tuple[list[Question], list[Problem]]:
    questions: list[Question] = []
    problems: list[Problem] = []
    files = [(n, b, "default") for n, b in default_pack_files()]
    files += [(n, b, "partnership") for n, b in _partnership_files(partnership_dir)]
    seen: dict[str, str] = {}
    con = _empty_release()
    try:
        for name, data, origin in files:
            q, found = _parse(name, data, origin)
            problems += found
            if q is None:
                continue
            if q.id in seen:
                problems.append(
                    Problem(
                        f"{name}: id",
                        f"'{q.id}' is already the id of {seen[q.id]}; give the question "
                        "another id (and file name)",
                    )
                )
                continue
            seen[q.id] = name
            found = _check_sql(con, q)
            problems += found
            if not found:
                questions.append(q)
    finally:
        con.close()
    return questions, problems


def validate_questions(partnership_dir: Path | None) -> list[Problem]:
    """Every problem with the default pack and ``DIR/questions/`` (empty when all is well)."""
    return _load(partnership_dir)[1]


def check_questions(partnership_dir: Path) -> str:
    """What ``joinedup check`` says of the questions: one line when every file is valid;
    raises :class:`ConfigError` listing every problem otherwise."""
    partnership_dir = Path(partnership_dir)
    problems = validate_questions(partnership_dir)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) with the questions (default pack and "
            f"{partnership_dir / QUESTIONS_DIR}); see docs/insight.md for the format:",
            problems,
        )
    own = len(list((partnership_dir / QUESTIONS_DIR).glob("*.y*ml")))
    return f"questions: the default pack and {own} of the partnership's own are valid."


def load_questions(partnership_dir: Path | None) -> list[Question]:
    """The default pack and the partnership's own questions; raises on any problem."""
    questions, problems = _load(partnership_dir)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) with the questions; fix them in the files named "
            "(see docs/insight.md):",
            problems,
        )
    return questions


def spec_json(spec: QuestionSpec) -> dict[str, Any]:
    """The parts of a spec the answer reader needs, as stored in ``question.spec``."""
    keys = {"values", "rate", "sort_by_count", "order", "split_label", "voices", "purpose"}
    return spec.model_dump(include=keys | {"aim", "informs"})  # issue 21: aim, informs
