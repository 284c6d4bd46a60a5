"""A process that holds a warehouse as a run would (orchestration/lock.py), for as long as a test
needs: it prints READY once it holds the lock and lets go when its stdin closes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT

HOLD = """
import sys
from orchestration.lock import hold_warehouse
with hold_warehouse(sys.argv[1], run_id=sys.argv[2], started_by="test holder", as_of="2025-03-31"):
    print("READY", flush=True)
    sys.stdin.read()
"""


class Holder:
    def __init__(self, warehouse: Path, run_id: str = "cafebabe-0000-4000-8000-000000000000"):
        self.run_id = run_id
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(warehouse), run_id],
            cwd=PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "READY"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
