"""``joinedup encode``: an agency encodes its own extract before it leaves its machine.

The extract is read and mapped with the source's own mapping in ``partnership.yaml``,
exactly as a build would (so names, dates of birth, postcodes and identifiers are the
canonical, validated values every agency encodes the same way), on a database in memory
that is thrown away. The output is the extract's rows, in order, with every column that only
identifying fields read left out, and these added
(:mod:`joinedup.linkage.encoded`): ``ju_record_id`` (the record id as mapped),
``ju_clk_*`` (one keyed Bloom filter encoding a field, base64), ``ju_hash_*`` (keyed
hashes of identifiers), ``ju_blocks`` (keyed blocking keys), ``ju_scheme`` and
``ju_filtered`` ("yes" on a row the source's filters drop, whose identifying columns are
gone, so the hub drops it by this column). A row that a build would quarantine keeps
its place with no encodings.

The same file serves two purposes at the hub: the extract of an ``encoded: true``
source, or the ``encoded_file`` of a clear source, so that encoded sources can link to
it (docs/linkage.md, "Encoded identifiers").
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from joinedup.config import SourceConfig, load_config
from joinedup.config.encoding import FILTERED_COLUMN, removed_columns
from joinedup.errors import ConfigError, SourceError
from joinedup.linkage.encoded import RECORD_COLUMN, encode_records, read_key
from joinedup.linkage.names import name_features
from joinedup.pipeline.context import prepare_database
from joinedup.pipeline.mapping import map_source
from joinedup.pipeline.read import check_columns
from joinedup.sources import filter_sql, resolve_crosswalks
from joinedup.sources import stage as stage_file
from joinedup.taxonomy import load_taxonomy

__all__ = ["EncodeSummary", "encode_extract"]

_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
}
_RAW = "_ju_raw_encode"


@dataclass(frozen=True)
class EncodeSummary:
    """What ``encode_extract`` wrote: rows, rows with encodings, columns left out."""

    rows: int
    encoded: int
    removed: tuple[str, ...]
    out: Path


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key(key_file: Path) -> bytes:
    try:
        data = Path(key_file).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the key file {key_file} ({type(exc).__name__}); give the file "
            "your partnership's agencies share (never the hub) with --key-file."
        ) from None
    try:
        return read_key(data)
    except ValueError as exc:
        raise ConfigError(f"{key_file}: {exc}.") from None


def encode_extract(
    *, config_dir: Path, source_id: str, in_path: Path, out_path: Path, key_file: Path
) -> EncodeSummary:
    """Encode one extract of ``source_id`` (see the module docstring)."""
    key = _key(key_file)
    base = Path(config_dir)
    cfg = load_config(base, check_files=False)
    ids = [s.id for s in cfg.sources]
    if source_id not in ids:
        raise ConfigError(
            f"There is no source '{source_id}' in {base / 'partnership.yaml'}; "
            f"its sources are: {', '.join(ids)}."
        )
    src = cfg.source(source_id)
    in_path, out_path = Path(in_path), Path(out_path)
    fmt = _FORMATS.get(in_path.suffix.lower())
    if fmt is not None and fmt != src.format and src.format in _FORMATS.values():
        src = src.model_copy(update={"format": fmt})
    out_fmt = "parquet" if out_path.suffix.lower() == ".parquet" else "csv"
    if in_path.resolve() == out_path.resolve():
        raise ConfigError("OUT is the same file as IN: write the encoded extract elsewhere.")
    if not in_path.is_file():
        raise SourceError(f"No file {in_path}: give the agency's extract as IN.")
    with tempfile.TemporaryDirectory(prefix="joinedup-encode-") as tmp:
        con = duckdb.connect()
        try:
            prepare_database(con, cfg, load_taxonomy(cfg.taxonomy_version), Path(tmp))
            staged = stage_file(con, in_path, src, _RAW)
            problems = check_columns(con, src, _RAW, in_path.name, staged)
            if problems:
                raise SourceError(
                    f"{len(problems)} problem(s) with {in_path.name}; nothing was written:",
                    problems,
                )
            map_source(
                con,
                src,
                cfg,
                _RAW,
                in_path.name,
                resolve_crosswalks(cfg, base),
                as_of=src.extracted_at or dt.date.today(),
                native_dates=staged.native_dates,
            )
            n = _encode(con, src.id, key)
            return _write(con, src_filters=filter_sql(src), src=src, out=out_path, fmt=out_fmt, n=n)
        finally:
            con.close()


def _groups(forenames: list[str | None], preferred: list[str | None]) -> list[str | None]:
    """The nickname groups (and the names) of each record's forename and preferred name."""
    names = sorted({n for n in (*forenames, *preferred) if n})
    feats = name_features(names).to_pydict() if names else {"name": [], "groups": []}
    by_name = dict(zip(feats["name"], feats["groups"], strict=True))
    out: list[str | None] = []
    for f, p in zip(forenames, preferred, strict=True):
        found = {g for n in (f, p) if n for g in (by_name.get(n) or [])}
        out.append(" ".join(sorted(found)) or None)
    return out


def _encode(con: duckdb.DuckDBPyConnection, source: str, key: bytes) -> int:
    """Encode every mapped record into the temporary table ``_ju_enc_rows`` by ``_row``."""
    rows = con.execute(
        "SELECT r.source_row, i.source_record_id, i.forename, i.surname, i.dob, i.sex, i.postcode, "
        "coalesce(i.postcode_district, split_part(i.postcode, ' ', 1)), i.nhs_number, i.upn, "
        "i.pnc_id, i.local_id, i.preferred_name FROM identity i "
        "JOIN record r USING (source, source_record_id) "
        "WHERE i.source = ? ORDER BY r.source_row",
        [source],
    ).fetchall()
    kinds = con.execute(
        "SELECT source_record_id, kind, value FROM identity_id WHERE source = ?", [source]
    ).fetchall()
    by_record: dict[str, dict[str, str]] = {}
    for rid, kind, value in kinds:
        by_record.setdefault(str(rid), {})[str(kind)] = str(value)
    names = sorted({str(k) for _, k, _ in kinds})
    cols = list(zip(*rows, strict=True)) if rows else [()] * 13
    identifiers: dict[str, list[str | None]] = {
        "nhs_number": list(cols[8]),
        "upn": list(cols[9]),
        "pnc_id": list(cols[10]),
        "local_id": list(cols[11]),
    }
    for kind in names:
        identifiers[f"id_{kind}"] = [by_record.get(str(r), {}).get(kind) for r in cols[1]]
    encoded = encode_records(
        key,
        forename=list(cols[2]),
        surname=list(cols[3]),
        dob=list(cols[4]),
        sex=list(cols[5]),
        postcode=list(cols[6]),
        district=list(cols[7]),
        identifiers=identifiers,
        forename_groups=_groups(list(cols[2]), list(cols[12])),
    )
    table = pa.table(
        {
            "_row": pa.array(list(cols[0]), pa.int64()),
            RECORD_COLUMN: pa.array([str(r) for r in cols[1]], pa.string()),
            **{k: pa.array(v, pa.string()) for k, v in encoded.items()},
        }
    )
    con.register("_ju_enc_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE _ju_enc_rows AS SELECT * FROM _ju_enc_arrow")
    con.unregister("_ju_enc_arrow")
    return len(rows)


def _write(
    con: duckdb.DuckDBPyConnection,
    *,
    src_filters: str,
    src: SourceConfig,
    out: Path,
    fmt: str,
    n: int,
) -> EncodeSummary:
    have = [str(r[0]) for r in con.execute(f"DESCRIBE {_RAW}").fetchall()]
    gone = removed_columns(src)
    keep = [c for c in have if c != "_row" and c not in gone]
    enc = [str(r[0]) for r in con.execute("DESCRIBE _ju_enc_rows").fetchall() if r[0] != "_row"]
    select = ", ".join([*(f"r.{_q(c)}" for c in keep), *(f"e.{_q(c)}" for c in enc)])
    # rows the filters drop keep their place (a record id may be a row number), marked
    select += f", CASE WHEN {src_filters} THEN NULL ELSE 'yes' END AS {FILTERED_COLUMN}"
    out.parent.mkdir(parents=True, exist_ok=True)
    target = str(out).replace("'", "''")
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    # a row repeating an earlier one in every column carries that row's encodings, so that
    # the hub sees the repeat, and quarantines it, as a build in clear does
    every = ", ".join(_q(c) for c in have if c != "_row")
    first = f"SELECT _row, min(_row) OVER (PARTITION BY hash({every})) AS _first FROM {_RAW}"
    con.execute(
        f"COPY (SELECT {select} FROM {_RAW} r JOIN ({first}) f USING (_row) "
        "LEFT JOIN _ju_enc_rows e ON e._row = CASE WHEN r._row IN (SELECT _row FROM "
        f"_ju_enc_rows) THEN r._row ELSE f._first END ORDER BY r._row) TO '{target}' ({options})"
    )
    rows = con.execute(f"SELECT count(*) FROM {_RAW} WHERE {src_filters}").fetchall()[0][0]
    return EncodeSummary(
        rows=int(rows), encoded=n, removed=tuple(sorted(c for c in gone if c in have)), out=out
    )
