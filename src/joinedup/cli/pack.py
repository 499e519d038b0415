"""``pack``: a partnership's regional pack (issue 17), audited."""

from __future__ import annotations

from pathlib import Path

import click

from joinedup.cli._common import DIR, handle_errors

__all__ = ["pack"]


@click.command()
@DIR
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write the pack into [default: DIR/packs/RELEASE].",
)
@click.option(
    "--no-local",
    is_flag=True,
    help="Leave the partnership's own questions (its local columns) out of the pack.",
)
@handle_errors
def pack(directory: Path, out: Path | None, no_local: bool) -> None:
    """Write the regional pack of DIR's current release: protected figures only.

    The pack is a folder of Parquet files and a manifest signed with the partnership's
    key (made on first use, in DIR/state/). Give the region the folder and, once, the
    public key printed below. Publishing a pack is written to the audit log.

    \b
    Example:
      joinedup pack ./north --out ../region/packs/north
    """
    from joinedup.region import write_pack

    result = write_pack(directory, out, share_local=not no_local)
    click.echo(
        f"Pack of release {result.release_id} written to {result.folder} "
        f"({result.questions} shared-core questions)."
    )
    click.echo("Public key for region.yaml (packs: - public_key):")
    click.echo(result.public_key)
