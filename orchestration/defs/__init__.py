"""Dagster definitions: raw-load assets → run plan → dbt build → publish, the job and a load-only
job, a daily schedule and a sensor for new landing files. Load with `dagster dev -m orchestration.defs`
(or `python -m orchestration dev`, which also sets up DAGSTER_HOME's run queue).

One writer per warehouse: every asset that writes the warehouse is in its concurrency pool
(defs/resources.WAREHOUSE_POOL), and DAGSTER_HOME/dagster.yaml (orchestration/instance.py) lets
one run of a pool in at a time — schedule, sensor and UI runs queue instead of colliding; each
run also holds the warehouse's lock (orchestration/lock.py), which CLI runs take too."""

import hashlib
import os
from pathlib import Path

import dagster as dg

from orchestration import config
from orchestration.defs.dbt import dbt_build, dbt_resource
from orchestration.defs.freshness import raw_source_freshness
from orchestration.defs.partitions import daily
from orchestration.defs.plan import run_plan
from orchestration.defs.publish import serving_duckdb
from orchestration.defs.raw import RAW_GROUP, raw_assets
from orchestration.defs.resources import WarehouseResource

JOB_NAME = "warehouse_job"
LOAD_JOB_NAME = "load_job"

warehouse_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.all(),
    # Daily partitions (Dagster would infer them from the event assets, but the schedule is built
    # from the job and needs them at definition time).
    partitions_def=daily,
    description="Load new landing files, build and test every dbt model, publish serving.duckdb; "
    "for a day (its daily partition) or a range of days (a backfill).",
    # Steps touching the build database must never run at the same time (DuckDB allows one
    # writer): the in-process executor runs them one after another.
    executor_def=dg.in_process_executor,
)


load_job = dg.define_asset_job(
    LOAD_JOB_NAME,
    selection=dg.AssetSelection.groups(RAW_GROUP),  # with their checks: batches, expectations, freshness
    partitions_def=daily,
    description="Load new landing files into the raw layer and run its gates (refused batches, expectations, "
    "source freshness); no dbt, no publish. `python -m orchestration load` runs it.",
    executor_def=dg.in_process_executor,
)


SCHEDULE_HOUR = int(os.environ.get("WAREHOUSE_SCHEDULE_HOUR", "6"))

# Every day at WAREHOUSE_SCHEDULE_HOUR (UTC, default 06:00), for that day's partition: the same
# logical date the CLI defaults to (today, UTC); the previous days' files are all due by then.
daily_refresh = dg.build_schedule_from_partitioned_job(
    warehouse_job,
    name="daily_refresh",
    hour_of_day=SCHEDULE_HOUR,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def landing_fingerprint(landing: Path) -> str | None:
    """Changes whenever a file is added, removed or rewritten in the landing zone; None when the
    landing zone holds no file at all."""
    h = hashlib.sha256()
    files = 0
    if landing.is_dir():
        for p in sorted(landing.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(landing)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
                files += 1
    return h.hexdigest() if files else None


@dg.sensor(job=warehouse_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def new_landing_files(context: dg.SensorEvaluationContext):
    """Starts a run (today's partition) when files land, or change, in the landing zone."""
    fingerprint = landing_fingerprint(config.landing_dir())
    if fingerprint is None:
        return dg.SkipReason(f"the landing zone {config.landing_dir()} holds no files")
    if fingerprint == context.cursor:
        return dg.SkipReason("no new files in the landing zone")
    context.update_cursor(fingerprint)
    today = config.today_utc().isoformat()
    return dg.RunRequest(run_key=f"landing-{fingerprint[:16]}", partition_key=today)


defs = dg.Definitions(
    assets=[*raw_assets, run_plan, dbt_build, serving_duckdb],
    asset_checks=[raw_source_freshness],
    jobs=[warehouse_job, load_job],
    schedules=[daily_refresh],
    sensors=[new_landing_files],
    resources={"warehouse": WarehouseResource(), "dbt": dbt_resource},
)
