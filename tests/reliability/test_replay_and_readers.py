"""Replays and concurrent BI readers, in one sequence of five runs that all publish to one
serving file while two BI readers use it:

  run 1  landing L → a fresh warehouse W
  run 2  L again → W (everything already loaded: files skipped by content hash; nothing to
         build, the serving file is left as it is)
  run 3  L again → W
  run 4  L' (the same files copied into a fresh landing dir, in reverse order, under other
         names) → W with a fresh build database (build.duckdb and Dagster home removed: a new
         warehouse that publishes onto the same serving path)
  run 5  L'' (another order and other names, seeded shuffle) → W, fresh build database again

Every run publishes the same tables (fingerprints of every published table, except
marts._publish_info, equal) and the raw layer holds the same records. L is the hand-made
landing zone plus files that make load order matter if anything does: identical re-sends across
files (which copy is kept depends on the order), a conflicting version (both quarantined
whatever the order) and an ECB file overlapping another.

Meanwhile a reader re-opens serving.duckdb read-only several times a second (as BI tools do on
refresh) and another holds one connection open throughout: neither ever gets an error, and every
refresh sees one complete published state (marts._publish_info.table_row_counts equal to the
real row counts, in the same connection). The query counts are printed (docs/reliability.md).

Dagster keeps these runs' event log in memory (helpers.fast_dagster_home)."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import table_fingerprints
from tests.e2e.test_handmade_marts import AS_OF, write_landing
from tests.reliability.helpers import (
    copy_landing,
    fast_dagster_home,
    raw_summary,
    run_cli_logged,
    save_figures,
    serving_state,
    session,
    start_readers,
    stop_readers,
)

pytestmark = pytest.mark.e2e  # the whole job on a landing zone


def _extra_session(i: int, **over) -> dict:
    day, hour = 1 + i % 28, 6 + i % 10
    rec = session(
        0,
        session_id=f"X{i}",
        charging_started_at=None,
        charging_ended_at=None,
        plugged_in_at=f"2025-03-{day:02d}T{hour:02d}:00:00Z",
        unplugged_at=f"2025-03-{day:02d}T{hour:02d}:40:00Z",
        kwh=5.0 + i,
        updated_at=f"2025-03-{day:02d}T{hour:02d}:40:00Z",
    )
    rec.update(over)
    return rec


def write_replay_landing(root: Path) -> None:
    write_landing(root)
    a = [_extra_session(i) for i in range(1, 31)]
    b = (
        [_extra_session(i) for i in range(1, 11)]  # identical re-sends of 10 records of file a
        + [_extra_session(11, kwh=99.0)]  # same key and updated_at as in file a, other content
        + [_extra_session(i) for i in range(31, 50)]
    )
    (root / "sessions" / "sessions_2025-03-30_extra_a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in a))
    (root / "sessions" / "sessions_2025-03-31_extra_b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in b))
    full = (root / "fx_rates" / "eurofxref-hist.csv").read_text().splitlines(keepends=True)
    (root / "fx_rates" / "eurofxref-hist-older.csv").write_text("".join(full[:1] + full[3:]))  # overlaps


def reordered(rel: str, rank: dict[str, int]) -> str:
    """Keep the folder (source, provider) and the date in the name; prefix a rank that orders
    the files of a folder differently."""
    folder, name = rel.rsplit("/", 1)
    return f"{folder}/{rank[rel]:02d}_{name.replace('eurofxref', 'ecb')}"


def fresh_build(warehouse: Path) -> None:
    """A new warehouse, except for the serving file (the runs publish onto the same path)."""
    for name in ("build.duckdb", "build.duckdb.wal", "dagster_home", "duckdb_tmp"):
        p = warehouse / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    fast_dagster_home(warehouse)


@pytest.fixture(scope="module")
def five_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    landing, warehouse = root / "landing", root / "wh"
    write_replay_landing(landing)
    files = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file())
    reverse = {rel: len(files) - i for i, rel in enumerate(files)}
    shuffled = files[:]
    random.Random(20250331).shuffle(shuffled)
    shuffle = {rel: i for i, rel in enumerate(shuffled)}
    landings = {"L": landing, "L'": root / "landing_reversed", "L''": root / "landing_shuffled"}
    copy_landing(landing, landings["L'"], lambda rel: reordered(rel, reverse))
    copy_landing(landing, landings["L''"], lambda rel: reordered(rel, shuffle))

    serving = warehouse / "serving.duckdb"
    fast_dagster_home(warehouse)
    readers, stop = start_readers(serving, root)
    runs = []
    try:
        for n, (name, fresh) in enumerate([("L", False), ("L", False), ("L", False), ("L'", True), ("L''", True)], 1):
            if fresh:
                fresh_build(warehouse)
            rc, out, seconds = run_cli_logged(
                root / f"run{n}.log",
                "run",
                "--landing",
                str(landings[name]),
                "--warehouse",
                str(warehouse),
                "--as-of",
                AS_OF,
            )
            assert rc == 0 and "PUBLISHED" in out, out[-5000:]
            state = serving_state(serving)
            runs.append(
                {
                    "landing": name,
                    "seconds": seconds,
                    "run_id": state["run_id"],
                    "fingerprints": table_fingerprints(serving),
                    "raw": raw_summary(warehouse / "build.duckdb"),
                    "output": out,
                }
            )
    finally:
        seen = stop_readers(readers, stop)
    save_figures(
        "replay_and_readers",
        {
            "runs": [{"landing": r["landing"], "seconds": round(r["seconds"], 1), "run_id": r["run_id"]} for r in runs],
            "readers": {
                mode: {k: s[k] for k in ("refreshes", "queries", "run_ids", "seen", "seconds")}
                | {"errors": len(s["errors"])}
                for mode, s in seen.items()
            },
        },
    )
    return runs, seen


def test_replays_publish_identical_tables(five_runs):
    runs, _ = five_runs
    first = runs[0]["fingerprints"]
    assert len(first) >= 30
    for i, r in enumerate(runs[1:3], 2):
        assert r["fingerprints"] == first, f"run {i} on the same landing zone published other tables"
        assert r["raw"] == runs[0]["raw"]
    # runs 2 and 3 loaded nothing new: every file skipped by its content hash
    for r in runs[1:3]:
        assert set(re.findall(r"files new=(\d+)", r["output"])) == {"0"}, r["output"][-3000:]


def test_other_order_and_names_publish_identical_tables(five_runs):
    runs, _ = five_runs
    for i, r in enumerate(runs[3:], 4):
        diff = {
            t
            for t in set(r["fingerprints"]) | set(runs[0]["fingerprints"])
            if r["fingerprints"].get(t) != runs[0]["fingerprints"].get(t)
        }
        assert not diff, f"run {i} ({r['landing']}) published different {sorted(diff)}"
        assert r["raw"] == runs[0]["raw"], f"run {i}: the raw layer differs"
    # the landing made order matter: re-sends were duplicates, the conflicting pair quarantined
    raw = runs[0]["raw"]
    assert dict(raw["_quarantine"])["sessions"] == 2
    assert raw["sessions"][0] == 10 + 30 + 19 - 1  # hand-made + extra a + new of extra b - X11 (conflict)


def test_readers_never_failed_and_saw_only_complete_states(five_runs):
    runs, seen = five_runs
    reopen, hold = seen["reopen"], seen["hold"]
    assert reopen["errors"] == [], reopen["errors"][:3]
    assert hold["errors"] == [], hold["errors"][:3]
    # runs 2 and 3 had nothing new (their plan was `none`): they left the serving file as it was
    assert runs[1]["run_id"] == runs[2]["run_id"] == runs[0]["run_id"]
    published = list(dict.fromkeys(r["run_id"] for r in runs))  # the files written, in order
    assert len(published) == 3
    # the refreshing reader saw every publish, in order, each a consistent state
    assert reopen["run_ids"] == published, (reopen["run_ids"], published)
    assert reopen["refreshes"] >= 100 and reopen["queries"] >= 30 * reopen["refreshes"]
    # the connection opened once keeps reading the file it opened (the first publish)
    assert hold["run_ids"] == [published[0]] and hold["refreshes"] >= 20
