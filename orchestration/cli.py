"""Command line: `python -m orchestration <command>`.

    run        run the whole Dagster job (load → dbt build → publish) on a landing zone
    backfill   run it for a range of daily partitions
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
from datetime import date
from pathlib import Path

from orchestration import config

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
            [str(dbt), "parse", "--quiet", "--project-dir", str(project),
             "--profiles-dir", str(config.PROFILES_DIR), "--target-path", str(target)],
            cwd=project, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
    return manifest


def _print(msg: str = "") -> None:
    print(msg, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    landing = Path(args.landing).resolve() if args.landing else config.landing_dir()
    warehouse = Path(args.warehouse).resolve() if args.warehouse else config.warehouse_dir()
    try:
        as_of = config.as_of_date(args.as_of)
    except ValueError:
        _print(f"error: --as-of must be a date YYYY-MM-DD, got {args.as_of!r}")
        return 2
    if not landing.is_dir():
        _print(f"error: landing directory {landing} does not exist")
        return 2
    warehouse.mkdir(parents=True, exist_ok=True)
    home = config.dagster_home(warehouse)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update({
        "WAREHOUSE_LANDING_DIR": str(landing), "WAREHOUSE_DIR": str(warehouse),
        "WAREHOUSE_AS_OF": as_of.isoformat(), "DAGSTER_HOME": str(home),
    })
    _print(f"warehouse run: landing={landing} warehouse={warehouse} as_of={as_of}")
    t0 = time.perf_counter()
    ensure_dbt_manifest()

    days = (as_of, as_of)  # the daily partition of the logical date
    if getattr(args, "start", None):
        try:
            days = (date.fromisoformat(args.start), date.fromisoformat(args.end))
        except ValueError as e:
            _print(f"error: {e}")
            return 2
        if days[0] > days[1]:
            _print(f"error: --start {days[0]} is after --end {days[1]}")
            return 2
    from orchestration.defs.partitions import daily
    first = daily.get_first_partition_key()
    if days[0].isoformat() < first:
        _print(f"error: {days[0]} is before the first daily partition {first} (set WAREHOUSE_PARTITIONS_START)")
        return 2

    from orchestration.run import run_job  # imports Dagster and the code location
    outcome = run_job(landing=landing, warehouse=warehouse, as_of=days[1], days=days)
    for line in outcome.report_lines():
        _print(line)
    _print(f"total {time.perf_counter() - t0:.1f}s")
    return 0 if outcome.published else 1


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.generate import generate
    summary = generate(
        Path(args.out), seed=args.seed, sessions=args.sessions,
        start=date.fromisoformat(args.start) if args.start else None,
        end=date.fromisoformat(args.end) if args.end else None, progress=True, overwrite=args.overwrite)
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
    plan = plan_build(config.build_db(warehouse), as_of=as_of, manifest=ensure_dbt_manifest(),
                      full_refresh=args.full_refresh, rebuild=rebuild)
    _print(plan.describe())
    if plan.mode == "none":
        _print("nothing to build")
    else:
        _print(f"then: WAREHOUSE_DIR={warehouse} dbt build --vars '{{as_of_date: {as_of}}}'"
               + (" --full-refresh" if plan.mode == "full" else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole job: load, build, test, publish")
    run.add_argument("--landing", help="landing zone (default $WAREHOUSE_LANDING_DIR or data/landing)")
    run.add_argument("--warehouse", help="warehouse dir (default $WAREHOUSE_DIR or warehouse)")
    run.add_argument("--as-of", dest="as_of", help="logical date YYYY-MM-DD (default $WAREHOUSE_AS_OF or today UTC)")
    run.set_defaults(func=cmd_run)

    backfill = sub.add_parser("backfill", help="rebuild the daily partitions --start..--end, as one run")
    for a in ("--landing", "--warehouse"):
        backfill.add_argument(a)
    backfill.add_argument("--start", required=True, help="first day YYYY-MM-DD")
    backfill.add_argument("--end", required=True, help="last day YYYY-MM-DD (also the as-of date)")
    backfill.set_defaults(func=cmd_run, as_of=None)

    gen = sub.add_parser("generate", help="write a realistic demo landing zone")
    gen.add_argument("--out", required=True, help="landing directory to write")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--sessions", type=int, default=50_000)
    gen.add_argument("--start", help="first day YYYY-MM-DD (default end - 364 days)")
    gen.add_argument("--end", help="last day YYYY-MM-DD (default today UTC)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing generated landing zone")
    gen.set_defaults(func=cmd_generate)

    imp = sub.add_parser("import", help="turn a session export (CSV, XLSX, JSON) into a landing zone")
    imp.add_argument("--mapping", required=True, help="YAML mapping of the export format (see mappings/)")
    imp.add_argument("--input", required=True, help="the export file")
    imp.add_argument("--out", required=True, help="landing directory to write into")
    imp.add_argument("--overwrite", action="store_true",
                     help="replace landing files of an earlier import of the same export")
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
    plan.add_argument("--rebuild", nargs=2, metavar=("FIRST", "LAST"),
                      help="also rebuild the days FIRST..LAST (YYYY-MM-DD), whatever changed")
    plan.add_argument("--full-refresh", action="store_true", help="plan a full rebuild")
    plan.set_defaults(func=cmd_plan)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("dagster").propagate = False  # Dagster prints its own run log
    return args.func(args)
