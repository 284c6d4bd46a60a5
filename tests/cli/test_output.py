"""What a run says (orchestration/report.py, run.RunOutcome): a line per source with files, rows,
time and rate; lines only for files that need a look; a closing summary that stays on one screen
however many checks warn; and one line that says whether the warnings call for action."""

from __future__ import annotations

import json
from pathlib import Path

from orchestration import report
from orchestration.load.loader import FileResult, SourceResult
from orchestration.run import RunOutcome


def sessions_result() -> SourceResult:
    return SourceResult(
        "sessions",
        seconds=2.0,
        files=[
            FileResult(
                "sessions/sessions_2025-03-01.jsonl", "h1", "loaded", 10, 8, 1, 1, rules=[("kwh is negative", 1, 7)]
            ),
            FileResult("sessions/sessions_2025-03-02.jsonl", "h2", "skipped"),
            FileResult(
                "sessions/sessions_2025-03-03.jsonl",
                "h3",
                "refused",
                30,
                message="10 of 30 records bad",
                rows_refused=30,
            ),
            FileResult("sessions/sessions_2025-03-04.jsonl", "h4", "loaded", 5, 5),
        ],
        ignored=[("sessions/notes.txt", "unknown extension")],
    )


def test_one_line_per_source_with_counts_time_and_rate():
    line = sessions_result().summary_line()
    assert line == (
        "sessions       files new=2 skipped=1 refused=1  rows read=45 = loaded 13 + quarantined 1 + "
        "duplicates 1 + refused 30  in 2.0 s, 22 rows/s"
    )


def test_lines_only_for_refused_files_files_with_quarantined_records_and_entries_not_read():
    assert sessions_result().file_lines() == [
        "  sessions/sessions_2025-03-01.jsonl: 10 read = 8 loaded + 1 quarantined + 1 duplicates — "
        "kwh is negative (1, first at line 7)",
        "  sessions/sessions_2025-03-03.jsonl: refused — 10 of 30 records bad",
        "  sessions/notes.txt: not read — unknown extension",
    ]


def test_warnings_say_whether_to_act(tmp_path):
    warned = [
        {"check": "expectations", "asset": "raw/sessions", "detail": "records quarantined by ..."},
        {"check": "warn_site_kwh_drop", "asset": "marts/site_utilization_daily", "detail": ""},
    ]
    assert report.warnings_note([], tmp_path) is None
    generic = report.warnings_note(warned, tmp_path)
    assert generic.startswith("note: warnings never block publishing; quarantined records")
    (tmp_path / report.DEMO_MARKER).write_text(
        json.dumps({"sources": {"sessions": {"bad_rows": 158}, "ocpp": {"bad_rows": 89}}})
    )
    demo = report.warnings_note(warned, tmp_path)
    assert demo == (
        "note: these warnings are expected on the generated demo landing zone (it plants 247 broken "
        "records to show quarantine; its random traffic leaves small sites idle or failing more on some "
        "days); warnings never block publishing"
    )


def test_the_closing_summary_fits_on_a_screen(tmp_path):
    outcome = RunOutcome(
        run_id="1a2b3c4d-0000",
        success=True,
        published=True,
        serving_db=tmp_path / "serving.duckdb",
        loads={f"s{i}": {"files_loaded": 3, "rows_read": 10, "rows_loaded": 10} for i in range(14)},
        warned_checks=[{"check": f"warn_{i}", "asset": "marts/x", "detail": "y" * 500} for i in range(40)],
        checks_passed=150,
        models_built=66,
        published_counts={f"marts.t{i}": 100 for i in range(36)},
        publish_mode="delta",
    )
    lines = outcome.report_lines(tmp_path, Path("/wh/logs/x.log"), seconds=61.0)
    assert len(lines) <= 20
    assert lines[0] == "summary of run 1a2b3c4d (61.0 s):"
    assert lines[1].startswith("  loaded   14 sources: files new=42 ")
    assert sum(ln.startswith("  WARN  check") for ln in lines) == report.SUMMARY_WARNINGS
    assert "... and 30 more checks (in the run's log)" in lines[2 + 1 + report.SUMMARY_WARNINGS]
    assert all(len(ln) < 300 for ln in lines)
    assert lines[-1] == f"PUBLISHED {tmp_path / 'serving.duckdb'} (36 tables, 3,600 rows; delta publish)"
    assert outcome.exit_code == 0


def test_exit_codes_of_an_outcome(tmp_path):
    from orchestration.defs import LOAD_JOB_NAME
    from orchestration.failures import StorageFailure

    serving = tmp_path / "serving.duckdb"
    refused = RunOutcome(
        "r",
        True,
        False,
        serving,
        job=LOAD_JOB_NAME,
        failed_checks=[{"check": "batches_accepted", "asset": "raw/sessions", "detail": "x"}],
    )
    assert refused.exit_code == 1 and refused.report_lines()[-1] == "NOT LOADED: 1 blocking check(s) failed"
    assert RunOutcome("r", True, False, serving, job=LOAD_JOB_NAME).exit_code == 0
    assert RunOutcome("r", True, False, serving).exit_code == 1  # the whole job, not published
    full = RunOutcome(
        "r",
        False,
        False,
        serving,
        storage=StorageFailure("disk_full", "/wh/build.duckdb", "No space"),
        failed_steps=[{"step": "raw__sessions", "error": "disk full"}, {"step": "raw__cdrs", "error": "disk full"}],
    )
    assert full.exit_code == 4
    lines = full.report_lines()
    assert "  FAILED steps raw__sessions, raw__cdrs: disk full" in lines
    assert lines[-1].startswith(f"NOT PUBLISHED: {serving} was left unchanged — disk full: /wh/build.duckdb (No space)")
    held = RunOutcome("r", False, False, serving, storage=StorageFailure("held_open", "/wh/build.duckdb"))
    assert held.exit_code == 3
