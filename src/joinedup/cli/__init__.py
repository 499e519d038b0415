"""The ``joinedup`` command: a thin adapter over the library, one module per group.

\b
- ``build``: init, check, build, releases
- ``publish``: publish, discard (draft releases)
- ``synth``: synth, demo
- ``serve``: serve
- ``ask``: questions, ask (audited)
- ``outputs``: report, export (audited)
- ``users``: the users group
- ``audit``: audit verify, subject-access
- ``panels``: the panels group (issue 18)
- ``encode``: encode an extract at an agency (issue 19)
- ``_common``: the error handler (exit 1 for a problem with data or configuration, 2 for
  a usage error), the progress bar and the shared arguments

Each command parses its options, calls one library function and prints; none holds logic
a stage could own.
"""

from __future__ import annotations

import click

from joinedup import __version__
from joinedup.cli._common import handle_errors, progress_bar
from joinedup.cli.ask import ask, questions
from joinedup.cli.audit import audit, subject_access_cmd
from joinedup.cli.build import build, check, init, releases
from joinedup.cli.encode import encode  # issue 19: encoded identifiers
from joinedup.cli.governance import (  # issue 19: information governance
    governance_docs,
    objection,
    retention,
    usage,
)
from joinedup.cli.outputs import export, report
from joinedup.cli.pack import pack  # issue 17: regions
from joinedup.cli.panels import panels  # issue 18: exploitation panels
from joinedup.cli.publish import discard, publish
from joinedup.cli.region import region, synth_region  # issue 17: regions
from joinedup.cli.serve import serve
from joinedup.cli.synth import demo, synth
from joinedup.cli.users import users

__all__ = ["cli", "handle_errors", "main", "progress_bar"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="joinedup")
def cli() -> None:
    """joinedup: see child exploitation and extra-familial harm as one picture.

    \b
    Quick start:
      joinedup demo                 synthetic partnership, built and served
      joinedup synth DIR            make a synthetic partnership folder
      joinedup build DIR            build a release from DIR/partnership.yaml
      joinedup serve DIR            serve the web app for DIR's current release
    """


for _command in (
    init,
    synth,
    build,
    releases,
    publish,  # issue 16: drafts
    discard,
    check,
    serve,
    demo,
    users,
    subject_access_cmd,
    audit,
    questions,
    ask,
    report,
    export,
    pack,  # issue 17: regions
    region,
    synth_region,
    panels,  # issue 18
    encode,  # issue 19
    retention,  # issue 19: information governance
    usage,
    governance_docs,
    objection,
):
    cli.add_command(_command)


def main() -> None:
    cli()
