"""Every incremental model uses a strategy dbt's adapters ship, named per target where DuckDB and
Spark differ, and the project's macros implement no strategy or materialization of their own."""

import json
import re
import subprocess
import sys
from pathlib import Path

from orchestration.config import PROFILES_DIR, dbt_project_dir

PROJECT = dbt_project_dir()
DUCKDB_STRATEGIES = {"append", "delete+insert", "merge", "microbatch"}  # dbt-duckdb 1.11
SPARK_STRATEGIES = {"append", "merge", "insert_overwrite", "microbatch"}  # dbt-spark


def _incremental_models(target: str = "duckdb") -> dict[str, dict]:
    """The incremental models with their configuration as dbt resolves it for `target`."""
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "ls",
            "--resource-type",
            "model",
            "--output",
            "json",
            "--output-keys",
            "name",
            "--output-keys",
            "config",
            "--output-keys",
            "original_file_path",
            "--quiet",
            "--target",
            target,
            "--profiles-dir",
            str(PROFILES_DIR),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    models = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {m["name"]: m for m in models if m["config"]["materialized"] == "incremental"}


def test_incremental_models_use_shipped_strategies_per_target():
    models, on_spark = _incremental_models(), _incremental_models("spark")
    assert len(models) >= 15 and set(on_spark) == set(models)
    for name, m in models.items():
        config = m["config"]
        assert config["incremental_strategy"] in DUCKDB_STRATEGIES, (name, config["incremental_strategy"])
        if config["incremental_strategy"] in ("delete+insert", "merge"):
            assert config["unique_key"], name
        spark = on_spark[name]["config"]
        assert spark["incremental_strategy"] in SPARK_STRATEGIES, (name, spark["incremental_strategy"])
        if spark["incremental_strategy"] == "insert_overwrite":  # Spark overwrites the partitions in the new rows
            assert spark["partition_by"] and len(spark["partition_by"]) == 1, name
            if config["unique_key"] != spark["partition_by"][0]:
                # keyed by something else than its partitions: Parquet on Spark has no MERGE, so
                # the rows that stay in an overwritten partition are selected too
                source = (PROJECT / m["original_file_path"]).read_text()
                assert re.search(r"\{\{ rebuilt_rows\('\w+'\) \}\}\s*$", source), name


def test_macros_hold_no_incremental_machinery():
    offenders = []
    for path in (PROJECT / "macros").rglob("*.sql"):
        text = path.read_text()
        if re.search(r"{%-?\s*materialization\b", text) or re.search(
            r"macro\s+\w*(get_incremental_|_merge_sql|is_incremental|should_full_refresh)", text
        ):
            offenders.append(str(path.relative_to(PROJECT)))
    assert not offenders
    assert not (PROJECT / "macros" / "incremental").exists()
