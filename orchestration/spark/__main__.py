"""`python -m orchestration.spark export [--warehouse DIR] [--out DIR] [--plan-out DIR]`: the raw
tables and the current rebuild plan of the build database as Parquet directories for the dbt
`spark` target, where the target looks for them (raw: $WAREHOUSE_SPARK_RAW_DIR, else
<warehouse>/spark/raw; plan: $WAREHOUSE_SPARK_PLAN_DIR, else <warehouse>/spark/run_plan)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb

from orchestration import config
from orchestration.spark.export import export_plan, export_raw


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m orchestration.spark", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write the build database's raw tables and rebuild plan to Parquet")
    export.add_argument("--warehouse", help="warehouse dir (default $WAREHOUSE_DIR or warehouse)")
    export.add_argument("--out", help="raw Parquet dir (default $WAREHOUSE_SPARK_RAW_DIR or <warehouse>/spark/raw)")
    export.add_argument(
        "--plan-out", help="plan Parquet dir (default $WAREHOUSE_SPARK_PLAN_DIR or <warehouse>/spark/run_plan)"
    )
    args = ap.parse_args(argv)

    warehouse = Path(args.warehouse).resolve() if args.warehouse else config.warehouse_dir()
    out = Path(args.out or os.environ.get("WAREHOUSE_SPARK_RAW_DIR") or warehouse / "spark" / "raw").resolve()
    plan_out = Path(
        args.plan_out or os.environ.get("WAREHOUSE_SPARK_PLAN_DIR") or warehouse / "spark" / "run_plan"
    ).resolve()
    try:
        rows = export_raw(config.build_db(warehouse), out)
        plan_rows = export_plan(config.build_db(warehouse), plan_out)
    except (FileNotFoundError, LookupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except duckdb.Error as e:  # e.g. the job holds the build database open for writing
        print(f"error: cannot read {config.build_db(warehouse)}: {e}", file=sys.stderr)
        return 1
    for table, n in rows.items():
        print(f"  raw.{table:<15} {n:>12,} rows -> {out / table}")
    print(f"exported {len(rows)} raw tables to {out}")
    for table, n in plan_rows.items():
        print(f"  run_plan.{table:<15} {n:>7,} rows -> {plan_out / table}")
    print(f"exported the rebuild plan ({len(plan_rows)} sets) to {plan_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
