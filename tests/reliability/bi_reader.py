"""A BI tool reading serving.duckdb while runs publish: `python bi_reader.py SERVING STOP OUT MODE`.

MODE `reopen`: every refresh (a few a second) opens the file anew, read-only — alternately as
`duckdb.connect(path, read_only=True)` and as `ATTACH path (READ_ONLY)` in a fresh in-memory
database — checks that what it sees is one complete published state (the row counts recorded in
marts._publish_info are the real counts of every table, in the same connection) and closes it.
MODE `hold`: one connection opened once and kept for the whole test, queried in a loop (it keeps
seeing the file it opened: a publish replaces the file, never changes it in place).

Runs until the file STOP exists; writes a JSON summary to OUT. Every exception is recorded, not
raised: the test asserts there were none."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import duckdb


def check_state(con, prefix: str) -> tuple[str, int]:
    """(run_id, queries run) — raises AssertionError if the state is not consistent."""
    run_id, counts = con.execute(f"SELECT run_id, table_row_counts FROM {prefix}marts._publish_info").fetchone()
    counts = json.loads(counts)
    db = prefix.rstrip(".") or None
    tables = [
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> '_publish_info' "
            + ("AND database_name = ? " if db else "AND database_name = current_database() ")
            + "ORDER BY 1",
            [db] if db else [],
        ).fetchall()
    ]
    queries = 2
    actual = {}
    for t in tables:
        actual[f"marts.{t}"] = con.execute(f'SELECT count(*) FROM {prefix}marts."{t}"').fetchone()[0]
        queries += 1
    if actual != counts:
        raise AssertionError(f"inconsistent state of run {run_id}: recorded {counts} != actual {actual}")
    return run_id, queries


def main(serving: Path, stop: Path, out: Path, mode: str) -> None:
    summary = {"mode": mode, "refreshes": 0, "queries": 0, "errors": [], "run_ids": [], "seen": {}}

    def seen(run_id: str) -> None:
        if not summary["run_ids"] or summary["run_ids"][-1] != run_id:
            summary["run_ids"].append(run_id)
        summary["seen"][run_id] = summary["seen"].get(run_id, 0) + 1

    while not serving.exists() and not stop.exists():
        time.sleep(0.05)
    held = duckdb.connect(str(serving), read_only=True) if mode == "hold" and serving.exists() else None
    started = time.monotonic()
    while not stop.exists():
        n = summary["refreshes"]
        try:
            if held is not None:
                run_id, q = check_state(held, "")
            elif n % 2 == 0:
                con = duckdb.connect(str(serving), read_only=True)
                try:
                    run_id, q = check_state(con, "")
                finally:
                    con.close()
            else:
                con = duckdb.connect()
                try:
                    path = str(serving).replace("'", "''")
                    con.execute(f"ATTACH '{path}' AS bi (READ_ONLY)")
                    run_id, q = check_state(con, "bi.")
                    q += 1
                finally:
                    con.close()
            summary["queries"] += q
            seen(run_id)
        except Exception as e:
            summary["errors"].append(
                {"refresh": n, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}
            )
        summary["refreshes"] += 1
        time.sleep(0.5 if held is not None else 0.2)
    if held is not None:
        held.close()
    summary["seconds"] = time.monotonic() - started
    out.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
