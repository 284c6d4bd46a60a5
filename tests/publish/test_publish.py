"""Publishing: an atomic replace of serving.duckdb, in a storage format old DuckDB releases read,
that never disturbs a reader holding the previous file open."""

import ast
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration import plan as planner
from orchestration.publish import publish, publish_with_report
from tests.dashboards.warehouse_fixture import formulas_db

PROJECT = Path(__file__).resolve().parents[2]
OLD_DUCKDB = PROJECT / ".venv" / "duckdb-1.1"  # installed by `make test` (see Makefile)


def old_duckdb_row(path: Path, sql: str) -> tuple:
    """The first row of `sql` on the file opened read-only by DuckDB 1.1, in its own process."""
    code = "import duckdb; c = duckdb.connect(%r, read_only=True); print(repr(c.execute(%r).fetchone()))" % (
        str(path),
        sql,
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(OLD_DUCKDB)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return ast.literal_eval(out)  # a row of plain values (cast others to VARCHAR)


def make_build(path: Path, revenue: str) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE OR REPLACE TABLE marts.revenue_monthly AS "
        f"SELECT DATE '2025-01-01' AS month, 'op1' AS operator_id, CAST({revenue} AS DECIMAL(18,4)) AS revenue"
    )
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
    version, revenue = old_duckdb_row(serving, "SELECT version(), revenue::VARCHAR FROM marts.revenue_monthly")
    assert version.startswith("v1.1.") and revenue == "42.5000"


# ---------------------------------------------------------------------------------------------
# Delta publishing: the tables whose rebuilt rows a run_plan set selects get only those rows
# replaced, when the serving file is the publish of the build before this one. Plans are written
# by hand here as orchestration/plan.py writes them.

PLAN_SETS = {"marts.daily": "network_dates", "marts.facts": "sessions"}


def _build_db(path: Path, sql: list[str]) -> None:
    con = duckdb.connect(str(path))
    for statement in sql:
        con.execute(statement)
    con.close()


def _plan(
    path: Path, plan_id: str, mode: str, previous: str | None, *, dates=(), sessions=(), clean: bool = True
) -> None:
    """A built plan with its sets, as the planner and the dbt asset leave it."""
    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {planner.SCHEMA}")
        con.execute(planner.PLANS_DDL)
        for table, columns in planner.SETS.items():
            con.execute(f"CREATE OR REPLACE TABLE {planner.SCHEMA}.{table} ({columns})")
        for d in dates:
            con.execute("INSERT INTO run_plan.network_dates VALUES (?)", [d])
        for k in sessions:
            con.execute("INSERT INTO run_plan.sessions VALUES (?)", [k])
        con.execute(
            "INSERT INTO run_plan.plans (plan_id, as_of_date, mode, reasons, previous_plan_id, clean_chain, "
            "planned_at, status) VALUES (?, DATE '2025-01-31', ?, '[]', ?, ?, current_timestamp, 'planned')",
            [plan_id, mode, previous, clean],
        )
        planner.finish_plan(con, plan_id)
    finally:
        con.close()


def _content(path: Path, table: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT * FROM marts.{table} ORDER BY ALL").fetchall()
    finally:
        con.close()


def _info(path: Path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT publish_mode, plan_id FROM marts._publish_info").fetchone()
    finally:
        con.close()


def _first_build(build: Path) -> None:
    _build_db(
        build,
        [
            "CREATE SCHEMA IF NOT EXISTS marts",
            "CREATE TABLE marts.daily AS SELECT DATE '2025-01-01' + CAST(range % 10 AS INT) AS date, "
            "'s' || (range % 7) AS site_id, range AS kwh FROM range(1000)",
            "CREATE TABLE marts.facts AS SELECT 'k' || range AS session_id, 'x' || range AS v FROM range(500)",
            "CREATE TABLE marts.small AS SELECT 1 AS n",
        ],
    )
    _plan(build, "p1", "full", None)


def test_delta_publish_replaces_the_planned_rows_and_equals_a_full_copy(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _first_build(build)
    first = publish_with_report(build, serving, run_id="r1", plan_sets=PLAN_SETS)
    assert first.mode == "full" and _info(serving) == ("full", "p1")

    # a daily build: one date rebuilt (one row fewer), sessions rebuilt (one new), small rebuilt
    _build_db(
        build,
        [
            "DELETE FROM marts.daily WHERE date = DATE '2025-01-03'",
            "INSERT INTO marts.daily SELECT DATE '2025-01-03', 's1', range * 1000 FROM range(99)",
            "DELETE FROM marts.facts WHERE session_id IN ('k1', 'k2')",
            "INSERT INTO marts.facts VALUES ('k1', 'new'), ('k2', 'new'), ('k900', 'added')",
            "CREATE OR REPLACE TABLE marts.small AS SELECT 2 AS n",
        ],
    )
    _plan(build, "p2", "incremental", "p1", dates=[date(2025, 1, 3)], sessions=["k1", "k2", "k900"])
    second = publish_with_report(build, serving, run_id="r2", plan_sets=PLAN_SETS)
    assert second.mode == "delta", second.reason
    assert second.tables_delta == {"marts.daily": 1, "marts.facts": 3}
    assert second.tables_copied == ["marts.small"]
    for table in ("daily", "facts", "small"):
        assert _content(serving, table) == _content(build, table), table
    assert _info(serving) == ("delta", "p2")
    if OLD_DUCKDB.exists():  # a copied-and-changed file is still in the old storage format
        assert old_duckdb_row(serving, "SELECT count(*) FROM marts.daily") == (len(_content(build, "daily")),)


def test_a_build_with_nothing_new_leaves_the_serving_file_as_it_is(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _first_build(build)
    counts = publish(build, serving, run_id="r1", plan_sets=PLAN_SETS)
    before = serving.read_bytes()
    _plan(build, "p2", "none", "p1")
    result = publish_with_report(build, serving, run_id="r2", plan_sets=PLAN_SETS)
    assert result.mode == "unchanged" and result.counts == counts
    assert serving.read_bytes() == before


def test_a_serving_file_that_is_not_the_previous_publish_is_written_whole(tmp_path):
    """A restored or foreign serving.duckdb, a failed build in between, a full rebuild: the plan's
    sets do not describe the difference, so nothing is taken from the old file."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _first_build(build)
    publish(build, serving, run_id="r1", plan_sets=PLAN_SETS)
    old = tmp_path / "old.duckdb"
    old.write_bytes(serving.read_bytes())
    _build_db(build, ["INSERT INTO marts.daily VALUES (DATE '2025-01-12', 's1', 2)"])
    _plan(build, "p2", "incremental", "p1", dates=[date(2025, 1, 12)])
    assert publish_with_report(build, serving, run_id="r2", plan_sets=PLAN_SETS).mode == "delta"
    _build_db(build, ["INSERT INTO marts.daily VALUES (DATE '2025-01-13', 's1', 3)"])
    _plan(build, "p3", "incremental", "p2", dates=[date(2025, 1, 13)])
    serving.write_bytes(old.read_bytes())  # serving.duckdb is p1 again; the build's previous is p2
    result = publish_with_report(build, serving, run_id="r3", plan_sets=PLAN_SETS)
    assert result.mode == "full" and "not the publish of the build before this one" in result.reason
    assert _content(serving, "daily") == _content(build, "daily")
    _build_db(build, ["INSERT INTO marts.daily VALUES (DATE '2025-01-14', 's1', 4)"])
    _plan(build, "p4", "incremental", "p3", dates=[date(2025, 1, 14)], clean=False)
    result = publish_with_report(build, serving, run_id="r4", plan_sets=PLAN_SETS)
    assert result.mode == "full" and "a build failed" in result.reason
    _plan(build, "p5", "full", "p4")
    assert publish_with_report(build, serving, run_id="r5", plan_sets=PLAN_SETS).mode == "full"


def test_a_delta_that_does_not_add_up_is_not_published(tmp_path):
    """A change the plan does not describe (here: a row of a date outside the plan) is caught by
    the row-count check, and serving.duckdb stays as it was."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _first_build(build)
    publish(build, serving, run_id="r1", plan_sets=PLAN_SETS)
    before = serving.read_bytes()
    _build_db(build, ["INSERT INTO marts.daily VALUES (DATE '2025-01-05', 's9', 5)"])
    _plan(build, "p2", "incremental", "p1", dates=[date(2025, 1, 2)])
    with pytest.raises(RuntimeError, match="gives 1000 rows, the build has 1001"):
        publish(build, serving, run_id="r2", plan_sets=PLAN_SETS)
    assert serving.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


# ---------------------------------------------------------------------------------------------
# The metric formulas: SQL macros the dbt project creates in the build's marts schema from its dbt
# macros (on-run-end hook create_serving_macros), carried into serving.duckdb by every publish.


def _macros(path: Path) -> dict[str, str]:
    """{name: definition} of the file's marts macros; upper-cased, as DuckDB spells type names in
    either case when it writes a definition back."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            name: body.upper()
            for name, body in con.execute(
                "SELECT function_name, macro_definition FROM duckdb_functions() "
                "WHERE schema_name = 'marts' AND function_type = 'macro'"
            ).fetchall()
        }
    finally:
        con.close()


def _formulas_build(build: Path) -> None:
    """A build database with the formulas as dbt makes them and the seed's benchmark rules."""
    shutil.copyfile(formulas_db(), build)
    _build_db(
        build,
        [
            f"INSERT INTO marts.site_utilization_benchmarks SELECT * FROM read_csv('{PROJECT}/seeds/utilization_benchmarks.csv')"
        ],
    )


FORMULA_CHECK = (
    "SELECT marts.failed_pct(1, 4), marts.uptime_pct(1440, 100, 40), marts.benchmark_tier('kwh_per_cp_day', 300.0), "
    "marts.benchmark_tier('time_utilised_pct', 3.0), marts.kwh_per_cp_day(10.0, 0)"
)
FORMULA_VALUES = (25.0, 95.83333333333333, "top", "poor", None)


def test_the_formulas_are_carried_by_a_full_and_a_delta_publish(tmp_path):
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _formulas_build(build)
    made_by_dbt = _macros(build)
    assert {"failed_pct", "uptime_pct", "benchmark_tier", "time_utilised_pct", "average_stars"} <= set(made_by_dbt)
    _first_build(build)
    first = publish_with_report(build, serving, run_id="r1", plan_sets=PLAN_SETS)
    assert first.mode == "full"
    assert first.macros == sorted(f"marts.{m}" for m in made_by_dbt)
    assert _macros(serving) == made_by_dbt
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute(FORMULA_CHECK).fetchone() == FORMULA_VALUES
    con.close()
    if OLD_DUCKDB.exists():  # DuckDB 1.1 (BI tools) runs the published macros of a new file
        assert old_duckdb_row(serving, FORMULA_CHECK) == FORMULA_VALUES

    # the next build: a formula gone, a benchmark threshold changed, one date rebuilt
    _build_db(
        build,
        [
            "DROP MACRO marts.percentage",
            "UPDATE marts.site_utilization_benchmarks SET threshold = 400 WHERE metric = 'kwh_per_cp_day' AND tier = 'top'",
            "DELETE FROM marts.daily WHERE date = DATE '2025-01-03'",
        ],
    )
    _plan(build, "p2", "incremental", "p1", dates=[date(2025, 1, 3)])
    second = publish_with_report(build, serving, run_id="r2", plan_sets=PLAN_SETS)
    assert second.mode == "delta", second.reason
    del made_by_dbt["percentage"]
    assert _macros(serving) == made_by_dbt
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute(FORMULA_CHECK).fetchone() == (25.0, 95.83333333333333, "great", "poor", None)
    con.close()
    if OLD_DUCKDB.exists():  # and of a copied-and-changed one
        assert old_duckdb_row(serving, FORMULA_CHECK) == (25.0, 95.83333333333333, "great", "poor", None)
