"""Where Splink runs: the build's own DuckDB connection, or Apache Spark.

The seam is small, like Splink's ``DatabaseAPI``: an engine hands Splink its own API
object (``DuckDBAPI`` on our connection, ``SparkAPI`` on a Spark session), puts a table of
the build connection in front of Splink, and takes a Splink result back into the build
connection. Everything else (model, training, prediction) is the same Splink code on
either engine; clustering, ids and the report then run in the build's DuckDB on the
pairs that scored at or above the review threshold, which are few (about one per record).

Spark is optional: ``pip install 'joinedup[spark]'`` and Java 17.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import duckdb

from joinedup.config.model import LinkageConfig
from joinedup.errors import BuildError

if TYPE_CHECKING:
    from splink.internals.database_api import DatabaseAPI
    from splink.internals.splink_dataframe import SplinkDataFrame

__all__ = ["DuckDBEngine", "LinkageEngine", "SparkEngine", "make_engine", "spark_session"]

_names = itertools.count()


class LinkageEngine(ABC):
    """A backend for Splink plus the two moves between it and the build connection."""

    name: str

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @property
    @abstractmethod
    def db_api(self) -> DatabaseAPI[Any]:
        """Splink's own API object for this engine."""

    @abstractmethod
    def put(self, table: str, display_name: str) -> SplinkDataFrame:
        """Make a table of the build connection an input that Splink can read."""

    @abstractmethod
    def take(self, df: SplinkDataFrame, table: str, select: str = "*") -> None:
        """Copy a Splink result (``SELECT {select} FROM df``) into a temp table of ours."""

    def scalar_rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a small query on the engine (``{t}`` is filled in by the caller)."""
        out = self.db_api.query_sql(sql, output_type="splink_df")
        rows = out.as_record_list()
        out.drop_table_from_database_and_remove_from_cache()
        return [tuple(r.values()) for r in rows]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the engine holds (Splink's scratch tables, cached frames)."""


class DuckDBEngine(LinkageEngine):
    """Splink on the build's own DuckDB connection (the default)."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__(con)
        from splink import DuckDBAPI

        self._api = DuckDBAPI(connection=con)

    @property
    def db_api(self) -> DatabaseAPI[Any]:
        return self._api

    def put(self, table: str, display_name: str) -> SplinkDataFrame:
        return self._api.register(table, dataset_display_name=f"{display_name}_{next(_names)}")

    def take(self, df: SplinkDataFrame, table: str, select: str = "*") -> None:
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM {df.physical_name}"
        )

    def close(self) -> None:
        # Splink's scratch tables live in our connection: never let them reach a release
        names = [
            r[0]
            for r in self.con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_name LIKE '__splink__%'"
            ).fetchall()
        ]
        for n in names:
            kind = self.con.execute(
                "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [n]
            ).fetchall()[0]
            what = "VIEW" if kind and kind[0] == "VIEW" else "TABLE"
            self.con.execute(f'DROP {what} IF EXISTS "{n}"')


def spark_session(cfg: LinkageConfig) -> Any:
    """The process's Spark session, created on first use with Splink's similarity jar."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise BuildError(
            "linkage.engine is 'spark' in partnership.yaml but pyspark is not installed: "
            "run `pip install 'joinedup[spark]'` (Spark also needs Java 17), or set "
            "linkage.engine to duckdb."
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.master(cfg.spark.master)
        .appName("joinedup-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    for key, value in sorted(cfg.spark.options.items()):
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: Java missing or wrong version
        raise BuildError(
            "Spark could not start for linkage.engine: spark. Install Java 17 (Debian: "
            "apt-get install openjdk-17-jre-headless) and check linkage.spark in "
            f"partnership.yaml ({type(exc).__name__})."
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine(LinkageEngine):
    """Splink's Spark backend: for a region or nation that outgrows one machine."""

    name = "spark"

    def __init__(self, con: duckdb.DuckDBPyConnection, cfg: LinkageConfig) -> None:
        super().__init__(con)
        self.spark = spark_session(cfg)
        from splink import SparkAPI

        self._api = SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=self.spark,
            break_lineage_method="persist",
            num_partitions_on_repartition=4,
        )
        self._frames: list[SplinkDataFrame] = []

    @property
    def db_api(self) -> DatabaseAPI[Any]:
        return self._api

    def put(self, table: str, display_name: str) -> SplinkDataFrame:
        arrow = self.con.sql(f"SELECT * FROM {table}").to_arrow_table()
        frame = self.spark.createDataFrame(arrow)
        sdf = self._api.register(frame, dataset_display_name=f"{display_name}_{next(_names)}")
        self._frames.append(sdf)
        return sdf

    def take(self, df: SplinkDataFrame, table: str, select: str = "*") -> None:
        arrow = df.as_spark_dataframe().selectExpr(*_split_select(select)).toArrow()
        self.con.register("_ju_lk_take", arrow)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _ju_lk_take")
        self.con.unregister("_ju_lk_take")

    def close(self) -> None:
        self.spark.catalog.clearCache()


def _split_select(select: str) -> list[str]:
    if select.strip() == "*":
        return ["*"]
    parts, depth, cur = [], 0, ""
    for ch in select:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def make_engine(con: duckdb.DuckDBPyConnection, cfg: LinkageConfig) -> LinkageEngine:
    """The engine partnership.yaml asks for."""
    if cfg.engine == "spark":
        return SparkEngine(con, cfg)
    return DuckDBEngine(con)
