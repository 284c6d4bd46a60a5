"""What a run says to a person: one line per landing source, lines only for the files that need
attention (refused, or with quarantined records), and a closing summary that fits on one screen.
Everything else — every file, every dbt node, every published table — goes to the run's log file
under the warehouse (orchestration/progress.py).

The per-source lines are the loader's (`SourceResult.summary_line()`, built on `counts_text`
here, and `file_lines()`)."""

from __future__ import annotations

import json
from pathlib import Path

# A source with many files holding a few quarantined records each (the demo plants them) would
# print one line per file; the console shows this many per source, the log file all of them.
CONSOLE_FILE_LINES = 8
# The closing summary lists at most this many warned / failed checks (the rest: in the log).
SUMMARY_WARNINGS = 10
SUMMARY_FAILURES = 15

DEMO_MARKER = ".generated.json"  # written into a landing zone by `python -m orchestration generate`


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def counts_text(m: dict) -> str:
    """'files new=365 skipped=0 refused=0  rows read=52,788 = loaded 52,630 + quarantined 158 +
    duplicates 0 + refused 0' from a SourceResult.summary() dict."""
    return (
        f"files new={m.get('files_loaded', 0)} skipped={m.get('files_skipped', 0)} "
        f"refused={m.get('files_refused', 0)}  rows read={_n(m.get('rows_read', 0))} = "
        f"loaded {_n(m.get('rows_loaded', 0))} + quarantined {_n(m.get('rows_quarantined', 0))} + "
        f"duplicates {_n(m.get('rows_duplicate', 0))} + refused {_n(m.get('rows_refused', 0))}"
    )


def rate_text(rows: int, seconds: float) -> str:
    return f"{seconds:.1f} s" + (f", {rows / seconds:,.0f} rows/s" if rows and seconds > 0 else "")


def demo_marker(landing: Path) -> dict | None:
    """The generator's summary when `landing` is a generated demo landing zone, else None."""
    try:
        return json.loads((Path(landing) / DEMO_MARKER).read_text())
    except (OSError, ValueError):
        return None


def warnings_note(warned: list[dict], landing: Path) -> str | None:
    """One line that tells whether the run's warnings call for action."""
    if not warned:
        return None
    demo = demo_marker(landing)
    kinds = {w["check"] for w in warned}
    if demo is not None:
        planted = sum(int(s.get("bad_rows", 0)) for s in (demo.get("sources") or {}).values())
        parts = []
        if kinds & {"expectations"}:
            parts.append(
                f"it plants {planted:,} broken records to show quarantine"
                if planted
                else "it plants broken records to show quarantine"
            )
        if any(k.startswith("warn_") for k in kinds):
            parts.append("its random traffic leaves small sites idle or failing more on some days")
        if kinds & {"source_freshness"}:
            parts.append("it is loaded once, so its sources age")
        if parts:
            return (
                "note: these warnings are expected on the generated demo landing zone ("
                + "; ".join(parts)
                + "); warnings never block publishing"
            )
    return (
        "note: warnings never block publishing; quarantined records (file, line, rule, raw text) are in "
        "raw._quarantine of build.duckdb, warn-level dbt tests in the run's dbt log"
    )


def error_line(message: str | None, cls_name: str | None = None) -> str:
    """One readable line for a failed step's error. Dagster's DagsterAssetCheckFailedError says
    "1 blocking asset check failed with ERROR severity:" with the checks on the next lines; that
    becomes "blocking check failed: raw/sessions: batches_accepted"."""
    lines = [ln.strip() for ln in (message or "").strip().splitlines() if ln.strip()]
    if (cls_name or "").endswith("DagsterAssetCheckFailedError") or (
        lines and "blocking asset check" in lines[0] and "failed" in lines[0]
    ):
        return ("blocking check failed: " + "; ".join(lines[1:]))[:300] if len(lines) > 1 else lines[0][:300]
    return (lines[0] if lines else cls_name or "error")[:300]
