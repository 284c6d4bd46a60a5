"""The publish asset: runs only when every upstream asset materialised and every blocking check
(raw batches accepted, dbt tests of severity error) passed in this run."""


import json
from pathlib import Path

import dagster as dg

from orchestration.defs.dbt import DBT_PROJECT, dbt_build
from orchestration.defs.partitions import run_logical_date
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.publish import PUBLISHED_SCHEMAS, publish_with_report

SERVING_KEY = dg.AssetKey(["serving", "serving_duckdb"])


@dg.asset(
    key=SERVING_KEY,
    deps=[dbt_build],
    group_name="publish",
    kinds={"duckdb"},
    description="serving.duckdb: the audited marts, atomically replaced; what BI tools read.",
    pool=WAREHOUSE_POOL,  # runs of one warehouse queue (orchestration/instance.py)
)
def serving_duckdb(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    as_of = run_logical_date(context, warehouse.as_of)
    result = publish_with_report(warehouse.build_db, warehouse.serving_db, run_id=context.run_id, as_of=as_of,
                                 incremental_tables=incremental_marts())
    context.log.info(
        f"published {len(result.counts)} tables to {warehouse.serving_db} ({result.mode}: {result.reason}; "
        f"{len(result.tables_copied)} copied, {len(result.tables_delta)} with changes applied, "
        f"{len(result.tables_unchanged)} unchanged)")
    return dg.MaterializeResult(metadata={
        "path": str(warehouse.serving_db),
        "tables": len(result.counts),
        "row_counts": dg.MetadataValue.json(result.counts),
        "publish_mode": result.mode,
        "publish_reason": result.reason,
        "tables_copied": dg.MetadataValue.json(result.tables_copied),
        "tables_delta": dg.MetadataValue.json(result.tables_delta),
    })


def incremental_marts() -> dict[str, str]:
    """Published tables whose changes the dbt build logs (macros/incremental/publish_log.sql), from
    the dbt manifest, as {"schema.table": "schema.model whose change log describes it"}: an
    incremental mart describes itself; a view mart over an incremental model, row for row,
    names that model in meta.publish.changes_from. Only these can be published as deltas."""
    manifest = json.loads(Path(DBT_PROJECT.manifest_path).read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}

    def relation(n: dict) -> str:
        return f"{n['schema']}.{n.get('alias') or n['name']}"

    out: dict[str, str] = {}
    for n in models.values():
        if n["schema"] not in PUBLISHED_SCHEMAS:
            continue
        source = ((n["config"].get("meta") or {}).get("publish") or {}).get("changes_from")
        if n["config"].get("materialized") == "incremental":
            out[relation(n)] = relation(n)
        elif source and models.get(source, {}).get("config", {}).get("materialized") == "incremental":
            out[relation(n)] = relation(models[source])
    return out
