"""Optional Parquet export of the published marts, for tools that read files rather than DuckDB.

`export_parquet(serving_db, out_dir)` writes one `<table>.parquet` per table of schema `marts`
in the serving file (plus `_publish_info.parquet`: which run and logical date the files hold),
with DuckDB's COPY. Every table is read from one read-only attachment of the serving file, so
the files are one published state even if a run publishes meanwhile; each file is written to a
temporary name and renamed into place, so a reader of `out_dir` never sees a half-written file
(a set of files being replaced one by one can mix two states for a moment: compare the run_id of
`_publish_info.parquet` if that matters)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_parquet(serving_db: Path, out_dir: Path) -> dict[str, Path]:
    """Write every table of `marts` in `serving_db` to `out_dir/<table>.parquet`; returns
    {table: file}."""
    serving_db, out_dir = Path(serving_db), Path(out_dir)
    if not serving_db.exists():
        raise FileNotFoundError(f"no serving database at {serving_db}: nothing has been published yet")
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()  # a fresh in-memory database: never a cached handle on an older file
    written: dict[str, Path] = {}
    try:
        con.execute(f"ATTACH {_literal(str(serving_db))} AS serving (READ_ONLY)")
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'serving' AND schema_name = 'marts' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        for table in tables:
            target = out_dir / f"{table}.parquet"
            tmp = out_dir / f".{table}.parquet.tmp"
            con.execute(
                f"COPY (SELECT * FROM serving.marts.{_ident(table)}) TO {_literal(str(tmp))} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            os.replace(tmp, target)
            written[table] = target
        con.execute("DETACH serving")
    finally:
        con.close()
    return written
