"""`make spark-check` inside the suite (bench/spark_check.py), on a small generated landing zone:
the DuckDB job and dbt on local Spark build the same published tables, first as a full build
(every seed, model, data test and unit test on Spark) and then as the daily incremental run the
job makes the next day (the incremental models rebuild the plan's dates and keys on Spark too).
One subprocess: one Spark start-up for both rounds."""

import re
import subprocess
import sys

import pytest

from orchestration.config import PROJECT_DIR

pytestmark = [pytest.mark.spark, pytest.mark.e2e]


def test_spark_publishes_the_same_tables_as_duckdb_in_a_full_and_a_daily_build(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.spark_check",
            "--sessions",
            "2000",
            "--days",
            "31",
            "--seed",
            "7",
            # charge points commissioned at most 60 days before the first day (not ~3 years): the
            # daily tables have ~90 date partitions on Spark instead of ~1,100, each a Parquet file
            "--history-days",
            "60",
            "--end",
            "2025-05-31",
            "--out",
            str(tmp_path),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-8000:] + proc.stderr[-3000:]
    rounds = dict(re.findall(r"^-- round (\w+): (.*?)(?=^-- round |\Z)", out, re.M | re.S))
    assert list(rounds) == ["full", "daily"], out[-3000:]
    assert re.search(r"spark dbt build \(seeds, models, data tests, unit tests\): .*, passed", rounds["full"])
    assert re.search(r"plan \w+ for 2025-05-31 \(incremental\)", rounds["daily"])  # not a full rebuild
    assert re.search(r"spark dbt build .*incremental plan.*, passed", rounds["daily"])
    for name, text in rounds.items():
        lines = re.findall(r"^(EQUAL|DIFF) +(\w+)", text, re.M)
        assert len(lines) >= 40, (name, text[-3000:])  # every published table, one line each
        assert all(status == "EQUAL" for status, _ in lines), (name, text[-3000:])
