"""Where the time of a warehouse run goes: step timings of a Dagster run from its event log, and
per-node timings from dbt's run_results.json."""

from __future__ import annotations

import json
from pathlib import Path

from orchestration import config


def dagster_run_timings(home: Path) -> dict:
    """Step durations of the latest run stored in DAGSTER_HOME `home` (the CLI's instance)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    try:
        runs = instance.get_runs(limit=1)
        if not runs:
            return {}
        run = runs[0]
        starts: dict[str, float] = {}
        steps: dict[str, float] = {}
        run_start = run_end = None
        for entry in instance.all_logs(run.run_id):
            ev = entry.dagster_event
            if ev is None:
                continue
            kind = ev.event_type_value
            if kind in ("RUN_START", "PIPELINE_START"):
                run_start = entry.timestamp
            elif kind in ("RUN_SUCCESS", "RUN_FAILURE", "PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
                run_end = entry.timestamp
            elif kind == "STEP_START":
                starts[entry.step_key] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in starts:
                steps[entry.step_key] = round(entry.timestamp - starts[entry.step_key], 3)
    finally:
        instance.dispose()
    dbt = sum(v for k, v in steps.items() if k == "dbt_build")
    plan = sum(v for k, v in steps.items() if k == "run_plan")
    publish = sum(v for k, v in steps.items() if "serving" in k or "publish" in k)
    load = sum(steps.values()) - dbt - plan - publish
    return {
        "run_id": run.run_id,
        "run_span_s": round(run_end - run_start, 3) if run_start and run_end else None,
        "load_steps_s": round(load, 3),
        "plan_step_s": round(plan, 3),
        "dbt_step_s": round(dbt, 3),
        "publish_step_s": round(publish, 3),
        "steps_s": steps,
    }


def dbt_profile(run_results: Path, top: int = 12) -> dict:
    """Totals and the slowest models of a dbt invocation."""
    r = json.loads(Path(run_results).read_text())
    nodes = r["results"]

    def total(prefix: str) -> float:
        return round(sum(n["execution_time"] for n in nodes if n["unique_id"].startswith(prefix)), 3)

    models = sorted((n for n in nodes if n["unique_id"].startswith("model.")), key=lambda n: -n["execution_time"])
    failed = [
        n["unique_id"]
        for n in nodes
        if n["unique_id"].split(".")[0] in ("model", "seed", "snapshot", "test")
        and n["status"] not in ("success", "pass", "warn", "skipped")
    ]
    return {
        "elapsed_s": round(r["elapsed_time"], 3),
        "nodes": len(nodes),
        "models_s": total("model."),
        "tests_s": total("test."),
        "seeds_s": total("seed."),
        "not_ok": failed,
        "slowest_models": [(n["unique_id"].split(".")[-1], round(n["execution_time"], 3)) for n in models[:top]],
    }


def dagster_dbt_run_results(warehouse: Path, run_id: str) -> Path | None:
    """run_results.json of the dbt invocation a job run made (the dbt asset writes each into
    <warehouse>/dbt_runs/<run id prefix>-<UTC time>/)."""
    hits = sorted(config.dbt_runs_dir(warehouse).glob(f"{run_id[:8]}-*/run_results.json"))
    return hits[-1] if hits else None
