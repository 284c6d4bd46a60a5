"""DESIGN.md section 4, "Real exports are messier than any generator": one test per rule, each
ending with the reconciliation (read = loaded + quarantined + duplicates + refused, and the
counts match what is really in raw.<source> and raw._quarantine)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestration.load import readers
from orchestration.load.loader import connect, load_source
from tests.reliability.helpers import (
    RATINGS_HEADER,
    cdr,
    csv_text,
    invoice,
    jsonl,
    make_registry_db,
    rating_row,
    reconcile,
    session,
    write_files,
)

ECB_FILE = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ecb_eurofxref" / "eurofxref-hist.csv"


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    return make_registry_db(root / "build.duckdb", root / "landing")


@pytest.fixture
def con(registry_db, tmp_path):
    db = tmp_path / "build.duckdb"
    shutil.copyfile(registry_db, db)
    c = connect(db)
    yield c
    c.close()


def quarantine(con, source: str) -> list[tuple]:
    return con.execute(
        "SELECT file, line, rule, raw_text FROM raw._quarantine WHERE source = ? ORDER BY file, line, rule", [source]
    ).fetchall()


# ---- the ECB file ----------------------------------------------------------------------------


def ecb_cells(text: str) -> tuple[int, int]:
    """(rate cells that are not N/A, of which above one million) of the ECB wide file."""
    rows = list(csv.reader(io.StringIO(text)))
    cells = [c for r in rows[1:] for c in r[1:] if c.strip() not in ("", "N/A")]
    return len(cells), sum(c.replace(".", "", 1).isdigit() and float(c) > 1_000_000 for c in cells)


def test_the_real_ecb_history_loads_whole(con, tmp_path):
    """The ECB's own eurofxref-hist.csv (1999 on, 41 currencies): every rate loads, including the
    Turkish lira's 1.9 million per euro before 2005 (there is no upper bound)."""
    text = ECB_FILE.read_text()
    cells, huge = ecb_cells(text)
    assert cells > 200_000 and huge > 100
    write_files(tmp_path / "landing", {"fx_rates/eurofxref-hist.csv": text})
    f = load_source(con, "fx_rates", tmp_path / "landing").files[0]
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", cells, cells, 0)
    n, trl_max, first = con.execute(
        "SELECT count(*), max(rate) FILTER (WHERE currency = 'TRL'), min(rate_date) FROM raw.fx_rates"
    ).fetchone()
    assert n == cells and trl_max > 1_900_000 and str(first) == "1999-01-04"
    reconcile(con, "fx_rates")


def test_a_bad_ecb_cell_loses_only_itself(con, tmp_path):
    """Three bad cells (not a number, zero, negative) on two dates: each quarantines that rate
    alone, named by its currency; every other currency of those dates loads."""
    lines = ECB_FILE.read_text().splitlines(keepends=True)
    header = lines[0].rstrip(",\n").split(",")
    usd, jpy, nok = header.index("USD"), header.index("JPY"), header.index("NOK")
    bad = {}
    for line_no, col, value in ((2, usd, "1.12x"), (2, jpy, "0"), (3, nok, "-11.7")):
        cells = lines[line_no - 1].split(",")
        bad.setdefault(line_no, cells)[col] = value
    for line_no, cells in bad.items():
        lines[line_no - 1] = ",".join(cells)
    text = "".join(lines)
    cells, _ = ecb_cells(text)
    write_files(tmp_path / "landing", {"fx_rates/eurofxref-hist.csv": text})
    f = load_source(con, "fx_rates", tmp_path / "landing").files[0]
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", cells, cells - 3, 3)
    q = [(line, rule) for _, line, rule, _ in quarantine(con, "fx_rates")]
    assert q == [
        (2, "expect_column_values_to_be_between(rate): a positive rate (units per EUR) [JPY]"),
        (2, "rate is not a number [USD]"),
        (3, "expect_column_values_to_be_between(rate): a positive rate (units per EUR) [NOK]"),
    ]
    day2 = con.execute("SELECT count(*) FROM raw.fx_rates WHERE _line = 2").fetchone()[0]
    assert day2 == sum(c.strip() not in ("", "N/A") for c in bad[2][1:]) - 2  # all but USD and JPY
    reconcile(con, "fx_rates")


# ---- credit CDRs -------------------------------------------------------------------------------


def test_credit_cdrs_in_both_forms_load_and_a_positive_credit_is_quarantined(con, tmp_path):
    """OCPI 2.2.1 makes only total_cost negative in a credit CDR (energy and times as in the CDR
    it cancels); some platforms negate everything. Both load; a credit whose cost is positive
    breaks a row rule."""
    base = [cdr(1000 + i) for i in range(40)]
    ocpi = cdr(
        9001,
        credit=True,
        credit_reference_id="c1000",
        total_energy=10.0,
        total_time=1.0,
        total_cost={"excl_vat": -30.0, "incl_vat": -37.5},
    )
    negated = cdr(
        9002,
        credit=True,
        credit_reference_id="c1001",
        total_energy=-10.0,
        total_time=-1.0,
        total_cost={"excl_vat": -30.0, "incl_vat": -37.5},
    )
    positive = cdr(
        9003,
        credit=True,
        credit_reference_id="c1002",
        total_energy=10.0,
        total_cost={"excl_vat": 30.0, "incl_vat": 37.5},
    )
    write_files(tmp_path / "landing", {"cdrs/hubject/day.jsonl": jsonl(base + [ocpi, negated, positive])})
    f = load_source(con, "cdrs", tmp_path / "landing").files[0]
    assert (f.rows_loaded, f.rows_quarantined) == (42, 1)
    assert [(line, rule) for _, line, rule, _ in quarantine(con, "cdrs")] == [
        (43, "expect_column_values_to_be_between(total_cost_excl_vat): a credit CDR carries a negative cost")
    ]
    got = con.execute(
        "SELECT id, total_energy, total_cost_excl_vat::DOUBLE FROM raw.cdrs WHERE credit ORDER BY id"
    ).fetchall()
    assert got == [("c9001", 10.0, -30.0), ("c9002", -10.0, -30.0)]
    reconcile(con, "cdrs")


# ---- implausible timestamps and over-long sessions -------------------------------------------


def test_implausible_timestamps_and_over_long_sessions_are_quarantined(con, tmp_path, monkeypatch):
    """Before 2000-01-01, or more than 2 days after loading: quarantined with that rule (a session
    stamped 0001-01-01 or 9999-12-31 fanned out into millions of day rows). So is a session whose
    occupied interval is longer than WAREHOUSE_MAX_SESSION_DAYS (14 days by default)."""
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    iso = lambda d: d.isoformat() + "Z"  # noqa: E731
    soon, later = now + timedelta(days=1), now + timedelta(days=3)
    bad = [
        session(9001, plugged_in_at="0001-01-01T00:00:00Z", charging_started_at=None, charging_ended_at=None),
        session(9002, unplugged_at="9999-12-31T23:59:59Z"),
        session(9003, plugged_in_at="1999-12-31T23:59:59Z", charging_started_at=None, charging_ended_at=None),
        session(9004, updated_at=iso(later)),
        session(9005, charging_started_at=None, charging_ended_at=None, unplugged_at="2025-01-16T10:00:01Z"),
    ]
    fine = [
        session(9100, updated_at=iso(soon)),  # within 2 days of loading: plausible
        session(9101, charging_started_at=None, charging_ended_at=None, unplugged_at="2025-01-15T10:00:00Z"),
        session(
            9102,
            plugged_in_at="2000-01-01T00:00:00Z",
            charging_started_at=None,
            charging_ended_at=None,
            unplugged_at="2000-01-01T01:00:00Z",
            updated_at="2000-01-01T01:00:00Z",
        ),
    ]
    good = [session(1000 + i) for i in range(100)]
    write_files(tmp_path / "landing", {"sessions/day.jsonl": jsonl(good + bad + fine)})
    f = load_source(con, "sessions", tmp_path / "landing").files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (108, 103, 5)
    q = [(line, rule) for _, line, rule, _ in quarantine(con, "sessions")]
    implausible = "is implausible (before 2000-01-01 or more than 2 days after loading)"
    assert q == [
        (101, f"plugged_in_at {implausible}"),
        (102, f"unplugged_at {implausible}"),
        (103, f"plugged_in_at {implausible}"),
        (104, f"updated_at {implausible}"),
        (105, "session longer than 14 days (WAREHOUSE_MAX_SESSION_DAYS)"),
    ]
    reconcile(con, "sessions")

    # the limit is a setting: with 30 days the 15-day session loads
    monkeypatch.setenv("WAREHOUSE_MAX_SESSION_DAYS", "30")
    write_files(
        tmp_path / "landing2",
        {
            "sessions/long.jsonl": jsonl(
                [session(2000 + i) for i in range(40)]
                + [
                    session(
                        9005,
                        updated_at="2025-01-17T00:00:00Z",
                        charging_started_at=None,
                        charging_ended_at=None,
                        unplugged_at="2025-01-16T10:00:01Z",
                    )
                ]
            )
        },
    )
    g = load_source(con, "sessions", tmp_path / "landing2").files[0]
    assert (g.rows_loaded, g.rows_quarantined) == (41, 0)
    reconcile(con, "sessions")


def test_moments_still_to_come_are_plausible_for_scheduled_fields_only(con, tmp_path):
    """This month's invoice is due next month: a due date (or billed period, planned end) weeks
    after loading is a scheduled moment, not an implausible one — only "before 2000" applies to it.
    Its issue time weeks ahead is still implausible."""
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    iso = lambda d: d.isoformat() + "Z"  # noqa: E731
    issued, due, end = now - timedelta(days=1), now + timedelta(days=30), now + timedelta(days=29)
    fine = [
        invoice(i, issued_at=iso(issued), updated_at=iso(issued), due_at=iso(due), period_to=iso(end))
        for i in range(40)
    ]
    bad = [
        invoice(900, issued_at=iso(now + timedelta(days=30)), updated_at=iso(issued), due_at=iso(due)),
        invoice(901, issued_at=iso(issued), updated_at=iso(issued), due_at="1999-12-31T00:00:00Z"),
    ]
    write_files(tmp_path / "landing", {"invoices/invoices.jsonl": jsonl(fine + bad)})
    f = load_source(con, "invoices", tmp_path / "landing").files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (42, 40, 2)
    assert [(line, rule) for _, line, rule, _ in quarantine(con, "invoices")] == [
        (41, "issued_at is implausible (before 2000-01-01 or more than 2 days after loading)"),
        (42, "due_at is implausible (before 2000-01-01)"),
    ]
    reconcile(con, "invoices")


# ---- over-long lines ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["plain", "gzip", "big-plain"])
def test_an_over_long_line_is_quarantined_with_its_file_line_and_first_bytes(con, tmp_path, monkeypatch, how):
    """A line over WAREHOUSE_MAX_LINE_BYTES (1 MiB here; 16 MiB by default) is one quarantined
    record — its line number, length and first bytes kept — never an out-of-memory error that
    blocks the source: the other lines of the file load."""
    monkeypatch.setenv("WAREHOUSE_MAX_LINE_BYTES", str(1024 * 1024))
    if how == "big-plain":  # a plain file too big to be read whole: read in chunks, like gzip
        monkeypatch.setattr(readers, "TEXT_MAX_BYTES", 64 * 1024)
        monkeypatch.setattr(readers, "CHUNK_BYTES", 256 * 1024)
    huge = json.dumps(session(9000, failure_reason="x" * (3 * 1024 * 1024)))
    lines = [session(1000 + i) for i in range(60)] + [huge] + [session(2000 + i) for i in range(60)]
    text = jsonl(lines)
    name = "sessions/day.jsonl.gz" if how == "gzip" else "sessions/day.jsonl"
    write_files(tmp_path / "landing", {name: gzip.compress(text.encode()) if how == "gzip" else text})
    res = load_source(con, "sessions", tmp_path / "landing")
    f = res.files[0]
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", 121, 120, 1)
    [(file, line, rule, raw_text)] = quarantine(con, "sessions")
    assert (file, line) == (name, 61)
    assert rule == f"line longer than the limit of 1,048,576 bytes (WAREHOUSE_MAX_LINE_BYTES): {len(huge):,} bytes"
    assert raw_text == huge[: readers.LONG_LINE_KEEP]
    assert any(name in line and "line longer than" in line for line in res.file_lines())
    reconcile(con, "sessions")


def test_a_line_over_the_default_16_mib_is_quarantined(con, tmp_path):
    """At the default limit: a 17 MiB line among good ones (the 200 MB line that ended in "out of
    memory" and blocked the source, at test size)."""
    huge = json.dumps(session(9000, failure_reason="y" * (17 * 1024 * 1024)))
    write_files(tmp_path / "landing", {"sessions/day.jsonl": jsonl([session(i) for i in range(40)] + [huge])})
    f = load_source(con, "sessions", tmp_path / "landing").files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (41, 40, 1)
    [(_, line, rule, raw_text)] = quarantine(con, "sessions")
    assert line == 41 and rule.startswith("line longer than the limit of 16,777,216 bytes")
    assert len(raw_text) == readers.LONG_LINE_KEEP
    reconcile(con, "sessions")


def test_an_over_long_csv_line_is_quarantined(con, tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_MAX_LINE_BYTES", "4096")
    rows = [rating_row(i) for i in range(50)]
    rows.insert(20, rating_row(999, session_id="s" * 10_000))
    write_files(tmp_path / "landing", {"ratings/r.csv": csv_text(RATINGS_HEADER, rows)})
    f = load_source(con, "ratings", tmp_path / "landing").files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (51, 50, 1)
    [(_, line, rule, raw_text)] = quarantine(con, "ratings")
    assert line == 22 and rule.startswith("line longer than the limit of 4,096 bytes") and raw_text.startswith("r999,")
    reconcile(con, "ratings")


# ---- control characters in ids -----------------------------------------------------------------


def test_control_characters_in_an_id_break_a_row_rule(con, tmp_path):
    """NUL and the other C0 codes (but tab) in an id are a row-rule failure; elsewhere they are
    data."""
    good = [session(1000 + i) for i in range(60)]
    bad = [
        session(9001, session_id="s9001\u0000"),
        session(9002, charge_point_id="cp1\u0007"),
        session(9003, paying_team_id="t1\u001f"),
    ]
    fine = [session(9004, session_id="s\t9004"), session(9005, failure_reason="line1\nline2\u0000")]
    write_files(tmp_path / "landing", {"sessions/day.jsonl": jsonl(good + bad + fine)})
    f = load_source(con, "sessions", tmp_path / "landing").files[0]
    assert (f.rows_loaded, f.rows_quarantined) == (62, 3)
    assert [(line, rule) for _, line, rule, _ in quarantine(con, "sessions")] == [
        (61, "session_id contains a control character"),
        (62, "charge_point_id contains a control character"),
        (63, "paying_team_id contains a control character"),
    ]
    assert (
        con.execute("SELECT count(*) FROM raw.sessions WHERE session_id = 's' || chr(9) || '9004'").fetchone()[0] == 1
    )
    reconcile(con, "sessions")


# ---- gzip, extensions, what is not read --------------------------------------------------------


def test_gzip_files_and_extensions_in_any_case_are_read(con, tmp_path):
    text = lambda k: jsonl([session(k * 100 + i) for i in range(30)])  # noqa: E731
    write_files(
        tmp_path / "landing",
        {
            "sessions/a.JSONL": text(1),
            "sessions/b.jsonl.gz": gzip.compress(text(2).encode()),
            "sessions/c.NDJSON.GZ": gzip.compress(text(3).encode()),
            "sessions/d.Json": text(4),
            "ratings/r.CSV.gz": gzip.compress(csv_text(RATINGS_HEADER, [rating_row(i) for i in range(20)]).encode()),
        },
    )
    res = load_source(con, "sessions", tmp_path / "landing")
    assert sorted((f.file, f.status, f.rows_loaded) for f in res.files) == [
        ("sessions/a.JSONL", "loaded", 30),
        ("sessions/b.jsonl.gz", "loaded", 30),
        ("sessions/c.NDJSON.GZ", "loaded", 30),
        ("sessions/d.Json", "loaded", 30),
    ]
    assert res.ignored == []
    assert load_source(con, "ratings", tmp_path / "landing").files[0].rows_loaded == 20
    reconcile(con, "sessions")
    reconcile(con, "ratings")


def test_a_broken_gzip_file_is_refused_with_a_message(con, tmp_path):
    data = gzip.compress(jsonl([session(i) for i in range(200)]).encode())
    write_files(
        tmp_path / "landing",
        {
            "sessions/cut.jsonl.gz": data[: len(data) // 2],
            "sessions/ok.jsonl": jsonl([session(1000 + i) for i in range(10)]),
        },
    )
    res = {f.file: f for f in load_source(con, "sessions", tmp_path / "landing").files}
    cut = res["sessions/cut.jsonl.gz"]
    assert cut.status == "refused" and "not a readable gzip file" in cut.message
    assert res["sessions/ok.jsonl"].rows_loaded == 10
    assert con.execute("SELECT count(*) FROM raw.sessions").fetchone()[0] == 10
    reconcile(con, "sessions")


def test_everything_the_loader_does_not_read_is_named_and_symlinks_out_are_never_followed(con, tmp_path):
    """Dot-names, unknown extensions, sub-folders, and symlinks leading outside the landing zone
    are reported by name with the reason. A symlink out is never followed: here one points at a
    named pipe outside the zone — opening it would block the test."""
    landing = tmp_path / "landing"
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "pipe")
    (outside / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    ok = jsonl([session(i) for i in range(10)])
    write_files(
        landing,
        {
            "sessions/ok.jsonl": ok,
            "sessions/.hidden.jsonl": ok,
            "sessions/.tmp/x.jsonl": ok,
            "sessions/notes.txt": "hello",
            "sessions/old.jsonl.bak": ok,
            "sessions/archive/y.jsonl": ok,
            "elsewhere/inside.jsonl": jsonl([session(100 + i) for i in range(5)]),
            "cdrs/hubject/sub/z.jsonl": jsonl([cdr(1)]),
        },
    )
    (landing / "sessions" / "evil.jsonl").symlink_to(outside / "passwd")
    (landing / "sessions" / "pipe.jsonl").symlink_to(outside / "pipe")
    (landing / "sessions" / "inside.jsonl").symlink_to(landing / "elsewhere" / "inside.jsonl")
    (landing / "cdrs" / "etc").symlink_to("/etc", target_is_directory=True)
    res = load_source(con, "sessions", landing)
    assert sorted((f.file, f.rows_loaded) for f in res.files) == [
        ("sessions/inside.jsonl", 5),
        ("sessions/ok.jsonl", 10),
    ]
    why = dict(res.ignored)
    assert set(why) == {
        "sessions/.hidden.jsonl",
        "sessions/.tmp",
        "sessions/notes.txt",
        "sessions/old.jsonl.bak",
        "sessions/archive",
        "sessions/evil.jsonl",
        "sessions/pipe.jsonl",
    }
    assert why["sessions/evil.jsonl"].startswith("a symlink leading outside the landing zone")
    assert "dot-name" in why["sessions/.tmp"] and "unknown extension" in why["sessions/notes.txt"]
    assert "sub-folders are not read" in why["sessions/archive"]
    assert any("sessions/evil.jsonl: not read — a symlink leading outside" in line for line in res.file_lines())
    assert "root:x" not in str(con.execute("SELECT list(raw_text) FROM raw._quarantine").fetchone()[0])
    cdrs = load_source(con, "cdrs", landing)
    assert {p for p, _ in cdrs.ignored} == {"cdrs/etc", "cdrs/hubject/sub"}
    reconcile(con, "sessions")
