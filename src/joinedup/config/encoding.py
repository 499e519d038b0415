"""Sources whose identifiers arrive encoded (issue 19): what the hub reads of them.

A source marked ``encoded: true`` in ``partnership.yaml`` keeps its whole mapping, so
that the agency can run ``joinedup encode`` with it on its own extract. The hub reads
the encoded extract through :func:`hub_source`: the same mapping less the identifying
fields that the encoding replaced (names, date of birth, sex, postcode, address and
every identifier); a filter on a column the encoding removed gives way to one on
``ju_filtered``, where the agency's ``joinedup encode`` marked the rows its filters
drop. Ethnicity stays: it is not an identifier.
"""

from __future__ import annotations

from joinedup.config.model import Filter, IdentityMapping, PartnershipConfig, SourceConfig

__all__ = [
    "ENCODED_IDENTITY_FIELDS",
    "FILTERED_COLUMN",
    "hub_config",
    "hub_source",
    "removed_columns",
]

#: The column ``joinedup encode`` marks "yes" on rows the source's filters drop.
FILTERED_COLUMN = "ju_filtered"
#: The identity fields an encoded extract replaces with encodings.
ENCODED_IDENTITY_FIELDS = (
    "forename",
    "surname",
    "full_name",
    "preferred_name",
    "dob",
    "dob_estimated",
    "sex",
    "postcode",
    "nhs_number",
    "upn",
    "pnc_id",
    "local_id",
    "address",
    "ids",
)


def _columns(src: SourceConfig, *, identity: bool) -> set[str]:
    """Columns the identity fields that are encoded read (``identity``), or every other."""
    cols: set[str] = set()
    for path, spec in src.field_specs().items():
        parts = path.split(".")
        encoded = parts[0] == "identity" and parts[1] in ENCODED_IDENTITY_FIELDS
        if encoded == identity:
            cols.update(spec.source_columns())
    return cols


def removed_columns(src: SourceConfig) -> set[str]:
    """The extract's columns that ``joinedup encode`` leaves out: those only the
    encoded identity fields read (a column that the record id or an event also reads
    stays, as the hub needs it)."""
    return _columns(src, identity=True) - _columns(src, identity=False)


def hub_source(src: SourceConfig) -> SourceConfig:
    """The source as the hub reads it: unchanged unless ``encoded``."""
    if not src.encoded:
        return src
    gone = removed_columns(src)
    keep = {
        name: getattr(src.identity, name)
        for name in IdentityMapping.model_fields
        if name not in ENCODED_IDENTITY_FIELDS
    }
    return src.model_copy(
        update={
            "identity": IdentityMapping.model_validate(
                {k: v for k, v in keep.items() if v is not None}
            ),
            "filters": [
                *(f for f in src.filters if f.column not in gone),
                Filter(column=FILTERED_COLUMN, equals="yes"),
            ],
        }
    )


def hub_config(cfg: PartnershipConfig) -> PartnershipConfig:
    """The configuration as the hub's build reads it (:func:`hub_source` per source)."""
    if not any(s.encoded for s in cfg.sources):
        return cfg
    return cfg.model_copy(update={"sources": [hub_source(s) for s in cfg.sources]})
