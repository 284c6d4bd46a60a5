"""The publish asset: runs only when every upstream asset materialised and every blocking check
(raw batches accepted, dbt tests of severity error) passed in this run."""


import dagster as dg

from orchestration.defs.dbt import dbt_build
from orchestration.defs.partitions import run_logical_date
from orchestration.defs.resources import WarehouseResource
from orchestration.publish import publish

SERVING_KEY = dg.AssetKey(["serving", "serving_duckdb"])


@dg.asset(
    key=SERVING_KEY,
    deps=[dbt_build],
    group_name="publish",
    kinds={"duckdb"},
    description="serving.duckdb: the audited marts, atomically replaced; what BI tools read.",
)
def serving_duckdb(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    as_of = run_logical_date(context, warehouse.as_of)
    counts = publish(warehouse.build_db, warehouse.serving_db, run_id=context.run_id, as_of=as_of)
    context.log.info(f"published {len(counts)} tables to {warehouse.serving_db}")
    return dg.MaterializeResult(metadata={
        "path": str(warehouse.serving_db),
        "tables": len(counts),
        "row_counts": dg.MetadataValue.json(counts),
    })
