"""A commented starting ``partnership.yaml`` for ``joinedup init``."""

from __future__ import annotations

from pathlib import Path

from joinedup.config.load import CONFIG_FILE
from joinedup.errors import ConfigError

__all__ = ["STARTER", "write_starter"]

STARTER = """\
# partnership.yaml: what joinedup reads, and how. Every key is documented in
# docs/configuration.md. Run `joinedup check DIR` after each edit.
partnership:
  name: {name}
  # reference_date: 2026-10-31   # "as at" date for ages; default: newest extract date

taxonomy_version: "2026.1"

authorities:                     # the local authorities the partnership covers
  - code: E06000000              # replace with your ONS code
    name: Your authority

geography: {{}}                    # areas, postcodes and population files (optional)

agencies:
  - id: police
    name: Your police force
    type: police

sharing_agreements:
  - key: isa_exploitation
    title: Exploitation information sharing agreement
    tiers: [operational, strategic]

crosswalks:
  police_roles:
    list: role
    codes: {{Victim: victim, Suspect: person_of_concern, Witness: witness}}

sources:
  - id: police_crimes
    agency: police
    dataset: Crimes and incidents involving children
    file: extracts/police/crimes_*.csv     # put the agency's extract here
    format: csv
    sharing_agreement: isa_exploitation
    record:
      id: InvolvementID
    identity:
      forename: Forename
      surname: Surname
      dob: {{column: DOB, parse: date}}
      postcode: Postcode
    event:
      id: CrimeRef
      type: {{value: crime}}
      date: {{column: Date, parse: date}}
    role: {{column: Role, crosswalk: police_roles}}
"""


def write_starter(directory: Path, *, name: str) -> Path:
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if path.exists():
        raise ConfigError(f"{path} already exists; edit it, or choose another folder.")
    for sub in ("extracts", "geography", "questions", "narrative"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    safe = name.replace('"', "'")
    path.write_text(STARTER.format(name=f'"{safe}"'), encoding="utf-8")
    return path
