"""Run bench/load_reference.sql (the hand-written load of the four big sources) in a database
whose registries are loaded:

    python -m bench.run_load_reference --db FILE --landing DIR [--profile]

DuckDB gets the loader's settings (WAREHOUSE_MEMORY_LIMIT, a temp directory next to the
database, UTC). The moment of loading and the session limit are the loader's defaults."""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from bench.run_reference import statements
from orchestration import config

SCRIPT = Path(__file__).with_name("load_reference.sql")
SOURCES = ("sessions", "ledger", "cdrs", "ocpp")


def script_statements() -> list[str]:
    """The script's statements, with the @tail-template run after each `-- @tail <table>: <key>`
    marker (the table and key names are the script's own words, never file content)."""
    text = SCRIPT.read_text()
    head, template = text.split("-- @tail-template", 1)
    template = template.split("\n", 1)[1]
    out: list[str] = []
    for part in re.split(r"^-- @tail (\w+): (.*)$", head, flags=re.MULTILINE):
        out.append(part)
    stmts: list[str] = statements(out[0])
    for i in range(1, len(out), 3):
        table, key, rest = out[i], out[i + 1].strip(), out[i + 2]
        ckey = ", ".join("c." + k.strip() for k in key.split(","))
        stmts += statements(template.format(source=table, key=key, ckey=ckey))
        stmts += statements(rest)
    return stmts


def run(db: Path, landing: Path, profile: bool = False, max_bad_share: float = 0.05) -> dict[str, float]:
    con = duckdb.connect(str(db))
    timings: dict[str, float] = {}
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET memory_limit = ?", [config.memory_limit()])
        con.execute("SET temp_directory = ?", [str(db.parent / "duckdb_tmp")])
        con.execute("SET preserve_insertion_order = false")
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute("SET VARIABLE landing = ?", [str(landing.resolve())])
        con.execute("SET VARIABLE suites = ?", [str(config.PROJECT_DIR / "expectations")])
        con.execute("SET VARIABLE ocpp_schemas = ?", [str(resources.files("ocpp.v16") / "schemas")])
        con.execute("SET VARIABLE now = ?::TIMESTAMP", [now])
        con.execute("SET VARIABLE max_session_days = ?::INTEGER", [config.max_session_days()])
        for stmt in script_statements():
            t0, c0 = time.perf_counter(), time.process_time()
            con.execute(stmt).fetchall()
            name = " ".join(stmt.split()[:4])[:70]
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
            if profile:
                print(f"{time.perf_counter() - t0:8.3f}s wall {time.process_time() - c0:8.3f}s cpu  {name}", flush=True)
        con.execute("CHECKPOINT")
        over = con.execute(
            "SELECT source, file, rows_quarantined, rows_read FROM raw._load_audit "
            "WHERE rows_read > 0 AND rows_quarantined > ? * rows_read",
            [max_bad_share],
        ).fetchall()
        if over:
            raise SystemExit(f"the reference does not refuse files; these would be refused: {over[:5]}")
    finally:
        con.close()
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--landing", required=True, type=Path)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    run(args.db, args.landing, args.profile)
    print(json.dumps({"load_reference_s": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
