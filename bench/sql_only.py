"""The warehouse's own SQL without dbt: every model's compiled SELECT of a `dbt build` (from its
target directory), run back to back in one DuckDB process in dependency order, then (with
--tests) every data test's query. It splits the dbt build's time into the engine's work on the
project's SQL and dbt's per-node orchestration overhead (compile, connection, transactions,
metadata queries, incremental-state hooks):

    python -m bench.sql_only --db DIR/build.duckdb --target DBT_TARGET_DIR [--tests] [--profile]

The database must hold the raw tables and be named build.duckdb (compiled SQL names the
catalog `build`). DuckDB gets the dbt profile's limits.
"""

from __future__ import annotations

import argparse
import json
import time
from graphlib import TopologicalSorter
from pathlib import Path

from bench.run_reference import connect
from orchestration import config


def build_order(manifest: dict) -> list[str]:
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] in ("model", "seed")}
    graph = {uid: [d for d in n.get("depends_on", {}).get("nodes", []) if d in nodes] for uid, n in nodes.items()}
    return list(TopologicalSorter(graph).static_order())


def relation(node: dict) -> str:
    return f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'


def run(db: Path, target: Path, tests: bool, profile: bool) -> dict:
    manifest = json.loads((target / "manifest.json").read_text())
    con = connect(db)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    try:
        for uid in build_order(manifest):
            node = manifest["nodes"][uid]
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{node["schema"]}"')
            t0, c0 = time.perf_counter(), time.process_time()
            if node["resource_type"] == "seed":
                csv = config.PROJECT_DIR / node["original_file_path"]
                con.execute(f"CREATE OR REPLACE TABLE {relation(node)} AS SELECT * FROM read_csv_auto(?)", [str(csv)])
            else:
                sql = Path(node["compiled_path"]).read_text()
                kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
                if node["config"]["materialized"] == "ephemeral":
                    continue
                con.execute(f"CREATE OR REPLACE {kind} {relation(node)} AS {sql}")
            timings[node["name"]] = time.perf_counter() - t0
            cpu[node["name"]] = time.process_time() - c0
        model_s = sum(timings.values())
        test_s = 0.0
        if tests:
            for node in manifest["nodes"].values():
                path = Path(node.get("compiled_path") or "")
                if node["resource_type"] != "test" or not path.is_file():
                    continue
                t0 = time.perf_counter()
                con.execute(f"SELECT count(*) FROM ({path.read_text()}) AS t").fetchall()
                test_s += time.perf_counter() - t0
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if profile:
        print("    wall s     cpu s  model")
        for name, t in sorted(timings.items(), key=lambda x: -x[1])[:15]:
            print(f"{t:10.3f}{cpu[name]:10.3f}  {name}")
    return {
        "models_s": round(model_s, 3),
        "tests_s": round(test_s, 3),
        "models": len(timings),
        "slowest_models_cpu": sorted(((n, round(c, 2)) for n, c in cpu.items()), key=lambda x: -x[1])[:12],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--target", required=True, type=Path, help="dbt target dir of a build (manifest + compiled SQL)")
    ap.add_argument("--tests", action="store_true", help="also run every data test's query")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    result = run(args.db, args.target, args.tests, args.profile)
    print(json.dumps({**result, "wall_s": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
