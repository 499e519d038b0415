"""Reading what children and young people say (issue 20, item 2): a survey's or mapping
exercise's extract, read by the sources' own readers, refused if it holds an identifier.

Participation data is collected on the promise that it is anonymous, so an extract with
a column that looks like a name, a date of birth or another personal identifier (NHS
number, UPN, e-mail, phone, home address) is refused before any of its rows is used,
whether or not the mapping reads that column: :func:`identifying_columns` finds them by
their headers, and :func:`stage_participation` raises a :class:`SourceError` naming the
file and the column (never a value) and saying how to fix it. A *place's* name or
postcode is not an identifier: "Place name" and "Postcode of the place" are read.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from joinedup.config.model import SourceConfig
from joinedup.config.participation import ParticipationSource
from joinedup.errors import Problem, SourceError
from joinedup.sources.readers import Staged, drop_staged, stage

__all__ = ["identifying_columns", "reader_source", "stage_participation"]

#: Headers (lower case, words only) that name a person or their identifiers.
_EXACT = {
    "name": "a name",
    "names": "a name",
    "forename": "a name",
    "forenames": "a name",
    "surname": "a name",
    "first name": "a name",
    "last name": "a name",
    "full name": "a name",
    "given name": "a name",
    "family name": "a name",
    "middle name": "a name",
    "preferred name": "a name",
    "known as": "a name",
    "initials": "a name",
    "dob": "a date of birth",
    "d o b": "a date of birth",
    "birthday": "a date of birth",
    "nhs": "an NHS number",
    "nhs no": "an NHS number",
    "nhs number": "an NHS number",
    "upn": "a unique pupil number",
    "unique pupil number": "a unique pupil number",
    "pupil number": "a unique pupil number",
    "email": "an e-mail address",
    "e mail": "an e-mail address",
    "email address": "an e-mail address",
    "phone": "a phone number",
    "telephone": "a phone number",
    "mobile": "a phone number",
    "phone number": "a phone number",
    "mobile number": "a phone number",
    "home address": "a home address",
    "home postcode": "a home postcode",
    "address": "a home address",
    "pnc id": "a police identifier",
}
#: A "... name" header is a person's name when what comes before is a person.
_WHO = (
    "child",
    "childs",
    "pupil",
    "pupils",
    "student",
    "students",
    "respondent",
    "respondents",
    "young person",
    "young persons",
    "person",
    "persons",
    "your",
    "my",
    "participant",
    "participants",
    "child s",
    "young person s",
)


def _words(header: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", header.casefold()).split())


def identifying_columns(columns: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """(column, what it looks like) for each header that names a person or their identifier."""
    out = []
    for col in columns:
        w = _words(col)
        what = _EXACT.get(w)
        if what is None and "birth" in w.split():
            what = "a date of birth"
        if what is None and w.endswith(" name") and w[: -len(" name")] in _WHO:
            what = "a name"
        if what is None and w.endswith((" nhs number", " upn", " dob", " date of birth")):
            what = "an identifier"
        if what is not None:
            out.append((col, what))
    return out


def reader_source(p: ParticipationSource) -> SourceConfig:
    """The source entry the readers take for ``p`` (its file, format and dialect)."""
    return SourceConfig.model_validate(
        {
            "id": p.id,
            "agency": p.agency,
            "dataset": p.title,
            "file": p.file,
            "format": p.format,
            "encoding": p.encoding,
            "delimiter": p.delimiter,
            "sheet": p.sheet,
            "header_row": p.header_row,
            "sharing_agreement": p.sharing_agreement,
            "record": {"id": {"value": "participation"}},
        }
    )


def stage_participation(
    con: duckdb.DuckDBPyConnection, path: Path, p: ParticipationSource, table: str, *, name: str
) -> Staged:
    """Stage ``p``'s file (``name`` as messages show it) as the view ``table``; refuse it,
    with every identifying or missing column named, before any row is used."""
    staged = stage(con, path, reader_source(p), table)
    problems = [
        Problem(
            f"{name}, column '{col}'",
            f"looks like {what}. Participation data must hold no identifier: ask for an "
            "extract without this column (or delete the column) and build again; nothing "
            "from this file was used",
        )
        for col, what in identifying_columns(staged.columns)
    ]
    present = set(staged.columns)
    where = f"participation ({p.id}).columns"
    problems += [
        Problem(
            f"{where}.{field}",
            f"{name} has no column '{col}'; its columns are: {', '.join(staged.columns)}. "
            "Check the header row and the column names in partnership.yaml",
        )
        for field, col in p.columns.mapped().items()
        if col not in present
    ]
    if problems:
        drop_staged(con, table)
        raise SourceError(
            f"{name} ({p.title}) was refused: {len(problems)} problem(s); nothing was published:",
            problems,
        )
    return staged
