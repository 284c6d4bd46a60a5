"""A CLI run as a person sees it, and its full log under the warehouse.

The console gets progress lines from the first seconds — start-up, one line per landing source
(files, rows, time and rate), lines for refused files and files with quarantined records, dbt
progress every few seconds, the publish — and, when nothing has been said for a while, which
step is running. Everything else goes to `<warehouse>/logs/<time>-<run>.log`: every Dagster
event and log line (per file, per dbt node), dbt's own output, Python warnings and logging.

`RunConsole.dagster_logger()` is the Dagster logger of the run (in place of Dagster's console
logger); `RunConsole.capture()` sends stdout/stderr of the run — dbt's lines, which dagster-dbt
prints — to the log file."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg

from orchestration import config, report

QUIET_S = 20.0  # say which step is running after this long without a line
DBT_PROGRESS_S = 10.0  # dbt progress at most this often
DBT_STEP = "dbt_build"
PUBLISH_STEP = "serving__serving_duckdb"


def new_log_path(warehouse: Path, run_id: str) -> Path:
    """A new run log under the warehouse; older ones beyond LOGS_KEPT are removed."""
    folder = config.logs_dir(Path(warehouse))
    folder.mkdir(parents=True, exist_ok=True)
    old = sorted(folder.glob("*.log"))
    for p in old[: max(0, len(old) - (config.LOGS_KEPT - 1))]:
        p.unlink(missing_ok=True)
    return folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{run_id[:8]}.log"


class _LogWriter:
    """A text stream that appends to the run log (stdout/stderr while the job runs)."""

    def __init__(self, console: RunConsole, label: str):
        self.console, self.label, self._buf = console, label, ""

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.console.log(f"[{self.label}] {line}")
        return len(s)

    def flush(self) -> None:
        if self._buf:
            self.console.log(f"[{self.label}] {self._buf}")
            self._buf = ""

    def isatty(self) -> bool:
        return False


class _DagsterHandler(logging.Handler):
    def __init__(self, console: RunConsole):
        super().__init__(logging.DEBUG)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.on_record(record)
        except Exception:  # a display problem must never fail the run
            self.handleError(record)


class RunConsole:
    def __init__(self, out: TextIO | None, log_path: Path, *, dbt_nodes: int = 0):
        self.out, self.log_path, self.dbt_nodes = out, log_path, dbt_nodes
        self._file = open(log_path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._last_said = time.monotonic()
        self._step: str | None = None
        self._step_started = 0.0
        self._dbt = {"done": 0, "models": 0, "passed": 0, "warned": 0, "failed": 0, "last": 0.0}
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- output --------------------------------------------------------------------------
    def say(self, line: str) -> None:
        """A line for the person (and the log)."""
        with self._lock:
            if self.out is not None:
                try:
                    self.out.write(line + "\n")
                    self.out.flush()
                except OSError:  # the terminal or pipe went away: the run goes on, its log too
                    self.out = None
            self._last_said = time.monotonic()
        self.log(line)

    def log(self, line: str) -> None:
        """A line for the log file only."""
        failed = None
        with self._lock:
            if self._file is not None and not self._file.closed:
                try:
                    self._file.write(f"{datetime.now(UTC):%H:%M:%S.%f}"[:-3] + f" {line}\n")
                    self._file.flush()
                except OSError as e:  # e.g. the disk is full: the run goes on and says so once
                    failed, self._file = e, None
        if failed is not None:
            self.say(f"  (the run's log {self.log_path} cannot be written any more: {failed.strerror or failed})")

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError:
                    pass

    # -- the job ------------------------------------------------------------------------
    def dagster_logger(self) -> dg.LoggerDefinition:
        logger = logging.getLogger(f"orchestration.run.{id(self)}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.handlers[:] = [_DagsterHandler(self)]
        return dg.LoggerDefinition(lambda _init: logger, description="progress lines + the run's log file")

    @contextlib.contextmanager
    def capture(self):
        """While the job runs: stdout/stderr (dbt's output, warnings) and Python logging into the
        log file; a ticker that says which step runs when nothing was said for QUIET_S."""
        root = logging.getLogger()
        handler = logging.StreamHandler(_LogWriter(self, "log"))
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        saved_handlers, saved_level = root.handlers[:], root.level
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        quiet = {name: logging.getLogger(name).level for name in ("alembic",)}  # storage migrations' chatter
        for name in quiet:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._ticker = threading.Thread(target=self._tick, name="run-console-ticker", daemon=True)
        self._ticker.start()
        out, err = _LogWriter(self, "stdout"), _LogWriter(self, "stderr")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                yield self
        finally:
            out.flush()
            err.flush()
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
            for name, level in quiet.items():
                logging.getLogger(name).setLevel(level)
            self._stop.set()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            step = self._step
            if step and time.monotonic() - self._last_said >= QUIET_S:
                self.say(f"  ... {_step_label(step)} running for {time.monotonic() - self._step_started:.0f} s")

    def on_record(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        message = meta.get("orig_message", record.getMessage())
        step = meta.get("step_key") or (event.step_key if event is not None else None)
        self.log(
            f"{record.levelname:<7} {step or '-':<28} "
            + (f"{event.event_type_value} " if event is not None else "")
            + message
        )
        if getattr(record, "progress", None):
            self.say(f"  {message}")
        if event is None:
            if meta.get("resource_name") and record.levelno >= logging.WARNING:
                self.say(f"  {message}")  # e.g. waiting for the warehouse
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self._step, self._step_started = step, time.monotonic()
            if step == DBT_STEP:
                self._dbt.update(done=0, last=time.monotonic())
                self.say(
                    f"  dbt build started: {self.dbt_nodes} models, seeds and tests"
                    if self.dbt_nodes
                    else "  dbt build started"
                )
        elif step == DBT_STEP and kind in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"):
            self._dbt_event(kind, event)
        elif step == PUBLISH_STEP and kind == "ASSET_MATERIALIZATION":
            meta = {k: getattr(v, "value", v) for k, v in event.event_specific_data.materialization.metadata.items()}
            self.say(
                f"  publish: {meta.get('tables', '?')} tables to {meta.get('path', 'serving.duckdb')} "
                f"({meta.get('publish_mode', '?')}: {meta.get('publish_reason', '')}) "
                f"in {time.monotonic() - self._step_started:.1f} s"
            )
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            if step == DBT_STEP:
                d = self._dbt
                self.say(
                    f"  dbt build finished in {time.monotonic() - self._step_started:.1f} s: {d['models']} "
                    f"models/seeds built, {d['passed']} tests passed, {d['failed']} failed, {d['warned']} warned"
                )
            if kind == "STEP_FAILURE":
                self.say(f"  FAILED step {step}: {_first_line(event)}")
            self._step = None
        elif kind == "STEP_UP_FOR_RETRY":
            self.say(f"  step {step} failed, retrying: {_first_line(event)}")

    def _dbt_event(self, kind: str, event) -> None:
        d = self._dbt
        d["done"] += 1
        if kind == "ASSET_MATERIALIZATION":
            d["models"] += 1
        else:
            data = event.event_specific_data
            if data.passed:
                d["passed"] += 1
            elif str(data.severity.value).upper() == "WARN":
                d["warned"] += 1
            else:
                d["failed"] += 1
        now = time.monotonic()
        if now - d["last"] >= DBT_PROGRESS_S:
            d["last"] = now
            total = f"/{self.dbt_nodes}" if self.dbt_nodes else ""
            self.say(
                f"  dbt build: {d['done']}{total} done ({d['models']} built, {d['passed']} passed, "
                f"{d['failed']} failed, {d['warned']} warned) after {now - self._step_started:.0f} s"
            )


def _step_label(step: str) -> str:
    if step.startswith("raw__"):
        return f"loading {step[5:]}"
    return {DBT_STEP: "dbt build", PUBLISH_STEP: "publish"}.get(step, step)


def _first_line(event) -> str:
    data = event.event_specific_data
    ufd = getattr(data, "user_failure_data", None)
    if ufd is not None and ufd.description:
        return ufd.description.strip().splitlines()[0]
    err = getattr(data, "error", None)
    if err is None:
        return "unknown error"
    return report.error_line(err.message, err.cls_name)
