"""Run the warehouse job in this process (the same job the schedule and sensor trigger) and turn
its events into a report that says what was built — or exactly why nothing was published."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration.defs import JOB_NAME, defs
from orchestration.defs.publish import SERVING_KEY


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    published: bool
    serving_db: Path
    loads: dict[str, dict] = field(default_factory=dict)
    failed_checks: list[dict] = field(default_factory=list)
    warned_checks: list[dict] = field(default_factory=list)
    failed_steps: list[dict] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    checks_passed: int = 0
    models_built: int = 0
    published_counts: dict[str, int] = field(default_factory=dict)

    def report_lines(self) -> list[str]:
        lines = [f"run {self.run_id}"]
        for source, m in sorted(self.loads.items()):
            lines.append(
                f"  load {source:<14} files new={m.get('files_loaded', 0)} skipped={m.get('files_skipped', 0)} "
                f"refused={m.get('files_refused', 0)}  rows read={m.get('rows_read', 0)} "
                f"loaded={m.get('rows_loaded', 0)} quarantined={m.get('rows_quarantined', 0)} "
                f"duplicates={m.get('rows_duplicate', 0)}")
        lines.append(f"  dbt: {self.models_built} models/seeds built, {self.checks_passed} checks passed, "
                     f"{len(self.failed_checks)} failed, {len(self.warned_checks)} warnings")
        for c in self.warned_checks:
            lines.append(f"  WARN  check {c['check']} on {c['asset']}: {c.get('detail') or ''}".rstrip())
        for c in self.failed_checks:
            lines.append(f"  FAILED check {c['check']} on {c['asset']}: {c.get('detail') or ''}".rstrip())
        for s in self.failed_steps:
            lines.append(f"  FAILED step {s['step']}: {s['error']}")
        if self.not_run:
            lines.append(f"  not run (an upstream step failed): {', '.join(self.not_run)}")
        if self.published:
            lines.append(f"PUBLISHED {self.serving_db} ({len(self.published_counts)} tables)")
            for t, n in sorted(self.published_counts.items()):
                lines.append(f"  {t:<45} {n:>10} rows")
        else:
            lines.append(f"NOT PUBLISHED: {self.serving_db} was left unchanged")
        return lines


def _meta_value(v):
    return getattr(v, "value", getattr(v, "data", v))


def run_job(*, landing: Path, warehouse: Path, as_of: date, instance: dg.DagsterInstance | None = None,
            log_level: str = "INFO", days: tuple[date, date] | None = None) -> RunOutcome:
    """Run the warehouse job for the daily partition `as_of`, or with `days` = (first, last) for
    the partitions first..last as one run (a backfill; as_of is then `last`)."""
    days = days or (as_of, as_of)
    job = defs.resolve_job_def(JOB_NAME)
    run_config = {
        "resources": {"warehouse": {"config": {
            "as_of_date": as_of.isoformat(), "landing_dir": str(landing), "warehouse_dir": str(warehouse)}}},
        # Progress (each file loaded, each dbt node) without Dagster's per-event debug lines.
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    owns_instance = instance is None
    instance = instance or dg.DagsterInstance.get()
    tags = {"as_of_date": days[1].isoformat()}
    partition_key = None
    if days[0] == days[1]:
        partition_key = days[0].isoformat()
    else:
        tags.update({"dagster/asset_partition_range_start": days[0].isoformat(),
                     "dagster/asset_partition_range_end": days[1].isoformat()})
    try:
        result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False,
                                        tags=tags, partition_key=partition_key)
    finally:
        if owns_instance:
            instance.dispose()
    out = RunOutcome(run_id=result.run_id, success=result.success, published=False,
                     serving_db=warehouse / "serving.duckdb")
    for ev in result.all_events:
        kind = ev.event_type_value
        data = ev.event_specific_data
        if kind == "ASSET_MATERIALIZATION":
            mat = data.materialization
            meta = {k: _meta_value(v) for k, v in mat.metadata.items()}
            if mat.asset_key == SERVING_KEY:
                out.published = True
                out.published_counts = meta.get("row_counts", {})
            elif mat.asset_key.path[0] == "raw":
                out.loads[mat.asset_key.path[-1]] = meta
            else:
                out.models_built += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            meta = {k: _meta_value(v) for k, v in data.metadata.items()}
            entry = {"check": data.check_name, "asset": data.asset_key.to_user_string(),
                     "detail": data.description or _check_detail(meta)}
            if data.passed:
                out.checks_passed += 1
            elif str(data.severity.value).upper() == "WARN":
                out.warned_checks.append(entry)
            else:
                out.failed_checks.append(entry)
        elif kind == "STEP_FAILURE":
            err = data.error
            msg = (err.message if err else "unknown error").strip().splitlines()
            out.failed_steps.append({"step": ev.step_key, "error": " ".join(msg[:3])[:500]})
    started = {ev.step_key for ev in result.all_events if ev.event_type_value == "STEP_START"}
    out.not_run = [step for step in _step_keys(job) if step not in started]
    return out


def _step_keys(job: dg.JobDefinition) -> list[str]:
    """The job's steps in topological order (raw loads, dbt build, publish)."""
    from dagster._core.execution.api import create_execution_plan
    return [s.key for s in create_execution_plan(job).get_steps_to_execute_in_topo_order()]


def _check_detail(meta: dict) -> str:
    if "refused" in meta:
        return "; ".join(f"{r['file']}: {r['reason']}" for r in meta["refused"])
    keep = {k: v for k, v in meta.items() if k in ("failed_row_count", "status", "dagster_dbt/failed_row_count")}
    return ", ".join(f"{k}={v}" for k, v in keep.items())
