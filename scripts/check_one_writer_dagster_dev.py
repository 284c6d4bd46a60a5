"""One writer per warehouse through `dagster dev` with the sensor on (DESIGN.md section 7).

    .venv/bin/python scripts/check_one_writer_dagster_dev.py [--sessions 2000] [--port 3917] [--keep]

On a fresh demo landing zone and warehouse (under a temporary directory) it starts
`python -m orchestration dev` — the webserver, the daemon with the run queue, the sensor
`new_landing_files` on — and, as soon as the sensor's run has started, launches a second run of
`warehouse_job` for another day through the GraphQL API (what the UI's launchpad does) and a
third run from the CLI (`python -m orchestration run`). It polls the runs every half second and
checks:

  * the UI's run stays QUEUED while the sensor's run is in progress (the run queue's per-warehouse
    pool), and no two Dagster runs are ever in progress at once;
  * the CLI run and the Dagster runs never hold the warehouse at the same time (the lock): the
    later one waits, and says which run it waits for, in one line;
  * every run succeeds, no run's log shows DuckDB's "Could not set lock on file", and the CLI run
    ends without a traceback.

Takes 2-4 minutes on a 2-core machine. Prints what it saw and exits 0 when every check holds."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PY = sys.executable
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
IN_PROGRESS = {"STARTING", "STARTED", "CANCELING"}

RUNS_QUERY = """
query { runsOrError(limit: 50) { ... on Runs { results {
  runId status startTime endTime tags { key value } } } } }"""


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        method="POST",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def runs(port: int) -> list[dict]:
    return graphql(port, RUNS_QUERY)["runsOrError"]["results"]


def wait_for(what: str, fn, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = fn()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--port", type=int, default=3917)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="one_writer_"))
    landing, warehouse = root / "landing", root / "warehouse"
    today = datetime.now(UTC).date()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAREHOUSE_", "DAGSTER_"))}
    subprocess.run(
        [
            PY,
            "-m",
            "orchestration",
            "generate",
            "--out",
            str(landing),
            "--sessions",
            str(args.sessions),
            "--start",
            (today - timedelta(days=29)).isoformat(),
            "--end",
            today.isoformat(),
        ],
        cwd=PROJECT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log(f"landing zone {landing} ({args.sessions} sessions, 30 days); warehouse {warehouse}")

    dev_out = open(root / "dagster_dev.log", "wb")
    dev = subprocess.Popen(
        [
            PY,
            "-m",
            "orchestration",
            "dev",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--port",
            str(args.port),
        ],
        cwd=PROJECT,
        env=env,
        stdout=dev_out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cli = None
    timeline: list[tuple[float, dict[str, str]]] = []
    problems: list[str] = []
    try:
        t0 = time.monotonic()
        wait_for(
            "the webserver",
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{args.port}/server_info", timeout=5).status == 200,
            180,
        )
        log(f"dagster dev is up after {time.monotonic() - t0:.0f} s; waiting for the sensor's run")
        first = wait_for(
            "the sensor's run to start", lambda: [r for r in runs(args.port) if r["status"] in IN_PROGRESS], 240, 0.5
        )[0]
        tags = {t["key"]: t["value"] for t in first["tags"]}
        log(
            f"sensor run {first['runId'][:8]} {first['status']} (sensor {tags.get('dagster/sensor_name')}, "
            f"partition {tags.get('dagster/partition')})"
        )

        ui_day = (today - timedelta(days=1)).isoformat()
        from dagster_graphql import DagsterGraphQLClient

        ui_run = DagsterGraphQLClient("127.0.0.1", port_number=args.port).submit_job_execution(
            "warehouse_job", tags={"dagster/partition": ui_day}
        )
        log(f"launched run {ui_run[:8]} for partition {ui_day} through GraphQL, as the UI does")

        cli_day = (today - timedelta(days=2)).isoformat()
        cli_out = root / "cli_run.out"
        cli = subprocess.Popen(
            [
                PY,
                "-m",
                "orchestration",
                "run",
                "--landing",
                str(landing),
                "--warehouse",
                str(warehouse),
                "--as-of",
                cli_day,
            ],
            cwd=PROJECT,
            env=env,
            stdout=open(cli_out, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log(f"started a CLI run for {cli_day} (pid {cli.pid})")

        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            listed = runs(args.port)
            now = {r["runId"]: r["status"] for r in listed}
            # the CLI's run is in the instance's run list too (execute_in_process), not in its queue
            via_cli = {r["runId"] for r in listed if any(t["key"] == "warehouse/started_by" for t in r["tags"])}
            if not timeline or timeline[-1][1] != now:
                timeline.append((time.monotonic() - t0, now))
                log(
                    "runs: "
                    + ", ".join(f"{k[:8]} {v}" + (" (CLI)" if k in via_cli else "") for k, v in sorted(now.items()))
                )
            if sum(s in IN_PROGRESS for k, s in now.items() if k not in via_cli) > 1:
                problems.append(f"two queued Dagster runs in progress at once: {now}")
            if ui_run in now and now[ui_run] != "QUEUED" and now.get(first["runId"]) in IN_PROGRESS:
                problems.append(f"the UI run {ui_run[:8]} left the queue while the sensor run was in progress")
            if all(s not in ACTIVE for s in now.values()) and cli.poll() is not None:
                break
            time.sleep(0.5)
        else:
            problems.append("runs did not finish within 15 minutes")

        log(f"CLI run exited {cli.returncode}")
        cli_text = cli_out.read_text(errors="replace")
        if cli.returncode != 0:
            problems.append(f"the CLI run exited {cli.returncode}")
        if "Traceback" in cli_text:
            problems.append("the CLI run printed a traceback")
        held = []  # (start, end, who): when each run held the warehouse
        import dagster as dg

        os.environ["DAGSTER_HOME"] = str(warehouse / "dagster_home")
        with dg.DagsterInstance.get() as instance:
            for rec in instance.get_run_records():
                run = rec.dagster_run
                if run.status != dg.DagsterRunStatus.SUCCESS:
                    problems.append(f"run {run.run_id[:8]} ended {run.status.value}")
                logs = instance.all_logs(run.run_id)
                text = [e.user_message or "" for e in logs]
                if any("Could not set lock on file" in m for m in text):
                    problems.append(f"run {run.run_id[:8]}: DuckDB lock collision in its log")
                for m in text:
                    if "is busy" in m:
                        log(f"run {run.run_id[:8]} said: {m}")
                if run.tags.get("warehouse/started_by"):
                    continue  # the CLI's run: from the CLI's own log below
                # a Dagster run holds the warehouse from its resources' set-up to its end
                got = [
                    e.timestamp
                    for e in logs
                    if e.dagster_event is not None and e.dagster_event.event_type_value == "RESOURCE_INIT_SUCCESS"
                ]
                if got:
                    held.append((min(got), rec.end_time or time.time(), f"dagster {run.run_id[:8]}"))
        cli_log = next((warehouse / "logs").glob("*.log"), None)  # the CLI run's log: from lock to end
        stamps = re.findall(r"^(\d\d:\d\d:\d\d\.\d{3}) ", cli_log.read_text(), re.M) if cli_log else []
        if stamps:
            day = datetime.now(UTC).date()

            def ts(s: str) -> float:
                return datetime.combine(day, datetime.strptime(s, "%H:%M:%S.%f").time(), tzinfo=UTC).timestamp()

            held.append((ts(stamps[0]), ts(stamps[-1]), "cli"))
        held.sort()
        for (_, e1, w1), (s2, _, w2) in zip(held, held[1:]):
            if s2 < e1 - 0.5:
                problems.append(f"{w1} and {w2} held the warehouse at the same time")
        for s, e, w in held:
            log(
                f"held the warehouse: {w} {datetime.fromtimestamp(s, UTC):%H:%M:%S}-"
                f"{datetime.fromtimestamp(e, UTC):%H:%M:%S} UTC"
            )
        waiting_line = [ln for ln in cli_text.splitlines() if "is busy" in ln]
        log("CLI said: " + (waiting_line[0].strip() if waiting_line else "(it did not have to wait)"))
        log("CLI's last line: " + cli_text.strip().splitlines()[-1])
        queued_seen = any(s.get(ui_run) == "QUEUED" for _, s in timeline) and any(
            s.get(ui_run) == "QUEUED" and s.get(first["runId"]) in IN_PROGRESS for _, s in timeline
        )
        if not queued_seen:
            problems.append("the UI run was never seen QUEUED behind the sensor's run")
    finally:
        for p in (cli, dev):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"kept {root}")
    if problems:
        for p in problems:
            log(f"PROBLEM: {p}")
        return 1
    log("OK: the runs queued and ran one at a time; none collided; the CLI run waited its turn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
