"""The raw layer as Parquet, the format both engines read natively: one directory per raw table
(`<out>/<table>/part-0.parquet`), which the dbt `spark` target registers as the source table
`raw.<table>` (macros/spark/register_raw_sources.sql).

Types survive as Spark reads them: DECIMAL(18,4), DOUBLE, BIGINT, BOOLEAN and DATE as they are;
TIMESTAMP (naive UTC in the warehouse) is written as a UTC instant (Parquet `isAdjustedToUTC`),
which Spark reads as TIMESTAMP in its UTC session time zone, the same wall-clock values; JSON
columns are written as plain strings (Spark has no JSON type).

The build database is opened read-only, so the export runs beside readers but not while the job
writes it. Each table's directory is written beside the old one and swapped in when complete."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from orchestration.contract import SOURCES
from orchestration.export import _ident, _literal


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


def export_raw(build_db: Path, out_dir: Path, tables: list[str] | None = None) -> dict[str, int]:
    """Write each raw table of `build_db` (default: every landing source of the contract) to
    `out_dir/<table>/part-0.parquet`; returns {table: rows}. Refuses a build database that lacks
    one of the tables."""
    build_db, out_dir = Path(build_db), Path(out_dir)
    if not build_db.exists():
        raise FileNotFoundError(f"no build database at {build_db}: run the job first (make run)")
    tables = list(tables or SOURCES)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(build_db), read_only=True)
    rows: dict[str, int] = {}
    try:
        con.execute("SET TimeZone = 'UTC'")
        for table in tables:
            columns = [(c, t) for c, t in con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE database_name = current_database() AND schema_name = 'raw' AND table_name = ? "
                "ORDER BY column_index", [table]).fetchall()]
            if not columns:
                raise LookupError(f"{build_db} has no table raw.{table}: was it built by this version's loader?")
            staging = out_dir / f".{table}.new"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            con.execute(
                f"COPY (SELECT {_select_list(columns)} FROM raw.{_ident(table)}) "
                f"TO {_literal(str(staging / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)")
            target = out_dir / table
            old = out_dir / f".{table}.old"
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
            rows[table] = con.execute(f"SELECT count(*) FROM raw.{_ident(table)}").fetchone()[0]
    finally:
        con.close()
    return rows
