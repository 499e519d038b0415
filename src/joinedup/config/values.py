"""Configuration for values a mapping derives, and for identifiers a partnership declares
(issue 13): derived values of a field, term dates, identifier kinds and place keywords.

A field (:class:`joinedup.config.model.FieldSpec`) takes its value from a column, several
columns or a constant, or from one of the *derived* origins here: the first non-blank of
several columns (``first_of``), their concatenation (``concat``), a composite id that
keeps each part (``parts``), the row number (``row_number``), a date from an academic
year and a term (``academic_year`` with ``term``) or from its parts (``date_parts``).
The text may then be narrowed: a match of a ``pattern`` (``postcode`` finds a UK postcode
inside an address), one ``item`` of a ``split`` list, and an inline ``values`` map.
Everything is compiled to DuckDB SQL by :mod:`joinedup.sources.derive`; nothing here is
SQL written by a partnership.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from joinedup.errors import Problem

__all__ = [
    "BUILTIN_PATTERNS",
    "DERIVED_ORIGINS",
    "RESERVED_ID_KINDS",
    "DateParts",
    "IdentifierKind",
    "PlaceKeywords",
    "TermDates",
    "ValueOptions",
    "derived_columns",
    "pattern_problem",
    "value_problems",
]

#: Origins of a field's value besides ``column``, ``columns`` and ``value``.
DERIVED_ORIGINS = ("first_of", "concat", "parts", "academic_year", "date_parts", "row_number")

#: Patterns known by name. ``postcode``: a UK postcode anywhere in free text, in any case,
#: with or without its space (the last one when there are several).
BUILTIN_PATTERNS = ("postcode",)

#: Names an identifier kind may not take: the identifiers joinedup knows itself.
RESERVED_ID_KINDS = frozenset(
    {"nhs_number", "upn", "pnc_id", "local_id", "postcode", "probabilistic", "singleton"}
)

PlaceType = Literal[
    "home",
    "other_residential",
    "school",
    "park",
    "takeaway",
    "shop",
    "hotel",
    "transport",
    "street",
    "licensed_premises",
    "leisure",
    "online",
    "other",
]

# RE2 (DuckDB's regular expressions) has no look-around and no back-references
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a regular expression here, or None."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"not a valid regular expression ({exc})"
    if _NOT_RE2.search(pattern):
        return (
            "uses look-ahead, look-behind or a back-reference, which the database's "
            "regular expressions do not support; rewrite it without them"
        )
    if compiled.groups > 1:
        return "has more than one group in brackets; keep one group around the part to take"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateParts(_Strict):
    """A date read from separate columns: ``year``, ``month`` (a number or a month name)
    and optionally ``day`` (default: the 1st)."""

    year: str
    month: str
    day: str | None = None


def _yaml_text(v: Any) -> Any:
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, int | float):
        return str(v)
    return v


class ValueOptions(_Strict):
    """The derived-value options of a field (a base of ``FieldSpec``)."""

    first_of: list[str] | None = None
    concat: list[str] | None = None
    parts: list[str] | None = None
    sep: str | None = None
    academic_year: str | None = None
    term: str | None = None
    date_parts: DateParts | None = None
    row_number: bool | None = None
    pattern: str | None = None
    item: int | None = None
    values: dict[str, str] | None = None
    keywords: bool | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is None or v in BUILTIN_PATTERNS:
            return v
        problem = pattern_problem(v)
        if problem is not None:
            raise ValueError(f"'pattern' {problem}; or use a built-in pattern: postcode")
        return v

    @field_validator("values", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {_yaml_text(k): "" if val is None else _yaml_text(val) for k, val in v.items()}
        return v

    @model_validator(mode="after")
    def _derived_options(self) -> ValueOptions:
        for key in ("first_of", "concat", "parts"):
            cols = getattr(self, key)
            if cols is not None and not cols:
                raise ValueError(f"'{key}' must list at least one column")
        if self.sep is not None and self.concat is None and self.parts is None:
            raise ValueError("'sep' applies only with 'concat' or 'parts'")
        if (self.academic_year is None) != (self.term is None):
            raise ValueError("give 'academic_year' and 'term' together: a term needs its year")
        if self.row_number is not None and self.row_number is not True:
            raise ValueError("'row_number' can only be true")
        if self.item is not None and (self.item == 0 or getattr(self, "split", None) is None):
            raise ValueError("'item' needs 'split', and counts from 1 (or from -1, the last)")
        dated = self.academic_year is not None or self.date_parts is not None
        if dated and getattr(self, "formats", None) is not None:
            raise ValueError("'formats' does not apply to a date made from parts or a term")
        if self.keywords is not None and getattr(self, "crosswalk", None) is not None:
            raise ValueError("give 'keywords' or 'crosswalk', not both")
        return self


def derived_columns(spec: ValueOptions) -> list[str]:
    """The columns a field's derived origin reads, in order (none for a plain field)."""
    out: list[str] = []
    for key in ("first_of", "concat", "parts"):
        out += getattr(spec, key) or []
    if spec.academic_year is not None:
        out.append(spec.academic_year)
    if spec.term is not None:
        out.append(spec.term)
    if spec.date_parts is not None:
        dp = spec.date_parts
        out += [c for c in (dp.year, dp.month, dp.day) if c is not None]
    return out


def _term_keys(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(_yaml_text(k)).strip().lower(): _yaml_text(val) for k, val in v.items()}
    return v


def _mm_dd(v: str) -> str:
    import datetime as dt

    try:
        dt.date.fromisoformat(f"2000-{v}")  # a leap year: 02-29 is a possible term start
    except ValueError:
        raise ValueError(
            f"'{v}' is not a month and day: write the day a term starts as 'MM-DD', "
            "e.g. '09-01' for 1 September"
        ) from None
    return v


TermStart = Annotated[str, AfterValidator(_mm_dd)]
#: Term name (matched case-insensitively) -> the month and day it starts, ``MM-DD``.
TermDates = Annotated[dict[str, TermStart], BeforeValidator(_term_keys)]


class IdentifierKind(_Strict):
    """An identifier a partnership uses beyond the UK ones joinedup knows (a regional
    child id, a national insurance number, a foreign social security number)."""

    name: str | None = None
    scope: Literal["shared", "agency"]
    check: Literal["none", "mod11", "luhn", "nino", "regex"] = "none"
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        problem = None if v is None else pattern_problem(v)
        if problem is not None:
            raise ValueError(f"'pattern' {problem}")
        return v

    @model_validator(mode="after")
    def _rule(self) -> IdentifierKind:
        if (self.check == "regex") != (self.pattern is not None):
            raise ValueError("'pattern' goes with 'check: regex', and 'check: regex' needs one")
        return self


class PlaceKeywords(_Strict):
    """Words in a free-text location that give its place type (``keywords: true``)."""

    builtin: bool = True
    keywords: dict[PlaceType, list[str]] = Field(default_factory=dict)


def value_problems(cfg: Any) -> list[Problem]:
    """Problems with derived values and identifiers that need the whole configuration:
    term dates not declared, identifier kinds not declared, options on the wrong field."""
    problems: list[Problem] = []
    kinds = cfg.identifier_kinds
    for name in sorted(set(kinds) & RESERVED_ID_KINDS):
        problems.append(
            Problem(
                f"identifier_kinds.{name}",
                f"'{name}' is an identifier joinedup knows already; map it under 'identity' "
                "or give the kind another name",
            )
        )
    for i, src in enumerate(cfg.sources):
        where = f"sources[{i}] ({src.id})"
        for path, spec in src.field_specs().items():
            if spec.term is not None and not cfg.term_dates:
                problems.append(
                    Problem(
                        f"{where}.{path}.term",
                        "a date from an academic year and a term needs the term dates: "
                        "declare them under 'term_dates' in partnership.yaml "
                        "(e.g. autumn: '09-01', spring: '01-05', summer: '04-20')",
                    )
                )
            if spec.keywords is not None and path != "place.type":
                problems.append(
                    Problem(f"{where}.{path}.keywords", "'keywords' applies only to place.type")
                )
            if spec.row_number is not None and path not in ("record.id", "event.id"):
                problems.append(
                    Problem(
                        f"{where}.{path}.row_number",
                        "'row_number' applies only to record.id and event.id",
                    )
                )
        for kind in src.identity.ids:
            if kind not in kinds:
                declared = ", ".join(sorted(kinds)) or "none"
                problems.append(
                    Problem(
                        f"{where}.identity.ids.{kind}",
                        f"no identifier kind named '{kind}'; declare it under "
                        f"'identifier_kinds' (declared: {declared})",
                    )
                )
    return problems
