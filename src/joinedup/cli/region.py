"""``region`` (init, build, serve) and ``synth-region``: a regional picture built from the
partnerships' packs (issue 17)."""

from __future__ import annotations

from pathlib import Path

import click

from joinedup.cli._common import err, handle_errors

__all__ = ["region", "synth_region"]

REGION_DIR = click.argument(
    "region_dir", type=click.Path(file_okay=False, path_type=Path), metavar="REGION_DIR"
)


@click.group()
def region() -> None:
    """A region: combine partnerships' packs into a regional release.

    \b
    Examples:
      joinedup region init ./midshire --name "Midshire Region"
      joinedup region build ./midshire
      joinedup region serve ./midshire --port 8001
    """


@region.command("init")
@REGION_DIR
@click.option("--name", default="Our region", show_default=True, help="The region's name.")
@handle_errors
def init(region_dir: Path, name: str) -> None:
    """Write REGION_DIR/region.yaml, ready for the partnerships' packs."""
    from joinedup.region import init_region

    path = init_region(region_dir, name=name)
    click.echo(f"Wrote {path}. List each partnership's pack and public key in it.")


@region.command("build")
@REGION_DIR
@handle_errors
def build(region_dir: Path) -> None:
    """Verify every pack in region.yaml and build the regional release."""
    from joinedup.region import build_region

    release_id, path = build_region(region_dir)
    click.echo(f"Regional release {release_id} is current: {path}")


@region.command("serve")
@REGION_DIR
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@handle_errors
def serve(region_dir: Path, host: str, port: int) -> None:
    """Serve the regional pages and board report for REGION_DIR's current release."""
    import uvicorn

    from joinedup.region import create_region_app

    app = create_region_app(region_dir)
    click.echo(f"Serving region {region_dir} on http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@region.command("user")
@REGION_DIR
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["regional_analyst", "regional_board_member"]),
    required=True,
)
@click.password_option(help="The user's password (asked for when not given).")
@handle_errors
def user(region_dir: Path, username: str, role: str, password: str) -> None:
    """Add (or reset) a regional user."""
    from joinedup.region import add_region_user

    add_region_user(region_dir, username, role=role, password=password)
    click.echo(f"User {username} ({role}) can sign in to the regional pages.")


@click.command("synth-region")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")
@click.option(
    "--people",
    type=click.IntRange(50),
    default=300,
    show_default=True,
    help="People per partnership.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@handle_errors
def synth_region(directory: Path, people: int, seed: int) -> None:  # fmt: skip
    """Make a fictional region: six authorities in four partnerships, with recording
    differences planted (DIR/truth/planted.json); build each partnership, publish its
    pack into DIR/packs/ and build the regional release.

    \b
    Example:
      joinedup synth-region ./midshire --people 300 && joinedup region serve ./midshire
    """
    from joinedup.region.demo import synthetic_region

    made = synthetic_region(directory, people=people, seed=seed, progress=err.print)
    click.echo(f"Region written to {directory}; regional release {made['release_id']}.")
