"""Objections and opt-outs (issue 19): records of people who objected, left out at build.

``DIR/objections.csv`` lists objections as keyed hashes, never as identifiers: columns
``kind`` (``nhs_number``, ``upn``, ``pnc_id`` or ``name_dob``), ``hash`` (HMAC-SHA256
with the objection key, derived from the partnership's secret, of the normalised value),
``added`` (a date) and ``reference`` (the agency's case reference, optional). ``joinedup
objection add`` writes it, reading the identifier from a prompt and storing only the
hash; an agency that keeps its own list hashes each value with :func:`objection_hash`.

The ``objections`` stage (after ``retention``, before linkage) hashes the same fields of
every record whose agreement allows objection (``config.purposes.allows_objection``) and
leaves out each record that matches, with everything that hangs on it. The count per
source goes into ``lineage`` (kind ``objection``); outputs show it protected (a count
below the disclosure threshold is "c"), and no output ever lists who objected.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import re
from collections.abc import Iterable
from pathlib import Path

from joinedup.config.purposes import allows_objection
from joinedup.errors import ConfigError
from joinedup.pipeline.context import BuildContext
from joinedup.pipeline.retention import drop_records, record_exclusions

__all__ = [
    "KINDS",
    "OBJECTIONS_FILE",
    "add_objection",
    "apply_objections",
    "normalise",
    "objection_hash",
    "objection_key",
    "read_objections",
]

#: The objections list, in the partnership folder (hashes only).
OBJECTIONS_FILE = "objections.csv"
#: What an objection can name: an identifier, or forename, surname and date of birth.
KINDS = ("nhs_number", "upn", "pnc_id", "name_dob")
_HEADER = ["kind", "hash", "added", "reference"]


def objection_key(secret: bytes) -> bytes:
    """The objection key: derived from the partnership's secret, never the secret itself."""
    return hmac.new(secret, b"joinedup objections v1", hashlib.sha256).digest()


def _letters(text: str) -> str:
    return re.sub(r"[^A-Z]", "", text.upper())


def normalise(kind: str, value: str | tuple[str, str, str]) -> str | None:
    """The normalised text hashed for ``kind`` (None for an empty or impossible value).

    ``name_dob`` takes (forename, surname, date of birth as YYYY-MM-DD): letters only,
    upper case, so "O'Neil" and "ONEIL" agree."""
    if kind == "name_dob":
        if isinstance(value, str):
            return None
        fore, sur, dob = (_letters(value[0]), _letters(value[1]), str(value[2]).strip())
        if not (fore and sur and re.fullmatch(r"\d{4}-\d{2}-\d{2}", dob)):
            return None
        return f"{fore}|{sur}|{dob}"
    if not isinstance(value, str):
        return None
    if kind == "nhs_number":
        digits = re.sub(r"\D", "", value)
        return digits if len(digits) == 10 else None
    if kind in ("upn", "pnc_id"):
        text = re.sub(r"[\s/]", "", value.upper())
        return text or None
    raise ValueError(f"unknown objection kind {kind!r}; use one of {', '.join(KINDS)}")


def objection_hash(key: bytes, kind: str, value: str | tuple[str, str, str]) -> str | None:
    """The keyed hash of one identifier (None when it normalises to nothing)."""
    text = normalise(kind, value)
    if text is None:
        return None
    return hmac.new(key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()


def read_objections(partnership_dir: Path) -> dict[str, set[str]]:
    """kind -> hashes from ``DIR/objections.csv`` (empty when there is no file)."""
    path = Path(partnership_dir) / OBJECTIONS_FILE
    if not path.is_file():
        return {}
    out: dict[str, set[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"kind", "hash"} <= set(reader.fieldnames):
            raise ConfigError(
                f"{path}: the header must name the columns kind and hash (and optionally "
                "added, reference); write it with `joinedup objection add`"
            )
        for n, row in enumerate(reader, start=2):
            kind, digest = (row.get("kind") or "").strip(), (row.get("hash") or "").strip()
            if kind not in KINDS or not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ConfigError(
                    f"{path}, row {n}: kind must be one of {', '.join(KINDS)} and hash 64 "
                    "hexadecimal characters (a keyed hash, never the identifier itself); "
                    "write rows with `joinedup objection add`"
                )
            out.setdefault(kind, set()).add(digest)
    return out


def add_objection(
    partnership_dir: Path,
    secret: bytes,
    kind: str,
    value: str | tuple[str, str, str],
    *,
    reference: str = "",
    today: dt.date | None = None,
) -> bool:
    """Add one objection to ``DIR/objections.csv`` as its keyed hash; False when it was
    there already. Raises ``ValueError`` when the value is not a valid identifier."""
    digest = objection_hash(objection_key(secret), kind, value)
    if digest is None:
        raise ValueError(f"that is not a valid {kind.replace('_', ' ')}; nothing was stored")
    if digest in read_objections(partnership_dir).get(kind, set()):
        return False
    path = Path(partnership_dir) / OBJECTIONS_FILE
    new = not path.is_file()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if new:
        writer.writerow(_HEADER)
    writer.writerow([kind, digest, (today or dt.date.today()).isoformat(), reference])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    path.chmod(0o600)
    return True


def _matches(
    rows: Iterable[tuple[object, ...]], key: bytes, wanted: dict[str, set[str]]
) -> list[tuple[str, str]]:
    out = []
    for source, rid, nhs, upn, pnc, fore, sur, dob in rows:
        found = False
        for kind, value in (("nhs_number", nhs), ("upn", upn), ("pnc_id", pnc)):
            if value and kind in wanted and objection_hash(key, kind, str(value)) in wanted[kind]:
                found = True
        if not found and "name_dob" in wanted and fore and sur and dob:
            digest = objection_hash(key, "name_dob", (str(fore), str(sur), str(dob)))
            found = digest in wanted["name_dob"]
        if found:
            out.append((str(source), str(rid)))
    return out


def apply_objections(ctx: BuildContext) -> None:
    """The ``objections`` stage: leave out the records of people who objected, where
    their record's agreement allows objection."""
    wanted = read_objections(ctx.partnership_dir)
    ctx.progress("objections", 0, 1)
    agreements = {a.key: a for a in ctx.config.sharing_agreements}
    sources = [
        s.id
        for s in ctx.config.sources
        if (a := agreements.get(s.sharing_agreement)) is not None and allows_objection(a)
    ]
    if not wanted or not sources:
        ctx.progress("objections", 1, 1)
        return
    marks = ", ".join("?" for _ in sources)
    rows = ctx.con.execute(
        "SELECT source, source_record_id, nhs_number, upn, pnc_id, forename, surname, "
        f"strftime(dob, '%Y-%m-%d') FROM identity WHERE source IN ({marks})",
        sources,
    ).fetchall()
    hits = _matches(rows, objection_key(ctx.secret), wanted)
    ctx.con.execute("CREATE OR REPLACE TEMP TABLE _ju_objected (source VARCHAR, id VARCHAR)")
    if hits:
        ctx.con.executemany("INSERT INTO _ju_objected VALUES (?, ?)", hits)
    counts = drop_records(ctx.con, "SELECT source, id AS source_record_id FROM _ju_objected")
    ctx.con.execute("DROP TABLE _ju_objected")
    record_exclusions(
        ctx.con, "objection", counts, "records of people who objected (counted, never listed)"
    )
    ctx.progress("objections", 1, 1)
