"""A small run of the benchmark (python -m bench): the warehouse (the whole Dagster job through the
CLI, as published in serving.duckdb), the hand-written DuckDB reference (bench/reference.sql) and
the pandas implementation (bench/pandas_marts.py) must publish the same contents for the 14 marts
of DESIGN.md section 6, so that the three cannot drift apart. Plus a check that the comparison
itself catches differences."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench.compare import MARTS, compare

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_warehouse_reference_and_pandas_publish_the_same_marts(tmp_path):
    out = tmp_path / "bench"
    # 45 days ending 2025-06-30: two calendar months, so monthly marts and running totals span a
    # month boundary
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--sessions", "3000", "--days", "45", "--out", str(out), "--check-only"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert (out / "results.json").exists(), proc.stdout[-5000:] + proc.stderr[-5000:]
    results = json.loads((out / "results.json").read_text())
    assert set(results["equality"]) == {"job_full vs reference", "pandas vs reference"}, proc.stdout[-3000:]
    problems = [
        f"{pair}: {v['summary']}\n    " + "\n    ".join(v["examples"])
        for pair, marts in results["equality"].items()
        for v in marts.values()
        if not v["equal"]
    ]
    assert not problems, "\n".join(problems)
    for pair, marts in results["equality"].items():
        assert set(marts) == set(MARTS), pair
        # the data exercises every mart (an empty mart would compare equal trivially)
        assert all(v["rows"] > 0 for v in marts.values()), {m: v["rows"] for m, v in marts.items()}
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_the_comparison_catches_differences(tmp_path):
    def make(path: Path, rows: list[tuple]) -> Path:
        con = duckdb.connect(str(path))
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.roaming_daily (date DATE, site_id VARCHAR, provider VARCHAR, "
            "emsp_party VARCHAR, currency VARCHAR, cdrs BIGINT, kwh DOUBLE, revenue DECIMAL(18, 4))"
        )
        con.executemany("INSERT INTO marts.roaming_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.close()
        return path

    base = [
        ("2025-06-01", "S1", "hubject", "DE*SHL", "EUR", 3, 42.0, "10.1234"),
        ("2025-06-01", "S2", "direct", None, "EUR", 1, 0.0, "0.0000"),
    ]
    left = make(tmp_path / "l.duckdb", base)

    def diff(rows):
        return compare(left, make(tmp_path / f"r{len(list(tmp_path.iterdir()))}.duckdb", rows), ["roaming_daily"])[0]

    assert diff(base).equal  # NULL keys match NULL keys
    assert diff([base[0][:6] + (42.0 * (1 + 1e-9), "10.1234"), base[1]]).equal  # DOUBLE within 1e-6
    assert diff([base[0][:6] + (42.0 * (1 + 1e-5), "10.1234"), base[1]]).column_mismatches["kwh"] == 1
    assert diff([base[0][:7] + ("10.1235",), base[1]]).column_mismatches["revenue"] == 1  # money is exact
    d = diff([base[0]])
    assert (d.only_left, d.only_right) == (1, 0)
    assert diff(base + [base[0]]).duplicate_keys_right == 1
