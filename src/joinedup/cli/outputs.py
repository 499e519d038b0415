"""Reports and exports: ``report`` and ``export`` write protected figures to files, and
each file written is in the audit log, as the web records a download."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click

from joinedup.cli._common import DIR, TIER_CHOICE, handle_errors

__all__ = ["export", "report"]


def _audited(paths: Sequence[Path], record: Callable[[], object]) -> None:
    """Record what was written; if the entry cannot be written, neither stay."""
    try:
        record()
    except BaseException:
        for p in paths:
            if p.is_file():
                p.unlink()
        raise


@click.command()
@DIR
@click.option(
    "--board",
    type=click.Choice(["children", "adults", "community-safety"]),
    default="children",
    show_default=True,
    help="Which board the report is for (chooses its questions).",
)
@click.option("--tier", type=TIER_CHOICE, default="strategic", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf", "xlsx"]),
    default="html",
    show_default=True,
    help="Self-contained HTML, PDF (needs Chromium), or an Excel workbook.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write [default: DIR/reports/BOARD-TIER-RELEASE.FORMAT].",
)
@handle_errors
def report(directory: Path, board: str, tier: str, fmt: str, out: Path | None) -> None:
    """Write the local profile report of DIR's current release for a board.

    Narrative the partnership writes in DIR/narrative/*.md is placed in the report.

    \b
    Examples:
      joinedup report ./demo --board children --format pdf
      joinedup report ./demo --board community-safety --format xlsx --out profile.xlsx
    """
    from joinedup.access import audit_output
    from joinedup.disclosure import Tier
    from joinedup.release import current_release_id
    from joinedup.report import write_report

    release_id = current_release_id(directory)
    path = write_report(directory, board=board, tier=Tier(tier), fmt=fmt, out=out)
    _audited(
        [path],
        lambda: audit_output(
            directory,
            command="report",
            target="report",
            tier=tier,
            fmt=fmt,
            output=str(path.absolute()),
            release_id=release_id,
            detail={"board": board},
        ),
    )
    click.echo(str(path))


@click.command()
@DIR
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "parquet", "geojson", "i2"]),
    required=True,
    help="i2 is an entity/link CSV for i2 Analyst's Notebook.",
)
@click.option("--tier", type=TIER_CHOICE, default="strategic", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write into (a .xlsx file for --format xlsx).",
)
@handle_errors
def export(directory: Path, fmt: str, tier: str, out: Path) -> None:
    """Export the current release's overview tables, through disclosure control.

    \b
    Examples:
      joinedup export ./demo --format xlsx --out overview.xlsx
      joinedup export ./demo --format geojson --out ./maps
    """
    from joinedup.access import audit_output
    from joinedup.disclosure import Tier
    from joinedup.export import export_overview
    from joinedup.release import current_release_id

    release_id = current_release_id(directory)
    paths = export_overview(directory, fmt, out, tier=Tier(tier))
    _audited(
        paths,
        lambda: audit_output(
            directory,
            command="export",
            target="overview",
            tier=tier,
            fmt=fmt,
            output=str(out.absolute()),
            release_id=release_id,
            detail={"files": sorted(p.name for p in paths)},
        ),
    )
    for path in paths:
        click.echo(str(path))
