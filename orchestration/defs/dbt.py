"""The dbt project as Dagster assets (dagster-dbt): models, seeds and snapshots become assets,
dbt sources map onto the raw-load assets (and the run_plan source onto the plan asset), and dbt
tests become asset checks — blocking when the test's severity is `error`, so a failing test
stops the publish step. The build follows the run's plan (orchestration/plan.py): `dbt build`,
`dbt build --full-refresh`, or no dbt at all when nothing changed."""


import os
import shutil
import sys
from datetime import date, datetime, timezone
from functools import cached_property
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from orchestration import config
from orchestration import plan as planner
from orchestration.defs.partitions import daily, window
from orchestration.defs.plan import plan_asset_key
from orchestration.defs.raw import raw_asset_key
from orchestration.defs.resources import WarehouseResource

DBT_PROJECT = DbtProject(project_dir=config.dbt_project_dir(), profiles_dir=config.PROFILES_DIR)


class WarehouseDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] == planner.SCHEMA:
                return plan_asset_key(dbt_resource_props["name"])
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
    """`dbt build` (models, seeds, snapshots and data tests) on the build database, as the run's
    plan says: incremental (the incremental models rebuild the plan's dates and keys, every other
    model is rebuilt whole), `--full-refresh`, or nothing at all (no new data, same logical date:
    every model is reported unchanged and dbt does not run). The run's logical date reaches dbt as
    `as_of_date`. dbt unit tests check the SQL, not the data: they run in the test suite
    (tests/dbt), not in every production run."""
    warehouse.export_env()
    win = window(context)
    as_of = warehouse.as_of if win is None else win[1]
    plan = planner.read_current_plan(warehouse.build_db)
    if plan is None or plan.as_of != as_of or plan.status != "planned":
        raise RuntimeError(f"no plan for this run's build (as_of_date {as_of}) in {warehouse.build_db}: "
                           "the run_plan asset must run first")
    context.log.info(plan.describe())
    if plan.mode == "none":
        yield from unchanged_results(context, plan)
    else:
        os.environ.update(dbt_run_env(as_of))
        runs = config.dbt_runs_dir(warehouse.warehouse)
        target = runs / f"{context.run.run_id[:8]}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
        reuse_parse_state(runs, target)
        try:
            yield from dbt.cli(dbt_build_args(plan), context=context, target_path=target).stream()
        finally:
            keep_parse_state(runs, target)
    planner.finish_build(warehouse.build_db, plan.plan_id)


def dbt_build_args(plan: planner.Plan) -> list[str]:
    args = ["build", "--exclude-resource-type", "unit_test"]
    return args + ["--full-refresh"] if plan.mode == "full" else args


def unchanged_results(context: dg.AssetExecutionContext, plan: planner.Plan):
    """A `none` plan: the build database already holds this build. Every selected dbt asset is
    reported as materialised without change (so the publish step runs and says the serving file
    is current); the data tests passed when these tables were built and are not run again."""
    selected = context.selected_asset_keys
    deps = context.assets_def.asset_deps
    done: set[dg.AssetKey] = set()
    while len(done) < len(selected):  # in dependency order, as a multi-asset must yield them
        ready = sorted((k for k in selected - done if not (deps.get(k, set()) & selected) - done),
                       key=lambda k: k.to_user_string())
        for key in ready:
            yield dg.MaterializeResult(asset_key=key, metadata={
                "rebuilt": False, "plan": f"{plan.plan_id[:8]} (none): " + "; ".join(plan.reasons)})
        done.update(ready)


def dbt_run_env(as_of: date) -> dict[str, str]:
    """The run's logical date for the dbt macro `run_var`. It travels as an environment variable
    read only while executing, not as --vars: dbt re-parses the whole project whenever --vars differ
    from its saved parse (that is, every day), ~3.5 s per run."""
    return {"WAREHOUSE_DBT_AS_OF_DATE": as_of.isoformat()}


PARSE_STATE = "partial_parse.msgpack"


def reuse_parse_state(runs: Path, target: Path) -> None:
    """Start the invocation from the last run's parse state (dbt re-parses what changed since)."""
    target.mkdir(parents=True, exist_ok=True)
    if (runs / PARSE_STATE).exists():
        shutil.copyfile(runs / PARSE_STATE, target / PARSE_STATE)


def keep_parse_state(runs: Path, target: Path) -> None:
    """Keep the invocation's parse state for the next run and the newest DBT_RUNS_KEPT run folders
    (run_results.json, compiled SQL, dbt.log); older ones are removed."""
    if (target / PARSE_STATE).exists():
        tmp = runs / f".{PARSE_STATE}.tmp"
        shutil.copyfile(target / PARSE_STATE, tmp)
        os.replace(tmp, runs / PARSE_STATE)
    folders = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in folders[:-config.DBT_RUNS_KEPT]:
        shutil.rmtree(old, ignore_errors=True)


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two things it does around every dbt invocation that this
    project does not use, measured at ~2-4 s of CPU per run: it runs `dbt --version` in a
    subprocess (a whole dbt start-up) to learn the version of the dbt next to this interpreter,
    which is the dbt-core package imported here; and it builds a dbt adapter with every macro
    parsed (ManifestLoader.load_macros), only needed to fetch row counts or column metadata after
    a model is built, which the dbt asset does not ask for."""

    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__
        return version.parse(__version__)

    def _initialize_dbt_core_adapter(self, args):
        return None


# The dbt next to this interpreter (the project's venv), whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
dbt_resource = WarehouseDbtCliResource(project_dir=DBT_PROJECT, profiles_dir=str(config.PROFILES_DIR),
                                       dbt_executable=DBT_EXECUTABLE)
