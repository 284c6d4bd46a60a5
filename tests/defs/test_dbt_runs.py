"""The dbt asset's housekeeping: run settings as environment variables, parse state carried from
run to run, old run folders pruned."""

import os
import time
from datetime import date

from orchestration import config
from orchestration.defs.dbt import PARSE_STATE, dbt_run_env, keep_parse_state, reuse_parse_state


def test_run_env_for_a_partition_and_for_a_full_run():
    assert dbt_run_env(date(2025, 3, 31), (date(2025, 3, 29), date(2025, 3, 31))) == {
        "WAREHOUSE_DBT_AS_OF_DATE": "2025-03-31", "WAREHOUSE_DBT_MIN_DATE": "2025-03-29",
        "WAREHOUSE_DBT_MAX_DATE": "2025-03-31"}
    # a full run clears a window left in the environment by an earlier partition run
    assert dbt_run_env(date(2025, 3, 31), None)["WAREHOUSE_DBT_MIN_DATE"] == ""


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
