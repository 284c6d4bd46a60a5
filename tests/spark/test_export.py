"""The raw layer as Parquet for the Spark target (orchestration/spark/export.py): every landing
source becomes a directory of Parquet files with the values and types Spark must see — DECIMAL
exact, TIMESTAMP as the same UTC instant, JSON as plain text — and a build database that cannot
be exported is refused with its name."""

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from orchestration import plan as planner
from orchestration.contract import SOURCES
from orchestration.load.schema import ensure_raw_schema
from orchestration.plan import SETS as PLAN_SETS
from orchestration.spark.__main__ import main as spark_cli
from orchestration.spark.export import export_plan, export_raw

PLUGGED_IN = dt.datetime(2025, 3, 30, 0, 59, 59, 123456)  # an hour before Europe's DST change


@pytest.fixture
def build_db(tmp_path):
    path = tmp_path / "wh" / "build.duckdb"
    path.parent.mkdir()
    con = duckdb.connect(str(path))
    ensure_raw_schema(con)
    con.execute(
        """INSERT INTO raw.sessions (session_id, charge_point_id, state, plugged_in_at, kwh,
                   price_excl_vat, is_roaming, updated_at, _line, _extra)
                   VALUES ('s1', 'cp1', 'completed', ?, 12.345678901234, 4.1234, true, ?, 2, '{"x": "it''s"}'),
                          ('s2', 'cp1', 'failed', NULL, NULL, -0.0001, NULL, ?, 3, NULL)""",
        [PLUGGED_IN, PLUGGED_IN, PLUGGED_IN],
    )
    con.close()
    return path


def test_every_source_is_exported_with_its_types_and_values(build_db, tmp_path):
    out = tmp_path / "raw"
    rows = export_raw(build_db, out)
    assert set(rows) == set(SOURCES) and rows["sessions"] == 2 and rows["ledger"] == 0
    assert all((out / table / "part-0.parquet").is_file() for table in SOURCES)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    files = str(out / "sessions" / "*.parquet")
    types = dict(
        con.execute(
            "SELECT name, CASE WHEN logical_type IS NOT NULL THEN logical_type ELSE converted_type END "
            "FROM parquet_schema(?) WHERE name IN ('price_excl_vat', 'plugged_in_at', '_extra', 'kwh')",
            [files],
        ).fetchall()
    )
    assert "DecimalType(scale=4, precision=18)" in types["price_excl_vat"]
    assert "isAdjustedToUTC=1" in types["plugged_in_at"]  # an instant: Spark reads it as TIMESTAMP
    assert types["_extra"] in ("UTF8", "StringType()")  # JSON as a plain string
    got = con.execute(
        f"SELECT session_id, plugged_in_at, kwh, price_excl_vat, is_roaming, _extra "
        f"FROM read_parquet('{files}') ORDER BY session_id"
    ).fetchall()
    assert got[0][1].replace(tzinfo=None) == PLUGGED_IN and got[0][1].utcoffset() == dt.timedelta(0)
    assert got[0][2] == 12.345678901234 and got[0][3] == Decimal("4.1234") and got[0][4] is True
    assert got[0][5] == '{"x": "it\'s"}'
    assert got[1][1:] == (None, None, Decimal("-0.0001"), None, None)


def test_a_second_export_replaces_the_first(build_db, tmp_path):
    out = tmp_path / "raw"
    export_raw(build_db, out)
    con = duckdb.connect(str(build_db))
    con.execute("DELETE FROM raw.sessions WHERE session_id = 's2'")
    con.close()
    assert export_raw(build_db, out)["sessions"] == 1
    assert sorted(p.name for p in (out / "sessions").iterdir()) == ["part-0.parquet"]
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{out}/sessions/*.parquet'").fetchone()[0] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging leftovers


def test_refuses_a_missing_database_or_table(build_db, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no build database"):
        export_raw(tmp_path / "nowhere.duckdb", tmp_path / "raw")
    con = duckdb.connect(str(build_db))
    con.execute("DROP TABLE raw.ratings")
    con.close()
    with pytest.raises(LookupError, match="raw.ratings"):
        export_raw(build_db, tmp_path / "raw")
    assert spark_cli(["export", "--warehouse", str(build_db.parent), "--out", str(tmp_path / "raw")]) == 1
    assert "raw.ratings" in capsys.readouterr().err


def test_the_rebuild_plan_is_exported_with_its_columns_empty_before_the_first_plan(build_db, tmp_path):
    out = tmp_path / "run_plan"
    assert export_plan(build_db, out) == {table: 0 for table in PLAN_SETS}  # no plan made yet
    con = duckdb.connect()
    cdr_columns = con.execute(
        "SELECT name, converted_type FROM parquet_schema(?) WHERE name LIKE 'c%'", [str(out / "cdrs" / "*.parquet")]
    ).fetchall()
    assert [c for c, _ in cdr_columns] == ["cpo_country_code", "cpo_party_id", "cdr_id"]

    db = duckdb.connect(str(build_db))
    planner.ensure_schema(db)
    db.execute("INSERT INTO run_plan.network_dates VALUES ('2025-03-30'), ('2025-03-31')")
    db.execute("INSERT INTO run_plan.sessions VALUES ('s1')")
    db.close()
    rows = export_plan(build_db, out)
    assert rows["network_dates"] == 2 and rows["sessions"] == 1 and rows["cdrs"] == 0
    got = con.execute(f"SELECT date FROM read_parquet('{out / 'network_dates' / '*.parquet'}') ORDER BY 1").fetchall()
    assert got == [(dt.date(2025, 3, 30),), (dt.date(2025, 3, 31),)]
