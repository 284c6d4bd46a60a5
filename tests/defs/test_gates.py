"""Write-audit-publish gates: a refused batch or a failing dbt test (severity error) stops the run
before publishing, leaves the previous serving.duckdb byte-for-byte as it was, and the CLI exits
non-zero naming what failed."""

import json
import shutil

import pytest

from orchestration.config import PROJECT_DIR
from tests.conftest import copy_handmade_run, read_serving, run_cli
from tests.e2e.test_handmade_marts import AS_OF

pytestmark = pytest.mark.e2e  # the whole job on a landing zone


@pytest.fixture(scope="module")
def published(tmp_path_factory, handmade_run):
    """A warehouse with one good published run, and its landing zone: a copy of the session's run
    of the hand-made landing zone (tests/conftest.py: handmade_run, which asserts it published)."""
    root = tmp_path_factory.mktemp("gates")
    landing, warehouse = copy_handmade_run(handmade_run, root)
    return root, landing, warehouse


def test_too_many_bad_rows_blocks_publishing(published):
    root, landing, warehouse = published
    serving = warehouse / "serving.duckdb"
    before = serving.read_bytes()
    lines = [
        json.dumps(
            {
                "session_id": f"x{i}",
                "charge_point_id": "cp1",
                "state": "completed",
                "plugged_in_at": "2025-03-31T08:00:00Z",
                "unplugged_at": "2025-03-31T09:00:00Z",
                "kwh": "lots" if i % 3 == 0 else 5,
                "updated_at": "2025-03-31T09:00:00Z",
            }
        )
        for i in range(30)
    ]
    bad = landing / "sessions" / "sessions_2025-03-31_late.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    try:
        result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF)
    finally:
        bad.unlink()
    assert result.returncode != 0
    assert "FAILED check batches_accepted on raw/sessions" in result.output
    assert "sessions/sessions_2025-03-31_late.jsonl: 10 of 30 records bad (33.3% > 5% allowed)" in result.output
    assert "kwh is not a number" in result.output
    assert "NOT PUBLISHED" in result.output
    assert serving.read_bytes() == before
    # the refused file is not marked as loaded: nothing of it reached raw
    assert not list(root.glob("**/serving.duckdb.*.tmp"))


def test_failing_dbt_test_blocks_publishing(published, tmp_path):
    """An analyst's singular dbt test (severity error) that the data breaks stops the publish."""
    root, landing, warehouse = published
    serving = warehouse / "serving.duckdb"
    before = serving.read_bytes()
    project = tmp_path / "project"
    for name in ("models", "macros", "seeds", "snapshots", "dbt_project.yml"):
        src = PROJECT_DIR / name
        if src.is_dir():
            shutil.copytree(src, project / name)
        elif src.exists():
            shutil.copy(src, project / name)
    (project / "tests" / "dbt").mkdir(parents=True)
    (project / "tests" / "dbt" / "assert_no_site_above_1_kwh_per_cp_day.sql").write_text(
        "-- fails on the hand-made data: site s1 delivers 2.2 kWh/CP/day in March\n"
        "select site_id, month, kwh_per_cp_day from {{ ref('site_utilization_monthly') }}\n"
        "where kwh_per_cp_day > 1\n"
    )
    result = run_cli(
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--as-of",
        AS_OF,
        env={"WAREHOUSE_DBT_PROJECT_DIR": str(project)},
    )
    assert result.returncode != 0, result.output
    assert "assert_no_site_above_1_kwh_per_cp_day" in result.output
    assert "FAILED step dbt_build" in result.output
    assert "NOT PUBLISHED" in result.output
    assert serving.read_bytes() == before


def test_previous_publish_still_readable(published):
    _, _, warehouse = published
    assert read_serving(warehouse / "serving.duckdb", "SELECT as_of_date::VARCHAR FROM marts._publish_info") == [
        (AS_OF,)
    ]
