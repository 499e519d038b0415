"""Configuration models for events and exploitation indicators (issue 13).

The models behind these keys of ``partnership.yaml`` (documented in
docs/configuration.md and docs/sources.md):

- ``sources[].event.indicators``: several exploitation-indicator fields, each with its own
  crosswalk, combined with ``precedence`` rules and a ``type_not_stated`` code;
- ``sources[].linked_events``: further events from the same row (a referral on a contact
  row, a return home interview on a missing episode row), each linked to another;
- ``taxonomy_extensions``: a partnership's local codes, with a parent in the shared
  taxonomy where the list has parents.

The models are generic in the field type ``F`` so that this module needs nothing from
:mod:`joinedup.config.model`, which uses them as ``Indicators[FieldSpec]`` and
``LinkedEvent[FieldSpec]``. The checks against the taxonomy are in
:mod:`joinedup.config.eventcheck`.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAIN_EVENT",
    "Indicators",
    "LinkedEvent",
    "LocalCode",
    "PrecedenceRule",
    "TypeNotStated",
]

#: What ``linked_events[].follows`` calls the row's own event (``event:``).
MAIN_EVENT = "event"

F = TypeVar("F")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrecedenceRule(_Strict):
    """When an event has ``prefer`` and any of ``over``, the ``over`` codes are dropped."""

    prefer: str
    over: list[str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_over(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("over"), str):
            return {**data, "over": [data["over"]]}
        return data


class TypeNotStated(_Strict, Generic[F]):
    """The exploitation type given when ``when`` says exploitation is recorded but no
    indicator field names a type."""

    code: str = "type_not_stated"
    when: F


class Indicators(_Strict, Generic[F]):
    """Several exploitation-indicator fields, combined into one event's types."""

    fields: list[F] = Field(min_length=1)
    precedence: list[PrecedenceRule] = []
    type_not_stated: TypeNotStated[F] | None = None
    #: Positions in ``fields`` (from 0) read only where the other fields name no type: a
    #: weaker signal, such as an offence code, that must not add a type to an event a
    #: practitioner's flag has already typed.
    fallback: list[int] = []

    @model_validator(mode="after")
    def _fallback_in_range(self) -> Indicators[F]:
        n = len(self.fields)
        bad = [i for i in self.fallback if not 0 <= i < n]
        if bad:
            raise ValueError(f"fallback names field {bad[0]}, but fields has {n} (counted from 0)")
        if len(set(self.fallback)) >= n:
            raise ValueError(
                "fallback names every field: leave at least one field that is always read"
            )
        return self

    def specs(self, prefix: str) -> dict[str, F]:
        """Its fields by path (``<prefix>.indicators.fields[0]``, ...)."""
        out = {f"{prefix}.indicators.fields[{i}]": f for i, f in enumerate(self.fields)}
        if self.type_not_stated is not None:
            out[f"{prefix}.indicators.type_not_stated.when"] = self.type_not_stated.when
        return out


class LinkedEvent(_Strict, Generic[F]):
    """A further event recorded on the same row, such as the referral on a contact row."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)
    id: F | None = None
    type: F
    date: F
    end_date: F | None = None
    outcome: F | None = None
    detail: F | None = None
    role: F | None = None
    follows: str | None = MAIN_EVENT
    exploitation: F | None = None
    indicators: Indicators[F] | None = None
    context: F | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> LinkedEvent[F]:
        if self.exploitation is not None and self.indicators is not None:
            raise ValueError("give 'exploitation' (one field) or 'indicators' (several), not both")
        return self

    def specs(self) -> dict[str, F]:
        """Every field, by path (``linked_events.<key>.date``, ...)."""
        base = f"linked_events.{self.key}"
        out: dict[str, F] = {}
        for name in ("id", "type", "date", "end_date", "outcome", "detail", "role", "context"):
            spec = getattr(self, name)
            if spec is not None:
                out[f"{base}.{name}"] = spec
        if self.exploitation is not None:
            out[f"{base}.exploitation"] = self.exploitation
        if self.indicators is not None:
            out.update(self.indicators.specs(base))
        return out


class LocalCode(_Strict):
    """One local code a partnership adds to a shared list."""

    label: str
    parent: str | None = None
    definition: str | None = None
    source: str | None = None
