"""The optional Parquet export: one file per published table, the same rows and types as the
serving file, readable without DuckDB's database format."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.export import export_parquet
from orchestration.publish import publish


@pytest.fixture
def serving(tmp_path):
    build = tmp_path / "build.duckdb"
    con = duckdb.connect(str(build))
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.revenue_monthly AS SELECT DATE '2025-01-01' + INTERVAL (i) MONTH AS month, "
        "'op1' AS operator_id, CAST(i * 1.2345 AS DECIMAL(18,4)) AS revenue FROM range(12) t(i)"
    )
    con.execute("CREATE TABLE marts.\"odd name\" AS SELECT 'it''s' AS quote, 42.5::DOUBLE AS kwh")
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.not_published AS SELECT 1 AS x")
    con.close()
    path = tmp_path / "wh" / "serving.duckdb"
    publish(build, path, run_id="r1", as_of=date(2025, 12, 31))
    return path


def test_one_parquet_file_per_mart_with_the_same_rows(serving, tmp_path):
    out = tmp_path / "parquet"
    files = export_parquet(serving, out)
    assert sorted(files) == ["_publish_info", "odd name", "revenue_monthly"]
    assert sorted(p.name for p in out.iterdir()) == [
        "_publish_info.parquet",
        "odd name.parquet",
        "revenue_monthly.parquet",
    ]
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for table, path in files.items():
            expected = con.execute(f'SELECT * FROM marts."{table}" ORDER BY ALL').fetchall()
            got = duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY ALL").fetchall()
            assert got == expected, table
    finally:
        con.close()
    schema = pq.read_schema(files["revenue_monthly"])
    assert str(schema.field("revenue").type) == "decimal128(18, 4)"
    assert pq.read_table(files["revenue_monthly"]).column("revenue")[1].as_py() == Decimal("1.2345")
    assert pq.read_table(files["_publish_info"]).column("run_id").to_pylist() == ["r1"]


def test_export_again_replaces_the_files_and_needs_a_published_file(serving, tmp_path):
    out = tmp_path / "parquet"
    export_parquet(serving, out)
    first = (out / "revenue_monthly.parquet").stat().st_ino
    export_parquet(serving, out)
    assert (out / "revenue_monthly.parquet").stat().st_ino != first  # renamed into place
    assert not list(out.glob(".*"))
    with pytest.raises(FileNotFoundError, match="nothing has been published"):
        export_parquet(tmp_path / "nowhere" / "serving.duckdb", out)


def test_export_while_a_bi_tool_holds_the_file(serving, tmp_path):
    reader = duckdb.connect(str(serving), read_only=True)
    try:
        files = export_parquet(serving, tmp_path / "parquet")
        assert pq.read_table(files["revenue_monthly"]).num_rows == 12
    finally:
        reader.close()


def test_export_from_the_command_line(serving, tmp_path, cli):
    out = tmp_path / "cli-parquet"
    run = cli("export", "--warehouse", str(serving.parent), "--out", str(out))
    assert run.returncode == 0, run.output
    assert "revenue_monthly.parquet" in run.output
    assert pq.read_table(out / "revenue_monthly.parquet").num_rows == 12
    missing = cli("export", "--warehouse", str(tmp_path / "nowhere"), "--out", str(out))
    assert missing.returncode == 1 and "nothing has been published yet" in missing.output
