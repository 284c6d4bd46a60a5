"""Bad files through the whole job (the CLI, as a scheduler runs it): a valid landing zone plus
four broken files in four sources. The run refuses each broken file with a message naming the
file and the problem, exits non-zero, publishes nothing, and the serving file a BI tool reads
stays byte-for-byte what it was."""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import publish
from tests.conftest import run_cli
from tests.e2e.test_handmade_marts import AS_OF, write_landing
from tests.reliability.helpers import cdr, ecb_text, fast_dagster_home, jsonl

pytestmark = pytest.mark.e2e  # the whole job on a landing zone

BROKEN = {
    # binary garbage where JSON lines are expected
    "sessions/sessions_2025-03-31_garbage.jsonl": bytes(random.Random(7).randrange(256) for _ in range(3000)),
    # semicolon-delimited CSV
    "wallets/wallets_semicolon.csv": "wallet_id;owner_type;owner_id;currency;balance;updated_at\n"
    "w9;team;t1;DKK;1,00;2025-03-01T00:00:00Z\n",
    # not the ECB layout
    "fx_rates/rates_export.csv": ecb_text(5).replace("Date,", "day,", 1),
    # a CDR file outside the provider folders
    "cdrs/cdrs_2025-03-31.jsonl": jsonl([cdr(9)]),
}
EXPECTED = {
    "raw/sessions": ("sessions/sessions_2025-03-31_garbage.jsonl", "records bad"),
    "raw/wallets": (
        "wallets/wallets_semicolon.csv",
        "missing required column(s) wallet_id, currency, balance, updated_at",
    ),
    "raw/fx_rates": ("fx_rates/rates_export.csv", "not the ECB eurofxref-hist format: first column is 'day'"),
    "raw/cdrs": ("cdrs/cdrs_2025-03-31.jsonl", "not in a provider folder"),
}


@pytest.fixture(scope="module")
def refused_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_refusals")
    landing, warehouse = root / "landing", root / "wh"
    fast_dagster_home(warehouse)
    write_landing(landing)
    for rel, content in BROKEN.items():
        p = landing / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    # a serving file from an earlier good publish, held open by a BI tool during the run
    build = root / "earlier_build.duckdb"
    con = duckdb.connect(str(build))
    con.execute(
        "CREATE SCHEMA marts; CREATE TABLE marts.revenue_monthly AS SELECT DATE '2025-02-01' AS month, 1 AS revenue"
    )
    con.close()
    publish(build, warehouse / "serving.duckdb", run_id="earlier", as_of=date(2025, 3, 30))
    before = (warehouse / "serving.duckdb").read_bytes()
    reader = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
    try:
        result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF)
        seen_during = reader.execute("SELECT run_id FROM marts._publish_info").fetchone()[0]
    finally:
        reader.close()
    return result, warehouse, before, seen_during


def test_run_fails_naming_every_refused_file(refused_run):
    result, _, _, _ = refused_run
    assert result.returncode != 0, result.output
    for asset, (file, reason) in EXPECTED.items():
        lines = [ln for ln in result.output.splitlines() if f"FAILED check batches_accepted on {asset}:" in ln]
        assert lines, (asset, result.output[-4000:])
        assert f"{file}: " in lines[0] and reason in lines[0], lines[0]
    assert "NOT PUBLISHED" in result.output


def test_nothing_published_and_serving_untouched(refused_run):
    _, warehouse, before, seen_during = refused_run
    assert (warehouse / "serving.duckdb").read_bytes() == before
    assert seen_during == "earlier"
    assert not list(warehouse.glob(".serving.duckdb.*"))


def test_refused_files_left_nothing_in_raw(refused_run):
    _, warehouse, _, _ = refused_run
    con = duckdb.connect(str(warehouse / "build.duckdb"), read_only=True)
    try:
        refused = con.execute(
            "SELECT file, status, rows_loaded, rows_quarantined FROM raw._load_audit "
            "WHERE status = 'refused' ORDER BY file"
        ).fetchall()
        assert [r[0] for r in refused] == sorted(f for f, _ in EXPECTED.values())
        assert all(r[2] == r[3] == 0 for r in refused)
        for file, _ in EXPECTED.values():
            assert con.execute("SELECT count(*) FROM raw._quarantine WHERE file = ?", [file]).fetchone()[0] == 0
            assert con.execute("SELECT count(*) FROM raw._loaded_files WHERE file = ?", [file]).fetchone()[0] == 0
        # the good files of the same sources were loaded
        assert con.execute("SELECT count(*) FROM raw.sessions").fetchone()[0] == 10
        assert con.execute("SELECT count(*) FROM raw.cdrs").fetchone()[0] == 3
    finally:
        con.close()


def test_output_names_the_files_that_need_a_look_and_ends_in_a_short_summary(refused_run):
    """Lines for refused files as they are found, none for the files that loaded fine (those are in
    the run's log), and a closing summary on one screen whose last line is the verdict."""
    result, _, _, _ = refused_run
    out = result.output
    assert result.returncode == 1
    for file, _ in EXPECTED.values():
        assert re.search(rf"^    {re.escape(file)}: refused — ", out, re.M), file
    for good in ("operators/operators.csv", "sessions/sessions_2025-03-10.jsonl", "ratings/ratings.csv"):
        assert good not in out
    summary = out[out.index("summary of run") :].strip().splitlines()
    assert len(summary) <= 25, summary
    assert summary[-1].startswith("NOT PUBLISHED: ") and "4 blocking check(s) failed" in summary[-1]
    log = Path(re.search(r"^  log +(\S+)", out, re.M).group(1)).read_text()
    for good in ("operators/operators.csv: loaded", "sessions/sessions_2025-03-10.jsonl: loaded"):
        assert good in log
    assert "Traceback" not in out
