"""Derived values (issue 13): the SQL text of a field whose value is made, not read.

A field's text is built in steps, each a DuckDB expression over the staged row's columns
(so it is computed once, in the mapping's first layer, like any column's text):

1. the origin: ``first_of`` (first non-blank), ``concat`` (non-blank parts joined),
   ``parts`` (a composite id keeping every part: blanks kept as empty, the separator
   escaped inside a part), ``row_number``, ``academic_year`` with ``term`` or
   ``date_parts`` (an ISO date text, or ``?`` when the parts give none, so the date
   parser counts it as a value that failed and the field's problem is recorded);
2. ``pattern``: the text a regular expression matches in it (``postcode`` finds the last
   UK postcode in free text, in any case and spacing);
3. ``split`` with ``item``: one item of a list;
4. ``values``: an inline map of whole values (matched trimmed and case-insensitively;
   values it does not list pass through unchanged, ``''`` empties one).

:func:`keyword_sql` reads a place type from free text by keywords. Nothing here runs SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from joinedup.config.values import DERIVED_ORIGINS, IdentifierKind
from joinedup.config.values import ValueOptions as _Spec
from joinedup.sources.sqltext import WS_CLASS

__all__ = [
    "BAD_DERIVED",
    "BUILTIN_PLACE_KEYWORDS",
    "POSTCODE_IN_TEXT",
    "ValueLookups",
    "derived_text_sql",
    "is_derived",
    "keyword_sql",
    "keyword_type",
    "value_lookups",
]

#: The text a derived date gets when its parts give no date (the date parser rejects it).
BAD_DERIVED = "?"

#: A UK postcode anywhere in free text: outward code, optional spaces, inward code.
POSTCODE_IN_TEXT = (
    r"\b([A-Za-z]{1,2}[0-9][0-9A-Za-z]?" + WS_CLASS + r"*[0-9][ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})\b"
)

#: Place types read from free-text locations, tried in this order (the first whose keyword
#: is a whole word or phrase of the text wins). A partnership's own keywords come first.
BUILTIN_PLACE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("online", ("online", "internet", "social media", "snapchat", "instagram", "facebook",
                "whatsapp", "tiktok", "telegram", "discord", "website")),
    ("hotel", ("hotel", "motel", "travelodge", "premier inn", "b&b", "bed and breakfast",
               "guest house", "guesthouse", "airbnb")),
    ("takeaway", ("mcdonalds", "kfc", "burger king", "subway", "greggs", "dominos", "nandos",
                  "pizza", "chicken", "kebab", "chippy", "fish and chips", "fish bar",
                  "burger", "takeaway", "take away", "fast food")),
    ("leisure", ("leisure centre", "sports centre", "gym", "cinema", "arcade", "bowling",
                 "swimming pool", "youth club", "youth centre", "skate park",
                 "trampoline park", "community centre")),
    ("transport", ("station", "bus stop", "bus shelter", "bus", "train", "railway", "tram",
                   "metro", "underground", "interchange", "taxi rank", "airport")),
    ("school", ("school", "academy", "college", "pupil referral unit", "sixth form")),
    ("licensed_premises", ("pub", "public house", "bar", "nightclub", "night club", "club",
                           "inn", "tavern")),
    ("shop", ("shop", "supermarket", "tesco", "asda", "sainsburys", "aldi", "lidl", "co-op",
              "morrisons", "store", "shopping centre", "mall", "retail park", "newsagent",
              "off licence", "off-licence", "market")),
    ("street", ("car park",)),
    ("other_residential", ("childrens home", "care home", "hostel", "supported accommodation",
                           "supported housing", "foster", "flat", "flats", "bedsit",
                           "trap house", "house")),
    ("park", ("park", "playground", "play area", "recreation ground", "playing field",
              "playing fields", "woods", "woodland", "common", "field", "cemetery")),
    ("street", ("street", "road", "alley", "alleyway", "underpass", "lane", "avenue",
                "footpath", "bridge", "estate", "garages", "high st", "town centre", "st",
                "rd", "ave")),
    ("home", ("home address", "at home", "own home", "family home", "home")),
)  # fmt: skip

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


@dataclass(frozen=True)
class ValueLookups:
    """What derived values and identifier kinds need from the whole configuration."""

    term_dates: tuple[tuple[str, int, int], ...] = ()  # (term, month, day)
    place_keywords: tuple[tuple[str, tuple[str, ...]], ...] = BUILTIN_PLACE_KEYWORDS
    id_kinds: dict[str, IdentifierKind] = field(default_factory=dict)


def value_lookups(cfg: Any) -> ValueLookups:
    """The lookups of a :class:`~joinedup.config.PartnershipConfig`."""
    terms = tuple(
        (name, int(start[:2]), int(start[3:])) for name, start in sorted(cfg.term_dates.items())
    )
    kw = cfg.place_keywords
    own = tuple((t, tuple(words)) for t, words in kw.keywords.items())
    keywords = own + (BUILTIN_PLACE_KEYWORDS if kw.builtin else ())
    return ValueLookups(terms, keywords, dict(cfg.identifier_kinds))


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _col(c: str) -> str:
    return f"nullif(trim({_ident(c)}), '')"


def is_derived(spec: _Spec) -> bool:
    """Whether a field's text is derived (an origin here, or a step after it)."""
    steps = (spec.pattern, spec.item, spec.values)
    return any(getattr(spec, k) is not None for k in DERIVED_ORIGINS) or any(
        s is not None for s in steps
    )


def _parts_sql(cols: list[str], sep: str) -> str:
    def esc(c: str) -> str:
        t = f"coalesce(trim({_ident(c)}), '')"
        return f"replace(replace({t}, '\\', '\\\\'), {_lit(sep)}, {_lit(chr(92) + sep)})"

    keep = ", ".join(esc(c) for c in cols)
    anyp = ", ".join(_col(c) for c in cols)
    return f"(CASE WHEN coalesce({anyp}) IS NULL THEN NULL ELSE concat_ws({_lit(sep)}, {keep}) END)"


def _term_date_sql(year_col: str, term_col: str, terms: tuple[tuple[str, int, int], ...]) -> str:
    y, t = _col(year_col), _col(term_col)
    start = f"TRY_CAST(regexp_extract({y}, '^((19|20)[0-9]{{2}})', 1) AS INTEGER)"
    arms = " ".join(
        f"WHEN {_lit(name)} THEN printf('%04d-%02d-%02d', {start} + {0 if m >= 8 else 1}, {m}, {d})"
        for name, m, d in terms
    )
    term = f"lower(regexp_replace({t}, '{WS_CLASS}+', ' ', 'g'))"
    made = f"(CASE {term} {arms} END)" if arms else "NULL"
    return (
        f"(CASE WHEN {y} IS NULL AND {t} IS NULL THEN NULL "
        f"ELSE coalesce({made}, {_lit(BAD_DERIVED)}) END)"
    )


def _date_parts_sql(spec: _Spec) -> str:
    dp = spec.date_parts
    assert dp is not None
    y, m = _col(dp.year), _col(dp.month)
    d = _col(dp.day) if dp.day is not None else None
    names = " ".join(f"WHEN {_lit(n)} THEN {i}" for i, n in enumerate(_MONTHS, start=1))
    month = f"coalesce(TRY_CAST({m} AS INTEGER), CASE lower(left({m}, 3)) {names} END)"
    day = f"TRY_CAST({d} AS INTEGER)" if d is not None else "1"
    given = " AND ".join(f"{c} IS NULL" for c in (y, m, d) if c is not None)
    made = f"printf('%04d-%02d-%02d', TRY_CAST({y} AS INTEGER), {month}, {day})"
    return f"(CASE WHEN {given} THEN NULL ELSE coalesce({made}, {_lit(BAD_DERIVED)}) END)"


def _origin_sql(spec: _Spec, lookups: ValueLookups) -> str:
    sep = spec.sep
    if spec.first_of is not None:
        return f"coalesce({', '.join(_col(c) for c in spec.first_of)})"
    if spec.concat is not None:
        cols = ", ".join(_col(c) for c in spec.concat)
        return f"nullif(concat_ws({_lit(' ' if sep is None else sep)}, {cols}), '')"
    if spec.parts is not None:
        return _parts_sql(spec.parts, "|" if sep is None else sep)
    if spec.row_number is not None:
        return "CAST(_row AS VARCHAR)"
    if spec.academic_year is not None and spec.term is not None:
        return _term_date_sql(spec.academic_year, spec.term, lookups.term_dates)
    if spec.date_parts is not None:
        return _date_parts_sql(spec)
    column: str | None = getattr(spec, "column", None)
    columns: list[str] | None = getattr(spec, "columns", None)
    value: str | None = getattr(spec, "value", None)
    if value is not None:
        return _lit(value)
    if column is not None:
        return _col(column)
    return f"nullif(concat_ws('-', {', '.join(_col(c) for c in columns or [])}), '')"


def pattern_sql(text: str, pattern: str) -> str:
    """The part of ``text`` that ``pattern`` (or the built-in ``postcode``) matches."""
    if pattern == "postcode":
        return f"regexp_extract_all({text}, {_lit(POSTCODE_IN_TEXT)}, 1)[-1]"
    group = 1 if re.compile(pattern).groups else 0
    return f"nullif(regexp_extract({text}, {_lit(pattern)}, {group}), '')"


def derived_text_sql(spec: _Spec, lookups: ValueLookups) -> str | None:
    """The field's text (trimmed, blank as NULL); None when nothing about it is derived."""
    if not is_derived(spec):
        return None
    sql = _origin_sql(spec, lookups)
    if spec.pattern is not None:
        sql = pattern_sql(sql, spec.pattern)
    split: str | None = getattr(spec, "split", None)
    if spec.item is not None and split is not None:
        sql = f"nullif(trim(string_split({sql}, {_lit(split)})[{int(spec.item)}]), '')"
    if spec.values:
        arms = " ".join(
            f"WHEN {_lit(k.strip().lower())} THEN {_lit(v)}" for k, v in spec.values.items()
        )
        sql = f"nullif((CASE lower(trim({sql})) {arms} ELSE {sql} END), '')"
    return sql


def _keyword_re(words: tuple[str, ...]) -> str:
    def one(w: str) -> str:
        w = _fold(w)
        out = re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", w)
        return out.replace(" ", r"\s+")

    return r"\b(" + "|".join(one(w) for w in words) + r")\b"


def _fold(s: str) -> str:
    return s.lower().replace("'", "").replace("\u2019", "")


def _fold_sql(text: str) -> str:
    return f"replace(replace(lower({text}), '''', ''), chr(8217), '')"


def keyword_sql(text: str, keywords: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """The place type whose keyword first appears in ``text`` (as a whole word), or NULL."""
    arms = " ".join(
        f"WHEN regexp_matches({_fold_sql(text)}, {_lit(_keyword_re(words))}) THEN {_lit(t)}"
        for t, words in keywords
        if words
    )
    return f"(CASE {arms} END)" if arms else "CAST(NULL AS VARCHAR)"


def keyword_type(
    text: str | None, keywords: tuple[tuple[str, tuple[str, ...]], ...] = BUILTIN_PLACE_KEYWORDS
) -> str | None:
    """Python twin of :func:`keyword_sql`, for tests and single values."""
    if text is None:
        return None
    folded = _fold(text)
    for t, words in keywords:
        if words and re.search(_keyword_re(words), folded):
            return t
    return None
