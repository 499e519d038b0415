"""Encoded identifiers: keyed Bloom filter encodings (CLKs) and keyed hashes.

An agency that may not send names, dates of birth or identifiers in clear runs
``joinedup encode`` on its own machine with a key shared between the agencies and never
given to the hub. Each identifying field becomes a *cryptographic long-term key* (a CLK,
Schnell et al. 2009; the method behind anonlink/clkhash and the ONS PPRL toolkit):

- the field's value is cut into tokens (character bigrams of a name or postcode; the
  year, month, day and their pairs of a date of birth; and, in a second filter, the
  year and the day and month in either order, equal when they were written swapped);
- each token sets ``k`` bits of the field's ``m``-bit filter, at ``(h1 + i * h2) mod m``
  for ``i < k`` (double hashing), with ``h1`` and ``h2`` HMAC-SHA256 of the token under
  two keys derived from the shared secret for that field alone;
- the filter is written as base64.

Two values that share most of their tokens share most of their bits, so the hub can
compare encodings by their Dice coefficient without ever seeing a value. Identifiers
(NHS number, UPN, PNC id, local id, declared identifier kinds) become keyed hashes
(HMAC-SHA256): equal only when the identifiers are. Blocking keys (keyed hashes of a
date of birth, of sound codes of names with a year of birth, of a postcode) let the
hub find candidate pairs without comparing every record with every other.

Everything is vectorised: each distinct token is hashed once, and bits are set for all
records of a field in one numpy step. We write the encoding ourselves with ``hmac`` and
``numpy`` because ``clkhash`` 0.18.3 pins ``cryptography<41`` and ``bitarray<3``, which
conflict with the ``cryptography`` that Authlib needs (docs/linkage.md, "Encoded
identifiers").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "BLOCK_COLUMN",
    "CLK_FIELDS",
    "HASHED_IDENTIFIERS",
    "RECORD_COLUMN",
    "REQUIRED_CLK_FIELDS",
    "SCHEME",
    "SCHEME_COLUMN",
    "FieldSpec",
    "blocking_keys",
    "clk_column",
    "decode_clks",
    "encode_records",
    "dice",
    "encode_field",
    "hash_column",
    "keyed_hash",
    "read_key",
    "soundex",
    "tokens",
]

#: The encoding's name and version: the hub refuses an extract of another scheme.
SCHEME = "joinedup-clk-1"
SCHEME_COLUMN = "ju_scheme"
RECORD_COLUMN = "ju_record_id"
BLOCK_COLUMN = "ju_blocks"


@dataclass(frozen=True)
class FieldSpec:
    """One encoded field: its filter length in bits and the bits set per token."""

    name: str
    bits: int
    k: int


#: The fields encoded as CLKs, with their filter length and hashes per token.
CLK_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("forename", 512, 20),
    FieldSpec("forename_groups", 256, 12),
    FieldSpec("surname", 512, 20),
    FieldSpec("dob", 256, 12),
    FieldSpec("sex", 64, 8),
    FieldSpec("postcode", 512, 15),
    FieldSpec("district", 64, 8),
    # added after the first release of the scheme: a file without it still reads (no
    # evidence of a day and month swapped), see REQUIRED_CLK_FIELDS
    FieldSpec("dob_unordered", 128, 10),
)
#: The fields every file of the scheme holds; later ones are optional at the hub.
REQUIRED_CLK_FIELDS = (
    "forename",
    "forename_groups",
    "surname",
    "dob",
    "sex",
    "postcode",
    "district",
)
#: The identifiers written as keyed hashes.
HASHED_IDENTIFIERS = ("nhs_number", "upn", "pnc_id", "local_id")


def clk_column(field: str) -> str:
    return f"ju_clk_{field}"


def hash_column(identifier: str) -> str:
    return f"ju_hash_{identifier}"


def read_key(data: bytes) -> bytes:
    """The shared secret from a key file's bytes: at least 32 bytes after trimming."""
    key = data.strip()
    if len(key) < 32:
        raise ValueError(
            "the key file holds fewer than 32 bytes: make one with "
            '`python -c "import secrets; print(secrets.token_hex(32))" > KEY` and share it '
            "with the other agencies, never with the hub"
        )
    return key


def _subkey(key: bytes, label: str) -> bytes:
    return hmac.new(key, f"joinedup-encode:{label}".encode(), hashlib.sha256).digest()


def keyed_hash(key: bytes, kind: str, value: str) -> str:
    """A keyed hash (hex) of one identifier value of a kind."""
    return hmac.new(_subkey(key, f"id:{kind}"), value.encode("utf-8"), hashlib.sha256).hexdigest()[
        :32
    ]


def _bigrams(text: str) -> list[str]:
    padded = f"_{text}_"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def tokens(field: str, value: str | dt.date | None) -> list[str]:
    """The tokens a field's value is cut into (empty for no value)."""
    if value is None or value == "":
        return []
    if field in ("dob", "dob_unordered"):
        d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        y, m, dd = f"{d.year:04d}", f"{d.month:02d}", f"{d.day:02d}"
        if field == "dob_unordered":  # the same for a day and month written swapped
            pair = "".join(sorted((m, dd)))
            return [f"y{y}", f"p{pair}", f"yp{y}{pair}"]
        return [f"y{y}", f"m{m}", f"d{dd}", f"ym{y}{m}", f"md{m}{dd}", f"yd{y}{dd}"]
    text = str(value).upper()
    if field == "forename_groups":
        return sorted(set(str(value).split())) if str(value).strip() else []
    if field in ("sex", "district"):
        return [text.replace(" ", "")]
    if field == "postcode":
        return _bigrams(text.replace(" ", ""))
    return _bigrams("".join(ch for ch in text if ch.isalpha()))


def encode_field(
    key: bytes, spec: FieldSpec, values: Sequence[str | dt.date | None]
) -> list[str | None]:
    """The base64 CLK of each value (None where there is no value), vectorised."""
    toks = [tokens(spec.name, v) for v in values]
    distinct = sorted({t for ts in toks for t in ts})
    if not distinct:
        return [None] * len(values)
    k1, k2 = _subkey(key, f"clk1:{spec.name}"), _subkey(key, f"clk2:{spec.name}")
    h = np.array(
        [
            (
                int.from_bytes(hmac.new(k1, t.encode(), hashlib.sha256).digest()[:8], "big"),
                int.from_bytes(hmac.new(k2, t.encode(), hashlib.sha256).digest()[:8], "big"),
            )
            for t in distinct
        ],
        dtype=np.uint64,
    )
    steps = np.arange(spec.k, dtype=np.uint64)
    # positions of every distinct token: (h1 + i * h2) mod m, modulo 2**64 first
    pos = ((h[:, :1] + steps[None, :] * h[:, 1:2]) % np.uint64(spec.bits)).astype(np.int64)
    index = {t: i for i, t in enumerate(distinct)}
    rows = np.repeat(np.arange(len(toks)), [len(ts) for ts in toks])
    tok_ids = np.fromiter((index[t] for ts in toks for t in ts), dtype=np.int64, count=len(rows))
    bits = np.zeros((len(toks), spec.bits), dtype=bool)
    bits[np.repeat(rows, spec.k), pos[tok_ids].ravel()] = True
    packed = np.packbits(bits, axis=1)
    return [
        base64.b64encode(packed[i].tobytes()).decode("ascii") if toks[i] else None
        for i in range(len(toks))
    ]


def decode_clks(values: Sequence[str | None], spec: FieldSpec) -> npt.NDArray[np.uint8]:
    """Packed filters (one row per value; a row of zeros for no value)."""
    width = spec.bits // 8
    out = np.zeros((len(values), width), dtype=np.uint8)
    for i, v in enumerate(values):
        if v:
            raw = base64.b64decode(v)
            if len(raw) != width:
                raise ValueError(f"an encoding of {spec.name} is {len(raw)} bytes, not {width}")
            out[i] = np.frombuffer(raw, dtype=np.uint8)
    return out


def dice(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Row-wise Dice coefficient of two arrays of packed filters (NaN where either is empty)."""
    both = np.bitwise_count(a & b).sum(axis=1, dtype=np.int64)
    na = np.bitwise_count(a).sum(axis=1, dtype=np.int64)
    nb = np.bitwise_count(b).sum(axis=1, dtype=np.int64)
    total = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where((na > 0) & (nb > 0), 2.0 * both / np.maximum(total, 1), np.nan)
    return out.astype(np.float64)


_SOUNDEX = {
    c: d
    for d, letters in enumerate(("AEIOUYHW", "BFPV", "CGJKQSXZ", "DT", "L", "MN", "R"))
    for c in letters
}


def soundex(name: str | None) -> str | None:
    """American Soundex of a name (None for no letters)."""
    letters = [c for c in (name or "").upper() if c.isalpha() and "A" <= c <= "Z"]
    if not letters:
        return None
    code, last = letters[0], _SOUNDEX.get(letters[0], 0)
    for c in letters[1:]:
        d = _SOUNDEX.get(c, 0)
        if d and d != last:
            code += str(d)
        if c not in "HW":
            last = d
    return (code + "000")[:4]


def blocking_keys(
    key: bytes,
    *,
    forename: str | None,
    surname: str | None,
    dob: dt.date | None,
    postcode: str | None,
    district: str | None,
    groups: str | None = None,
) -> str:
    """Keyed hashes of the blocking values of one record, space-separated.

    A pair of records is compared at the hub when they share one: the same date of birth;
    the sound of a name and the year of birth; the sounds of both names; the same
    postcode; the sound of the forename and the postcode district; the day and month of
    birth and the district."""
    fs, ss = soundex(forename), soundex(surname)
    year = None if dob is None else f"{dob.year:04d}"
    md = None if dob is None else f"{dob.month:02d}{dob.day:02d}"
    pc = None if not postcode else postcode.replace(" ", "").upper()
    dist = None if not district else district.replace(" ", "").upper()
    parts = {
        "dob": None if dob is None else dob.isoformat(),
        "sy": f"{ss}|{year}" if ss and year else None,
        "fy": f"{fs}|{year}" if fs and year else None,
        "fs": f"{fs}|{ss}" if fs and ss else None,
        "pc": pc,
        "fd": f"{fs}|{dist}" if fs and dist else None,
        "md": f"{md}|{dist}" if md and dist else None,
    }
    items = [(name, v) for name, v in parts.items() if v]
    if year:  # a nickname group and the year of birth, for each group of the forename
        items += [("gy", f"{g}|{year}") for g in sorted(set((groups or "").split()))]
    sub = _subkey(key, "block")
    return " ".join(
        f"{name}{hmac.new(sub, f'{name}:{v}'.encode(), hashlib.sha256).hexdigest()[:16]}"
        for name, v in items
    )


def encode_records(
    key: bytes,
    *,
    forename: Sequence[str | None],
    surname: Sequence[str | None],
    dob: Sequence[dt.date | None],
    sex: Sequence[str | None],
    postcode: Sequence[str | None],
    district: Sequence[str | None],
    identifiers: Mapping[str, Sequence[str | None]] | None = None,
    forename_groups: Sequence[str | None] | None = None,
) -> dict[str, list[str | None]]:
    """Every encoded column for a batch of records (canonical values in, encodings out):
    the CLK of each field, a keyed hash of each identifier, the blocking keys and the
    scheme. Sex "U" counts as no value. ``forename_groups`` are the nickname groups of a
    record's forename and preferred name (space-separated, ``linkage.names``)."""
    n = len(forename)
    groups = list(forename_groups) if forename_groups is not None else [None] * n
    values: dict[str, Sequence[str | dt.date | None]] = {
        "forename": forename,
        "forename_groups": groups,
        "surname": surname,
        "dob": dob,
        "dob_unordered": dob,
        "sex": [s if s in ("F", "M") else None for s in sex],
        "postcode": postcode,
        "district": district,
    }
    out: dict[str, list[str | None]] = {
        clk_column(spec.name): encode_field(key, spec, values[spec.name]) for spec in CLK_FIELDS
    }
    for kind, ids in (identifiers or {}).items():
        out[hash_column(kind)] = [
            None if v is None or str(v).strip() == "" else keyed_hash(key, kind, str(v).strip())
            for v in ids
        ]
    out[BLOCK_COLUMN] = [
        blocking_keys(
            key,
            forename=forename[i],
            surname=surname[i],
            dob=dob[i],
            postcode=postcode[i],
            district=district[i],
            groups=groups[i],
        )
        or None
        for i in range(n)
    ]
    out[SCHEME_COLUMN] = [SCHEME] * n
    return out
