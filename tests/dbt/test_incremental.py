"""Incremental dbt models: building day by day gives exactly the tables of one full build.

A landing zone from the project's generator is delivered in daily drops (each file on the day in
its name; registries, monthly files and ECB rates as they would arrive), with late arrivals added
by hand:

  - a session completed again in a later day's file (new unplug time a day later, more kWh), and
    a session whose corrected version moves it three days earlier;
  - a credit CDR four weeks after the CDR it cancels, and a CDR that arrives two days late;
  - a conflicting re-send of a session version (the loader moves both versions out of raw: a
    deletion);
  - registry changes mid-way: a firmware upgrade of a charge point and a site's time zone;
  - ECB rates growing day by day (a new file each day, as the ECB publishes it).

Build A loads the drops one day at a time with the real loader and, after each, does what the
Dagster job does: the planner (orchestration/plan.py) decides from what was loaded what to
rebuild, and dbt builds as the plan says (`dbt build`, `--full-refresh`, or nothing) with the
day as as_of_date (the first days as one backfill). Build B loads every file at once and runs one
full `dbt build`. Then:

  1. every table in `marts` (and every intermediate table) of A equals B: same row count and
     the same order-independent content hash (sum of row hashes);
  2. a run without new data plans nothing and changes nothing;
  3. `dbt build --full-refresh` after the incremental runs gives B again.

Most daily runs must have been incremental (only the planned dates and keys rebuilt), else the
test would prove nothing: the plans are asserted day by day (which were incremental, which full
and why).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration import plan as planner
from orchestration.config import PROFILES_DIR, PROJECT_DIR, dbt_project_dir
from orchestration.defs.dbt import dbt_invocation, dbt_run_env
from orchestration.load.loader import connect, load_source

pytestmark = pytest.mark.e2e  # dbt builds, day by day and whole

DBT = str(Path(sys.executable).parent / "dbt")

HISTORY = date(2025, 3, 5)  # the generated data starts three weeks before the first drop
FIRST = date(2025, 3, 26)  # the first drop: everything dated up to it
LAST = date(2025, 4, 4)  # the European DST change (2025-03-30) is a daily run
BACKFILL_UNTIL = date(2025, 3, 29)  # the first days are built as one backfill
SESSIONS = 2000

LOAD_ORDER = [
    "operators",
    "teams",
    "sites",
    "charge_points",
    "plans",
    "subscriptions",
    "wallets",
    "sessions",
    "cdrs",
    "ocpp",
    "ratings",
    "invoices",
    "ledger",
    "fx_rates",
]


# ---------------------------------------------------------------------------------------------
# landing zone and daily drops

REGISTRIES = {"operators", "teams", "sites", "charge_points", "plans", "subscriptions", "wallets"}


def _delivery_day(path: Path) -> date:
    """The day a file arrives: the date in its name (a monthly file at the end of its month),
    clamped to the test's period. The generator's registry exports arrive on the first day (the
    loader refuses events that reference unknown charge points or sites); registry changes
    mid-way are added by hand."""
    if path.parent.name in REGISTRIES:
        return FIRST
    m = re.search(r"(\d{4})-(\d{2})(?:-(\d{2}))?", path.name)
    if not m:
        return FIRST
    if m[3]:
        day = date(int(m[1]), int(m[2]), int(m[3]))
    else:
        next_month = date(int(m[1]) + int(m[2]) // 12, int(m[2]) % 12 + 1, 1)
        day = next_month - timedelta(days=1)
    return min(max(day, FIRST), LAST)


def _read_jsonl(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def _first_valid(lines: list[str], predicate) -> dict:
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if predicate(record):
            return record
    raise AssertionError("no record matches")


def _shift(ts: str, **delta) -> str:
    t = datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(**delta)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _make_drops(generated: Path, drops: Path) -> dict[date, list[tuple[Path, bytes]]]:
    """Daily drops: {day: [(relative path, content)]}, from the generated landing zone plus the
    hand-made late arrivals."""
    by_day: dict[date, list[tuple[Path, bytes]]] = {}

    def add(day: date, rel: str | Path, content: bytes) -> None:
        by_day.setdefault(day, []).append((Path(rel), content))

    files = sorted(p for p in generated.rglob("*") if p.is_file())
    session_lines = {p: _read_jsonl(p) for p in files if p.parent.name == "sessions"}
    cdr_lines = {p: _read_jsonl(p) for p in files if p.parent.parent.name == "cdrs"}

    # A session completed again later: a new version 3 days later, unplugged a day later.
    day2 = FIRST + timedelta(days=1)
    late_src = next(p for p in session_lines if _delivery_day(p) == day2)
    versions = Counter(
        json.loads(line).get("session_id") for lines in session_lines.values() for line in lines if _safe_json(line)
    )
    single = {sid for sid, n in versions.items() if n == 1}
    completed = _first_valid(
        session_lines[late_src],
        lambda r: (
            r["state"] == "completed"
            and r["session_id"] in single
            and r.get("unplugged_at")
            and (r.get("kwh") or 0) < 40
        ),
    )
    late = dict(
        completed,
        unplugged_at=_shift(completed["unplugged_at"], hours=26),
        kwh=round(completed["kwh"] + 7.5, 3),
        updated_at=_shift(completed["updated_at"], days=3),
    )
    # A corrected version that moves a session three days earlier: its old dates are only known
    # from the version stored before.
    moved_src = next(p for p in session_lines if _delivery_day(p) == day2)
    moving = _first_valid(
        session_lines[moved_src],
        lambda r: (
            r["state"] == "completed"
            and r["session_id"] in single
            and r["session_id"] != completed["session_id"]
            and r.get("unplugged_at")
        ),
    )
    moved = dict(
        moving,
        plugged_in_at=_shift(moving["plugged_in_at"], days=-3),
        unplugged_at=_shift(moving["unplugged_at"], days=-3),
        charging_started_at=None,
        charging_ended_at=None,
        updated_at=_shift(moving["updated_at"], days=2),
    )
    late_day = FIRST + timedelta(days=6)
    add(late_day, "sessions/late_version_" + late_day.isoformat() + ".jsonl", (json.dumps(late) + "\n").encode())
    full_day = FIRST + timedelta(days=7)  # the drops that may empty a partition all come this day
    add(full_day, "sessions/corrected_" + full_day.isoformat() + ".jsonl", (json.dumps(moved) + "\n").encode())
    # A conflicting re-send: the completed version of a two-version session again, with the same
    # updated_at but other values. The loader moves both out of raw into the quarantine, so the
    # session falls back to its in_progress version: a deletion in raw.
    two_versions = {sid for sid, n in versions.items() if n == 2}
    resent = _first_valid(
        [line for p in session_lines if _delivery_day(p) <= FIRST + timedelta(days=2) for line in session_lines[p]],
        lambda r: r["session_id"] in two_versions and r["state"] == "completed" and r.get("kwh"),
    )
    # (inside that day's regular file: a file of one bad record would be refused as a whole)
    conflict_file = next(p for p in session_lines if _delivery_day(p) == FIRST + timedelta(days=7))
    session_lines[conflict_file].append(json.dumps(dict(resent, kwh=round(resent["kwh"] + 1.0, 3))))

    # A credit CDR weeks after its CDR (a CDR of the first generated day, credited on the second
    # to last day).
    first_cdr_file = min(
        (p for p in cdr_lines if any(_safe_json(line) and not json.loads(line).get("credit") for line in cdr_lines[p])),
        key=lambda p: p.name,
    )
    original = _first_valid(cdr_lines[first_cdr_file], lambda r: not r.get("credit"))
    credit = _credit_for(original, last_updated=(LAST - timedelta(days=1)).isoformat() + "T08:00:00Z")
    add(
        LAST - timedelta(days=1),
        first_cdr_file.relative_to(generated).parent / "late_credit.jsonl",
        (json.dumps(credit) + "\n").encode(),
    )
    # A CDR that arrives two days late (its session ended days before).
    held_day = FIRST + timedelta(days=7)
    held_file = next(p for p in cdr_lines if _delivery_day(p) == held_day)
    held = _first_valid(cdr_lines[held_file], lambda r: not r.get("credit"))
    cdr_lines[held_file] = [
        line for line in cdr_lines[held_file] if not (_safe_json(line) and json.loads(line) == held)
    ]
    add(
        held_day + timedelta(days=2),
        held_file.relative_to(generated).parent / "held_back.jsonl",
        (json.dumps(held) + "\n").encode(),
    )

    # Registry changes mid-way: a firmware upgrade, and a site whose time zone is corrected
    # (every local date of its sessions and CP-days moves).
    add(
        FIRST + timedelta(days=5),
        f"charge_points/firmware_upgrade_{FIRST + timedelta(days=5)}.csv",
        _registry_change(
            files,
            "charge_points",
            lambda r: not r["decommissioned_at"],
            lambda r: {"firmware_version": r["firmware_version"] + "-upd"},
            FIRST + timedelta(days=5),
        ),
    )
    add(
        full_day,
        f"sites/time_zone_fix_{full_day}.csv",
        _registry_change(
            files,
            "sites",
            lambda r: r["time_zone"].startswith("Europe/") and r["time_zone"] != "Europe/London",
            lambda r: {"time_zone": "Europe/London"},
            full_day,
        ),
    )

    for p in files:
        rel = p.relative_to(generated)
        if p.parent.name == "fx_rates":
            continue
        if p in cdr_lines or p in session_lines:
            lines = cdr_lines[p] if p in cdr_lines else session_lines[p]
            add(_delivery_day(p), rel, "".join(line + "\n" for line in lines).encode())
        else:
            add(_delivery_day(p), rel, p.read_bytes())

    # ECB rates: each day the whole history up to that day (the ECB's own file grows daily).
    fx = next(p for p in files if p.parent.name == "fx_rates")
    lines = [line for line in fx.read_text().splitlines() if line.strip()]
    header, history = lines[0], lines[1:]
    for n in range((LAST - FIRST).days + 1):
        day = FIRST + timedelta(days=n)
        upto = [line for line in history if line[:10] <= day.isoformat()]
        add(day, f"fx_rates/eurofxref-hist-{day.isoformat()}.csv", ("\n".join([header] + upto) + "\n").encode())
    return dict(sorted(by_day.items()))


def _registry_change(files: list[Path], folder: str, choose, change, day: date) -> bytes:
    """A CSV with one new version of the first registry row `choose` accepts (its latest
    version), with `change` applied and updated_at = `day` 03:00 UTC."""
    rows = [
        row
        for p in sorted(f for f in files if f.parent.name == folder)
        for row in csv.DictReader(io.StringIO(p.read_text()))
    ]
    key = next(iter(rows[0]))
    latest: dict[str, dict] = {}
    for row in rows:
        if row[key] not in latest or row["updated_at"] > latest[row[key]]["updated_at"]:
            latest[row[key]] = row
    row = next(r for r in latest.values() if choose(r))
    new = {**row, **change(row), "updated_at": day.isoformat() + "T03:00:00Z"}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    writer.writerow(new)
    return out.getvalue().encode()


def _safe_json(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except json.JSONDecodeError:
        return False


def _credit_for(cdr: dict, last_updated: str) -> dict:
    credit = json.loads(json.dumps(cdr))
    credit["id"] = cdr["id"] + "-CR"
    credit["credit"] = True
    credit["credit_reference_id"] = cdr["id"]
    credit["total_cost"] = {k: -abs(v) for k, v in cdr["total_cost"].items() if v is not None}
    credit["total_energy"] = -abs(cdr["total_energy"])
    credit["last_updated"] = last_updated
    return credit


def _deliver(drop: list[tuple[Path, bytes]], landing: Path) -> None:
    for rel, content in drop:
        target = landing / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _load(warehouse: Path, landing: Path) -> None:
    con = connect(warehouse / "build.duckdb")
    try:
        for source in LOAD_ORDER:
            result = load_source(con, source, landing)
            assert not result.refused, [(f.file, f.message) for f in result.refused]
    finally:
        con.close()  # one writer: dbt opens the file next


# ---------------------------------------------------------------------------------------------
# dbt and comparisons


def _dbt(warehouse: Path, *args: str, as_of: date, env: dict | None = None) -> str:
    """dbt in a subprocess on `warehouse`, the run's date passed as the Dagster job passes it
    (orchestration.defs.dbt.dbt_run_env, an environment variable and not --vars): dbt then keeps
    its partial parse from one day's invocation to the next, as in the job."""
    env = {
        **os.environ,
        "WAREHOUSE_DIR": str(warehouse),
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "DBT_TARGET_PATH": str(warehouse / "target"),
        "DBT_LOG_PATH": str(warehouse / "logs"),
        "DBT_USE_COLORS": "false",
        **dbt_run_env(as_of),
        **(env or {}),
    }
    proc = subprocess.run([DBT, *args], cwd=dbt_project_dir(), env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc.stdout


def _build(warehouse: Path, *extra: str) -> str:
    return _dbt(warehouse, "build", "--exclude-resource-type", "unit_test", *extra, as_of=LAST)


def _planned_build(warehouse: Path, day: date) -> planner.Plan:
    """What the job's run_plan and dbt_build assets do for the partition `day`."""
    manifest = dbt_project_dir() / "target" / "manifest.json"
    plan = planner.plan_build(warehouse / "build.duckdb", as_of=day, manifest=manifest)
    args, env, _ = dbt_invocation(plan, json.loads(manifest.read_text()))
    if args:
        _dbt(warehouse, *args, as_of=day, env=env)
    planner.finish_build(warehouse / "build.duckdb", plan.plan_id)
    return plan


def _fingerprints(warehouse: Path) -> dict[str, tuple[int, int]]:
    """{schema.table: (rows, order-independent content hash)} of marts and intermediate tables and
    views."""
    con = duckdb.connect(str(warehouse / "build.duckdb"), read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'intermediate') "
            "AND NOT starts_with(table_name, '_') "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE schema_name IN ('marts', 'intermediate') "
            "ORDER BY 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": tuple(
                con.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{s}"."{t}" AS t').fetchone()
            )
            for s, t in tables
        }
    finally:
        con.close()


def _differences(a: dict, b: dict) -> dict:
    return {t: (a.get(t), b.get(t)) for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t)}


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    generated = root / "generated"
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration",
            "generate",
            "--out",
            str(generated),
            "--sessions",
            str(SESSIONS),
            "--start",
            HISTORY.isoformat(),
            "--end",
            LAST.isoformat(),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stdout[-3000:] + gen.stderr[-3000:]
    drops = _make_drops(generated, root / "drops")

    # B: every file at once, one full build
    full = root / "full"
    _deliver([item for drop in drops.values() for item in drop], full / "landing")
    _load(full, full / "landing")
    _build(full)

    # A: day by day (the first days as one backfill)
    daily = root / "daily"
    plans: dict[date, planner.Plan] = {}
    for day, drop in drops.items():
        _deliver(drop, daily / "landing")
        if day < BACKFILL_UNTIL:
            continue
        _load(daily, daily / "landing")
        # a daily partition has as_of_date = its day: the calendar end (CP-days up to as_of_date)
        # moves every run; the last run has as_of_date = LAST, like build B
        plans[day] = _planned_build(daily, day)
    return {"full": full, "daily": daily, "plans": plans}


def test_day_by_day_equals_one_full_build(builds):
    full, daily = _fingerprints(builds["full"]), _fingerprints(builds["daily"])
    assert any(t.startswith("marts.") for t in full)
    assert _differences(daily, full) == {}


def test_daily_runs_were_incremental_unless_a_partition_could_empty(builds):
    """The first build is full, and so is the day whose drops could empty a partition (a
    conflicting re-send moving versions out of raw, a site's time zone corrected, a finished
    session moved to other dates); every other day is incremental: the DST day, the firmware
    upgrade (rebuilt from its date on), the late completion, the credit weeks late, the CDR two
    days late."""
    plans = builds["plans"]
    full_days = {
        BACKFILL_UNTIL: "first build",
        # the conflicting re-send (found first; the site's time zone fix and the session moved
        # three days earlier, the same day, would each make it full too: tests/plan)
        FIRST + timedelta(days=7): "raw.sessions holds",
    }
    for day, plan in plans.items():
        if day in full_days:
            assert plan.mode == "full" and full_days[day] in plan.reasons[0], (day, plan.describe())
        else:
            assert plan.mode == "incremental", (day, plan.describe())
            assert 0 < plan.sizes["network_dates"] <= 8 and plan.sizes["sessions"] > 0, (day, plan.describe())
    firmware = plans[FIRST + timedelta(days=5)]
    assert any("1 firmware or hardware change" in r for r in firmware.reasons), firmware.describe()
    credit = plans[LAST - timedelta(days=1)]  # the credit for a CDR of the first day
    assert credit.sizes["cdrs"] >= 2 and credit.sizes["roaming_dates"] >= 2, credit.describe()


def test_a_run_without_new_data_builds_nothing_and_changes_nothing(builds):
    before = _fingerprints(builds["daily"])
    plan = _planned_build(builds["daily"], LAST)
    assert plan.mode == "none", plan.describe()
    assert _differences(_fingerprints(builds["daily"]), before) == {}


def test_full_refresh_after_incremental_runs_gives_the_full_build(builds):
    _build(builds["daily"], "--full-refresh")
    assert _differences(_fingerprints(builds["daily"]), _fingerprints(builds["full"])) == {}
