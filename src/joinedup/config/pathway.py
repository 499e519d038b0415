"""The partnership's pathway (issue 20, item 3): "what to do if you are worried", in
``partnership.yaml`` under ``pathway:``, shown on the what-to-look-for pages at every
tier and on each printable briefing.

.. code-block:: yaml

    pathway:
      introduction: If you think a child is being exploited, act today.
      emergency: If a child is in immediate danger, call 999.
      contacts:
        - {name: Children's front door (MASH), phone: 01234 567890,
           hours: Monday to Friday 9am to 5pm, for: Referrals about a child}
        - {name: Emergency duty team, phone: 01234 000000, hours: Out of hours}
      thresholds: Use the partnership's threshold guidance to decide the level of need.
      routes:
        - {title: Refer to children's social care, detail: Through the MASH, by phone or form}
        - {title: Share intelligence with the police, detail: Partnership intelligence form}

Every field is optional; a partnership with no ``pathway`` gets a page that says where
its own should go. No text here is about a child: these are services' contacts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Pathway", "PathwayContact", "PathwayRoute"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PathwayContact(_Strict):
    name: str = Field(min_length=2, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=120)
    web: str | None = Field(default=None, max_length=300, pattern=r"^https?://")
    hours: str | None = Field(default=None, max_length=120)
    purpose: str | None = Field(default=None, max_length=300, alias="for")


class PathwayRoute(_Strict):
    title: str = Field(min_length=2, max_length=120)
    detail: str | None = Field(default=None, max_length=600)


class Pathway(_Strict):
    introduction: str | None = Field(default=None, max_length=600)
    emergency: str = Field(
        default="If a child or adult is in immediate danger, call 999.", max_length=300
    )
    contacts: list[PathwayContact] = []
    thresholds: str | None = Field(default=None, max_length=1200)
    routes: list[PathwayRoute] = []

    @property
    def configured(self) -> bool:
        return bool(self.contacts or self.routes or self.introduction or self.thresholds)
