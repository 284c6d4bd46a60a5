"""Great Expectations' job at load time: on every batch it validates a sample (the records the
SQL flagged, up to a cap, and a deterministic sample of the others) and any difference from the
SQL's verdict is reported — the source's blocking check `gx_sample_agrees` then fails."""

from __future__ import annotations

import json

from orchestration.check import expectations as X
from orchestration.contract import SOURCES
from orchestration.load.loader import connect, load_source
from tests.reliability.helpers import jsonl, make_registry_db, session, write_files


def _checked(con, rows: list[dict]) -> None:
    """A hand-made _checked table (what the loader's pass leaves) with the given _gx bits."""
    src = SOURCES["sessions"]
    cols = ", ".join(f"{f.name} {f.sql_type}" for f in src.fields)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked ({cols}, _gx BIGINT, _rep BOOLEAN, _struct_ok BOOLEAN)")
    for r in rows:
        names = list(r)
        con.execute(
            f"INSERT INTO _checked ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})", [r[n] for n in names]
        )


def _row(i: int, gx: int = 0, **over) -> dict:
    r = {k: v for k, v in session(i).items()}
    r.update(over)
    return {**r, "_gx": gx, "_rep": True, "_struct_ok": True}


def test_a_record_the_sql_let_through_but_gx_flags_is_a_disagreement(tmp_path):
    make_registry_db(tmp_path / "build.duckdb", tmp_path / "landing")
    con = connect(tmp_path / "build.duckdb")
    kwh = next(c for c in X.compile_suite("sessions") if c.columns == ("kwh",))
    _checked(con, [_row(1), _row(2, gx=1 << kwh.index, kwh=-3.0), _row(3, gx=0, kwh=-5.0)])
    check = X.sample_check(con, "sessions", "_checked", rows=100)
    assert check.rows == 3 and check.flagged == 1
    assert len(check.disagreements) == 1
    assert check.disagreements[0].startswith(f"{kwh.name}: GX flags 2 of the 3 sampled records, the SQL 1")
    assert "only GX: 1: kwh=-5.0" in check.disagreements[0]
    assert check.result["success"] is False  # GX's own result, kept for the Data Docs


def test_the_loader_reports_agreement_on_a_batch_with_bad_records(tmp_path):
    make_registry_db(tmp_path / "build.duckdb", tmp_path / "registry")
    con = connect(tmp_path / "build.duckdb")
    good = [session(1000 + i) for i in range(200)]
    bad = [
        session(9001, kwh=-3),
        session(9002, currency="XYZ"),
        session(9003, stop_reason="Bored"),
        session(9004, unplugged_at="2025-01-01T09:00:00Z"),
        session(1005, kwh=99.0),
    ]  # 1005: a second version
    write_files(tmp_path / "landing", {"sessions/day.jsonl": jsonl(good + bad)})
    res = load_source(con, "sessions", tmp_path / "landing", gx_sample_rows=50)
    assert res.files[0].rows_quarantined == 6  # the four, and both versions of s1005
    [sample] = res.gx_samples
    assert sample.flagged == 6 and 50 <= sample.rows <= 6 + 200
    assert res.gx_disagreements == []
    # GX's result is kept, and is what the Data Docs show for the source
    stored = con.execute(
        "SELECT records, flagged, disagreements, result FROM raw._gx_validations WHERE source = 'sessions'"
    ).fetchall()
    assert [(r, f, json.loads(d)) for r, f, d, _ in stored] == [(sample.rows, 6, [])]
    assert json.loads(stored[0][3])["success"] is False  # six records break the suite
    con.close()
    from orchestration.docs import build_gx_docs

    index = build_gx_docs(tmp_path, tmp_path / "docs")
    [page] = index.parent.glob("validations/landing_sessions/load/*/sessions-load-sample.html")
    assert "kwh" in page.read_text() and "sessions-load-sample" in index.read_text()
