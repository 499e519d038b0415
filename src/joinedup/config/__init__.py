"""partnership.yaml: the one configuration model, validated before anything runs."""

from __future__ import annotations

from joinedup.config.load import CONFIG_FILE, config_sha256, load_config, resolve_source_file
from joinedup.config.model import (
    Agency,
    Authority,
    CrosswalkConfig,
    FieldSpec,
    PartnershipConfig,
    SharingAgreement,
    SourceConfig,
)

__all__ = [
    "CONFIG_FILE",
    "Agency",
    "Authority",
    "CrosswalkConfig",
    "FieldSpec",
    "PartnershipConfig",
    "SharingAgreement",
    "SourceConfig",
    "config_sha256",
    "load_config",
    "resolve_source_file",
]
