"""Run one contender as a subprocess and measure it: wall time, CPU time (user + sys of the
process and every descendant it waited for, from os.wait4) and peak memory, two ways:

* ``peak_rss_tree``: the largest sum of RSS over the whole process tree, sampled from /proc every
  50 ms (catches a Dagster process and its dbt child being big at the same time);
* ``max_rss_single``: ru_maxrss, the peak RSS of the largest single process of the tree (exact,
  not sampled). Linux charges a child that was forked from a big process with that process's peak
  RSS, so the command runs under /usr/bin/time (a tiny parent) when it exists and its %M is used.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
CLK_TCK = os.sysconf("SC_CLK_TCK")
TIME = "/usr/bin/time"


@dataclass
class Measurement:
    name: str
    cmd: list[str]
    returncode: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    peak_rss_tree_mb: float
    max_rss_single_mb: float
    log: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    def as_dict(self) -> dict:
        d = asdict(self)
        d["cpu_s"] = round(self.cpu_s, 3)
        return d


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...), or None when
    the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the command name may contain spaces and parentheses: split after the last ')'
    return stat[stat.rfind(b")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (rest := _stat_fields(entry.name)) is not None:
            kids.setdefault(int(rest[1]), []).append(int(entry.name))
    return kids


def descendants(root: int) -> list[int]:
    """The live processes below `root` (children, their children, ...)."""
    kids = _children_map()
    found, todo = [], list(kids.get(root, ()))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(kids.get(pid, ()))
    return found


def tree_rss_bytes(root: int) -> int:
    total = 0
    for pid in [root, *descendants(root)]:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


def descendants_cpu_s(root: int) -> float:
    """CPU seconds (user + sys) spent so far by the live descendants of `root` (e.g. the JVM a
    Python process started for Spark), which os.wait4 does not count until they end."""
    total = 0.0
    for pid in descendants(root):
        if (rest := _stat_fields(pid)) is not None:
            total += (int(rest[11]) + int(rest[12])) / CLK_TCK  # utime, stime
    return total


class _Poller(threading.Thread):
    """Samples the tree's RSS; past `limit` bytes it kills the tree (its own process group)."""

    def __init__(self, pid: int, interval: float = 0.1, limit: int | None = None):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.limit = pid, interval, 0, limit
        self.killed = False
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss = tree_rss_bytes(self.pid)
            self.peak = max(self.peak, rss)
            if self.limit and rss > self.limit and not self.killed:
                self.killed = True
                try:
                    os.killpg(self.pid, signal.SIGKILL)  # the contender's own process group only
                except ProcessLookupError:
                    pass
            self.stop.wait(self.interval)


def run_measured(
    name: str,
    cmd: list[str],
    *,
    env: dict | None = None,
    cwd: str | Path | None = None,
    log_path: Path | None = None,
    timeout: float | None = None,
    max_rss_gb: float | None = None,
) -> Measurement:
    """Run `cmd` to completion; its stdout+stderr go to `log_path` (or are kept in .log). The
    command runs in a process group of its own; it is killed when it runs longer than `timeout`
    seconds or its tree's RSS exceeds `max_rss_gb` (to protect a shared machine)."""
    out = open(log_path, "w") if log_path else subprocess.PIPE
    maxrss_file, shown = None, [str(c) for c in cmd]
    if Path(TIME).exists():
        fd, maxrss_file = tempfile.mkstemp(prefix="bench-maxrss-")
        os.close(fd)
        cmd = [TIME, "-f", "%M", "-o", maxrss_file, *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True if out is subprocess.PIPE else None,
        start_new_session=True,
    )
    poller = _Poller(proc.pid, limit=int(max_rss_gb * 2**30) if max_rss_gb else None)
    poller.start()
    reader_out: list[str] = []
    reader = None
    if out is subprocess.PIPE:
        reader = threading.Thread(target=lambda: reader_out.append(proc.stdout.read()), daemon=True)
        reader.start()
    deadline = None if timeout is None else t0 + timeout
    while True:
        try:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except KeyboardInterrupt:  # the child has its own session: stop it with us
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        if pid == proc.pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    poller.stop.set()
    poller.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if reader is not None:
        reader.join()
    if log_path:
        out.close()
        text = Path(log_path).read_text(errors="replace")
    else:
        text = reader_out[0] if reader_out else ""
    max_rss_kb = usage.ru_maxrss
    if maxrss_file:
        try:
            max_rss_kb = int(Path(maxrss_file).read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
        Path(maxrss_file).unlink(missing_ok=True)
    return Measurement(
        name=name,
        cmd=shown,
        returncode=proc.returncode,
        wall_s=round(wall, 3),
        cpu_user_s=round(usage.ru_utime, 3),
        cpu_sys_s=round(usage.ru_stime, 3),
        peak_rss_tree_mb=round(poller.peak / 2**20, 1),
        max_rss_single_mb=round(max_rss_kb / 1024, 1),
        log=text[-20000:] + ("\n[bench] killed: the process tree exceeded the RSS limit" if poller.killed else ""),
        extra={"killed_for_memory": True} if poller.killed else {},
    )
