"""Answers published by cell key perturbation, when the partnership chooses it (issue 19).

``disclosure.method: cell_key`` in partnership.yaml puts ``method="cell_key"`` on every
tier's policy (:func:`joinedup.disclosure.policy_for`). The rule is
:func:`joinedup.disclosure.cellkey.perturb`: each count moves to a multiple of 5 (or the
tier's rounding base, if larger), up or down as its cell key says, and a count then from 1
to the threshold is shown as "c". Cell keys are counted at build beside every count of a
question (:mod:`joinedup.insight.cellkeys`), so the same people give the same published
figure in every table, period and release, and no secondary suppression is needed: the
one-way tables, crossed tables and periods of a question are each perturbed cell by cell.

Figures whose cells carry no cell key (a release built before cell keys were stored)
keep primary and secondary suppression, and say so in their footnote.

Pages that count on request outside the questions (the overview, places, networks, data
quality, linkage, releases) are perturbed too, through :class:`PageKeys`
(:func:`page_keys`): a count of people, events, places or groups gets its cell key from
the same units' record keys as the questions' (the partnership's secret, read from the
partnership folder, keys them; it never enters a release), so the same people give the
same figure on a page as in a question's answer. Counts the release stores only as
numbers (counts of records, the linkage report's pairs) get a *count key* instead: a keyed
hash of what the cell counts and how many (:meth:`PageKeys.perturb`), so the same cell
with the same count gives the same figure on every page and in every release. Without
the secret at hand such pages keep suppression, and their footnote says so
(:func:`page_disclosure`).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from joinedup.config import CONFIG_FILE
from joinedup.disclosure import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    Relation,
    TwoWayTable,
    protect_cells,
    suppression_footnote,
)
from joinedup.disclosure.cellkey import CELL_KEY_BASE, perturb
from joinedup.errors import JoinedupError
from joinedup.insight import Answer, AnswerCell, Period
from joinedup.insight.cellkeys import RecordKeys, cell_key_sql, register_record_keys
from joinedup.insight.tally import Layout, tally_keyed
from joinedup.state.keys import secret_path

__all__ = [
    "CELL_KEY",
    "KEYED",
    "NO_SECRET_NOTE",
    "ON_REQUEST_NOTE",
    "PageKeys",
    "cell_key_footnote",
    "disclosure_dict",
    "keys_for_release",
    "page_disclosure",
    "page_keys",
    "perturb_answer",
    "perturb_cell",
    "perturbed_grid",
    "protect_counts",
    "uses_cell_key",
]

K = TypeVar("K", bound=Hashable)

#: The value of ``disclosure.method`` (and of a policy's ``method``) that chooses it.
CELL_KEY = "cell_key"

Key = tuple[str | None, str | None]

#: The period note of an answer counted on request and published by cell key perturbation.
ON_REQUEST_NOTE = (
    "Counted on request for this period and protected like every figure, by cell key "
    "perturbation: the same children give the same number in any period that counts them; "
    "there is no comparison with the previous release."
)


def uses_cell_key(policy: DisclosurePolicy, cells: Iterable[AnswerCell]) -> bool:
    """True when ``policy`` chooses cell key perturbation and every count of ``cells``
    that is not zero carries its cell key (a zero is published as 0 whatever its key)."""
    if getattr(policy, "method", "suppression") != CELL_KEY:
        return False
    return all(c.cell_key is not None for c in cells if c.units > 0)


def perturb_cell(units: int, ckey: int | None, policy: DisclosurePolicy) -> Cell:
    """One count as published: perturbed by its cell key; "c" when it has none (it
    cannot be published consistently with the same people elsewhere)."""
    if units == 0:
        return 0
    if ckey is None:
        return SUPPRESSED
    return perturb(units, ckey, policy)


def perturb_answer(
    answer: Answer, policy: DisclosurePolicy, *, previous: bool = False
) -> dict[Key, Cell]:
    """Every cell of an answer's table (each split x category, with the totals) as
    published: its count, or with ``previous`` the previous release's count, each
    perturbed by its own cell key."""
    splits: list[str | None] = [*answer.splits, None]
    cats: list[str | None] = [*answer.categories, None]
    out: dict[Key, Cell] = {}
    for s in splits:
        for c in cats:
            cell = answer.cells.get((s, c))
            if cell is None:
                out[(s, c)] = 0
            elif previous:
                out[(s, c)] = perturb_cell(cell.previous or 0, cell.previous_cell_key, policy)
            else:
                out[(s, c)] = perturb_cell(cell.units, cell.cell_key, policy)
    return out


def cell_key_footnote(policy: DisclosurePolicy) -> str:
    """The footnote wherever figures published by cell key perturbation are shown."""
    base = max(CELL_KEY_BASE, policy.rounding_base or 1)
    return (
        f"Numbers are moved up or down to a multiple of {base} to protect the children and "
        "young people they count (cell key perturbation, the method the ONS used for "
        "Census 2021): the same people always give the same number, in every table, period "
        "and release, so a number cannot be worked out by comparing tables, and numbers may "
        f"not add up to their totals. “{SUPPRESSED}” means the number would be between 1 and "
        f"{policy.threshold}. Zero is shown as 0."
    )


def disclosure_dict(policy: DisclosurePolicy, footnote: str, *, keyed: bool) -> dict[str, Any]:
    """The ``disclosure`` facts of a protected answer: as before for suppression; with
    ``method`` "cell_key" and the cell key footnote when the answer was perturbed."""
    out: dict[str, Any] = {
        "threshold": policy.threshold,
        "rounding_base": policy.rounding_base,
        "suppressed": SUPPRESSED,
        "footnote": cell_key_footnote(policy) if keyed else footnote,
    }
    if keyed:
        out["method"] = CELL_KEY
        out["base"] = max(CELL_KEY_BASE, policy.rounding_base or 1)
    return out


def perturbed_grid(
    con: duckdb.DuckDBPyConnection,
    rows_sql: str,
    layout: Layout,
    period: Period,
    policy: DisclosurePolicy,
    *,
    by: tuple[str, str],
    margins: tuple[Mapping[str, Cell], Mapping[str, Cell], Cell],
) -> TwoWayTable[str, str]:
    """A grid of a question's keyed rows (``rows_sql`` from
    :func:`joinedup.insight.tally.rows_sql` with ``keyed=True``, filtered as the caller
    needs) by the columns ``by`` (row, column), each cell perturbed by its own cell key;
    ``margins`` (row totals, column totals, total) are the figures other tables already
    publish for them. For a slice of a crossed answer (one type of exploitation by area
    and period, on the indicator pages)."""
    ca, cb = by
    row_totals, col_totals, total = margins
    cells: dict[tuple[str, str], Cell] = {(r, c): 0 for r in row_totals for c in col_totals}
    for (cols, values), (units, ckey) in tally_keyed(con, rows_sql, layout, period, [by]).items():
        if len(cols) == 2:
            named = dict(zip(cols, values, strict=True))
            if (named[ca], named[cb]) in cells:
                cells[(named[ca], named[cb])] = perturb_cell(units, ckey, policy)
    return TwoWayTable(
        cells=cells, row_totals=dict(row_totals), col_totals=dict(col_totals), total=total
    )


# --- pages that count on request (issue 19, item 7) --------------------------------------

#: What a page chosen for cell key perturbation says when it has to keep suppression.
NO_SECRET_NOTE = (
    " Cell key perturbation was chosen, but the partnership's secret cannot be read where "
    "this page was made, so its figures keep suppression."
)

_COUNT_LABEL = b"joinedup cell key of a stored count v1"


class PageKeys:
    """Record keys (for counts of units the release lists) and count keys (for counts it
    stores only as numbers) under the partnership's secret, for one page's figures."""

    def __init__(self, secret: bytes) -> None:
        self._keys = RecordKeys(secret)
        self._count_secret = hmac.new(secret, _COUNT_LABEL, hashlib.sha256).digest()
        #: names the keys without revealing them (for caches of perturbed figures)
        self.fingerprint = hmac.new(self._count_secret, b"fp", hashlib.sha256).hexdigest()[:16]

    def units(self, con: duckdb.DuckDBPyConnection, name: str, units_sql: str) -> str:
        """Register the view ``name`` of (unit_id, record_key, k) for the units
        ``units_sql`` selects (person, event, place or group ids: the questions' unit ids,
        so the same units have the same keys); returns ``name``."""
        register_record_keys(con, name, units_sql, self._keys)
        return name

    def count_key(self, cell: Hashable, count: int) -> int:
        """A stored count's cell key: a keyed hash of the cell (a tuple of plain values,
        the same on every page that shows it) and its count."""
        msg = f"{cell!r}|{int(count)}".encode()
        return hmac.new(self._count_secret, msg, hashlib.sha256).digest()[0]

    def perturb(self, cell: Hashable, count: int, policy: DisclosurePolicy) -> Cell:
        """A stored count as published, perturbed by its count key."""
        return perturb_cell(int(count), self.count_key(cell, count), policy)


#: The SQL aggregate of a cell's key over rows joined to a units view aliased ``ck``.
KEYED = cell_key_sql("ck.k")

_PAGE_KEYS: dict[bytes, PageKeys] = {}
_LOCK = threading.Lock()


def page_keys(partnership_dir: Path | None, policy: DisclosurePolicy) -> PageKeys | None:
    """The keys a page perturbs its counts with, when ``policy`` chooses cell key
    perturbation and the partnership's secret can be read (None otherwise: the page keeps
    suppression and :func:`page_disclosure` says why)."""
    if getattr(policy, "method", "suppression") != CELL_KEY or partnership_dir is None:
        return None
    try:
        path = secret_path(Path(partnership_dir))
        text = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    except (OSError, UnicodeDecodeError, JoinedupError):
        return None
    if len(text) < 32:
        return None
    digest = hashlib.sha256(text.encode()).digest()
    with _LOCK:
        keys = _PAGE_KEYS.get(digest)
        if keys is None:
            if len(_PAGE_KEYS) > 8:
                _PAGE_KEYS.clear()
            keys = _PAGE_KEYS[digest] = PageKeys(text.encode())
    return keys


def keys_for_release(handle: object, policy: DisclosurePolicy) -> PageKeys | None:
    """:func:`page_keys` for the partnership a release handle belongs to (its database
    lies in ``DIR/releases/<id>/``), for callers that hold only the handle."""
    if getattr(policy, "method", "suppression") != CELL_KEY:
        return None
    path = getattr(handle, "db_path", None)
    if path is None:
        return None
    for parent in list(Path(path).resolve().parents)[:4]:
        if (parent / CONFIG_FILE).is_file():
            return page_keys(parent, policy)
    return None


def page_disclosure(
    policy: DisclosurePolicy, keys: PageKeys | None, *, kept: str | None = None
) -> dict[str, Any]:
    """A page's ``disclosure`` facts: the cell key footnote when ``keys`` perturb its
    figures (``kept`` adds what the page still protects by suppression, and why); the
    suppression footnote otherwise, saying so when cell key perturbation was chosen."""
    if keys is None:
        note = suppression_footnote(policy)
        if getattr(policy, "method", "suppression") == CELL_KEY:
            note += NO_SECRET_NOTE
        return disclosure_dict(policy, note, keyed=False)
    out = disclosure_dict(policy, "", keyed=True)
    if kept:
        out["footnote"] += " " + kept
    return out


def protect_counts(
    values: Mapping[K, int],
    relations: Iterable[Relation[K]],
    policy: DisclosurePolicy,
    keys: PageKeys | None,
    *,
    space: Hashable,
    hidden: Iterable[K] = (),
) -> dict[K, Cell]:
    """Stored counts as published: each perturbed by its count key (cell ``(space,
    key)``) when ``keys`` are given, else protected by suppression with ``relations``
    (the cells ``hidden`` hidden whatever they are)."""
    if keys is None:
        return protect_cells(dict(values), list(relations), policy, hidden=list(hidden))
    return {k: keys.perturb((space, k), n, policy) for k, n in values.items()}
