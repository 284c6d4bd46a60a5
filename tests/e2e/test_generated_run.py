"""The CLI on a small generated landing zone, in its own landing and warehouse directories: it
publishes every table of the BI contract (DESIGN.md section 6) with the listed columns and types,
the load counts reconcile, and a second run on the same files changes nothing."""

import re
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import generate
from tests.conftest import read_serving, run_cli, table_fingerprints
from tests.e2e.metric_checks import CHECKS, compare, metricflow_engine, trailing_uptime_check

pytestmark = pytest.mark.e2e  # the whole job on a landing zone

START, END = "2025-05-01", "2025-05-31"

# DESIGN.md section 6: table -> {column: type family}
CONTRACT = {
    "site_utilization_daily": dict(
        site_id="id",
        date="date",
        active_charge_points="count",
        kwh="kwh",
        occupied_hours="num",
        kwh_per_cp_day="num",
        time_utilised_pct="pct",
    ),
    "site_utilization_monthly": dict(
        site_id="id",
        month="date",
        cp_days="count",
        kwh="kwh",
        occupied_hours="num",
        kwh_per_cp_day="num",
        time_utilised_pct="pct",
        kwh_tier="id",
        time_tier="id",
    ),
    "revenue_monthly": dict(
        month="date",
        operator_id="id",
        team_id="id",
        plan_id="id",
        kind="id",
        currency="id",
        revenue="money",
        revenue_eur="money",
    ),
    "revenue_running_by_operator": dict(
        month="date", operator_id="id", currency="id", revenue="money", running_revenue="money"
    ),
    "team_revenue_monthly": dict(
        month="date",
        team_id="id",
        operator_id="id",
        currency="id",
        fees="money",
        charges="money",
        subscriptions="money",
        write_offs="money",
        intercompany_transfers="money",
        tax_refunds="money",
        total_revenue="money",
        running_revenue="money",
    ),
    "invoices": dict(
        invoice_id="id",
        operator_id="id",
        operator_name="id",
        parent_operator_id="id",
        parent_operator_name="id",
        customer_type="id",
        customer_id="id",
        customer_name="id",
        status="id",
        wallet_id="id",
        currency="id",
        wallet_balance="money",
        due_at="any",
        days_overdue="count",
        payable_amount="money",
        period_from="any",
        period_to="any",
    ),
    "invoice_status_summary": dict(
        operator_id="id", currency="id", status="id", invoice_count="count", payable_amount="money"
    ),
    "roaming_daily": dict(
        date="date",
        site_id="id",
        provider="id",
        emsp_party="id",
        currency="id",
        cdrs="count",
        kwh="kwh",
        revenue="money",
    ),
    "roaming_sessions_daily": dict(
        date="date", site_id="id", roaming_sessions="count", successful_sessions="count", success_pct="pct"
    ),
    "failed_charges_daily": dict(
        date="date",
        operator_id="id",
        team_id="id",
        site_id="id",
        total_sessions="count",
        failed_sessions="count",
        failed_pct="pct",
    ),
    "failed_charges_by_hardware": dict(
        month="date",
        brand="id",
        model="id",
        firmware_version="id",
        total_sessions="count",
        failed_sessions="count",
        failed_pct="pct",
    ),
    "ocpp_errors_daily": dict(date="date", site_id="id", charge_point_id="id", error_code="id", error_count="count"),
    "cp_team_summary": dict(charge_points="count", sessions_this_month="count"),
    "cp_site_summary": dict(charge_points="count", sessions_this_month="count"),
    "connector_uptime_daily": dict(
        date="date",
        site_id="id",
        charge_point_id="id",
        connector_id="count",
        period_minutes="num",
        outage_minutes="num",
        excluded_minutes="num",
        uptime_pct="pct",
    ),
    "charge_point_uptime_trailing": dict(
        site_id="id",
        charge_point_id="id",
        connector_id="count",
        period_minutes="num",
        outage_minutes="num",
        excluded_minutes="num",
        uptime_pct="pct",
        meets_nevi_97="bool",
    ),
    "network_reliability_yearly": dict(
        year="count", operator_id="id", rapid_charge_points="count", average_uptime_pct="pct", meets_uk_99="bool"
    ),
    "site_operations_daily": dict(
        date="date",
        site_id="id",
        sessions="count",
        idle_hours="num",
        sessions_idle_over_1h="count",
        peak_demand_kw="num",
        peak_slot_start="ts",
    ),
}
TYPES = {
    "id": {"VARCHAR"},
    "date": {"DATE"},
    "count": {"BIGINT", "INTEGER", "HUGEINT"},
    "kwh": {"DOUBLE", "DECIMAL(18,4)"},
    "num": {"DOUBLE"},
    "pct": {"DOUBLE"},
    "money": {"DECIMAL(18,4)"},
    "bool": {"BOOLEAN"},
    "ts": {"TIMESTAMP"},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    generate(root / "landing", seed=7, sessions=3000, start=START, end=END, progress=False)
    first = run_cli("run", "--landing", str(root / "landing"), "--warehouse", str(root / "wh"), "--as-of", END)
    assert first.returncode == 0, first.output
    return root, first


def test_prints_what_it_built(run):
    _, first = run
    for source in ("sessions", "cdrs", "ocpp", "ledger", "fx_rates", "charge_points"):
        assert f"load {source}" in first.output
    assert "PUBLISHED" in first.output
    # the closing summary names the run's log, which lists every published table with its rows
    log = Path(re.search(r"^  log +(\S+)", first.output, re.M).group(1))
    assert re.search(r"marts\.site_utilization_monthly +\d+ rows", log.read_text())


def test_every_contract_table_and_column_is_published(run):
    root, _ = run
    con = duckdb.connect(str(root / "wh" / "serving.duckdb"), read_only=True)
    try:
        columns = {
            (t, c): d
            for t, c, d in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts'"
            ).fetchall()
        }
        for table, cols in CONTRACT.items():
            assert con.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0] > 0, table
            for col, family in cols.items():
                assert (table, col) in columns, f"marts.{table}.{col} missing"
                if family != "any":
                    assert columns[table, col] in TYPES[family], (table, col, columns[table, col])
    finally:
        con.close()


def test_load_counts_reconcile_with_the_raw_tables(run):
    root, _ = run
    con = duckdb.connect(str(root / "wh" / "build.duckdb"), read_only=True)
    try:
        audit = con.execute("""SELECT source, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate)
                               FROM raw._load_audit WHERE status = 'loaded' GROUP BY source""").fetchall()
        assert len(audit) == 14
        for source, read, loaded, quarantined, duplicate in audit:
            assert read == loaded + quarantined + duplicate, source
            # a quarantine row per record (an ECB record is a rate cell: several per line)
            quarantine_rows = con.execute("SELECT count(*) FROM raw._quarantine WHERE source = ?", [source]).fetchone()[
                0
            ]
            assert quarantine_rows == quarantined, source
            in_raw = con.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]
            assert in_raw == loaded, source
        # the generator injects a few realistic bad records; they are quarantined, not lost
        assert con.execute("SELECT count(*) FROM raw._quarantine WHERE source = 'sessions'").fetchone()[0] > 0
    finally:
        con.close()


def test_a_second_run_on_the_same_files_changes_nothing(run):
    root, _ = run
    serving = root / "wh" / "serving.duckdb"
    before = table_fingerprints(serving)
    second = run_cli("run", "--landing", str(root / "landing"), "--warehouse", str(root / "wh"), "--as-of", END)
    assert second.returncode == 0, second.output
    assert "files new=0" in second.output and "files new=1" not in second.output
    assert table_fingerprints(serving) == before
    assert read_serving(serving, "SELECT as_of_date::VARCHAR FROM marts._publish_info") == [(END,)]


@pytest.fixture(scope="module")
def metricflow(run):
    """One MetricFlow engine (its start-up costs seconds) on the run's build database, and a
    read-only connection to the published serving.duckdb."""
    root, _ = run
    config = metricflow_engine(root / "wh")
    con = duckdb.connect(str(root / "wh" / "serving.duckdb"), read_only=True)
    yield config, con
    con.close()


@pytest.mark.parametrize("check", CHECKS, ids=[c.name.split(" ")[0] for c in CHECKS])
def test_each_dashboard_figure_from_the_semantic_layer_equals_the_published_mart(metricflow, check):
    config, con = metricflow
    assert compare(config, con, check) > 0


def test_trailing_uptime_from_the_semantic_layer_equals_the_published_mart(metricflow):
    config, con = metricflow
    as_of, window_start = con.execute(
        "SELECT DISTINCT as_of_date::VARCHAR, window_start::VARCHAR FROM marts.charge_point_uptime_trailing"
    ).fetchone()
    assert as_of == END
    assert compare(config, con, trailing_uptime_check(as_of, window_start)) > 0


def test_the_semantic_layer_validates_against_the_warehouse(metricflow):
    """`mf validate-configs` without --skip-dw: every semantic model, dimension, entity and
    measure queries on the built warehouse."""
    from dbt_metricflow.cli.dbt_connectors.dbt_config_accessor import dbtArtifacts
    from metricflow.validation.data_warehouse_model_validator import DataWarehouseModelValidator

    config, _ = metricflow
    manifest = dbtArtifacts.build_semantic_manifest_from_dbt_project_root(
        project_root=config.dbt_project_metadata.project_path
    )
    validator = DataWarehouseModelValidator(sql_client=config.sql_client)
    issues = [
        issue
        for results in (
            validator.validate_semantic_models(manifest),
            validator.validate_dimensions(manifest),
            validator.validate_entities(manifest),
            validator.validate_simple_metrics(manifest),
            validator.validate_metrics(manifest),
        )
        for issue in results.all_issues
    ]
    assert not issues, issues
