"""dashboards.data: where it reads, how it follows a publish, and that filter values never reach
the SQL text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb

from dashboards import data
from tests.dashboards.conftest import PROJECT
from tests.dashboards.warehouse_fixture import build_serving, build_tables


def test_serving_path_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("SERVING_DB", raising=False)
    monkeypatch.delenv("WAREHOUSE_DIR", raising=False)
    monkeypatch.setattr("sys.argv", ["app.py"])
    monkeypatch.chdir(tmp_path)
    assert data.serving_path() == tmp_path / "warehouse" / "serving.duckdb"
    monkeypatch.setenv("WAREHOUSE_DIR", "/srv/wh")
    assert data.serving_path() == Path("/srv/wh/serving.duckdb")
    monkeypatch.setenv("SERVING_DB", "/data/x.duckdb")
    assert data.serving_path() == Path("/data/x.duckdb")
    monkeypatch.setattr("sys.argv", ["app.py", "--serving-db", "/cli/y.duckdb"])
    assert data.serving_path() == Path("/cli/y.duckdb")


def test_a_new_publish_is_seen_by_the_next_query(monkeypatch, tmp_path):
    path = tmp_path / "serving.duckdb"
    build_serving(path, run_id="run-one")
    monkeypatch.setenv("SERVING_DB", str(path))
    assert data.publish_info()["run_id"] == "run-one"  # the connection to it stays open
    tables = build_tables()
    tables["invoices"] = tables["invoices"].iloc[:2]
    build_serving(path, tables=tables, run_id="run-two")  # os.replace onto the open file
    assert data.publish_info()["run_id"] == "run-two"
    assert len(data.invoices_table(data.Filters())) == 2
    data.close()


def test_publishing_is_never_blocked_by_the_dashboards(monkeypatch, tmp_path):
    """The pipeline's own publish (orchestration.publish) replaces serving.duckdb while the
    dashboards hold it open read-only; their next query reads the new run."""
    from orchestration.publish import publish

    serving = tmp_path / "warehouse" / "serving.duckdb"
    build_serving(serving, run_id="first")
    monkeypatch.setenv("SERVING_DB", str(serving))
    assert data.publish_info()["run_id"] == "first"
    other_reader = duckdb.connect(str(serving), read_only=True)  # e.g. a second BI tool
    try:
        build = tmp_path / "build.duckdb"
        shutil.copy(serving, build)
        con = duckdb.connect(str(build))
        con.execute("DROP TABLE marts._publish_info")
        con.execute("DELETE FROM marts.invoices WHERE status = 'paid'")
        con.close()
        publish(build, serving, run_id="second")
        assert data.publish_info()["run_id"] == "second"
        assert set(data.invoices_table(data.Filters())["status"]) == {"settled", "unpaid"}
    finally:
        other_reader.close()
        data.close()


def test_filter_values_are_bound_never_spliced(monkeypatch, serving):
    seen = []
    real = data.core.query

    def spy(sql, params=None):
        seen.append((sql, params or {}))
        return real(sql, params)

    monkeypatch.setattr(data.core, "query", spy)  # every page module queries through core.query
    evil = "x' OR '1'='1"
    f = data.Filters(
        operators=(evil,),
        teams=(evil,),
        sites=(evil,),
        charging_types=(evil,),
        access=(evil,),
        plans=(evil,),
        currency=evil,
    )
    assert data.invoices_table(f).empty
    assert data.revenue_operators_table(f).empty
    assert data.roaming_kpis(f)["sessions"] == 0
    assert data.failed_kpis(f)["total_sessions"] == 0
    assert data.utilization_by_site(f).empty
    assert data.cp_sites_table(f).empty
    assert data.reliability_kpis(f)["ports"] == 0
    assert data.ports_trailing(f).empty and data.rapid_reliability(f).empty
    assert data.idle_over_time(f).empty and data.peak_demand_daily(f).empty
    assert seen and all(evil not in sql for sql, _ in seen)
    assert any(evil in str(params.values()) for _, params in seen)


DATA_PACKAGE = PROJECT / "dashboards" / "data"


def _data_source() -> str:
    """The text of every module of dashboards.data (core.py and one module per page)."""
    return "\n".join(py.read_text() for py in sorted(DATA_PACKAGE.glob("*.py")))


def test_all_sql_lives_in_the_data_package():
    """Pages and helpers call dashboards.data; only its modules talk to DuckDB or write SQL, and
    only core.py connects."""
    db_use = re.compile(r"^\s*(import duckdb|from duckdb)|duckdb\.connect|\.execute\(")
    sql_text = re.compile(r"\bSELECT\b.*\bFROM\b", re.IGNORECASE)
    for py in (PROJECT / "dashboards").rglob("*.py"):
        if py.parent == DATA_PACKAGE:
            continue
        hits = [line for line in py.read_text().splitlines() if db_use.search(line) or sql_text.search(line)]
        assert not hits, f"{py.relative_to(PROJECT)}: {hits}"
    for py in DATA_PACKAGE.glob("*.py"):
        if py.name != "core.py":
            assert not db_use.search(py.read_text()), f"{py.relative_to(PROJECT)} connects; only core.py does"
    assert {p.stem for p in DATA_PACKAGE.glob("*.py")} >= {
        "core",
        "charge_points",
        "revenue",
        "team_revenue",
        "invoices",
        "roaming",
        "failed_charges",
        "site_utilization",
        "reliability",
    }
    src = _data_source()
    assert "(READ_ONLY)" in src
    assert not re.search(r"\b(INSERT|UPDATE|DELETE|CREATE|DROP|COPY)\b", src)


def test_only_published_marts_are_read(serving):
    """Every table and formula (SQL macro) the data module names is in schema marts of the
    serving file."""
    src = _data_source()
    named = set(re.findall(r"marts\.(\w+)", src))
    con = duckdb.connect(str(serving), read_only=True)
    try:
        published = {
            t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        }
        formulas = {
            m
            for (m,) in con.execute(
                "SELECT function_name FROM duckdb_functions() WHERE schema_name = 'marts' AND function_type = 'macro'"
            ).fetchall()
        }
    finally:
        con.close()
    assert named and named <= published | formulas, named - published - formulas
    assert {"failed_pct", "uptime_pct", "benchmark_tier"} <= named & formulas


def test_the_dashboards_compute_no_metric():
    """Ratios, percentages and tiers come from the published formulas (marts.failed_pct(...),
    marts.benchmark_tier(...): the dbt macros the marts use), never from a formula written in
    the dashboards: no percentage, division by a sum or tier rule in their SQL or Python."""
    formula = re.compile(r"100(\.0)?\s*\*|\*\s*100\b|nullif\(|/\s*(sum|count)\(|60(\.0)?\s*\*")
    for py in (PROJECT / "dashboards").rglob("*.py"):
        for n, line in enumerate(py.read_text().splitlines(), 1):
            assert not formula.search(line), f"{py.relative_to(PROJECT)}:{n}: {line.strip()}"
    src = _data_source()
    assert not re.search(r"def tier\b|evaluation_order\b.*[<>]=?|import operator", src)
    views = "\n".join(py.read_text() for py in (PROJECT / "dashboards" / "views").glob("*.py"))
    assert not re.search(r"\]\.sum\(\)\s*/|/\s*n_ratings", views)
