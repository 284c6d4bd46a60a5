"""Compare one table built by two engines, in DuckDB: the same columns with the same types, and
the same multiset of rows, where DOUBLE values may differ by a relative 1e-9 (floating-point sums
depend on the order rows are added in) and every other value — DECIMAL included — must be equal.

Rows are paired on their non-DOUBLE columns (NULL equal to NULL); rows that share those columns
are paired in the order of their DOUBLE columns. A pair whose DOUBLEs differ by more than the
tolerance counts as a difference on both sides, as does a row without a partner."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from orchestration.export import _ident

REL_TOLERANCE = 1e-9
FLOAT_TYPES = ("DOUBLE", "FLOAT")

# DuckDB's type name -> Spark's simpleString for the same type (DECIMAL(p,s) -> decimal(p,s)).
SPARK_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}


def spark_type_of(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower().replace(" ", "")
    return SPARK_TYPES.get(duckdb_type, duckdb_type.lower())


@dataclass
class TableComparison:
    table: str
    left_rows: int | None = None
    right_rows: int | None = None
    only_left: int = 0
    only_right: int = 0
    problems: list[str] = field(default_factory=list)  # missing table, columns or types
    samples: list[str] = field(default_factory=list)  # a few differing rows, for the report

    @property
    def equal(self) -> bool:
        return not self.problems and self.only_left == 0 and self.only_right == 0

    def line(self) -> str:
        if self.equal:
            return f"EQUAL  {self.table:<45} {self.left_rows:>9} rows"
        detail = (
            "; ".join(self.problems)
            if self.problems
            else (
                f"duckdb {self.left_rows} rows, spark {self.right_rows}: {self.only_left} only in duckdb, "
                f"{self.only_right} only in spark"
            )
        )
        return f"DIFF   {self.table:<45} {detail}"


def compare_relations(
    con: duckdb.DuckDBPyConnection,
    table: str,
    left: str,
    right: str,
    left_types: list[tuple[str, str]],
    right_types: list[tuple[str, str]],
    sample_rows: int = 3,
) -> TableComparison:
    """Compare relation `right` (Spark's table) with `left` (DuckDB's), both SQL names in `con`.
    `left_types` are (column, DuckDB type) of left; `right_types` (column, Spark type) of right.
    Values of right are cast to left's types before comparing (after the types were found to be
    the same)."""
    result = TableComparison(table)
    result.left_rows = con.execute(f"SELECT count(*) FROM {left}").fetchone()[0]
    result.right_rows = con.execute(f"SELECT count(*) FROM {right}").fetchone()[0]
    left_cols = [c for c, _ in left_types]
    right_map = dict(right_types)
    missing = [c for c in left_cols if c not in right_map]
    extra = [c for c in right_map if c not in dict(left_types)]
    if missing:
        result.problems.append(f"columns missing on spark: {', '.join(missing)}")
    if extra:
        result.problems.append(f"columns only on spark: {', '.join(extra)}")
    mistyped = [
        f"{c} {t} vs {right_map[c]}" for c, t in left_types if c in right_map and spark_type_of(t) != right_map[c]
    ]
    if mistyped:
        result.problems.append(f"types differ (duckdb vs spark): {', '.join(mistyped)}")
    if result.problems:
        return result

    floats = [c for c, t in left_types if t in FLOAT_TYPES]
    keys = [c for c in left_cols if c not in floats]
    q = _ident
    numbered = "SELECT {cols}, row_number() OVER ({partition} ORDER BY {order}) AS _pair FROM {rel}"
    partition = f"PARTITION BY {', '.join(q(c) for c in keys)}" if keys else ""
    order = ", ".join(f"{q(c)} NULLS FIRST" for c in floats) or "1"
    right_cols = ", ".join(f"CAST({q(c)} AS {t}) AS {q(c)}" for c, t in left_types)
    left_sql = numbered.format(cols=", ".join(q(c) for c in left_cols), partition=partition, order=order, rel=left)
    right_sql = numbered.format(
        cols=", ".join(q(c) for c in left_cols),
        partition=partition,
        order=order,
        rel=f"(SELECT {right_cols} FROM {right})",
    )
    on = " AND ".join([f"l.{q(c)} IS NOT DISTINCT FROM r.{q(c)}" for c in keys] + ["l._pair = r._pair"])
    floats_equal = (
        " AND ".join(
            f"(l.{q(c)} IS NOT DISTINCT FROM r.{q(c)} OR abs(l.{q(c)} - r.{q(c)}) "
            f"<= {REL_TOLERANCE!r} * greatest(abs(l.{q(c)}), abs(r.{q(c)})))"
            for c in floats
        )
        or "true"
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pairs AS
        SELECT l._pair IS NOT NULL AS in_left, r._pair IS NOT NULL AS in_right,
               coalesce(l._pair IS NOT NULL AND r._pair IS NOT NULL AND ({floats_equal}), false) AS same,
               {", ".join(f"l.{q(c)} AS {q('l_' + c)}" for c in left_cols)},
               {", ".join(f"r.{q(c)} AS {q('r_' + c)}" for c in left_cols)}
        FROM ({left_sql}) AS l FULL OUTER JOIN ({right_sql}) AS r ON {on}""")
    result.only_left, result.only_right = con.execute(
        "SELECT count(*) FILTER (WHERE in_left AND NOT same), count(*) FILTER (WHERE in_right AND NOT same) FROM _pairs"
    ).fetchone()
    if not result.equal:
        for side in ("l", "r"):
            cols = ", ".join(q(f"{side}_{c}") for c in left_cols)
            flag = "in_left" if side == "l" else "in_right"
            for row in con.execute(
                f"SELECT {cols} FROM _pairs WHERE {flag} AND NOT same LIMIT {int(sample_rows)}"
            ).fetchall():
                result.samples.append(f"{'duckdb' if side == 'l' else 'spark '} {dict(zip(left_cols, row))}")
    con.execute("DROP TABLE _pairs")
    return result
