"""Write-audit-publish, the publish half (DESIGN.md section 6).

The marts of the build database are copied into a brand-new file, written in a storage format
DuckDB 1.1+ can read, flushed to disk, and renamed onto serving.duckdb with os.replace — atomic
on POSIX. A BI tool holding the old file open keeps reading the old file; a crash at any moment
leaves either the old or the new complete file, never a mix.

Crash and concurrency details (docs/reliability.md):
- the temporary file is `.serving.duckdb.<run id>.tmp` beside the serving file; temporary files
  left by a killed publish are removed by the next publish, under an exclusive lock
  (an flock on the warehouse directory, released by the OS if the holder dies) so that two
  publishers never delete each other's file;
- a write-ahead log `serving.duckdb.wal` beside the serving file can only come from a process
  that opened it read-write (against the rules) and died: DuckDB would replay it onto the new
  file on the next open, so it is removed before the new file is put in place."""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from contextlib import contextmanager
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


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _publish_lock(serving_db: Path):
    """One publisher at a time per warehouse directory (a second one waits): an flock on the
    directory itself, so no lock file is left behind, and the OS releases it if we die."""
    fd = os.open(serving_db.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def publish(build_db: Path, serving_db: Path, *, run_id: str | None = None,
            as_of: date | None = None) -> dict[str, int]:
    """Publish the build database's marts; returns {table: row count}."""
    run_id = run_id or uuid.uuid4().hex
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    with _publish_lock(serving_db):
        return _publish(build_db, serving_db, run_id, as_of)


def _publish(build_db: Path, serving_db: Path, run_id: str, as_of: date | None) -> dict[str, int]:
    tmp = serving_db.with_name(f".{serving_db.name}.{run_id}.tmp")
    for stale in serving_db.parent.glob(f".{serving_db.name}.*.tmp*"):
        stale.unlink()  # left by a crashed publish (we hold the lock: no other publish is running)
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
            con.execute(f"CREATE SCHEMA serving.{_ident(schema)}")
        for schema, table in tables:
            name = f"{_ident(schema)}.{_ident(table)}"
            con.execute(f"CREATE TABLE serving.{name} AS SELECT * FROM build.{name}")
            counts[f"{schema}.{table}"] = con.execute(f"SELECT count(*) FROM serving.{name}").fetchone()[0]
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
    tmp_wal = tmp.with_name(tmp.name + ".wal")
    if tmp_wal.exists():  # everything must be in the file itself before it is renamed
        raise RuntimeError(f"publish: {tmp_wal} left after checkpoint; serving.duckdb not replaced")
    _fsync(tmp)
    stale_wal = serving_db.with_name(serving_db.name + ".wal")
    if stale_wal.exists():
        stale_wal.unlink()  # not ours: DuckDB would replay it onto the new file
    os.replace(tmp, serving_db)
    _fsync(serving_db.parent)
    return counts
