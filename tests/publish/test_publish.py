"""Publishing: an atomic replace of serving.duckdb, in a storage format old DuckDB releases read,
that never disturbs a reader holding the previous file open."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import publish, publish_with_report

PROJECT = Path(__file__).resolve().parents[2]
OLD_DUCKDB = PROJECT / ".venv" / "duckdb-1.1"  # installed by `make test` (see Makefile)


def make_build(path: Path, revenue: str) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE OR REPLACE TABLE marts.revenue_monthly AS "
                f"SELECT DATE '2025-01-01' AS month, 'op1' AS operator_id, CAST({revenue} AS DECIMAL(18,4)) AS revenue")
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute("CREATE OR REPLACE TABLE staging.not_published AS SELECT 1 AS x")
    con.close()


def test_publish_copies_marts_with_a_run_marker(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    make_build(build, "12.3456")
    counts = publish(build, serving, run_id="r1", as_of=date(2025, 1, 31))
    assert counts == {"marts.revenue_monthly": 1}
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("SELECT revenue::VARCHAR FROM marts.revenue_monthly").fetchone() == ("12.3456",)
    assert con.execute("SELECT run_id, as_of_date::VARCHAR FROM marts._publish_info").fetchone() == ("r1", "2025-01-31")
    schemas = {s for (s,) in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
    assert schemas == {"marts"}
    tags = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = 'serving'").fetchone()[0]
    assert not tags["storage_version"].startswith("v2"), tags
    con.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_reader_holding_the_old_file_is_not_disturbed(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    make_build(build, "1")
    publish(build, serving, run_id="r1")
    reader = duckdb.connect(str(serving), read_only=True)
    make_build(build, "2")
    publish(build, serving, run_id="r2")  # does not block on, nor break, the open reader
    assert reader.execute("SELECT revenue::INT FROM marts.revenue_monthly").fetchone() == (1,)
    reader.close()
    fresh = duckdb.connect(str(serving), read_only=True)
    assert fresh.execute("SELECT revenue::INT FROM marts.revenue_monthly").fetchone() == (2,)
    fresh.close()


def test_failed_publish_leaves_serving_untouched(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    make_build(build, "1")
    publish(build, serving, run_id="r1")
    before = serving.read_bytes()
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(RuntimeError, match="nothing to publish"):
        publish(empty, serving, run_id="r2")
    assert serving.read_bytes() == before


@pytest.mark.skipif(not OLD_DUCKDB.exists(), reason="run through `make test`, which installs DuckDB 1.1")
def test_serving_file_opens_read_only_in_duckdb_1_1(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    make_build(build, "42.5")
    publish(build, serving, run_id="r1")
    code = ("import duckdb; c = duckdb.connect(r'%s', read_only=True); "
            "print(duckdb.__version__, c.execute('SELECT revenue FROM marts.revenue_monthly').fetchone()[0])") % serving
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(OLD_DUCKDB)},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0].startswith("1.1.") and out[1] == "42.5000"


# ---------------------------------------------------------------------------------------------
# Delta publishing: incremental marts get only their logged changes (macros/incremental/
# publish_log.sql writes the log in dbt; here it is written by hand).

def _build_db(path: Path, sql: list[str]) -> None:
    con = duckdb.connect(str(path))
    for statement in sql:
        con.execute(statement)
    con.close()


def _log(kind: str, predicate: str | None = None, table: str = "daily") -> str:
    lit = "NULL" if predicate is None else "'" + predicate.replace("'", "''") + "'"
    return (f"CREATE TABLE IF NOT EXISTS intermediate._publish_changes__marts__{table} "
            f"(kind VARCHAR, predicate VARCHAR, logged_at TIMESTAMP); "
            f"INSERT INTO intermediate._publish_changes__marts__{table} VALUES ('{kind}', {lit}, current_timestamp)")


def _content(path: Path, table: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT * FROM marts.{table} ORDER BY ALL").fetchall()
    finally:
        con.close()


def _mode(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT publish_mode FROM marts._publish_info").fetchone()[0]
    finally:
        con.close()


INCREMENTAL = {"marts.daily", "marts.facts"}


def test_delta_publish_applies_logged_changes_and_equals_a_full_copy(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _build_db(build, [
        "CREATE SCHEMA marts", "CREATE SCHEMA intermediate",
        "CREATE TABLE marts.daily AS SELECT DATE '2025-01-01' + CAST(range % 10 AS INT) AS date, "
        "'s' || (range % 7) AS site_id, range AS kwh FROM range(1000)",
        "CREATE TABLE marts.facts AS SELECT 'k' || range AS id, 'x' || range AS v FROM range(500)",
        "CREATE TABLE marts.small AS SELECT 1 AS n",
        _log("full"), _log("full", table="facts"),
    ])
    first = publish_with_report(build, serving, run_id="r1", incremental_tables=INCREMENTAL)
    assert first.mode == "full" and _mode(serving) == "full"

    # a daily run: one date replaced (and one row fewer), keys replaced in facts, small rebuilt
    _build_db(build, [
        "DELETE FROM marts.daily WHERE date = DATE '2025-01-03'",
        "INSERT INTO marts.daily SELECT DATE '2025-01-03', 's1', range * 1000 FROM range(99)",
        _log("predicate", "date = CAST('2025-01-03' AS DATE)"),
        "DELETE FROM marts.facts WHERE id IN ('k1', 'k2')",
        "INSERT INTO marts.facts VALUES ('k1', 'new'), ('k2', 'new'), ('k900', 'added')",
        "CREATE TABLE intermediate._publish_keys__marts__facts AS "
        "SELECT * FROM (VALUES ('k1'), ('k2'), ('k900')) AS t(id), (SELECT current_timestamp AS logged_at)",
        _log("keys", table="facts"),
        "CREATE OR REPLACE TABLE marts.small AS SELECT 2 AS n",
    ])
    second = publish_with_report(build, serving, run_id="r2", incremental_tables=INCREMENTAL)
    assert second.mode == "delta", second.reason
    assert second.tables_delta == {"marts.daily": 1, "marts.facts": 1}
    assert second.tables_copied == ["marts.small"]
    for table in ("daily", "facts", "small"):
        assert _content(serving, table) == _content(build, table), table
    # the log is cleared: the next publish without changes keeps the incremental tables as they are
    third = publish_with_report(build, serving, run_id="r3", incremental_tables=INCREMENTAL)
    assert third.mode == "delta" and sorted(third.tables_unchanged) == ["marts.daily", "marts.facts"]
    assert _content(serving, "daily") == _content(build, "daily")
    if OLD_DUCKDB.exists():  # a copied-and-changed file is still in the old storage format
        code = ("import duckdb; c = duckdb.connect(r'%s', read_only=True); "
                "print(c.execute('SELECT count(*) FROM marts.daily').fetchone()[0])") % serving
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(OLD_DUCKDB)},
                             capture_output=True, text=True, check=True).stdout.split()
        assert out == [str(len(_content(build, "daily")))]


def test_a_serving_file_that_is_not_the_last_publish_is_written_whole(tmp_path):
    """A restored or foreign serving.duckdb, or a crash between the replace and the clean-up of
    the log: the logged changes do not describe the difference, so nothing is taken from it."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _build_db(build, ["CREATE SCHEMA marts", "CREATE SCHEMA intermediate",
                      "CREATE TABLE marts.daily AS SELECT DATE '2025-01-01' AS date, 1 AS kwh", _log("full")])
    publish(build, serving, run_id="r1", incremental_tables=INCREMENTAL)
    old = tmp_path / "old.duckdb"
    old.write_bytes(serving.read_bytes())
    _build_db(build, ["INSERT INTO marts.daily VALUES (DATE '2025-01-02', 2)",
                      _log("predicate", "date = CAST('2025-01-02' AS DATE)")])
    publish(build, serving, run_id="r2", incremental_tables=INCREMENTAL)
    _build_db(build, ["INSERT INTO marts.daily VALUES (DATE '2025-01-03', 3)",
                      _log("predicate", "date = CAST('2025-01-03' AS DATE)")])
    serving.write_bytes(old.read_bytes())  # serving.duckdb is r1 again, the build last published r2
    result = publish_with_report(build, serving, run_id="r3", incremental_tables=INCREMENTAL)
    assert result.mode == "full" and "not the last publish" in result.reason
    assert _content(serving, "daily") == _content(build, "daily")


def test_a_delta_that_does_not_add_up_is_not_published(tmp_path):
    """A change the log does not describe (here: a row inserted without a log entry) is caught
    by the row-count check, and serving.duckdb stays as it was."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _build_db(build, ["CREATE SCHEMA marts", "CREATE SCHEMA intermediate",
                      "CREATE TABLE marts.daily AS SELECT DATE '2025-01-01' AS date, 1 AS kwh", _log("full")])
    publish(build, serving, run_id="r1", incremental_tables=INCREMENTAL)
    before = serving.read_bytes()
    _build_db(build, ["INSERT INTO marts.daily VALUES (DATE '2025-01-05', 5)",
                      _log("predicate", "date = CAST('2025-01-02' AS DATE)")])
    with pytest.raises(RuntimeError, match="does not add up|gives 1 rows, the build has 2"):
        publish(build, serving, run_id="r2", incremental_tables=INCREMENTAL)
    assert serving.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
