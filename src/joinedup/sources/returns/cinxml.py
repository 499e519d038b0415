"""The children in need census XML, staged as one row per event (issue 13, national returns).

A CIN census return is ``Message/Children/Child``: each child has identifiers
(``ChildIdentifiers``: LAchildID, UPN, FormerUPN, PersonBirthDate, GenderCurrent, ...),
characteristics (``Ethnicity``, ``Disabilities``) and one or more CIN episodes
(``CINdetails``), each with its assessments, section 47 enquiries, CIN plans and child
protection plans. :func:`stage_cin_census` stages it in the columns of the return's
table (``config/data/returns/cin_census_xml.yaml``): rows in file order, each episode and
then each element of it; every row carries its child's fields and its episode's
``CINreferralDate``; ``Record`` says which element a row is, ``Child`` is the child's
number in the file and ``Line`` the line its element starts on.

The file is streamed (SAX, through ``defusedxml``: a document type, an entity or an
external reference is refused, so a return cannot expand without limit) and only one
child is held at a time. What is wrong costs as little as it can:

* a child without ``LAchildID``, an episode without ``CINreferralDate``, an element
  without its start date: its rows are set aside (``missing_field``), naming the child
  by its number and line, never a value;
* XML that is not well formed: the file is refused, naming the line and column.
"""

from __future__ import annotations

import re
import xml.sax
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.sax
import duckdb
import pyarrow as pa

from joinedup.config.returns import return_spec
from joinedup.errors import SourceError
from joinedup.sources.readreport import RejectSink

__all__ = ["CIN_COLUMNS", "ITEMS", "MAX_ROWS_PER_CHILD", "MAX_TEXT", "stage_cin_census"]

#: The staged columns, as the built-in mapping reads them.
CIN_COLUMNS: tuple[str, ...] = return_spec("cin_census_xml").tables["cin"].columns

_CHILD_FIELDS = frozenset(
    {
        "LAchildID",
        "UPN",
        "FormerUPN",
        "UPNunknown",
        "PersonBirthDate",
        "ExpectedPersonBirthDate",
        "GenderCurrent",
        "PersonDeathDate",
        "Ethnicity",
    }
)
_EPISODE_FIELDS = frozenset(
    {
        "CINreferralDate",
        "ReferralSource",
        "PrimaryNeedCode",
        "CINclosureDate",
        "ReasonForClosure",
        "ReferralNFA",
    }
)
#: Other names some census years give a field.
_ALIASES = {"Sex": "GenderCurrent", "ICPCdate": "DateOfInitialCPC"}


@dataclass(frozen=True)
class _ItemKind:
    record: str  # the Record column's value
    words: str  # how a message names it
    fields: frozenset[str]
    required: str


#: The elements of a CIN episode staged as rows of their own, by element name.
ITEMS: dict[str, _ItemKind] = {
    "Assessments": _ItemKind(
        "assessment",
        "assessment",
        frozenset(
            {
                "AssessmentActualStartDate",
                "AssessmentInternalReviewDate",
                "AssessmentAuthorisationDate",
            }
        ),
        "AssessmentActualStartDate",
    ),
    "Section47": _ItemKind(
        "section47",
        "section 47 enquiry",
        frozenset(
            {"S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC", "ICPCnotRequired"}
        ),
        "S47ActualStartDate",
    ),
    "CINPlanDates": _ItemKind(
        "cin_plan",
        "CIN plan",
        frozenset({"CINPlanStartDate", "CINPlanEndDate"}),
        "CINPlanStartDate",
    ),
    "ChildProtectionPlans": _ItemKind(
        "cp_plan",
        "child protection plan",
        frozenset(
            {
                "CPPstartDate",
                "CPPendDate",
                "InitialCategoryOfAbuse",
                "LatestCategoryOfAbuse",
                "NumberOfPreviousCPP",
            }
        ),
        "CPPstartDate",
    ),
}

MAX_TEXT = 1 << 20
"""The longest text one element may hold (1 MB): a census value is a few characters."""

MAX_ROWS_PER_CHILD = 100_000
"""A child with more episodes and elements than this is not a census return."""

_BATCH = 10_000
_PROBLEM = "missing_field"
_FIX = "add it in the case management system and export the return again"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,40}")


@dataclass
class _Item:
    kind: _ItemKind
    line: int
    depth: int
    fields: dict[str, str] = field(default_factory=dict)
    factors: list[str] = field(default_factory=list)


@dataclass
class _Episode:
    line: int
    depth: int
    fields: dict[str, str] = field(default_factory=dict)
    items: list[_Item] = field(default_factory=list)


@dataclass
class _Child:
    number: int
    line: int
    depth: int
    fields: dict[str, str] = field(default_factory=dict)
    disabilities: list[str] = field(default_factory=list)
    episodes: list[_Episode] = field(default_factory=list)
    rows: int = 0


class _Refused(Exception):  # noqa: N818 (carries a SourceError's message out of SAX)
    pass


class _Writer:
    """Rows into ``{data}`` in batches; rows set aside into the sink; numbers for both."""

    def __init__(self, con: duckdb.DuckDBPyConnection, data: str, sink: RejectSink) -> None:
        self.con, self.data, self.sink = con, data, sink
        self.next_row = 1
        self.loaded = 0
        self._cols: dict[str, list[str | None]] = {c: [] for c in CIN_COLUMNS}
        self._rows: list[int] = []
        cols = ", ".join(f'"{c}" VARCHAR' for c in CIN_COLUMNS)
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{data}" (_row BIGINT, {cols})')

    def row(self, values: dict[str, str]) -> None:
        self._rows.append(self.next_row)
        self.next_row += 1
        for c, vals in self._cols.items():
            vals.append(values.get(c) or None)
        if len(self._rows) >= _BATCH:
            self.flush()

    def reject(self, count: int, reason: str, column: str) -> None:
        for _ in range(count):
            self.sink.reject(self.next_row, _PROBLEM, reason, column)
            self.next_row += 1

    def flush(self) -> None:
        if not self._rows:
            return
        arrays = {"_row": pa.array(self._rows, pa.int64())}
        arrays.update({c: pa.array(v, pa.string()) for c, v in self._cols.items()})
        batch = pa.table(arrays)
        self.con.register("_ju_cin_batch", batch)
        try:
            self.con.execute(f'INSERT INTO "{self.data}" SELECT * FROM _ju_cin_batch')
        finally:
            self.con.unregister("_ju_cin_batch")
        self.loaded += len(self._rows)
        self._rows.clear()
        for v in self._cols.values():
            v.clear()


class _Handler(xml.sax.ContentHandler):
    """Collects one child at a time and hands it to the writer at its end tag."""

    def __init__(self, writer: _Writer, file: str) -> None:
        super().__init__()
        self.writer, self.file = writer, file
        self.stack: list[str] = []
        self.text: list[str] = []
        self.text_len = 0
        self.children = 0
        self.child: _Child | None = None
        self.episode: _Episode | None = None
        self.item: _Item | None = None
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 (SAX's name)
        self.locator = locator

    def _line(self) -> int:
        return int(self.locator.getLineNumber()) if self.locator is not None else 0

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802
        local = name.rpartition(":")[2]
        if not self.stack and local != "Message":
            shown = f"<{local}>" if _NAME.fullmatch(local) else "another element"
            raise _Refused(
                f"{self.file}: is XML, but not a children in need census return: its root "
                f"element is {shown}, not <Message>. Check 'file:' and 'format:' for this "
                "source."
            )
        self.stack.append(local)
        self.text, self.text_len = [], 0
        depth = len(self.stack)
        if local == "Child" and self.child is None:
            self.children += 1
            self.child = _Child(self.children, self._line(), depth)
        elif local == "CINdetails" and self.child is not None and self.episode is None:
            self.episode = _Episode(self._line(), depth)
            self._count()
        elif local in ITEMS and self.episode is not None and self.item is None:
            self.item = _Item(ITEMS[local], self._line(), depth)
            self._count()

    def _count(self) -> None:
        assert self.child is not None
        self.child.rows += 1
        if self.child.rows > MAX_ROWS_PER_CHILD:
            raise _Refused(
                f"{self.file}: child {self.child.number} (line {self.child.line}) has more "
                f"than {MAX_ROWS_PER_CHILD:,} CIN episodes and elements, more than a census "
                "return holds: the file is damaged or is not a return; export it again."
            )

    def characters(self, content: str) -> None:
        self.text_len += len(content)
        if self.text_len > MAX_TEXT:
            raise _Refused(
                f"{self.file}: an element at line {self._line()} holds more than "
                f"{MAX_TEXT:,} characters, more than a census value: the file is damaged or "
                "is not a return; export it again."
            )
        self.text.append(content)

    def endElement(self, name: str) -> None:  # noqa: N802
        depth = len(self.stack)
        local = self.stack.pop() if self.stack else name.rpartition(":")[2]
        value = "".join(self.text).strip()
        self.text, self.text_len = [], 0
        child, episode, item = self.child, self.episode, self.item
        if item is not None and depth == item.depth:
            assert episode is not None
            episode.items.append(item)
            self.item = None
        elif episode is not None and depth == episode.depth:
            assert child is not None
            child.episodes.append(episode)
            self.episode = None
        elif child is not None and depth == child.depth:
            self.child = None
            _write_child(self.writer, child)
        elif value:
            key = _ALIASES.get(local, local)
            if item is not None:
                if key == "AssessmentFactor" and item.kind.record == "assessment":
                    item.factors.append(value)
                elif key in item.kind.fields:
                    item.fields.setdefault(key, value)
            elif episode is not None:
                if key in _EPISODE_FIELDS:
                    episode.fields.setdefault(key, value)
            elif child is not None:
                if key == "Disability":
                    child.disabilities.append(value)
                elif key in _CHILD_FIELDS:
                    child.fields.setdefault(key, value)


def _write_child(w: _Writer, child: _Child) -> None:
    """The child's rows, or the reasons they were set aside."""
    where = f"child {child.number} (line {child.line})"
    if not child.episodes:
        w.reject(
            1,
            f"{where} has no CINdetails: the CIN census returns every child with at least one "
            "CIN episode, so the child was set aside; record the child's CIN episode in the "
            "case management system and export the return again",
            "",
        )
        return
    if "LAchildID" not in child.fields:
        w.reject(
            child.rows,
            f"{where} has no LAchildID, which the CIN census requires: the child's "
            f"{child.rows} row(s) were set aside; {_FIX}",
            "LAchildID",
        )
        return
    base = dict(child.fields)
    base["Child"] = str(child.number)
    if child.disabilities:
        base["Disabilities"] = ";".join(child.disabilities)
    for k, ep in enumerate(child.episodes, start=1):
        ep_where = f"{where}, CIN episode {k} (line {ep.line})"
        if "CINreferralDate" not in ep.fields:
            n = 1 + len(ep.items)
            w.reject(
                n,
                f"{ep_where} has no CINreferralDate, which the CIN census requires: the "
                f"episode's {n} row(s) were set aside; {_FIX}",
                "CINreferralDate",
            )
            continue
        row = {**base, **ep.fields, "Record": "cin_episode", "Episode": str(k)}
        w.row({**row, "Line": str(ep.line)})
        keep = {**base, "CINreferralDate": ep.fields["CINreferralDate"], "Episode": str(k)}
        counts: dict[str, int] = {}
        for item in ep.items:
            kind = item.kind
            i = counts[kind.record] = counts.get(kind.record, 0) + 1
            if kind.required not in item.fields:
                w.reject(
                    1,
                    f"{where}, CIN episode {k}, {kind.words} {i} (line {item.line}) has no "
                    f"{kind.required}, which the CIN census requires: the row was set aside; "
                    f"{_FIX}",
                    kind.required,
                )
                continue
            values = {**keep, **item.fields, "Record": kind.record, "Item": str(i)}
            if item.factors:
                values["AssessmentFactors"] = ";".join(item.factors)
            w.row({**values, "Line": str(item.line)})


_MESSAGES = {
    "no element found": "it ends before its elements are closed: the file looks cut short",
    "mismatched tag": "an end tag does not match the element it closes",
    "unclosed token": "a tag or value is never closed",
    "junk after document element": "there is more after the end of the return's </Message>",
}


def stage_cin_census(
    con: duckdb.DuckDBPyConnection, path: Path, data: str, sink: RejectSink
) -> int:
    """Stage a CIN census XML file as ``data`` (``_row`` and :data:`CIN_COLUMNS`); the
    number of rows loaded. Raises :class:`SourceError` for a file that is not a well-formed
    census return."""
    file = path.name
    with path.open("rb") as fh:
        head = fh.read(4096)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"<") and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(
            f"{file}: is not XML (it does not start with '<'). Check 'file:' points at the "
            "CIN census return and 'format:' for this source."
        )
    writer = _Writer(con, data, sink)
    handler = _Handler(writer, file)
    try:
        with path.open("rb") as fh:
            defusedxml.sax.parse(fh, handler, forbid_dtd=True)
    except _Refused as exc:
        raise SourceError(str(exc)) from None
    except xml.sax.SAXParseException as exc:
        msg = str(exc.getMessage())
        why = _MESSAGES.get(msg, f"the XML parser reports: {msg}")
        raise SourceError(
            f"{file}: is not well-formed XML at line {exc.getLineNumber()}, column "
            f"{(exc.getColumnNumber() or 0) + 1} ({why}). Export the return again; nothing from "
            "this file was loaded."
        ) from None
    except defusedxml.DefusedXmlException:
        raise SourceError(
            f"{file}: declares a document type, an entity or an external reference, which "
            "a CIN census return does not have and joinedup does not read (such a file can "
            "expand without limit). Export the return again without them."
        ) from None
    writer.flush()
    return writer.loaded
