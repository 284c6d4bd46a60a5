"""The daily partitions start at the earliest date in the landing zone's file names (or at
WAREHOUSE_PARTITIONS_START), not at a fixed 2010-01-01: a landing zone whose data starts in 2025
shows 2025's days in the UI, not 6,000 empty ones."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest

from orchestration import config
from orchestration.defs.partitions import earliest_landing_day, first_partition_day
from tests.conftest import PROJECT


def touch(landing, *names):
    for name in names:
        p = landing / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("")


def test_the_earliest_date_in_any_source_folder(tmp_path):
    touch(
        tmp_path,
        "sessions/sessions_2025-03-02.jsonl",
        "cdrs/hubject/cdrs_2025-02-27.jsonl",
        "operators/operators.csv",
        "ledger/ledger_2025-13-45.jsonl",  # not a date
        "notes/readme_2001-01-01.txt",
    )  # not a source folder
    assert earliest_landing_day(tmp_path) == date(2025, 2, 27)
    assert earliest_landing_day(tmp_path / "missing") is None


@pytest.mark.parametrize(
    "setting, files, expected",
    [
        (None, ["sessions/sessions_2025-03-02.jsonl", "operators/operators_2025-02-28.csv"], date(2025, 2, 28)),
        ("2024-06-01", ["sessions/sessions_2025-03-02.jsonl"], date(2024, 6, 1)),  # the setting wins
        (None, ["operators/operators.csv"], None),  # no date anywhere: today
        (None, ["sessions/sessions_2999-01-01.jsonl"], None),  # never after today
    ],
)
def test_first_partition_day(tmp_path, monkeypatch, setting, files, expected):
    touch(tmp_path, *files)
    monkeypatch.setenv("WAREHOUSE_LANDING_DIR", str(tmp_path))
    if setting:
        monkeypatch.setenv("WAREHOUSE_PARTITIONS_START", setting)
    else:
        monkeypatch.delenv("WAREHOUSE_PARTITIONS_START", raising=False)
    assert first_partition_day() == (expected or config.today_utc())


def test_the_code_location_partitions_start_there(tmp_path):
    """A fresh process, as `dagster dev` or the CLI loads the definitions, with no setting."""
    touch(tmp_path, "sessions/sessions_2025-01-15.jsonl", "sessions/sessions_2025-01-16.jsonl")
    code = (
        "from orchestration.defs import defs, JOB_NAME\n"
        "p = defs.resolve_job_def(JOB_NAME).partitions_def\n"
        "print(p.get_first_partition_key(), len(p.get_partition_keys()))"
    )
    env = {k: v for k, v in os.environ.items() if k != "WAREHOUSE_PARTITIONS_START"}
    env["WAREHOUSE_LANDING_DIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    first, count = out.stdout.split()[-2:]
    assert first == "2025-01-15"
    assert int(count) == (config.today_utc() - date(2025, 1, 15)).days + 1  # through today (end_offset=1)
