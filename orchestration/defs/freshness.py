"""Source freshness as a warn-level Dagster check on every raw asset, after every load.

The thresholds are dbt's: `freshness` and `loaded_at_field` (raw._loaded_at) in each
models/staging/*/_*__sources.yml, read from the dbt manifest, and judged by dbt's own
`FreshnessThreshold.status` — so the check says exactly what `dbt source freshness` says for the
same moment (tests/defs/test_freshness.py compares the two). The only thing done here is dbt's
collect_freshness query, `max(loaded_at_field)` and the current time, on the build database in
the run's own process: a `dbt source freshness` invocation would add about 5 s (dbt's start-up
and project parse) to every run for fourteen one-row queries."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from dbt.artifacts.resources.v1.components import FreshnessThreshold

from orchestration.contract import SOURCES
from orchestration.defs.dbt import DBT_PROJECT
from orchestration.defs.raw import raw_asset_key
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource

CHECK_NAME = "source_freshness"


@dataclass
class Freshness:
    source: str  # the dbt source table (= the raw table = the landing source)
    status: str  # pass | warn | error | runtime error (dbt's statuses)
    threshold: dict  # dbt's freshness config: warn_after / error_after
    max_loaded_at: datetime | None = None
    age_s: float | None = None
    message: str = ""

    def line(self) -> str:
        limits = ", ".join(
            f"{k.replace('_', ' ')} {_span(v)}"
            for k, v in self.threshold.items()
            if k in ("warn_after", "error_after") and v and v.get("count")
        )
        if self.max_loaded_at is None:
            return f"{self.source}: {self.message or 'no record loaded yet'} ({self.status}; {limits})"
        return (
            f"{self.source}: newest record loaded {_age(self.age_s)} ago, at "
            f"{self.max_loaded_at:%Y-%m-%d %H:%M} UTC ({self.status}; {limits})"
        )


def _span(t: dict) -> str:
    return f"{t['count']} {t['period']}{'s' if t['count'] != 1 else ''}"


def _age(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def source_criteria(manifest_path: Path | None = None) -> dict[str, dict]:
    """{raw table: {"relation", "loaded_at_field", "freshness"}} for every dbt source in schema raw
    with a freshness threshold, from the dbt manifest."""
    manifest = json.loads(Path(manifest_path or DBT_PROJECT.manifest_path).read_text())
    out = {}
    for node in manifest["sources"].values():
        cfg = node.get("config") or {}
        freshness = cfg.get("freshness") or node.get("freshness")
        loaded_at = cfg.get("loaded_at_field") or node.get("loaded_at_field")
        if node["schema"] != "raw" or not loaded_at or not FreshnessThreshold.from_dict(freshness or {}):
            continue
        out[node["name"]] = {
            "relation": f'"{node["schema"]}"."{node["identifier"]}"',
            "loaded_at_field": loaded_at,
            "freshness": freshness,
        }
    return out


NEVER = datetime(1, 1, 1, tzinfo=UTC)


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def measure(con: duckdb.DuckDBPyConnection, criteria: dict[str, dict]) -> dict[str, Freshness]:
    """dbt's collect_freshness for each source (the relation and loaded_at_field are the dbt
    project's own names, never landing data), judged by dbt's thresholds."""
    out = {}
    for source, c in criteria.items():
        threshold = {k: v for k, v in c["freshness"].items() if k in ("warn_after", "error_after")}
        try:
            max_loaded_at, now = con.execute(
                f"SELECT max({c['loaded_at_field']}), current_timestamp FROM {c['relation']}"
            ).fetchone()
        except duckdb.CatalogException:
            out[source] = Freshness(source, "runtime error", threshold, message="raw table does not exist yet")
            continue
        # an empty table is as old as it gets (dbt takes datetime.min): its worst status
        age = (_utc(now) - (_utc(max_loaded_at) if max_loaded_at else NEVER)).total_seconds()
        status = FreshnessThreshold.from_dict(c["freshness"]).status(age)
        out[source] = Freshness(
            source,
            str(getattr(status, "value", status)),
            threshold,
            _utc(max_loaded_at) if max_loaded_at else None,
            age if max_loaded_at else None,
            "" if max_loaded_at else "no record loaded yet",
        )
    return out


CRITERIA = source_criteria()


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=raw_asset_key(s),
            blocking=False,
            description=f"dbt source freshness of raw.{s}: how long ago its newest record was loaded (raw._loaded_at), "
            f"against warn_after / error_after in the dbt sources YAML. Warns; never blocks publishing.",
        )
        for s in SOURCES
        if s in CRITERIA
    ],
    can_subset=True,
    name="raw_source_freshness",
    pool=WAREHOUSE_POOL,
)
def raw_source_freshness(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    selected = {k.asset_key.path[-1] for k in context.selected_asset_check_keys}
    con = duckdb.connect(str(warehouse.build_db), read_only=True)
    try:
        results = measure(con, {s: c for s, c in CRITERIA.items() if s in selected})
    finally:
        con.close()
    for source, f in results.items():
        yield dg.AssetCheckResult(
            asset_key=raw_asset_key(source),
            check_name=CHECK_NAME,
            passed=f.status == "pass",
            severity=dg.AssetCheckSeverity.WARN,
            description=None if f.status == "pass" else f.line(),
            metadata={
                "status": f.status,
                "max_loaded_at": f.max_loaded_at.isoformat() if f.max_loaded_at else None,
                "age_hours": round(f.age_s / 3600, 2) if f.age_s is not None else None,
                "criteria": dg.MetadataValue.json(f.threshold),
            },
        )
