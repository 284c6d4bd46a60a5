"""`make docs`: dbt docs and Great Expectations Data Docs, written into $WAREHOUSE_DIR/docs/.

docs/dbt/index.html   dbt docs (models, columns, tests, lineage, exposures), with the catalog
                      of the build database when one exists
docs/gx/...           GX Data Docs: every landing source's expectation suite, and its
                      latest validation at load time (a sample of the batch, which GX
                      re-validates against the SQL the suite is enforced with; a database
                      loaded before that: the records most recently loaded into the raw table)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration import config
from orchestration.check import expectations
from orchestration.contract import SOURCES

SAMPLE_ROWS = 100_000


def build_dbt_docs(warehouse: Path, out: Path) -> Path:
    env = {
        **os.environ,
        "WAREHOUSE_DIR": str(warehouse),
        "DBT_TARGET_PATH": str(out),
        "DBT_LOG_PATH": str(out / "logs"),
    }
    args = [
        str(Path(sys.executable).parent / "dbt"),
        "docs",
        "generate",
        "--project-dir",
        str(config.dbt_project_dir()),
        "--profiles-dir",
        str(config.PROFILES_DIR),
    ]
    if not config.build_db(warehouse).exists():
        args.append("--empty-catalog")
    subprocess.run(args, env=env, check=True, cwd=config.dbt_project_dir())
    return out / "index.html"


def build_gx_docs(warehouse: Path, out: Path) -> Path:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    out.mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", project_root_dir=str(out))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    build = config.build_db(warehouse)
    con = duckdb.connect(str(build), read_only=True) if build.exists() else None
    try:
        for source in SOURCES:
            spec = expectations.suite_json(source)
            suite = gx.ExpectationSuite(name=spec["name"], meta=spec.get("meta"))
            for exp in spec["expectations"]:
                suite.add_expectation_configuration(
                    ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"], meta=exp.get("meta"))
                )
            suite = ctx.suites.add_or_update(suite)
            if (
                con is None
                or not con.execute(
                    "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = ?", [source]
                ).fetchall()[0][0]
            ):
                continue
            if _add_load_validation(ctx, con, source, spec["name"]):
                continue  # the load's own validation (a sample of the latest batch, checked against the SQL)
            cols = ", ".join(SOURCES[source].columns)
            df = con.execute(
                f"SELECT {cols} FROM raw.{source} ORDER BY _loaded_at DESC, _line LIMIT {SAMPLE_ROWS}"
            ).df()
            if df.empty:
                continue
            params = expectations.parameter_values(con, source, None)
            bd = (
                ctx.data_sources.add_or_update_pandas(f"raw_{source}")
                .add_dataframe_asset(f"raw_{source}")
                .add_batch_definition_whole_dataframe("latest")
            )
            vd = ctx.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"raw_{source}_latest", data=bd, suite=suite)
            )
            vd.run(batch_parameters={"dataframe": df}, expectation_parameters=params)
    finally:
        if con is not None:
            con.close()
    ctx.build_data_docs()
    return out / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _add_load_validation(ctx, con, source: str, suite_name: str) -> bool:
    """Put the loader's latest Great Expectations validation of `source` (raw._gx_validations) into
    the Data Docs' validation results; False when the build database has none."""
    import json

    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    if not con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = '_gx_validations'"
    ).fetchall()[0][0]:
        return False
    rows = con.execute(
        "SELECT run_id, validated_at, result FROM raw._gx_validations WHERE source = ? "
        "ORDER BY validated_at DESC LIMIT 1",
        [source],
    ).fetchall()
    if not rows:
        return False
    run_id, at, result = rows[0]
    validation = ExpectationSuiteValidationResultSchema().load(json.loads(result))
    key = ValidationResultIdentifier(
        ExpectationSuiteIdentifier(name=suite_name),
        RunIdentifier(f"load {run_id or ''}".strip(), at),
        f"{source}-load-sample",
    )
    ctx.validation_results_store.set(key, validation)
    return True


def build_docs(warehouse: Path) -> list[Path]:
    docs = warehouse / "docs"
    return [build_dbt_docs(warehouse, docs / "dbt"), build_gx_docs(warehouse, docs / "gx")]
