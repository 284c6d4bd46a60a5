"""Run the warehouse job (or the load-only job) in this process — the same jobs the schedule,
the sensor and the UI run — and turn its events into a closing summary that says what was built,
or exactly why nothing was published, in a screen's worth of lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration import plan as planner
from orchestration import report
from orchestration.defs import JOB_NAME, LOAD_JOB_NAME, defs
from orchestration.defs.publish import SERVING_KEY
from orchestration.failures import EXIT_NOT_PUBLISHED, EXIT_OK, StorageFailure, storage_failure_in_text


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    published: bool
    serving_db: Path
    job: str = JOB_NAME
    loads: dict[str, dict] = field(default_factory=dict)
    failed_checks: list[dict] = field(default_factory=list)
    warned_checks: list[dict] = field(default_factory=list)
    failed_steps: list[dict] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    checks_passed: int = 0
    models_built: int = 0
    models_unchanged: int = 0  # reported by the dbt step without a rebuild (the plan could not change them)
    plan: str = ""  # the run's rebuild plan, as the run_plan step described it
    published_counts: dict[str, int] = field(default_factory=dict)
    publish_mode: str = ""
    storage: StorageFailure | None = None  # the actionable cause of a failed step, if any

    @property
    def loaded(self) -> bool:
        """The load-only job's verdict: every raw step ran and no blocking check failed."""
        return self.success and not self.failed_checks and not self.failed_steps

    @property
    def exit_code(self) -> int:
        if self.storage is not None:
            return self.storage.exit_code
        ok = self.loaded if self.job == LOAD_JOB_NAME else self.published
        return EXIT_OK if ok else EXIT_NOT_PUBLISHED

    def load_totals(self) -> dict[str, int]:
        keys = (
            "files_loaded",
            "files_skipped",
            "files_refused",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "rows_duplicate",
            "rows_refused",
        )
        return {k: sum(int(m.get(k) or 0) for m in self.loads.values()) for k in keys}

    def report_lines(
        self, landing: Path | None = None, log_path: Path | None = None, seconds: float | None = None
    ) -> list[str]:
        """The closing summary: at most ~40 lines however many files, checks and tables."""
        took = f" ({seconds:.1f} s)" if seconds is not None else ""
        lines = [f"summary of run {self.run_id[:8]}{took}:"]
        if self.loads:
            lines.append(f"  loaded   {len(self.loads)} sources: {report.counts_text(self.load_totals())}")
        if self.job != LOAD_JOB_NAME:
            if self.plan:
                lines.append(f"  plan     {self.plan}"[:160])
            unchanged = f" ({self.models_unchanged} unchanged, not rebuilt)" if self.models_unchanged else ""
            lines.append(
                f"  dbt      {self.models_built} models/seeds built{unchanged}, {self.checks_passed} checks "
                f"passed, {len(self.failed_checks)} failed, {len(self.warned_checks)} warnings"
            )
        else:
            lines.append(
                f"  checks   {self.checks_passed} passed, {len(self.failed_checks)} failed, "
                f"{len(self.warned_checks)} warnings"
            )
        lines += _listed("WARN ", self.warned_checks, report.SUMMARY_WARNINGS, clip=True)
        lines += _listed("FAILED", self.failed_checks, report.SUMMARY_FAILURES)
        by_error: dict[str, list[str]] = {}
        for s in self.failed_steps:  # one line per distinct error (a full disk fails every step alike)
            by_error.setdefault(s["error"], []).append(s["step"])
        for error, steps in by_error.items():
            lines.append(f"  FAILED step{'s' if len(steps) > 1 else ''} {', '.join(steps)}: {error}")
        if self.not_run:
            shown = self.not_run[:6]
            more = f" and {len(self.not_run) - len(shown)} more" if len(self.not_run) > len(shown) else ""
            lines.append(f"  not run (an upstream step failed): {', '.join(shown)}{more}")
        note = report.warnings_note(self.warned_checks, landing) if landing is not None else None
        if note:
            lines.append(f"  {note}")
        if log_path is not None:
            lines.append(f"  log      {log_path} (every file, dbt node and published table)")
        if self.job == LOAD_JOB_NAME:
            lines.append(
                "LOADED: raw layer of build.duckdb (nothing published)"
                if self.exit_code == EXIT_OK
                else "NOT LOADED: " + self._why_not()
            )
        elif self.published:
            rows = sum(int(n) for n in self.published_counts.values())
            lines.append(
                f"PUBLISHED {self.serving_db} ({len(self.published_counts)} tables, {rows:,} rows"
                + (f"; {self.publish_mode} publish" if self.publish_mode else "")
                + ")"
            )
        else:
            lines.append(f"NOT PUBLISHED: {self.serving_db} was left unchanged — {self._why_not()}")
        return lines

    def table_lines(self) -> list[str]:
        return [f"  {t:<45} {n:>10} rows" for t, n in sorted(self.published_counts.items())]

    def _why_not(self) -> str:
        if self.storage is not None:
            return self.storage.line()
        if self.failed_checks:
            return f"{len(self.failed_checks)} blocking check(s) failed"
        if self.failed_steps:
            return f"step {self.failed_steps[0]['step']} failed"
        return "the run did not finish"


def _listed(label: str, checks: list[dict], limit: int, clip: bool = False) -> list[str]:
    out = [
        f"  {label} check {c['check']} on {c['asset']}: "
        f"{_clip(c.get('detail') or '') if clip else c.get('detail') or ''}".rstrip()
        for c in checks[:limit]
    ]
    if len(checks) > limit:
        out.append(f"  {label} ... and {len(checks) - limit} more checks (in the run's log)")
    return out


def _clip(text: str, width: int = 240) -> str:
    """A check's detail on one line of the summary (the whole of it is in the run's log)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _meta_value(v):
    return getattr(v, "value", getattr(v, "data", v))


def run_job(
    *,
    landing: Path,
    warehouse: Path,
    as_of: date,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
    days: tuple[date, date] | None = None,
    run_id: str | None = None,
    job_name: str = JOB_NAME,
    logger: dg.LoggerDefinition | None = None,
    tags: dict[str, str] | None = None,
) -> RunOutcome:
    """Run the warehouse job (or `job_name`, e.g. the load-only job) for the daily partition
    `as_of`, or with `days` = (first, last) for the partitions first..last as one run (a backfill;
    as_of is then `last`). `logger` replaces Dagster's console logger (the CLI's RunConsole)."""
    days = days or (as_of, as_of)
    job = defs.resolve_job_def(job_name)
    run_config = {
        "resources": {
            "warehouse": {
                "config": {
                    "as_of_date": as_of.isoformat(),
                    "landing_dir": str(landing),
                    "warehouse_dir": str(warehouse),
                }
            }
        },
    }
    if logger is not None:
        job = job.with_logger_defs({"warehouse_console": logger})
        run_config["loggers"] = {"warehouse_console": {}}
    else:
        # Progress (each file loaded, each dbt node) without Dagster's per-event debug lines.
        run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    owns_instance = instance is None
    instance = instance or dg.DagsterInstance.get()
    run_tags = {"as_of_date": days[1].isoformat(), **(tags or {})}
    partition_key = None
    if days[0] == days[1]:
        partition_key = days[0].isoformat()
    else:
        run_tags.update(
            {
                "dagster/asset_partition_range_start": days[0].isoformat(),
                "dagster/asset_partition_range_end": days[1].isoformat(),
            }
        )
    try:
        result = job.execute_in_process(
            instance=instance,
            run_config=run_config,
            raise_on_error=False,
            tags=run_tags,
            partition_key=partition_key,
            run_id=run_id,
        )
    finally:
        if owns_instance:
            instance.dispose()
    return outcome_of(result, job, warehouse)


def outcome_of(result, job: dg.JobDefinition, warehouse: Path) -> RunOutcome:
    out = RunOutcome(
        run_id=result.run_id,
        success=result.success,
        published=False,
        serving_db=warehouse / "serving.duckdb",
        job=job.name,
    )
    for ev in result.all_events:
        kind = ev.event_type_value
        data = ev.event_specific_data
        if kind == "ASSET_MATERIALIZATION":
            mat = data.materialization
            meta = {k: _meta_value(v) for k, v in mat.metadata.items()}
            if mat.asset_key == SERVING_KEY:
                out.published = True
                out.published_counts = meta.get("row_counts", {})
                out.publish_mode = str(meta.get("publish_mode") or "")
            elif mat.asset_key.path[0] == "raw":
                out.loads[mat.asset_key.path[-1]] = meta
            elif mat.asset_key.path[0] == planner.SCHEMA:
                reasons = meta.get("reasons") or []
                out.plan = f"{meta.get('mode', '')}" + (f": {'; '.join(map(str, reasons))}" if reasons else "")
            elif meta.get("rebuilt") is False:
                out.models_unchanged += 1
            else:
                out.models_built += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            meta = {k: _meta_value(v) for k, v in data.metadata.items()}
            entry = {
                "check": data.check_name,
                "asset": data.asset_key.to_user_string(),
                "detail": data.description or _check_detail(meta),
            }
            if data.passed:
                out.checks_passed += 1
            elif str(data.severity.value).upper() == "WARN":
                out.warned_checks.append(entry)
            else:
                out.failed_checks.append(entry)
        elif kind == "STEP_FAILURE":
            err = data.error
            ufd = data.user_failure_data
            text = (ufd.description if ufd is not None and ufd.description else None) or _error_text(err)
            if ufd is not None and ufd.description:
                line = text.strip().splitlines()[0][:500]
            else:
                line = report.error_line(text, err.cls_name if err else None) if text else "unknown error"
            out.failed_steps.append({"step": ev.step_key, "error": line})
            if out.storage is None:
                out.storage = storage_failure_in_text(_error_text(err, chain=True) + "\n" + (text or ""))
    started = {ev.step_key for ev in result.all_events if ev.event_type_value == "STEP_START"}
    out.not_run = [step for step in _step_keys(job) if step not in started]
    return out


def _error_text(err, chain: bool = False) -> str:
    """A Dagster SerializableErrorInfo's message (and, with chain, those of its causes)."""
    parts = []
    while err is not None:
        parts.append(err.message or "")
        if not chain:
            break
        err = err.cause or err.context
    return "\n".join(parts)


def _step_keys(job: dg.JobDefinition) -> list[str]:
    """The job's steps in topological order (raw loads, dbt build, publish)."""
    from dagster._core.execution.api import create_execution_plan

    return [s.key for s in create_execution_plan(job).get_steps_to_execute_in_topo_order()]


def _check_detail(meta: dict) -> str:
    if "refused" in meta:
        return "; ".join(f"{r['file']}: {r['reason']}" for r in meta["refused"])
    keep = {k: v for k, v in meta.items() if k in ("failed_row_count", "status", "dagster_dbt/failed_row_count")}
    return ", ".join(f"{k}={v}" for k, v in keep.items())


def dbt_node_count() -> int:
    """Models, seeds, snapshots and data tests of the dbt step: the total of its progress lines."""
    from orchestration.defs.dbt import dbt_build

    return len(dbt_build.keys) + len(dbt_build.check_keys)
