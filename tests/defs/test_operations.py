"""Operations: the sensor starts a run when files land (and that run publishes), the daily
schedule asks for the day's partition, and the Dagster definitions hold what
`dagster dev` shows."""

import shutil
from datetime import datetime, timezone

import dagster as dg

from orchestration.defs import daily_refresh, defs, new_landing_files
from tests.conftest import read_serving
from tests.e2e.test_handmade_marts import write_landing


def test_definitions_show_assets_checks_jobs_schedules_and_sensors():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/sessions", "raw/cdrs", "raw/fx_rates", "marts/site_utilization_monthly",
            "marts/invoices", "serving/serving_duckdb"} <= keys
    checks = {c.name for c in repo.asset_graph.asset_check_keys}
    assert "batches_accepted" in checks and "expectations" in checks
    assert any(name.startswith("not_null_") or name.startswith("unique_") for name in checks)  # dbt tests
    assert repo.get_job("warehouse_job").partitions_def is not None
    assert [s.name for s in defs.schedules] == ["daily_refresh"]
    assert [s.name for s in defs.sensors] == ["new_landing_files"]


def test_daily_schedule_runs_the_days_partition():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 4, 2, 6, 0, tzinfo=timezone.utc))
    requests = list(daily_refresh.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2025-04-02"]


def test_sensor_starts_a_run_for_new_files_and_that_run_publishes(tmp_path, monkeypatch):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    landing.mkdir()
    monkeypatch.setenv("WAREHOUSE_LANDING_DIR", str(landing))
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))
    repo = defs.get_repository_def()
    with dg.instance_for_test() as instance:
        empty = new_landing_files.evaluate_tick(dg.build_sensor_context(instance=instance, repository_def=repo))
        assert not empty.run_requests  # nothing has landed yet
        cursor = empty.cursor
        write_landing(landing)
        tick = new_landing_files.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=repo))
        assert len(tick.run_requests) == 1
        request = tick.run_requests[0]
        assert request.partition_key == datetime.now(timezone.utc).date().isoformat()

        job = defs.resolve_job_def("warehouse_job")
        result = job.execute_in_process(instance=instance, partition_key=request.partition_key,
                                        tags=request.tags, raise_on_error=False)
        assert result.success
        published = read_serving(warehouse / "serving.duckdb", "SELECT count(*) FROM marts.fct_charge_sessions")
        assert published == [(9,)]  # S1..S9 of the hand-made landing zone

        again = new_landing_files.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=tick.cursor, repository_def=repo))
        assert not again.run_requests  # nothing new
        shutil.copy(landing / "ratings" / "ratings.csv", landing / "ratings" / "ratings_copy.csv")
        more = new_landing_files.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=again.cursor, repository_def=repo))
        assert len(more.run_requests) == 1
