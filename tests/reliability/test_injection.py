"""Landing values that are SQL never run: ids and text fields holding `*/`, `/*`, `'`, `"`, `;`,
`--`, a newline and a backslash — among them the charge point id that once broke out of a SQL
comment in the compiled dbt code, created a table in the build database and wrote a file outside
the warehouse — in every registry and every event source, through a full run, an incremental run
and a run without new data of the real job.

Asserted: every run publishes; no table appears that the project does not make, and no file is
written outside the warehouse; each hostile record is in raw exactly as written, or in the
quarantine with the rule it broke; the hostile ids and names reach the published marts intact;
the incremental run was incremental (the hostile keys went through run_plan as data); no landing
value appears in any SQL dbt compiled or ran."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.config import PROJECT_DIR
from orchestration.run import run_job
from tests.conftest import read_serving

pytestmark = pytest.mark.e2e

D1, D2, D3 = date(2025, 3, 27), date(2025, 3, 28), date(2025, 3, 29)


def hostile_values(outside: Path) -> list[str]:
    return [
        # broke out of /* ... */ in compiled SQL and created main.pwned
        "CP-X*/ select 1 as a); create table if not exists main.pwned as select 42 as answer; "
        "create temporary table zz as (/*",
        # wrote a file outside the warehouse
        f"x*/ select 1); copy (select 42 as answer) to '{outside}' (format csv); select (/*",
        "quote'); drop table raw.sessions; --",
        'double"quote',
        "semi;colon",
        "dash--dash",
        "back\\slash\\",
        "star/*open",
        "new\nline",
    ]


def _csv(header: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode()


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _ts(day: date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def write_hostile_landing(landing: Path, values: list[str]) -> dict[str, list[str]]:
    """Hostile records in every source (a file of their own per source and day), referring to
    each other like real ones; returns {source: [hostile ids]}."""
    ids: dict[str, list[str]] = {}

    def key(prefix: str, i: int, v: str) -> str:
        return v if prefix == "CP" and i == 0 else f"{prefix}-H{i}-{v}"

    def put(rel: str, content: bytes) -> None:
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_bytes(content)

    n = range(len(values))
    op = {i: key("OP", i, v) for i, v in zip(n, values)}
    tm = {i: key("TM", i, v) for i, v in zip(n, values)}
    site = {i: key("LOC", i, v) for i, v in zip(n, values)}
    cp = {i: key("CP", i, v) for i, v in zip(n, values)}
    ses = {i: key("S", i, v) for i, v in zip(n, values)}
    cdr = {i: key("CDR", i, v) for i, v in zip(n, values)}
    entry = {i: key("LE", i, v) for i, v in zip(n, values)}
    ids.update(
        operators=list(op.values()),
        teams=list(tm.values()),
        sites=list(site.values()),
        charge_points=list(cp.values()),
        sessions=list(ses.values()),
        cdrs=list(cdr.values()),
        ledger=list(entry.values()),
    )
    registered = _ts(D1 - timedelta(days=30), 9)
    put(
        f"operators/operators_hostile_{D1}.csv",
        _csv(
            ["operator_id", "name", "parent_operator_id", "country_code", "currency", "updated_at"],
            [
                {
                    "operator_id": op[i],
                    "name": v,
                    "parent_operator_id": "",
                    "country_code": "DK",
                    "currency": "DKK",
                    "updated_at": registered,
                }
                for i, v in zip(n, values)
            ],
        ),
    )
    put(
        f"teams/teams_hostile_{D1}.csv",
        _csv(
            ["team_id", "operator_id", "name", "created_at", "updated_at"],
            [
                {"team_id": tm[i], "operator_id": op[i], "name": v, "created_at": registered, "updated_at": registered}
                for i, v in zip(n, values)
            ],
        ),
    )
    put(
        f"sites/sites_hostile_{D1}.csv",
        _csv(
            [
                "site_id",
                "operator_id",
                "team_id",
                "name",
                "address",
                "city",
                "postal_code",
                "country_code",
                "latitude",
                "longitude",
                "time_zone",
                "created_at",
                "updated_at",
            ],
            [
                {
                    "site_id": site[i],
                    "operator_id": op[i],
                    "team_id": tm[i],
                    "name": v,
                    "address": v,
                    "city": v,
                    "postal_code": v,
                    "country_code": "DK",
                    "latitude": "55.6",
                    "longitude": "12.5",
                    "time_zone": "Europe/Copenhagen",
                    "created_at": registered,
                    "updated_at": registered,
                }
                for i, v in zip(n, values)
            ],
        ),
    )
    put(
        f"charge_points/charge_points_hostile_{D1}.csv",
        _csv(
            [
                "charge_point_id",
                "site_id",
                "team_id",
                "operator_id",
                "brand",
                "model",
                "firmware_version",
                "charging_type",
                "max_power_kw",
                "connector_count",
                "access",
                "roaming_enabled",
                "commissioned_at",
                "decommissioned_at",
                "updated_at",
            ],
            [
                {
                    "charge_point_id": cp[i],
                    "site_id": site[i],
                    "team_id": tm[i],
                    "operator_id": op[i],
                    "brand": v,
                    "model": v,
                    "firmware_version": v,
                    "charging_type": "DC",
                    "max_power_kw": "150",
                    "connector_count": "2",
                    "access": "public",
                    "roaming_enabled": "true",
                    "commissioned_at": registered,
                    "decommissioned_at": "",
                    "updated_at": registered,
                }
                for i, v in zip(n, values)
            ],
        ),
    )
    put(
        f"plans/plans_hostile_{D1}.csv",
        _csv(
            ["plan_id", "operator_id", "name", "price", "currency", "billing_period", "updated_at"],
            [
                {
                    "plan_id": key("PL", i, v),
                    "operator_id": op[i],
                    "name": v,
                    "price": "10.0000",
                    "currency": "DKK",
                    "billing_period": "month",
                    "updated_at": registered,
                }
                for i, v in zip(n, values)
            ],
        ),
    )
    put(
        f"subscriptions/subscriptions_hostile_{D1}.csv",
        _csv(
            ["subscription_id", "plan_id", "team_id", "started_at", "ended_at", "updated_at"],
            [
                {
                    "subscription_id": key("SUB", i, v),
                    "plan_id": key("PL", i, v),
                    "team_id": tm[i],
                    "started_at": registered,
                    "ended_at": "",
                    "updated_at": registered,
                }
                for i, v in zip(n, values)
            ],
        ),
    )
    put(
        f"wallets/wallets_hostile_{D1}.csv",
        _csv(
            ["wallet_id", "owner_type", "owner_id", "currency", "balance", "updated_at"],
            [
                {
                    "wallet_id": key("WA", i, v),
                    "owner_type": "team",
                    "owner_id": tm[i],
                    "currency": "DKK",
                    "balance": "100.0000",
                    "updated_at": registered,
                }
                for i, v in zip(n, values)
            ],
        ),
    )

    def session(i: int, day: date, state: str) -> dict:
        done = state != "in_progress"
        return {
            "session_id": ses[i],
            "charge_point_id": cp[i],
            "connector_id": 1,
            "paying_team_id": tm[i],
            "state": state,
            "plugged_in_at": _ts(day, 22),
            "charging_started_at": _ts(day, 22, 1),
            "charging_ended_at": _ts(day + timedelta(days=1), 0, 30) if done else None,
            "unplugged_at": _ts(day + timedelta(days=1), 0, 40) if done else None,
            "failed_at": None,
            "failure_reason": None,
            "stop_reason": "EVDisconnected" if done else None,
            "kwh": 30.5 if done else None,
            "price_excl_vat": "20.0000" if done else None,
            "price_incl_vat": "25.0000" if done else None,
            "currency": "DKK",
            "is_roaming": True,
            "updated_at": _ts(day, 23) if not done else _ts(day + timedelta(days=1), 0, 45),
        }

    def cdr_record(i: int, cdr_id: str, day: date, credit: bool = False) -> dict:
        sign = -1 if credit else 1
        return {
            "country_code": "DK",
            "party_id": "NVD",
            "id": cdr_id,
            "start_date_time": _ts(day, 22, 1),
            "end_date_time": _ts(day + timedelta(days=1), 0, 30),
            "session_id": ses[i],
            "cdr_token": {
                "country_code": "DE",
                "party_id": "SHL",
                "uid": values[i][:36],
                "type": "RFID",
                "contract_id": values[i],
            },
            "cdr_location": {
                "id": site[i],
                "evse_uid": cp[i],
                "connector_id": "1",
                "coordinates": {"latitude": "55.6", "longitude": "12.5"},
                "country": "DNK",
                "connector_power_type": "DC",
                "name": values[i],
                "address": values[i],
            },
            "currency": "DKK",
            "total_cost": {"excl_vat": 20.0 * sign, "incl_vat": 25.0 * sign},
            "total_energy": 30.5 * sign,
            "total_time": 2.5,
            "total_parking_time": 0.2,
            "credit": credit,
            "credit_reference_id": cdr[i] if credit else None,
            "last_updated": _ts(day + timedelta(days=2 if credit else 1), 1),
        }

    put(f"sessions/sessions_hostile_{D1}.jsonl", _jsonl([session(i, D1, "in_progress") for i in n]))
    put(f"sessions/sessions_hostile_{D3}.jsonl", _jsonl([session(i, D1, "completed") for i in n]))
    put(f"cdrs/hubject/cdrs_hostile_{D2}.jsonl", _jsonl([cdr_record(i, cdr[i], D1) for i in n]))
    # a credit CDR for each, later: the incremental run pairs it with the CDR it cancels
    put(
        f"cdrs/hubject/cdrs_hostile_credits_{D3}.jsonl",
        _jsonl([cdr_record(i, cdr[i] + "-CR", D1, credit=True) for i in n]),
    )
    ids["cdrs"] += [c + "-CR" for c in cdr.values()]
    put(
        f"ocpp/ocpp_hostile_{D1}.jsonl",
        _jsonl(
            [
                {
                    "charge_point_id": cp[i],
                    "received_at": _ts(D1, 22, 5),
                    "frame": [
                        2,
                        f"M-H{i}-{v}",
                        "StatusNotification",
                        {
                            "connectorId": 1,
                            "errorCode": "GroundFailure",
                            "status": "Faulted",
                            "timestamp": _ts(D1, 22, 4),
                            "info": v[:50],
                            "vendorErrorCode": v[:50],
                        },
                    ],
                }
                for i, v in zip(n, values)
            ]
        ),
    )
    put(
        f"ratings/ratings_hostile_{D3}.csv",
        _csv(
            ["rating_id", "session_id", "charge_point_id", "stars", "created_at"],
            [
                {
                    "rating_id": key("R", i, v),
                    "session_id": ses[i],
                    "charge_point_id": cp[i],
                    "stars": "4",
                    "created_at": _ts(D3, 8),
                }
                for i, v in zip(n, values)
            ],
        ),
    )
    put(
        f"invoices/invoices_hostile_{D3}.jsonl",
        _jsonl(
            [
                {
                    "invoice_id": key("INV", i, v),
                    "operator_id": op[i],
                    "customer_type": "team",
                    "customer_id": tm[i],
                    "status": "unpaid",
                    "wallet_id": key("WA", i, v),
                    "currency": "DKK",
                    "payable_amount": "20.0000",
                    "issued_at": _ts(D3, 4),
                    "due_at": _ts(D3 + timedelta(days=30), 4),
                    "period_from": _ts(D1, 0),
                    "period_to": _ts(D2, 23),
                    "paid_at": None,
                    "updated_at": _ts(D3, 4),
                }
                for i, v in zip(n, values)
            ]
        ),
    )
    put(
        f"ledger/ledger_hostile_{D3}.jsonl",
        _jsonl(
            [
                {
                    "entry_id": entry[i],
                    "operator_id": op[i],
                    "team_id": tm[i],
                    "plan_id": None,
                    "kind": "charge",
                    "amount": "20.0000",
                    "currency": "DKK",
                    "booked_at": _ts(D2, 1),
                    "session_id": ses[i],
                    "invoice_id": key("INV", i, v),
                }
                for i, v in zip(n, values)
            ]
        ),
    )
    # ECB rates: hostile cells (not numbers: that rate alone is quarantined) and a hostile date
    fx = next((landing / "fx_rates").glob("*.csv"))
    header = fx.read_text().splitlines()[0].split(",")  # Date, currencies..., "" (the ECB's trailing comma)

    def line(first: str, cell: str) -> str:
        row = [first, cell] + ["1.5"] * (len(header) - 2)
        if header[-1] == "":
            row[-1] = ""
        return ",".join('"' + c.replace('"', '""') + '"' if any(ch in c for ch in ',"\n') else c for c in row)

    rows = (
        [line((D3 + timedelta(days=k)).isoformat(), values[k]) for k in range(1, 4)]
        + [line(values[0], "1.0")]
        + [line((D3 + timedelta(days=k)).isoformat(), "1.5") for k in range(4, 10)]
    )  # good lines beside them
    put(f"fx_rates/eurofxref-hostile-{D3}.csv", ("\n".join([",".join(header)] + rows) + "\n").encode())
    return ids


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("injection")
    landing, warehouse, outside = root / "landing", root / "warehouse", root / "outside.csv"
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration",
            "generate",
            "--out",
            str(landing),
            "--sessions",
            "300",
            "--start",
            D1.isoformat(),
            "--end",
            D3.isoformat(),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stdout[-3000:] + gen.stderr[-3000:]
    values = hostile_values(outside)
    ids = write_hostile_landing(landing, values)
    mp = pytest.MonkeyPatch()
    mp.setenv("WAREHOUSE_MAX_BAD_SHARE", "0.5")  # the hostile files are small: a bad record is a large share
    outcomes, tables, plan_sets = {}, {}, {}
    try:
        with dg.instance_for_test() as instance:
            for name, days in (("full", (D1, D2)), ("incremental", (D3, D3)), ("no new data", (D3, D3))):
                outcomes[name] = run_job(
                    landing=landing, warehouse=warehouse, as_of=days[1], days=days, instance=instance
                )
                tables[name] = _tables(warehouse / "build.duckdb")
                if outcomes[name].published:
                    plan_sets[name] = {
                        t: read_serving(warehouse / "build.duckdb", f"SELECT * FROM run_plan.{t}")
                        for t in ("sessions", "cdrs", "ledger_entries")
                    }
    finally:
        mp.undo()
    return {
        "warehouse": warehouse,
        "outside": outside,
        "values": values,
        "ids": ids,
        "outcomes": outcomes,
        "tables": tables,
        "plan_sets": plan_sets,
        "root": root,
    }


def _tables(db: Path) -> set[tuple[str, str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return set(
            con.execute(
                "SELECT schema_name, table_name, 'table' FROM duckdb_tables() UNION ALL "
                "SELECT schema_name, view_name, 'view' FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        )
    finally:
        con.close()


def test_every_run_publishes(runs):
    failed = {k: o.report_lines() for k, o in runs["outcomes"].items() if not o.published}
    assert not failed, failed


def test_nothing_ran(runs):
    """No table or view the project does not make, none added by the later runs, no file written."""
    wh = runs["warehouse"]
    for db in (wh / "build.duckdb", wh / "serving.duckdb"):
        names = {t for _, t, _ in _tables(db)}
        assert not names & {"pwned", "zz"}, db
    schemas = {s for s, _, _ in runs["tables"]["no new data"]}
    assert schemas <= {"raw", "run_plan", "staging", "intermediate", "marts", "reference"}, schemas
    assert runs["tables"]["incremental"] == runs["tables"]["full"] == runs["tables"]["no new data"]
    assert {s for s, _, _ in _tables(wh / "serving.duckdb")} == {"marts"}
    assert not runs["outside"].exists()
    assert not list(runs["root"].rglob("outside*")), "a file was written outside the warehouse"


def test_each_hostile_record_is_in_raw_as_written_or_quarantined(runs):
    build = runs["warehouse"] / "build.duckdb"
    keys = {
        "operators": "operator_id",
        "teams": "team_id",
        "sites": "site_id",
        "charge_points": "charge_point_id",
        "sessions": "session_id",
        "cdrs": "id",
        "ledger": "entry_id",
    }
    for source, hostile in runs["ids"].items():
        loaded = {
            r[0]
            for r in read_serving(
                build, f"SELECT {keys[source]} FROM raw.{source} WHERE {keys[source]} IN (SELECT unnest(?))", [hostile]
            )
        }
        quarantined = read_serving(build, "SELECT raw_text, rule FROM raw._quarantine WHERE source = ?", [source])
        for value in hostile:
            written = (value, json.dumps(value)[1:-1], value.replace('"', '""'))
            in_quarantine = [rule for text, rule in quarantined if any(w in (text or "") for w in written)]
            assert value in loaded or in_quarantine, (source, value)
        assert len(loaded) >= len(hostile) - 2, (source, sorted(set(hostile) - loaded))


def test_hostile_values_reach_the_marts_intact(runs):
    serving = runs["warehouse"] / "serving.duckdb"
    values = runs["values"]
    attack = values[0]
    assert read_serving(
        serving, "SELECT count(*) FROM marts.dim_charge_points WHERE charge_point_id = ?", [attack]
    ) == [(1,)]
    assert read_serving(
        serving, "SELECT count(*) FROM marts.fct_charge_sessions WHERE charge_point_id = ? AND is_finished", [attack]
    ) == [(1,)]
    names = {r[0] for r in read_serving(serving, "SELECT operator_name FROM marts.dim_operators")}
    assert set(values) - {v for v in values if "\n" in v} <= names
    cdrs = {r[0] for r in read_serving(serving, "SELECT cdr_id FROM marts.fct_roaming_cdrs")}
    assert runs["ids"]["cdrs"][0] in cdrs and runs["ids"]["cdrs"][0] + "-CR" in cdrs
    cancelled = read_serving(
        serving, "SELECT is_cancelled, revenue FROM marts.fct_roaming_cdrs WHERE cdr_id = ?", [runs["ids"]["cdrs"][0]]
    )
    assert cancelled == [(True, 20)]
    entries = {r[0] for r in read_serving(serving, "SELECT entry_id FROM marts.fct_ledger_entries")}
    assert runs["ids"]["ledger"][0] in entries


def test_the_incremental_run_took_the_hostile_keys_as_data(runs):
    build = runs["warehouse"] / "build.duckdb"
    modes = [r[0] for r in read_serving(build, "SELECT mode FROM run_plan.plans ORDER BY planned_at")]
    assert modes == ["full", "incremental", "none"], modes
    sets = runs["plan_sets"]["incremental"]
    hostile_sessions = {s for s in runs["ids"]["sessions"] if "\n" not in s}
    assert hostile_sessions <= {r[0] for r in sets["sessions"]}
    assert {c for c in runs["ids"]["cdrs"] if "\n" not in c} <= {r[2] for r in sets["cdrs"]}
    assert {e for e in runs["ids"]["ledger"] if "\n" not in e} <= {r[0] for r in sets["ledger_entries"]}


def test_no_landing_value_in_any_sql_dbt_ran(runs):
    sql_files = [p for p in (runs["warehouse"] / "dbt_runs").rglob("*.sql")]
    assert len(sql_files) > 100
    markers = [
        "pwned",
        "copy (select 42",
        "drop table raw.sessions",
        'double"quote',
        "semi;colon",
        "dash--dash",
        "star/*open",
        "back\\slash",
    ] + [f"-H{i}-" for i in range(len(runs["values"]))]
    for path in sql_files:
        text = path.read_text(errors="replace")
        found = [m for m in markers if m in text]
        assert not found, (path, found)
