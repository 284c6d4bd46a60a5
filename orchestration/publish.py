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

Delta publishing: copying every mart into a new file costs most of a minute at tens of millions
of sessions, while a daily run rebuilds a few dates and a few thousand keys. When the serving
file is the publish of the build just before this one (its plan id is the previous plan of the
build database's current plan, with no failed build in between) and this build was incremental,
the new file starts as a byte copy of the serving file, and each published table whose rows the
run's plan selects (meta.plan_set in the dbt project: a run_plan set whose columns the table
has) gets only those rows replaced: delete the rows matching the set, insert the build's rows
matching it. Every other table is copied whole. The plan's sets are table data in the build
database (run_plan.*), joined, never pasted into SQL. The result is checked (every table's row
count equals the build's) and goes through the same fsync and atomic replace. Whenever the chain
cannot be trusted — no serving file, another build's file, a failed build since, a full rebuild,
a changed table layout, a file grown to twice its last full size by deletes — the table or the
whole file is copied from scratch. A run that built nothing (plan `none`: no new data, same
logical date) leaves the serving file as it is when it holds the last build.

The metric formulas travel with the tables: the SQL macros of the marts schema (marts.failed_pct,
marts.benchmark_tier, ...: dbt's on-run-end hook makes them from the dbt macros) are created again
in the new file from the build's catalog, by a full and by a delta publish (copy_macros).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration import config
from orchestration import plan as planner

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


@dataclass
class PublishResult:
    counts: dict[str, int]
    mode: str  # "full" (a new file), "delta" (a copy of the last serving file, changes applied), "unchanged"
    reason: str  # why a full publish, what the delta started from, or why nothing was written
    tables_copied: list[str] = field(default_factory=list)
    tables_delta: dict[str, int] = field(default_factory=dict)  # table -> rows of the plan set applied
    tables_unchanged: list[str] = field(default_factory=list)
    macros: list[str] = field(default_factory=list)  # the published formulas ("marts.failed_pct")


@dataclass
class _Serving:
    run_id: str | None = None
    plan_id: str | None = None
    full_bytes: int | None = None
    counts: dict[str, int] = field(default_factory=dict)


def publish(
    build_db: Path,
    serving_db: Path,
    *,
    run_id: str | None = None,
    as_of: date | None = None,
    plan_sets: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Publish the build database's marts; returns {table: row count}. See publish_with_report."""
    return publish_with_report(build_db, serving_db, run_id=run_id, as_of=as_of, plan_sets=plan_sets).counts


def publish_with_report(
    build_db: Path,
    serving_db: Path,
    *,
    run_id: str | None = None,
    as_of: date | None = None,
    plan_sets: Mapping[str, str] | None = None,
) -> PublishResult:
    """Publish the build database's marts. `plan_sets` maps published tables ("marts.t") to the
    run_plan set (a table name in schema run_plan of the build database) whose rows are the ones
    an incremental build replaced in them; the Dagster asset passes them from the dbt manifest.
    Only those tables can be published as deltas; None or {}: a full publish."""
    run_id = run_id or uuid.uuid4().hex
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    with _publish_lock(serving_db):
        tmp = serving_db.with_name(f".{serving_db.name}.{run_id}.tmp")
        try:
            return _publish(build_db, serving_db, tmp, run_id, as_of, dict(plan_sets or {}))
        except BaseException:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)  # the serving file was not touched
            raise


def _serving_info(serving_db: Path) -> _Serving:
    """What the serving file says it holds (nothing when it is missing, unreadable or older)."""
    if not serving_db.exists():
        return _Serving()
    try:
        con = duckdb.connect(str(serving_db), read_only=True)
    except duckdb.Error:
        return _Serving()
    try:
        cols = {
            c
            for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = '_publish_info'"
            ).fetchall()
        }
        if not {"plan_id", "full_publish_bytes"} <= cols:
            return _Serving()
        row = con.execute(
            "SELECT run_id, plan_id, full_publish_bytes, table_row_counts FROM marts._publish_info"
        ).fetchone()
        return _Serving(row[0], row[1], row[2], json.loads(row[3])) if row else _Serving()
    except duckdb.Error:
        return _Serving()
    finally:
        con.close()


def _columns(con, database: str, schema: str, table: str) -> list[tuple]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, table],
    ).fetchall()


def _apply_delta(con, schema: str, table: str, plan_set: str) -> int | None:
    """Replace in serving the rows of schema.table that the run's plan set selects with the build's
    rows; returns the size of the set, or None when the table does not have the set's columns."""
    set_cols = [c for c, _ in _columns(con, "build", planner.SCHEMA, plan_set)]
    table_cols = {c for c, _ in _columns(con, "build", schema, table)}
    if not set_cols or not set(set_cols) <= table_cols:
        return None
    n = con.execute(f"SELECT count(*) FROM build.{planner.SCHEMA}.{_ident(plan_set)}").fetchone()[0]
    if n:
        cols = ", ".join(_ident(c) for c in set_cols)
        in_set = (
            f"({cols}) IN (SELECT ({cols}) FROM build.{planner.SCHEMA}.{_ident(plan_set)})"
            if len(set_cols) > 1
            else f"{cols} IN (SELECT {cols} FROM build.{planner.SCHEMA}.{_ident(plan_set)})"
        )
        name = f"{_ident(schema)}.{_ident(table)}"
        con.execute(f"DELETE FROM serving.{name} WHERE {in_set}")
        con.execute(f"INSERT INTO serving.{name} SELECT * FROM build.{name} WHERE {in_set}")
    return n


def _delta_refusal(plan: planner.Plan | None, serving: _Serving, serving_db: Path, plan_sets: dict) -> str | None:
    """Why this publish cannot be a delta of the serving file (None: it can)."""
    if not plan_sets:
        return "no table named as rebuilt by a plan set"
    if plan is None:
        return "the build database has no run plan"
    if plan.mode == "full":
        return "the build was a full rebuild"
    if serving.plan_id is None:
        return "no serving file from a plan-aware publish"
    if serving.plan_id != plan.previous_plan_id:
        return f"serving.duckdb (plan {serving.plan_id[:8]}) is not the publish of the build before this one"
    if not plan.clean_chain:
        return "a build failed since serving.duckdb was published"
    if serving.full_bytes and serving_db.stat().st_size > MAX_GROWTH * serving.full_bytes:
        return f"serving.duckdb has grown to {serving_db.stat().st_size / serving.full_bytes:.1f}x its last full size"
    return None


def _publish(
    build_db: Path, serving_db: Path, tmp: Path, run_id: str, as_of: date | None, plan_sets: dict[str, str]
) -> PublishResult:
    for stale in serving_db.parent.glob(f".{serving_db.name}.*.tmp*"):
        stale.unlink()  # left by a crashed publish (we hold the lock: no other publish is running)
    serving = _serving_info(serving_db)
    plan = planner.read_current_plan(build_db)
    refusal = _delta_refusal(plan, serving, serving_db, plan_sets)
    if refusal is None and plan.mode == "none":
        # nothing was built: the serving file already holds the last build
        return PublishResult(
            counts=serving.counts,
            mode="unchanged",
            reason=f"no new data: serving.duckdb already holds plan {serving.plan_id[:8]}",
        )
    # the same memory ceiling as the loader and dbt (WAREHOUSE_MEMORY_LIMIT), spilling beside the file
    con = duckdb.connect(
        config={"memory_limit": config.memory_limit(), "temp_directory": str(serving_db.parent / "duckdb_tmp")}
    )
    try:
        con.execute(f"ATTACH {_lit(build_db)} AS build (READ_ONLY)")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = 'build' AND schema_name IN (SELECT unnest(?)) "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = 'build' AND schema_name IN (SELECT unnest(?)) "
            "ORDER BY 1, 2",
            [list(PUBLISHED_SCHEMAS)] * 2,
        ).fetchall()
        if not tables:
            raise RuntimeError(f"nothing to publish: no tables in schema(s) {PUBLISHED_SCHEMAS} of {build_db}")
        delta = refusal is None
        if delta:
            shutil.copyfile(serving_db, tmp)
            con.execute(f"ATTACH {_lit(tmp)} AS serving")
            reason = f"plan {plan.plan_id[:8]} on top of plan {serving.plan_id[:8]}"
        else:
            con.execute(f"ATTACH {_lit(tmp)} AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
            reason = refusal
        result = PublishResult(counts={}, mode="delta" if delta else "full", reason=reason)
        existing = {
            (s, t)
            for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'serving'"
            ).fetchall()
        }
        for schema in sorted({s for s, _ in tables}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS serving.{_ident(schema)}")
        con.execute("BEGIN TRANSACTION")
        for schema, table in tables:
            name = f"{_ident(schema)}.{_ident(table)}"
            key = f"{schema}.{table}"
            applied = None
            if (
                delta
                and key in plan_sets
                and (schema, table) in existing
                and _columns(con, "serving", schema, table) == _columns(con, "build", schema, table)
            ):
                applied = _apply_delta(con, schema, table, plan_sets[key])
            if applied:
                result.tables_delta[key] = applied
            elif applied == 0:
                result.tables_unchanged.append(key)
            else:
                con.execute(f"DROP TABLE IF EXISTS serving.{name}")
                con.execute(f"CREATE TABLE serving.{name} AS SELECT * FROM build.{name}")
                result.tables_copied.append(key)
        published = {(s, t) for s, t in tables}
        for schema, table in sorted(existing - published):  # tables the build no longer has
            if (schema, table) != ("marts", "_publish_info"):
                con.execute(f"DROP TABLE serving.{_ident(schema)}.{_ident(table)}")
        for schema, table in tables:
            name = f"{_ident(schema)}.{_ident(table)}"
            n_serving = con.execute(f"SELECT count(*) FROM serving.{name}").fetchone()[0]
            if delta:
                n_build = con.execute(f"SELECT count(*) FROM build.{name}").fetchone()[0]
                if n_serving != n_build:  # never publish a delta that does not add up
                    raise RuntimeError(
                        f"publish: delta of {schema}.{table} gives {n_serving} rows, "
                        f"the build has {n_build}; serving.duckdb not replaced"
                    )
            result.counts[f"{schema}.{table}"] = n_serving
        result.macros = copy_macros(con, "build", "serving")
        published_at = datetime.now(UTC).replace(tzinfo=None)
        con.execute("DROP TABLE IF EXISTS serving.marts._publish_info")
        con.execute("""CREATE TABLE serving.marts._publish_info (
            run_id VARCHAR, as_of_date DATE, published_at TIMESTAMP, table_row_counts JSON,
            publish_mode VARCHAR, full_publish_bytes BIGINT, plan_id VARCHAR)""")
        con.execute(
            "INSERT INTO serving.marts._publish_info VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                as_of,
                published_at,
                json.dumps(result.counts),
                result.mode,
                serving.full_bytes if delta else None,
                plan.plan_id if plan else None,
            ],
        )
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


def copy_macros(con, source: str, target: str) -> list[str]:
    """The metric formulas, SQL macros of the published schemas (dbt's on-run-end hook creates
    them in the build database from the dbt macros: macros/serving/serving_macros.sql), created
    again in the attached database `target` from their definition in the catalog of the attached
    database `source`; a macro of `target` that `source` no longer has is dropped (a delta publish
    starts from the previous file). Created with `target` as the default database: a macro
    reading a table (marts.benchmark_tier) binds it by schema and table name, in whichever file
    calls it. The connection's default database must be `memory`. Returns the macros' names."""
    macros = con.execute(
        "SELECT schema_name, function_name, function_type, parameters, macro_definition "
        "FROM duckdb_functions() WHERE database_name = ? AND schema_name IN (SELECT unnest(?)) "
        "AND function_type IN ('macro', 'table_macro') ORDER BY 1, 2",
        [source, list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    names = [f"{schema}.{name}" for schema, name, *_ in macros]
    if len(set(names)) != len(names):
        raise RuntimeError(f"publish: overloaded macros in {source} ({names}) cannot be copied")
    old = con.execute(
        "SELECT schema_name, function_name, function_type FROM duckdb_functions() "
        "WHERE database_name = ? AND function_type IN ('macro', 'table_macro')",
        [target],
    ).fetchall()
    con.execute(f"USE {_ident(target)}")
    try:
        for schema, name, kind in old:
            if f"{schema}.{name}" not in names:
                con.execute(
                    f"DROP {'MACRO TABLE' if kind == 'table_macro' else 'MACRO'} {_ident(schema)}.{_ident(name)}"
                )
        for schema, name, kind, parameters, body in macros:
            table = "TABLE " if kind == "table_macro" else ""
            params = ", ".join(_ident(p) for p in parameters)
            con.execute(f"CREATE OR REPLACE MACRO {_ident(schema)}.{_ident(name)}({params}) AS {table}{body}")
    finally:
        con.execute("USE memory")
    return names


def _check_no_wal(tmp: Path) -> None:
    """Everything must be in the file itself (checkpointed) before it is renamed onto serving."""
    tmp_wal = tmp.with_name(tmp.name + ".wal")
    if tmp_wal.exists():
        raise RuntimeError(f"publish: {tmp_wal} left after checkpoint; serving.duckdb not replaced")
