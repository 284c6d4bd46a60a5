"""The project's Spark-only machinery on a local Spark, on tiny hand-made models in a scratch dbt
project that uses the project's macros:

  - an incremental model keyed by something else than its partitions (as int_sessions,
    int_ledger_entries, int_roaming_cdrs on Spark: insert_overwrite + macro rebuilt_rows) ends
    an incremental run with exactly what DuckDB's delete+insert leaves: a rebuilt key that moves
    to another partition leaves the old one, the other rows of the overwritten partitions stay,
    and partitions without a rebuilt key are not touched;
  - a NOT NULL contract is enforced on Spark's Parquet tables, in a full build (the project's
    spark__persist_constraints) and in an incremental run (the marts' post-hook
    check_incremental_contract), failing the model with the column and the number of rows;
  - the project applies that post-hook to every mart.

All dbt invocations run in one subprocess (one Spark start-up)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from orchestration.config import PROFILES_DIR, PROJECT_DIR

pytestmark = [pytest.mark.spark, pytest.mark.e2e]  # dbt on a local Spark: not in the fast lane

PROJECT_YML = """
name: ev_warehouse
version: "1.0.0"
config-version: 2
profile: ev_warehouse
model-paths: ["models"]
macro-paths: ["macros"]
models:
  ev_warehouse:
    +file_format: parquet
    +on_schema_change: fail
    probe_contract_incremental:  # as the project's marts (a hook in a model's YAML is rendered at parse time)
      +post-hook: "{{ check_incremental_contract() }}"
"""

KEYED = """
{{ config(materialized='incremental', incremental_strategy='insert_overwrite',
          unique_key=['key_a', 'key_b'], partition_by=['day']) }}
with rebuilt as (
    {%- if var('step') == 1 %}
    select * from values
        ('k', 1, date'2025-01-01', 'one'), ('k', 2, date'2025-01-01', 'two'),
        ('k', 3, date'2025-01-02', 'three'), ('k', 4, date'2025-01-03', 'four'),
        ('k', 6, date'2025-01-04', 'six')
        as t(key_a, key_b, day, label)
    {%- else %}
    -- key 1 moves from 01-01 to 01-02, key 5 is new on 01-03; 01-04 has no rebuilt key
    select * from values
        ('k', 1, date'2025-01-02', 'one again'), ('k', 5, date'2025-01-03', 'five')
        as t(key_a, key_b, day, label)
    {%- endif %}
)
{{ rebuilt_rows('rebuilt') }}
"""

CONTRACT_YML = """
version: 2
models:
  - name: probe_contract
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: int, constraints: [{type: not_null}]}
      - {name: amount, data_type: double, constraints: [{type: not_null}]}
  - name: probe_contract_incremental
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: int, constraints: [{type: not_null}]}
      - {name: day, data_type: date}
"""

CONTRACT = """
{{ config(materialized='table') }}
select cast(id as int) as id, cast(amount as double) as amount
from values (1, 2.5), (2, null), (3, null) as t(id, amount)
"""

CONTRACT_INCREMENTAL = """
{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['day']) }}
select cast(id as int) as id, day
from values (1, date'2025-01-01') {{ ", (null, date'2025-01-02')" if var('step') == 2 }} as t(id, day)
"""

RUNNER = """
import json, sys
from dbt.cli.main import dbtRunner
project, warehouse = sys.argv[1], sys.argv[2]
out = []
for step, select in ((1, "probe_keyed probe_contract probe_contract_incremental"),
                     (2, "probe_keyed probe_contract_incremental")):
    res = dbtRunner().invoke(["run", "--target", "spark", "--project-dir", project, "--select", select,
                              "--vars", "{step: %d}" % step, "--log-level", "none",
                              "--target-path", warehouse + "/target", "--log-path", warehouse + "/logs"])
    out.append({r.node.name: [str(r.status), r.message or ""] for r in res.result.results})
from pyspark.sql import SparkSession
rows = SparkSession.builder.getOrCreate().sql(
    "select key_b, cast(day as string), label from main.probe_keyed order by key_b").collect()
print("RESULT " + json.dumps({"steps": out, "keyed": [list(r) for r in rows]}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark_probe")
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "macros").symlink_to(PROJECT_DIR / "macros")
    (project / "dbt_project.yml").write_text(PROJECT_YML)
    files = {
        "probe_keyed.sql": KEYED,
        "probe_contract.sql": CONTRACT,
        "probe_contract_incremental.sql": CONTRACT_INCREMENTAL,
        "_probe.yml": CONTRACT_YML,
    }
    for name, text in files.items():
        (project / "models" / name).write_text(textwrap.dedent(text))
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "WAREHOUSE_DIR": str(root / "wh"),
        "WAREHOUSE_SPARK_CATALOG": "in-memory",
        "WAREHOUSE_SPARK_SHUFFLE_PARTITIONS": "2",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(project), str(root / "wh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


def test_keyed_incremental_model_replaces_keys_like_delete_insert(probe):
    assert probe["steps"][1]["probe_keyed"][0] == "success", probe["steps"][1]["probe_keyed"]
    assert probe["keyed"] == [
        [1, "2025-01-02", "one again"],  # moved: gone from 2025-01-01
        [2, "2025-01-01", "two"],  # stays in an overwritten partition
        [3, "2025-01-02", "three"],  # stays in an overwritten partition
        [4, "2025-01-03", "four"],
        [5, "2025-01-03", "five"],  # new
        [6, "2025-01-04", "six"],  # a partition without a rebuilt key
    ]


def test_not_null_contract_fails_a_full_build_with_column_and_rows(probe):
    status, message = probe["steps"][0]["probe_contract"]
    assert status == "error"
    assert "NOT NULL constraint violated" in message and "amount (2 rows)" in message and "id (" not in message
    assert probe["steps"][0]["probe_contract_incremental"][0] == "success"


def test_not_null_contract_fails_an_incremental_run(probe):
    status, message = probe["steps"][1]["probe_contract_incremental"]
    assert status == "error" and "NOT NULL constraint violated" in message and "id (1 rows)" in message


def test_every_mart_checks_its_contract_after_an_incremental_run():
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    marts = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["fqn"][1] == "marts" and n["config"]["materialized"] != "view"
    ]
    assert len(marts) > 30
    for node in marts:
        assert node["config"]["contract"]["enforced"], node["name"]
        assert any("check_incremental_contract()" in h["sql"] for h in node["config"]["post-hook"]), node["name"]
