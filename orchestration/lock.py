"""One writer per warehouse, however runs start (DESIGN.md section 7).

A run that writes a warehouse holds an exclusive `flock` on `<warehouse>/warehouse.lock` for its
whole duration: the CLI takes it before it starts Dagster, and every Dagster run (schedule, sensor,
UI, backfill) takes it when its `warehouse` resource is set up (defs/resources.py). The kernel
releases the lock when the holder exits, however it exits (a killed run never leaves a stale
lock). The holder writes who it is into the file — run id, how it was started, pid, host, since
when — so a second run can say in one line which run holds the warehouse, and wait or give up.

Within one process the lock is re-entrant: the CLI holds it, and the Dagster run it executes in
the same process enters it again without waiting for itself."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = "warehouse.lock"


def lock_path(warehouse: Path) -> Path:
    return Path(warehouse) / LOCK_NAME


class WarehouseBusy(Exception):
    """Another run holds the warehouse (and the caller chose not to wait, or waited too long)."""

    def __init__(self, warehouse: Path, holder: dict, waited: float | None = None):
        self.warehouse, self.holder, self.waited = Path(warehouse), holder, waited
        super().__init__(busy_line(warehouse, holder))


def describe_holder(holder: dict) -> str:
    """'run 1a2b3c4d (python -m orchestration run, as of 2025-06-30, pid 4242 on host, since 18:30:02 UTC)'."""
    if not holder:
        return "another process (it has not said which run yet)"
    details = [holder.get("started_by") or "unknown"]
    if holder.get("as_of"):
        details.append(f"as of {holder['as_of']}")
    details.append(f"pid {holder.get('pid', '?')}" + (f" on {holder['host']}" if holder.get("host") else ""))
    if holder.get("since"):
        details.append(f"since {holder['since'].replace('T', ' ')[:19]} UTC")
    run = str(holder.get("run_id") or "?")[:8]
    return f"run {run} ({', '.join(details)})"


def busy_line(warehouse: Path, holder: dict) -> str:
    return f"warehouse {warehouse} is busy: {describe_holder(holder)} is writing it"


def read_holder(warehouse: Path) -> dict:
    """Who holds (or last held) the warehouse, as its holder wrote it; {} when unknown."""
    try:
        text = lock_path(warehouse).read_text()
        return json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}


class _Held:
    def __init__(self, fd: int, holder: dict):
        self.fd, self.holder, self.depth, self.pid = fd, holder, 1, os.getpid()


_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


def held_here(warehouse: Path) -> dict | None:
    """The holder record when this process holds the warehouse, else None."""
    h = _held.get(str(Path(warehouse).resolve()))
    return h.holder if h is not None and h.pid == os.getpid() else None


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


@contextlib.contextmanager
def hold_warehouse(
    warehouse: Path,
    *,
    run_id: str,
    started_by: str,
    as_of: str | None = None,
    wait: bool = True,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    poll: float = 0.25,
    remind_every: float = 300.0,
) -> Iterator[dict]:
    """Hold the warehouse for the duration of the block. When another run holds it: with
    wait=False (or once `timeout` seconds have passed) raise WarehouseBusy; otherwise call
    on_wait(one line naming the holder), wait until it is free (reminding every `remind_every`
    seconds), and go on. Yields the holder record written into the lock file."""
    warehouse = Path(warehouse).resolve()
    key = str(warehouse)
    with _held_guard:
        mine = _held.get(key)
        if mine is not None and mine.pid == os.getpid():
            mine.depth += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield mine.holder
        finally:
            with _held_guard:
                mine.depth -= 1
        return

    warehouse.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(warehouse), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        t0 = time.monotonic()
        last_said = None
        while not _try_flock(fd):
            holder = read_holder(warehouse)
            waited = time.monotonic() - t0
            if not wait or (timeout is not None and waited >= timeout):
                raise WarehouseBusy(warehouse, holder, waited)
            if on_wait and (last_said is None or time.monotonic() - last_said >= remind_every):
                line = busy_line(warehouse, holder)
                on_wait(
                    f"{line}; waiting for it to finish"
                    if last_said is None
                    else f"{line}; still waiting ({waited:.0f} s)"
                )
                last_said = time.monotonic()
            time.sleep(poll)
        holder = {
            "run_id": run_id,
            "started_by": started_by,
            "as_of": as_of,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
            "waited_s": round(time.monotonic() - t0, 1),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        with _held_guard:
            _held[key] = _Held(fd, holder)
        try:
            yield holder
        finally:
            with _held_guard:
                _held.pop(key, None)
            # The record stays in the file (the last holder), the lock goes with the descriptor.
    finally:
        os.close(fd)
