"""``joinedup encode``: run at an agency, on its own extract, before the extract leaves."""

from __future__ import annotations

from pathlib import Path

import click

from joinedup.cli._common import handle_errors

__all__ = ["encode"]


@click.command()
@click.option(
    "--key-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The secret key the agencies share (never the hub): at least 32 bytes.",
)
@click.option(
    "--config",
    "config",
    required=True,
    type=click.Path(path_type=Path),
    help="The partnership's partnership.yaml (or the folder that holds it).",
)
@click.option("--source", "source_id", required=True, help="The source id of the extract.")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def encode(key_file: Path, config: Path, source_id: str, in_path: Path, out_path: Path) -> None:
    """Encode the extract IN of SOURCE into OUT, for an agency that may not share
    identifiers in clear.

    IN is read with the source's own mapping in partnership.yaml. OUT (CSV, or Parquet
    when it ends in .parquet) keeps the rows the source's filters keep, without the
    columns only names, date of birth, sex, postcode, address and identifiers are read
    from; it adds keyed Bloom filter encodings of those fields and keyed hashes of the
    identifiers, made with the key in --key-file. Send OUT to the hub; keep the key.

    \b
    Example:
      joinedup encode --key-file agency.key --config partnership.yaml \\
        --source brightpath_support referrals.csv referrals_encoded.csv
    """
    from joinedup.pipeline.encode import encode_extract

    base = config.parent if config.name.endswith((".yaml", ".yml")) else config
    summary = encode_extract(
        config_dir=base,
        source_id=source_id,
        in_path=in_path,
        out_path=out_path,
        key_file=key_file,
    )
    left = ", ".join(summary.removed) or "none"
    click.echo(
        f"Encoded {summary.encoded:,} records of {summary.rows:,} rows into {summary.out}; "
        f"columns left out: {left}."
    )
    click.echo(
        f"Send {summary.out.name} to the hub and mark the source 'encoded: true' (or, for a "
        "source the hub also receives in clear, set its 'encoded_file') in partnership.yaml."
    )
