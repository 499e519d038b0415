"""Match weights for encoded records estimated from the encodings (issue 19, item 6):
u by random sampling without counting records of one person as chance agreement, m by
EM, name frequencies, a day and month swapped, and the defaults when data are few."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from joinedup.linkage.encoded import clk_column, encode_records
from joinedup.linkage.encoded_link import EncodedRecords
from joinedup.linkage.encoded_weights import (
    COMPARISONS,
    default_weights,
    estimate_weights,
    field_levels,
    level_weights,
)

KEY = b"a-key-the-agencies-share-and-the-hub-never-holds-0123456789"
LETTERS = "ABCDEFGHIJKLMNOPRSTUWY"


def _typo(rng: np.random.Generator, name: str) -> str:
    i = int(rng.integers(len(name)))
    return name[:i] + LETTERS[int(rng.integers(len(LETTERS)))] + name[i + 1 :]


@pytest.fixture(scope="module")
def people() -> dict[str, object]:
    """1,000 made-up people with 4 records each: forenames drawn unevenly from 300 (some
    common, most rare), one record in five with a forename typo, every record otherwise
    true to its person."""
    rng = np.random.default_rng(11)
    names = ["".join(rng.choice(list(LETTERS), int(rng.integers(4, 8)))) for _ in range(300)]
    share = 1.0 / np.arange(1, 301)
    share /= share.sum()
    n_people, each = 1000, 4
    forename, surname, dob, person, typo = [], [], [], [], []
    for p in range(n_people):
        f = names[int(rng.choice(300, p=share))]
        s = "".join(rng.choice(list(LETTERS), int(rng.integers(5, 9))))
        born = dt.date(2005, 1, 1) + dt.timedelta(days=int(rng.integers(0, 5475)))
        for _ in range(each):
            wrong = bool(rng.random() < 0.2)
            forename.append(_typo(rng, f) if wrong else f)
            surname.append(s)
            dob.append(born)
            person.append(p)
            typo.append(wrong)
    n = len(forename)
    cols = encode_records(
        KEY,
        forename=forename,
        surname=surname,
        dob=dob,
        sex=[None] * n,
        postcode=[None] * n,
        district=[None] * n,
    )
    return {
        "records": EncodedRecords.from_columns(dict(cols), n),
        "person": np.array(person),
        "forename": forename,
        "dob": dob,
    }


def _pairs_sharing(values: list[object]) -> tuple[np.ndarray, np.ndarray]:
    by: dict[object, list[int]] = {}
    for i, v in enumerate(values):
        by.setdefault(v, []).append(i)
    li, ri = [], []
    for rows in by.values():
        for a in range(len(rows)):
            for b in range(a + 1, len(rows)):
                li.append(rows[a])
                ri.append(rows[b])
    return np.array(li, dtype=np.int64), np.array(ri, dtype=np.int64)


def test_u_does_not_count_records_of_one_person_as_chance(people: dict[str, object]) -> None:
    records, person = people["records"], people["person"]
    assert isinstance(records, EncodedRecords) and isinstance(person, np.ndarray)
    li, ri = _pairs_sharing(people["dob"])  # type: ignore[arg-type]
    fitted = estimate_weights(records, records, li, ri, same=True)
    # the chance of two people's dates of birth being equal, and of any two records'
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, len(person), 400_000), rng.integers(0, len(person), 400_000)
    a, b = a[a != b], b[a != b]
    equal = field_levels(records, records, a, b)["dob"] == 0
    apart = person[a] != person[b]
    chance, naive = equal[apart].mean(), equal.mean()
    assert naive > 3 * chance  # records of one person would swamp chance agreement
    u = fitted.u["dob"][0]
    assert chance / 1.5 < u < chance * 1.5, (u, chance, naive)


def test_em_recovers_how_often_records_of_one_person_agree(people: dict[str, object]) -> None:
    records, person = people["records"], people["person"]
    assert isinstance(records, EncodedRecords) and isinstance(person, np.ndarray)
    li, ri = _pairs_sharing(people["dob"])  # type: ignore[arg-type]
    fitted = estimate_weights(records, records, li, ri, same=True)
    level = field_levels(records, records, li, ri)["forename"]
    true = person[li] == person[ri]
    planted = float((level[true] == 0).mean())  # about 0.8 * 0.8: one typo in five
    assert 0.55 < planted < 0.75
    assert abs(fitted.m["forename"][0] - planted) < 0.05
    # and the weights follow: an equal forename far above one that differs entirely
    w = fitted.weight("forename")
    assert w[0] > 3 and w[-1] < -3
    assert fitted.counts["m_dob"] == len(li)


def test_a_rare_equal_forename_weighs_more_than_a_common_one(
    people: dict[str, object],
) -> None:
    records, forename = people["records"], people["forename"]
    assert isinstance(records, EncodedRecords) and isinstance(forename, list)
    li, ri = _pairs_sharing(people["dob"])  # type: ignore[arg-type]
    fitted = estimate_weights(records, records, li, ri, same=True)
    counts: dict[str, int] = {}
    for f in forename:
        counts[f] = counts.get(f, 0) + 1
    common = max(counts, key=lambda k: counts[k])
    rare = next(f for f in forename if counts[f] == 4)  # one person's, no typo
    first = [forename.index(n) for n in (common, rare)]
    last = [len(forename) - 1 - forename[::-1].index(n) for n in (common, rare)]
    i, j = np.array(first, dtype=np.int64), np.array(last, dtype=np.int64)
    level = field_levels(records, records, i, j)["forename"]
    assert list(level) == [0, 0]
    w = level_weights(fitted, {"forename": level}, i)
    assert w[1] > fitted.weight("forename")[0] > w[0]
    assert w[1] - w[0] > 3  # a name held by one person in 1,000 against a common one


def test_day_and_month_swapped_and_files_without_that_encoding() -> None:
    born, swapped, other = dt.date(2010, 4, 11), dt.date(2010, 11, 4), dt.date(2010, 11, 5)
    cols = encode_records(
        KEY,
        forename=["LEO"] * 3,
        surname=[None] * 3,
        dob=[born, swapped, other],
        sex=[None] * 3,
        postcode=[None] * 3,
        district=[None] * 3,
    )
    records = EncodedRecords.from_columns(dict(cols), 3)
    li, ri = np.array([0, 0], dtype=np.int64), np.array([1, 2], dtype=np.int64)
    dob = field_levels(records, records, li, ri)["dob"]
    assert dob[0] == 1 and dob[1] > 1  # swapped; a different date
    w = default_weights().weight("dob")
    assert w[1] > 5 > w[dob[1]]
    # an agency on an earlier version wrote no such column: no evidence of a swap
    old = {k: v for k, v in cols.items() if k != clk_column("dob_unordered")}
    before = EncodedRecords.from_columns(old, 3)
    assert field_levels(before, before, li, ri)["dob"][0] > 1


def test_too_few_records_keep_the_defaults() -> None:
    cols = encode_records(
        KEY,
        forename=["AMY", "AMY"],
        surname=["KHAN", "KHAN"],
        dob=[dt.date(2011, 1, 2)] * 2,
        sex=["F", "F"],
        postcode=[None, None],
        district=[None, None],
    )
    records = EncodedRecords.from_columns(dict(cols), 2)
    one = np.array([0], dtype=np.int64)
    fitted = estimate_weights(records, records, one, one + 1, same=True)
    defaults = default_weights()
    for c in COMPARISONS:
        assert np.allclose(fitted.m[c.name], defaults.m[c.name])
        assert np.allclose(fitted.u[c.name], defaults.u[c.name])
