"""Sex codes, booleans and formula-like text, in Python and SQL."""

from __future__ import annotations

from collections.abc import Iterable

from joinedup.sources.sqltext import q as _q
from joinedup.sources.sqltext import sql_literal as _sql_literal
from joinedup.sources.sqltext import token as _token

__all__ = [
    "DEFAULT_SEX_CODES",
    "DEFAULT_TRUE_VALUES",
    "bool_sql",
    "is_formula_like",
    "parse_bool",
    "sex_code",
    "sex_macros",
]

DEFAULT_SEX_CODES: dict[str, str] = {
    **dict.fromkeys(["M", "MALE", "1", "MAN", "BOY"], "M"),
    **dict.fromkeys(["F", "FEMALE", "2", "WOMAN", "GIRL"], "F"),
    **dict.fromkeys(
        [
            "U", "0", "9", "X", "I", "UNKNOWN", "NOT KNOWN", "NK", "N/K", "NOT STATED",
            "NOT SPECIFIED", "UNSPECIFIED", "NOT RECORDED", "INDETERMINATE",
            "PREFER NOT TO SAY",
        ],
        "U",
    ),
}  # fmt: skip
"""Sex values (trimmed, whitespace collapsed, upper case) -> F / M / U, for sources that
declare no crosswalk. NHS coding: 1 male, 2 female, 9 not specified, 0 not known."""

DEFAULT_TRUE_VALUES: frozenset[str] = frozenset({"Y", "YES", "TRUE", "T", "1"})


def sex_code(s: str | None) -> str | None:
    """F, M or U from :data:`DEFAULT_SEX_CODES`; ``None`` if blank or not in the table."""
    t = _token(s)
    return None if t is None else DEFAULT_SEX_CODES.get(t)


def _sex_macros() -> list[str]:
    whens = []
    for code in ("M", "F", "U"):
        keys = ", ".join(_q(k) for k, v in DEFAULT_SEX_CODES.items() if v == code)
        whens.append(f"WHEN t IN ({keys}) THEN '{code}'")
    return [
        "CREATE OR REPLACE MACRO ju__sex_t(t) AS CASE " + " ".join(whens) + " END",
        "CREATE OR REPLACE MACRO ju_sex(x) AS ju__sex_t(ju__token(x))",
    ]


def parse_bool(s: str | None, true_values: Iterable[str] | None = None) -> bool | None:
    """``True`` if ``s`` is one of ``true_values`` (compared like :func:`sex_code`),
    ``False`` for any other value, ``None`` if blank."""
    t = _token(s)
    if t is None:
        return None
    trues = {_token(v) for v in (DEFAULT_TRUE_VALUES if true_values is None else true_values)}
    return t in trues


def bool_sql(expr: str, true_values: Iterable[str] | None = None) -> str:
    """A DuckDB expression (BOOLEAN) computing :func:`parse_bool` of ``expr``."""
    trues = sorted(
        {
            v
            for v in map(_token, DEFAULT_TRUE_VALUES if true_values is None else true_values)
            if v is not None
        }
    )
    listed = ", ".join(_sql_literal(v) for v in trues) if trues else "NULL"
    return (
        f"CASE WHEN ju__token({expr}) IS NULL THEN NULL "
        f"ELSE coalesce(ju__token({expr}) IN ({listed}), false) END"
    )


# --------------------------------------------------------------------------- export safety

_FORMULA_STARTS = frozenset("=+-@\t\r")


def is_formula_like(s: str | None) -> bool:
    """Whether a spreadsheet could read ``s`` as a formula (starts with = + - @ tab CR)."""
    return s is not None and s[:1] in _FORMULA_STARTS


sex_macros = _sex_macros
