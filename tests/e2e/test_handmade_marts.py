"""End to end on a small hand-made landing zone: the CLI loads, builds and publishes, and every
dashboard's marts hold the values worked out by hand below (DESIGN.md section 5).

The world (as_of_date 2025-03-31; site s1 in Copenhagen, UTC+1 until the DST jump on
2025-03-30 02:00 local, UTC+2 after — so 2025-03-30 is a 23-hour day):

  operators  grp (top, DK, DKK) ← dk (child of grp, DKK)
  teams      t1, t2 of dk
  site       s1 (dk, t1), Europe/Copenhagen
  cp1        AC 22 kW, public, roaming, commissioned 2025-03-01T00:00Z (local Mar 1),
             firmware 1.0, then 1.1 from 2025-03-20T00:00Z (a second registry version)
  cp2        DC 150 kW, private, no roaming, commissioned 2025-03-10T12:00Z (local Mar 10),
             decommissioned 2025-03-25T12:00Z (local Mar 25: active Mar 10..24 = 15 days)

Sessions (UTC; local = UTC+1 until Mar 30):
  S1 cp1 Mar 5 22:00 → Mar 6 01:00  30 kWh completed   across local midnight: 10 kWh/1 h on
                                                        Mar 5, 20 kWh/2 h on Mar 6
  S2 cp1 Mar 10 08:00 → 10:00       14 kWh completed   (in_progress in one file, completed in a
                                                        later one: the latest version wins)
  S3 cp1 Mar 10 09:00 → 11:00       10 kWh completed   overlaps S2: cp1 busy 08–11 = 3 h, not 4
  S4 cp2 Mar 12 10:00 → 10:05        0 kWh failed       GroundFailure; 5 min occupied
  S5 cp1 Mar 21 10:00 → 12:00       20 kWh failed       firmware 1.1
  S6 cp1 Mar 15 10:00 → 11:00       11 kWh completed   roaming, CDR c1 33.00 DKK
  S7 cp1 Mar 16 10:00 → 11:00        9 kWh completed   roaming, CDR c2 27.00 DKK, cancelled by
                                                        credit CDR c3
  S8 cp1 Mar 20 10:00 → (open)       in_progress        counts nowhere
  S9 cp1 Mar 29 22:00 → Mar 30 02:00 8 kWh completed   over the DST night: local Mar 29
                                                        23:00–24:00 (1 h) and Mar 30
                                                        00:00–04:00 CEST (3 real hours):
                                                        2 kWh + 6 kWh

March, site s1:
  CP-days   cp1 31 + cp2 15 = 46
  hours     cp1 30×24 + 23 = 743, cp2 15×24 = 360 → 1103 h available
  kWh       30+14+10+0+20+11+9+8 = 102 → 102/46 = 2.2173913 kWh/CP/day (poor, < 20)
  occupied  cp1 3 + 3 + 2 + 1 + 1 + 4 = 14 h, cp2 5 min = 1/12 h → 14.0833333 h
            → 14.0833333 / 1103 × 100 = 1.2768208 % (poor, < 5)
"""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import read_serving

pytestmark = pytest.mark.e2e  # the whole job on a landing zone

AS_OF = "2025-03-31"


def _csv(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


def _jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _session(
    sid, cp, state, plug, unplug, kwh, updated, roaming=False, team="t1", price="0", reason=None, charging=(None, None)
):
    return {
        "session_id": sid,
        "charge_point_id": cp,
        "connector_id": 1,
        "paying_team_id": team,
        "state": state,
        "plugged_in_at": plug,
        "charging_started_at": charging[0],
        "charging_ended_at": charging[1],
        "unplugged_at": unplug,
        "failed_at": unplug if state == "failed" else None,
        "failure_reason": reason,
        "stop_reason": None,
        "kwh": kwh,
        "price_excl_vat": price,
        "price_incl_vat": price,
        "currency": "DKK",
        "is_roaming": roaming,
        "updated_at": updated,
    }


def _cdr(cid, session, start, end, excl, kwh, credit=False, ref=None, updated="2025-03-17T00:00:00Z"):
    return {
        "country_code": "DK",
        "party_id": "NCH",
        "id": cid,
        "start_date_time": start,
        "end_date_time": end,
        "session_id": session,
        "cdr_token": {
            "country_code": "DE",
            "party_id": "ABC",
            "uid": "TOKEN1",
            "type": "RFID",
            "contract_id": "DE-ABC-C12345678-X",
        },
        "auth_method": "WHITELIST",
        "cdr_location": {
            "id": "s1",
            "name": "Harbour",
            "address": "Kaj 1",
            "city": "Copenhagen",
            "postal_code": "1050",
            "country": "DNK",
            "coordinates": {"latitude": "55.680000", "longitude": "12.570000"},
            "evse_uid": "cp1",
            "evse_id": "DK*NCH*E1",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "DKK",
        "total_cost": {"excl_vat": excl, "incl_vat": excl * 1.25},
        "total_energy": kwh,
        "total_time": 1.0 if not credit else -1.0,
        "total_parking_time": 0.0,
        "credit": credit,
        "credit_reference_id": ref,
        "last_updated": updated,
    }


def write_landing(root: Path) -> None:
    _csv(
        root / "operators" / "operators.csv",
        "operator_id,name,parent_operator_id,country_code,currency,updated_at",
        [
            "grp,Nordic Group,,DK,DKK,2024-01-01T00:00:00Z",
            "dk,Nordic DK,grp,DK,DKK,2024-01-01T00:00:00Z",
        ],
    )
    _csv(
        root / "teams" / "teams.csv",
        "team_id,operator_id,name,created_at,updated_at",
        [
            "t1,dk,Fleet One,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z",
            "t2,dk,Fleet Two,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z",
        ],
    )
    _csv(
        root / "sites" / "sites.csv",
        "site_id,operator_id,team_id,name,address,city,postal_code,country_code,latitude,longitude,time_zone,created_at,updated_at",
        [
            "s1,dk,t1,Harbour,Kaj 1,Copenhagen,1050,DK,55.68,12.57,Europe/Copenhagen,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z",
        ],
    )
    cp_header = (
        "charge_point_id,site_id,team_id,operator_id,brand,model,firmware_version,charging_type,max_power_kw,"
        "connector_count,access,roaming_enabled,commissioned_at,decommissioned_at,updated_at"
    )
    _csv(
        root / "charge_points" / "charge_points_2025-03-01.csv",
        cp_header,
        [
            "cp1,s1,t1,dk,Alfen,Eve,1.0,AC,22,2,public,true,2025-03-01T00:00:00Z,,2025-03-01T00:00:00Z",
            "cp2,s1,t1,dk,Kempower,S500,2.3,DC,150,1,private,false,2025-03-10T12:00:00Z,2025-03-25T12:00:00Z,2025-03-10T12:00:00Z",
        ],
    )
    _csv(
        root / "charge_points" / "charge_points_2025-03-20.csv",
        cp_header,
        [
            "cp1,s1,t1,dk,Alfen,Eve,1.1,AC,22,2,public,true,2025-03-01T00:00:00Z,,2025-03-20T00:00:00Z",
        ],
    )
    _jsonl(
        root / "sessions" / "sessions_2025-03-10.jsonl",
        [
            _session(
                "S1",
                "cp1",
                "completed",
                "2025-03-05T22:00:00Z",
                "2025-03-06T01:00:00Z",
                30,
                "2025-03-06T01:00:00Z",
                price="60.0000",
                charging=("2025-03-05T22:10:00Z", "2025-03-05T23:40:00Z"),
            ),
            _session("S2", "cp1", "in_progress", "2025-03-10T08:00:00Z", None, 5, "2025-03-10T09:00:00Z"),
        ],
    )
    _jsonl(
        root / "sessions" / "sessions_2025-03-31.jsonl",
        [
            _session(
                "S2",
                "cp1",
                "completed",
                "2025-03-10T08:00:00Z",
                "2025-03-10T10:00:00Z",
                14,
                "2025-03-10T10:00:00Z",
                charging=("2025-03-10T08:05:00Z", "2025-03-10T09:35:00Z"),
            ),
            _session(
                "S3",
                "cp1",
                "completed",
                "2025-03-10T09:00:00Z",
                "2025-03-10T11:00:00Z",
                10,
                "2025-03-10T11:00:00Z",
                charging=("2025-03-10T09:05:00Z", "2025-03-10T10:05:00Z"),
            ),
            _session(
                "S4",
                "cp2",
                "failed",
                "2025-03-12T10:00:00Z",
                "2025-03-12T10:05:00Z",
                0,
                "2025-03-12T10:05:00Z",
                reason="GroundFailure",
            ),
            _session(
                "S5",
                "cp1",
                "failed",
                "2025-03-21T10:00:00Z",
                "2025-03-21T12:00:00Z",
                20,
                "2025-03-21T12:00:00Z",
                reason="OtherError",
            ),
            _session(
                "S6",
                "cp1",
                "completed",
                "2025-03-15T10:00:00Z",
                "2025-03-15T11:00:00Z",
                11,
                "2025-03-15T11:00:00Z",
                roaming=True,
                team=None,
            ),
            _session(
                "S7",
                "cp1",
                "completed",
                "2025-03-16T10:00:00Z",
                "2025-03-16T11:00:00Z",
                9,
                "2025-03-16T11:00:00Z",
                roaming=True,
                team=None,
            ),
            _session("S8", "cp1", "in_progress", "2025-03-20T10:00:00Z", None, 3, "2025-03-20T10:30:00Z"),
            _session(
                "S9",
                "cp1",
                "completed",
                "2025-03-29T22:00:00+00:00",
                "2025-03-30T04:00:00+02:00",
                8,
                "2025-03-30T02:00:00Z",
            ),
        ],
    )
    _jsonl(
        root / "cdrs" / "hubject" / "cdrs_2025-03-16.jsonl",
        [
            _cdr("c1", "S6", "2025-03-15T10:00:00Z", "2025-03-15T11:00:00Z", 33.0, 11.0),
            _cdr("c2", "S7", "2025-03-16T10:00:00Z", "2025-03-16T11:00:00Z", 27.0, 9.0),
        ],
    )
    _jsonl(
        root / "cdrs" / "hubject" / "cdrs_2025-03-30.jsonl",
        [  # two weeks later: the credit
            _cdr(
                "c3",
                "S7",
                "2025-03-16T10:00:00Z",
                "2025-03-16T11:00:00Z",
                -27.0,
                -9.0,
                credit=True,
                ref="c2",
                updated="2025-03-30T00:00:00Z",
            ),
        ],
    )
    _jsonl(
        root / "ocpp" / "ocpp_2025-03-31.jsonl",
        [
            {
                "charge_point_id": "cp2",
                "received_at": "2025-03-12T10:01:30Z",
                "frame": [
                    2,
                    "m1",
                    "StatusNotification",
                    {
                        "connectorId": 1,
                        "errorCode": "GroundFailure",
                        "status": "Faulted",
                        "timestamp": "2025-03-12T10:01:00Z",
                    },
                ],
            },
            {
                "charge_point_id": "cp2",
                "received_at": "2025-03-12T10:30:00Z",
                "frame": [
                    2,
                    "m2",
                    "StatusNotification",
                    {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
                ],
            },
            # no payload timestamp: dated by received_at 2025-03-31T23:30Z = local Apr 1 01:30 CEST
            {
                "charge_point_id": "cp1",
                "received_at": "2025-03-31T23:30:00Z",
                "frame": [
                    2,
                    "m3",
                    "StatusNotification",
                    {"connectorId": 2, "errorCode": "HighTemperature", "status": "Faulted"},
                ],
            },
            {"charge_point_id": "cp1", "received_at": "2025-03-31T23:40:00Z", "frame": [2, "m4", "Heartbeat", {}]},
            # cp1 port 1 faulted across local midnight; the Available arrives 40 minutes late
            {
                "charge_point_id": "cp1",
                "received_at": "2025-03-14T22:30:02Z",
                "frame": [
                    2,
                    "m7",
                    "StatusNotification",
                    {
                        "connectorId": 1,
                        "errorCode": "EVCommunicationError",
                        "status": "Faulted",
                        "timestamp": "2025-03-14T22:30:00Z",
                    },
                ],
            },
            {
                "charge_point_id": "cp1",
                "received_at": "2025-03-15T01:10:00Z",
                "frame": [
                    2,
                    "m8",
                    "StatusNotification",
                    {
                        "connectorId": 1,
                        "errorCode": "NoError",
                        "status": "Available",
                        "timestamp": "2025-03-15T00:30:00Z",
                    },
                ],
            },
            # maintenance of the whole of cp1 (connectorId 0) on the 23-hour day
            {
                "charge_point_id": "cp1",
                "received_at": "2025-03-30T08:00:05Z",
                "frame": [
                    2,
                    "m5",
                    "StatusNotification",
                    {
                        "connectorId": 0,
                        "errorCode": "NoError",
                        "status": "Unavailable",
                        "timestamp": "2025-03-30T08:00:00Z",
                    },
                ],
            },
            {
                "charge_point_id": "cp1",
                "received_at": "2025-03-30T10:00:05Z",
                "frame": [
                    2,
                    "m6",
                    "StatusNotification",
                    {
                        "connectorId": 0,
                        "errorCode": "NoError",
                        "status": "Available",
                        "timestamp": "2025-03-30T10:00:00Z",
                    },
                ],
            },
        ],
    )
    _csv(
        root / "ratings" / "ratings.csv",
        "rating_id,session_id,charge_point_id,stars,created_at",
        [
            "r1,S1,cp1,5,2025-03-06T08:00:00Z",
            "r2,S2,cp1,3,2025-03-10T12:00:00Z",
        ],
    )
    _jsonl(
        root / "ledger" / "ledger_2025-03.jsonl",
        [
            {
                "entry_id": "e1",
                "operator_id": "dk",
                "team_id": "t1",
                "plan_id": None,
                "kind": "charge",
                "amount": "60.0000",
                "currency": "DKK",
                "booked_at": "2025-03-06T01:00:00Z",
                "session_id": "S1",
                "invoice_id": "i1",
            },
            {
                "entry_id": "e2",
                "operator_id": "dk",
                "team_id": "t1",
                "plan_id": None,
                "kind": "fee",
                "amount": "10",
                "currency": "DKK",
                "booked_at": "2025-01-15T12:00:00Z",
                "session_id": None,
                "invoice_id": None,
            },
            {
                "entry_id": "e3",
                "operator_id": "dk",
                "team_id": "t1",
                "plan_id": "p1",
                "kind": "subscription",
                "amount": "100",
                "currency": "DKK",
                "booked_at": "2025-03-01T00:00:00Z",
                "session_id": None,
                "invoice_id": "i1",
            },
            {
                "entry_id": "e4",
                "operator_id": "dk",
                "team_id": "t1",
                "plan_id": None,
                "kind": "write_off",
                "amount": "-5",
                "currency": "DKK",
                "booked_at": "2025-03-31T10:00:00Z",
                "session_id": None,
                "invoice_id": None,
            },
            {
                "entry_id": "e5",
                "operator_id": "dk",
                "team_id": "t2",
                "plan_id": None,
                "kind": "intercompany_transfer",
                "amount": "20",
                "currency": "DKK",
                "booked_at": "2025-03-02T09:00:00Z",
                "session_id": None,
                "invoice_id": None,
            },
            {
                "entry_id": "e6",
                "operator_id": "dk",
                "team_id": "t2",
                "plan_id": None,
                "kind": "tax_refund",
                "amount": "3",
                "currency": "DKK",
                "booked_at": "2025-03-08T09:00:00Z",
                "session_id": None,
                "invoice_id": None,
            },
        ],
    )
    # ECB: business days only; 2025-03-01/02 (weekend) use Friday 2025-02-28, 2025-03-08 uses 03-07.
    fx = root / "fx_rates" / "eurofxref-hist.csv"
    fx.parent.mkdir(parents=True)
    fx.write_text(
        "Date,USD,DKK,\n"
        + "".join(
            f"{d},1.0500,{r},\n"
            for d, r in [
                ("2025-03-31", "7.4610"),
                ("2025-03-07", "7.4600"),
                ("2025-03-06", "7.4590"),
                ("2025-03-05", "7.4585"),
                ("2025-03-03", "7.4580"),
                ("2025-02-28", "7.4570"),
                ("2025-01-15", "7.4500"),
            ]
        )
    )
    inv = dict(
        operator_id="dk",
        wallet_id="w1",
        currency="DKK",
        issued_at="2025-03-01T00:00:00Z",
        period_from="2025-02-01T00:00:00Z",
        period_to="2025-02-28T23:59:59Z",
        paid_at=None,
    )
    _jsonl(
        root / "invoices" / "invoices_2025-03.jsonl",
        [
            dict(
                inv,
                invoice_id="i1",
                customer_type="team",
                customer_id="t1",
                status="paid",
                payable_amount="155.00",
                due_at="2025-03-20T00:00:00Z",
                paid_at="2025-03-15T00:00:00Z",
                updated_at="2025-03-15T00:00:00Z",
            ),
            dict(
                inv,
                invoice_id="i2",
                customer_type="team",
                customer_id="t2",
                status="unpaid",
                payable_amount="20.00",
                due_at="2025-03-21T10:00:00Z",
                updated_at="2025-03-01T00:00:00Z",
            ),
            dict(
                inv,
                invoice_id="i2",
                customer_type="team",
                customer_id="t2",
                status="unpaid",
                payable_amount="23.00",
                due_at="2025-03-21T10:00:00Z",
                updated_at="2025-03-02T00:00:00Z",
            ),
            dict(
                inv,
                invoice_id="i3",
                customer_type="operator",
                customer_id="grp",
                status="settled",
                payable_amount="70.00",
                due_at="2025-03-10T00:00:00Z",
                updated_at="2025-03-12T00:00:00Z",
            ),
            dict(
                inv,
                invoice_id="i4",
                customer_type="team",
                customer_id="t1",
                status="unpaid",
                payable_amount="40.00",
                due_at="2025-04-15T00:00:00Z",
                updated_at="2025-03-30T00:00:00Z",
            ),
        ],
    )
    _csv(
        root / "wallets" / "wallets.csv",
        "wallet_id,owner_type,owner_id,currency,balance,updated_at",
        [
            "w1,team,t1,DKK,400.00,2025-03-01T00:00:00Z",
            "w1,team,t1,DKK,500.00,2025-03-20T00:00:00Z",
        ],
    )
    _csv(
        root / "plans" / "plans.csv",
        "plan_id,operator_id,name,price,currency,billing_period,updated_at",
        [
            "p1,dk,Fleet Monthly,100.00,DKK,month,2024-01-01T00:00:00Z",
        ],
    )
    _csv(
        root / "subscriptions" / "subscriptions.csv",
        "subscription_id,plan_id,team_id,started_at,ended_at,updated_at",
        [
            "sub1,p1,t1,2025-01-01T00:00:00Z,,2025-01-01T00:00:00Z",
            "sub2,p1,t2,2024-06-01T00:00:00Z,2025-02-15T00:00:00Z,2025-02-15T00:00:00Z",
            "sub3,p1,t2,2025-03-15T00:00:00Z,,2025-03-15T00:00:00Z",
        ],
    )


@pytest.fixture(scope="module")
def serving(handmade_run) -> Path:
    """The session's run of this landing zone (tests/conftest.py: handmade_run; it asserts that
    the run exits 0 and says PUBLISHED), read-only."""
    return handmade_run.warehouse / "serving.duckdb"


def one(serving, sql, params=None):
    rows = read_serving(serving, sql, params)
    assert len(rows) == 1, rows
    return rows[0]


def test_site_utilization_monthly(serving):
    cp_days, kwh, occupied, kwh_cp_day, pct, kwh_tier, time_tier = one(
        serving,
        """
        SELECT cp_days, kwh, occupied_hours, kwh_per_cp_day, time_utilised_pct, kwh_tier, time_tier
        FROM marts.site_utilization_monthly WHERE site_id = 's1' AND month = DATE '2025-03-01'""",
    )
    assert cp_days == 46
    assert kwh == pytest.approx(102.0)
    assert occupied == pytest.approx(14 + 1 / 12)
    assert kwh_cp_day == pytest.approx(102 / 46)
    assert pct == pytest.approx((14 + 1 / 12) / 1103 * 100)
    assert (kwh_tier, time_tier) == ("poor", "poor")


def test_site_utilization_daily_midnight_dst_and_overlap(serving):
    rows = {
        str(d): (n, kwh, occ)
        for d, n, kwh, occ in read_serving(
            serving,
            """
        SELECT date, active_charge_points, kwh, occupied_hours FROM marts.site_utilization_daily
        WHERE site_id = 's1'""",
        )
    }
    assert rows["2025-03-05"] == (1, pytest.approx(10.0), pytest.approx(1.0))  # S1 before midnight
    assert rows["2025-03-06"] == (1, pytest.approx(20.0), pytest.approx(2.0))  # S1 after midnight
    assert rows["2025-03-10"] == (2, pytest.approx(24.0), pytest.approx(3.0))  # S2 ∪ S3 = 3 h; cp2 commissioned
    assert rows["2025-03-29"] == (1, pytest.approx(2.0), pytest.approx(1.0))  # S9: 1 of its 4 hours
    assert rows["2025-03-30"] == (1, pytest.approx(6.0), pytest.approx(3.0))  # 23-hour day: 3 real hours
    assert rows["2025-03-25"][0] == 1  # cp2 decommissioned that day
    pct_30 = one(
        serving,
        "SELECT time_utilised_pct FROM marts.site_utilization_daily WHERE site_id = 's1' AND date = DATE '2025-03-30'",
    )[0]
    assert pct_30 == pytest.approx(3 / 23 * 100)
    assert min(rows) == "2025-03-01"


def test_failed_charges(serving):
    assert one(
        serving,
        """SELECT total_sessions, failed_sessions, failed_pct FROM marts.failed_charges_daily
                           WHERE site_id = 's1' AND date = DATE '2025-03-12'""",
    ) == (1, 1, pytest.approx(100.0))
    total, failed = one(
        serving,
        """SELECT sum(total_sessions), sum(failed_sessions) FROM marts.failed_charges_daily
                                    WHERE site_id = 's1'""",
    )
    assert (total, failed) == (8, 2)  # S1..S7, S9 finished; S8 in progress
    hw = {
        (b, m, f): (t, n, p)
        for b, m, f, t, n, p in read_serving(
            serving,
            """
        SELECT brand, model, firmware_version, total_sessions, failed_sessions, failed_pct
        FROM marts.failed_charges_by_hardware WHERE month = DATE '2025-03-01'""",
        )
    }
    assert hw == {
        ("Alfen", "Eve", "1.0"): (5, 0, pytest.approx(0.0)),  # S1 S2 S3 S6 S7 before the upgrade
        ("Alfen", "Eve", "1.1"): (2, 1, pytest.approx(50.0)),  # S5 (failed), S9 after it
        ("Kempower", "S500", "2.3"): (1, 1, pytest.approx(100.0)),
    }


def test_ocpp_errors_on_local_dates(serving):
    rows = read_serving(
        serving,
        """SELECT date::VARCHAR, charge_point_id, error_code, error_count
                                    FROM marts.ocpp_errors_daily ORDER BY date""",
    )
    assert rows == [
        ("2025-03-12", "cp2", "GroundFailure", 1),
        ("2025-03-14", "cp1", "EVCommunicationError", 1),
        ("2025-04-01", "cp1", "HighTemperature", 1),
    ]


def test_roaming(serving):
    daily = {
        str(d): (c, k, r)
        for d, c, k, r in read_serving(
            serving,
            """
        SELECT date, cdrs, kwh, revenue FROM marts.roaming_daily
        WHERE site_id = 's1' AND provider = 'hubject' AND emsp_party = 'DE*ABC' AND currency = 'DKK'""",
        )
    }
    assert daily["2025-03-15"] == (1, pytest.approx(11.0), Decimal("33.0000"))
    assert daily["2025-03-16"] == (0, pytest.approx(0.0), Decimal("0.0000"))  # c2 cancelled by credit c3
    sessions = read_serving(
        serving,
        """SELECT date::VARCHAR, roaming_sessions, successful_sessions, success_pct
                                        FROM marts.roaming_sessions_daily WHERE site_id = 's1' ORDER BY date""",
    )
    assert sessions == [("2025-03-15", 1, 1, pytest.approx(100.0)), ("2025-03-16", 1, 1, pytest.approx(100.0))]


def test_revenue_with_fx_and_gap_months(serving):
    running = read_serving(
        serving,
        """SELECT month::VARCHAR, revenue, running_revenue FROM marts.revenue_running_by_operator
                                       WHERE operator_id = 'dk' AND currency = 'DKK' ORDER BY month""",
    )
    assert running == [
        ("2025-01-01", Decimal("10.0000"), Decimal("10.0000")),
        ("2025-02-01", Decimal("0.0000"), Decimal("10.0000")),  # gap month
        ("2025-03-01", Decimal("178.0000"), Decimal("188.0000")),
    ]  # 60+100-5+20+3
    by_kind = {
        k: (r, e)
        for k, r, e in read_serving(
            serving,
            """
        SELECT kind, revenue, revenue_eur FROM marts.revenue_monthly
        WHERE operator_id = 'dk' AND month = DATE '2025-03-01' AND currency = 'DKK'""",
        )
    }
    assert by_kind["charge"] == (Decimal("60.0000"), Decimal("8.0440"))  # 60 / 7.4590 (Mar 6)
    assert by_kind["subscription"] == (Decimal("100.0000"), Decimal("13.4102"))  # Sat Mar 1 → Fri Feb 28 7.4570
    assert by_kind["intercompany_transfer"][1] == Decimal("2.6820")  # Sun Mar 2 → 20 / 7.4570
    assert by_kind["tax_refund"][1] == Decimal("0.4021")  # Sat Mar 8 → 3 / 7.4600
    assert by_kind["write_off"] == (Decimal("-5.0000"), Decimal("-0.6702"))  # -5 / 7.4610


def test_team_revenue(serving):
    t1 = read_serving(
        serving,
        """SELECT month::VARCHAR, fees, charges, subscriptions, write_offs, total_revenue, running_revenue
                                  FROM marts.team_revenue_monthly WHERE team_id = 't1' AND currency = 'DKK' ORDER BY month""",
    )
    d = Decimal
    assert t1 == [
        ("2025-01-01", d("10.0000"), d("0.0000"), d("0.0000"), d("0.0000"), d("10.0000"), d("10.0000")),
        ("2025-02-01", d("0.0000"), d("0.0000"), d("0.0000"), d("0.0000"), d("0.0000"), d("10.0000")),
        ("2025-03-01", d("0.0000"), d("60.0000"), d("100.0000"), d("-5.0000"), d("155.0000"), d("165.0000")),
    ]
    assert one(
        serving,
        """SELECT intercompany_transfers, tax_refunds, total_revenue, running_revenue
                           FROM marts.team_revenue_monthly WHERE team_id = 't2' AND month = DATE '2025-03-01'""",
    ) == (d("20.0000"), d("3.0000"), d("23.0000"), d("23.0000"))


def test_invoices(serving):
    rows = {
        r[0]: r[1:]
        for r in read_serving(
            serving,
            """
        SELECT invoice_id, status, days_overdue, payable_amount, wallet_balance, operator_name,
               parent_operator_name, customer_name FROM marts.invoices""",
        )
    }
    assert rows["i1"][:2] == ("paid", 0)
    assert rows["i2"][:3] == ("unpaid", 10, Decimal("23.0000"))  # latest version; due Mar 21 → 10 days
    assert rows["i3"][:2] == ("settled", 0)
    assert rows["i4"][:2] == ("unpaid", 0)  # not yet due
    assert rows["i1"][3:] == (Decimal("500.0000"), "Nordic DK", "Nordic Group", "Fleet One")
    assert rows["i3"][5] == "Nordic Group"
    summary = {
        s: (n, a)
        for s, n, a in read_serving(
            serving,
            """
        SELECT status, invoice_count, payable_amount FROM marts.invoice_status_summary
        WHERE operator_id = 'dk' AND currency = 'DKK'""",
        )
    }
    assert summary == {
        "paid": (1, Decimal("155.0000")),
        "settled": (1, Decimal("70.0000")),
        "unpaid": (2, Decimal("63.0000")),
    }


def test_plans(serving):
    assert one(
        serving, "SELECT subscriptions, active_subscriptions_this_month FROM marts.revenue_plans WHERE plan_id = 'p1'"
    ) == (3, 2)  # sub2 ended in February


def test_charge_points_dashboard(serving):
    assert one(
        serving, "SELECT charge_points, sessions_this_month FROM marts.cp_site_summary WHERE site_id = 's1'"
    ) == (2, 8)
    assert one(
        serving, "SELECT charge_points, sessions_this_month FROM marts.cp_team_summary WHERE team_id = 't1'"
    ) == (2, 8)
    splits = dict(read_serving(serving, "SELECT is_active, sum(charge_points) FROM marts.cp_status_splits GROUP BY 1"))
    assert splits == {True: 1, False: 1}  # cp2 decommissioned on Mar 25
    assert one(
        serving,
        """SELECT ratings, average_stars FROM marts.cp_ratings_monthly
                           WHERE charge_point_id = 'cp1' AND month = DATE '2025-03-01'""",
    ) == (2, pytest.approx(4.0))


def test_reliability_uptime(serving):
    """Status data starts with cp2's fault on Mar 12 (the first StatusNotification): uptime days run
    from Mar 12 to as_of Mar 31 for cp1's two ports (20 days) and to Mar 24 for cp2 (13 days)."""
    days = {
        (str(d), cp, c): (p, o, e, u)
        for d, cp, c, p, o, e, u in read_serving(
            serving,
            """
        SELECT date, charge_point_id, connector_id, period_minutes, outage_minutes, excluded_minutes, uptime_pct
        FROM marts.connector_uptime_daily WHERE site_id = 's1'""",
        )
    }
    assert len(days) == 20 * 2 + 13 and min(d for d, _, _ in days) == "2025-03-12"
    assert days["2025-03-12", "cp2", 1] == (1440.0, pytest.approx(29.0), 0.0, pytest.approx(100 * (1440 - 29) / 1440))
    # Faulted 23:30 local on Mar 14 until 01:30 local (the payload's time, not the late arrival)
    assert days["2025-03-14", "cp1", 1][1] == pytest.approx(30.0)
    assert days["2025-03-15", "cp1", 1][1] == pytest.approx(90.0)
    # connectorId 0 maintenance on the 23-hour day: both ports, all of it excluded
    for port in (1, 2):
        assert days["2025-03-30", "cp1", port] == (1380.0, pytest.approx(120.0), pytest.approx(120.0), 100.0)
    assert days["2025-03-20", "cp1", 2] == (1440.0, 0.0, 0.0, 100.0)
    trailing = {
        (cp, c): (p, o, e, u, ok)
        for cp, c, p, o, e, u, ok in read_serving(
            serving,
            """
        SELECT charge_point_id, connector_id, period_minutes, outage_minutes, excluded_minutes, uptime_pct,
               meets_nevi_97 FROM marts.charge_point_uptime_trailing""",
        )
    }
    assert trailing["cp1", 1] == (
        28740.0,
        pytest.approx(240.0),
        pytest.approx(120.0),
        pytest.approx(100 * (28740 - 120) / 28740),
        True,
    )
    assert trailing["cp1", 2][3] == 100.0
    assert trailing["cp2", 1][3] == pytest.approx(100 * (18720 - 29) / 18720)
    # cp2 is the only rapid charge point (DC, 150 kW)
    assert read_serving(
        serving,
        """SELECT year, operator_id, rapid_charge_points, average_uptime_pct, meets_uk_99,
                                           is_complete_year FROM marts.network_reliability_yearly""",
    ) == [(2025, "dk", 1, pytest.approx(100 * (18720 - 29) / 18720), True, False)]


def test_reliability_idle_time_and_peak_demand(serving):
    ops = {
        str(d): (n, idle, over, peak, str(slot))
        for d, n, idle, over, peak, slot in read_serving(
            serving,
            """
        SELECT date, sessions, idle_hours, sessions_idle_over_1h, peak_demand_kw, peak_slot_start
        FROM marts.site_operations_daily WHERE site_id = 's1'""",
        )
    }
    # S1 charges 30 kWh 23:10-00:40 local (20 kW) and sits idle 80 minutes
    assert ops["2025-03-05"] == (1, pytest.approx(80 / 60), 1, pytest.approx(20.0), "2025-03-05 23:15:00")
    assert ops["2025-03-06"][3:] == (pytest.approx(20.0), "2025-03-06 00:00:00")
    # S2 (14 kWh over 90 min) and S3 (10 kWh over 60 min) overlap: 10:15 local draws 58/3 kW
    assert ops["2025-03-10"] == (2, pytest.approx((25 + 55) / 60), 0, pytest.approx(58 / 3), "2025-03-10 10:15:00")
    # S9 without charging times: 8 kWh over its occupied interval (4 h, 2 kW), across the DST night
    assert ops["2025-03-30"][3:] == (pytest.approx(2.0), "2025-03-30 00:00:00")
    assert ops["2025-03-20"][:4] == (0, 0.0, 0, 0.0)  # S8 still in progress: no session, no demand


def test_published_run_marker(serving):
    assert one(serving, "SELECT as_of_date::VARCHAR FROM marts._publish_info") == (AS_OF,)


# Each published formula (a DuckDB macro the dbt project creates from the dbt macro the mart
# uses, carried into serving.duckdb by publish) applied to a mart's additive columns, beside the
# column the mart computed: (mart, formula, column).
PUBLISHED_FORMULAS = [
    ("failed_charges_daily", "marts.failed_pct(failed_sessions, total_sessions)", "failed_pct"),
    ("failed_charges_by_hardware", "marts.failed_pct(failed_sessions, total_sessions)", "failed_pct"),
    ("roaming_sessions_daily", "marts.success_pct(successful_sessions, roaming_sessions)", "success_pct"),
    ("site_utilization_monthly", "marts.kwh_per_cp_day(kwh, cp_days)", "kwh_per_cp_day"),
    ("site_utilization_monthly", "marts.time_utilised_pct(occupied_hours, available_hours)", "time_utilised_pct"),
    ("site_utilization_daily", "marts.kwh_per_cp_day(kwh, active_charge_points)", "kwh_per_cp_day"),
    ("site_utilization_daily", "marts.time_utilised_pct(occupied_hours, available_hours)", "time_utilised_pct"),
    ("site_utilization_monthly", "marts.benchmark_tier('kwh_per_cp_day', kwh_per_cp_day)", "kwh_tier"),
    ("site_utilization_monthly", "marts.benchmark_tier('time_utilised_pct', time_utilised_pct)", "time_tier"),
    ("connector_uptime_daily", "marts.uptime_pct(period_minutes, outage_minutes, excluded_minutes)", "uptime_pct"),
    (
        "charge_point_uptime_trailing",
        "marts.uptime_pct(period_minutes, outage_minutes, excluded_minutes)",
        "uptime_pct",
    ),
    ("cp_ratings_monthly", "marts.average_stars(total_stars, ratings)", "average_stars"),
    ("charge_point_uptime_trailing", "uptime_pct > marts.nevi_uptime_limit_pct()", "meets_nevi_97"),
    ("network_reliability_yearly", "average_uptime_pct >= marts.uk_rapid_uptime_limit_pct()", "meets_uk_99"),
]


@pytest.mark.parametrize("mart, formula, column", PUBLISHED_FORMULAS, ids=lambda v: v if " " not in v else None)
def test_published_formulas_equal_the_mart_columns(serving, mart, formula, column):
    """The dashboards compute their ratios and tiers with the published macros over any filter;
    on a mart row's own additive columns a macro gives exactly the mart's column."""
    rows, differing, nulls = one(
        serving,
        f"SELECT count(*), count(*) FILTER (WHERE {formula} IS DISTINCT FROM {column}), "
        f"count(*) FILTER (WHERE {column} IS NULL) FROM marts.{mart}",
    )
    assert rows > nulls, f"marts.{mart} has no {column} to compare"
    assert differing == 0, f"{formula} differs from marts.{mart}.{column} on {differing} of {rows} rows"


def test_a_published_formula_over_a_day_equals_the_mart(serving):
    """failed % of a day over every site, by the published formula over the summed counts (what the
    Failed charges page does), equals the counts' ratio; and the formulas are in the file."""
    formulas = {
        name
        for (name,) in read_serving(
            serving,
            "SELECT function_name FROM duckdb_functions() WHERE schema_name = 'marts' AND function_type = 'macro'",
        )
    }
    assert {"failed_pct", "uptime_pct", "benchmark_tier", "kwh_per_cp_day", "average_stars"} <= formulas
    for day, pct, failed, total in read_serving(
        serving,
        "SELECT date, marts.failed_pct(sum(failed_sessions), sum(total_sessions)), sum(failed_sessions), "
        "sum(total_sessions) FROM marts.failed_charges_daily GROUP BY date HAVING sum(total_sessions) > 0",
    ):
        assert pct == pytest.approx(100.0 * failed / total), day
