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
  file on the next open, so it is removed before the new file is put in place.

Delta publishing (docs/reliability.md, "Publishing"): copying every mart into a new file costs
about a minute at tens of millions of sessions, and a daily run changes a few thousand rows. So
when the serving file is the last one this build database published, the new file starts as a
byte copy of it, and each incremental mart gets only the changes its dbt builds logged since
(macros/incremental/publish_log.sql: delete the rows matching a logged predicate or key set,
insert the build table's rows matching it); every other table is copied whole. The result is
checked (every table's row count equals the build's) and goes through the same fsync and atomic
replace. Whenever the chain cannot be trusted — no serving file, another build database's file,
a crash between a replace and the log's clean-up, a changed table layout, a file grown to
twice its last full size by deletes — the table or the whole file is copied from scratch."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from orchestration import config

log = logging.getLogger(__name__)

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


# A delta publish starts from a copy of the serving file; deleted rows leave free space behind
# that DuckDB does not always reuse. When the copy has grown past this factor of the size of the
# last full publish, the file is written from scratch instead.
MAX_GROWTH = 2.0
STATE_TABLE = "intermediate._publish_state"  # in the build database: the last publish it made
CHANGES_PREFIX = "_publish_changes__"  # intermediate._publish_changes__<schema>__<table>
KEYS_PREFIX = "_publish_keys__"


@dataclass
class PublishResult:
    counts: dict[str, int]
    mode: str  # "full" (a new file) or "delta" (a copy of the last serving file, changes applied)
    reason: str  # why a full publish, or what the delta started from
    tables_copied: list[str] = field(default_factory=list)
    tables_delta: dict[str, int] = field(default_factory=dict)  # table -> change entries applied
    tables_unchanged: list[str] = field(default_factory=list)


def publish(build_db: Path, serving_db: Path, *, run_id: str | None = None,
            as_of: date | None = None, incremental_tables: Mapping[str, str] | Iterable[str] | None = None
            ) -> dict[str, int]:
    """Publish the build database's marts; returns {table: row count}. See publish_with_report."""
    return publish_with_report(build_db, serving_db, run_id=run_id, as_of=as_of,
                               incremental_tables=incremental_tables).counts


def publish_with_report(build_db: Path, serving_db: Path, *, run_id: str | None = None,
                        as_of: date | None = None,
                        incremental_tables: Mapping[str, str] | Iterable[str] | None = None) -> PublishResult:
    """Publish the build database's marts. `incremental_tables` are the published tables whose
    changes are logged, as {"schema.table": "schema.model whose change log describes it"} (an
    incremental mart: itself; a view over an incremental model, row for row: that model) or a
    set of incremental marts; the Dagster asset passes them from the dbt manifest. Only they can
    be published as deltas. None: a full publish."""
    run_id = run_id or uuid.uuid4().hex
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    if incremental_tables is not None and not isinstance(incremental_tables, Mapping):
        incremental_tables = {t: t for t in incremental_tables}
    with _publish_lock(serving_db):
        tmp = serving_db.with_name(f".{serving_db.name}.{run_id}.tmp")
        try:
            result = _publish(build_db, serving_db, tmp, run_id, as_of, dict(incremental_tables or {}))
        except BaseException:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)  # the serving file was not touched
            raise
    _record_publish(build_db, run_id, result)
    return result


def _serving_run_id(serving_db: Path) -> tuple[str | None, int | None]:
    """(run_id, size of the last full publish) of the serving file, or (None, None)."""
    if not serving_db.exists():
        return None, None
    try:
        con = duckdb.connect(str(serving_db), read_only=True)
    except duckdb.Error:
        return None, None
    try:
        cols = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
            "AND table_name = '_publish_info'").fetchall()}
        if "full_publish_bytes" not in cols:
            return None, None
        row = con.execute("SELECT run_id, full_publish_bytes FROM marts._publish_info").fetchone()
        return (row[0], row[1]) if row else (None, None)
    finally:
        con.close()


def _build_has(con, table: str) -> bool:
    """Whether the attached build database has the table intermediate.<table>."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'build' "
                       "AND schema_name = 'intermediate' AND table_name = ?", [table]).fetchone()[0] > 0


def _last_publish_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run id of the last publish whose change log the build database cleared."""
    if not _build_has(con, STATE_TABLE.split(".", 1)[1]):
        return None
    row = con.execute(f"SELECT run_id FROM build.{STATE_TABLE} ORDER BY published_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _columns(con, database: str, schema: str, table: str) -> list[tuple]:
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
                       "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                       [database, schema, table]).fetchall()


def _changes(con, owner: str) -> list[tuple[str, str | None]] | None:
    """The logged changes [(kind, predicate)] of model `owner` ("schema.model"), or None when it
    has no change log."""
    schema, table = owner.split(".", 1)
    name = f"{CHANGES_PREFIX}{schema}__{table}"
    if not _build_has(con, name):
        return None
    return con.execute(f"SELECT kind, predicate FROM build.intermediate.{_ident(name)} ORDER BY logged_at").fetchall()


def _apply_delta(con, schema: str, table: str, owner: str, changes: list[tuple[str, str | None]]) -> None:
    """Replace in serving the rows the logged changes of `owner` touched with the build's
    current rows of schema.table."""
    name = f"{_ident(schema)}.{_ident(table)}"
    conditions = [f"({pred})" for kind, pred in changes if kind == "predicate"]
    if any(kind == "keys" for kind, _ in changes):
        owner_schema, owner_table = owner.split(".", 1)
        keys_name = f"{KEYS_PREFIX}{owner_schema}__{owner_table}"
        keys_table = f"build.intermediate.{_ident(keys_name)}"
        key_cols = [c for c, _ in _columns(con, "build", "intermediate", keys_name) if c != "logged_at"]
        cols = ", ".join(_ident(c) for c in key_cols)
        conditions.append(f"(({cols}) IN (SELECT ({cols}) FROM {keys_table}))" if len(key_cols) > 1
                          else f"({cols} IN (SELECT {cols} FROM {keys_table}))")
    if not conditions:
        return
    where = " OR ".join(conditions)
    con.execute(f"DELETE FROM serving.{name} WHERE {where}")
    con.execute(f"INSERT INTO serving.{name} SELECT * FROM build.{name} WHERE {where}")


def _publish(build_db: Path, serving_db: Path, tmp: Path, run_id: str, as_of: date | None,
             incremental_tables: dict[str, str]) -> PublishResult:
    for stale in serving_db.parent.glob(f".{serving_db.name}.*.tmp*"):
        stale.unlink()  # left by a crashed publish (we hold the lock: no other publish is running)
    serving_run, full_bytes = _serving_run_id(serving_db)
    # the same memory ceiling as the loader and dbt (WAREHOUSE_MEMORY_LIMIT), spilling beside the file
    con = duckdb.connect(config={"memory_limit": config.memory_limit(),
                                 "temp_directory": str(serving_db.parent / "duckdb_tmp")})
    try:
        con.execute(f"ATTACH {_lit(build_db)} AS build (READ_ONLY)")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = 'build' AND schema_name IN (SELECT unnest(?)) "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = 'build' AND schema_name IN (SELECT unnest(?)) "
            "ORDER BY 1, 2", [list(PUBLISHED_SCHEMAS)] * 2).fetchall()
        if not tables:
            raise RuntimeError(f"nothing to publish: no tables in schema(s) {PUBLISHED_SCHEMAS} of {build_db}")
        last = _last_publish_of(con)
        if not incremental_tables:
            reason = "no incremental tables named"
        elif serving_run is None:
            reason = "no serving file from a delta-capable publish"
        elif last != serving_run:
            reason = f"serving.duckdb ({serving_run}) is not the last publish of this build database ({last})"
        elif serving_db.stat().st_size > MAX_GROWTH * full_bytes:
            reason = f"serving.duckdb has grown to {serving_db.stat().st_size / full_bytes:.1f}x its last full size"
        else:
            reason = None
        delta = reason is None
        if delta:
            shutil.copyfile(serving_db, tmp)
            con.execute(f"ATTACH {_lit(tmp)} AS serving")
            reason = f"changes since run {serving_run}"
        else:
            con.execute(f"ATTACH {_lit(tmp)} AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
        result = PublishResult(counts={}, mode="delta" if delta else "full", reason=reason)
        existing = {(s, t) for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'serving'").fetchall()}
        for schema in sorted({s for s, _ in tables}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS serving.{_ident(schema)}")
        con.execute("BEGIN TRANSACTION")
        for schema, table in tables:
            name = f"{_ident(schema)}.{_ident(table)}"
            key = f"{schema}.{table}"
            owner = incremental_tables.get(key)
            changes = _changes(con, owner) if delta and owner else None
            same_layout = (schema, table) in existing and \
                _columns(con, "serving", schema, table) == _columns(con, "build", schema, table)
            if changes is not None and same_layout and not any(k == "full" for k, _ in changes):
                if changes:
                    _apply_delta(con, schema, table, owner, changes)
                    result.tables_delta[key] = len(changes)
                else:
                    result.tables_unchanged.append(key)
            else:
                con.execute(f"DROP TABLE IF EXISTS serving.{name}")
                con.execute(f"CREATE TABLE serving.{name} AS SELECT * FROM build.{name}")
                result.tables_copied.append(key)
        published = {(s, t) for s, t in tables}
        for schema, table in sorted(existing - published):  # tables the build no longer has
            con.execute(f"DROP TABLE serving.{_ident(schema)}.{_ident(table)}")
        for schema, table in tables:
            name = f"{_ident(schema)}.{_ident(table)}"
            n_serving = con.execute(f"SELECT count(*) FROM serving.{name}").fetchone()[0]
            if delta:
                n_build = con.execute(f"SELECT count(*) FROM build.{name}").fetchone()[0]
                if n_serving != n_build:  # never publish a delta that does not add up
                    raise RuntimeError(f"publish: delta of {schema}.{table} gives {n_serving} rows, "
                                       f"the build has {n_build}; serving.duckdb not replaced")
            result.counts[f"{schema}.{table}"] = n_serving
        published_at = datetime.now(timezone.utc).replace(tzinfo=None)
        con.execute("DROP TABLE IF EXISTS serving.marts._publish_info")
        con.execute("""CREATE TABLE serving.marts._publish_info (
            run_id VARCHAR, as_of_date DATE, published_at TIMESTAMP, table_row_counts JSON,
            publish_mode VARCHAR, full_publish_bytes BIGINT)""")
        con.execute("INSERT INTO serving.marts._publish_info VALUES (?, ?, ?, ?, ?, ?)",
                    [run_id, as_of, published_at, json.dumps(result.counts), result.mode,
                     full_bytes if delta else None])
        con.execute("COMMIT")
        con.execute("CHECKPOINT serving")
        con.execute("DETACH serving")
        con.execute("DETACH build")
    finally:
        con.close()
    _check_no_wal(tmp)
    if not delta:  # the size a delta publish compares its growth with
        size = tmp.stat().st_size
        con = duckdb.connect(str(tmp))
        try:
            con.execute("UPDATE marts._publish_info SET full_publish_bytes = ?", [size])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _check_no_wal(tmp)
    _fsync(tmp)
    stale_wal = serving_db.with_name(serving_db.name + ".wal")
    if stale_wal.exists():
        stale_wal.unlink()  # not ours: DuckDB would replay it onto the new file
    os.replace(tmp, serving_db)
    _fsync(serving_db.parent)
    return result


def _check_no_wal(tmp: Path) -> None:
    """Everything must be in the file itself (checkpointed) before it is renamed onto serving."""
    tmp_wal = tmp.with_name(tmp.name + ".wal")
    if tmp_wal.exists():
        raise RuntimeError(f"publish: {tmp_wal} left after checkpoint; serving.duckdb not replaced")


def _record_publish(build_db: Path, run_id: str, result: PublishResult) -> None:
    """After the replace: clear the change logs the new serving file includes and remember this
    publish as the base of the next delta. A crash before this leaves the logs and the old base:
    the next publish then sees a serving file that is not its last publish and copies whole."""
    try:
        con = duckdb.connect(str(build_db))
    except duckdb.Error as e:  # e.g. the build database held by another writer: safe, see above
        log.warning("publish: could not record publish %s in %s (%s); the next publish copies whole",
                    run_id, build_db, e)
        return
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
        con.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (run_id VARCHAR, mode VARCHAR, published_at TIMESTAMP)")
        logs = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'intermediate' "
                           "AND (starts_with(table_name, ?) OR starts_with(table_name, ?))",
                           [CHANGES_PREFIX, KEYS_PREFIX]).fetchall()
        for (name,) in logs:
            con.execute(f"DELETE FROM intermediate.{_ident(name)}")
        con.execute(f"DELETE FROM {STATE_TABLE}")
        con.execute(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?)",
                    [run_id, result.mode, datetime.now(timezone.utc).replace(tzinfo=None)])
        con.execute("COMMIT")
    finally:
        con.close()
