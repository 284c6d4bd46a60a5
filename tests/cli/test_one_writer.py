"""One writer per warehouse (DESIGN.md section 7), from the command line: a second run waits for
the first with one line naming it (or, with --no-wait, exits at once with that line and code 3),
and two runs started at once both end, one after the other, without a traceback.

The Dagster side (runs queue per warehouse; a Dagster run waits for the lock too) is in
tests/defs/test_operations.py; through a real `dagster dev` with the sensor on:
scripts/check_one_writer_dagster_dev.py."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest

from orchestration.lock import WarehouseBusy, hold_warehouse, read_holder
from tests.cli.helpers import Holder
from tests.conftest import PROJECT, read_serving
from tests.e2e.test_handmade_marts import AS_OF, write_landing
from tests.reliability.helpers import fast_dagster_home, start_cli

RUN_LINE = re.compile(r"^  run ([0-9a-f]{8}); its full log: (\S+)$", re.M)
STAMP = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) ", re.M)


def test_a_second_holder_is_told_who_holds_the_warehouse_and_waits(tmp_path):
    warehouse = tmp_path / "wh"
    with Holder(warehouse) as holder:
        with pytest.raises(WarehouseBusy) as busy:
            with hold_warehouse(warehouse, run_id="0" * 8, started_by="test", wait=False):
                pass
        line = str(busy.value)
        assert line.startswith(
            f"warehouse {warehouse.resolve()} is busy: run cafebabe (test holder, as of 2025-03-31, "
            f"pid {holder.proc.pid} on "
        )
        said = []
        threading.Timer(1.0, holder.release).start()
        with hold_warehouse(warehouse, run_id="1" * 8, started_by="test", on_wait=said.append) as mine:
            assert mine["run_id"] == "1" * 8 and mine["waited_s"] >= 0.5
            assert read_holder(warehouse)["run_id"] == "1" * 8
    assert len(said) == 1 and said[0] == f"{line}; waiting for it to finish"


def test_the_lock_is_reentrant_in_its_process_and_exclusive_across_processes(tmp_path):
    """The CLI holds the warehouse and runs the Dagster job in its own process, whose resource
    takes the lock again: that must not wait for itself, while other processes still must."""
    warehouse = tmp_path / "wh"
    probe = (
        "import sys; from orchestration.lock import hold_warehouse, WarehouseBusy\n"
        "try:\n    with hold_warehouse(sys.argv[1], run_id='x', started_by='probe', wait=False): sys.exit(0)\n"
        "except WarehouseBusy as e:\n    print(e); sys.exit(3)"
    )
    with hold_warehouse(warehouse, run_id="outer-run", started_by="cli") as outer:
        with hold_warehouse(warehouse, run_id="inner-run", started_by="dagster", wait=False) as inner:
            assert inner is outer
        other = subprocess.run(
            [sys.executable, "-c", probe, str(warehouse)], cwd=PROJECT, capture_output=True, text=True
        )
        assert other.returncode == 3 and "is busy: run outer-ru (cli" in other.stdout
    free = subprocess.run([sys.executable, "-c", probe, str(warehouse)], cwd=PROJECT, capture_output=True, text=True)
    assert free.returncode == 0, free.stdout + free.stderr


def test_no_wait_exits_at_once_with_one_line_and_code_3(tmp_path, cli):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    landing.mkdir()
    with Holder(warehouse):
        for command in ("run", "load"):
            result = cli(command, "--landing", str(landing), "--warehouse", str(warehouse), "--no-wait")
            assert result.returncode == 3, result.output
            assert "Traceback" not in result.output
            last = result.output.strip().splitlines()[-1]
            assert re.fullmatch(
                rf"error: warehouse {re.escape(str(warehouse))} is busy: run cafebabe \(test holder, "
                r"as of 2025-03-31, pid \d+ on \S+, since [\d-]+ [\d:]+ UTC\) is writing it; "
                r"not waiting \(--no-wait\)",
                last,
            ), last


@pytest.mark.e2e
def test_two_runs_started_at_once_both_publish_one_after_the_other(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing)
    fast_dagster_home(warehouse)
    args = ("run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF)
    first, second = (start_cli(tmp_path / f"run{i}.out", *args) for i in (1, 2))
    codes = [p.wait(900) for p in (first, second)]
    outputs = [p.output() for p in (first, second)]
    assert codes == [0, 0], outputs
    for out in outputs:
        assert "Traceback" not in out and "Could not set lock" not in out
        assert out.strip().splitlines()[-1].startswith("PUBLISHED ")
    runs = [RUN_LINE.search(out) for out in outputs]
    waited = [i for i, out in enumerate(outputs) if " is busy: run " in out]
    assert len(waited) == 1, outputs  # exactly one of the two had to wait ...
    w, o = waited[0], 1 - waited[0]
    busy = next(ln for ln in outputs[w].splitlines() if " is busy: run " in ln)
    assert (
        f"is busy: run {runs[o].group(1)} (python -m orchestration run, as of {AS_OF}, pid " in busy
    )  # ... named the other
    assert "the warehouse is free after" in outputs[w]
    # ... and ran after it: its log starts after the other's ends. It found the files loaded and
    # nothing to rebuild (a `none` plan), so the serving file is still the one the first run published.
    log_w, log_o = (STAMP.findall(open(runs[i].group(2)).read()) for i in (w, o))
    assert log_o[-1] <= log_w[0], (log_o[-1], log_w[0])
    assert "files new=0 " in outputs[w] and "  plan     none" in outputs[w], outputs[w]
    assert read_serving(warehouse / "serving.duckdb", "SELECT run_id FROM marts._publish_info")[0][0].startswith(
        runs[o].group(1)
    )
