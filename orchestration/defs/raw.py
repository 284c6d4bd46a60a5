"""One Dagster asset per landing source: load new files into raw.<source> of the build database.

Each asset carries a blocking check, `batches_accepted`: it fails when a file of the source was
refused (format, header, encoding, too many bad rows), which stops everything downstream —
dbt and publish — so a refused batch can never reach the serving database."""

import warnings

import dagster as dg

from orchestration import report
from orchestration.check.expectations import KNOWN_IDS, suite_parameters
from orchestration.contract import SOURCES, Source
from orchestration.defs.partitions import daily, file_due, window
from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.failures import storage_failure
from orchestration.load.loader import connect, load_source

RAW_GROUP = "raw"
EVENT_SOURCES = ("sessions", "cdrs", "ocpp", "ledger")  # daily-partitioned
PROGRESS = {"progress": True}  # log records a person sees as the run goes (orchestration/progress.py)


def raw_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def registries_referenced(source: str) -> list[str]:
    """Registries whose ids the source's expectations check against: they load first."""
    return sorted({KNOWN_IDS[p][0] for p in suite_parameters(source) if p in KNOWN_IDS} - {source})


def _raw_asset(src: Source) -> dg.AssetsDefinition:
    key = raw_asset_key(src.name)

    @dg.asset(
        key=key,
        group_name=RAW_GROUP,
        description=f"raw.{src.name}: {src.description} Loaded from {src.name}/ in the landing zone.",
        kinds={"duckdb", "python"},
        deps=[raw_asset_key(r) for r in registries_referenced(src.name)],
        partitions_def=daily if src.name in EVENT_SOURCES else None,
        # a backfill of a range of days is one run (as for the dbt assets), not one run per day
        backfill_policy=dg.BackfillPolicy.single_run() if src.name in EVENT_SOURCES else None,
        check_specs=[
            dg.AssetCheckSpec(
                "batches_accepted",
                asset=key,
                blocking=True,
                description="No landing file of this source was refused (format, header, encoding, "
                "or more bad records than the allowed share).",
            ),
            dg.AssetCheckSpec(
                "gx_sample_agrees",
                asset=key,
                blocking=True,
                description=f"Great Expectations, validating a sample of every loaded batch with "
                f"expectations/{src.name}.json, flags exactly the records the suite compiled to "
                "SQL flagged (the loader enforces the suite in SQL on every record).",
            ),
            dg.AssetCheckSpec(
                "expectations",
                asset=key,
                description=f"Great Expectations suite expectations/{src.name}.json on the incoming "
                "records; failing records are quarantined (warns when there were any).",
            ),
        ],
        # Unexpected errors are retried twice. A full disk, a read-only or missing directory, a
        # permission or a build database another program holds open fail at once, in one line
        # naming the cause and the path (Failure with allow_retries=False): retrying cannot help.
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
        pool=WAREHOUSE_POOL,
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        win = window(context) if src.name in EVENT_SOURCES else None
        try:
            con = connect(warehouse.build_db)
            try:
                result = load_source(
                    con,
                    src.name,
                    warehouse.landing,
                    max_bad_share=warehouse.bad_share,
                    run_id=context.run_id,
                    include=lambda rel: file_due(rel, win),
                )
                total = con.execute(f"SELECT count(*) FROM raw.{src.name}").fetchall()[0][0]
            finally:
                con.close()
        except Exception as e:
            found = storage_failure(e)
            if found is None:
                raise
            raise dg.Failure(
                description=found.line(), allow_retries=False, metadata={"cause": found.cause, "path": found.path or ""}
            ) from e
        summary = result.summary()
        context.log.info(f"load {result.summary_line()}", extra=PROGRESS)
        # a line per file only for files refused or with quarantined records, and per entry of
        # the landing folder the loader does not read
        lines = result.file_lines()
        for i, line in enumerate(lines):
            context.log.info(line, extra=PROGRESS if i < report.CONSOLE_FILE_LINES else None)
        if len(lines) > report.CONSOLE_FILE_LINES:
            context.log.info(
                f"  ... and {len(lines) - report.CONSOLE_FILE_LINES} more files with quarantined "
                f"records (all listed in the run's log)",
                extra=PROGRESS,
            )
        for f in result.files:  # every file, for the log file and the Dagster UI
            context.log.debug(
                f"{f.file}: {f.status}, read {f.rows_read} = loaded {f.rows_loaded} + "
                f"quarantined {f.rows_quarantined} + duplicates {f.rows_duplicate}"
                + (f" — {f.message}" if f.message else "")
            )
        yield dg.MaterializeResult(
            metadata={
                **summary,
                "raw_rows_total": total,
                "not_read": dg.MetadataValue.json([{"path": p, "reason": r} for p, r in result.ignored]),
            }
        )
        disagreements = result.gx_disagreements
        yield dg.AssetCheckResult(
            check_name="gx_sample_agrees",
            passed=not disagreements,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "records_validated": sum(s.rows for s in result.gx_samples),
                "of_which_flagged": sum(s.flagged for s in result.gx_samples),
                "disagreements": dg.MetadataValue.json(disagreements),
            },
            description="; ".join(disagreements) or None,
        )
        failing = {f"{o.expectation}({o.column})": o.unexpected for o in result.expectations if o.unexpected}
        yield dg.AssetCheckResult(
            check_name="expectations",
            passed=not failing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "expectations_run": len(result.expectations),
                "unexpected_records": dg.MetadataValue.json(failing),
            },
            description=("records quarantined by " + ", ".join(f"{k}: {v}" for k, v in failing.items()))
            if failing
            else None,
        )
        refused = result.refused
        yield dg.AssetCheckResult(
            check_name="batches_accepted",
            passed=not refused,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "files_refused": len(refused),
                "refused": dg.MetadataValue.json([{"file": f.file, "reason": f.message} for f in refused]),
                "rows_quarantined": summary["rows_quarantined"],
            },
            description="; ".join(f"{f.file}: {f.message}" for f in refused) or None,
        )

    return _load


with warnings.catch_warnings():
    # `backfill_policy` on @asset is marked beta in dagster 1.13 (it is what @dbt_assets uses too)
    warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)
    raw_assets = [_raw_asset(src) for src in SOURCES.values()]
