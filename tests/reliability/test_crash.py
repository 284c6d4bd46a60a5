"""Crash safety: the job killed with SIGKILL (the whole process group, so dbt dies too) at
seeded-random moments in every phase, then run again with no manual cleanup.

1. Reference: one uninterrupted run of the hand-made landing zone on a fresh warehouse. It gives
   the published tables' fingerprints and raw layer to compare with, and the phase timings
   (from its log, polled as it runs): start-up, loading, dbt build, the publish step, the few
   hundred milliseconds in which the new serving file is written, the atomic replace.
2. Job trials, chained on a second warehouse (fresh build database; serving.duckdb = the
   reference's, the "last good version"): each run is killed at a seeded-random delay within
   the measured duration of a phase, counted from the moment that phase shows in the run's log
   (or, for the file write, from the moment the temporary file appears); the next run starts
   on whatever the kill left. After every kill: the process group is gone; serving.duckdb is
   byte-identical to before, or — if the kill came after the atomic replace — a complete new
   version (opens read-only, _publish_info consistent, same tables as the reference); the build
   database opens and every raw load reconciles (a file is loaded whole or not at all).
3. Loader trials: the loader alone (load_all, what the raw assets run) on a fresh build
   database each time, killed at seeded-random delays over its measured duration, with a
   100,000-line file among the landing files; after each kill every load reconciles (a file is
   loaded whole or not at all); the last crashed database is then loaded to the end: its raw
   layer is identical to an uninterrupted load's.
4. Publisher trials: publish() alone killed at seeded-random delays over its measured duration,
   and twice the moment serving.duckdb has been replaced (then it is the new, complete file).
5. Recovery: one more job run on the crashed warehouse, uninterrupted: it publishes, with
   exactly the reference's tables and raw layer, and leaves no temporary file.

Dagster keeps these runs' event log in memory (helpers.fast_dagster_home); their run records
stay in the sqlite run storage, where the killed runs remain STARTED.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import table_fingerprints
from tests.e2e.test_handmade_marts import AS_OF
from tests.reliability.helpers import (
    DBT_DONE_MARK,
    DBT_MARK,
    LOAD_MARK,
    PROJECT,
    Timeline,
    _wait_group_gone,
    cli_env,
    fast_dagster_home,
    inode,
    raw_summary,
    reconcile,
    run_observed,
    save_figures,
    serving_state,
    session,
    start_cli,
    tmp_files,
)

pytestmark = pytest.mark.e2e  # the whole job on a landing zone

RNG = random.Random(20251124)
JOB_TRIALS = ["startup", "load", "dbt", "dbt", "dbt", "dbt", "publish"]  # four in dbt build: its longest phase
LOADER_KILLS = 7
PUBLISH_KILLS = 10


def phase_at_kill(out: str, warehouse: Path, serving_inode_before: int | None) -> str:
    if inode(warehouse / "serving.duckdb") != serving_inode_before:
        return "after the atomic replace"
    if tmp_files(warehouse):
        return "publish: writing the new serving file"
    if DBT_DONE_MARK in out:
        return "publish step (dbt finished, file not started)"
    if DBT_MARK in out:
        return "dbt build"
    if LOAD_MARK.search(out):
        return "loading"
    return "start-up (imports, Dagster, first load)"


def raw_sources(con) -> list[str]:
    """Sources whose raw table and the bookkeeping tables exist (a kill may come while the loader
    creates them, one statement at a time, on the first load)."""
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    if not {"_load_audit", "_quarantine", "_loaded_files"} <= tables:
        return []
    from orchestration.contract import SOURCES

    return [s for s in SOURCES if s in tables]


def check_after_kill(warehouse: Path, before: bytes, reference: dict) -> str:
    """serving.duckdb: the last good version, byte for byte, or a complete new version."""
    serving = warehouse / "serving.duckdb"
    now = serving.read_bytes()
    if now == before:
        outcome = "serving unchanged"
    else:
        state = serving_state(serving)  # opens read-only; recorded counts == real counts
        assert table_fingerprints(serving) == reference["fingerprints"]
        outcome = f"serving replaced by complete run {state['run_id'][:8]}"
    assert not (warehouse / "serving.duckdb.wal").exists()
    build = warehouse / "build.duckdb"
    if build.exists():  # every load committed whole or not at all
        con = duckdb.connect(str(build), read_only=True)
        try:
            for source in raw_sources(con):
                reconcile(con, source)
        finally:
            con.close()
    return outcome


def kill_job_trial(log: Path, warehouse: Path, landing: Path, kind: str, t: Timeline) -> dict:
    """Start the job; when `kind`'s phase shows, wait a seeded-random part of its measured
    duration, then SIGKILL the process group."""
    windows = {
        "startup": (None, t.load),
        "load": ("load", t.dbt - t.load),
        "dbt": ("dbt", t.dbt_done - t.dbt),
        "publish": ("tmp", 1.3 * max(t.replaced - t.tmp, 0.05)),
    }
    trigger, span = windows[kind]
    delay = RNG.uniform(0, span) if trigger else RNG.uniform(0.5, span)
    serving = warehouse / "serving.duckdb"
    before_inode = inode(serving)
    p = start_cli(log, "run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF)
    armed = 0.0 if trigger is None else None
    while p.proc.poll() is None:
        if armed is None:
            out = p.output()
            if trigger == "load":
                hit = bool(LOAD_MARK.search(out))
            elif trigger == "dbt":
                hit = DBT_MARK in out
            else:
                hit = bool(tmp_files(warehouse))
            if hit:
                armed = p.elapsed()
        if armed is not None and p.elapsed() - armed >= delay:
            break
        time.sleep(0.005 if trigger == "tmp" else 0.02)
    finished = p.proc.poll() is not None
    phase = "finished before the kill" if finished else phase_at_kill(p.output(), warehouse, before_inode)
    at = p.elapsed()
    p.kill()
    return {
        "trial": f"job/{kind}",
        "killed_at": round(at, 2),
        "delay": round(delay, 2),
        "phase": phase,
        "killed": not finished,
    }


LOAD_ALL = (
    "import sys; from pathlib import Path; from orchestration.load.loader import load_all; "
    "load_all(Path(sys.argv[1]), Path(sys.argv[2]))"
)
PUBLISH = (
    "import sys; from pathlib import Path; from orchestration.publish import publish; "
    "publish(Path(sys.argv[1]), Path(sys.argv[2]), run_id=sys.argv[3])"
)


def spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def run_to_end(code: str, *args: str) -> float:
    t0 = time.monotonic()
    proc = spawn(code, *args)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]
    return time.monotonic() - t0


def kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL the process group after `delay` seconds; False if it had already finished."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    _wait_group_gone(proc.pid)
    return True


def write_big_sessions(path: Path, n: int) -> None:
    path.write_text(
        "".join(
            json.dumps(
                session(
                    i,
                    charge_point_id="cp1",
                    session_id=f"B{i}",
                    plugged_in_at="2025-03-03T10:00:00Z",
                    charging_started_at=None,
                    charging_ended_at=None,
                    unplugged_at="2025-03-03T11:00:00Z",
                    updated_at="2025-03-03T11:00:00Z",
                )
            )
            + "\n"
            for i in range(n)
        )
    )


def dagster_run_statuses(home: Path) -> dict[str, int]:
    db = home / "history" / "runs.db"
    if not db.exists():
        return {}
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall())
    finally:
        con.close()


@pytest.fixture(scope="module")
def crash(tmp_path_factory, handmade_run):
    t_start = time.monotonic()
    root = tmp_path_factory.mktemp("crash")
    landing = root / "landing"
    shutil.copytree(handmade_run.landing, landing)

    # 1. the reference run: the session's uninterrupted run of this landing zone on a fresh
    # warehouse, timed as it ran (tests/conftest.py: handmade_run; it asserts it published)
    ref_wh = handmade_run.warehouse
    timeline = Timeline(**handmade_run.timeline)
    reference = {
        "fingerprints": table_fingerprints(ref_wh / "serving.duckdb"),
        "raw": raw_summary(ref_wh / "build.duckdb"),
    }
    trials: list[dict] = []

    # 2. job trials on a warehouse whose serving file is the reference's
    wh = root / "crashed"
    fast_dagster_home(wh)
    shutil.copyfile(ref_wh / "serving.duckdb", wh / "serving.duckdb")
    for n, kind in enumerate(JOB_TRIALS, 1):
        before = (wh / "serving.duckdb").read_bytes()
        trial = kill_job_trial(root / f"job{n}.log", wh, landing, kind, timeline)
        trial["after"] = check_after_kill(wh, before, reference)
        trials.append(trial)

    # 5. recovery: the next run needs no cleanup and publishes the reference's tables
    rc, out, _ = run_observed(root / "recovery.log", wh, landing, AS_OF)
    assert rc == 0 and "PUBLISHED" in out, out[-5000:]
    recovery = {
        "fingerprints": table_fingerprints(wh / "serving.duckdb"),
        "raw": raw_summary(wh / "build.duckdb"),
        "state": serving_state(wh / "serving.duckdb"),
        "tmp_left": tmp_files(wh),
        "dagster_runs": dagster_run_statuses(wh / "dagster_home"),
    }

    # 3. loader trials on a landing zone with a 100,000-line file
    big_landing = root / "landing_big"
    shutil.copytree(landing, big_landing)
    write_big_sessions(big_landing / "sessions" / "sessions_2025-03-03_big.jsonl", 100_000)
    loader_ref = root / "loader_reference.duckdb"
    d_load = run_to_end(LOAD_ALL, str(loader_ref), str(big_landing))
    kills, attempts = 0, 0
    while kills < LOADER_KILLS and attempts < 2 * LOADER_KILLS:
        attempts += 1
        loader_db = root / f"loader_crashed{attempts}.duckdb"
        delay = RNG.uniform(0, d_load)
        killed = kill_after(spawn(LOAD_ALL, str(loader_db), str(big_landing)), delay)
        kills += killed
        phase = "loading" if loader_db.exists() else "loader start-up (before opening the database)"
        after = "nothing to check (killed before the database was created)"
        if loader_db.exists():
            con = duckdb.connect(str(loader_db), read_only=True)
            try:
                sources = raw_sources(con)
                for source in sources:
                    reconcile(con, source)
                files = con.execute("SELECT count(*) FROM raw._loaded_files").fetchone()[0] if sources else 0
            finally:
                con.close()
            after = f"build opens, every load whole or absent ({files} files loaded so far)"
        trials.append(
            {
                "trial": "loader",
                "delay": round(delay, 2),
                "of": round(d_load, 2),
                "killed": killed,
                "phase": phase if killed else "finished before the kill",
                "after": after,
            }
        )
    run_to_end(LOAD_ALL, str(loader_db), str(big_landing))
    loader = {"crashed": raw_summary(loader_db), "reference": raw_summary(loader_ref)}

    # 4. publisher trials on the recovered warehouse
    build, serving = wh / "build.duckdb", wh / "serving.duckdb"
    d_pub = run_to_end(PUBLISH, str(build), str(serving), "measure")
    kills, attempts = 0, 0
    while kills < PUBLISH_KILLS and attempts < 2 * PUBLISH_KILLS:
        n, attempts = attempts, attempts + 1
        before = serving.read_bytes()
        delay = RNG.uniform(0, 1.2 * d_pub)
        killed = kill_after(spawn(PUBLISH, str(build), str(serving), f"trial{n}"), delay)
        kills += killed
        replaced = serving.read_bytes() != before
        trials.append(
            {
                "trial": "publish()",
                "delay": round(delay, 2),
                "of": round(d_pub, 2),
                "killed": killed,
                "phase": (
                    "finished before the kill"
                    if not killed
                    else "after the atomic replace"
                    if replaced
                    else "publish: writing the new serving file"
                ),
                "after": check_after_kill(wh, before, reference),
                "tmp_left": len(tmp_files(wh)),
            }
        )
    for n in range(2):  # and killed the moment serving.duckdb has been replaced
        before, before_inode = serving.read_bytes(), inode(serving)
        proc = spawn(PUBLISH, str(build), str(serving), f"replaced{n}")
        while proc.poll() is None and inode(serving) == before_inode:
            time.sleep(0.001)
        killed = kill_after(proc, 0)
        trials.append(
            {
                "trial": "publish()",
                "delay": "at the replace",
                "of": round(d_pub, 2),
                "killed": killed,
                "phase": "after the atomic replace" if killed else "finished before the kill",
                "after": check_after_kill(wh, before, reference),
                "tmp_left": len(tmp_files(wh)),
            }
        )
    run_to_end(PUBLISH, str(build), str(serving), "final")
    publisher = {
        "fingerprints": table_fingerprints(serving),
        "state": serving_state(serving),
        "tmp_left": tmp_files(wh),
    }

    seconds = time.monotonic() - t_start
    save_figures(
        "crash",
        {
            "seconds": round(seconds),
            "reference_timeline": vars(timeline),
            "loader_seconds": d_load,
            "publish_seconds": d_pub,
            "trials": trials,
            "dagster_runs": recovery["dagster_runs"],
            "recovery_tmp_left": [str(p) for p in recovery["tmp_left"]],
        },
    )
    return {
        "reference": reference,
        "trials": trials,
        "recovery": recovery,
        "loader": loader,
        "publisher": publisher,
        "timeline": timeline,
        "seconds": seconds,
    }


def test_at_least_20_kills_over_every_phase(crash):
    killed = [t for t in crash["trials"] if t["killed"]]
    assert len(killed) >= 20, crash["trials"]
    phases = {t["phase"] for t in killed}
    assert "loading" in phases and "dbt build" in phases, phases
    assert any(p.startswith("publish") or p == "after the atomic replace" for p in phases), phases


def test_the_next_run_needs_no_cleanup_and_publishes_the_same_tables(crash):
    rec, ref = crash["recovery"], crash["reference"]
    assert rec["fingerprints"] == ref["fingerprints"]
    assert rec["raw"] == ref["raw"]  # rows lost or doubled: none
    assert rec["tmp_left"] == []


def test_a_killed_loader_loses_and_doubles_nothing(crash):
    assert crash["loader"]["crashed"] == crash["loader"]["reference"]
    assert crash["loader"]["reference"]["sessions"][0] == 100_000 + 10


def test_a_killed_publisher_never_damages_serving(crash):
    pub, ref = crash["publisher"], crash["reference"]
    assert pub["fingerprints"] == ref["fingerprints"]
    assert pub["tmp_left"] == []  # the next publish removed what killed ones left
    assert all(t["after"].startswith("serving") for t in crash["trials"] if t["trial"] == "publish()")
    replaced = [t for t in crash["trials"] if t["killed"] and t["phase"] == "after the atomic replace"]
    assert replaced and all(t["after"].startswith("serving replaced by complete run") for t in replaced), replaced
