"""The configuration model for ``partnership.yaml``.

One pydantic model, validated before anything runs. ``docs/configuration.md`` documents
every key, and a test checks that it does.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from joinedup.config.catalogue import Catalogue, Framework  # issue 21: what is held
from joinedup.config.events import Indicators, LinkedEvent, LocalCode
from joinedup.config.geography import Geography  # issue 13: reference files, columns named
from joinedup.config.participation import ParticipationSource  # issue 20: children's views
from joinedup.config.pathway import Pathway
from joinedup.config.purposes import AgreementGovernance  # issue 19: purposes, objections
from joinedup.config.returns import with_builtin_mapping  # issue 13: returns' own mappings
from joinedup.config.values import (  # issue 13: derived values and identifier kinds
    DERIVED_ORIGINS,
    IdentifierKind,
    PlaceKeywords,
    TermDates,
    ValueOptions,
    derived_columns,
)

__all__ = [
    "AGENCY_TYPES",
    "TIERS",
    "Agency",
    "AgencyType",
    "AppStateConfig",
    "AuthConfig",
    "Authority",
    "CrosswalkConfig",
    "DisclosureConfig",
    "EventMapping",
    "FieldSpec",
    "Filter",
    "Geography",
    "GroupMapping",
    "IdentityMapping",
    "LinkageConfig",
    "NoteMapping",
    "OidcConfig",
    "PartnershipConfig",
    "PartnershipInfo",
    "PlaceMapping",
    "RecordMapping",
    "SharingAgreement",
    "SourceConfig",
    "SparkConfig",
    "TierPolicyConfig",
]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
AgencyType = Literal[
    "police",
    "childrens_social_care",
    "adult_social_care",
    "health",
    "education",
    "youth_justice",
    "voluntary",
    "other",
    "housing",  # issue 21: an agency type (housing providers hold cuckooing and tenancy data)
]
TierName = Literal["operational", "strategic", "community"]
AGENCY_TYPES: tuple[str, ...] = get_args(AgencyType)
TIERS: tuple[str, ...] = get_args(TierName)
CROSSWALK_LISTS = (
    "exploitation_type",
    "event_type",
    "role",
    "place_type",
    "sex",
    "ethnicity",
    "group_type",
)

Ident = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(ValueOptions):
    """Where a canonical field's value comes from in a source row (derived values:
    :class:`joinedup.config.values.ValueOptions`)."""

    column: str | None = None
    columns: list[str] | None = None
    value: str | None = None
    parse: Literal["text", "date", "integer", "boolean"] = "text"
    formats: list[str] | None = None
    crosswalk: str | None = None
    split: str | None = None
    true_values: list[str] | None = None
    order: Literal["surname_forename", "forename_surname"] | None = None
    # sources (issue 3): dates an agency records when it does not know the real one
    estimated: list[Literal["jan_1", "first_of_month", "year_only", "month_year"]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        return data

    @model_validator(mode="after")
    def _one_origin(self) -> FieldSpec:
        origins = ("column", "columns", "value", *DERIVED_ORIGINS)
        given = [k for k in origins if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'column', 'columns' or 'value' (or a derived value: "
                f"{', '.join(DERIVED_ORIGINS)}) (found {', '.join(given) if given else 'none'})"
            )
        if self.columns is not None and not self.columns:
            raise ValueError("'columns' must list at least one column")
        if self.formats is not None and self.parse != "date":
            raise ValueError("'formats' applies only with parse: date")
        if self.estimated is not None and self.parse not in ("date", "text"):
            raise ValueError("'estimated' applies only to dates")
        return self

    def source_columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        return list(self.columns or []) + derived_columns(self)


class Filter(_Strict):
    """A rule that drops rows before mapping (test records, out-of-scope rows)."""

    column: str
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    matches: str | None = None
    is_blank: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Filter:
        given = [
            k for k in ("equals", "in_", "matches", "is_blank") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of 'equals', 'in', 'matches' or 'is_blank'")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"'matches' is not a valid regular expression: {exc}") from exc
        return self


class RecordMapping(_Strict):
    id: FieldSpec
    date: FieldSpec | None = None


class IdentityMapping(_Strict):
    forename: FieldSpec | None = None
    surname: FieldSpec | None = None
    full_name: FieldSpec | None = None
    preferred_name: FieldSpec | None = None
    dob: FieldSpec | None = None
    dob_estimated: FieldSpec | None = None
    sex: FieldSpec | None = None
    postcode: FieldSpec | None = None
    nhs_number: FieldSpec | None = None
    upn: FieldSpec | None = None
    pnc_id: FieldSpec | None = None
    local_id: FieldSpec | None = None
    ethnicity: FieldSpec | None = None
    # issue 13: a free-text address (restricted) and identifiers of declared kinds
    address: FieldSpec | None = None
    ids: dict[str, FieldSpec] = {}

    @model_validator(mode="after")
    def _full_name_order(self) -> IdentityMapping:
        if self.full_name is not None and self.full_name.order is None:
            raise ValueError(
                "full_name needs 'order: surname_forename' or 'order: forename_surname'"
            )
        return self


class EventMapping(_Strict):
    id: FieldSpec
    type: FieldSpec
    date: FieldSpec | None = None
    end_date: FieldSpec | None = None
    outcome: FieldSpec | None = None
    detail: FieldSpec | None = None
    exploitation: FieldSpec | None = None
    # issue 13: several indicator fields, and contexts (models in config/events.py)
    indicators: Indicators[FieldSpec] | None = None
    context: FieldSpec | None = None


class PlaceMapping(_Strict):
    name: FieldSpec | None = None
    postcode: FieldSpec | None = None
    type: FieldSpec | None = None
    address: FieldSpec | None = None  # issue 13: a location written as an address

    @model_validator(mode="after")
    def _something(self) -> PlaceMapping:
        if self.name is None and self.postcode is None and self.address is None:
            raise ValueError("a place needs at least a 'name' or a 'postcode' (or an 'address')")
        return self


class GroupMapping(_Strict):
    id: FieldSpec
    type: FieldSpec
    name: FieldSpec | None = None
    role: FieldSpec | None = None


class NoteMapping(_Strict):
    text: FieldSpec
    theme: FieldSpec | None = None
    date: FieldSpec | None = None
    tier: Literal["operational", "strategic", "community"] = "operational"


class SourceConfig(_Strict):
    id: Ident
    agency: Ident
    dataset: str
    file: str
    format: Literal["csv", "xlsx", "parquet", "json", "jsonl", "cin_census_xml", "ssda903", "ssd"]
    encoding: Literal[
        "auto", "utf-8", "utf-8-sig", "utf-16", "cp1252", "windows-1252", "latin-1"
    ] = "auto"
    delimiter: str | None = None
    sheet: str | int = 0
    header_row: int = Field(default=1, ge=1)
    extracted_at: dt.date | None = None
    sharing_agreement: Ident
    filters: list[Filter] = []
    record: RecordMapping
    identity: IdentityMapping = IdentityMapping()
    event: EventMapping | None = None
    role: FieldSpec | None = None
    place: PlaceMapping | None = None
    group: GroupMapping | None = None
    note: NoteMapping | None = None
    # sources (issue 3): ages the service works with, for the consistency measure
    age_range: tuple[int, int] | None = None
    # issue 13: further events on the same row (config/events.py)
    linked_events: list[LinkedEvent[FieldSpec]] = []
    # issue 13: a date that cannot be read is emptied (the row kept), or quarantines its row
    bad_dates: Literal["empty", "quarantine"] = "empty"
    # issue 13 (national returns): a return's table; its mapping is built in
    # (config/returns.py puts it in before validation when the source gives none)
    table: str | None = None
    # issue 19: written by `joinedup encode` (docs/linkage.md, "Encoded identifiers")
    encoded: bool = False
    encoded_file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _builtin_mapping(cls, data: Any) -> Any:
        return with_builtin_mapping(data)

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None and len(v) != 1:
            raise ValueError("delimiter must be a single character, e.g. ',' or '|'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SourceConfig:
        if self.place is not None and self.event is None:
            raise ValueError("'place' needs an 'event' mapping: a place is where an event happened")
        if self.role is not None and self.event is None:
            raise ValueError("'role' needs an 'event' mapping")
        if self.age_range is not None and not 0 <= self.age_range[0] <= self.age_range[1]:
            raise ValueError("age_range is [youngest, oldest], e.g. [0, 17]")
        for path, spec in self.field_specs().items():
            if spec.estimated is not None and path != "identity.dob":
                raise ValueError(f"{path}: 'estimated' applies only to identity.dob")
        return self

    def field_specs(self) -> dict[str, FieldSpec]:
        """Every mapped field, keyed by its canonical path (e.g. identity.dob)."""
        out: dict[str, FieldSpec] = {}
        for section in ("record", "identity", "event", "place", "group", "note"):
            part = getattr(self, section)
            if part is None:
                continue
            for name in type(part).model_fields:
                spec = getattr(part, name)
                if isinstance(spec, FieldSpec):
                    out[f"{section}.{name}"] = spec
        if self.role is not None:
            out["role"] = self.role
        if self.event is not None and self.event.indicators is not None:  # issue 13
            out.update(self.event.indicators.specs("event"))
        for linked in self.linked_events:
            out.update(linked.specs())
        out.update({f"identity.ids.{k}": s for k, s in self.identity.ids.items()})
        return out


class PartnershipInfo(_Strict):
    name: str
    reference_date: dt.date | None = None


class Authority(_Strict):
    code: str = Field(min_length=1, max_length=16)
    name: str


class Agency(_Strict):
    id: Ident
    name: str
    type: AgencyType
    authority: str | None = None


class SharingAgreement(AgreementGovernance):
    key: Ident
    title: str
    tiers: list[Literal["operational", "strategic", "community"]] = ["operational", "strategic"]
    lawful_basis: str | None = None
    purposes: list[str] = []
    retention_years: int | None = Field(default=None, ge=0)
    owner: str | None = None
    # governance (issue 6): the legal bases spelled out for information governance leads
    article_6: str | None = None
    article_9: str | None = None
    dpa_2018: str | None = None
    # issue 11, review is re-identification: the purpose the agreement gives for
    # reviewers opening the identifying fields of its records on the linkage review page;
    # without one (for either record of a pair) the reviewer types a purpose once a session
    review_purpose: str | None = Field(default=None, min_length=10, max_length=500)
    # issue 16, link review that works: the roles whose holders may review links between
    # this agreement's records with both records' identifying fields shown, at the
    # operational tier (each view audited as re-identification, with a purpose)
    reviewers: list[Literal["data_lead", "panel_member"]] = []


class CrosswalkConfig(_Strict):
    list: Literal[
        "exploitation_type",
        "context",
        "event_type",
        "role",
        "place_type",
        "sex",
        "ethnicity",
        "group_type",
        "tier",
    ]
    codes: dict[str, str] | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one(self) -> CrosswalkConfig:
        if (self.codes is None) == (self.file is None):
            raise ValueError("give exactly one of 'codes' (inline) or 'file' (a CSV)")
        return self

    @field_validator("codes", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        # YAML reads codes such as 1, 2, 9 or Y/N-looking keys as numbers or booleans.
        if isinstance(v, dict):
            return {_yaml_scalar(k): _yaml_scalar(val) for k, val in v.items()}
        return v


def _yaml_scalar(v: Any) -> Any:
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, int | float):
        return str(v)
    return v


# --- linkage (issue 4) -------------------------------------------------------------


class SparkConfig(_Strict):
    """Where Splink's Spark backend runs, for ``linkage.engine: spark``."""

    master: str = "local[2]"
    options: dict[str, str] = {}


class LinkageConfig(_Strict):
    """How records are resolved into persons (see docs/linkage.md)."""

    engine: Literal["duckdb", "spark"] = "duckdb"
    probabilistic: bool = True
    min_records: int = Field(default=1000, ge=2)
    match_threshold: float = Field(default=0.95, gt=0, lt=1)
    review_threshold: float = Field(default=0.5, gt=0, lt=1)
    thin_match_threshold: float | None = Field(default=0.9, gt=0, lt=1)
    incremental: bool = True
    relink_share: float = Field(default=0.2, ge=0, le=1)
    # issue 15: reuse the stored model until this share of records is new or changed
    # since it was trained (0: retrain every full build)
    retrain_share: float = Field(default=0.25, ge=0, le=1)
    flag_cluster_records: int = Field(default=150, ge=2)
    training_pairs: int = Field(default=1_000_000, ge=1000)
    em_pairs: int = Field(default=1_000_000, ge=1000)
    seed: int = 42
    spark: SparkConfig = SparkConfig()

    @model_validator(mode="after")
    def _band(self) -> LinkageConfig:
        if self.review_threshold > self.match_threshold:
            raise ValueError(
                "review_threshold must not be above match_threshold: the review band runs "
                "from review_threshold up to match_threshold"
            )
        return self


class BuildResources(_Strict):
    """How much of the machine a build may use (DuckDB spills to disk beyond the cap)."""

    memory_limit: str = Field(default="6GB", pattern=r"^\d+(\.\d+)?\s*(MB|GB|TB|MiB|GiB|TiB)$")
    threads: int | None = Field(default=None, ge=1)
    temp_directory: str | None = None
    # issue 11, no silent loss: a source whose rows fall by more than this share against
    # the current release stops the build until confirmed (joinedup.pipeline.guard)
    max_drop_share: float = Field(default=0.5, gt=0, le=1)
    # issue 16, draft/preview/publish: every build (command line and web) makes a draft
    # that a data lead previews and publishes (joinedup.release.drafts); off: a plain
    # `joinedup build` publishes at once, `--draft` makes a draft
    drafts: bool = False


# --- governance (issue 6): app state, sign-in, disclosure policies ------------------

#: The weakest disclosure thresholds a partnership may set, per tier (the defaults of
#: ``joinedup.disclosure.policy``; a test keeps the two equal).
MIN_THRESHOLDS = {"operational": 5, "strategic": 5, "community": 10}


class AppStateConfig(_Strict):
    """Where the application state (users, sessions, decisions, audit) lives."""

    url: str | None = None
    url_env: str | None = None

    @model_validator(mode="after")
    def _one(self) -> AppStateConfig:
        if self.url is not None and self.url_env is not None:
            raise ValueError("give at most one of 'url' and 'url_env'")
        return self


class OidcConfig(_Strict):
    """Sign-in through an OpenID Connect provider (e.g. Microsoft Entra ID)."""

    issuer: str
    client_id: str
    client_secret_env: str = "JOINEDUP_OIDC_CLIENT_SECRET"
    metadata_url: str | None = None
    scopes: list[str] = ["openid", "profile", "email"]
    label: str = "Sign in with your organisation account"
    username_claim: str = "preferred_username"
    subject_claim: str = "oid"
    allowed_tenants: list[str] = []


class AuthConfig(_Strict):
    """Sign-in, sessions and lockout."""

    local_accounts: bool = True
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 7)
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1)
    rate_limit_attempts: int = Field(default=20, ge=1)
    rate_limit_window_minutes: int = Field(default=5, ge=1)
    # issue 11: a lockout is by account AND address; many addresses against one account
    # lock it only for addresses it has not signed in from lately; audit by summary
    account_max_failed_logins: int = Field(default=50, ge=1)
    known_address_days: int = Field(default=30, ge=1)
    audit_summary_minutes: int = Field(default=15, ge=1)
    oidc: OidcConfig | None = None


class WebConfig(_Strict):
    """The web server: request size limit and the proxies whose headers are believed
    (issue 11)."""

    max_request_kb: int = Field(default=1024, ge=16)
    trusted_proxies: list[str] = []

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"'{item}' is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return value


class TierPolicyConfig(_Strict):
    threshold: int | None = Field(default=None, ge=0)
    rounding_base: int | None = Field(default=None, ge=1)


class DisclosureConfig(_Strict):
    """Per-tier disclosure policies: stricter than the defaults, never weaker."""

    operational: TierPolicyConfig = TierPolicyConfig()
    strategic: TierPolicyConfig = TierPolicyConfig()
    community: TierPolicyConfig = TierPolicyConfig()
    method: Literal["suppression", "cell_key"] = "suppression"  # issue 19

    @model_validator(mode="after")
    def _not_weaker(self) -> DisclosureConfig:
        for tier, least in MIN_THRESHOLDS.items():
            t = getattr(self, tier).threshold
            if t is not None and t < least:
                raise ValueError(
                    f"{tier}.threshold {t} is weaker than the default {least}; a partnership "
                    "may make disclosure control stricter, never weaker"
                )
        return self


#: A standard period: "all time", or N whole months (or years) to the reference date.
PERIOD_PATTERN = r"^(all time|[1-9][0-9]{0,2} (month|months|year|years))$"


class InsightConfig(_Strict):
    """How questions are answered (issue 14): the partnership's default period."""

    default_period: str = Field(default="12 months", pattern=PERIOD_PATTERN)


class PartnershipConfig(_Strict):
    partnership: PartnershipInfo
    taxonomy_version: str = "2026.1"
    secret_file: str = ".joinedup-secret"
    authorities: list[Authority] = Field(min_length=1)
    geography: Geography = Geography()
    agencies: list[Agency] = Field(min_length=1)
    sharing_agreements: list[SharingAgreement] = Field(min_length=1)
    crosswalks: dict[str, CrosswalkConfig] = {}
    # issue 13: local codes added to the shared lists (config/events.py)
    taxonomy_extensions: dict[str, dict[str, LocalCode]] = {}
    # issue 13 (values and records): config/values.py
    term_dates: TermDates = {}
    identifier_kinds: dict[Ident, IdentifierKind] = {}
    place_keywords: PlaceKeywords = PlaceKeywords()
    sources: list[SourceConfig] = Field(min_length=1)
    linkage: LinkageConfig = LinkageConfig()
    build: BuildResources = BuildResources()

    # governance (issue 6)
    app_state: AppStateConfig = AppStateConfig()
    auth: AuthConfig = AuthConfig()
    disclosure: DisclosureConfig = DisclosureConfig()
    web: WebConfig = WebConfig()

    # periods (issue 14)
    insight: InsightConfig = InsightConfig()
    pathway: Pathway = Pathway()  # issue 20: what to do if you are worried
    participation: list[ParticipationSource] = []  # issue 20: surveys, children's maps
    catalogue: Catalogue = {}  # issue 21: what each agency holds (config/catalogue.py)
    framework: Framework = Framework()  # issue 21: outcomes, questions and targets

    def sources_for_tier(self, tier: str) -> list[str]:
        """Ids of the sources whose sharing agreement lets them contribute at ``tier``
        (issue 6): the others contribute nothing there."""
        tiers = {a.key: set(a.tiers) for a in self.sharing_agreements}
        return [s.id for s in self.sources if tier in tiers.get(s.sharing_agreement, set())]

    def agency(self, agency_id: str) -> Agency:
        return next(a for a in self.agencies if a.id == agency_id)

    def source(self, source_id: str) -> SourceConfig:
        return next(s for s in self.sources if s.id == source_id)
