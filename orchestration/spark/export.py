"""The raw layer and the run's rebuild plan as Parquet, the format both engines read natively:
one directory per table (`<out>/<table>/part-0.parquet`), which the dbt `spark` target registers
as the source tables `raw.<table>` and `run_plan.<table>` (macros/spark/register_raw_sources.sql).

Types survive as Spark reads them: DECIMAL(18,4), DOUBLE, BIGINT, BOOLEAN and DATE as they are;
TIMESTAMP (naive UTC in the warehouse) is written as a UTC instant (Parquet `isAdjustedToUTC`),
which Spark reads as TIMESTAMP in its UTC session time zone, the same wall-clock values; JSON
columns are written as plain strings (Spark has no JSON type).

The plan sets (orchestration/plan.py: the dates and keys an incremental build rebuilds) are the
same table data the DuckDB build reads: the planner runs on the loaded raw tables, so one plan
serves both engines. A build database without a plan yet gets empty sets (a full build reads
none of them; dbt's unit tests need their columns).

The build database is opened read-only, so the export runs beside readers but not while the job
writes it. Each table's directory is written beside the old one and swapped in when complete."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from orchestration.contract import SOURCES
from orchestration.export import _ident, _literal
from orchestration.plan import SCHEMA as PLAN_SCHEMA
from orchestration.plan import SETS as PLAN_SETS


def _select_list(columns: list[tuple[str, str]]) -> str:
    exprs = []
    for name, data_type in columns:
        if data_type == "JSON":
            exprs.append(f"CAST({_ident(name)} AS VARCHAR) AS {_ident(name)}")
        elif data_type == "TIMESTAMP":
            exprs.append(f"CAST({_ident(name)} AS TIMESTAMPTZ) AS {_ident(name)}")
        else:
            exprs.append(_ident(name))
    return ", ".join(exprs)


def _write(con: duckdb.DuckDBPyConnection, query: str, out_dir: Path, table: str) -> None:
    """COPY `query` to out_dir/<table>/part-0.parquet, swapping the directory in when complete."""
    staging = out_dir / f".{table}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    con.execute(f"COPY ({query}) TO {_literal(str(staging / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)")
    target = out_dir / table
    old = out_dir / f".{table}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? "
        "ORDER BY column_index",
        [schema, table],
    ).fetchall()


def _open(build_db: Path) -> duckdb.DuckDBPyConnection:
    if not Path(build_db).exists():
        raise FileNotFoundError(f"no build database at {build_db}: run the job first (make run)")
    con = duckdb.connect(str(build_db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def export_raw(build_db: Path, out_dir: Path, tables: list[str] | None = None) -> dict[str, int]:
    """Write each raw table of `build_db` (default: every landing source of the contract) to
    `out_dir/<table>/part-0.parquet`; returns {table: rows}. Refuses a build database that lacks
    one of the tables."""
    build_db, out_dir = Path(build_db), Path(out_dir)
    con = _open(build_db)
    rows: dict[str, int] = {}
    try:
        tables = list(tables or SOURCES)
        out_dir.mkdir(parents=True, exist_ok=True)
        for table in tables:
            columns = _columns(con, "raw", table)
            if not columns:
                raise LookupError(f"{build_db} has no table raw.{table}: was it built by this version's loader?")
            _write(con, f"SELECT {_select_list(columns)} FROM raw.{_ident(table)}", out_dir, table)
            rows[table] = con.execute(f"SELECT count(*) FROM raw.{_ident(table)}").fetchone()[0]
    finally:
        con.close()
    return rows


def export_plan(build_db: Path, out_dir: Path) -> dict[str, int]:
    """Write each set of the current rebuild plan (schema run_plan of `build_db`) to
    `out_dir/<set>/part-0.parquet`, with the columns of orchestration.plan.SETS; an empty set
    where the database holds no plan yet. Returns {set: rows}."""
    build_db, out_dir = Path(build_db), Path(out_dir)
    con = _open(build_db)
    rows: dict[str, int] = {}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for table, columns in PLAN_SETS.items():
            names = ", ".join(_ident(c.split()[0]) for c in columns.split(", "))
            if _columns(con, PLAN_SCHEMA, table):
                query = f"SELECT {names} FROM {PLAN_SCHEMA}.{_ident(table)}"
            else:  # no plan made yet: the set's columns, no rows
                casts = ", ".join(
                    f"CAST(NULL AS {c.split()[1]}) AS {_ident(c.split()[0])}" for c in columns.split(", ")
                )
                query = f"SELECT {casts} WHERE false"
            _write(con, query, out_dir, table)
            rows[table] = con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
    finally:
        con.close()
    return rows
