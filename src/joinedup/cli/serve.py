"""``serve``: the web app for a partnership's current release."""

from __future__ import annotations

from pathlib import Path

import click

from joinedup.cli._common import DIR, handle_errors
from joinedup.errors import JoinedupError

__all__ = ["serve"]


@click.command()
@DIR
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@handle_errors
def serve(directory: Path, host: str, port: int) -> None:
    """Serve the web app for DIR's current release.

    \b
    Example:
      joinedup serve ./demo --port 8000
    """
    from joinedup.web import serve as serve_app

    if not (directory / "partnership.yaml").is_file():
        raise JoinedupError(f"{directory} has no partnership.yaml; run `joinedup init` first.")
    click.echo(f"Serving {directory} on http://{host}:{port}/ (Ctrl+C to stop)")
    serve_app(directory, host=host, port=port)
