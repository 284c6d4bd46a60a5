"""The table comparison behind `make spark-check` (bench/spark_compare.py): equal tables pass,
and every kind of difference the check promises to catch is caught — a DOUBLE beyond 1e-9
relative, a DECIMAL off by one unit, a missing, extra or duplicated row, a NULL for a value, a
missing column, a different type."""

import duckdb
import pytest

from bench.spark_compare import compare_relations, spark_type_of

DUCKDB_TYPES = [
    ("site_id", "VARCHAR"),
    ("day", "DATE"),
    ("sessions", "BIGINT"),
    ("kwh", "DOUBLE"),
    ("revenue", "DECIMAL(18,4)"),
]
SPARK_TYPES = [
    ("site_id", "string"),
    ("day", "date"),
    ("sessions", "bigint"),
    ("kwh", "double"),
    ("revenue", "decimal(18,4)"),
]
ROWS = [
    ("S1", "2025-01-01", 3, 12.5, "10.0000"),
    ("S1", "2025-01-02", 1, 1e6 / 3, "0.0001"),
    ("S2", "2025-01-01", 0, None, None),
    ("S2", "2025-01-01", 0, None, None),  # a duplicate row: multisets, not sets
    ("S3", "2025-01-01", 2, 0.0, "-5.5000"),
]


def _compare(rows_right, spark_types=SPARK_TYPES, rows_left=ROWS):
    con = duckdb.connect()
    for name, rows in (("l", rows_left), ("r", rows_right)):
        con.execute(
            f"CREATE TABLE {name} (site_id VARCHAR, day DATE, sessions BIGINT, kwh DOUBLE, revenue DECIMAL(18,4))"
        )
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?)", rows)
    return compare_relations(con, "t", "l", "r", DUCKDB_TYPES, spark_types)


def _with(index, **changes):
    rows = list(ROWS)
    names = [c for c, _ in DUCKDB_TYPES]
    row = dict(zip(names, rows[index]))
    row.update(changes)
    rows[index] = tuple(row[c] for c in names)
    return rows


def test_equal_tables_in_any_row_order_are_equal():
    result = _compare(list(reversed(ROWS)))
    assert result.equal, result.line()
    assert result.line().startswith("EQUAL") and "5 rows" in result.line()


def test_doubles_within_one_billionth_relative_are_equal():
    result = _compare(_with(1, kwh=1e6 / 3 * (1 + 4e-10)))
    assert result.equal, result.line()


@pytest.mark.parametrize(
    "rows, why",
    [
        (_with(1, kwh=1e6 / 3 * (1 + 3e-9)), "double beyond 1e-9 relative"),
        (_with(4, kwh=1e-300), "double that should be exactly 0"),
        (_with(0, revenue="10.0001"), "decimal off by one unit"),
        (_with(2, kwh=0.0), "NULL replaced by a value"),
        (_with(0, site_id="s1"), "string differs in case"),
        (ROWS[:-1], "a missing row"),
        (ROWS + [ROWS[0]], "an extra duplicate row"),
        (ROWS[:3] + ROWS[4:], "one of two identical rows missing"),
    ],
)
def test_each_difference_is_caught(rows, why):
    result = _compare(rows)
    assert not result.equal, why
    assert result.line().startswith("DIFF"), why
    assert result.samples, why


def test_a_missing_column_or_another_type_is_a_difference():
    missing = _compare(ROWS, spark_types=SPARK_TYPES[:-1])
    assert not missing.equal and "revenue" in missing.line()
    retyped = _compare(ROWS, spark_types=SPARK_TYPES[:-1] + [("revenue", "decimal(38,4)")])
    assert not retyped.equal and "decimal(38,4)" in retyped.line()


def test_duckdb_types_map_to_spark_type_names():
    assert [spark_type_of(t) for _, t in DUCKDB_TYPES] == [t for _, t in SPARK_TYPES]
    assert spark_type_of("TIMESTAMP") == "timestamp" and spark_type_of("INTEGER") == "int"
