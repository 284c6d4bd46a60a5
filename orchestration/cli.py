"""Command line: `python -m orchestration <command>`.

Exit codes (run, backfill, load; README "Exit codes"): 0 published / loaded, 1 not published (a
gate or a step failed), 2 bad arguments, 3 the warehouse is busy (--no-wait) or build.duckdb is
held open by another program, 4 storage (disk full, read-only, permissions, missing or blocked
path), 130 interrupted.

    run        run the whole Dagster job (load → dbt build → publish) on a landing zone
    backfill   run it for a range of daily partitions
    load       load the landing zone into the raw layer and run its gates (no dbt, no publish)
    dev        the Dagster UI (dagster dev), runs queued per warehouse
    generate   write a realistic demo landing zone
    import     turn a session export from another platform into a landing zone
    docs       build dbt docs and Great Expectations Data Docs
    export     write the published marts to Parquet files (for tools that read files)
    plan       plan what a following `dbt build` rebuilds (for analysts running dbt by hand)
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from orchestration import config, report
from orchestration.failures import EXIT_BUSY, EXIT_INTERRUPTED, EXIT_USAGE, causes, probe_writable, storage_failure
from orchestration.instance import ensure_dagster_home
from orchestration.lock import WarehouseBusy, hold_warehouse
from orchestration.progress import RunConsole, new_log_path

DBT_INPUTS = ("models", "macros", "seeds", "snapshots", "tests/dbt", "dbt_project.yml", "profiles")


def _latest_mtime(root: Path) -> float:
    latest = 0.0
    for name in DBT_INPUTS:
        p = root / name
        if p.is_file():
            latest = max(latest, p.stat().st_mtime)
        elif p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    latest = max(latest, f.stat().st_mtime)
    return latest


def ensure_dbt_manifest() -> Path:
    """`dbt parse` when target/manifest.json is missing or older than the dbt project (the Dagster
    code location loads the manifest at import time). Serialised with a file lock."""
    project = config.dbt_project_dir()
    target = project / "target"
    target.mkdir(exist_ok=True)
    manifest = target / "manifest.json"
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime >= _latest_mtime(project):
            return manifest
        dbt = Path(sys.executable).parent / "dbt"
        env = {k: v for k, v in os.environ.items() if k not in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
        proc = subprocess.run(
            [
                str(dbt),
                "parse",
                "--quiet",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(config.PROFILES_DIR),
                "--target-path",
                str(target),
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
    return manifest


def _print(msg: str = "") -> None:
    print(msg, flush=True)


def _dirs(args: argparse.Namespace) -> tuple[Path, Path]:
    landing = Path(args.landing).resolve() if getattr(args, "landing", None) else config.landing_dir()
    warehouse = Path(args.warehouse).resolve() if getattr(args, "warehouse", None) else config.warehouse_dir()
    return landing, warehouse


def _prepare_instance(landing: Path, warehouse: Path) -> Path:
    """The warehouse and DAGSTER_HOME exist and can be written (else a one-line StorageFailure),
    dagster.yaml queues runs per warehouse; the environment names them for Dagster and dbt."""
    probe_writable(warehouse)
    home = config.dagster_home(warehouse)
    probe_writable(home)
    ensure_dagster_home(home)
    os.environ.update(
        {"WAREHOUSE_LANDING_DIR": str(landing), "WAREHOUSE_DIR": str(warehouse), "DAGSTER_HOME": str(home)}
    )
    return home


def cmd_run(args: argparse.Namespace) -> int:
    """`run`, `backfill` and `load`: one run of the job (or the load-only job) on the warehouse,
    holding it for the run's whole duration (one writer per warehouse)."""
    kind = args.command
    landing, warehouse = _dirs(args)
    try:
        as_of = config.as_of_date(args.as_of)
    except ValueError:
        _print(f"error: --as-of must be a date YYYY-MM-DD, got {args.as_of!r}")
        return EXIT_USAGE
    days = (as_of, as_of)  # the daily partition of the logical date
    if getattr(args, "start", None):
        try:
            days = (date.fromisoformat(args.start), date.fromisoformat(args.end))
        except ValueError as e:
            _print(f"error: {e}")
            return EXIT_USAGE
        if days[0] > days[1]:
            _print(f"error: --start {days[0]} is after --end {days[1]}")
            return EXIT_USAGE
    if not landing.is_dir():
        _print(f"error: landing directory {landing} does not exist (--landing, or WAREHOUSE_LANDING_DIR)")
        return EXIT_USAGE
    _prepare_instance(landing, warehouse)
    os.environ["WAREHOUSE_AS_OF"] = days[1].isoformat()
    what = f"{days[0]}..{days[1]}" if days[0] != days[1] else f"as of {days[1]}"
    _print(f"warehouse {kind} {what}: landing {landing}, warehouse {warehouse}")
    t0 = time.perf_counter()
    run_id = str(uuid.uuid4())
    started_by = f"python -m orchestration {kind}"
    with hold_warehouse(
        warehouse,
        run_id=run_id,
        started_by=started_by,
        as_of=days[1].isoformat(),
        wait=not args.no_wait,
        on_wait=lambda line: _print(f"  {line}"),
    ) as holder:
        if holder.get("waited_s", 0) >= 1:
            _print(f"  the warehouse is free after {holder['waited_s']:.0f} s; starting")
        console = RunConsole(sys.stdout, new_log_path(warehouse, run_id))
        try:
            return _run_held(console, kind, landing, warehouse, days, run_id, started_by, t0)
        finally:
            console.close()


def _run_held(
    console: RunConsole,
    kind: str,
    landing: Path,
    warehouse: Path,
    days: tuple[date, date],
    run_id: str,
    started_by: str,
    t0: float,
) -> int:
    console.say(f"  run {run_id[:8]}; its full log: {console.log_path}")
    console.say("  starting: dbt manifest, Dagster definitions ...")
    ensure_dbt_manifest()
    from orchestration.defs.partitions import daily  # imports Dagster and the code location

    first = daily.get_first_partition_key()
    if days[0].isoformat() < first:
        console.say(
            f"error: {days[0]} is before the first daily partition {first} (the earliest date in the "
            f"landing zone's file names; set WAREHOUSE_PARTITIONS_START for earlier days)"
        )
        return EXIT_USAGE
    from orchestration.defs import JOB_NAME, LOAD_JOB_NAME
    from orchestration.run import dbt_node_count, run_job

    job = LOAD_JOB_NAME if kind == "load" else JOB_NAME
    console.dbt_nodes = dbt_node_count() if job == JOB_NAME else 0
    console.say(f"  started Dagster in {time.perf_counter() - t0:.1f} s; running {job}")
    with console.capture():
        outcome = run_job(
            landing=landing,
            warehouse=warehouse,
            as_of=days[1],
            days=days,
            run_id=run_id,
            job_name=job,
            logger=console.dagster_logger(),
            tags={"warehouse/started_by": started_by},
        )
    console.log("published tables:")
    for line in outcome.table_lines():
        console.log(line)
    for line in outcome.report_lines(landing, console.log_path, seconds=time.perf_counter() - t0):
        console.say(line)
    return outcome.exit_code


def cmd_dev(args: argparse.Namespace) -> int:
    """`dagster dev` on this code location, with DAGSTER_HOME set up so that runs queue per warehouse."""
    landing, warehouse = _dirs(args)
    home = _prepare_instance(landing, warehouse)
    ensure_dbt_manifest()
    dagster = str(Path(sys.executable).parent / "dagster")
    _print(
        f"dagster dev: landing {landing}, warehouse {warehouse}, DAGSTER_HOME {home}; http://{args.host}:{args.port}"
    )
    os.execve(dagster, [dagster, "dev", "-m", "orchestration.defs", "-h", args.host, "-p", str(args.port)], os.environ)
    return 0  # not reached


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.generate import generate

    summary = generate(
        Path(args.out),
        seed=args.seed,
        sessions=args.sessions,
        start=date.fromisoformat(args.start) if args.start else None,
        end=date.fromisoformat(args.end) if args.end else None,
        progress=True,
        overwrite=args.overwrite,
        gzip=args.gzip,
        history_days=args.history_days,
    )
    # Marks the landing zone as generated demo data: a run's summary then says why its warnings
    # (the planted bad records) are expected. The loader reads only the source folders.
    (Path(args.out) / report.DEMO_MARKER).write_text(json.dumps(summary, indent=1, default=str))
    _print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from orchestration.importer import ExportError, MappingError, import_export

    try:
        summary = import_export(args.mapping, args.input, args.out, overwrite=args.overwrite)
    except (MappingError, ExportError) as e:
        _print(f"error: {e}")
        return 1
    _print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse).resolve() if args.warehouse else config.warehouse_dir()
    os.environ["WAREHOUSE_DIR"] = str(warehouse)
    from orchestration.docs import build_docs

    for page in build_docs(warehouse):
        _print(f"wrote {page}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse).resolve() if args.warehouse else config.warehouse_dir()
    from orchestration.export import export_parquet

    try:
        written = export_parquet(config.serving_db(warehouse), Path(args.out))
    except FileNotFoundError as e:
        _print(f"error: {e}")
        return 1
    for table, path in written.items():
        _print(f"wrote {path} ({table})")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse).resolve() if args.warehouse else config.warehouse_dir()
    try:
        as_of = config.as_of_date(args.as_of)
        rebuild = (date.fromisoformat(args.rebuild[0]), date.fromisoformat(args.rebuild[1])) if args.rebuild else None
    except ValueError as e:
        _print(f"error: {e}")
        return 2
    if not config.build_db(warehouse).exists():
        _print(f"error: no build database in {warehouse}: load it first (python -m orchestration run)")
        return 2
    from orchestration.plan import plan_build

    plan = plan_build(
        config.build_db(warehouse),
        as_of=as_of,
        manifest=ensure_dbt_manifest(),
        full_refresh=args.full_refresh,
        rebuild=rebuild,
    )
    _print(plan.describe())
    if plan.mode == "none":
        _print("nothing to build")
    else:
        _print(
            f"then: WAREHOUSE_DIR={warehouse} dbt build --vars '{{as_of_date: {as_of}}}'"
            + (" --full-refresh" if plan.mode == "full" else "")
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def where(cmd: argparse.ArgumentParser, as_of: str | None = None, no_wait: bool = True) -> None:
        cmd.add_argument("--landing", help="landing zone (default $WAREHOUSE_LANDING_DIR or data/landing)")
        cmd.add_argument("--warehouse", help="warehouse dir (default $WAREHOUSE_DIR or warehouse)")
        if as_of:
            cmd.add_argument("--as-of", dest="as_of", help=as_of)
        if no_wait:
            cmd.add_argument(
                "--no-wait",
                action="store_true",
                help="exit at once (code 3) if another run holds the warehouse, instead of waiting",
            )

    run = sub.add_parser("run", help="run the whole job: load, build, test, publish")
    where(run, as_of="logical date YYYY-MM-DD (default $WAREHOUSE_AS_OF or today UTC)")
    run.set_defaults(func=cmd_run)

    backfill = sub.add_parser("backfill", help="rebuild the daily partitions --start..--end, as one run")
    where(backfill)
    backfill.add_argument("--start", required=True, help="first day YYYY-MM-DD")
    backfill.add_argument("--end", required=True, help="last day YYYY-MM-DD (also the as-of date)")
    backfill.set_defaults(func=cmd_run, as_of=None)

    load = sub.add_parser(
        "load",
        help="load new landing files into the raw layer and run its gates "
        "(refused files, expectations, freshness): no dbt, nothing published",
    )
    where(load, as_of="load event files dated up to this day (default $WAREHOUSE_AS_OF or today UTC)")
    load.set_defaults(func=cmd_run)

    dev = sub.add_parser("dev", help="the Dagster UI (dagster dev) on this warehouse; its runs queue per warehouse")
    where(dev, no_wait=False)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    gen = sub.add_parser("generate", help="write a realistic demo landing zone")
    gen.add_argument("--out", required=True, help="landing directory to write")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--sessions", type=int, default=50_000)
    gen.add_argument("--start", help="first day YYYY-MM-DD (default end - 364 days)")
    gen.add_argument("--end", help="last day YYYY-MM-DD (default today UTC)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing generated landing zone")
    gen.add_argument("--gzip", action="store_true", help="write every landing file gzip-compressed (<name>.gz)")
    gen.add_argument(
        "--history-days",
        type=int,
        default=1100,
        help="charge points in service at the start were commissioned up to this many days before it (default 1100)",
    )
    gen.set_defaults(func=cmd_generate)

    imp = sub.add_parser("import", help="turn a session export (CSV, XLSX, JSON) into a landing zone")
    imp.add_argument("--mapping", required=True, help="YAML mapping of the export format (see mappings/)")
    imp.add_argument("--input", required=True, help="the export file")
    imp.add_argument("--out", required=True, help="landing directory to write into")
    imp.add_argument(
        "--overwrite", action="store_true", help="replace landing files of an earlier import of the same export"
    )
    imp.set_defaults(func=cmd_import)

    docs = sub.add_parser("docs", help="build dbt docs and GX Data Docs into WAREHOUSE/docs/")
    docs.add_argument("--warehouse", help="warehouse dir (default $WAREHOUSE_DIR or warehouse)")
    docs.set_defaults(func=cmd_docs)

    export = sub.add_parser("export", help="write every published mart to Parquet (read-only on serving.duckdb)")
    export.add_argument("--warehouse", help="warehouse dir (default $WAREHOUSE_DIR or warehouse)")
    export.add_argument("--out", required=True, help="directory for <table>.parquet files")
    export.set_defaults(func=cmd_export)

    plan = sub.add_parser("plan", help="plan what a following `dbt build` rebuilds (run_plan.* in build.duckdb)")
    plan.add_argument("--warehouse", help="warehouse dir (default $WAREHOUSE_DIR or warehouse)")
    plan.add_argument("--as-of", dest="as_of", help="logical date YYYY-MM-DD (default $WAREHOUSE_AS_OF or today UTC)")
    plan.add_argument(
        "--rebuild",
        nargs=2,
        metavar=("FIRST", "LAST"),
        help="also rebuild the days FIRST..LAST (YYYY-MM-DD), whatever changed",
    )
    plan.add_argument("--full-refresh", action="store_true", help="plan a full rebuild")
    plan.set_defaults(func=cmd_plan)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("dagster").propagate = False  # Dagster prints its own run log
    try:
        return args.func(args)
    except WarehouseBusy as e:
        _print(f"error: {e}; not waiting (--no-wait)")
        return EXIT_BUSY
    except KeyboardInterrupt:
        _print("interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:  # a full disk, a read-only or missing directory...: one line, no traceback
        found = storage_failure(e)
        if found is None:
            raise
        if found.path is None and any(type(x).__module__.startswith("sqlite3") for x in causes(e)):
            found.path = f"{os.environ.get('DAGSTER_HOME', 'DAGSTER_HOME')} (Dagster's run storage)"
        _print(f"error: {found.line()}")
        return found.exit_code
