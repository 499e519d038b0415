"""Identifier kinds a partnership declares (issue 13): a regional child id, a national
insurance number, a foreign social security number.

Each kind (``identifier_kinds`` in partnership.yaml) has a scope, ``shared`` (the same
value in two agencies' records is the same person: linkage joins them) or ``agency``
(values mean something within one agency only), and an optional check:

* ``mod11``: digits, the last a modulus-11 check digit over the others weighted from
  the length down to 2 (the NHS number's rule for any length); 10 is never valid;
* ``luhn``: digits, the last a Luhn check digit (card numbers, many national ids);
* ``nino``: a UK national insurance number (two prefix letters as HMRC issues them, six
  digits, a suffix A to D);
* ``regex``: the value matches the kind's ``pattern`` whole.

Values are compared without whitespace and upper-cased; ``mod11`` and ``luhn`` also drop
hyphens. A value that fails its check is emptied (the row is kept) and recorded as a field
problem. Each rule is here in Python and as DuckDB SQL; tests keep the two in step.
"""

from __future__ import annotations

import re

from joinedup.config.values import IdentifierKind
from joinedup.sources.sqltext import WHITESPACE, WS_CLASS

__all__ = [
    "NINO_PREFIX_NOT",
    "kind_problem",
    "kind_value",
    "kind_value_sql",
    "luhn_valid",
    "mod11_valid",
    "nino_valid",
]

NINO_PREFIX_NOT = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
_NINO = "[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]"


def _compact(s: str, drop: str = "") -> str:
    return "".join(c for c in s if c not in WHITESPACE and c not in drop).upper()


def mod11_valid(d: str) -> bool:
    """Digits whose last is the modulus-11 check digit of the others (weights n..2)."""
    if not re.fullmatch("[0-9]{2,30}", d):
        return False
    n = len(d)
    total = sum(int(d[i]) * (n - i) for i in range(n - 1))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(d[-1])


def luhn_valid(d: str) -> bool:
    """Digits whose last is the Luhn check digit of the others."""
    if not re.fullmatch("[0-9]{2,30}", d):
        return False
    total = 0
    for k, c in enumerate(reversed(d)):
        x = int(c)
        if k % 2 == 1:
            x = 2 * x - 9 if 2 * x > 9 else 2 * x
        total += x
    return total % 10 == 0


def nino_valid(u: str) -> bool:
    """A UK national insurance number in the form HMRC issues (upper case, no spaces)."""
    return bool(re.fullmatch(_NINO, u)) and u[:2] not in NINO_PREFIX_NOT


def kind_value(text: str | None, kind: IdentifierKind) -> str | None:
    """The value kept for ``text`` as an identifier of ``kind``; None if blank or invalid."""
    if text is None:
        return None
    digits = kind.check in ("mod11", "luhn")
    v = _compact(text, "-" if digits else "")
    if not v:
        return None
    if kind.check == "mod11":
        ok = mod11_valid(v)
    elif kind.check == "luhn":
        ok = luhn_valid(v)
    elif kind.check == "nino":
        ok = nino_valid(v)
    elif kind.check == "regex":
        ok = re.fullmatch(kind.pattern or "", v) is not None
    else:
        ok = True
    return v if ok else None


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def kind_value_sql(text: str, kind: IdentifierKind) -> str:
    """SQL twin of :func:`kind_value` over the text expression ``text``."""
    strip = f"[-{WS_CLASS[1:-1]}]" if kind.check in ("mod11", "luhn") else WS_CLASS
    v = f"upper(nullif(regexp_replace({text}, {_lit(strip)}, '', 'g'), ''))"
    digit = "TRY_CAST(substr(v, {pos}, 1) AS INTEGER)"
    if kind.check == "none":
        return v
    if kind.check == "mod11":
        weighted = (
            "list_sum(list_transform(range(1, length(v)), lambda i: "
            + digit.format(pos="i")
            + " * (length(v) - i + 1)))"
        )
        ok = (
            "regexp_full_match(v, '[0-9]{2,30}') AND "
            f"(11 - {weighted} % 11) % 11 = TRY_CAST(right(v, 1) AS INTEGER)"
        )
    elif kind.check == "luhn":
        x = digit.format(pos="length(v) - k")
        doubled = f"(CASE WHEN 2 * {x} > 9 THEN 2 * {x} - 9 ELSE 2 * {x} END)"
        total = (
            f"list_sum(list_transform(range(0, length(v)), lambda k: "
            f"CASE WHEN k % 2 = 1 THEN {doubled} ELSE {x} END))"
        )
        ok = f"regexp_full_match(v, '[0-9]{{2,30}}') AND {total} % 10 = 0"
    elif kind.check == "nino":
        prefixes = ", ".join(_lit(p) for p in NINO_PREFIX_NOT)
        ok = f"regexp_full_match(v, {_lit(_NINO)}) AND left(v, 2) NOT IN ({prefixes})"
    else:
        ok = f"regexp_full_match(v, {_lit(kind.pattern or '')})"
    # the value is named once, in a lambda, so its text is cleaned once per row
    return f"list_filter([{v}], lambda v: coalesce({ok}, false))[1]"


def kind_problem(kind: IdentifierKind) -> tuple[str, str]:
    """(problem, what is wrong) for a value of ``kind`` that fails its check."""
    return {
        "mod11": ("bad_check_digit", "its modulus-11 check digit is wrong"),
        "luhn": ("bad_check_digit", "its Luhn check digit is wrong"),
        "nino": (
            "bad_format",
            "it is not a national insurance number: two letters, six digits and A, B, C or D",
        ),
        "regex": (
            "bad_format",
            "it does not match the pattern given for it under identifier_kinds in partnership.yaml",
        ),
    }.get(kind.check, ("bad_format", "it is not valid"))
