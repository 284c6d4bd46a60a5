"""The benchmark: `python -m bench [--sessions N] [--days D] [--out DIR] [--skip-pandas] ...`

1. Generates the landing zone with the project's generator (cached in OUT/landing, default
   OUT = data/bench/<N>-<seed>-<D>d).
2. Measures, on the same data, each in its own subprocess (wall, CPU user+sys of the process
   tree, peak RSS of the tree):
   (a) the warehouse — the full Dagster job through the CLI (`run`: load -> dbt build -> publish),
       `dbt build --full-refresh` alone on a copy of the loaded raw tables, and an incremental
       daily run (history = every day but the last, loaded with a run for day D-1; then the run
       for day D is timed, its start-up separated using the Dagster event log; and a no-op run);
   (a'') with `--contenders ...,spark` (not by default): the same `dbt build --full-refresh` on
       local Spark (the `spark` target, docs/scaling.md), on the job's raw tables exported to
       Parquet (the export is not timed: on a cluster the load writes them); Spark's marts are
       read back from their Parquet files for the equality check;
   (b) bench/reference.sql, the hand-written DuckDB script (the engine's limit);
   (c) bench/pandas_marts.py, the same marts in pandas.
3. Checks that (a), (b) and (c) publish the same mart contents (bench/compare.py), prints a table
   with the ratios against the targets, and writes OUT/results.json (+ a timestamped copy).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench import compare as cmp
from bench.measure import Measurement, run_measured
from orchestration import config

PROJECT = config.PROJECT_DIR
PY = sys.executable
DBT = str(Path(PY).parent / "dbt")
DEFAULT_END = date(2025, 6, 30)
CONTENDERS = ("job", "dbt", "reference", "pandas", "incremental", "load", "spark")
# Targets (issue 13): a full `dbt build` <= 2x the reference at 10M; a daily run's work (start-up
# excluded) <= 10 % of a full `dbt build` at 10M and <= 50 % at 1M; the dbt step of a run with no new
# files <= 5 s. Issue 14: the loader <= 1.5x a hand-written one-script load; the whole job at 10M
# under 300 s. (Earlier issues: pandas >= 3x slower than dbt, peak memory <= 6 GB.)
TARGETS = {
    "dbt_full_over_reference": 2.0,
    "pandas_over_dbt_full": 3.0,
    "incremental_over_full": {1_000_000: 0.50, 10_000_000: 0.10},
    "noop_dbt_step_s": 5.0,
    "peak_memory_gb": 6.0,
    "load_over_load_reference": 1.5,
    "job_full_s_at_10M": 300,
}
REGISTRIES = (
    "operators",
    "teams",
    "sites",
    "charge_points",
    "plans",
    "subscriptions",
    "ratings",
    "invoices",
    "wallets",
    "fx_rates",
)


def incremental_target(sessions: int) -> float:
    """The daily-run target at this size (the 10M one above 10M, the 1M one below)."""
    targets = TARGETS["incremental_over_full"]
    return targets[10_000_000] if sessions >= 10_000_000 else targets[1_000_000]


# ------------------------------------------------------------------------------------------------
# landing zone (cached)
# ------------------------------------------------------------------------------------------------
def default_out(sessions: int, seed: int, days: int, end: date, gzip: bool = False) -> Path:
    name = (
        f"{sessions}-{seed}-{days}d" + ("" if end == DEFAULT_END else f"-{end.isoformat()}") + ("-gz" if gzip else "")
    )
    return PROJECT / "data" / "bench" / name


def ensure_landing(
    out: Path,
    sessions: int,
    seed: int,
    start: date,
    end: date,
    log,
    gzip: bool = False,
    history_days: int | None = None,
) -> tuple[Path, dict]:
    """The generated landing zone in out/landing, generated once (under a lock) and reused."""
    out.mkdir(parents=True, exist_ok=True)
    landing, marker = out / "landing", out / "landing.json"
    params = {"sessions": sessions, "seed": seed, "start": start.isoformat(), "end": end.isoformat()}
    if gzip:
        params["gzip"] = True
    if history_days is not None:
        params["history_days"] = history_days
    with open(out / ".landing.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and landing.is_dir():
            info = json.loads(marker.read_text())
            if all(info.get(k) == v for k, v in params.items()) and info.get("history_days") == history_days:
                log(f"landing zone: cached {landing}")
                return landing, info
            raise SystemExit(f"{landing} was generated with other parameters ({marker}); use another --out")
        tmp = out / "landing.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"landing zone: generating {sessions:,} sessions {start}..{end} (seed {seed}) into {landing}")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                PY,
                "-m",
                "orchestration",
                "generate",
                "--out",
                str(tmp),
                "--sessions",
                str(sessions),
                "--seed",
                str(seed),
                "--start",
                start.isoformat(),
                "--end",
                end.isoformat(),
            ]
            + (["--gzip"] if gzip else [])
            + (["--history-days", str(history_days)] if history_days is not None else []),
            cwd=PROJECT,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"generator failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        summary = json.loads(proc.stdout)
        tmp.rename(landing)
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        info = {
            **params,
            "generated_in_s": round(time.perf_counter() - t0, 1),
            "bytes": size,
            "charge_points": summary.get("charge_points"),
            "sites": summary.get("sites"),
            "rows": {k: v["rows"] for k, v in summary["sources"].items()},
        }
        marker.write_text(json.dumps(info, indent=2))
        return landing, info


# ------------------------------------------------------------------------------------------------
# machine and environment
# ------------------------------------------------------------------------------------------------
def machine_info() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    import duckdb
    import pandas

    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "warehouse_threads": os.environ.get("WAREHOUSE_THREADS", "2"),
        "warehouse_memory_limit": config.memory_limit(),
    }


def _cpu_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def child_env(**extra: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "WAREHOUSE_AS_OF",
            "WAREHOUSE_LANDING_DIR",
            "WAREHOUSE_DIR",
            "DAGSTER_HOME",
            "DBT_TARGET_PATH",
            "DBT_LOG_PATH",
        )
    }
    env["DBT_PROFILES_DIR"] = str(PROJECT / "profiles")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.end: date = args.end
        self.start: date = args.end - timedelta(days=args.days - 1)
        self.out: Path = (args.out or default_out(args.sessions, args.seed, args.days, args.end, args.gzip)).resolve()
        self.work = self.out / "work"
        self.logs = self.out / "logs"
        self.failures: list[str] = []
        # Spark only when asked for (a JVM and minutes of CPU at 1M)
        chosen = set(args.contenders.split(",")) if args.contenders else set(CONTENDERS) - {"spark"}
        if args.check_only:
            chosen &= {"job", "reference", "pandas"}
        if args.skip_pandas:
            chosen.discard("pandas")
        if args.skip_incremental:
            chosen.discard("incremental")
        unknown = chosen - set(CONTENDERS)
        if unknown:
            raise SystemExit(f"unknown contenders {sorted(unknown)}; choose from {CONTENDERS}")
        self.chosen = chosen
        self.results: dict = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "params": {
                "sessions": args.sessions,
                "days": args.days,
                "seed": args.seed,
                "start": self.start.isoformat(),
                "as_of": self.end.isoformat(),
            },
            "machine": machine_info(),
            "measurements": {},
            "equality": {},
            "dbt_profiles": {},
            "dagster": {},
            "notes": [],
        }

    def log(self, msg: str) -> None:
        if not self.args.quiet:
            print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def measure(self, key: str, label: str, cmd: list, **kw) -> Measurement:
        self.log(f"{label} ...")
        load0, busy0 = os.getloadavg()[0], _cpu_busy_s()
        m = run_measured(
            label,
            [str(c) for c in cmd],
            cwd=PROJECT,
            log_path=self.logs / f"{key}.log",
            max_rss_gb=self.args.max_rss_gb,
            **kw,
        )
        others = max(_cpu_busy_s() - busy0 - m.cpu_s, 0.0)
        m.extra.update(
            {
                "loadavg_1m_before": round(load0, 2),
                "loadavg_1m_after": round(os.getloadavg()[0], 2),
                "others_cpu_cores": round(others / m.wall_s, 2) if m.wall_s else None,
            }
        )
        self.log(
            f"  {label}: rc={m.returncode} wall {m.wall_s:.1f}s cpu {m.cpu_s:.1f}s "
            f"peak RSS {m.peak_rss_tree_mb / 1024:.2f} GB (others' load {m.extra['others_cpu_cores']} cores)"
        )
        d = m.as_dict()
        d.pop("log")
        self.results["measurements"][key] = d
        if m.returncode != 0:
            tail = "\n".join(m.log.splitlines()[-25:])
            self.failures.append(key)
            self.log(f"  {label} FAILED (rc={m.returncode}); log {self.logs / (key + '.log')}:\n{tail}")
            d["failed"] = True
        return m

    # -- contenders --------------------------------------------------------------------------------
    def cli_run(self, key: str, label: str, warehouse: Path, as_of: date) -> Measurement:
        m = self.measure(
            key,
            label,
            [
                PY,
                "-m",
                "orchestration",
                "run",
                "--landing",
                self.landing,
                "--warehouse",
                warehouse,
                "--as-of",
                as_of.isoformat(),
            ],
            env=child_env(),
        )
        from bench.profile import dagster_dbt_run_results, dagster_run_timings

        timings = dagster_run_timings(warehouse / "dagster_home")
        if timings.get("run_span_s") is not None:
            timings["startup_and_teardown_s"] = round(m.wall_s - timings["run_span_s"], 3)
            timings["work_s"] = round(
                timings["load_steps_s"] + timings["plan_step_s"] + timings["dbt_step_s"] + timings["publish_step_s"], 3
            )
        self.results["dagster"][key] = timings
        rr = dagster_dbt_run_results(warehouse, timings.get("run_id", "")) if timings else None
        if rr:
            self.results["dbt_profiles"][key] = self._profile(rr, key)
        return m

    def _profile(self, run_results: Path, key: str) -> dict:
        from bench.profile import dbt_profile

        shutil.copy(run_results, self.logs / f"{key}.run_results.json")
        return dbt_profile(run_results)

    def run_job(self) -> None:
        job = self.work / "job"
        shutil.rmtree(job, ignore_errors=True)
        self.cli_run("job_full", "(a) Dagster job, full run (CLI)", job, self.end)

    def make_raw_db(self) -> Path:
        """A database with only the loaded raw tables (from the full job's build database): the
        common starting point of `dbt build` alone and of the reference."""
        import duckdb

        raw = self.work / "loaded_raw.duckdb"
        raw.unlink(missing_ok=True)
        con = duckdb.connect(str(raw))
        try:
            job_db = str(self.work / "job" / "build.duckdb").replace("'", "''")  # ATTACH takes no parameters
            con.execute(f"ATTACH '{job_db}' AS job (READ_ONLY)")
            con.execute("CREATE SCHEMA raw")
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'job' AND schema_name = 'raw' ORDER BY 1"
            ).fetchall():
                name = t.replace('"', '""')  # (a table name from the catalog)
                con.execute(f'CREATE TABLE raw."{name}" AS SELECT * FROM job.raw."{name}"')
            con.execute("DETACH job")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        return raw

    def run_dbt_full(self, raw: Path) -> None:
        wh = self.work / "dbt"
        shutil.rmtree(wh, ignore_errors=True)
        wh.mkdir(parents=True)
        shutil.copy(raw, wh / "build.duckdb")
        target = self.out / "dbt-target"
        common = [
            "--project-dir",
            PROJECT,
            "--profiles-dir",
            PROJECT / "profiles",
            "--target-path",
            target,
            "--log-path",
            self.logs / "dbt",
        ]
        env = child_env(WAREHOUSE_DIR=str(wh))
        subprocess.run(
            [DBT, "parse", "--quiet", *[str(c) for c in common]], cwd=PROJECT, env=env, capture_output=True
        )  # warm partial parsing, as a scheduled dbt would have
        vars_ = json.dumps({"as_of_date": self.end.isoformat()})
        self.measure(
            "dbt_full",
            "(a) dbt build --full-refresh",
            [DBT, "build", "--full-refresh", "--exclude-resource-type", "unit_test", "--vars", vars_, *common],
            env=env,
        )
        self.results["dbt_profiles"]["dbt_full"] = self._profile(target / "run_results.json", "dbt_full")
        if not self.args.skip_sql_only:
            # the same compiled SQL without dbt: the engine's work on the project's SQL
            wh2 = self.work / "sqlonly"
            shutil.rmtree(wh2, ignore_errors=True)
            wh2.mkdir(parents=True)
            shutil.copy(raw, wh2 / "build.duckdb")
            m = self.measure(
                "sql_only",
                "(a) the dbt project's compiled SQL without dbt (models + tests)",
                [PY, "-m", "bench.sql_only", "--db", wh2 / "build.duckdb", "--target", target, "--tests", "--profile"],
                env=child_env(),
            )
            last = m.log.strip().splitlines()[-1] if m.log.strip() else "{}"
            try:
                self.results["measurements"]["sql_only"]["extra"].update(json.loads(last))
            except ValueError:
                pass
            shutil.rmtree(wh2, ignore_errors=True)

    def run_spark(self) -> None:
        from orchestration.spark.export import export_plan, export_raw

        wh = self.work / "spark"
        shutil.rmtree(wh, ignore_errors=True)
        job_db = self.work / "job" / "build.duckdb"
        t0 = time.perf_counter()
        export_raw(job_db, wh / "raw")
        export_plan(job_db, wh / "run_plan")
        self.results["notes"].append(
            f"spark: raw tables exported to Parquet in {time.perf_counter() - t0:.1f} s (not part of spark_full)"
        )
        target = self.out / "spark-target"
        # in-memory catalog: nothing reads the catalog afterwards (the marts are read from their
        # files); Spark's other settings are the `spark` target's defaults
        env = child_env(
            WAREHOUSE_DIR=str(wh),
            WAREHOUSE_SPARK_RAW_DIR=str(wh / "raw"),
            WAREHOUSE_SPARK_PLAN_DIR=str(wh / "run_plan"),
            WAREHOUSE_SPARK_CATALOG=os.environ.get("WAREHOUSE_SPARK_CATALOG", "in-memory"),
            SPARK_LOCAL_IP=os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        )
        # through bench.spark_dbt: it waits for Spark's JVM, whose CPU would otherwise be missed
        self.measure(
            "spark_full",
            "(a'') dbt build --full-refresh on local Spark",
            [
                PY,
                "-m",
                "bench.spark_dbt",
                "build",
                "--full-refresh",
                "--exclude-resource-type",
                "unit_test",
                "--target",
                "spark",
                "--vars",
                json.dumps({"as_of_date": self.end.isoformat()}),
                "--project-dir",
                PROJECT,
                "--profiles-dir",
                PROJECT / "profiles",
                "--target-path",
                target,
                "--log-path",
                self.logs / "spark",
            ],
            env=env,
        )
        if (target / "run_results.json").exists():
            self.results["dbt_profiles"]["spark_full"] = self._profile(target / "run_results.json", "spark_full")
        if "spark_full" not in self.failures:
            self.spark_marts_db(wh)

    def spark_marts_db(self, wh: Path) -> Path:
        """The marts Spark wrote (Parquet under its warehouse dir, date partitions as directories)
        copied into OUT/work/spark/spark_marts.duckdb, the form the equality check reads."""
        import duckdb

        db = wh / "spark_marts.duckdb"  # a file named marts.duckdb would clash with its schema
        db.unlink(missing_ok=True)
        con = duckdb.connect(str(db))
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("CREATE SCHEMA marts")
            for mart in cmp.MARTS:
                files = str(wh / "spark" / "warehouse" / "marts.db" / mart / "**" / "*.parquet")
                con.execute(
                    f'CREATE TABLE marts."{mart}" AS SELECT * FROM read_parquet(?, hive_partitioning = true)', [files]
                )
        finally:
            con.close()
        return db

    def run_reference(self, raw: Path) -> None:
        wh = self.work / "ref"
        shutil.rmtree(wh, ignore_errors=True)
        wh.mkdir(parents=True)
        shutil.copy(raw, wh / "ref.duckdb")
        self.measure(
            "reference",
            "(b) reference.sql",
            [PY, "-m", "bench.run_reference", "--db", wh / "ref.duckdb", "--as-of", self.end.isoformat(), "--profile"],
            env=child_env(),
        )

    def run_pandas(self, raw: Path) -> None:
        self.measure(
            "pandas",
            "(c) pandas",
            [
                PY,
                "-m",
                "bench.pandas_marts",
                "--raw",
                raw,
                "--out",
                self.work / "pandas.duckdb",
                "--as-of",
                self.end.isoformat(),
            ],
            env=child_env(),
        )

    def run_load(self) -> None:
        """The loader alone on the four big sources (sessions, ledger, CDRs, OCPP), against the
        hand-written one-script load (bench/load_reference.sql) of the same files, both starting
        from a database with the registries loaded; then the two loads are compared."""
        base = self.work / "load_base.duckdb"
        base.unlink(missing_ok=True)
        prep = subprocess.run(
            [
                PY,
                "-m",
                "bench.load_run",
                "--db",
                str(base),
                "--landing",
                str(self.landing),
                "--sources",
                ",".join(REGISTRIES),
            ],
            cwd=PROJECT,
            env=child_env(),
            capture_output=True,
            text=True,
        )
        if prep.returncode != 0:
            raise SystemExit(f"loading the registries failed:\n{prep.stderr[-3000:]}")
        loader_db, ref_db = self.work / "load_loader" / "build.duckdb", self.work / "load_ref" / "build.duckdb"
        for db in (loader_db, ref_db):
            shutil.rmtree(db.parent, ignore_errors=True)
            db.parent.mkdir(parents=True)
            shutil.copy(base, db)
        m = self.measure(
            "load",
            "(a) the loader: sessions, ledger, CDRs, OCPP",
            [PY, "-m", "bench.load_run", "--db", loader_db, "--landing", self.landing],
            env=child_env(),
        )
        last = m.log.strip().splitlines()[-1] if m.log.strip() else "{}"
        try:
            self.results["measurements"]["load"]["extra"]["sources"] = json.loads(last)
        except ValueError:
            pass
        if self.args.gzip:
            self.results["notes"].append("load reference not run: it reads plain files (the landing zone is gzip)")
            return
        self.measure(
            "load_reference",
            "(b') load_reference.sql: the same load, one hand-written script",
            [PY, "-m", "bench.run_load_reference", "--db", ref_db, "--landing", self.landing, "--profile"],
            env=child_env(),
        )
        if "load" in self.failures or "load_reference" in self.failures:
            return
        from bench.compare_load import compare

        res = compare(loader_db, ref_db)
        self.results["equality"]["load vs load reference"] = res
        bad = [k for k, v in res.items() if not v["equal"]]
        self.log(
            "equality load vs load reference: "
            + ("raw, quarantine and audit rows equal" if not bad else f"DIFFER: {', '.join(bad)}")
        )
        for k in bad:
            self.log(
                f"  {k}: {res[k]['only_left']} only in the loader's, {res[k]['only_right']} only in the reference's; "
                f"{res[k]['examples'][:2]}"
            )

    def run_incremental(self) -> None:
        inc = self.work / "inc"
        shutil.rmtree(inc, ignore_errors=True)
        prev = self.end - timedelta(days=1)
        self.cli_run("inc_history", f"(a) incremental: history run for {prev} (not a target)", inc, prev)
        self.cli_run("inc_daily", f"(a) incremental: daily run for {self.end}", inc, self.end)
        if not self.args.skip_noop:
            self.cli_run("inc_noop", f"(a) incremental: no-op re-run for {self.end} (no new files)", inc, self.end)

    # -- checks and report -------------------------------------------------------------------------
    def check(self) -> bool:
        ref = self.work / "ref" / "ref.duckdb"
        sides = {
            "job_full": self.work / "job" / "serving.duckdb",
            "dbt_full": self.work / "dbt" / "build.duckdb",
            "spark_full": self.work / "spark" / "spark_marts.duckdb",
            "pandas": self.work / "pandas.duckdb",
            "inc_daily": self.work / "inc" / "serving.duckdb",
        }
        ok = True
        for name, db in sides.items():
            if not db.exists() or name not in self.results["measurements"] and name != "job_full":
                continue
            if name in self.failures:
                self.results["equality"][f"{name} vs reference"] = {"failed": True}
                ok = False
                continue
            diffs = cmp.compare(db, ref)
            self.results["equality"][f"{name} vs reference"] = {
                d.mart: {"equal": d.equal, "rows": d.rows_left, "summary": d.summary(), "examples": d.examples}
                for d in diffs
            }
            bad = [d for d in diffs if not d.equal]
            ok &= not bad
            self.log(
                f"equality {name} vs reference: " + ("all 14 marts equal" if not bad else f"{len(bad)} marts DIFFER")
            )
            for d in bad:
                self.log("  " + d.summary())
                for ex in d.examples[:3]:
                    self.log("    " + ex)
        return ok

    def ratios(self) -> dict:
        m = {k: v for k, v in self.results["measurements"].items() if not v.get("failed")}
        dg = self.results["dagster"]
        r: dict = {}
        if "load" in m and "load_reference" in m:
            r["load_over_load_reference"] = round(m["load"]["wall_s"] / m["load_reference"]["wall_s"], 2)
            r["cpu_load_over_load_reference"] = round(m["load"]["cpu_s"] / m["load_reference"]["cpu_s"], 2)
        if "job_full" in m:
            r["job_full_s"] = m["job_full"]["wall_s"]
        if "dbt_full" in m and "reference" in m:
            r["dbt_full_over_reference"] = round(m["dbt_full"]["wall_s"] / m["reference"]["wall_s"], 2)
            prof = self.results["dbt_profiles"].get("dbt_full", {})
            if prof.get("models_s"):
                r["dbt_models_only_over_reference"] = round(prof["models_s"] / m["reference"]["wall_s"], 2)
        if "spark_full" in m and "dbt_full" in m:
            r["spark_full_over_dbt_full"] = round(m["spark_full"]["wall_s"] / m["dbt_full"]["wall_s"], 2)
            r["cpu_spark_full_over_dbt_full"] = round(m["spark_full"]["cpu_s"] / m["dbt_full"]["cpu_s"], 2)
        if "sql_only" in m and "reference" in m:
            r["sql_only_over_reference"] = round(m["sql_only"]["wall_s"] / m["reference"]["wall_s"], 2)
        if "sql_only" in m and "dbt_full" in m:
            r["dbt_full_over_sql_only"] = round(m["dbt_full"]["wall_s"] / m["sql_only"]["wall_s"], 2)
        if "pandas" in m and "dbt_full" in m:
            r["pandas_over_dbt_full"] = round(m["pandas"]["wall_s"] / m["dbt_full"]["wall_s"], 2)
        if "pandas" in m and "job_full" in m:
            r["pandas_over_job_full"] = round(m["pandas"]["wall_s"] / m["job_full"]["wall_s"], 2)
        if "inc_daily" in dg and "dbt_full" in m and dg["inc_daily"].get("work_s") is not None:
            r["incremental_work_over_dbt_full"] = round(dg["inc_daily"]["work_s"] / m["dbt_full"]["wall_s"], 3)
            r["incremental_dbt_step_over_dbt_full"] = round(dg["inc_daily"]["dbt_step_s"] / m["dbt_full"]["wall_s"], 3)
            r["incremental_target"] = incremental_target(self.args.sessions)
        if "inc_noop" in dg and dg["inc_noop"].get("dbt_step_s") is not None:
            r["noop_dbt_step_s"] = dg["inc_noop"]["dbt_step_s"]
        # CPU-time ratios: less sensitive to other load on a shared machine than wall time
        for a, b, name in (
            ("dbt_full", "reference", "cpu_dbt_full_over_reference"),
            ("sql_only", "reference", "cpu_sql_only_over_reference"),
            ("pandas", "dbt_full", "cpu_pandas_over_dbt_full"),
        ):
            if a in m and b in m and m[b]["cpu_s"]:
                r[name] = round(m[a]["cpu_s"] / m[b]["cpu_s"], 2)
        peaks = [
            max(v["peak_rss_tree_mb"], v["max_rss_single_mb"])
            for k, v in m.items()
            if k.startswith(("job", "dbt", "inc"))
        ]
        if peaks:
            r["peak_memory_gb_warehouse"] = round(max(peaks) / 1024, 2)
        return r

    def report(self) -> str:
        m, dg, prof = self.results["measurements"], self.results["dagster"], self.results["dbt_profiles"]
        p = self.results["params"]
        lines = [
            f"\nbenchmark: {p['sessions']:,} sessions, {p['days']} days {p['start']}..{p['as_of']}, seed {p['seed']} — "
            f"{self.results['machine']['nproc']} cores, {self.results['machine']['memory_gb']} GB, "
            f"{self.results['machine']['cpu_model']}",
            f"{'contender':<52}{'wall s':>9}{'cpu s':>9}{'peak RSS tree':>15}{'max RSS 1 proc':>16}{'others':>8}",
        ]
        rows = [
            ("job_full", "(a) Dagster job, full (CLI: load+dbt+publish)"),
            ("dbt_full", "(a) dbt build --full-refresh"),
            ("sql_only", "(a') its compiled SQL without dbt"),
            ("spark_full", "(a'') dbt build --full-refresh on local Spark"),
            ("inc_history", "(a) incremental: history run (day D-1)"),
            ("inc_daily", "(a) incremental: daily run (day D)"),
            ("inc_noop", "(a) incremental: no-op re-run (day D)"),
            ("reference", "(b) reference.sql"),
            ("pandas", "(c) pandas"),
            ("load", "(a) loader: sessions, ledger, CDRs, OCPP"),
            ("load_reference", "(b') load_reference.sql, same load"),
        ]
        for key, label in rows:
            if key not in m:
                continue
            x = m[key]
            lines.append(
                f"{label:<52}{x['wall_s']:>9.1f}{x['cpu_s']:>9.1f}{x['peak_rss_tree_mb'] / 1024:>12.2f} GB"
                f"{x['max_rss_single_mb'] / 1024:>13.2f} GB{x['extra'].get('others_cpu_cores') or 0:>7.2f}c"
            )
            if key in dg and dg[key]:
                t = dg[key]
                lines.append(
                    f"{'':<6}start-up+teardown {t.get('startup_and_teardown_s', 0):.1f}s, load steps "
                    f"{t['load_steps_s']:.1f}s, plan {t.get('plan_step_s', 0):.1f}s, dbt step "
                    f"{t['dbt_step_s']:.1f}s, publish {t['publish_step_s']:.1f}s"
                )
            if key == "sql_only" and "models_s" in x["extra"]:
                lines.append(
                    f"{'':<6}models {x['extra']['models_s']:.1f}s, tests {x['extra']['tests_s']:.1f}s "
                    f"(one DuckDB process, no dbt)"
                )
            if key in prof and prof[key]:
                pr = prof[key]
                lines.append(
                    f"{'':<6}dbt: {pr['nodes']} nodes, elapsed {pr['elapsed_s']:.1f}s (models {pr['models_s']:.1f}s, "
                    f"tests {pr['tests_s']:.1f}s)"
                )
        r = self.results["ratios"]
        lines.append("\nratios (target)")
        if "load_over_load_reference" in r:
            lines.append(
                f"  (a) loader / (b') hand-written load          {r['load_over_load_reference']:>8.2f}x  (<= 1.5)"
                f"   [CPU {r['cpu_load_over_load_reference']:.2f}x]"
            )
        if "job_full_s" in r:
            lines.append(f"  (a) the whole job, full run                 {r['job_full_s']:>8.1f} s  (< 300 s at 10M)")
        if "dbt_full_over_reference" in r:
            lines.append(
                f"  (a) dbt build full / (b) reference          {r['dbt_full_over_reference']:>8.2f}x  (<= 2)"
                + (
                    f"   [models only: {r['dbt_models_only_over_reference']:.2f}x]"
                    if "dbt_models_only_over_reference" in r
                    else ""
                )
            )
        if "sql_only_over_reference" in r:
            lines.append(
                f"  (a') project SQL without dbt / (b) reference {r['sql_only_over_reference']:>7.2f}x   "
                f"[dbt build / its SQL without dbt: {r.get('dbt_full_over_sql_only', 0):.2f}x]"
            )
        if "spark_full_over_dbt_full" in r:
            lines.append(
                f"  (a'') dbt build on local Spark / on DuckDB  {r['spark_full_over_dbt_full']:>8.2f}x"
                f"   [CPU {r['cpu_spark_full_over_dbt_full']:.2f}x]"
            )
        if "pandas_over_dbt_full" in r:
            lines.append(f"  (c) pandas / (a) dbt build full             {r['pandas_over_dbt_full']:>8.2f}x  (>= 3)")
        cpu = {k[4:]: v for k, v in r.items() if k.startswith("cpu_")}
        if cpu:
            lines.append("  same ratios in CPU time (user+sys): " + ", ".join(f"{k} {v:.2f}x" for k, v in cpu.items()))
        if "incremental_work_over_dbt_full" in r:
            lines.append(
                f"  incremental daily run (excl. start-up) / dbt build full {r['incremental_work_over_dbt_full']:>7.1%}  "
                f"(<= {r['incremental_target']:.0%})   [its dbt step alone: {r['incremental_dbt_step_over_dbt_full']:.1%}]"
            )
        if "noop_dbt_step_s" in r:
            lines.append(f"  run without new files: dbt step              {r['noop_dbt_step_s']:>8.1f} s  (<= 5 s)")
        if "peak_memory_gb_warehouse" in r:
            lines.append(
                f"  peak memory of the warehouse runs           {r['peak_memory_gb_warehouse']:>8.2f} GB (<= 6 GB)"
            )
        slow = prof.get("dbt_full", {}).get("slowest_models", [])
        if slow:
            lines.append(
                "\nslowest models in dbt build --full-refresh: " + ", ".join(f"{n} {t:.1f}s" for n, t in slow[:8])
            )
        eq = self.results["equality"]
        if eq:
            lines.append("\nequality of the 14 marts (DESIGN-listed columns; DOUBLE 1e-6 relative, DECIMAL exact):")
            for pair, marts in eq.items():
                if pair == "load vs load reference":
                    bad = [k for k, v in marts.items() if not v["equal"]]
                    lines.append(
                        f"  {pair:<28} "
                        + ("raw, quarantine and audit rows equal" if not bad else "DIFFERENT: " + ", ".join(bad))
                    )
                    continue
                if marts.get("failed"):
                    lines.append(f"  {pair:<28} (run failed)")
                    continue
                bad = [k for k, v in marts.items() if not v["equal"]]
                lines.append(f"  {pair:<28} " + ("equal" if not bad else "DIFFERENT: " + ", ".join(bad)))
        return "\n".join(lines)

    def run(self) -> int:
        a = self.args
        self.logs.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        self.landing, info = ensure_landing(self.out, a.sessions, a.seed, self.start, self.end, self.log, a.gzip)
        self.results["landing"] = info
        if "load" in self.chosen:
            self.run_load()
            if self.chosen == {"load"}:
                return self.finish(
                    ok=not self.failures
                    and all(v["equal"] for v in self.results["equality"].get("load vs load reference", {}).values())
                )
        job_db = self.work / "job" / "build.duckdb"
        if "job" in self.chosen or not job_db.exists():
            self.run_job()
        else:
            self.results["notes"].append("full Dagster job not re-run: marts and raw tables of an earlier run")
        if "job_full" in self.failures:
            raise SystemExit("the full job failed: nothing to compare against")
        raw = self.make_raw_db()
        if "dbt" in self.chosen:
            self.run_dbt_full(raw)
        if "spark" in self.chosen:
            self.run_spark()
        self.run_reference(raw)  # always: the pivot of the equality check
        if "pandas" in self.chosen:
            self.run_pandas(raw)
        if "incremental" in self.chosen:
            self.run_incremental()
        ok = (
            self.check()
            and not self.failures
            and all(v["equal"] for v in self.results["equality"].get("load vs load reference", {}).values())
        )
        return self.finish(ok)

    def finish(self, ok: bool) -> int:
        a = self.args
        self.results["ratios"] = self.ratios()
        self.results["all_equal"] = ok
        self.results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        text = json.dumps(self.results, indent=2, default=str)
        (self.out / "results.json").write_text(text)
        stamp = self.results["started_at"].replace(":", "").replace("+0000", "Z")
        (self.out / f"results-{stamp}.json").write_text(text)
        print(self.report(), flush=True)
        if self.failures:
            print(f"\nFAILED: {', '.join(self.failures)} (logs in {self.logs})", flush=True)
        print(f"\nfigures: {self.out / 'results.json'}", flush=True)
        if not a.keep:
            for name in (
                "dbt",
                "ref",
                "inc",
                "spark",
                "loaded_raw.duckdb",
                "pandas.duckdb",
                "load_base.duckdb",
                "load_loader",
                "load_ref",
            ):
                p = self.work / name
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sessions", type=int, default=1_000_000, help="sessions to generate (default 1,000,000)")
    ap.add_argument("--days", type=int, default=365, help="days of data ending at --end (default 365)")
    ap.add_argument(
        "--end",
        type=date.fromisoformat,
        default=DEFAULT_END,
        help=f"last day = the runs' as_of_date (default {DEFAULT_END})",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, help="cache and results directory (default data/bench/<N>-<seed>-<D>d)")
    ap.add_argument("--skip-pandas", action="store_true", help="do not run (c) (needed at 100M sessions)")
    ap.add_argument("--gzip", action="store_true", help="generate the landing zone gzip-compressed (100M sessions)")
    ap.add_argument("--skip-incremental", action="store_true", help="do not run the incremental daily run")
    ap.add_argument("--skip-noop", action="store_true", help="do not run the no-op re-run after the daily run")
    ap.add_argument(
        "--skip-sql-only",
        action="store_true",
        help="do not run the dbt project's compiled SQL without dbt (after the dbt build)",
    )
    ap.add_argument(
        "--check-only",
        action="store_true",
        help="only the full job, (b) and (c) and the equality check (no dbt-alone, no incremental)",
    )
    ap.add_argument(
        "--contenders",
        help=f"comma-separated subset of {','.join(CONTENDERS)} (default all but spark; the "
        "reference always runs; without 'job' the full job's warehouse of an earlier run is reused)",
    )
    ap.add_argument(
        "--max-rss-gb",
        type=float,
        help="kill a contender whose process tree grows past this RSS (protects a shared machine)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work databases (default: delete all but the job's)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.days < 2:
        ap.error("--days must be at least 2 (the incremental run needs a history)")
    return Bench(args).run()
