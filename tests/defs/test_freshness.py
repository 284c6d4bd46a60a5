"""Source freshness: configured on every raw source (dbt sources YAML: `_loaded_at`, thresholds
for daily, monthly, registry and ECB cadences), and the job's warn-level check says exactly what
`dbt source freshness` says — pass, warn, error or runtime error — for the same raw layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import config
from orchestration.contract import SOURCES
from orchestration.defs.freshness import CHECK_NAME, measure, raw_source_freshness, source_criteria
from orchestration.defs.raw import raw_asset_key
from orchestration.defs.resources import WarehouseResource
from orchestration.load.loader import load_all
from tests.e2e.test_handmade_marts import write_landing

AGED = {  # source: hours since its newest record was loaded -> dbt's verdict
    "sessions": (40, "warn"),  # daily: warn after 36 h
    "cdrs": (80, "error"),  # daily: error after 72 h
    "fx_rates": (48, "pass"),  # ECB: warn after 6 days
    "wallets": (40 * 24, "warn"),  # monthly: warn after 35 days
    "operators": (200 * 24, "error"),  # registry: error after 186 days
}
EMPTY = "plans"  # no record at all: as old as it gets (dbt: error)


@pytest.fixture(scope="module")
def aged_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("freshness")
    write_landing(root / "landing")
    db = config.build_db(root / "wh")
    load_all(db, root / "landing")
    con = duckdb.connect(str(db))
    try:
        for source, (hours, _) in AGED.items():
            con.execute(f"UPDATE raw.{source} SET _loaded_at = now()::TIMESTAMP - INTERVAL (?) HOUR", [hours])
        con.execute(f"DELETE FROM raw.{EMPTY}")
    finally:
        con.close()
    return root / "wh"


def test_every_raw_source_has_a_freshness_threshold():
    criteria = source_criteria()
    assert set(criteria) == set(SOURCES)
    assert {c["loaded_at_field"] for c in criteria.values()} == {"_loaded_at"}
    daily = criteria["sessions"]["freshness"]
    assert daily["warn_after"] == {"count": 36, "period": "hour"} and daily["error_after"] == {
        "count": 72,
        "period": "hour",
    }


@pytest.mark.e2e
def test_the_check_says_what_dbt_source_freshness_says(aged_warehouse, tmp_path):
    con = duckdb.connect(str(config.build_db(aged_warehouse)), read_only=True)
    try:
        ours = {s: f.status for s, f in measure(con, source_criteria()).items()}
    finally:
        con.close()
    env = {
        **os.environ,
        "WAREHOUSE_DIR": str(aged_warehouse),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    proc = subprocess.run(
        [
            str(dbt),
            "source",
            "freshness",
            "--profiles-dir",
            str(config.PROFILES_DIR),
            "--project-dir",
            str(config.dbt_project_dir()),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=config.dbt_project_dir(),
    )
    results = json.loads((tmp_path / "target" / "sources.json").read_text())["results"]
    theirs = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results}
    assert proc.returncode != 0  # dbt exits non-zero on error statuses
    assert ours == theirs
    for source, (_, status) in AGED.items():
        assert ours[source] == status, source
    assert ours[EMPTY] == "error"
    assert {s for s, st in ours.items() if st == "pass"} == set(SOURCES) - set(AGED) - {EMPTY} | {"fx_rates"}


@pytest.mark.e2e
def test_the_job_reports_freshness_as_warnings_that_never_block(aged_warehouse):
    raw = [dg.AssetSpec(raw_asset_key(s)) for s in SOURCES]  # loaded already: only the check runs
    result = dg.materialize(
        [*raw, raw_source_freshness],
        selection=dg.AssetSelection.checks(raw_source_freshness),
        resources={"warehouse": WarehouseResource(warehouse_dir=str(aged_warehouse))},
    )
    assert result.success
    evaluations = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == set(SOURCES)
    assert all(e.check_name == CHECK_NAME and e.severity == dg.AssetCheckSeverity.WARN for e in evaluations.values())
    assert not evaluations["sessions"].passed and evaluations["ledger"].passed
    assert evaluations["sessions"].description.startswith("sessions: newest record loaded 40.0 h ago, at ")
    assert evaluations["sessions"].description.endswith("(warn; warn after 36 hours, error after 72 hours)")
    assert (
        evaluations[EMPTY].description
        == "plans: no record loaded yet (error; warn after 93 days, error after 186 days)"
    )
