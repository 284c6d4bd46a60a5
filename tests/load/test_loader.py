"""The raw loader: files loaded exactly once by content, bad records quarantined with their
rule, line and text, whole-file problems refused, and counts that reconcile."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from orchestration.load.loader import connect, load_source


def session(i: int, **over) -> dict:
    rec = {
        "session_id": f"s{i}",
        "charge_point_id": "cp1",
        "connector_id": 1,
        "paying_team_id": None,
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


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


@pytest.fixture
def con(tmp_path):
    """A build database whose registries know charge point cp1 (sessions reference it)."""
    c = connect(tmp_path / "wh" / "build.duckdb")
    registry = tmp_path / "registry"
    for source, text in {
        "operators": "operator_id,name,parent_operator_id,country_code,currency,updated_at\n"
        "op1,Nordic Charge,,DK,DKK,2024-01-01T00:00:00Z\n",
        "sites": "site_id,operator_id,team_id,name,address,city,postal_code,country_code,latitude,longitude,"
        "time_zone,created_at,updated_at\nsite1,op1,t1,Harbour,Kaj 1,Aarhus,8000,DK,56.15,10.21,"
        "Europe/Copenhagen,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n",
        "charge_points": CP_HEADER + "\n" + cp_row(1) + "\n",
    }.items():
        (registry / source).mkdir(parents=True)
        (registry / source / f"{source}.csv").write_text(text)
        assert load_source(c, source, registry).files[0].rows_loaded == 1, source
    yield c
    c.close()


def audit(con, source="sessions"):
    return con.execute(
        "SELECT file, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, message "
        "FROM raw._load_audit WHERE source = ? ORDER BY loaded_at, file",
        [source],
    ).fetchall()


def test_file_loaded_once_by_content_under_any_name(con, tmp_path):
    landing = tmp_path / "landing"
    write_jsonl(landing / "sessions" / "a.jsonl", [session(i) for i in range(50)])
    first = load_source(con, "sessions", landing)
    assert first.summary()["rows_loaded"] == 50

    again = load_source(con, "sessions", landing)  # re-run: nothing new
    assert again.summary()["files_skipped"] == 1 and again.summary()["rows_read"] == 0

    shutil.copy(landing / "sessions" / "a.jsonl", landing / "sessions" / "b_renamed.jsonl")
    renamed = load_source(con, "sessions", landing)
    assert renamed.summary()["files_skipped"] == 2 and renamed.summary()["files_loaded"] == 0
    assert con.execute("SELECT count(*) FROM raw.sessions").fetchone()[0] == 50
    assert con.execute("SELECT count(*) FROM raw._loaded_files WHERE source = 'sessions'").fetchone()[0] == 1


def test_bad_records_quarantined_with_rule_line_and_text(con, tmp_path):
    landing = tmp_path / "landing"
    good = [session(i) for i in range(100)]
    bad = [
        '{"session_id": "trunc", "charge_point_id": "c',  # line 101
        session(900, state="paused"),  # line 102
        session(901, unplugged_at="2025-01-01T09:00:00Z"),  # line 103
        session(902, kwh=-3),  # line 104
        session(903, plugged_in_at=None),  # line 105
    ]
    write_jsonl(landing / "sessions" / "day.jsonl", good + bad)
    res = load_source(con, "sessions", landing).files[0]
    assert (res.status, res.rows_read, res.rows_loaded, res.rows_quarantined, res.rows_duplicate) == (
        "loaded",
        105,
        100,
        5,
        0,
    )
    q = con.execute("SELECT line, rule, raw_text FROM raw._quarantine ORDER BY line").fetchall()
    assert [(line, rule) for line, rule, _ in q] == [
        (101, "not valid JSON"),
        (102, "state not one of in_progress, completed, failed"),
        (103, "expect_column_pair_values_a_to_be_greater_than_b(unplugged_at,plugged_in_at): unplug after plug-in"),
        (104, "expect_column_values_to_be_between(kwh): plausible energy of one session (kWh)"),
        (105, "missing required field plugged_in_at"),
    ]
    assert q[0][2] == bad[0]
    assert audit(con)[0][1:6] == ("loaded", 105, 100, 5, 0)


def test_too_many_bad_records_refuses_the_whole_file(con, tmp_path):
    landing = tmp_path / "landing"
    write_jsonl(
        landing / "sessions" / "bad.jsonl",
        [session(i) for i in range(90)] + [session(100 + i, kwh="lots") for i in range(10)],
    )
    res = load_source(con, "sessions", landing)
    f = res.files[0]
    assert f.status == "refused"
    assert "10 of 100 records bad" in f.message and "kwh is not a number" in f.message
    assert con.execute("SELECT count(*) FROM raw.sessions").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw._quarantine").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw._loaded_files WHERE source = 'sessions'").fetchone()[0] == 0
    # still refused on the next run: the file is not marked as loaded
    assert load_source(con, "sessions", landing).files[0].status == "refused"


def test_duplicates_skipped_and_conflicting_versions_quarantined_both(con, tmp_path):
    landing = tmp_path / "landing"
    recs = [session(i) for i in range(40)]
    write_jsonl(landing / "sessions" / "d1.jsonl", recs + [session(0)])  # in-file duplicate
    r1 = load_source(con, "sessions", landing).files[0]
    assert (r1.rows_read, r1.rows_loaded, r1.rows_duplicate) == (41, 40, 1)

    # a later file: s1 identical (duplicate), s2 same key+updated_at but other kWh (conflict),
    # s3 a newer version (loaded), 37 new sessions
    write_jsonl(
        landing / "sessions" / "d2.jsonl",
        [session(1), session(2, kwh=99.0), session(3, updated_at="2025-01-02T00:00:00Z")]
        + [session(100 + i) for i in range(37)],
    )
    r2 = load_source(con, "sessions", landing).files[-1]
    assert (r2.rows_read, r2.rows_loaded, r2.rows_quarantined, r2.rows_duplicate) == (40, 38, 1, 1)
    rules = con.execute("SELECT file, rule FROM raw._quarantine ORDER BY file").fetchall()
    assert rules[0][0] == "sessions/d1.jsonl" and "later file" in rules[0][1]
    assert rules[1][0] == "sessions/d2.jsonl" and rules[1][1].startswith("conflict")
    assert con.execute("SELECT count(*) FROM raw.sessions WHERE session_id = 's2'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.sessions WHERE session_id = 's3'").fetchone()[0] == 2


def test_timestamps_normalised_to_utc(con, tmp_path):
    landing = tmp_path / "landing"
    write_jsonl(
        landing / "sessions" / "tz.jsonl",
        [
            session(
                1,
                plugged_in_at="2025-03-30T03:30:00+02:00",
                unplugged_at="2025-03-30T04:00:00Z",
                charging_started_at=None,
                charging_ended_at=None,
            ),
            session(2, plugged_in_at="2025-01-01T10:00:00", charging_started_at=None, charging_ended_at=None),
        ],
    )
    load_source(con, "sessions", landing)
    got = dict(con.execute("SELECT session_id, strftime(plugged_in_at, '%Y-%m-%d %H:%M') FROM raw.sessions").fetchall())
    assert got == {"s1": "2025-03-30 01:30", "s2": "2025-01-01 10:00"}


CP_HEADER = (
    "charge_point_id,site_id,team_id,operator_id,brand,model,firmware_version,charging_type,"
    "max_power_kw,connector_count,access,roaming_enabled,commissioned_at,decommissioned_at,updated_at"
)


def cp_row(i: int, **over) -> str:
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
        updated_at="2024-01-01T00:00:00Z",
    )
    vals.update(over)
    return ",".join(vals[c] for c in CP_HEADER.split(","))


def test_csv_extra_columns_kept_and_wrong_delimiter_refused(con, tmp_path):
    landing = tmp_path / "landing"
    d = landing / "charge_points"
    d.mkdir(parents=True)
    (d / "a.csv").write_text(CP_HEADER + ",colour\n" + "\n".join(cp_row(i) + ",blue" for i in range(2, 32)) + "\n")
    (d / "b.csv").write_text(CP_HEADER.replace(",", ";") + "\n" + cp_row(99).replace(",", ";") + "\n")
    res = {f.file: f for f in load_source(con, "charge_points", landing).files}
    assert res["charge_points/a.csv"].rows_loaded == 30
    assert json.loads(
        con.execute("SELECT _extra FROM raw.charge_points WHERE charge_point_id = 'cp2'").fetchone()[0]
    ) == {"colour": "blue"}
    b = res["charge_points/b.csv"]
    assert b.status == "refused" and "missing required column" in b.message and "';'-delimited" in b.message


def test_ocpp_frames_checked_against_the_ocpp16_schemas(con, tmp_path):
    landing = tmp_path / "landing"
    ok = {
        "charge_point_id": "cp1",
        "received_at": "2025-01-01T10:00:00Z",
        "frame": [2, "m", "StatusNotification", {"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted"}],
    }
    lines = [dict(ok, frame=[2, f"m{i}", "Heartbeat", {}]) for i in range(100)] + [
        ok,
        dict(ok, frame=[2, "x1", "Teleport", {}]),
        dict(ok, frame=[3, "x2", {"currentTime": "2025-01-01T10:00:00Z"}]),
        dict(ok, frame=[2, "x3", "StatusNotification", {"connectorId": 1, "errorCode": "Oops", "status": "Faulted"}]),
        dict(
            ok,
            frame=[
                2,
                "x4",
                "StatusNotification",
                {"connectorId": "one", "errorCode": "NoError", "status": "Available"},
            ],
        ),
    ]
    write_jsonl(landing / "ocpp" / "o.jsonl", lines)
    res = load_source(con, "ocpp", landing).files[0]
    assert (res.rows_loaded, res.rows_quarantined) == (101, 4)
    rules = [r for (r,) in con.execute("SELECT rule FROM raw._quarantine ORDER BY line").fetchall()]
    assert rules == [
        "unknown OCPP 1.6 action",
        "frame is not an OCPP-J message [MessageTypeId, UniqueId, Action, Payload]",
        "StatusNotification payload errorCode not an OCPP 1.6 value",
        "connector_id is not an integer",
    ]
    assert con.execute("SELECT error_code FROM raw.ocpp WHERE action = 'StatusNotification'").fetchone() == (
        "GroundFailure",
    )


def test_ecb_wide_file_with_na_holes_unpivoted(con, tmp_path):
    landing = tmp_path / "landing"
    d = landing / "fx_rates"
    d.mkdir(parents=True)
    (d / "eurofxref-hist.csv").write_text(
        "Date,USD,NOK,ISK,\n2025-01-03,1.0300,11.7500,N/A,\n2025-01-02,1.0400,11.8000,N/A,\n2025-01-01,N/A,N/A,N/A,\n"
    )
    f = load_source(con, "fx_rates", landing).files[0]
    # a record is a (Date, currency) cell; N/A is no rate, not a record
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (4, 4, 0)
    rows = con.execute("SELECT rate_date::VARCHAR, currency, rate FROM raw.fx_rates ORDER BY 1, 2").fetchall()
    assert rows == [
        ("2025-01-02", "NOK", 11.8),
        ("2025-01-02", "USD", 1.04),
        ("2025-01-03", "NOK", 11.75),
        ("2025-01-03", "USD", 1.03),
    ]
    # the ECB republishes the whole history every day: yesterday's lines are duplicates
    (d / "eurofxref-hist-next.csv").write_text(
        "Date,USD,NOK,ISK,\n2025-01-06,1.0350,11.7000,N/A,\n2025-01-03,1.0300,11.7500,N/A,\n"
        "2025-01-02,1.0400,11.8000,N/A,\n2025-01-01,N/A,N/A,N/A,\n"
    )
    g = {f.file: f for f in load_source(con, "fx_rates", landing).files}["fx_rates/eurofxref-hist-next.csv"]
    assert (g.rows_read, g.rows_loaded, g.rows_duplicate) == (6, 2, 4)


def test_reconciliation_holds_for_every_file(con, tmp_path):
    landing = tmp_path / "landing"
    write_jsonl(landing / "sessions" / "a.jsonl", [session(i) for i in range(60)] + ["garbage"])
    write_jsonl(landing / "sessions" / "b.jsonl", [session(i) for i in range(30, 90)])
    load_source(con, "sessions", landing)
    for file, _, read, loaded, quarantined, dup, _ in audit(con):
        assert read == loaded + quarantined + dup, file
    loaded_in_raw = con.execute("SELECT count(*) FROM raw.sessions").fetchone()[0]
    assert loaded_in_raw == sum(a[3] for a in audit(con)) == 90


def test_a_source_loaded_in_many_batches_loads_the_same(tmp_path, monkeypatch):
    """Big sources are loaded in batches of files (each one transaction): a generated landing
    zone loaded one file per batch gives the same raw rows, quarantine and audit counts as in one
    batch (duplicates and versions across files included)."""
    import duckdb

    from orchestration.contract import SOURCES
    from orchestration.generate import generate
    from orchestration.load import loader

    landing = tmp_path / "landing"
    generate(landing, seed=7, sessions=3_000, start=date(2025, 3, 1), end=date(2025, 3, 12), progress=False)
    sources = ("operators", "sites", "charge_points", "sessions", "cdrs", "ocpp", "ledger")
    dbs = {}
    for name, batch_bytes in (("one", loader.BATCH_BYTES), ("many", 1)):
        monkeypatch.setattr(loader, "BATCH_BYTES", batch_bytes)
        dbs[name] = tmp_path / f"{name}.duckdb"
        c = connect(dbs[name])
        for source in sources:
            load_source(c, source, landing, gx_sample_rows=0)
        c.close()
    con = duckdb.connect()
    con.execute(f"ATTACH '{dbs['one']}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{dbs['many']}' AS b (READ_ONLY)")
    for source in sources:
        cols = ", ".join(SOURCES[source].columns + ["_file", "_line", "_record_hash"])
        assert (
            con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM a.raw.{source} EXCEPT ALL SELECT {cols} FROM b.raw.{source})"
            ).fetchone()[0]
            == 0
        ), source
        audit = (
            "SELECT file, rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM {}.raw._load_audit "
            f"WHERE source = '{source}'"
        )
        assert sorted(con.execute(audit.format("a")).fetchall()) == sorted(con.execute(audit.format("b")).fetchall())
    q = "SELECT file, line, rule FROM {}.raw._quarantine"
    assert sorted(con.execute(q.format("a")).fetchall()) == sorted(con.execute(q.format("b")).fetchall())
    assert con.execute("SELECT count(*) FROM b.raw._quarantine").fetchone()[0] > 0
