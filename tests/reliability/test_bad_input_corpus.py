"""A corpus of bad (and awkward but valid) landing files, one small landing file per case, each
with its expected outcome: loaded (normalised), quarantined with the right rule on the right
line, or the file refused with a message — and, for every case, the reconciliation of
raw._load_audit against what really is in raw.<source> and raw._quarantine, and the audit's
rows read against the file's records counted independently of the loader.

Most cases surround the bad record with 40 good ones: a file with more than 5 % bad records is
refused whole (docs/DECISIONS.md), so a single bad record in a tiny file would refuse the file.
The cases call load_source directly (fast); test_cli_refusals.py runs a few through the CLI.
docs/reliability.md has the table of cases and outcomes."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestration.load.loader import connect, load_source
from tests.reliability.helpers import (
    CP_HEADER,
    PLANS_HEADER,
    RATINGS_HEADER,
    SITES_HEADER,
    SUBSCRIPTIONS_HEADER,
    WALLETS_HEADER,
    audits,
    cdr,
    count_records,
    cp_row,
    csv_text,
    ecb_text,
    invoice,
    jsonl,
    ledger,
    make_registry_db,
    ocpp,
    rating_row,
    reconcile,
    session,
    site_row,
    status_notification,
    write_files,
)

N_GOOD = 40
FORMATS = {
    "sessions": "jsonl",
    "cdrs": "jsonl",
    "ocpp": "jsonl",
    "ledger": "jsonl",
    "invoices": "jsonl",
    "charge_points": "csv",
    "sites": "csv",
    "ratings": "csv",
    "wallets": "csv",
    "plans": "csv",
    "subscriptions": "csv",
    "fx_rates": "ecb",
}


@dataclass
class Case:
    id: str
    source: str
    content: str | bytes  # the file under test
    outcome: str  # loaded | quarantined | refused
    rule: str | None = None  # quarantined: the rule of every bad line (prefix); refused: part of the message
    bad_lines: tuple[int, ...] = ()  # quarantined lines
    duplicates: int = 0
    read: int | None = None  # records (default: counted from the content)
    name: str | None = None  # path under the landing dir (default <source>/case.<ext>)
    check: Callable | None = None  # extra assertions: check(con, file_hash)
    before: dict[str, str | bytes] = field(default_factory=dict)  # files loaded first (a previous run)

    @property
    def path(self) -> str:
        if self.name:
            return self.name
        ext = "jsonl" if FORMATS[self.source] == "jsonl" else "csv"
        return f"{self.source}/hubject/case.{ext}" if self.source == "cdrs" else f"{self.source}/case.{ext}"


def good(source: str, n: int = N_GOOD) -> list:
    match source:
        case "sessions":
            return [session(1000 + i) for i in range(n)]
        case "cdrs":
            return [cdr(1000 + i) for i in range(n)]
        case "ocpp":
            return [ocpp(i) for i in range(n)]
        case "ledger":
            return [ledger(1000 + i) for i in range(n)]
        case "invoices":
            return [invoice(1000 + i) for i in range(n)]
        case "charge_points":
            return [cp_row(100 + i) for i in range(n)]
        case "sites":
            return [site_row(100 + i) for i in range(n)]
        case "ratings":
            return [rating_row(i) for i in range(n)]
        case "wallets":
            return [f"w{i},team,t1,DKK,{i}.50,2025-01-01T00:00:00Z" for i in range(n)]
        case "plans":
            return [f"p{100 + i},op1,Plan {i},{i}.00,DKK,month,2025-01-01T00:00:00Z" for i in range(n)]
        case "subscriptions":
            return [f"sub{i},p1,t1,2025-01-01T00:00:00Z,,2025-01-01T00:00:00Z" for i in range(n)]
    raise KeyError(source)


HEADERS = {
    "charge_points": CP_HEADER,
    "sites": SITES_HEADER,
    "ratings": RATINGS_HEADER,
    "wallets": WALLETS_HEADER,
    "plans": PLANS_HEADER,
    "subscriptions": SUBSCRIPTIONS_HEADER,
}


def with_bad(source: str, *bad) -> str:
    """N_GOOD good records, then the bad ones (first bad record on line N_GOOD + 1, or + 2 for CSV)."""
    if FORMATS[source] == "jsonl":
        return jsonl(good(source) + list(bad))
    return csv_text(HEADERS[source], good(source) + list(bad))


def first_bad(source: str) -> int:
    return N_GOOD + (2 if FORMATS[source] == "csv" else 1)


def quarantined(id_: str, source: str, rule: str, *bad, **kw) -> Case:
    first = first_bad(source)
    return Case(id_, source, with_bad(source, *bad), "quarantined", rule, tuple(range(first, first + len(bad))), **kw)


def raw_value(con, source: str, file_hash: str, column: str, where: str = "true"):
    return [
        r[0]
        for r in con.execute(
            f"SELECT CAST({column} AS VARCHAR) FROM raw.{source} WHERE _file_hash = ? AND {where} ORDER BY _line",
            [file_hash],
        ).fetchall()
    ]


def _utc(sid: str, column: str, expected: str):
    def check(con, h):
        assert raw_value(con, "sessions", h, f"strftime({column}, '%Y-%m-%d %H:%M:%S')", f"session_id = '{sid}'") == [
            expected
        ]

    return check


def _extra(source: str, where: str, key: str, value):
    def check(con, h):
        extra = raw_value(con, source, h, "_extra", where)
        assert len(extra) == 1 and json.loads(extra[0])[key] == value, extra

    return check


def _is_null(source: str, column: str):
    def check(con, h):
        assert set(raw_value(con, source, h, column)) == {None}

    return check


def _fx_rows(expected_rows: int):
    def check(con, h):
        n = con.execute("SELECT count(*) FROM raw.fx_rates WHERE _file_hash = ?", [h]).fetchone()[0]
        assert n == expected_rows

    return check


def _garbage(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


CHANGED_BEFORE = jsonl([session(i) for i in range(40)])
CHANGED_AFTER = jsonl(
    [
        session(i, kwh=99.0)
        if i == 5
        else session(i, updated_at="2025-01-02T00:00:00Z", kwh=11.0)
        if i == 6
        else session(i)
        for i in range(40)
    ]
    + [session(40)]
)


def _changed_file_check(con, h):
    rows = audits(con, "sessions")
    assert [(a.file, a.status) for a in rows] == [("sessions/case.jsonl", "loaded")] * 2
    assert len({a.file_hash for a in rows}) == 2  # the audit shows both versions of the file
    old = [a for a in rows if a.file_hash != h][0]
    # s5: the same key and updated_at with other content in both versions → both quarantined;
    # the copy loaded earlier is moved out of raw with a rule naming the later file
    rules = con.execute("SELECT file_hash = ?, rule FROM raw._quarantine ORDER BY 1", [h]).fetchall()
    assert rules == [
        (False, "conflict: a later file (sessions/case.jsonl) has a different version of this key"),
        (True, "conflict: differs from a version of this key loaded earlier"),
    ]
    assert con.execute("SELECT count(*) FROM raw.sessions WHERE session_id = 's5'").fetchone()[0] == 0
    # s6: a new version (new updated_at): both versions kept, history
    assert con.execute("SELECT count(*) FROM raw.sessions WHERE session_id = 's6'").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.sessions WHERE _file_hash = ?", [old.file_hash]).fetchone()[0] == 39


def _ecb_bad_column_text() -> str:
    return ecb_text(40, ("USD", "XXQ"))


def _ocpp_kept(con, h):
    assert raw_value(con, "ocpp", h, "action", "action = 'MeterValues'") == ["MeterValues"]
    assert raw_value(con, "ocpp", h, "error_code", "action = 'StatusNotification'") == ["GroundFailure"]


CASES: list[Case] = [
    # ---- whole-file problems ---------------------------------------------------------------
    Case("jsonl-empty-file", "sessions", b"", "loaded", read=0),
    Case("jsonl-only-blank-lines", "sessions", "\n\n  \n", "loaded", read=0),
    Case("csv-empty-file", "charge_points", b"", "refused", "empty file: no header row", read=0),
    Case("csv-header-only", "ratings", RATINGS_HEADER + "\n", "loaded", read=0),
    Case("jsonl-binary-garbage", "sessions", _garbage(4000, 1), "refused", "records bad"),
    Case("csv-binary-garbage", "ratings", _garbage(4000, 2), "refused", "not UTF-8 text", read=0),
    Case("ecb-binary-garbage", "fx_rates", _garbage(4000, 3), "refused", "not UTF-8 text", read=0),
    Case(
        "csv-latin1",
        "sites",
        csv_text(SITES_HEADER, good("sites")[:5] + [site_row(9, name="Café")]).encode("latin-1"),
        "refused",
        "not UTF-8 text",
        read=0,
    ),
    Case("jsonl-pretty-printed-array", "sessions", json.dumps(good("sessions", 3), indent=2), "refused", "records bad"),
    Case(
        "csv-semicolon-delimited",
        "charge_points",
        csv_text(CP_HEADER.replace(",", ";"), [r.replace(",", ";") for r in good("charge_points")]),
        "refused",
        "';'-delimited",
        read=0,
    ),
    Case(
        "csv-tab-delimited",
        "ratings",
        csv_text(RATINGS_HEADER.replace(",", "\t"), [r.replace(",", "\t") for r in good("ratings")]),
        "refused",
        "'\\t'-delimited",
        read=0,
    ),
    Case("ecb-semicolon-delimited", "fx_rates", ecb_text(10).replace(",", ";"), "refused", "';'-delimited", read=0),
    Case(
        "csv-missing-required-column",
        "charge_points",
        csv_text(CP_HEADER.replace(",access", ""), [r.replace(",public", "") for r in good("charge_points")]),
        "refused",
        "missing required column(s) access",
        read=0,
    ),
    Case(
        "csv-duplicate-header-column",
        "ratings",
        csv_text(RATINGS_HEADER + ",stars", [r + ",5" for r in good("ratings")]),
        "refused",
        "duplicate column(s) in header: stars",
        read=0,
    ),
    Case(
        "csv-unterminated-quote",
        "ratings",
        csv_text(RATINGS_HEADER, good("ratings")[:20] + ['r99,"s99,cp1,5,2025-01-02T08:00:00Z'] + good("ratings")[20:]),
        "refused",
        "not parseable as CSV: the record starting at line 22",
        read=0,
    ),
    Case(
        "ecb-first-column-not-date",
        "fx_rates",
        ecb_text(10).replace("Date,", "Day,", 1),
        "refused",
        "first column is 'Day', expected 'Date'",
        read=0,
    ),
    Case("ecb-unknown-currency-column", "fx_rates", _ecb_bad_column_text(), "refused", "ISO 4217 currency code"),
    Case(
        "cdrs-outside-provider-folder",
        "cdrs",
        jsonl(good("cdrs")),
        "refused",
        "not in a provider folder",
        name="cdrs/case.jsonl",
        read=0,
    ),
    Case(
        "threshold-6-of-46-bad-refused",
        "sessions",
        with_bad("sessions", *[session(9000 + i, kwh="x") for i in range(6)]),
        "refused",
        "6 of 46 records bad (13.0% > 5% allowed): kwh is not a number (6, first at line 41)",
    ),
    # ---- encodings and line endings ----------------------------------------------------------
    Case("jsonl-utf8-bom", "sessions", b"\xef\xbb\xbf" + with_bad("sessions").encode(), "loaded"),
    Case("csv-utf8-bom", "charge_points", b"\xef\xbb\xbf" + with_bad("charge_points").encode(), "loaded"),
    Case("ecb-utf8-bom", "fx_rates", b"\xef\xbb\xbf" + ecb_text(5).encode(), "loaded", check=_fx_rows(10)),
    Case("jsonl-crlf", "sessions", with_bad("sessions").replace("\n", "\r\n"), "loaded"),
    Case("csv-crlf", "ratings", with_bad("ratings").replace("\n", "\r\n"), "loaded"),
    Case("csv-cr-only", "ratings", with_bad("ratings").replace("\n", "\r"), "loaded", read=N_GOOD),
    Case("jsonl-blank-lines-between", "sessions", jsonl(good("sessions")).replace("\n", "\n\n", 10), "loaded"),
    Case(
        "jsonl-invalid-utf8-line",
        "sessions",  # a Latin-1 é in one record
        with_bad("sessions").encode()
        + json.dumps(session(9000, paying_team_id="CafX")).encode().replace(b"CafX", b"Caf\xe9")
        + b"\n",
        "quarantined",
        "not valid UTF-8",
        (N_GOOD + 1,),
    ),
    Case(
        "csv-multiline-quoted-field",
        "sites",
        csv_text(SITES_HEADER, good("sites")[:3] + [site_row(9, address='"Kaj 1\nBagsiden"')] + good("sites")[3:]),
        "loaded",
        read=N_GOOD + 1,
        check=lambda con, h: (
            raw_value(con, "sites", h, "_line", "site_id = 'site9'") == ["5"]
            and raw_value(con, "sites", h, "_line", "site_id = 'site103'") == ["7"]
        ),
    ),
    # ---- broken records ----------------------------------------------------------------------
    quarantined("jsonl-truncated-line", "sessions", "not valid JSON", json.dumps(session(9000))[:57]),
    Case(
        "jsonl-truncated-last-line-no-newline",
        "sessions",
        jsonl(good("sessions")) + json.dumps(session(9000))[:80],
        "quarantined",
        "not valid JSON",
        (N_GOOD + 1,),
    ),
    quarantined("jsonl-array-not-object", "sessions", "not a JSON object", '["s1", "cp1"]'),
    quarantined("jsonl-null-line", "ledger", "not a JSON object", "null"),
    quarantined("csv-ragged-row", "ratings", "wrong number of fields", "r9000,s1,cp1,5"),
    # ---- decimal commas -----------------------------------------------------------------------
    quarantined(
        "csv-decimal-comma-unquoted", "charge_points", "wrong number of fields", cp_row(900, max_power_kw="22,5")
    ),
    quarantined(
        "csv-decimal-comma-quoted", "charge_points", "max_power_kw is not a number", cp_row(900, max_power_kw='"22,5"')
    ),
    quarantined("jsonl-decimal-comma", "sessions", "kwh is not a number", session(9000, kwh="10,5")),
    quarantined("jsonl-decimal-comma-money", "ledger", "amount is not a decimal amount", ledger(9000, amount="12,50")),
    Case(
        "ecb-decimal-comma-line",
        "fx_rates",
        ecb_text(40) + "2025-03-01,1,0300,11,7500,N/A,\n",
        "quarantined",
        "wrong number of fields",
        (42,),
        check=_fx_rows(80),
    ),
    # ---- missing and extra columns / fields ------------------------------------------------------
    Case(
        "csv-missing-optional-column",
        "charge_points",
        csv_text(CP_HEADER.replace("brand,", ""), [r.replace("Alfen,", "") for r in good("charge_points")]),
        "loaded",
        check=_is_null("charge_points", "brand"),
    ),
    quarantined(
        "jsonl-missing-required-field",
        "sessions",
        "missing required field updated_at",
        {k: v for k, v in session(9000).items() if k != "updated_at"},
    ),
    Case(
        "jsonl-missing-optional-fields",
        "sessions",
        jsonl(
            good("sessions")
            + [{k: v for k, v in session(9000).items() if k not in ("kwh", "stop_reason", "is_roaming")}]
        ),
        "loaded",
        check=lambda con, h: raw_value(con, "sessions", h, "kwh", "session_id = 's9000'") == [None],
    ),
    quarantined("jsonl-empty-key", "sessions", "missing required field session_id", session(9000, session_id="  ")),
    Case(
        "csv-extra-column",
        "charge_points",
        csv_text(CP_HEADER + ",colour", [r + ",blue" for r in good("charge_points")]),
        "loaded",
        check=_extra("charge_points", "charge_point_id = 'cp100'", "colour", "blue"),
    ),
    Case(
        "jsonl-extra-field",
        "sessions",
        jsonl(good("sessions") + [session(9000, vehicle={"vin": "X1"})]),
        "loaded",
        check=_extra("sessions", "session_id = 's9000'", "vehicle", {"vin": "X1"}),
    ),
    # ---- wrong types ---------------------------------------------------------------------------
    quarantined("jsonl-number-is-text", "sessions", "kwh is not a number", session(9000, kwh="lots")),
    quarantined("jsonl-int-is-fraction", "sessions", "connector_id is not an integer", session(9000, connector_id=1.5)),
    quarantined("jsonl-bool-is-yes", "sessions", "is_roaming is not true/false", session(9000, is_roaming="yes")),
    quarantined("jsonl-id-is-object", "sessions", "session_id is not a scalar", session(9000, session_id={"a": 1})),
    quarantined("jsonl-infinite-number", "sessions", "kwh is not a number", session(9000, kwh="Infinity")),
    quarantined(
        "jsonl-money-overflow",
        "sessions",
        "price_excl_vat is not a decimal amount",
        session(9000, price_excl_vat="99999999999999999999"),
    ),
    quarantined("csv-int-is-text", "ratings", "stars is not an integer", rating_row(9000, stars="five")),
    quarantined("jsonl-money-with-unit", "ledger", "amount is not a decimal amount", ledger(9000, amount="12.5 EUR")),
    quarantined(
        "cdr-coordinate-not-number",
        "cdrs",
        "latitude is not a number",
        cdr(9000, **{"cdr_location.coordinates": {"latitude": "north", "longitude": "10.2"}}),
    ),
    quarantined(
        "cdr-missing-token",
        "cdrs",
        "missing required field token_country_code",
        {k: v for k, v in cdr(9000).items() if k != "cdr_token"},
    ),
    # ---- unknown enum values --------------------------------------------------------------------
    quarantined(
        "jsonl-unknown-state",
        "sessions",
        "state not one of in_progress, completed, failed",
        session(9000, state="paused"),
    ),
    quarantined(
        "csv-unknown-charging-type", "charge_points", "charging_type not one of AC, DC", cp_row(900, charging_type="XC")
    ),
    quarantined("jsonl-unknown-ledger-kind", "ledger", "kind not one of", ledger(9000, kind="bonus")),
    quarantined(
        "jsonl-unknown-invoice-status",
        "invoices",
        "status not one of paid, settled, unpaid",
        invoice(9000, status="overdue"),
    ),
    quarantined(
        "csv-unknown-owner-type",
        "wallets",
        "owner_type not one of team, operator",
        "w9000,fleet,t1,DKK,1.00,2025-01-01T00:00:00Z",
    ),
    quarantined(
        "jsonl-unknown-stop-reason",
        "sessions",
        "expect_column_values_to_be_in_set(stop_reason)",
        session(9000, stop_reason="Bored"),
    ),
    # ---- OCPP frames -----------------------------------------------------------------------------
    quarantined(
        "ocpp-callresult-3-elements",
        "ocpp",
        "frame is not an OCPP-J message",
        ocpp(900, frame=[3, "x1", {"currentTime": "2025-01-01T10:00:00Z"}]),
    ),
    quarantined(
        "ocpp-callerror-not-call",
        "ocpp",
        "frame is not an OCPP-J CALL (MessageTypeId must be 2)",
        ocpp(900, frame=[4, "x1", "GenericError", {}]),
    ),
    quarantined(
        "ocpp-frame-is-object", "ocpp", "frame is not an OCPP-J message", ocpp(900, frame={"action": "Heartbeat"})
    ),
    quarantined("ocpp-unknown-action", "ocpp", "unknown OCPP 1.6 action", ocpp(900, frame=[2, "x1", "Teleport", {}])),
    quarantined(
        "ocpp-payload-bad-enum",
        "ocpp",
        "StatusNotification payload errorCode not an OCPP 1.6 value",
        status_notification(900, errorCode="Oops"),
    ),
    quarantined(
        "ocpp-payload-missing-required",
        "ocpp",
        "StatusNotification payload misses required status",
        ocpp(900, frame=[2, "x1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError"}]),
    ),
    quarantined(
        "ocpp-payload-wrong-type", "ocpp", "connector_id is not an integer", status_notification(900, connectorId="one")
    ),
    quarantined(
        "ocpp-payload-extra-property",
        "ocpp",
        "StatusNotification payload has properties outside the schema",
        status_notification(900, colour="red"),
    ),
    quarantined(
        "ocpp-payload-too-long",
        "ocpp",
        "BootNotification payload chargePointVendor longer than 20",
        ocpp(900, frame=[2, "x1", "BootNotification", {"chargePointVendor": "V" * 21, "chargePointModel": "M"}]),
    ),
    quarantined(
        "ocpp-payload-bad-timestamp",
        "ocpp",
        "payload_timestamp is not an ISO-8601 timestamp",
        status_notification(900, timestamp="yesterday"),
    ),
    Case(
        "ocpp-other-actions-kept",
        "ocpp",
        jsonl(
            good("ocpp")
            + [
                ocpp(900, frame=[2, "x1", "MeterValues", {"connectorId": 1, "meterValue": []}]),
                status_notification(901, errorCode="GroundFailure", status="Faulted"),
            ]
        ),
        "loaded",
        check=_ocpp_kept,
    ),
    # ---- timestamps -------------------------------------------------------------------------------
    Case(
        "ts-positive-offset",
        "sessions",
        jsonl(
            good("sessions")
            + [
                session(
                    9000,
                    plugged_in_at="2025-03-30T03:30:00+02:00",
                    charging_started_at=None,
                    charging_ended_at=None,
                    unplugged_at="2025-03-30T04:00:00+02:00",
                )
            ]
        ),
        "loaded",
        check=_utc("s9000", "plugged_in_at", "2025-03-30 01:30:00"),
    ),
    Case(
        "ts-negative-offset-crosses-midnight",
        "sessions",
        jsonl(
            good("sessions")
            + [
                session(
                    9000,
                    plugged_in_at="2024-12-31T21:30:00-05:00",
                    charging_started_at=None,
                    charging_ended_at=None,
                    unplugged_at="2025-01-01T03:00:00Z",
                )
            ]
        ),
        "loaded",
        check=_utc("s9000", "plugged_in_at", "2025-01-01 02:30:00"),
    ),
    Case(
        "ts-without-offset-is-utc",
        "sessions",
        jsonl(
            good("sessions")
            + [session(9000, plugged_in_at="2025-01-01T10:00:00", charging_started_at=None, charging_ended_at=None)]
        ),
        "loaded",
        check=_utc("s9000", "plugged_in_at", "2025-01-01 10:00:00"),
    ),
    Case(
        "ts-fractional-seconds-and-space",
        "sessions",
        jsonl(
            good("sessions")
            + [
                session(
                    9000,
                    plugged_in_at="2025-01-01 10:00:00.250+01:00",
                    charging_started_at=None,
                    charging_ended_at=None,
                )
            ]
        ),
        "loaded",
        check=_utc("s9000", "plugged_in_at", "2025-01-01 09:00:00"),
    ),
    Case(
        "ts-cdr-offsets",
        "cdrs",
        jsonl(
            good("cdrs")
            + [cdr(9000, start_date_time="2025-01-01T11:00:00+01:00", end_date_time="2025-01-01T12:00:00+01:00")]
        ),
        "loaded",
        check=lambda con, h: (
            raw_value(con, "cdrs", h, "strftime(start_date_time, '%H:%M')", "id = 'c9000'") == ["10:00"]
        ),
    ),
    Case(
        "ts-csv-offset",
        "charge_points",
        with_bad("charge_points", cp_row(900, commissioned_at="2024-01-01T01:00:00+01:00")),
        "loaded",
        check=lambda con, h: (
            raw_value(con, "charge_points", h, "commissioned_at", "charge_point_id = 'cp900'")
            == ["2024-01-01 00:00:00"]
        ),
    ),
    quarantined(
        "ts-not-iso",
        "sessions",
        "plugged_in_at is not an ISO-8601 timestamp",
        session(9000, plugged_in_at="01/03/2025 10:00"),
    ),
    quarantined(
        "ts-impossible-date",
        "sessions",
        "plugged_in_at is not an ISO-8601 timestamp",
        session(9000, plugged_in_at="2025-02-30T10:00:00Z"),
    ),
    quarantined(
        "ts-epoch-number",
        "sessions",
        "plugged_in_at is not an ISO-8601 timestamp",
        session(9000, plugged_in_at=1735725600),
    ),
    # ---- ordering and ranges (Great Expectations) ---------------------------------------------
    quarantined(
        "end-before-start-session",
        "sessions",
        "expect_column_pair_values_a_to_be_greater_than_b(unplugged_at,plugged_in_at)",
        session(9000, charging_started_at=None, charging_ended_at=None, unplugged_at="2025-01-01T09:00:00Z"),
    ),
    quarantined(
        "end-before-start-cdr",
        "cdrs",
        "expect_column_pair_values_a_to_be_greater_than_b(end_date_time,start_date_time)",
        cdr(9000, end_date_time="2025-01-01T09:00:00Z"),
    ),
    quarantined(
        "due-before-issued-invoice",
        "invoices",
        "expect_column_pair_values_a_to_be_greater_than_b(due_at,issued_at)",
        invoice(9000, due_at="2024-12-01T00:00:00Z"),
    ),
    quarantined(
        "negative-energy-session", "sessions", "expect_column_values_to_be_between(kwh)", session(9000, kwh=-3)
    ),
    quarantined("absurd-energy-session", "sessions", "expect_column_values_to_be_between(kwh)", session(9000, kwh=1e6)),
    quarantined(
        "negative-energy-cdr", "cdrs", "expect_column_values_to_be_between(total_energy)", cdr(9000, total_energy=-5.0)
    ),
    quarantined(
        "stars-out-of-range", "ratings", "expect_column_values_to_be_between(stars)", rating_row(9000, stars="6")
    ),
    Case(
        "negative-fx-rate",
        "fx_rates",
        ecb_text(40) + "2025-03-01,-1.0300,11.7500,N/A,\n",
        "quarantined",
        "expect_column_values_to_be_between(rate)",
        (42,),
    ),
    quarantined(
        "bad-time-zone-site",
        "sites",
        "expect_column_values_to_be_in_set(time_zone)",
        site_row(900, time_zone="Mars/Olympus"),
    ),
    quarantined(
        "latitude-out-of-range-site",
        "sites",
        "expect_column_values_to_be_between(latitude)",
        site_row(900, latitude="95.0"),
    ),
    quarantined(
        "negative-plan-price",
        "plans",
        "expect_column_values_to_be_between(price)",
        "p900,op1,Bad,-5.00,DKK,month,2025-01-01T00:00:00Z",
    ),
    # ---- duplicates and conflicts inside one file -----------------------------------------------
    Case(
        "duplicate-identical-in-file",
        "sessions",
        jsonl(good("sessions") + [session(1003), session(1007)]),
        "loaded",
        duplicates=2,
    ),
    Case(
        "conflict-same-key-in-file",
        "sessions",
        jsonl(good("sessions") + [session(1003, kwh=77.0)]),
        "quarantined",
        # both versions; the suite's key-uniqueness expectation names it before the loader's own check
        "expect_compound_columns_to_be_unique(session_id,updated_at)",
        (4, 41),
    ),
    Case(
        "new-version-same-file",
        "sessions",
        jsonl(good("sessions") + [session(1003, state="completed", kwh=12.0, updated_at="2025-01-02T00:00:00Z")]),
        "loaded",
        check=lambda con, h: len(raw_value(con, "sessions", h, "kwh", "session_id = 's1003'")) == 2,
    ),
    Case("duplicate-ecb-lines", "fx_rates", ecb_text(40) + ecb_text(3).split("\n", 1)[1], "loaded", duplicates=6),
    # ---- references to unknown registry entries ----------------------------------------------------
    quarantined(
        "unknown-charge-point-session",
        "sessions",
        "expect_column_values_to_be_in_set(charge_point_id)",
        session(9000, charge_point_id="cp404"),
    ),
    quarantined(
        "unknown-charge-point-ocpp",
        "ocpp",
        "expect_column_values_to_be_in_set(charge_point_id)",
        ocpp(900, charge_point_id="cp404"),
    ),
    quarantined(
        "unknown-site-cdr",
        "cdrs",
        "expect_column_values_to_be_in_set(location_id)",
        cdr(9000, **{"cdr_location.id": "site404"}),
    ),
    quarantined(
        "unknown-evse-cdr",
        "cdrs",
        "expect_column_values_to_be_in_set(evse_uid)",
        cdr(9000, **{"cdr_location.evse_uid": "cp404"}),
    ),
    quarantined(
        "unknown-site-charge-point",
        "charge_points",
        "expect_column_values_to_be_in_set(site_id)",
        cp_row(900, site_id="site404"),
    ),
    quarantined(
        "unknown-operator-ledger",
        "ledger",
        "expect_column_values_to_be_in_set(operator_id)",
        ledger(9000, operator_id="op404"),
    ),
    quarantined(
        "unknown-plan-subscription",
        "subscriptions",
        "expect_column_values_to_be_in_set(plan_id)",
        "sub9000,p404,t1,2025-01-01T00:00:00Z,,2025-01-01T00:00:00Z",
    ),
    quarantined(
        "unknown-charge-point-rating",
        "ratings",
        "expect_column_values_to_be_in_set(charge_point_id)",
        rating_row(9000, charge_point_id="cp404"),
    ),
    quarantined(
        "credit-cdr-unknown-reference",
        "cdrs",
        "expect_column_values_to_be_in_set(credit_reference_id)",
        cdr(
            9000,
            credit=True,
            credit_reference_id="c404",
            total_energy=-10.0,
            total_cost={"excl_vat": -30.0, "incl_vat": -37.5},
        ),
    ),
    Case(
        "credit-cdr-known-reference",
        "cdrs",
        jsonl(
            good("cdrs")
            + [
                cdr(
                    9000,
                    credit=True,
                    credit_reference_id="c0",
                    total_energy=-10.0,
                    total_cost={"excl_vat": -30.0, "incl_vat": -37.5},
                )
            ]
        ),
        "loaded",
    ),
    quarantined(
        "credit-cdr-without-reference",
        "cdrs",
        "expect_column_values_to_not_be_null(credit_reference_id)",
        cdr(9000, credit=True, total_energy=-10.0, total_cost={"excl_vat": -30.0}),
    ),
    # ---- currencies and FX ----------------------------------------------------------------------
    quarantined(
        "unknown-currency-session",
        "sessions",
        "expect_column_values_to_be_in_set(currency)",
        session(9000, currency="XYZ"),
    ),
    quarantined(
        "lowercase-currency-ledger",
        "ledger",
        "expect_column_values_to_be_in_set(currency)",
        ledger(9000, currency="dkk"),
    ),
    quarantined(
        "unknown-currency-cdr", "cdrs", "expect_column_values_to_be_in_set(currency)", cdr(9000, currency="EURO")
    ),
    Case(
        "ecb-na-holes",
        "fx_rates",
        "Date,USD,NOK,ISK,\n2025-01-03,1.0300,N/A,N/A,\n2025-01-02,N/A,11.8000,N/A,\n2025-01-01,N/A,N/A,N/A,\n",
        "loaded",
        check=_fx_rows(2),
    ),
    # ---- values that look like SQL: data, never SQL text (values are bound or read by DuckDB) ------
    Case(
        "sql-in-values",
        "sessions",
        jsonl(
            good("sessions")
            + [
                session(
                    9000,
                    session_id="s9000'); DROP TABLE raw.sessions; --",
                    failure_reason="' OR 1=1 --",
                    paying_team_id='t1"; DELETE FROM raw._load_audit; --',
                )
            ]
        ),
        "loaded",
        check=lambda con, h: (
            raw_value(con, "sessions", h, "failure_reason", "kwh = 10.5 AND session_id LIKE 's9000%'")
            == ["' OR 1=1 --"]
        ),
    ),
    Case(
        "sql-in-csv-header",
        "sites",
        csv_text(SITES_HEADER + ',"x""); DROP TABLE raw.sites; --"', [r + ",1" for r in good("sites")]),
        "loaded",
        check=_extra("sites", "site_id = 'site100'", 'x"); DROP TABLE raw.sites; --', "1"),
    ),
    # ---- the same file again, and a file that changes after it was loaded ------------------------
    Case(
        "same-content-other-name",
        "sessions",
        jsonl(good("sessions")),
        "loaded",
        duplicates=0,
        before={"sessions/earlier-name.jsonl": jsonl(good("sessions"))},
        read=0,
    ),
    Case(
        "file-changed-after-load",
        "sessions",
        CHANGED_AFTER,
        "quarantined",
        "conflict: differs from a version of this key loaded earlier",
        (6,),
        duplicates=38,
        before={"sessions/case.jsonl": CHANGED_BEFORE},
        check=_changed_file_check,
    ),
]


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    return make_registry_db(root / "build.duckdb", root / "landing")


def test_corpus_is_big_enough():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.outcome for c in CASES} == {"loaded", "quarantined", "refused"}
    assert len({c.source for c in CASES}) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, registry_db: Path, tmp_path: Path):
    db = tmp_path / "build.duckdb"
    shutil.copyfile(registry_db, db)
    landing = tmp_path / "landing"
    con = connect(db)
    try:
        if case.before:
            write_files(landing, case.before)
            load_source(con, case.source, landing)
            if case.path in case.before:
                (landing / case.path).unlink()
        write_files(landing, {case.path: case.content})
        result = load_source(con, case.source, landing)
        assert result.gx_disagreements == []  # GX re-validated a sample: it agrees with the SQL
        mine = [f for f in result.files if f.file == case.path]
        assert len(mine) == 1, result.files
        f = mine[0]
        read = case.read if case.read is not None else count_records(case.content, FORMATS[case.source])

        if case.id == "same-content-other-name":
            assert f.status == "skipped"
        elif case.outcome == "refused":
            assert f.status == "refused", f
            assert case.rule in f.message, f.message
            assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_refused) == (
                read,
                0,
                0,
                0,
                read,
            ), f
            assert (
                con.execute(f"SELECT count(*) FROM raw.{case.source} WHERE _file_hash = ?", [f.file_hash]).fetchone()[0]
                == 0
            )
            assert (
                con.execute("SELECT count(*) FROM raw._loaded_files WHERE file_hash = ?", [f.file_hash]).fetchone()[0]
                == 0
            )
            # refused again on the next run, with a new audit row: never marked as loaded
            again = [g for g in load_source(con, case.source, landing).files if g.file == case.path][0]
            assert again.status == "refused" and again.message == f.message
        else:
            bad = len(case.bad_lines)
            assert f.status == "loaded", f
            assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate) == (
                read,
                read - bad - case.duplicates,
                bad,
                case.duplicates,
            ), f
            q = con.execute(
                "SELECT line, rule, raw_text FROM raw._quarantine WHERE file_hash = ? ORDER BY line", [f.file_hash]
            ).fetchall()
            assert tuple(line for line, _, _ in q) == case.bad_lines, q
            for line, rule, raw_text in q:
                assert rule.startswith(case.rule), (line, rule)
                assert raw_text and raw_text.strip(), (line, raw_text)
            if case.outcome == "loaded":
                assert bad == 0
        reconcile(con, case.source)
        if case.check:
            assert case.check(con, f.file_hash) is not False
    finally:
        con.close()


def test_quarantined_text_is_the_line_as_written(registry_db, tmp_path):
    """The quarantine keeps the record exactly as it was in the file (no re-serialisation)."""
    db = tmp_path / "build.duckdb"
    shutil.copyfile(registry_db, db)
    odd = '{"session_id":  "s9000", "kwh": "lots" ,"state":"completed"}'
    write_files(tmp_path / "landing", {"sessions/x.jsonl": with_bad("sessions", odd)})
    con = connect(db)
    try:
        load_source(con, "sessions", tmp_path / "landing")
        assert con.execute("SELECT raw_text FROM raw._quarantine").fetchall() == [(odd,)]
    finally:
        con.close()


def test_a_conflict_is_remembered_whatever_the_order_of_the_files(registry_db, tmp_path):
    """s1 arrives as v1 (file 1), as a different v1' with the same key (file 2) and as v1 again
    (file 3), one file per run. Whatever the order, s1 ends up quarantined, not loaded: the key
    of a conflict is remembered (raw._conflicts), so the third version is a conflict too —
    without that, order 1-2-3 loaded s1 from file 3 and order 1-3-2 did not."""
    files = {
        "f1": jsonl(good("sessions") + [session(1)]),
        "f2": jsonl([session(2000 + i) for i in range(40)] + [session(1, kwh=99.0)]),
        "f3": jsonl([session(3000 + i) for i in range(40)] + [session(1)]),
    }
    outcomes = {}
    for order in (("f1", "f2", "f3"), ("f1", "f3", "f2"), ("f2", "f3", "f1")):
        db = tmp_path / ("-".join(order) + ".duckdb")
        shutil.copyfile(registry_db, db)
        con = connect(db)
        try:
            for name in order:
                landing = tmp_path / "-".join(order) / name
                write_files(landing, {f"sessions/{name}.jsonl": files[name]})
                load_source(con, "sessions", landing)
            reconcile(con, "sessions")
            outcomes[order] = (
                con.execute("SELECT count(*) FROM raw.sessions WHERE session_id = 's1'").fetchone()[0],
                con.execute("SELECT count(*), count(DISTINCT _record_hash) FROM raw.sessions").fetchone(),
                # 3 quarantined copies, or 2 when file 3 came before file 2 (a duplicate of file 1 then)
                con.execute("SELECT count(*) FROM raw._quarantine WHERE raw_text LIKE '%\"s1\"%'").fetchone()[0] >= 2,
            )
        finally:
            con.close()
    assert set(outcomes.values()) == {(0, (120, 120), True)}, outcomes
