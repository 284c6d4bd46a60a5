"""Run bench/reference.sql in a database holding the raw tables:

    python -m bench.run_reference --db FILE --as-of YYYY-MM-DD [--profile]

DuckDB gets the same limits as the dbt profile (WAREHOUSE_THREADS, WAREHOUSE_MEMORY_LIMIT, a
temp_directory next to the database, preserve_insertion_order off), so the comparison with dbt
is like for like. --profile prints the time of each statement."""

from __future__ import annotations

import argparse
import os
import re
import time
from datetime import date
from pathlib import Path

import duckdb

from orchestration import config

SCRIPT = Path(__file__).with_name("reference.sql")


def statements(sql: str) -> list[str]:
    """Split the script into statements (it has no semicolons inside strings or comments)."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def connect(db: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {int(os.environ.get('WAREHOUSE_THREADS', '2'))}")
    con.execute("SET memory_limit = ?", [config.memory_limit()])
    con.execute("SET temp_directory = ?", [str(db.parent / "duckdb_tmp")])
    con.execute("SET preserve_insertion_order = false")
    return con


def run(db: Path, as_of: date, profile: bool = False) -> dict[str, float]:
    con = connect(db)
    timings: dict[str, float] = {}
    try:
        con.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
        for stmt in statements(SCRIPT.read_text()):
            t0, c0 = time.perf_counter(), time.process_time()
            con.execute(stmt)
            m = re.search(r"(?:TABLE|VARIABLE)\s+([\w.]+)", stmt)
            name = m.group(1) if m else stmt[:40]
            timings[name] = time.perf_counter() - t0
            if profile:
                print(f"{timings[name]:8.3f}s wall {time.process_time() - c0:8.3f}s cpu  {name}", flush=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--as-of", required=True, type=date.fromisoformat)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    run(args.db, args.as_of, args.profile)
    print(f"reference: {time.perf_counter() - t0:.2f}s")


if __name__ == "__main__":
    main()
