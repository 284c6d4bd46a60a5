"""The DuckDB profile survives a build that spills to disk.

dbt-duckdb opens the database once with the profile's `config_options` and runs `SET` for every
`settings` entry on each new cursor (one per model and test). DuckDB 2 refuses any `SET
temp_directory` once the temporary directory has been used, so with temp_directory among the
per-cursor settings every node after the first spill failed (seen at 10M sessions). This test
opens the profile the way dbt-duckdb does, forces a spill, then opens more cursors.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments import Environment
from dbt.clients.yaml_helper import load_yaml_text
from dbt.config.renderer import ProfileRenderer
from dbt_common.context import set_invocation_context

ROOT = Path(__file__).resolve().parents[2]


def _duckdb_output(warehouse: Path, monkeypatch) -> dict:
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))
    monkeypatch.setenv("WAREHOUSE_MEMORY_LIMIT", "64MB")
    set_invocation_context(dict(os.environ))  # env_var() reads the invocation's environment
    raw = load_yaml_text((ROOT / "profiles" / "profiles.yml").read_text())
    output = raw["ev_warehouse"]["outputs"]["duckdb"]
    return ProfileRenderer({}).render_data(output)


def test_nodes_after_a_spill_still_run(tmp_path, monkeypatch):
    output = _duckdb_output(tmp_path, monkeypatch)
    creds = DuckDBCredentials(
        path=output["path"],
        settings=output.get("settings"),
        config_options=output.get("config_options"),
    )
    con = Environment.initialize_db(creds)
    try:
        first = con.cursor()
        Environment.initialize_cursor(creds, first)
        first.execute("create table t as select range as a, md5(range::varchar) as b from range(2000000)")
        # grouping and sorting 2M hashes does not fit in 64 MB: DuckDB spills into temp_directory
        first.execute("select b, count(*) from t group by b order by b limit 1").fetchall()
        spilled = Path(first.execute("select current_setting('temp_directory')").fetchone()[0])
        assert spilled == tmp_path / "duckdb_tmp"
        assert spilled.is_dir(), "the query was meant to spill; make it larger"
        for _ in range(3):  # the next nodes' cursors
            cursor = con.cursor()
            Environment.initialize_cursor(creds, cursor)
            assert cursor.execute("select count(*) from t").fetchone() == (2_000_000,)
    finally:
        con.close()


def test_the_memory_limit_applies(tmp_path, monkeypatch):
    output = _duckdb_output(tmp_path, monkeypatch)
    con = duckdb.connect(output["path"], config=output["config_options"])
    try:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
        assert limit.endswith("MiB") and float(limit.split()[0]) < 64
    finally:
        con.close()
