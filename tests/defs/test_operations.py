"""Operations: the sensor starts a run when files land (and that run publishes), the daily
schedule asks for the day's partition, the Dagster definitions hold what `dagster dev` shows,
and runs of one warehouse queue and take its lock (one writer per warehouse)."""

import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import PoolGranularity
from dagster._core.op_concurrency_limits_counter import GlobalOpConcurrencyLimitsCounter

from orchestration.defs import JOB_NAME, LOAD_JOB_NAME, daily_refresh, defs, new_landing_files
from orchestration.defs.publish import SERVING_KEY
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.instance import ensure_dagster_home
from orchestration.lock import read_holder
from tests.cli.helpers import Holder
from tests.conftest import read_serving
from tests.e2e.test_handmade_marts import write_landing


def test_definitions_show_assets_checks_jobs_schedules_and_sensors():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {
        "raw/sessions",
        "raw/cdrs",
        "raw/fx_rates",
        "marts/site_utilization_monthly",
        "marts/invoices",
        "serving/serving_duckdb",
    } <= keys
    checks = {c.name for c in repo.asset_graph.asset_check_keys}
    assert "batches_accepted" in checks and "expectations" in checks
    assert any(name.startswith("not_null_") or name.startswith("unique_") for name in checks)  # dbt tests
    assert repo.get_job("warehouse_job").partitions_def is not None
    assert [s.name for s in defs.schedules] == ["daily_refresh"]
    assert [s.name for s in defs.sensors] == ["new_landing_files"]


def test_daily_schedule_runs_the_days_partition():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 4, 2, 6, 0, tzinfo=UTC))
    requests = list(daily_refresh.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2025-04-02"]


@pytest.mark.e2e
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
        tick = new_landing_files.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=repo)
        )
        assert len(tick.run_requests) == 1
        request = tick.run_requests[0]
        assert request.partition_key == datetime.now(UTC).date().isoformat()

        job = defs.resolve_job_def("warehouse_job")
        result = job.execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags, raise_on_error=False
        )
        assert result.success
        # the run's logical date went to its dbt build only, not to the process (a later dbt
        # started here, as an analyst's would be, reads today's date again)
        assert "WAREHOUSE_DBT_AS_OF_DATE" not in os.environ and "WAREHOUSE_DBT_TEST_SCOPE" not in os.environ
        published = read_serving(warehouse / "serving.duckdb", "SELECT count(*) FROM marts.fct_charge_sessions")
        assert published == [(9,)]  # S1..S9 of the hand-made landing zone

        again = new_landing_files.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=tick.cursor, repository_def=repo)
        )
        assert not again.run_requests  # nothing new
        shutil.copy(landing / "ratings" / "ratings.csv", landing / "ratings" / "ratings_copy.csv")
        more = new_landing_files.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=again.cursor, repository_def=repo)
        )
        assert len(more.run_requests) == 1


# --- one writer per warehouse: Dagster's run queue and the warehouse lock ----------------------


def test_dagster_home_queues_runs_per_warehouse_and_keeps_other_settings(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\nrun_monitoring:\n  enabled: true\n")
    ensure_dagster_home(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        pools = instance.get_concurrency_config().pool_config
        assert pools.pool_granularity == PoolGranularity.RUN and pools.default_pool_limit == 1
    settings = yaml.safe_load((home / "dagster.yaml").read_text())
    assert settings["telemetry"] == {"enabled": True} and settings["run_monitoring"] == {"enabled": True}
    # a concurrency section someone wrote is theirs
    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 3\n")
    ensure_dagster_home(home)
    assert yaml.safe_load((home / "dagster.yaml").read_text())["concurrency"] == {"pools": {"default_limit": 3}}


def test_every_step_that_writes_the_warehouse_is_in_its_pool():
    """A run started from the UI may be any subset of assets (one mart, the publish step, a raw
    source): whichever it is, it carries the warehouse's pool, so the queue holds it back."""
    for name in (JOB_NAME, LOAD_JOB_NAME):
        job = defs.resolve_job_def(name)
        pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
        assert set(pools.values()) == {WAREHOUSE_POOL}, pools


def test_the_pool_is_the_warehouse_the_definitions_are_loaded_for(tmp_path):
    """The pool names the warehouse of WAREHOUSE_DIR when the definitions load (as `dagster dev` or
    the CLI load them). Checked in a fresh interpreter: in this one the definitions were imported
    by whichever test ran first, with its warehouse."""
    warehouse = tmp_path / "my warehouse"
    env = {**os.environ, "WAREHOUSE_DIR": str(warehouse)}
    code = "from orchestration.defs.resources import WAREHOUSE_POOL; print(WAREHOUSE_POOL)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "warehouse:" + "_".join(str(warehouse.resolve()).split())


def test_a_second_run_of_the_warehouse_stays_queued_while_the_first_is_in_progress(tmp_path):
    """Dagster's own queue logic (the counter the QueuedRunCoordinatorDaemon uses each tick) on an
    instance set up by ensure_dagster_home: a run launched from the UI (here the load-only job)
    waits while the sensor's runs; a run that only publishes waits too."""
    home = tmp_path / "home"
    ensure_dagster_home(home)
    job = defs.resolve_job_def(JOB_NAME)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        sensor_run = instance.create_run_for_job(
            job, tags={"dagster/partition": "2025-03-30"}, status=dg.DagsterRunStatus.STARTED
        )
        # (a queued run needs a code location's origin; the counter looks only at the run's pools)
        ui_run = instance.create_run_for_job(
            defs.resolve_job_def(LOAD_JOB_NAME), tags={"dagster/partition": "2025-03-31"}
        )
        publish_only = instance.create_run_for_job(job, asset_selection={SERVING_KEY})
        assert WAREHOUSE_POOL in ui_run.run_op_concurrency.all_pools

        def blocked(run, in_progress) -> bool:
            """One tick of the daemon's queue: the first tick that sees a pool sets its limit to
            the default (1), so look at the second."""
            for _ in range(2):
                counter = GlobalOpConcurrencyLimitsCounter(
                    instance,
                    [run],
                    instance.get_run_records(dg.RunsFilter(run_ids=in_progress)) if in_progress else [],
                    concurrency_keys=instance.event_log_storage.get_concurrency_keys(),
                    pool_limits=instance.event_log_storage.get_pool_limits(),
                    pool_granularity=instance.get_concurrency_config().pool_config.pool_granularity,
                )
            return counter.is_blocked(run)

        assert blocked(ui_run, [sensor_run.run_id])
        assert blocked(publish_only, [sensor_run.run_id])
        assert not blocked(ui_run, [])  # once the sensor's run is done


def test_a_dagster_run_waits_for_the_warehouse_and_says_for_which_run(tmp_path):
    """The warehouse resource holds the lock for the run: held by another run (here a process
    standing in for a CLI run), the Dagster run waits, says so in its log, then runs."""
    warehouse = tmp_path / "wh"

    @dg.asset
    def touches_the_warehouse(warehouse: WarehouseResource):
        holder = read_holder(warehouse.warehouse)
        return holder["run_id"]

    with dg.instance_for_test() as instance, Holder(warehouse) as other:
        threading.Timer(2.0, other.release).start()
        result = dg.materialize(
            [touches_the_warehouse],
            instance=instance,
            resources={"warehouse": WarehouseResource(warehouse_dir=str(warehouse))},
        )
        said = [e.user_message for e in instance.all_logs(result.run_id) if "is busy" in (e.user_message or "")]
    assert result.success
    assert result.output_for_node("touches_the_warehouse") == result.run_id  # it held the warehouse itself
    assert len(said) == 1 and "is busy: run cafebabe (test holder" in said[0] and "waiting for it" in said[0]


def test_the_load_job_runs_the_raw_layer_and_its_gates_only():
    job = defs.resolve_job_def(LOAD_JOB_NAME)
    repo = defs.get_repository_def()
    raw = {k for k in repo.asset_graph.get_all_asset_keys() if k.path[0] == "raw"}
    assert job.asset_layer.selected_asset_keys == raw
    checks = {
        (k.asset_key.path[-1], k.name) for k in job.asset_layer.asset_graph.asset_check_keys if k.asset_key in raw
    }
    for key in raw:
        source = key.path[-1]
        assert {(source, "batches_accepted"), (source, "expectations"), (source, "source_freshness")} <= checks
    assert job.partitions_def is not None
