"""Value parsers: known answers, and the Python reference agreeing with the DuckDB SQL."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.errors import ConfigError
from joinedup.sources import parsers as p

# JU_HYPOTHESIS_EXAMPLES=5000 for a long soak; the default keeps the file under ~15 s.
SETTINGS = settings(
    max_examples=int(os.environ.get("JU_HYPOTHESIS_EXAMPLES", "40")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    p.install_macros(c)
    return c


def run_sql(
    con: duckdb.DuckDBPyConnection, exprs: list[str], values: list[str | None]
) -> list[tuple[Any, ...]]:
    """Each of ``exprs`` (over a column ``s``) for every value, in one query, in order."""
    rows = con.execute(
        f"SELECT i, {', '.join(exprs)} FROM (SELECT unnest($1::VARCHAR[]) AS s, "
        "unnest(range(len($1::VARCHAR[]))) AS i) ORDER BY i",
        [values],
    ).fetchall()
    return [r[1:] for r in rows]


def assert_agree(
    con: duckdb.DuckDBPyConnection,
    pairs: list[tuple[str, Callable[[str | None], Any]]],
    values: list[str | None],
) -> None:
    """SQL ``expr`` and Python ``func`` give the same answer for every value."""
    got = run_sql(con, [expr for expr, _ in pairs], values)
    for value, sql_results in zip(values, got, strict=True):
        for (expr, func), sql_result in zip(pairs, sql_results, strict=True):
            want = func(value)
            assert sql_result == want, f"{expr} gave {sql_result!r}, Python {want!r}, on {value!r}"


# --------------------------------------------------------------------------- strategies

WS = st.sampled_from([" ", "  ", "\t", "\u00a0", "\n", ""])


def sprinkle(parts: list[str], ws: list[str]) -> str:
    return ws[0] + "".join(part + w for part, w in zip(parts, ws[1:], strict=False))


def nhs_number(first9: list[int]) -> str | None:
    total = sum(d * w for d, w in zip(first9, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 10:
        return None
    return "".join(map(str, first9)) + str(0 if check == 11 else check)


@st.composite
def nhs_like(draw: st.DrawFn) -> str:
    first9 = draw(st.lists(st.integers(0, 9), min_size=9, max_size=9))
    valid = nhs_number(first9)
    if valid is None or draw(st.booleans()):
        valid = "".join(map(str, first9)) + str(draw(st.integers(0, 9)))
    digits = valid
    sep = draw(st.sampled_from(["", " ", "-", "  "]))
    return sprinkle(
        [digits[:3], sep + digits[3:6], sep + digits[6:]],
        draw(st.lists(WS, min_size=4, max_size=4)),
    )


LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(body12: str) -> str:
    """Independent DfE rule: positions 2..13 weighted 2..13, letter values from LETTERS."""
    total = 0
    for weight, ch in enumerate(body12, start=2):
        total += weight * (int(ch) if ch.isdigit() else LETTERS.index(ch))
    return LETTERS[total % 23]


@st.composite
def upn_like(draw: st.DrawFn) -> str:
    body = "".join(map(str, draw(st.lists(st.integers(0, 9), min_size=11, max_size=11))))
    last = draw(st.sampled_from("0123456789" + LETTERS + "IOS"))
    body += last
    good = last not in "IOS"
    letter = (
        upn_check_letter(body) if good and draw(st.booleans()) else draw(st.sampled_from(LETTERS))
    )
    upn = letter + body
    if draw(st.booleans()):
        upn = upn.lower()
    return draw(WS) + upn + draw(WS)


ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@st.composite
def postcode_like(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["A9", "A99", "AA9", "AA99", "A9A", "AA9A", "A9AA9", "9A"]))
    outward = "".join(draw(st.sampled_from(ALPHA if c == "A" else "0123456789")) for c in shape)
    inward = draw(st.sampled_from("0123456789")) + "".join(
        draw(st.sampled_from(ALPHA)) for _ in range(2)
    )
    text = draw(st.sampled_from([outward + " " + inward, outward + inward, outward]))
    if draw(st.booleans()):
        text = text.lower()
    cut = draw(st.integers(0, len(text)))
    return draw(WS) + text[:cut] + draw(WS) + text[cut:] + draw(WS)


def as_excel(d: date) -> str:
    return str((d - date(1899, 12, 30)).days)


@st.composite
def date_like(draw: st.DrawFn) -> str:
    d = draw(st.dates(date(1890, 1, 1), date(2110, 12, 31)))
    how = draw(st.integers(0, 5))
    if how == 0:
        fmt = draw(st.sampled_from(p.DEFAULT_DATE_FORMATS))
        text = d.strftime(fmt.replace("%f", "123"))
    elif how == 1:  # not zero-padded
        text = f"{d.day}/{d.month}/{d.year:04d}"
    elif how == 2:
        text = as_excel(d) + draw(st.sampled_from(["", ".5", ".0", ".999999"]))
    elif how == 3:  # impossible days
        text = f"{draw(st.integers(28, 32)):02d}/{d.month:02d}/{d.year}"
    elif how == 4:
        text = f"{d.day:02d}/{d.month:02d}/{d.year} {draw(st.integers(0, 25))}:{d.day + 40:02d}"
    else:
        text = d.isoformat() + draw(st.sampled_from(["T25:00", "T1:00", " 13:45", "Z", "t12:00"]))
    return draw(WS) + text + draw(WS)


NAME_CHARS = "abcXYZ éÉßŉǰȿɓ\u0301’'`-–,. ()12\t\u00a0İıſ\u212a"


def name_like() -> st.SearchStrategy[str]:
    return st.text(alphabet=NAME_CHARS, max_size=25) | st.sampled_from(
        ["SMITH, John", "John Paul Smith", "o’brien", "Anne-Marie", "Jose\u0301", "X"]
    )


@st.composite
def token_like(draw: st.DrawFn, words: list[str]) -> str:
    word = draw(st.sampled_from(words))
    word = "".join(c.lower() if draw(st.booleans()) else c for c in word)
    return draw(WS) + word.replace(" ", draw(st.sampled_from([" ", "  ", "\t"]))) + draw(WS)


def batch(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.none() | strategy | st.text(max_size=20), max_size=30)


# --------------------------------------------------------------------------- NHS number


def test_nhs_known_values() -> None:
    assert p.nhs_number_valid("9434765919") == "9434765919"
    assert p.nhs_number_valid(" 943 476 5919 ") == "9434765919"
    assert p.nhs_number_valid("943-476-5919") == "9434765919"
    assert p.nhs_number_valid("9434765918") is None
    assert p.nhs_number_valid("94347659190") is None
    assert p.nhs_number_valid("943476591") is None
    assert p.nhs_number_valid("943476591X") is None
    for digit in "0123456789":
        assert p.nhs_number_valid(digit * 10) is None
    # check digit 11 -> 0; a remainder giving 10 is never valid
    assert p.nhs_number_valid("0000002100") == "0000002100"  # sum 11 -> check 0
    assert nhs_number([0, 0, 0, 0, 0, 0, 0, 4, 0]) is None  # sum 12 -> check 10
    assert all(p.nhs_number_valid("000000040" + d) is None for d in "0123456789")
    assert p.nhs_number_valid(None) is None
    assert p.nhs_number_valid("   ") is None
    assert p.nhs_number_valid("\u0669" * 10) is None  # non-ASCII digits


@SETTINGS
@given(batch(nhs_like()))
def test_nhs_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    assert_agree(con, [("ju_nhs_number(s)", p.nhs_number_valid)], values)


# --------------------------------------------------------------------------- UPN


def test_upn_known_values() -> None:
    body = "801200001001"
    upn = upn_check_letter(body) + body
    assert p.upn_valid(upn) == upn
    assert p.upn_valid(" " + upn.lower() + " ") == upn
    wrong = next(c for c in LETTERS if c != upn[0])
    assert p.upn_valid(wrong + body) is None
    temporary = "80120000100K"
    assert p.upn_valid(upn_check_letter(temporary) + temporary) == (
        upn_check_letter(temporary) + temporary
    )
    for bad_last in "IOS":  # not in the letter table
        assert all(p.upn_valid(c + body[:-1] + bad_last) is None for c in ALPHA)
    assert p.upn_valid(upn[:-1]) is None
    assert p.upn_valid(upn + "1") is None
    assert p.upn_valid(upn[0] + "8012 0000 1001") is None
    assert p.upn_valid("") is None


@SETTINGS
@given(batch(upn_like()))
def test_upn_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    assert_agree(con, [("ju_upn(s)", p.upn_valid)], values)


# --------------------------------------------------------------------------- postcodes


@pytest.mark.parametrize(
    ("text", "full", "district", "sector"),
    [
        ("WX1 2AB", "WX1 2AB", "WX1", "WX1 2"),
        (" wx1   2ab ", "WX1 2AB", "WX1", "WX1 2"),
        ("wx12ab", "WX1 2AB", "WX1", "WX1 2"),
        ("QY10\t9ZZ", "QY10 9ZZ", "QY10", "QY10 9"),
        ("W1A 0AX", "W1A 0AX", "W1A", "W1A 0"),
        ("A1 1AA", "A1 1AA", "A1", "A1 1"),
        ("WX1 2CB", None, None, None),  # C not allowed in the inward code
        ("WX1 2AI", None, None, None),
        ("WX1 2AV", None, None, None),
        ("WX1", None, "WX1", None),
        (" wx10 ", None, "WX10", None),
        ("WX1 2", None, None, None),  # a sector is not a district
        ("W 1A", None, None, None),
        ("1WX 2AB", None, None, None),
        ("WXY1 2AB", None, None, None),
        ("\u212a1 2AB", None, None, None),  # Kelvin sign is not K
        ("", None, None, None),
        (None, None, None, None),
    ],
)
def test_postcode_known_values(
    text: str | None, full: str | None, district: str | None, sector: str | None
) -> None:
    assert p.postcode_normalise(text) == full
    assert p.postcode_district(text) == district
    assert p.postcode_sector(text) == sector


@SETTINGS
@given(batch(postcode_like()))
def test_postcode_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    pairs = [
        ("ju_postcode(s)", p.postcode_normalise),
        ("ju_postcode_district(s)", p.postcode_district),
        ("ju_postcode_sector(s)", p.postcode_sector),
    ]
    assert_agree(con, pairs, values)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03/04/2010", date(2010, 4, 3)),  # day first
        ("3/4/2010", date(2010, 4, 3)),
        ("2010-04-03", date(2010, 4, 3)),
        ("2010-04-03T13:45", date(2010, 4, 3)),
        ("2010-04-03 13:45:59", date(2010, 4, 3)),
        ("2010-04-03T13:45:00.123", date(2010, 4, 3)),
        ("03/04/2010 13:45", date(2010, 4, 3)),
        ("03/04/2010 13:45:07", date(2010, 4, 3)),
        ("20100403", date(2010, 4, 3)),
        ("03-04-2010", date(2010, 4, 3)),
        ("03.04.2010", date(2010, 4, 3)),
        (" 03/04/2010\u00a0", date(2010, 4, 3)),
        ("40271", date(2010, 4, 3)),  # Excel serial
        ("40271.75", date(2010, 4, 3)),
        ("2", date(1900, 1, 1)),
        ("1", None),  # 1899-12-31: before 1900
        ("80001", None),
        ("29/02/2012", date(2012, 2, 29)),
        ("29/02/2011", None),
        ("31/02/2010", None),
        ("31/04/2010", None),
        ("13/13/2010", None),
        ("1899-12-31", None),
        ("1900-01-01", date(1900, 1, 1)),
        ("2100-12-31", date(2100, 12, 31)),
        ("2101-01-01", None),
        ("10-04-03", None),  # two-digit year is not %Y
        ("03/04/2010 24:00", None),
        ("03/04/2010 13:60", None),
        ("2010-04-03 ", date(2010, 4, 3)),
        ("2010-04-03Z", None),
        ("2010-04-03t13:45", None),
        ("03/04/2010 x", None),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_parse_date_known_values(text: str | None, expected: date | None) -> None:
    assert p.parse_date(text) == expected


def test_parse_date_custom_formats(con: duckdb.DuckDBPyConnection) -> None:
    assert p.parse_date("01/02/2010 13:45", ["%d/%m/%Y"]) is None  # whole value must match
    assert p.parse_date("01/02/2010 13:45", ["%d/%m/%Y %H:%M"]) == date(2010, 2, 1)
    assert p.parse_date("02/01/2010", ["%m/%d/%Y"]) == date(2010, 2, 1)
    assert p.parse_date("3 jan 2010", ["%d %b %Y"]) == date(2010, 1, 3)
    assert p.parse_date("3 January 2010", ["%d %b %Y"]) is None
    assert p.parse_date("3 JANUARY 2010", ["%d %B %Y"]) == date(2010, 1, 3)
    assert p.parse_date("03/04/68", ["%d/%m/%y"]) == date(2068, 4, 3)
    assert p.parse_date("03/04/69", ["%d/%m/%y"]) == date(1969, 4, 3)
    assert p.parse_date("100403", ["%y%m%d"]) == date(2010, 4, 3)
    assert p.parse_date("40271", []) == date(2010, 4, 3)  # Excel serials always accepted
    (got,) = con.execute(f"SELECT {p.date_sql(repr('3 jan 2010'), ['%d %b %Y'])}").fetchone()
    assert got == date(2010, 1, 3)


@pytest.mark.parametrize(
    "fmt", ["%d/%m/%Y %p", "%m/%Y", "%d/%d/%m/%Y", "%d/%m/%Y %", "%d%m%y%Y", "%d/%m/%Y "]
)
def test_bad_date_formats_are_config_errors(fmt: str) -> None:
    with pytest.raises(ConfigError, match="date format"):
        p.parse_date("01/02/2010", [fmt])
    with pytest.raises(ConfigError):
        p.date_sql("x", [fmt])


@SETTINGS
@given(batch(date_like()))
def test_date_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    assert_agree(con, [(p.date_sql("s"), p.parse_date), ("ju_date(s)", p.parse_date)], values)


CUSTOM_FORMATS = ["%d %b %Y", "%d %B %Y %H:%M", "%y%m%d", "%d/%m/%y", "%Y%m%d%H%M%S", "%b-%d-%Y"]


@st.composite
def custom_date_like(draw: st.DrawFn) -> str:
    d = draw(st.dates(date(1890, 1, 1), date(2110, 12, 31)))
    text = d.strftime(draw(st.sampled_from(CUSTOM_FORMATS)))
    text = "".join(c.upper() if draw(st.booleans()) else c for c in text)
    if draw(st.booleans()):
        text = text.replace(f"{d.day:02d}", str(d.day), 1)
    return text


@SETTINGS
@given(batch(custom_date_like()))
def test_custom_date_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    pairs = [(p.date_sql("s", CUSTOM_FORMATS), lambda v: p.parse_date(v, CUSTOM_FORMATS))]
    assert_agree(con, pairs, values)


def test_excel_serial_rule() -> None:
    for offset in [2, 100, 40271, 73415]:
        assert p.parse_date(str(offset)) == date(1899, 12, 30) + timedelta(days=offset)
    assert p.parse_date("73416") is None  # 2101-01-01
    assert p.parse_date("40271.") is None
    assert p.parse_date("-40271") is None
    assert p.parse_date("4e4") is None


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  o’brien   anne-marie ", "O'BRIEN ANNE-MARIE"),
        ("José", "JOSÉ"),
        ("Jose\u0301", "JOSÉ"),  # combining accent composed
        ("Smith (nee Jones)", "SMITH NEE JONES"),
        ("Zoë\tŁukasz", "ZOË ŁUKASZ"),
        ("Smith–Jones", "SMITH-JONES"),
        ("J.R.", "J R"),
        ("Baby 2", "BABY"),
        ("\x00À", "À"),  # NUL dropped (DuckDB nfc_normalize stops at NUL)
        ("123", None),
        ("- '", None),
        ("", None),
        (None, None),
    ],
)
def test_name_normalise_known_values(text: str | None, expected: str | None) -> None:
    assert p.name_normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("SMITH, John", "surname_forename", ("JOHN", "SMITH")),
        ("SMITH John Paul", "surname_forename", ("JOHN PAUL", "SMITH")),
        ("John Paul Smith", "forename_surname", ("JOHN PAUL", "SMITH")),
        ("Smith, John Paul", "forename_surname", ("JOHN PAUL", "SMITH")),
        ("Madonna", "forename_surname", (None, "MADONNA")),
        ("Madonna", "surname_forename", (None, "MADONNA")),
        ("Smith,", "surname_forename", (None, "SMITH")),
        (", John", "surname_forename", ("JOHN", None)),
        ("", "surname_forename", (None, None)),
        (None, "forename_surname", (None, None)),
    ],
)
def test_split_full_name(text: str | None, order: str, expected: tuple[str | None, ...]) -> None:
    assert p.split_full_name(text, order) == expected


def test_bad_name_order_is_config_error() -> None:
    with pytest.raises(ConfigError):
        p.split_full_name("A B", "first_last")
    with pytest.raises(ConfigError):
        p.full_name_surname_sql("x", "first_last")


def test_name_upper_case_matches_duckdb(con: duckdb.DuckDBPyConnection) -> None:
    letters = sorted(p._NAME_LETTERS)
    got = run_sql(con, ["upper(s)"], list(letters))
    assert [g[0] for g in got] == [p._NAME_UPPER[c] for c in letters]


@SETTINGS
@given(batch(name_like()))
def test_name_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    pairs: list[tuple[str, Callable[[str | None], Any]]] = [("ju_name(s)", p.name_normalise)]
    for order in p.NAME_ORDERS:
        pairs.append(
            (p.full_name_forename_sql("s", order), lambda v, o=order: p.split_full_name(v, o)[0])
        )
        pairs.append(
            (p.full_name_surname_sql("s", order), lambda v, o=order: p.split_full_name(v, o)[1])
        )
    assert_agree(con, pairs, values)


# --------------------------------------------------------------------------- sex, booleans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m", "M"),
        (" Male ", "M"),
        ("1", "M"),
        ("F", "F"),
        ("female", "F"),
        ("2", "F"),
        ("0", "U"),
        ("9", "U"),
        ("x", "U"),
        ("I", "U"),
        ("Not known", "U"),
        ("not \t stated", "U"),
        ("Other", None),
        ("\u212a", None),
        ("", None),
        (None, None),
    ],
)
def test_sex_code_known_values(text: str | None, expected: str | None) -> None:
    assert p.sex_code(text) == expected


@SETTINGS
@given(batch(token_like(list(p.DEFAULT_SEX_CODES))))
def test_sex_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    assert_agree(con, [("ju_sex(s)", p.sex_code)], values)


def test_parse_bool() -> None:
    assert p.parse_bool(" yes ") is True
    assert p.parse_bool("t") is True
    assert p.parse_bool("N") is False
    assert p.parse_bool("  ") is None
    assert p.parse_bool("Ja", ["ja"]) is True
    assert p.parse_bool("Y", ["ja"]) is False


@SETTINGS
@given(batch(token_like([*p.DEFAULT_TRUE_VALUES, "N", "NO", "0", "Ja", "it's"])))
def test_bool_sql_agrees(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> None:
    trues = ["ja", "it's", " x "]
    pairs = [
        (p.bool_sql("s"), p.parse_bool),
        (p.bool_sql("s", trues), lambda v: p.parse_bool(v, trues)),
        (p.bool_sql("s", []), lambda v: p.parse_bool(v, [])),
    ]
    assert_agree(con, pairs, values)


# --------------------------------------------------------------------------- formulas


def test_is_formula_like() -> None:
    for text in ["=SUM(A1)", "+44 1234", "-1", "@cmd", "\tx", "\rx"]:
        assert p.is_formula_like(text)
    for text in ["abc", " =x", "", None, "1-2"]:
        assert not p.is_formula_like(text)


def test_macros_are_prefixed() -> None:
    for statement in p.MACROS_SQL:
        assert statement.startswith("CREATE OR REPLACE MACRO ju_")


# --------------------------------------------------------------------------- estimated dates

RULE_SETS = [("year_only", "first_of_month"), tuple(p.ESTIMATED_RULES)]


@st.composite
def partial_date_like(draw: st.DrawFn) -> str:
    d = draw(st.dates(date(1890, 1, 1), date(2110, 12, 31)))
    text = draw(
        st.sampled_from(
            [
                str(d.year),
                f"{d.month}/{d.year}",
                f"{d.month:02d}-{d.year}",
                f"{d.year}-{d.month:02d}",
                f"01/01/{d.year}",
                f"01/{d.month:02d}/{d.year}",
                d.strftime("%d/%m/%Y"),
            ]
        )
    )
    return draw(WS) + text + draw(WS)


def test_estimated_dates_known_values() -> None:
    rules = p.ESTIMATED_RULES
    assert p.parse_date_estimated("2010", rules=rules) == (date(2010, 1, 1), True)
    assert p.parse_date_estimated("04/2010", rules=rules) == (date(2010, 4, 1), True)
    assert p.parse_date_estimated("01/01/2010", rules=["jan_1"]) == (date(2010, 1, 1), True)
    assert p.parse_date_estimated("03/04/2010", rules=rules) == (date(2010, 4, 3), False)
    assert p.parse_date_estimated("01/01/2010") == (date(2010, 1, 1), False)
    assert p.parse_date_estimated("  ", rules=rules) == (None, False)
    with pytest.raises(ConfigError):
        p.parse_date_estimated("2010", rules=["guess"])


@settings(SETTINGS, max_examples=min(SETTINGS.max_examples, 10))  # ~0.5 s to bind each
@given(batch(partial_date_like()))
def test_estimated_date_sql_agrees(
    con: duckdb.DuckDBPyConnection, values: list[str | None]
) -> None:
    pairs: list[tuple[str, Callable[[str | None], Any]]] = []
    for rules in RULE_SETS:
        value_sql, flag_sql = p.estimated_date_sql("s", None, rules)

        def py(v: str | None, r: tuple[str, ...] = rules) -> tuple[date | None, bool | None]:
            d, est = p.parse_date_estimated(v, None, r)
            return d, (None if d is None else est)  # the SQL flag is NULL with the date

        pairs.append((value_sql, lambda v, f=py: f(v)[0]))
        pairs.append((flag_sql, lambda v, f=py: f(v)[1]))
    assert_agree(con, pairs, values)
