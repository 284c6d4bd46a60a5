"""The run's rebuild plan as a Dagster asset: after the raw loads, before dbt. It reads what the
loads added since the last successful build and writes the sets the incremental dbt models
rebuild into schema run_plan of the build database (orchestration/plan.py)."""

import warnings

import dagster as dg

from orchestration import plan as planner
from orchestration.defs.partitions import daily, window
from orchestration.defs.raw import raw_assets
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource


def plan_asset_key(table: str) -> dg.AssetKey:
    """The asset of run_plan.<table> (the dbt source run_plan.<table> maps onto it)."""
    return dg.AssetKey([planner.SCHEMA, table])


PLAN_DESCRIPTIONS = {
    "network_dates": "Local dates the session and charge-point-day models rebuild.",
    "ocpp_dates": "Local dates ocpp_errors_daily rebuilds.",
    "roaming_dates": "UTC reporting dates the roaming marts rebuild.",
    "sessions": "Sessions int_sessions rebuilds.",
    "ledger_entries": "Ledger entries int_ledger_entries rebuilds.",
    "cdrs": "CDRs int_roaming_cdrs rebuilds.",
}


def _manifest_path():
    from orchestration.defs.dbt import DBT_PROJECT  # (that module imports this one)

    return DBT_PROJECT.manifest_path


def _run_plan(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    win = window(context)
    # a backfill of several days rebuilds them whatever changed; a daily run what its files touched
    plan = planner.plan_build(
        warehouse.build_db,
        as_of=warehouse.as_of if win is None else win[1],
        run_id=context.run_id,
        manifest=_manifest_path(),
        full_refresh=warehouse.full_refresh,
        rebuild=win if win is not None and win[0] < win[1] else None,
    )
    context.log.info(plan.describe())
    for table in planner.SETS:
        yield dg.MaterializeResult(
            asset_key=plan_asset_key(table),
            metadata={
                "plan_id": plan.plan_id,
                "mode": plan.mode,
                "as_of_date": plan.as_of.isoformat(),
                "reasons": dg.MetadataValue.json(plan.reasons),
                "rows": plan.sizes.get(table, 0),
            },
        )


with warnings.catch_warnings():
    # `backfill_policy` on @asset is marked beta in dagster 1.13 (as for the raw assets)
    warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)
    run_plan = dg.multi_asset(
        name="run_plan",
        specs=[
            dg.AssetSpec(
                plan_asset_key(t),
                deps=[a.key for a in raw_assets],
                group_name="plan",
                kinds={"python", "duckdb"},
                description=d,
                partitions_def=daily,
            )
            for t, d in PLAN_DESCRIPTIONS.items()
        ],
        backfill_policy=dg.BackfillPolicy.single_run(),  # a backfill range is one plan, one dbt build
        description="What this run's dbt build rebuilds (run_plan.*), or that it rebuilds everything "
        "(first build, rows gone from raw, registry changes, a logical date moved back) or "
        "nothing (no new data).",
        pool=WAREHOUSE_POOL,  # runs of one warehouse queue (orchestration/instance.py)
    )(_run_plan)
