"""A board's local profile report: its sections, gathered from protected figures only.

The model lives in ``present/`` so that every output can make one: ``joinedup report``
(``joinedup.report``) writes it as HTML, PDF or Excel, and the web app serves the PDF to
the roles that may download it. :func:`gather_report` builds it:

0. Key messages (:mod:`~joinedup.present.messages`): written from the figures, on the
   first page; then the trends of the board's lead questions by quarter, as lines
   (:mod:`~joinedup.present.profile_trends`).

A report follows the questions a board asks. :func:`gather_report` builds it:

1. "About this report": the release, the tier, the board, what "c" means.
2. The overview: people with an exploitation concern by type and by authority, each
   authority side by side for a regional partnership.
3. One section per question answered in the release that the board follows and the
   tier may see (``joinedup.views.questions``), shared questions first, then the
   partnership's local ones; broken down by authority, side by side, where a regional
   partnership's question allows it. A release built without answers just has none.
4. Data quality: each source's rows read, loaded and quarantined (protected like
   counts of people), with caveats.

Narrative the partnership writes in ``DIR/narrative/*.md`` is placed in the section of
the same id (``overview.md``, ``children_with_concern.md``, ``data_quality.md``), an
``introduction.md`` first, and any other file as its own section before data quality.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joinedup.errors import JoinedupError
from joinedup.present.charts import Chart, bar_chart, grouped_bar_chart, line_chart
from joinedup.present.format import format_date, release_name
from joinedup.present.messages import KeyMessage, key_messages
from joinedup.present.narrative import Narrative, read_narrative
from joinedup.present.profile_trends import Trend, gather_trends
from joinedup.present.tables import Column, ProtectedTable, answer_table, overview_tables
from joinedup.views import ReleaseLike, Tier, current_overview, partnership_config

__all__ = [
    "BOARDS",
    "BOARD_QUESTIONS",
    "MAX_BARS",
    "Report",
    "ReportError",
    "Section",
    "gather_report",
    "top_bars",
]

#: A chart draws at most this many bars: the largest, the rest are in the table beside it
#: (a 45-bar chart over four pages reads as nothing).
MAX_BARS = 12
_PERIODIC = frozenset({"quarter", "month", "year"})

BOARDS = {
    "children": "Children's safeguarding partnership",
    "adults": "Safeguarding adults board",
    "community-safety": "Community safety partnership",
}

#: The default questions each board follows, in order (question ids of
#: ``joinedup/insight/questions``). A partnership's own questions follow for every board.
BOARD_QUESTIONS: dict[str, tuple[str, ...]] = {
    "children": (
        "children_with_concern",
        "children_known_to_one_agency",
        "first_agency_to_record_concern",
        "journey_paths",
        "missing_children",
        "missing_episodes_rhi",
        "nrm_referrals",
        "school_outcomes",
        "disproportionality",
        "transition_17",
        "places_of_concern",
        "themes",
    ),
    "adults": (
        "young_adults_with_concern",
        "transition_17",
        "transition_18_24",
        "nrm_referrals",
        "persons_of_concern",
        "themes",
    ),
    "community-safety": (
        "concern_events",
        "places_of_concern",
        "persons_of_concern",
        "network_groups",
        "network_members",
        "nrm_referrals",
        "themes",
    ),
}


class ReportError(JoinedupError):
    """A report could not be made as asked."""


@dataclass
class Section:
    id: str
    title: str
    summary: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[ProtectedTable] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    narrative: Narrative | None = None
    local: bool = False


@dataclass
class Report:
    title: str
    board: str
    board_name: str
    tier: str
    release: dict[str, Any]
    footnote: str
    sections: list[Section]
    introduction: Narrative | None = None
    messages: list[KeyMessage] = field(default_factory=list)
    trends: list[Trend] = field(default_factory=list)
    period: str = ""  # the default period's label ("12 months to 31 October 2026")
    language: str = "en-GB"

    @property
    def release_name(self) -> str:
        """The release by its month ("November 2026 release")."""
        return release_name(self.release.get("release_id"))

    @property
    def as_at(self) -> str:
        """The date the figures are as at, as people write it."""
        return format_date(self.release.get("reference_date"))


def top_bars(
    labels: list[str], values: list[Any], limit: int = MAX_BARS
) -> tuple[list[str], list[Any], int]:
    """At most ``limit`` bars, the largest first (hidden "c" after every shown count, in
    their order), and how many were left out. Fewer than ``limit`` stay as they are."""
    if len(labels) <= limit:
        return labels, values, 0

    def key(i: int) -> tuple[int, int]:
        v = values[i]
        shown = isinstance(v, int) and not isinstance(v, bool)
        return (0 if shown else 1, -v if shown else i)

    keep = sorted(range(len(labels)), key=key)[:limit]
    return [labels[i] for i in keep], [values[i] for i in keep], len(labels) - limit


def _bars(
    title: str, labels: list[str], values: list[Any], *, chart_id: str, axis_title: str
) -> Chart:
    shown, counts, rest = top_bars(labels, values)
    if rest:
        title = f"{title}: the {len(shown)} largest of {len(labels)}; all are in the table"
    return bar_chart(title, shown, counts, chart_id=chart_id, axis_title=axis_title, width=300)


def _overview_section(protected: dict[str, Any], tables: dict[str, ProtectedTable]) -> Section:
    s = Section(
        "overview",
        "People with an exploitation concern",
        "Distinct people recorded as the victim or subject of at least one record of "
        "exploitation, and children recorded in it in any other role but witness (a child "
        "recorded as a suspect or offender is a child with a concern first), by type and by "
        "the local authority they live in. Adults recorded as persons of concern are not "
        "counted here.",
    )
    concerns = protected.get("concerns")
    if concerns:
        groups = [r["group"] for r in concerns["rows"]]
        s.charts.append(
            bar_chart(
                "People with an exploitation concern, by type",
                groups,
                [r["total"] for r in concerns["rows"]],
                chart_id="chart-overview-type",
                width=300,
            )
        )
        if len(concerns["authorities"]) > 1:
            s.charts.append(
                grouped_bar_chart(
                    "People with an exploitation concern, by type, each authority side by side",
                    groups,
                    [
                        (a["name"], [r["cells"][i] for r in concerns["rows"]])
                        for i, a in enumerate(concerns["authorities"])
                    ],
                    chart_id="chart-overview-authority",
                    width=300,
                )
            )
        s.tables.append(tables["concerns_by_type"])
        s.caveats.append(
            "A person with concerns of more than one type is counted once under each type, "
            "so the total of all types can be less than the sum of the types."
        )
    areas = protected.get("areas")
    if areas:
        s.charts.append(
            bar_chart(
                "People with an exploitation concern, by local authority",
                [a["name"] for a in areas["authorities"]],
                areas["persons_with_concern"],
                chart_id="chart-overview-area",
                width=300,
            )
        )
        s.tables.append(tables["concerns_by_authority"])
    if "people" in tables:
        s.tables.insert(0, tables["people"])
    return s


def _readable_sources(src: ProtectedTable, agency_names: dict[str, str]) -> ProtectedTable:
    """The sources table in people's words: the agency's name, not its id; the dataset,
    not the source id; the date as people write it. Narrow enough for an A4 page."""
    i = {k: src.keys.index(k) for k in src.keys}
    counts = [c for c in src.columns if c.kind == "count"]
    return ProtectedTable(
        name=src.name,
        title=src.title,
        columns=(
            Column("agency", "Agency"),
            Column("dataset", "Extract"),
            Column("extracted_at", "Extracted"),
            *counts,
        ),
        rows=tuple(
            (
                agency_names.get(str(r[i["agency"]]), str(r[i["agency"]])),
                r[i["dataset"]] or r[i["source"]],
                format_date(r[i["extracted_at"]]),
                *(r[i[c.key]] for c in counts),
            )
            for r in src.rows
        ),
        tier=src.tier,
        release_id=src.release_id,
        notes=src.notes,
        meta=src.meta,
    )


def _quality_section(
    tables: dict[str, ProtectedTable], agency_names: dict[str, str] | None = None
) -> Section:
    s = Section(
        "data_quality",
        "Data quality",
        "The agency extracts behind these figures: counts of rows in each file. A row stands "
        "for a person or an event about one, so small counts are hidden (“c”) as counts of "
        "people are. Rows that could not be read correctly are kept aside (quarantined) and "
        "left out of every figure.",
    )
    src = tables.get("sources")
    if src is not None:
        if {"agency", "dataset", "extracted_at", "source"} <= set(src.keys):
            src = _readable_sources(src, agency_names or {})
        s.tables.append(src)
        # The protected totals (never a sum of the shown rows: that would add up round a
        # hidden count).
        totals = src.meta.get("totals") or {}
        read, held = totals.get("rows_read"), totals.get("rows_quarantined")
        if isinstance(read, int) and isinstance(held, int) and read:
            s.caveats.append(
                f"{held:,} of {read:,} rows ({held / read:.1%}) were quarantined across "
                f"{len(src.rows)} extracts; figures leave those rows out."
            )
        elif read is not None:
            s.caveats.append(
                f"Rows were quarantined across {len(src.rows)} extracts; figures leave those "
                "rows out. Counts too small to publish are shown as “c”."
            )
    s.caveats.append(
        "Figures count people whose records were linked across agencies. A person recorded "
        "by two agencies whose records could not be linked is counted twice."
    )
    return s


def _listing(
    partnership_dir: Path, tier: Tier, open_release: Callable[[Path], ReleaseLike] | None
) -> dict[str, Any] | None:
    from joinedup.views.questions import current_questions

    try:
        return current_questions(partnership_dir, tier, open_release=open_release)
    except JoinedupError:
        return None  # a release built without answers to questions


def _board_questions(listing: dict[str, Any] | None, board: str) -> list[dict[str, Any]]:
    """The board's questions answered in the release that the tier may see, in order."""
    if listing is None:
        return []
    available = {q["id"]: q for q in listing["questions"] if q["available"]}
    return [available[q] for q in BOARD_QUESTIONS[board] if q in available]


def _question_sections(
    partnership_dir: Path,
    board: str,
    tier: Tier,
    regional: bool,
    listing: dict[str, Any] | None,
    open_release: Callable[[Path], ReleaseLike] | None,
) -> list[Section]:
    from joinedup.views.questions import current_answer

    if listing is None:
        return []
    available = {q["id"]: q for q in listing["questions"] if q["available"]}
    wanted = [q for q in BOARD_QUESTIONS[board] if q in available]
    local = [q for q, info in available.items() if info.get("origin") not in (None, "default")]
    sections = []
    for qid in [*wanted, *(q for q in local if q not in wanted)]:
        info = available[qid]
        by = "authority" if regional and "authority" in info["breakdowns"] else None
        if by is None:
            by = next(iter(info["breakdowns"]), None)
        try:
            answer = current_answer(
                partnership_dir, qid, by=by, tier=tier, open_release=open_release
            )
        except JoinedupError:
            continue
        table = answer_table(answer)
        q = answer["question"]
        s = Section(qid, str(q["question"]), str(q.get("definition") or ""))
        s.local = qid in local
        s.tables.append(table)
        s.caveats.extend(str(c) for c in q.get("caveats", []))
        cats = [r for r in answer["rows"] if r.get("category") not in (None, "Total")]
        if answer.get("breakdown") and cats and not any(r.get("split") for r in answer["rows"]):
            label = {c["key"]: c["label"] for c in answer["columns"]}.get("category", "")
            title = f"{q['question']} (by {label.lower()})"
            axis = str(q.get("unit", "")).capitalize() or "Count"
            cid = f"chart-{qid.replace('_', '-')}"
            if by in _PERIODIC:  # a time series is a line, never bars
                periods = [str(r["category"]) for r in cats]
                s.charts.append(
                    line_chart(
                        title,
                        periods,
                        [("All areas", [r["count"] for r in cats], None)],
                        incomplete=[str(r["category"]) for r in cats if r.get("incomplete")],
                        chart_id=cid,
                        axis_title=axis,
                    )
                )
            else:
                s.charts.append(
                    _bars(
                        title,
                        [str(r["category"]) for r in cats],
                        [r["count"] for r in cats],
                        chart_id=cid,
                        axis_title=axis,
                    )
                )
        sections.append(s)
    return sections


def gather_report(
    partnership_dir: Path,
    *,
    board: str = "children",
    tier: Tier = Tier.STRATEGIC,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> Report:
    """Everything a local profile report shows, protected for ``tier``."""
    if board not in BOARDS:
        raise ReportError(f"Unknown board '{board}'; choose one of {', '.join(BOARDS)}.")
    partnership_dir = Path(partnership_dir)
    tier = Tier(tier)
    protected = current_overview(partnership_dir, tier, open_release=open_release)
    tables = {t.name: t for t in overview_tables(protected)}
    cfg = partnership_config(partnership_dir)
    regional = cfg is not None and len(cfg.authorities) > 1
    listing = _listing(partnership_dir, tier, open_release)
    followed = _board_questions(listing, board)
    trends = gather_trends(
        partnership_dir, followed, tier=tier, regional=regional, open_release=open_release
    )
    period = str(((listing or {}).get("period") or {}).get("label") or "")
    messages = key_messages(
        partnership_dir,
        tier=tier,
        lead=followed[0] if followed else None,
        period=period,
        trends=trends,
        open_release=open_release,
    )
    sections = [_overview_section(protected, tables)]
    sections += _question_sections(partnership_dir, board, tier, regional, listing, open_release)
    names = {a.id: a.name for a in cfg.agencies} if cfg is not None else {}
    quality = _quality_section(tables, names)
    narrative = read_narrative(partnership_dir)
    intro = narrative.pop("introduction", None)
    for s in [*sections, quality]:
        s.narrative = narrative.pop(s.id, None)
    for key, text in narrative.items():
        sections.append(
            Section(key, text.title or key.replace("_", " ").capitalize(), narrative=text)
        )
    sections.append(quality)
    release = protected["release"]
    name = release.get("partnership") or "Partnership"
    return Report(
        title=f"{name}: local profile",
        board=board,
        board_name=BOARDS[board],
        tier=tier.value,
        release=release,
        footnote=str(protected["disclosure"]["footnote"]),
        sections=sections,
        introduction=intro,
        messages=messages,
        trends=trends,
        period=period,
    )
