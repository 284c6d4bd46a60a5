"""Failures a person can act on: a full disk, a read-only or missing directory, a permission, a
file held open by another process. Retrying cannot help with any of them, and a traceback hides
the one thing that matters — the cause and the path. `storage_failure()` recognises them in an
exception (Python's OSError, DuckDB's and SQLite's errors, whatever wraps them) or in an error
text (a failed Dagster step's message), and says them in one line.

Exit codes of `python -m orchestration run | backfill | load` (README, "Exit codes"):"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0  # published (run, backfill) / raw layer loaded with every batch accepted (load)
EXIT_NOT_PUBLISHED = 1  # the run ended without publishing: a gate refused, or a step failed
EXIT_USAGE = 2  # bad arguments or settings: nothing was started
EXIT_BUSY = 3  # another run holds the warehouse (--no-wait), or another process holds build.duckdb
EXIT_STORAGE = 4  # disk full, read-only, permission denied, missing directory, file in the way
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGINT

# cause -> (what to say, exit code)
CAUSES = {
    "disk_full": ("disk full", EXIT_STORAGE),
    "read_only": ("read-only file system", EXIT_STORAGE),
    "permission": ("permission denied", EXIT_STORAGE),
    "missing": ("no such file or directory", EXIT_STORAGE),
    "not_a_directory": ("not a directory", EXIT_STORAGE),
    "is_a_directory": ("is a directory, not a file", EXIT_STORAGE),
    "exists": ("a file is in the way", EXIT_STORAGE),
    "held_open": ("held open by another process", EXIT_BUSY),
}

ERRNO_CAUSES = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.EFBIG: "disk_full",
    errno.EROFS: "read_only",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.ENOENT: "missing",
    errno.ENOTDIR: "not_a_directory",
    errno.EISDIR: "is_a_directory",
    errno.EEXIST: "exists",
}

# Error texts (DuckDB, SQLite, dbt's log, a Dagster step's message): the first match wins.
TEXT_CAUSES = [
    (
        re.compile(
            r"Could not set lock on file \"(?P<path>[^\"]+)\".*?(?P<detail>Conflicting lock is held in [^\n]*?\(PID \d+\))",
            re.S,
        ),
        "held_open",
    ),
    (
        re.compile(r"No space left on device|database or disk is full|Disk quota exceeded|File too large", re.I),
        "disk_full",
    ),
    (re.compile(r"Read-only file system|attempt to write a readonly database", re.I), "read_only"),
    (re.compile(r"Permission denied|Operation not permitted", re.I), "permission"),
    (re.compile(r"Not a directory", re.I), "not_a_directory"),
    (re.compile(r"Is a directory", re.I), "is_a_directory"),
    (re.compile(r"unable to open database file", re.I), "missing"),
]
QUOTED_PATH = re.compile(r"[\"'](/[^\"'\n]+)[\"']")
BARE_PATH = re.compile(r"(/[\w.+@-][^\s:\"',;)]*)")


@dataclass
class StorageFailure(Exception):
    cause: str  # a key of CAUSES
    path: str | None
    detail: str = ""

    def __post_init__(self):
        super().__init__(self.cause, self.path, self.detail)

    def __str__(self) -> str:
        return self.line()

    @property
    def exit_code(self) -> int:
        return CAUSES[self.cause][1]

    def line(self) -> str:
        """'disk full: /srv/warehouse/build.duckdb (No space left on device)'."""
        what = CAUSES[self.cause][0]
        where = self.path or "(path not reported)"
        hint = HINTS.get(self.cause, "")
        return f"{what}: {where}" + (f" ({self.detail})" if self.detail else "") + (f" — {hint}" if hint else "")


HINTS = {
    "disk_full": "free space there (or move WAREHOUSE_DIR), then run again",
    "read_only": "the directory is mounted read-only; point WAREHOUSE_DIR elsewhere or remount it",
    "permission": "give this user write access to it (or read access, for landing files)",
    "held_open": "close that program (BI tools read serving.duckdb, read-only), then run again",
    "exists": "remove or rename it, or choose another directory",
    "not_a_directory": "a file stands where a directory is expected",
}


def causes(exc: BaseException):
    """`exc` and the exceptions it was raised from or while handling, innermost last."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def storage_failure(exc: BaseException) -> StorageFailure | None:
    """The actionable storage failure behind `exc` (walking its causes), or None."""
    for e in causes(exc):
        if isinstance(e, StorageFailure):
            return e
        if isinstance(e, OSError) and e.errno in ERRNO_CAUSES:
            path = e.filename if e.filename is not None else None
            return StorageFailure(ERRNO_CAUSES[e.errno], str(path) if path is not None else None, e.strerror or "")
    for e in causes(exc):
        found = storage_failure_in_text(f"{type(e).__name__}: {e}")
        if found:
            return found
    return None


def storage_failure_in_text(text: str) -> StorageFailure | None:
    """The storage failure an error text reports (DuckDB: 'IO Error: Could not write file "X": No
    space left on device'), or None."""
    for pattern, cause in TEXT_CAUSES:
        m = pattern.search(text)
        if not m:
            continue
        groups = m.groupdict()
        path = groups.get("path") or _path_near(text, m.start())
        detail = groups.get("detail") or m.group(0)
        return StorageFailure(cause, path, detail)
    return None


def _path_near(text: str, pos: int) -> str | None:
    """The path the message names: the last quoted absolute path before the match (DuckDB quotes
    them), else the last bare absolute path before it, else the first one after it."""
    before = text[:pos]
    for pattern in (QUOTED_PATH, BARE_PATH):
        hits = pattern.findall(before)
        if hits:
            return hits[-1]
    hits = QUOTED_PATH.findall(text[pos:]) or BARE_PATH.findall(text[pos:])
    return hits[0] if hits else None


def probe_writable(directory: Path) -> None:
    """Create `directory` if needed and create and remove a file in it: raises StorageFailure
    naming the directory when it cannot be written (read-only, permissions, a file in the way)."""
    directory = Path(directory)
    try:
        if directory.exists() and not directory.is_dir():
            raise StorageFailure("not_a_directory", str(directory), "it is a file")
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        found = storage_failure(e)
        if found is None:
            raise
        if found.path is None:
            found.path = str(directory)
        raise found from e
