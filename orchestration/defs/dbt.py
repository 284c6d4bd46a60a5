"""The dbt project as Dagster assets (dagster-dbt): models, seeds and snapshots become assets,
dbt sources map onto the raw-load assets, and dbt tests become asset checks — blocking when the
test's severity is `error`, so a failing test stops the publish step."""


import json
import sys
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration import config
from orchestration.defs.partitions import daily, window
from orchestration.defs.raw import raw_asset_key
from orchestration.defs.resources import WarehouseResource

DBT_PROJECT = DbtProject(project_dir=config.dbt_project_dir(), profiles_dir=config.PROFILES_DIR)


class WarehouseDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_asset_key(dbt_resource_props["name"])
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        if len(fqn) >= 4 and fqn[1] == "marts":
            return f"marts_{fqn[2]}"
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        severity = manifest["nodes"].get(unique_id, {}).get("config", {}).get("severity", "error")
        return dg.AssetCheckSpec(
            name=spec.name, asset=spec.asset_key, description=spec.description,
            additional_deps=spec.additional_deps, metadata=spec.metadata,
            blocking=str(severity).lower() == "error")


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=WarehouseDbtTranslator(),
    name="dbt_build",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a backfill range is one dbt build
)
def dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """`dbt build` (models, seeds, snapshots and data tests) on the build database, with the run's
    logical date passed as the var `as_of_date` (and for a partitioned run the window as
    `min_date`/`max_date`, which the incremental models rebuild). dbt unit tests check the SQL, not the data: they
    run in the test suite (tests/dbt), not in every production run."""
    warehouse.export_env()
    win = window(context)
    if win is None:
        dbt_vars = {"as_of_date": warehouse.as_of.isoformat()}
    else:  # a partition or a backfill range: the window, and its last day as the logical date
        dbt_vars = {"as_of_date": win[1].isoformat(), "min_date": win[0].isoformat(), "max_date": win[1].isoformat()}
    args = ["build", "--vars", json.dumps(dbt_vars), "--exclude-resource-type", "unit_test"]
    yield from dbt.cli(args, context=context).stream()


# The dbt next to this interpreter (the project's venv), whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
dbt_resource = DbtCliResource(project_dir=DBT_PROJECT, profiles_dir=str(config.PROFILES_DIR),
                              dbt_executable=DBT_EXECUTABLE)
