"""The dbt asset's housekeeping: the run's logical date as an environment variable, the dbt
command each plan mode runs, parse state carried from run to run, old run folders pruned."""

import json
import os
import time
from datetime import date
from pathlib import Path

from orchestration import config
from orchestration.defs.dbt import (
    DBT_PROJECT,
    PARSE_STATE,
    dbt_invocation,
    dbt_run_env,
    keep_parse_state,
    reuse_parse_state,
)
from orchestration.plan import Plan

BUILD = ["build", "--exclude-resource-type", "unit_test"]


def test_run_env_carries_the_logical_date():
    assert dbt_run_env(date(2025, 3, 31)) == {"WAREHOUSE_DBT_AS_OF_DATE": "2025-03-31"}


def _plan(mode: str, changed: list[str], as_of_changed: bool = True) -> Plan:
    return Plan("p", date(2025, 3, 31), mode, [], None, True, changed_sources=changed, as_of_changed=as_of_changed)


def test_each_plan_mode_runs_its_dbt_build():
    manifest = json.loads(Path(DBT_PROJECT.manifest_path).read_text())
    models = {u for u, n in manifest["nodes"].items() if n["resource_type"] in ("model", "seed", "snapshot")}
    assert dbt_invocation(_plan("full", []), manifest) == (BUILD + ["--full-refresh"], {}, set())
    assert dbt_invocation(_plan("none", []), manifest) == ([], {}, models)
    # a daily run (new events, a new logical date): registries' views, dims and the seed are left out
    args, env, unchanged = dbt_invocation(_plan("incremental", ["sessions", "cdrs", "ocpp", "ledger"]), manifest)
    names = {manifest["nodes"][u]["name"] for u in unchanged}
    assert {"stg_platform__operators", "dim_operators", "dim_teams", "utilization_benchmarks"} <= names
    assert not names & {
        "int_sessions",
        "fct_charge_sessions",
        "site_utilization_daily",
        "dim_charge_points",
        "invoices",
        "revenue_plans",
        "stg_platform__sessions",
    }  # events, or the logical date
    assert args[:3] == BUILD and args[3] == "--exclude" and set(args[4].split()) == names and len(args) == 5
    assert env == {"DBT_INDIRECT_SELECTION": "cautious", "WAREHOUSE_DBT_TEST_SCOPE": "plan"}
    # a new charge point version reaches nearly everything
    _, _, unchanged = dbt_invocation(_plan("incremental", ["charge_points"], as_of_changed=False), manifest)
    assert "int_sessions" not in {manifest["nodes"][u]["name"] for u in unchanged}


def test_parse_state_carried_and_old_runs_pruned(tmp_path):
    runs = tmp_path / "dbt_runs"
    folders = []
    for n in range(config.DBT_RUNS_KEPT + 3):
        target = runs / f"run{n:02d}"
        reuse_parse_state(runs, target)
        if n:  # the previous run's state was handed on
            assert (target / PARSE_STATE).read_text() == f"state {n - 1}"
        (target / PARSE_STATE).write_text(f"state {n}")
        os.utime(target, (time.time() - 100 + n, time.time() - 100 + n))
        keep_parse_state(runs, target)
        folders.append(target.name)
    assert (runs / PARSE_STATE).read_text() == f"state {config.DBT_RUNS_KEPT + 2}"
    assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == folders[-config.DBT_RUNS_KEPT :]
