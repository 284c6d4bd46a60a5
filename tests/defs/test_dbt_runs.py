"""The dbt asset's housekeeping: the run's logical date as an environment variable, the dbt
command each plan mode runs, parse state carried from run to run, old run folders pruned."""

import os
import time
from datetime import date

from orchestration import config
from orchestration.defs.dbt import PARSE_STATE, dbt_build_args, dbt_run_env, keep_parse_state, reuse_parse_state
from orchestration.plan import Plan


def test_run_env_carries_the_logical_date():
    assert dbt_run_env(date(2025, 3, 31)) == {"WAREHOUSE_DBT_AS_OF_DATE": "2025-03-31"}


def test_a_full_plan_is_a_full_refresh_an_incremental_one_a_plain_build():
    def plan(mode: str) -> Plan:
        return Plan("p", date(2025, 3, 31), mode, [], None, True)
    assert dbt_build_args(plan("incremental")) == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args(plan("full")) == ["build", "--exclude-resource-type", "unit_test", "--full-refresh"]


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
    assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == folders[-config.DBT_RUNS_KEPT:]
