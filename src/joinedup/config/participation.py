"""What children and young people say (issue 20, item 2): surveys and mapping exercises
about where they feel safe and unsafe and what would help, in ``partnership.yaml`` under
``participation:``.

.. code-block:: yaml

    participation:
      - id: youth_survey_2026
        title: Make Your Mark safety survey 2026
        kind: individual            # one row a response
        agency: brightpath          # who ran it
        sharing_agreement: isa_2026 # the tiers it may be shown at
        file: extracts/participation/survey.csv
        columns:
          age_band: Age group
          place: Place
          postcode: Postcode
          location: Where is it
          feeling: How safe do you feel there
          what_helps: What would help
          date: Date
      - id: youth_mapping_2026
        title: Youth club mapping exercise
        kind: aggregate             # one row an area (and type of place)
        agency: brightpath
        sharing_agreement: isa_2026
        file: extracts/participation/mapping.xlsx
        format: xlsx
        columns: {area_code: Ward code, place_type: Place, responses: Taking part,
                  unsafe: Marked unsafe, period: Month}

The extract is read by the sources' readers (CSV in any encoding, or Excel) and must hold
no identifier: a file with a column that looks like a name, a date of birth or another
personal identifier is refused, naming the column (:mod:`joinedup.sources.participation`).
:mod:`joinedup.config.participation_check` checks the entries against the rest of the
configuration. The build's ``participation`` stage places each response in an area
(:mod:`joinedup.pipeline.participation`); the places page shows where children feel
unsafe beside recorded concerns (docs/insight.md, "Children's own maps").
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AGGREGATE_COLUMNS",
    "INDIVIDUAL_COLUMNS",
    "ParticipationColumns",
    "ParticipationSource",
]

#: The columns an individual survey may map, and the one it must.
INDIVIDUAL_COLUMNS: tuple[str, ...] = (
    "age_band",
    "place",
    "postcode",
    "area_code",
    "location",
    "feeling",
    "what_helps",
    "date",
)
#: The columns an aggregate table may map; responses and unsafe are required.
AGGREGATE_COLUMNS: tuple[str, ...] = ("area_code", "place_type", "responses", "unsafe", "period")

_UNSAFE = ["unsafe", "very unsafe", "quite unsafe", "not safe", "not very safe", "scared"]
_SAFE = ["safe", "very safe", "quite safe", "fairly safe"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParticipationColumns(_Strict):
    """Which column of the extract holds each field (its header as written)."""

    # individual responses
    age_band: str | None = None
    place: str | None = None  # the place's name ("the park on Station Road")
    postcode: str | None = None
    area_code: str | None = None  # also aggregate: a ward or small area code
    location: str | None = None  # free text, e.g. "the underpass by Millbrook shops"
    feeling: str | None = None
    what_helps: str | None = None
    date: str | None = None
    # aggregate tables
    place_type: str | None = None
    responses: str | None = None
    unsafe: str | None = None
    period: str | None = None

    def mapped(self) -> dict[str, str]:
        """field -> column, for the fields this source maps."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ParticipationSource(_Strict):
    """One survey or mapping exercise: where it is, how to read it, what it may show."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    title: str = Field(min_length=2, max_length=200)
    kind: Literal["individual", "aggregate"]
    agency: str
    sharing_agreement: str
    file: str
    format: Literal["csv", "xlsx"] = "csv"
    encoding: Literal[
        "auto", "utf-8", "utf-8-sig", "utf-16", "cp1252", "windows-1252", "latin-1"
    ] = "auto"
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    sheet: str | int = 0
    header_row: int = Field(default=1, ge=1)
    columns: ParticipationColumns
    #: The date of a row with no date of its own (the survey's closing date).
    collected: dt.date | None = None
    #: Answers meaning "unsafe" and "safe" (compared without case or spaces at the ends);
    #: any other answer counts as a response that is neither.
    unsafe_values: list[str] = Field(default_factory=lambda: list(_UNSAFE))
    safe_values: list[str] = Field(default_factory=lambda: list(_SAFE))
    date_formats: list[str] | None = None

    @model_validator(mode="after")
    def _columns_fit_kind(self) -> ParticipationSource:
        mapped = self.columns.mapped()
        allowed = INDIVIDUAL_COLUMNS if self.kind == "individual" else AGGREGATE_COLUMNS
        wrong = sorted(set(mapped) - set(allowed))
        if wrong:
            raise ValueError(
                f"columns {', '.join(wrong)} do not apply to kind: {self.kind} (it maps "
                f"{', '.join(allowed)})"
            )
        if self.kind == "individual":
            if "feeling" not in mapped:
                raise ValueError("an individual survey needs columns.feeling (safe or unsafe)")
            if not {"place", "postcode", "area_code", "location"} & set(mapped):
                raise ValueError(
                    "an individual survey needs a place: map columns.place, postcode, "
                    "area_code or location"
                )
            if "date" not in mapped and self.collected is None:
                raise ValueError("give columns.date or 'collected:' (the survey's closing date)")
        else:
            missing = [c for c in ("area_code", "responses", "unsafe") if c not in mapped]
            if missing:
                raise ValueError(f"an aggregate table needs columns.{', columns.'.join(missing)}")
            if "period" not in mapped and self.collected is None:
                raise ValueError(
                    "give columns.period or 'collected:' (the date the table describes)"
                )
        return self

    def feeling_of(self, answer: str | None) -> str:
        """'unsafe', 'safe' or 'not_known' for an answer as written."""
        a = " ".join((answer or "").split()).casefold()
        if a and a in {v.strip().casefold() for v in self.unsafe_values}:
            return "unsafe"
        if a and a in {v.strip().casefold() for v in self.safe_values}:
            return "safe"
        return "not_known"
