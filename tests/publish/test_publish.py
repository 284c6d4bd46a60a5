"""Publishing: an atomic replace of serving.duckdb, in a storage format old DuckDB releases read,
that never disturbs a reader holding the previous file open."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import publish

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
