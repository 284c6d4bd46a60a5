"""The dbt project as Dagster assets (dagster-dbt): models, seeds and snapshots become assets,
dbt sources map onto the raw-load assets (and the run_plan source onto the plan asset), and dbt
tests become asset checks — blocking when the test's severity is `error`, so a failing test
stops the publish step. The build follows the run's plan (orchestration/plan.py): `dbt build`,
`dbt build --full-refresh`, or no dbt at all when nothing changed."""

import json
import os
import shutil
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from orchestration import config
from orchestration import plan as planner
from orchestration.defs.partitions import daily, window
from orchestration.defs.plan import plan_asset_key
from orchestration.defs.raw import raw_asset_key
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource

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
            name=spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=str(severity).lower() == "error",
        )


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=WarehouseDbtTranslator(),
    name="dbt_build",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a backfill range is one dbt build
    pool=WAREHOUSE_POOL,  # runs of one warehouse queue (orchestration/instance.py)
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
        raise RuntimeError(
            f"no plan for this run's build (as_of_date {as_of}) in {warehouse.build_db}: "
            "the run_plan asset must run first"
        )
    context.log.info(plan.describe())
    manifest = json.loads(Path(DBT_PROJECT.manifest_path).read_text())
    args, env, unchanged = dbt_invocation(plan, manifest)
    keys = {key_of(manifest["nodes"][u]) for u in unchanged}
    yield from unchanged_results(context, plan, keys & context.selected_asset_keys)
    if args:
        run_env = {**dbt_run_env(as_of), **env}
        saved = {name: os.environ.get(name) for name in run_env}
        os.environ.update(run_env)
        runs = config.dbt_runs_dir(warehouse.warehouse)
        target = runs / f"{context.run.run_id[:8]}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        reuse_parse_state(runs, target)
        try:
            yield from dbt.cli(args, context=context, target_path=target).stream()
        finally:
            # the process's environment as it was: the logical date must not outlive the run
            # (an in-process executor, or a test, would hand it to the next dbt started there)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            keep_parse_state(runs, target)
    planner.finish_build(warehouse.build_db, plan.plan_id)


def dbt_invocation(plan: planner.Plan, manifest: dict) -> tuple[list[str], dict[str, str], set[str]]:
    """What the plan runs: the dbt arguments (none for a `none` plan), extra environment, and the
    models and seeds left out because the build cannot change them (see unchanged_nodes)."""
    if plan.mode == "none":
        return [], {}, {u for u, n in manifest["nodes"].items() if n["resource_type"] in BUILT}
    args = ["build", "--exclude-resource-type", "unit_test"]
    if plan.mode == "full":
        return args + ["--full-refresh"], {}, set()
    # the row tests of the models the plan rebuilds read the rebuilt rows (macros/tests/get_where_subquery.sql)
    env = {"WAREHOUSE_DBT_TEST_SCOPE": "plan"}
    unchanged = unchanged_nodes(manifest, plan)
    if not unchanged:
        return args, env, unchanged
    # a test of a model left out still runs when another of its parents is built ("cautious")
    # (one --exclude value, space-separated: dagster-dbt reads one value per flag)
    return (
        args + ["--exclude", " ".join(sorted(manifest["nodes"][u]["name"] for u in unchanged))],
        {**env, "DBT_INDIRECT_SELECTION": "cautious"},
        unchanged,
    )


BUILT = ("model", "seed", "snapshot")  # dbt nodes that are Dagster assets (tests are checks)


def unchanged_nodes(manifest: dict, plan: planner.Plan) -> set[str]:
    """The models, seeds and snapshots an incremental build cannot change: neither downstream of a
    raw table with new rows nor of the plan's sets, nor reading the logical date when it changed.
    A full build changes everything (a seed or the project changing makes the plan full). In a
    daily run these are the registries' staging views, dims and tests (about a third of the
    nodes), each costing dbt ~50 ms."""
    if plan.mode == "full":
        return set()
    changed = {
        u
        for u, src in manifest["sources"].items()
        if src["source_name"] == planner.SCHEMA or src["name"] in plan.changed_sources
    }
    if plan.as_of_changed:
        project = manifest["metadata"]["project_name"]
        as_of_macros = {f"macro.{project}.as_of_date", f"macro.{project}.as_of_date_iso"}
        grew = True
        while grew:  # the macros that use the logical date, directly or through other macros
            callers = {
                u
                for u, m in manifest["macros"].items()
                if set(m.get("depends_on", {}).get("macros", [])) & as_of_macros
            }
            grew = not callers <= as_of_macros
            as_of_macros |= callers
        changed |= {
            u for u, n in manifest["nodes"].items() if set((n.get("depends_on") or {}).get("macros", [])) & as_of_macros
        }
    children: dict[str, set[str]] = {}
    for u, n in manifest["nodes"].items():
        for parent in (n.get("depends_on") or {}).get("nodes", []):
            children.setdefault(parent, set()).add(u)
    todo = list(changed)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in changed:
                changed.add(child)
                todo.append(child)
    return {u for u, n in manifest["nodes"].items() if n["resource_type"] in BUILT and u not in changed}


def key_of(node: dict) -> dg.AssetKey:
    return WarehouseDbtTranslator().get_asset_key(node)


def unchanged_results(context: dg.AssetExecutionContext, plan: planner.Plan, keys: set[dg.AssetKey]):
    """The dbt assets this build does not rebuild (all of them for a `none` plan: the build database
    already holds this build), reported as materialised without change so that the publish step
    runs; their data tests passed when they were built and are not run again. They come first:
    nothing they depend on is rebuilt, and a multi-asset yields in dependency order."""
    deps = context.assets_def.asset_deps
    done: set[dg.AssetKey] = set()
    while len(done) < len(keys):
        ready = sorted(
            (k for k in keys - done if not (deps.get(k, set()) & keys) - done), key=lambda k: k.to_user_string()
        )
        for key in ready:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={"rebuilt": False, "plan": f"{plan.plan_id[:8]} ({plan.mode}): " + "; ".join(plan.reasons)},
            )
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
    for old in folders[: -config.DBT_RUNS_KEPT]:
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
dbt_resource = WarehouseDbtCliResource(
    project_dir=DBT_PROJECT, profiles_dir=str(config.PROFILES_DIR), dbt_executable=DBT_EXECUTABLE
)
