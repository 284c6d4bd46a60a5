"""The one Dagster resource every warehouse asset shares: where the landing zone and the
warehouse are, the run's logical date and the bad-row tolerance."""


import os
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration import config


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
