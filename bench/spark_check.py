"""`make spark-check`: the same dbt project on DuckDB and on local Spark gives the same marts, in a
full build and in an incremental (daily) build.

    python -m bench.spark_check [--sessions 20000] [--days 365] [--seed 42] [--out DIR] [--work DIR]

1. Generates the landing zone (cached like the benchmark's: OUT/landing, default
   OUT = data/bench/<N>-<seed>-<D>d).
2. Round "full": runs the whole job with DuckDB (the CLI: load -> plan -> dbt build -> publish)
   for the day before the last one, into a fresh WORK/duckdb (default WORK = OUT/spark-check);
   exports the build database's raw tables and rebuild plan to Parquet
   (orchestration.spark.export) and runs `dbt build --target spark` in this process (dbt-spark,
   session method: seeds, models, data tests and unit tests) into a fresh WORK/spark.
3. Round "daily": the job again for the last day (it loads that day's files; its plan rebuilds
   what they touch), the export again, and dbt on Spark as the job runs it for that plan
   (orchestration.defs.dbt.dbt_invocation: incremental models rebuild the plan's dates and keys).
4. After each round, reads every table the DuckDB job published (serving.duckdb, schema marts)
   and the Spark table of the same name through this process's Spark session (Arrow), compares
   them (bench/spark_compare.py: same columns and types, same rows; DOUBLE to 1e-9 relative,
   DECIMAL exactly) and prints one line per table.

Exits 0 only when both Spark builds passed, the daily round was incremental, and every table is
equal in both rounds. Prints the wall and CPU time of each step (CPU of this process and of the
Spark JVM it started). Spark runs with the settings of the `spark` target; this check makes the
catalog in-memory (it reads the results in-process) and uses 2 shuffle partitions unless the
environment says otherwise (WAREHOUSE_SPARK_CATALOG, WAREHOUSE_SPARK_SHUFFLE_PARTITIONS).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from bench.measure import descendants_cpu_s
from bench.runner import DEFAULT_END, PROJECT, child_env, default_out, ensure_landing
from bench.spark_compare import TableComparison, compare_relations
from orchestration import plan as planner
from orchestration.config import PROFILES_DIR, build_db, serving_db
from orchestration.spark.export import export_plan, export_raw


@dataclass
class Clock:
    """Wall and CPU time of a step run in this process, including the JVM it talks to."""

    wall_s: float = 0.0
    cpu_s: float = 0.0

    def __enter__(self) -> Clock:
        self._wall = time.perf_counter()
        self._cpu = self._cpu_now()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = self._cpu_now() - self._cpu

    @staticmethod
    def _cpu_now() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime + descendants_cpu_s(os.getpid())

    def __str__(self) -> str:
        return f"{self.wall_s:.1f} s wall, {self.cpu_s:.1f} s CPU"


@contextmanager
def stderr_to(path: Path):
    """Send this process's stderr (file descriptor 2) to `path` meanwhile: the Spark JVM started
    meanwhile inherits it, so its start-up chatter and log go there for good."""
    sys.stderr.flush()
    saved = os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log)


def run_duckdb_job(landing: Path, warehouse: Path, as_of: date) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration",
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--as-of",
            as_of.isoformat(),
        ],
        cwd=PROJECT,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    return proc, time.perf_counter() - t0


def spark_env(warehouse: Path, raw_dir: Path, plan_dir: Path) -> dict[str, str]:
    """The environment of the `spark` dbt target (profiles/profiles.yml) for one warehouse. The
    catalog is in-memory unless the environment says otherwise: the comparison reads the tables
    in this process, and the Derby metastore costs a start-up and every catalog call."""
    return {
        "WAREHOUSE_DIR": str(warehouse),
        "WAREHOUSE_SPARK_RAW_DIR": str(raw_dir),
        "WAREHOUSE_SPARK_PLAN_DIR": str(plan_dir),
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "WAREHOUSE_SPARK_CATALOG": os.environ.get("WAREHOUSE_SPARK_CATALOG", "in-memory"),
        "WAREHOUSE_SPARK_SHUFFLE_PARTITIONS": os.environ.get("WAREHOUSE_SPARK_SHUFFLE_PARTITIONS", "2"),
        # Spark binds to loopback (profiles.yml); this also tells its start-up not to look further
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }


def dbt_spark(warehouse: Path, as_of: date, args: list[str], env: dict[str, str] | None = None):
    """`dbt <args> --target spark` in this process (its Spark session stays up for the next
    invocation and for reading the results), with `env` set meanwhile. Returns dbt's result."""
    from dbt.cli.main import dbtRunner

    # dbt's progress goes to its log file only (<warehouse>/logs/dbt.log); the engine's own
    # report of a failed query is in dbt's message, printed by failed_nodes
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    args = [
        *args,
        "--target",
        "spark",
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(warehouse / "target"),
        "--log-path",
        str(warehouse / "logs"),
        "--vars",
        f"{{as_of_date: {as_of.isoformat()}}}",
        "--no-use-colors",
        "--log-level",
        "none",
        "--log-level-file",
        "info",
    ]
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        return dbtRunner().invoke(args)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# dbt's headings around the engine's message ("Runtime Error in model x (path)", "Runtime Error")
HEADING = re.compile(r"^(Runtime|Compilation|Database) Error( in .*)?$")


def failed_nodes(result) -> tuple[list[str], int]:
    """One line per failed node (its status, name and the first line of the engine's message,
    without dbt's 'Runtime Error in model ...' heading), and the number of nodes skipped."""
    out, skipped = [], 0
    for r in getattr(result.result, "results", None) or []:
        status = str(getattr(r.status, "value", r.status)).lower()
        if status == "skipped":
            skipped += 1
        elif status in ("error", "fail", "runtime error"):
            lines = [
                line.strip()
                for line in (r.message or "").splitlines()
                if line.strip() and not HEADING.match(line.strip())
            ]
            out.append(f"{status.upper():<6} {r.node.unique_id}: {lines[0][:300] if lines else ''}")
    if result.exception is not None:
        out.append(f"ERROR  dbt: {str(result.exception).strip()[:500]}")
    return out, skipped


def published_tables(serving: Path) -> list[str]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> '_publish_info' "
                "ORDER BY table_name"
            ).fetchall()
        ]
    finally:
        con.close()


def compare_with_spark(serving: Path, tables: list[str]) -> list[TableComparison]:
    """Each published table of `serving` against Spark's marts.<table>, read through the Spark
    session of this process."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    spark_tables = (
        {row.tableName for row in spark.sql("SHOW TABLES IN marts").collect()}
        if any(row.namespace == "marts" for row in spark.sql("SHOW DATABASES").collect())
        else set()
    )
    con = duckdb.connect()
    results = []
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH '{serving}' AS serving (READ_ONLY)")
        for table in tables:
            left_types = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'serving' "
                "AND schema_name = 'marts' AND table_name = ? ORDER BY column_index",
                [table],
            ).fetchall()
            if table not in spark_tables:
                results.append(TableComparison(table, problems=["not built on spark (no table marts." + table + ")"]))
                continue
            frame = spark.table(f"marts.`{table}`")
            right_types = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
            con.register("spark_table", frame.toArrow())
            results.append(
                compare_relations(con, table, f'serving.marts."{table}"', "spark_table", left_types, right_types)
            )
            con.unregister("spark_table")
    finally:
        con.close()
    return results


@dataclass
class Round:
    name: str
    as_of: date
    ok: bool = False
    tables: int = 0
    equal: int = 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.spark_check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--end", type=date.fromisoformat, default=DEFAULT_END, help="last day: the daily round's as-of date"
    )
    ap.add_argument(
        "--history-days",
        type=int,
        help="commissioning history of the generated charge points before the first day (default the "
        "generator's, about three years): each day of it is a date partition of the daily tables on Spark",
    )
    ap.add_argument("--out", type=Path, help="landing zone cache (default data/bench/<N>-<seed>-<D>d)")
    ap.add_argument("--work", type=Path, help="work directory, emptied first (default OUT/spark-check)")
    args = ap.parse_args(argv)
    if args.days < 2:
        ap.error("--days must be at least 2 (the daily round needs a history)")

    def say(msg: str) -> None:
        print(msg, flush=True)

    start = args.end - timedelta(days=args.days - 1)
    out = (args.out or default_out(args.sessions, args.seed, args.days, args.end)).resolve()
    work = (args.work or out / "spark-check").resolve()
    total = time.perf_counter()
    say(f"spark-check: {args.sessions:,} sessions {start}..{args.end} (seed {args.seed}), work dir {work}")
    landing, _ = ensure_landing(out, args.sessions, args.seed, start, args.end, say, history_days=args.history_days)

    duck, spark_wh = work / "duckdb", work / "spark"
    shutil.rmtree(work, ignore_errors=True)
    raw_dir, plan_dir = spark_wh / "raw", spark_wh / "run_plan"
    (spark_wh / "logs").mkdir(parents=True)
    os.environ.update(spark_env(spark_wh, raw_dir, plan_dir))
    rounds = [Round("full", args.end - timedelta(days=1)), Round("daily", args.end)]
    for r in rounds:
        say(f"-- round {r.name}: as_of_date {r.as_of}")
        job, job_s = run_duckdb_job(landing, duck, r.as_of)
        if job.returncode != 0:
            say(f"duckdb job FAILED ({job_s:.1f} s):\n{job.stdout[-4000:]}\n{job.stderr[-4000:]}")
            break
        plan = planner.read_current_plan(build_db(duck))
        say(f"duckdb job (load, plan, dbt build, publish): {job_s:.1f} s wall; {plan.describe()}")

        with Clock() as clock:
            rows = export_raw(build_db(duck), raw_dir)
            sets = export_plan(build_db(duck), plan_dir)
        say(
            f"raw -> parquet: {len(rows)} tables, {sum(rows.values()):,} rows; plan: "
            f"{', '.join(f'{k} {v}' for k, v in sets.items() if v) or 'empty'}; {clock}"
        )

        if r.name == "full":
            # everything, as a first build: seeds, models, data tests and unit tests
            dbt_args, env, what = ["build"], {}, "seeds, models, data tests, unit tests"
        else:
            from orchestration.defs.dbt import dbt_invocation

            manifest = json.loads((spark_wh / "target" / "manifest.json").read_text())
            dbt_args, env, unchanged = dbt_invocation(plan, manifest)
            what = f"as the job runs a {plan.mode} plan ({len(unchanged)} unchanged nodes left out)"
            if plan.mode != "incremental":
                say(
                    f"daily round FAILED: its plan is {plan.mode}, not incremental (the check would not "
                    "exercise the incremental models)"
                )
                break
        with Clock() as clock, stderr_to(spark_wh / "logs" / "spark.log"):
            result = dbt_spark(spark_wh, r.as_of, dbt_args, env)
        failures, skipped = failed_nodes(result)
        say(
            f"spark dbt {' '.join(dbt_args[:1] + dbt_args[1:3])} ({what}): {clock}, "
            + (
                "passed"
                if result.success
                else f"FAILED: {len(failures)} nodes failed, {skipped} skipped (log: {spark_wh / 'logs' / 'dbt.log'})"
            )
        )
        for line in failures:
            say(f"  {line}")

        tables = published_tables(serving_db(duck))
        with Clock() as clock:
            comparisons = compare_with_spark(serving_db(duck), tables)
        for c in comparisons:
            say(c.line())
            for sample in c.samples:
                say(f"         {sample}")
        r.tables, r.equal = len(comparisons), sum(c.equal for c in comparisons)
        r.ok = result.success and r.equal == r.tables and r.tables > 0
        say(
            f"round {r.name}: {r.equal} of {r.tables} published tables equal"
            f"{'' if result.success else ', spark build failed'} (compare {clock.wall_s:.1f} s)"
        )
    ok = all(r.ok for r in rounds)
    say(
        "spark-check: "
        + "; ".join(f"{r.name} {r.equal}/{r.tables} equal" for r in rounds)
        + f" (total {time.perf_counter() - total:.1f} s) -> {'OK' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
