"""A huge landing file: 1,000,000 session lines (~500 MB), generated into tmp, loaded in a
subprocess whose peak memory (ru_maxrss) is measured. A plain file this big is not read whole:
the loader hands it to DuckDB in groups of chunks of whole lines (128 MiB), DuckDB spills what
exceeds WAREHOUSE_MEMORY_LIMIT to disk, so memory stays bounded well below the file's size times
the ~4 it took when the whole file was held in memory; a few bad and duplicate lines among the
million are still found, on the right lines, and the counts reconcile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.helpers import PROJECT, save_figures

pytestmark = pytest.mark.e2e  # a million-line file through the loader, memory measured (a stress test)

LINES = 1_000_000
BAD_EVERY = 250_000  # lines 250000, 500000, 750000, 1000000: kWh "lots"
DUP_EVERY = 200_001  # a re-send of the line above it

TEMPLATE = (
    '{"session_id": "s%d", "charge_point_id": "cp1", "connector_id": 1, "paying_team_id": null, '
    '"state": "completed", "plugged_in_at": "2025-01-01T10:00:00Z", "charging_started_at": null, '
    '"charging_ended_at": null, "unplugged_at": "2025-01-01T11:%02d:00+01:00", "failed_at": null, '
    '"failure_reason": null, "stop_reason": "Local", "kwh": %s, "price_excl_vat": "3.5000", '
    '"price_incl_vat": "4.3750", "currency": "DKK", "is_roaming": false, "updated_at": "2025-01-01T11:30:00Z"}\n'
)

LOADER = r"""
import json, resource, sys, time
from pathlib import Path
from orchestration.load.loader import connect, load_source
from tests.reliability.helpers import make_registry_db, reconcile
root = Path(sys.argv[1])
make_registry_db(root / "build.duckdb", root / "registry")
con = connect(root / "build.duckdb")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
res = load_source(con, "sessions", root / "landing")
seconds = time.perf_counter() - t0
f = [f for f in res.files if f.file == "sessions/big.jsonl"][0]
reconcile(con, "sessions")
q = con.execute("SELECT line, rule FROM raw._quarantine ORDER BY line").fetchall()
raw = con.execute("SELECT count(*), count(DISTINCT session_id), min(unplugged_at)::VARCHAR FROM raw.sessions "
                  "WHERE _file_hash = ?", [f.file_hash]).fetchone()
print(json.dumps({"status": f.status, "read": f.rows_read, "loaded": f.rows_loaded, "quarantined": f.rows_quarantined,
                  "duplicate": f.rows_duplicate, "quarantine": q, "raw": raw, "seconds": seconds,
                  "base_rss_mb": base / 1024,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_big_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for start in range(1, LINES + 1, 100_000):
            chunk = []
            for n in range(start, min(LINES, start + 99_999) + 1):  # n = line number
                if n % DUP_EVERY == 0:
                    chunk.append(TEMPLATE % (n - 1, (n - 1) % 60, "7.5"))  # identical to line n - 1
                else:
                    chunk.append(TEMPLATE % (n, n % 60, '"lots"' if n % BAD_EVERY == 0 else "7.5"))
            f.write("".join(chunk))
    return path.stat().st_size


def test_a_million_lines_load_in_bounded_memory(tmp_path):
    t0 = time.perf_counter()
    size = write_big_file(tmp_path / "landing" / "sessions" / "big.jsonl")
    env = {**os.environ, "WAREHOUSE_MEMORY_LIMIT": "512MB", "PYTHONPATH": str(PROJECT)}
    proc = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path)], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    total = time.perf_counter() - t0
    save_figures(
        "huge_file",
        {
            "lines": LINES,
            "mb": round(size / 1e6),
            "load_seconds": round(out["seconds"], 1),
            "test_seconds": round(total, 1),
            "peak_rss_mb": round(out["peak_rss_mb"]),
            "rss_before_load_mb": round(out["base_rss_mb"]),
        },
    )

    bad = [n for n in range(1, LINES + 1) if n % BAD_EVERY == 0]
    dups = LINES // DUP_EVERY
    assert (out["status"], out["read"], out["quarantined"], out["duplicate"]) == ("loaded", LINES, len(bad), dups)
    assert out["loaded"] == LINES - len(bad) - dups
    assert out["quarantine"] == [[n, "kwh is not a number"] for n in bad]
    assert out["raw"] == [LINES - len(bad) - dups, LINES - len(bad) - dups, "2025-01-01 10:00:00"]
    # Memory: the file is ~500 MB; reading it whole cost ~3.4 GB. Now: groups of 128 MiB of whole
    # lines, DuckDB capped at 512 MB (spilling the rest), Great Expectations on a sample.
    assert out["peak_rss_mb"] < 2000, out
    assert out["peak_rss_mb"] < 4 * size / 2**20, out
