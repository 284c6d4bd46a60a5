"""The dbt sources (models/staging/<system>/_<system>__sources.yml) agree with the landing-zone
contract (orchestration/contract.py), which the loader and the raw-table DDL read: the same raw
tables, the same columns in the same order, the same types and descriptions. The YAML adds what
only dbt needs (freshness); the contract stays the one place the raw layer is declared."""

from pathlib import Path

import pytest
import yaml

from orchestration.contract import LINEAGE_COLUMNS, SOURCES

PROJECT = Path(__file__).resolve().parents[1]
DBT_TYPES = {
    "str": "string",
    "int": "bigint",
    "float": "double",
    "money": "decimal(18,4)",
    "bool": "boolean",
    "ts": "timestamp",
    "date": "date",
    "json": "json",
}


def _yaml_tables() -> dict[str, tuple[str, dict]]:
    """raw table -> (dbt source name, its YAML entry), from every _<system>__sources.yml."""
    tables = {}
    for path in sorted((PROJECT / "models" / "staging").glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            assert source["schema"] == "raw", path
            for table in source["tables"]:
                assert table["name"] not in tables, f"{table['name']} declared twice"
                tables[table["name"]] = (source["name"], table)
    return tables


TABLES = _yaml_tables()


def test_the_sources_are_the_contracts_raw_tables():
    assert set(TABLES) == set(SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_columns_types_and_descriptions_follow_the_contract(name):
    src = SOURCES[name]
    dbt_source, table = TABLES[name]
    assert dbt_source == src.dbt_source
    assert " ".join(table["description"].split()) == f"{src.description} Key: {', '.join(src.key)}."
    expected = [(f.name, DBT_TYPES[f.type], f.description) for f in src.fields]
    columns = [(c["name"], c.get("data_type"), " ".join(c.get("description", "").split())) for c in table["columns"]]
    assert columns[: len(expected)] == expected
    extra = [name for name, _, _ in columns[len(expected) :]]
    lineage = [name for name, _, _ in LINEAGE_COLUMNS]
    assert extra[-len(lineage) :] == lineage
    # columns the loader adds between the fields and the lineage (raw_table_ddl)
    assert extra[: -len(lineage)] == (["provider"] if src.provider_folders else []) + (
        ["cdr"] if name == "cdrs" else []
    )
    lineage_descriptions = {c["name"]: c["description"] for c in table["columns"] if c["name"] in lineage}
    assert lineage_descriptions == {n: d for n, _, d in LINEAGE_COLUMNS}
