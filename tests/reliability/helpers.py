"""Shared pieces of the reliability tests: good records of every source, a registry build
database to copy per case, the reconciliation of raw._load_audit against what is really in
raw.<source> and raw._quarantine, and running the CLI as a killable process group."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.load.loader import connect, load_source

PROJECT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------------------------
# good records

OPERATORS_HEADER = "operator_id,name,parent_operator_id,country_code,currency,updated_at"
TEAMS_HEADER = "team_id,operator_id,name,created_at,updated_at"
SITES_HEADER = (
    "site_id,operator_id,team_id,name,address,city,postal_code,country_code,latitude,longitude,"
    "time_zone,created_at,updated_at"
)
CP_HEADER = (
    "charge_point_id,site_id,team_id,operator_id,brand,model,firmware_version,charging_type,"
    "max_power_kw,connector_count,access,roaming_enabled,commissioned_at,decommissioned_at,updated_at"
)
RATINGS_HEADER = "rating_id,session_id,charge_point_id,stars,created_at"
WALLETS_HEADER = "wallet_id,owner_type,owner_id,currency,balance,updated_at"
PLANS_HEADER = "plan_id,operator_id,name,price,currency,billing_period,updated_at"
SUBSCRIPTIONS_HEADER = "subscription_id,plan_id,team_id,started_at,ended_at,updated_at"


def session(i: int, **over) -> dict:
    rec = {
        "session_id": f"s{i}",
        "charge_point_id": "cp1",
        "connector_id": 1,
        "paying_team_id": "t1",
        "state": "completed",
        "plugged_in_at": "2025-01-01T10:00:00Z",
        "charging_started_at": "2025-01-01T10:01:00Z",
        "charging_ended_at": "2025-01-01T11:00:00Z",
        "unplugged_at": "2025-01-01T11:30:00Z",
        "failed_at": None,
        "failure_reason": None,
        "stop_reason": "Local",
        "kwh": 10.5,
        "price_excl_vat": "30.1234",
        "price_incl_vat": "37.6543",
        "currency": "DKK",
        "is_roaming": False,
        "updated_at": "2025-01-01T11:30:00Z",
    }
    rec.update(over)
    return rec


def cdr(i: int | str, **over) -> dict:
    rec = {
        "country_code": "DK",
        "party_id": "NCH",
        "id": f"c{i}",
        "start_date_time": "2025-01-01T10:00:00Z",
        "end_date_time": "2025-01-01T11:00:00Z",
        "session_id": f"s{i}",
        "cdr_token": {"country_code": "DE", "party_id": "ABC", "uid": "T1", "type": "RFID", "contract_id": "DE-ABC-1"},
        "auth_method": "WHITELIST",
        "cdr_location": {
            "id": "site1",
            "evse_uid": "cp1",
            "connector_id": "1",
            "country": "DNK",
            "coordinates": {"latitude": "56.150000", "longitude": "10.210000"},
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "DKK",
        "total_cost": {"excl_vat": 30.0, "incl_vat": 37.5},
        "total_energy": 10.0,
        "total_time": 1.0,
        "total_parking_time": 0.0,
        "credit": False,
        "credit_reference_id": None,
        "last_updated": "2025-01-01T11:05:00Z",
    }
    for k, v in over.items():
        if "." in k:  # nested: "cdr_location.evse_uid"
            outer, inner = k.split(".", 1)
            rec[outer] = {**rec[outer], inner: v}
        else:
            rec[k] = v
    return rec


def ocpp(i: int, **over) -> dict:
    rec = {
        "charge_point_id": "cp1",
        "received_at": f"2025-01-01T10:{i % 60:02d}:{i // 60 % 60:02d}Z",
        "frame": [2, f"m{i}", "Heartbeat", {}],
    }
    rec.update(over)
    return rec


def status_notification(i: int, **payload) -> dict:
    body = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    body.update(payload)
    return ocpp(i, frame=[2, f"sn{i}", "StatusNotification", body])


def ledger(i: int, **over) -> dict:
    rec = {
        "entry_id": f"e{i}",
        "operator_id": "op1",
        "team_id": "t1",
        "plan_id": None,
        "kind": "charge",
        "amount": "12.5000",
        "currency": "DKK",
        "booked_at": "2025-01-01T12:00:00Z",
        "session_id": f"s{i}",
        "invoice_id": None,
    }
    rec.update(over)
    return rec


def invoice(i: int, **over) -> dict:
    rec = {
        "invoice_id": f"i{i}",
        "operator_id": "op1",
        "customer_type": "team",
        "customer_id": "t1",
        "status": "unpaid",
        "wallet_id": "w1",
        "currency": "DKK",
        "payable_amount": "100.00",
        "issued_at": "2025-01-01T00:00:00Z",
        "due_at": "2025-01-31T00:00:00Z",
        "period_from": "2024-12-01T00:00:00Z",
        "period_to": "2024-12-31T23:59:59Z",
        "paid_at": None,
        "updated_at": "2025-01-01T00:00:00Z",
    }
    rec.update(over)
    return rec


def csv_row(header: str, **vals) -> str:
    return ",".join(str(vals.get(c, "")) for c in header.split(","))


def cp_row(i: int | str, **over) -> str:
    vals = dict(
        charge_point_id=f"cp{i}",
        site_id="site1",
        team_id="t1",
        operator_id="op1",
        brand="Alfen",
        model="Eve",
        firmware_version="1.0",
        charging_type="AC",
        max_power_kw="22",
        connector_count="2",
        access="public",
        roaming_enabled="true",
        commissioned_at="2024-01-01T00:00:00Z",
        decommissioned_at="",
        updated_at="2024-06-01T00:00:00Z",
    )
    vals.update(over)
    return csv_row(CP_HEADER, **vals)


def site_row(i: int | str, **over) -> str:
    vals = dict(
        site_id=f"site{i}",
        operator_id="op1",
        team_id="t1",
        name=f"Site {i}",
        address="Kaj 1",
        city="Aarhus",
        postal_code="8000",
        country_code="DK",
        latitude="56.15",
        longitude="10.21",
        time_zone="Europe/Copenhagen",
        created_at="2024-01-01T00:00:00Z",
        updated_at="2024-06-01T00:00:00Z",
    )
    vals.update(over)
    return csv_row(SITES_HEADER, **vals)


def rating_row(i: int, **over) -> str:
    vals = dict(
        rating_id=f"r{i}", session_id=f"s{i}", charge_point_id="cp1", stars="4", created_at="2025-01-02T08:00:00Z"
    )
    vals.update(over)
    return csv_row(RATINGS_HEADER, **vals)


def jsonl(records: list) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def csv_text(header: str, rows: list[str]) -> str:
    return header + "\n" + "".join(r + "\n" for r in rows)


def ecb_text(days: int = 40, currencies=("USD", "NOK", "ISK")) -> str:
    lines = ["Date," + ",".join(currencies) + ","]
    for d in range(days):
        day = datetime(2025, 1, 1).toordinal() + d
        lines.append(
            datetime.fromordinal(day).date().isoformat()
            + ","
            + ",".join(("N/A" if c == "ISK" else f"{1 + d / 1000 + k:.4f}") for k, c in enumerate(currencies))
            + ","
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# a build database whose registries know: operator op1, team t1, sites site1/site2, charge points
# cp1/cp2, plan p1 and CDR c0 (which a credit CDR may reference)

REGISTRY_FILES = {
    "operators/operators.csv": csv_text(OPERATORS_HEADER, ["op1,Nordic Charge,,DK,DKK,2024-01-01T00:00:00Z"]),
    "teams/teams.csv": csv_text(TEAMS_HEADER, ["t1,op1,Fleet One,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z"]),
    "sites/sites.csv": csv_text(SITES_HEADER, [site_row(1), site_row(2)]),
    "charge_points/charge_points.csv": csv_text(CP_HEADER, [cp_row(1), cp_row(2, site_id="site2")]),
    "plans/plans.csv": csv_text(PLANS_HEADER, ["p1,op1,Fleet Monthly,100.00,DKK,month,2024-01-01T00:00:00Z"]),
    "cdrs/hubject/known.jsonl": jsonl([cdr(0)]),
}
REGISTRY_SOURCES = ("operators", "teams", "sites", "charge_points", "plans", "cdrs")


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)


def make_registry_db(path: Path, landing: Path) -> Path:
    write_files(landing, REGISTRY_FILES)
    con = connect(path)
    try:
        for source in REGISTRY_SOURCES:
            res = load_source(con, source, landing)
            assert [f.status for f in res.files] == ["loaded"], (source, res.files)
            assert res.files[0].rows_quarantined == 0, (source, res.files)
    finally:
        con.close()
    return path


# ---------------------------------------------------------------------------------------------
# reconciliation


@dataclass
class Audit:
    file: str
    file_hash: str
    status: str
    read: int
    loaded: int
    quarantined: int
    duplicate: int
    refused: int
    message: str | None


def audits(con, source: str) -> list[Audit]:
    return [
        Audit(*r)
        for r in con.execute(
            "SELECT file, file_hash, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_refused, "
            "message FROM raw._load_audit WHERE source = ? ORDER BY loaded_at, file",
            [source],
        ).fetchall()
    ]


def reconcile(con, source: str) -> list[Audit]:
    """For every audit row of `source`: read = loaded + quarantined + duplicate (+ refused), and the
    counts match what is really in raw.<source> and raw._quarantine for that file's content
    (a record later displaced by a conflicting version counts where it went: to quarantine, with a
    rule naming the later file). A refused file has nothing in either table."""
    rows = audits(con, source)
    # one raw row and at most one quarantine row per record (fx_rates: a record is a rate cell,
    # several per line)
    for a in rows:
        assert a.read == a.loaded + a.quarantined + a.duplicate + a.refused, a
        in_raw = con.execute(f"SELECT count(*) FROM raw.{source} WHERE _file_hash = ?", [a.file_hash]).fetchone()[0]
        q_lines = con.execute(
            "SELECT count(*) FROM raw._quarantine WHERE source = ? AND file_hash = ?", [source, a.file_hash]
        ).fetchone()[0]
        moved = con.execute(
            "SELECT count(*) FROM raw._quarantine WHERE source = ? AND file_hash = ? "
            "AND rule LIKE 'conflict: a later file%'",
            [source, a.file_hash],
        ).fetchone()[0]
        if a.status == "refused":
            assert a.loaded == a.quarantined == a.duplicate == 0, a
            assert a.message, a
            if not any(b.status == "loaded" and b.file_hash == a.file_hash for b in rows):
                assert in_raw == 0 and q_lines == 0, (a, in_raw, q_lines)
            continue
        assert in_raw + moved == a.loaded, (a, in_raw, moved)
        assert q_lines - moved == a.quarantined, (a, q_lines, moved)
    return rows


def count_records(content: str | bytes, fmt: str) -> int:
    """Records in a landing file, counted independently of the loader: non-blank lines (JSON
    lines: a line is blank when it is only whitespace) or data rows (CSV: non-blank lines after
    the header; callers give the count themselves for files with multi-line fields); for the ECB
    file (fmt "ecb") the rate cells that are not N/A, and one per line with more cells than the
    header."""
    data = content.encode() if isinstance(content, str) else content
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = [ln for ln in data.split(b"\n") if ln.decode("utf-8", "backslashreplace").strip()]
    if fmt == "ecb":
        width = len(lines[0].decode().rstrip(",\r").split(","))
        n = 0
        for ln in lines[1:]:
            cells = ln.decode().rstrip(",\r").split(",")
            n += 1 if len(cells) > width else sum(c.strip() not in ("", "N/A") for c in cells[1:])
        return n
    return max(len(lines) - (1 if fmt == "csv" else 0), 0)


# ---------------------------------------------------------------------------------------------
# the CLI as a process group (dbt runs as a child: killing the group kills it too)

RUN_LOG_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \+0000 - dagster")


def cli_env(**extra) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WAREHOUSE_THREADS": os.environ.get("WAREHOUSE_THREADS", "2")}
    env.update(extra)
    return env


@dataclass
class CliProcess:
    proc: subprocess.Popen
    log: Path
    started: float = field(default_factory=time.monotonic)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def kill(self) -> None:
        """SIGKILL the whole process group (the CLI, Dagster, dbt and its threads)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)
        _wait_group_gone(self.proc.pid)

    def wait(self, timeout: float = 900) -> int:
        return self.proc.wait(timeout=timeout)


def _wait_group_gone(pgid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still alive after SIGKILL")


def start_cli(log: Path, *args: str, env: dict | None = None) -> CliProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration", *args],
        cwd=PROJECT,
        env=env or cli_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    return CliProcess(proc, log)


def run_cli_logged(log: Path, *args: str, timeout: float = 900) -> tuple[int, str, float]:
    p = start_cli(log, *args)
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    return rc, p.output(), p.elapsed()


def serving_state(path: Path) -> dict:
    """Open a serving file read-only and check it is one complete published state: the row
    counts recorded in marts._publish_info are the tables' real counts."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        run_id, counts = con.execute("SELECT run_id, table_row_counts FROM marts._publish_info").fetchone()
        counts = json.loads(counts)
        actual = {
            f"marts.{t}": con.execute(f'SELECT count(*) FROM marts."{t}"').fetchone()[0]
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> '_publish_info'"
            ).fetchall()
        }
        assert counts == actual, (counts, actual)
        return {"run_id": run_id, "counts": counts}
    finally:
        con.close()


def copy_landing(src: Path, dst: Path, rename=None) -> list[str]:
    """Copy a landing zone file by file (in the order given by `rename`'s sort), optionally
    renaming each file: rename(relative_path) -> new relative path."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    written = []
    for p in files:
        rel = p.relative_to(src).as_posix()
        new = rename(rel) if rename else rel
        (dst / new).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst / new)
        written.append(new)
    return written


def raw_summary(build_db: Path) -> dict:
    """What the raw layer holds, content only (no load times, run ids or file names): per source
    the rows in raw and the distinct records (key columns + content hash); the quarantined
    lines; the number of distinct files loaded (by content hash)."""
    from orchestration.contract import SOURCES

    con = duckdb.connect(str(build_db), read_only=True)
    try:
        out = {}
        for name, src in SOURCES.items():
            n, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT ({', '.join(src.key)}, _record_hash)) FROM raw.{name}"
            ).fetchone()
            out[name] = (n, distinct)
        out["_quarantine"] = con.execute(
            "SELECT source, count(DISTINCT (file_hash, line)) FROM raw._quarantine GROUP BY 1 ORDER BY 1"
        ).fetchall()
        out["_loaded_files"] = con.execute("SELECT count(DISTINCT file_hash) FROM raw._loaded_files").fetchone()[0]
        return out
    finally:
        con.close()


def start_readers(serving: Path, work: Path) -> tuple[list[subprocess.Popen], Path]:
    """The two BI readers of bi_reader.py (a refreshing one and one holding a connection)."""
    stop = work / "stop"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("bi_reader.py")),
                str(serving),
                str(stop),
                str(work / f"reader_{mode}.json"),
                mode,
            ],
            cwd=PROJECT,
        )
        for mode in ("reopen", "hold")
    ]
    return procs, stop


def stop_readers(procs: list[subprocess.Popen], stop: Path) -> dict[str, dict]:
    stop.touch()
    for p in procs:
        assert p.wait(timeout=120) == 0
    return {mode: json.loads((stop.parent / f"reader_{mode}.json").read_text()) for mode in ("reopen", "hold")}


def save_figures(name: str, figures) -> None:
    """Figures of a run (times, counts) for docs/reliability.md: printed (pytest -s) and, when
    RELIABILITY_FIGURES names a directory, written there as <name>.json (xdist hides prints)."""
    text = json.dumps(figures, indent=1, default=str)
    print(f"\n{name}: {text}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / f"{name}.json").write_text(text)


# Dagster's event log in memory for the CLI runs of these tests: the same job, code and databases
# (run records still go to the warehouse's sqlite run storage, so a killed run still shows as
# STARTED there), only the ~1,600 events of each run are not written to sqlite — about a third of
# a run's time on a 2-core machine, and no part of what these tests check.
DAGSTER_YAML = """telemetry:
  enabled: false
event_log_storage:
  module: dagster._core.storage.event_log
  class: InMemoryEventLogStorage
"""


def fast_dagster_home(warehouse: Path) -> None:
    home = warehouse / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)


# ---- a run observed as it goes: its phases timed from its log (tests/reliability/test_crash.py)
# the CLI's progress lines (orchestration/progress.py): a source loaded, the dbt step started / ended
LOAD_MARK = re.compile(r"^  load \w+", re.M)
DBT_MARK = "  dbt build started"
DBT_DONE_MARK = "  dbt build finished"


def tmp_files(warehouse: Path) -> list[Path]:
    return sorted(warehouse.glob(".serving.duckdb.*.tmp*"))


def inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


@dataclass
class Timeline:
    load: float  # first raw load logged
    dbt: float  # dbt step started
    dbt_done: float
    tmp: float  # the new serving file appears
    replaced: float  # serving.duckdb replaced
    end: float  # process exited


def run_observed(log: Path, warehouse: Path, landing: Path, as_of: str) -> tuple[int, str, Timeline]:
    """An uninterrupted run, its phase boundaries timed by polling its log and the warehouse."""
    p = start_cli(log, "run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", as_of)
    marks: dict[str, float] = {}
    serving = warehouse / "serving.duckdb"
    before = inode(serving)
    while p.proc.poll() is None:
        now, out = p.elapsed(), p.output()
        for name, hit in (
            ("load", LOAD_MARK.search(out)),
            ("dbt", DBT_MARK in out),
            ("dbt_done", DBT_DONE_MARK in out),
            ("tmp", bool(tmp_files(warehouse))),
            ("replaced", inode(serving) != before),
        ):
            if hit and name not in marks:
                marks[name] = now
        time.sleep(0.01)
    end = p.elapsed()
    return (
        p.proc.returncode,
        p.output(),
        Timeline(**{k: marks.get(k, end) for k in ("load", "dbt", "dbt_done", "tmp", "replaced")}, end=end),
    )
