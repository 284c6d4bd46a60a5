"""The hand-written load (bench/load_reference.sql), the loader's benchmark opponent, produces the
loader's raw rows, quarantine rows and audit rows — on a landing zone with bad records of many
kinds (so that the two cannot drift apart on the rules), read by both from the same files."""

from __future__ import annotations

import json
import shutil

from bench.compare_load import compare
from bench.run_load_reference import run as run_reference
from orchestration.load.loader import connect, load_source
from tests.reliability.helpers import (
    cdr,
    jsonl,
    ledger,
    make_registry_db,
    ocpp,
    session,
    status_notification,
    write_files,
)


def _files() -> dict[str, str]:
    s = [session(i) for i in range(600)]
    sessions_bad = [
        '{"session_id": "t1", "charge_point_id": "c',
        '["s1", "cp1"]',
        "null",
        {k: v for k, v in session(9001).items() if k != "updated_at"},
        session(9002, session_id={"a": 1}),
        session(9003, connector_id=1.5),
        session(9004, is_roaming="yes"),
        session(9005, state="paused"),
        session(9006, plugged_in_at="01/03/2025 10:00"),
        session(9007, session_id="s9007\u0000"),
        session(9008, plugged_in_at="1999-01-01T00:00:00Z", charging_started_at=None, charging_ended_at=None),
        session(9009, charging_started_at=None, charging_ended_at=None, unplugged_at="2025-02-01T00:00:00Z"),
        session(9010, kwh=-3),
        session(9011, currency="XYZ"),
        session(9012, charge_point_id="cp404"),
        session(9013, charging_started_at="2025-01-01T09:00:00Z"),
        session(9014, unplugged_at=None),
        session(9015, price_incl_vat="1.0000"),
        session(9016, stop_reason="Bored"),
        session(9017, connector_id=99),
        session(5),
        session(6, kwh=77.0),  # a duplicate and a conflict of records of this file
    ]
    extra = [
        session(9100, vehicle={"vin": "X1"}),
        session(9101, plugged_in_at="2025-01-01T11:00:00+01:00", charging_started_at=None, charging_ended_at=None),
    ]
    ocpp_bad = [
        ocpp(900, frame=[3, "x1", {"currentTime": "2025-01-01T10:00:00Z"}]),
        ocpp(901, frame={"action": "Heartbeat"}),
        ocpp(902, frame=[2, "x2", "Teleport", {}]),
        status_notification(903, errorCode="Oops"),
        ocpp(904, frame=[2, "x4", "StatusNotification", {"connectorId": 1, "errorCode": "NoError"}]),
        status_notification(905, colour="red"),
        status_notification(906, timestamp="yesterday"),
        ocpp(907, frame=[2, "x7", "BootNotification", {"chargePointVendor": "V" * 21, "chargePointModel": "M"}]),
        ocpp(908, charge_point_id="cp404"),
        status_notification(909, connectorId="one"),
        ocpp(910, received_at="2099-01-01T00:00:00Z"),
    ]
    ocpp_ok = (
        [ocpp(i) for i in range(300)]
        + [status_notification(950 + i) for i in range(5)]
        + [ocpp(960, frame=[2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}])]
    )
    cdrs_ok = [cdr(1000 + i) for i in range(300)] + [cdr(0)]  # c0: identical to the CDR loaded before
    cdrs_bad = [
        cdr(
            9001,
            credit=True,
            credit_reference_id="c1000",
            total_energy=10.0,
            total_cost={"excl_vat": -30.0, "incl_vat": -37.5},
        ),  # OCPI 2.2.1 credit: loads
        cdr(
            9002,
            credit=True,
            credit_reference_id="c1001",
            total_energy=10.0,
            total_cost={"excl_vat": 30.0, "incl_vat": 37.5},
        ),
        cdr(9003, credit=True, credit_reference_id="c404", total_energy=-10.0, total_cost={"excl_vat": -30.0}),
        cdr(9004, total_energy=-5.0),
        cdr(9005, **{"cdr_location.evse_uid": "cp404"}),
        cdr(9006, **{"cdr_location.coordinates": {"latitude": "95.0", "longitude": "10.2"}}),
        cdr(9007, end_date_time="2025-01-01T09:00:00Z"),
        {k: v for k, v in cdr(9008).items() if k != "cdr_token"},
    ]
    ledger_ok = [ledger(i) for i in range(300)]
    ledger_bad = [
        ledger(9001, kind="bonus"),
        ledger(9002, amount="12,50"),
        ledger(9003, kind="subscription"),
        ledger(9004, operator_id="op404"),
        ledger(9005, amount="5000000"),
        ledger(3),
    ]
    return {
        "sessions/a.jsonl": jsonl(s[:300] + sessions_bad[:10]),
        "sessions/b.jsonl": jsonl(s[300:] + sessions_bad[10:] + extra).replace("\n", "\r\n", 3),
        "ocpp/o.jsonl": jsonl(ocpp_ok + ocpp_bad),
        "cdrs/hubject/c.jsonl": jsonl(cdrs_ok[:150] + cdrs_bad[:4]),
        "cdrs/gireve/c.jsonl": jsonl(cdrs_ok[150:] + cdrs_bad[4:]),
        "ledger/l.jsonl": "\ufeff" + jsonl(ledger_ok + ledger_bad),
    }


def test_the_hand_written_load_equals_the_loader(tmp_path):
    landing = tmp_path / "landing"
    base = make_registry_db(tmp_path / "base.duckdb", landing)
    write_files(landing, _files())
    loader_db, ref_db = tmp_path / "a" / "build.duckdb", tmp_path / "b" / "build.duckdb"
    for db in (loader_db, ref_db):
        db.parent.mkdir()
        shutil.copyfile(base, db)
    con = connect(loader_db)
    try:
        for source in ("sessions", "ledger", "cdrs", "ocpp"):
            res = load_source(con, source, landing)
            assert all(f.status in ("loaded", "skipped") for f in res.files), res.files
            assert res.gx_disagreements == []
        rules = con.execute("SELECT count(DISTINCT rule), count(*) FROM raw._quarantine").fetchone()
    finally:
        con.close()
    assert rules[0] >= 35 and rules[1] >= 40, rules  # many rules exercised
    run_reference(ref_db, landing)
    result = compare(loader_db, ref_db)
    assert all(r["equal"] for r in result.values()), json.dumps(result, indent=1)
    assert result["raw._quarantine"]["rows"] == rules[1]
