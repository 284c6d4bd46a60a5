"""Write-audit-publish, the publish half (DESIGN.md section 6).

The marts of the build database are copied into a brand-new file, written in a storage format
DuckDB 1.1+ can read, flushed to disk, and renamed onto serving.duckdb with os.replace — atomic
on POSIX. A BI tool holding the old file open keeps reading the old file; a crash at any moment
leaves either the old or the new complete file, never a mix."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts",)
SERVING_STORAGE_VERSION = "v1.1.0"


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(build_db: Path, serving_db: Path, *, run_id: str | None = None,
            as_of: date | None = None) -> dict[str, int]:
    """Publish the build database's marts; returns {table: row count}."""
    run_id = run_id or uuid.uuid4().hex
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving_db.with_name(f".{serving_db.name}.{run_id}.tmp")
    for stale in serving_db.parent.glob(f".{serving_db.name}.*.tmp*"):
        stale.unlink()  # left by a crashed publish; never the live file
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_lit(build_db)} AS build (READ_ONLY)")
        con.execute(f"ATTACH {_lit(tmp)} AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = 'build' AND schema_name IN (SELECT unnest(?)) "
            "ORDER BY schema_name, table_name", [list(PUBLISHED_SCHEMAS)]).fetchall()
        if not tables:
            raise RuntimeError(f"nothing to publish: no tables in schema(s) {PUBLISHED_SCHEMAS} of {build_db}")
        counts: dict[str, int] = {}
        for schema in sorted({s for s, _ in tables}):
            con.execute(f'CREATE SCHEMA serving."{schema}"')
        for schema, table in tables:
            con.execute(f'CREATE TABLE serving."{schema}"."{table}" AS SELECT * FROM build."{schema}"."{table}"')
            counts[f"{schema}.{table}"] = con.execute(
                f'SELECT count(*) FROM serving."{schema}"."{table}"').fetchone()[0]
        published_at = datetime.now(timezone.utc).replace(tzinfo=None)
        con.execute("""CREATE TABLE serving.marts._publish_info (
            run_id VARCHAR, as_of_date DATE, published_at TIMESTAMP, table_row_counts JSON)""")
        con.execute("INSERT INTO serving.marts._publish_info VALUES (?, ?, ?, ?)",
                    [run_id, as_of, published_at, json.dumps(counts)])
        con.execute("CHECKPOINT serving")
        con.execute("DETACH serving")
        con.execute("DETACH build")
    finally:
        con.close()
    _fsync(tmp)
    os.replace(tmp, serving_db)
    _fsync(serving_db.parent)
    return counts
