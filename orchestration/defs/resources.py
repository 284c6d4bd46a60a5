"""The one Dagster resource every warehouse asset shares: where the landing zone and the
warehouse are, the run's logical date and the bad-row tolerance. Setting it up for a run takes
the warehouse's lock (orchestration/lock.py) for the whole run: one writer per warehouse, whether
the run was started by the CLI, the schedule, the sensor or the UI."""

import contextlib
import os
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration import config
from orchestration.failures import storage_failure
from orchestration.lock import hold_warehouse


def pool_name(warehouse: Path) -> str:
    """The Dagster concurrency pool of a warehouse: every asset that writes it is in this pool, and
    DAGSTER_HOME/dagster.yaml (orchestration/instance.py) lets one run per pool in at a time, so
    runs queue instead of colliding on build.duckdb."""
    return "warehouse:" + "_".join(str(Path(warehouse).resolve()).split())


# The warehouse of this code location (WAREHOUSE_DIR when the definitions are loaded).
WAREHOUSE_POOL = pool_name(config.warehouse_dir())


def started_by(tags: dict) -> str:
    """How a run was started, from its tags (the CLI tags its runs with `warehouse/started_by`)."""
    if tags.get("warehouse/started_by"):
        return tags["warehouse/started_by"]
    for tag, what in (
        ("dagster/schedule_name", "Dagster schedule"),
        ("dagster/sensor_name", "Dagster sensor"),
        ("dagster/backfill", "Dagster backfill"),
    ):
        if tags.get(tag):
            return f"{what} {tags[tag]}"
    return "Dagster run launched from the UI or API"


def run_day(tags: dict) -> str | None:
    return tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end") or tags.get("as_of_date")


class WarehouseResource(dg.ConfigurableResource):
    landing_dir: str = ""  # "" = WAREHOUSE_LANDING_DIR / data/landing
    warehouse_dir: str = ""  # "" = WAREHOUSE_DIR / warehouse
    as_of_date: str = ""  # "" = WAREHOUSE_AS_OF / today (UTC)
    max_bad_share: float = -1.0  # < 0 = WAREHOUSE_MAX_BAD_SHARE / 0.05
    full_refresh: bool = False  # rebuild every dbt model from scratch, whatever the plan finds

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir).resolve() if self.landing_dir else config.landing_dir()

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_dir).resolve() if self.warehouse_dir else config.warehouse_dir()

    @property
    def build_db(self) -> Path:
        return config.build_db(self.warehouse)

    @property
    def serving_db(self) -> Path:
        return config.serving_db(self.warehouse)

    @property
    def as_of(self) -> date:
        return config.as_of_date(self.as_of_date)

    @property
    def bad_share(self) -> float:
        return self.max_bad_share if self.max_bad_share >= 0 else config.max_bad_share()

    def export_env(self) -> None:
        """dbt reads the build database location from the environment (profiles.yml)."""
        self.warehouse.mkdir(parents=True, exist_ok=True)
        os.environ["WAREHOUSE_DIR"] = str(self.warehouse)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        """Hold the warehouse for the whole run; when another run holds it, say which (in the
        run's log) and wait until it is done."""
        run = context.dagster_run
        tags = dict(run.tags) if run is not None else {}

        def say(line: str) -> None:
            if context.log is not None:
                context.log.warning(line)

        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(
                    hold_warehouse(
                        self.warehouse,
                        run_id=context.run_id or "?",
                        started_by=started_by(tags),
                        as_of=run_day(tags),
                        on_wait=say,
                    )
                )
            except OSError as e:  # the warehouse cannot be created or written: say so in one line
                found = storage_failure(e)
                if found is None:
                    raise
                raise found from e
            yield self
