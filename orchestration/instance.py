"""The Dagster instance of a warehouse (DAGSTER_HOME, default WAREHOUSE_DIR/dagster_home): its
dagster.yaml says that runs queue per warehouse.

Every asset that writes a warehouse is in that warehouse's concurrency pool
(defs/resources.pool_name). With `concurrency.pools.granularity: run` and a default limit of 1,
Dagster's run queue (the QueuedRunCoordinator, the default run coordinator, served by the daemon
that `dagster dev` starts) launches a run only when no other run of that pool is in progress:
the schedule's, the sensor's and runs launched from the UI wait in the queue (status QUEUED)
instead of colliding on build.duckdb. Runs of the CLI do not pass through the queue
(execute_in_process); they, and every queued run once launched, also hold the warehouse's lock
(orchestration/lock.py), so a CLI run and a UI run never write at the same time either."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

POOLS = {"granularity": "run", "default_limit": 1}


def ensure_dagster_home(home: Path) -> Path:
    """Create DAGSTER_HOME and its dagster.yaml, or add the run-queue setting to an existing one
    that has no `concurrency` section (other settings are kept as they are; a `concurrency`
    section someone wrote is theirs and left alone). Returns the dagster.yaml path."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    settings = {}
    if path.exists():
        settings = yaml.safe_load(path.read_text()) or {}
    changed = False
    if "telemetry" not in settings:
        settings["telemetry"] = {"enabled": False}
        changed = True
    if "concurrency" not in settings:
        settings["concurrency"] = {"pools": dict(POOLS)}
        changed = True
    if changed:
        header = (
            "# Written by `python -m orchestration` (orchestration/instance.py): runs of a warehouse\n"
            "# queue (one per warehouse pool at a time). Edit freely; a `concurrency` section is kept.\n"
        )
        tmp = path.with_name(f".dagster.yaml.{os.getpid()}.tmp")
        tmp.write_text(header + yaml.safe_dump(settings, sort_keys=False))
        tmp.replace(path)
    return path
