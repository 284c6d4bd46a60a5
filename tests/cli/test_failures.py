"""Failures a person can act on (issue: "a full disk, a read-only warehouse or a held lock end in
a 100-line traceback"): each ends in one line naming the cause and the path, with the exit code
the README documents, and nothing is retried.

Real failures, not mocks, where the machine allows: a tiny tmpfs fills up (ENOSPC) and a tmpfs
remounted read-only (EROFS), both in a private mount namespace (`unshare --user --mount`, no
privileges needed where user namespaces are enabled); another process holding build.duckdb
open; a file where the warehouse directory should be; a directory this user may not write
(the CLI as `nobody`, when the tests run as root). DuckDB's own ENOSPC message comes from a
database file linked to /dev/full."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from orchestration.failures import EXIT_BUSY, EXIT_STORAGE, storage_failure, storage_failure_in_text
from tests.conftest import PROJECT, run_cli
from tests.e2e.test_handmade_marts import AS_OF, write_landing


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


needs_unshare = pytest.mark.skipif(not _unshare_works(), reason="no unprivileged mount namespaces here")


def cli_in_namespace(mount_script: str, *args: str, env: dict | None = None) -> tuple[int, str]:
    """`python -m orchestration ARGS` after `mount_script` in a private mount namespace."""
    script = f'set -e\n{mount_script}\nexec {sys.executable} -m orchestration "$@"'
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", script, "cli", *args],
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout + proc.stderr


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


# --- recognising the causes ------------------------------------------------------------------


def test_duckdb_disk_full_is_recognised_with_its_path(tmp_path):
    db = tmp_path / "build.duckdb"
    db.symlink_to("/dev/full")
    with pytest.raises(duckdb.Error) as raised:
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
        con.execute("CHECKPOINT")
    found = storage_failure(raised.value)
    assert (found.cause, found.path, found.exit_code) == ("disk_full", "/dev/full", EXIT_STORAGE)
    assert found.line().startswith("disk full: /dev/full (No space left on device) — free space there")


def test_os_errors_and_error_texts_are_recognised():
    wrapped = RuntimeError("load failed")
    wrapped.__cause__ = OSError(errno.EROFS, "Read-only file system", "/srv/wh/build.duckdb")
    assert (storage_failure(wrapped).cause, storage_failure(wrapped).path) == ("read_only", "/srv/wh/build.duckdb")
    denied = storage_failure(PermissionError(errno.EACCES, "Permission denied", "/landing/sessions/x.jsonl"))
    assert denied.line().startswith("permission denied: /landing/sessions/x.jsonl (Permission denied)")
    assert storage_failure(sqlite3.OperationalError("database or disk is full")).cause == "disk_full"
    held = storage_failure_in_text(
        'IOException: IO Error: Could not set lock on file "/srv/wh/build.duckdb": Conflicting lock is held in '
        "/usr/bin/python3.11 (PID 4242) by user etl. See also https://duckdb.org/docs/concurrency"
    )
    assert (held.cause, held.path, held.exit_code) == ("held_open", "/srv/wh/build.duckdb", EXIT_BUSY)
    assert "(Conflicting lock is held in /usr/bin/python3.11 (PID 4242))" in held.line()
    assert storage_failure(ValueError("kwh is not a number")) is None


# --- through the command line ----------------------------------------------------------------


def test_a_file_where_the_warehouse_directory_should_be(tmp_path):
    (tmp_path / "landing").mkdir()
    blocker = tmp_path / "wh"
    blocker.write_text("not a directory")
    result = run_cli("run", "--landing", str(tmp_path / "landing"), "--warehouse", str(blocker))
    assert result.returncode == EXIT_STORAGE, result.output
    assert "Traceback" not in result.output
    assert last_line(result.output) == (
        f"error: not a directory: {blocker} (it is a file) — a file stands where a directory is expected"
    )


@needs_unshare
@pytest.mark.parametrize("read_only", ["warehouse", "dagster_home"])
def test_a_read_only_warehouse_or_dagster_home_ends_in_one_line(tmp_path, read_only):
    (tmp_path / "landing").mkdir()
    mnt = tmp_path / "ro"
    mnt.mkdir()
    warehouse = mnt / "wh" if read_only == "warehouse" else tmp_path / "wh"
    home = mnt / "home" if read_only == "dagster_home" else tmp_path / "home"
    code, out = cli_in_namespace(
        f"mount -t tmpfs -o size=1m tmpfs {mnt}\nmount -o remount,ro {mnt}",
        "load",
        "--landing",
        str(tmp_path / "landing"),
        "--warehouse",
        str(warehouse),
        env={"DAGSTER_HOME": str(home)},
    )
    assert code == EXIT_STORAGE, out
    assert "Traceback" not in out
    blocked = warehouse if read_only == "warehouse" else home
    assert last_line(out).startswith(f"error: read-only file system: {blocked} (Read-only file system)")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run the CLI as nobody")
def test_a_warehouse_this_user_may_not_write(tmp_path):
    scratch = Path(tempfile.mkdtemp(prefix="perm_"))
    try:
        scratch.chmod(0o755)
        (scratch / "landing").mkdir(mode=0o755)
        locked = scratch / "locked"
        locked.mkdir(mode=0o755)  # owned by root: nobody may not create anything in it
        proc = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-m",
                "orchestration",
                "load",
                "--landing",
                str(scratch / "landing"),
                "--warehouse",
                str(locked / "wh"),
            ],
            cwd=PROJECT,
            env={**os.environ, "HOME": str(scratch), "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == EXIT_STORAGE, out
        assert "Traceback" not in out
        assert last_line(out).startswith(f"error: permission denied: {locked / 'wh'} (Permission denied)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@needs_unshare
@pytest.mark.e2e
def test_a_full_disk_while_loading_fails_at_once_without_retries(tmp_path):
    """The warehouse on a 1 MB file system: the first raw load runs out of space. The run ends
    with the cause and the path, nothing is retried, and the exit code says 'storage'."""
    landing, mnt = tmp_path / "landing", tmp_path / "small"
    write_landing(landing)
    mnt.mkdir()
    code, out = cli_in_namespace(
        f"mount -t tmpfs -o size=1m tmpfs {mnt}",
        "load",
        "--landing",
        str(landing),
        "--warehouse",
        str(mnt / "wh"),
        "--as-of",
        AS_OF,
        env={"DAGSTER_HOME": str(tmp_path / "dagster_home")},
    )
    assert code == EXIT_STORAGE, out
    assert "Traceback" not in out and "retrying" not in out
    assert f"disk full: {mnt / 'wh'}" in out
    assert last_line(out).startswith(f"NOT LOADED: disk full: {mnt / 'wh'}/"), out[-3000:]
    assert "free space there" in last_line(out)


@pytest.mark.e2e
def test_build_database_held_open_by_another_program_is_not_retried(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing)
    warehouse.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('READY', flush=True); sys.stdin.read()",
            str(warehouse / "build.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "READY"
        result = run_cli(
            "load",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--as-of",
            AS_OF,
            env={"DAGSTER_HOME": str(tmp_path / "dagster_home")},
        )
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert result.returncode == EXIT_BUSY, result.output
    assert "Traceback" not in result.output and "retrying" not in result.output
    assert last_line(result.output).startswith(
        f"NOT LOADED: held open by another process: {warehouse / 'build.duckdb'} (Conflicting lock is held in "
    )
    assert f"(PID {holder.pid})" in last_line(result.output)
