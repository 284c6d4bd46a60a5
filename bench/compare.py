"""Compare the marts of two databases on the columns DESIGN.md section 6 lists for each mart:
same rows (matched on the mart's grain), numbers equal (DOUBLE to 1e-6 relative, DECIMAL money
exactly), everything else exactly (NULL equals NULL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

REL_TOL = 1e-6
ABS_TOL = 1e-9  # for values that should be 0: relative tolerance means nothing there

# column kind -> SQL type the column is cast to on both sides before comparing
KINDS = {
    "str": "VARCHAR",
    "date": "DATE",
    "ts": "TIMESTAMP",
    "int": "BIGINT",
    "double": "DOUBLE",
    "money": "DECIMAL(18, 4)",
}


def _spec(key: dict[str, str], cols: dict[str, str]) -> dict:
    return {"key": key, "cols": cols}


S, D, T, I, F, M = "str", "date", "ts", "int", "double", "money"  # noqa: E741 (one letter per kind, a table below)

# mart -> grain (key columns) and the compared columns, as DESIGN.md section 6 lists them
MARTS: dict[str, dict] = {
    "site_utilization_daily": _spec(
        {"site_id": S, "date": D},
        {"active_charge_points": I, "kwh": F, "occupied_hours": F, "kwh_per_cp_day": F, "time_utilised_pct": F},
    ),
    "site_utilization_monthly": _spec(
        {"site_id": S, "month": D},
        {
            "cp_days": I,
            "kwh": F,
            "occupied_hours": F,
            "kwh_per_cp_day": F,
            "time_utilised_pct": F,
            "kwh_tier": S,
            "time_tier": S,
        },
    ),
    "revenue_monthly": _spec(
        {"month": D, "operator_id": S, "team_id": S, "plan_id": S, "kind": S, "currency": S},
        {"revenue": M, "revenue_eur": M},
    ),
    "revenue_running_by_operator": _spec(
        {"month": D, "operator_id": S, "currency": S}, {"revenue": M, "running_revenue": M}
    ),
    "team_revenue_monthly": _spec(
        {"month": D, "team_id": S, "currency": S},
        {
            "operator_id": S,
            "fees": M,
            "charges": M,
            "subscriptions": M,
            "write_offs": M,
            "intercompany_transfers": M,
            "tax_refunds": M,
            "total_revenue": M,
            "running_revenue": M,
        },
    ),
    "invoices": _spec(
        {"invoice_id": S},
        {
            "operator_id": S,
            "operator_name": S,
            "parent_operator_id": S,
            "parent_operator_name": S,
            "customer_type": S,
            "customer_id": S,
            "customer_name": S,
            "status": S,
            "wallet_id": S,
            "currency": S,
            "wallet_balance": M,
            "due_at": T,
            "days_overdue": I,
            "payable_amount": M,
            "period_from": T,
            "period_to": T,
        },
    ),
    "invoice_status_summary": _spec(
        {"operator_id": S, "currency": S, "status": S}, {"invoice_count": I, "payable_amount": M}
    ),
    "roaming_daily": _spec(
        {"date": D, "site_id": S, "provider": S, "emsp_party": S, "currency": S}, {"cdrs": I, "kwh": F, "revenue": M}
    ),
    "roaming_sessions_daily": _spec(
        {"date": D, "site_id": S}, {"roaming_sessions": I, "successful_sessions": I, "success_pct": F}
    ),
    "failed_charges_daily": _spec(
        {"date": D, "site_id": S},
        {"operator_id": S, "team_id": S, "total_sessions": I, "failed_sessions": I, "failed_pct": F},
    ),
    "failed_charges_by_hardware": _spec(
        {"month": D, "brand": S, "model": S, "firmware_version": S},
        {"total_sessions": I, "failed_sessions": I, "failed_pct": F},
    ),
    "ocpp_errors_daily": _spec({"date": D, "charge_point_id": S, "error_code": S}, {"site_id": S, "error_count": I}),
    "cp_team_summary": _spec(
        {"team_id": S}, {"charge_points": I, "active_charge_points": I, "sessions_this_month": I, "total_sessions": I}
    ),
    "cp_site_summary": _spec(
        {"site_id": S}, {"charge_points": I, "active_charge_points": I, "sessions_this_month": I, "total_sessions": I}
    ),
}


@dataclass
class MartDiff:
    mart: str
    rows_left: int
    rows_right: int
    only_left: int = 0
    only_right: int = 0
    duplicate_keys_left: int = 0
    duplicate_keys_right: int = 0
    column_mismatches: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def equal(self) -> bool:
        return (
            self.error is None
            and not self.only_left
            and not self.only_right
            and not self.duplicate_keys_left
            and not self.duplicate_keys_right
            and not any(self.column_mismatches.values())
        )

    def summary(self) -> str:
        if self.error:
            return f"{self.mart}: ERROR {self.error}"
        if self.equal:
            return f"{self.mart}: equal ({self.rows_left} rows)"
        bad = {c: n for c, n in self.column_mismatches.items() if n}
        return (
            f"{self.mart}: DIFFERENT rows {self.rows_left}/{self.rows_right}, only left {self.only_left}, "
            f"only right {self.only_right}, duplicate keys {self.duplicate_keys_left}/"
            f"{self.duplicate_keys_right}, mismatches {bad}"
        )


def _select(alias: str, mart: str, spec: dict) -> str:
    cols = {**spec["key"], **spec["cols"]}
    return ", ".join(f"CAST({c} AS {KINDS[k]}) AS {c}" for c, k in cols.items()) + f" FROM {alias}.marts.{mart}"


def _differs(c: str, kind: str) -> str:
    lc, rc = f"l.{c}", f"r.{c}"
    if kind == "double":
        return (
            f"NOT (({lc} IS NULL AND {rc} IS NULL) OR "
            f"abs({lc} - {rc}) <= {REL_TOL} * greatest(abs({lc}), abs({rc})) + {ABS_TOL})"
        )
    return f"{lc} IS DISTINCT FROM {rc}"


def compare_mart(
    con: duckdb.DuckDBPyConnection, left: str, right: str, mart: str, spec: dict, n_examples: int = 5
) -> MartDiff:
    keys = list(spec["key"])
    try:
        nl, ul = con.execute(
            f"SELECT count(*), count(DISTINCT ({', '.join(keys)})) FROM {left}.marts.{mart}"
        ).fetchone()
        nr, ur = con.execute(
            f"SELECT count(*), count(DISTINCT ({', '.join(keys)})) FROM {right}.marts.{mart}"
        ).fetchone()
    except duckdb.Error as e:
        return MartDiff(mart, 0, 0, error=str(e).splitlines()[0])
    diff = MartDiff(mart, nl, nr, duplicate_keys_left=nl - ul, duplicate_keys_right=nr - ur)
    on = " AND ".join(f"l.{k} IS NOT DISTINCT FROM r.{k}" for k in keys)
    checks = {c: _differs(c, k) for c, k in spec["cols"].items()}
    agg = ", ".join(
        ["count(*) FILTER (WHERE r._p IS NULL)", "count(*) FILTER (WHERE l._p IS NULL)"]
        + [f"count(*) FILTER (WHERE l._p AND r._p AND {cond})" for cond in checks.values()]
    )
    joined = (
        f"(SELECT true AS _p, {_select(left, mart, spec)}) l FULL OUTER JOIN "
        f"(SELECT true AS _p, {_select(right, mart, spec)}) r ON {on}"
    )
    row = con.execute(f"SELECT {agg} FROM {joined}").fetchone()
    diff.only_left, diff.only_right = row[0], row[1]
    diff.column_mismatches = dict(zip(checks, row[2:]))
    if not diff.equal:
        any_bad = " OR ".join(f"(l._p AND r._p AND {c})" for c in checks.values())
        rows = con.execute(
            f"SELECT l.*, r.* FROM {joined} WHERE l._p IS NULL OR r._p IS NULL OR {any_bad} "
            f"ORDER BY ALL LIMIT {n_examples}"
        ).fetchall()
        cols = ["_p", *spec["key"], *spec["cols"]]
        for r in rows:
            lv, rv = r[: len(cols)], r[len(cols) :]
            diff.examples.append(
                "L " + str(dict(zip(cols[1:], lv[1:]))) + "\n    R " + str(dict(zip(cols[1:], rv[1:])))
            )
    return diff


def compare(left_db: Path, right_db: Path, marts: list[str] | None = None) -> list[MartDiff]:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for db, alias in ((left_db, "l_db"), (right_db, "r_db")):  # ATTACH takes no parameters: a literal
            con.execute("ATTACH '" + str(db).replace("'", "''") + f"' AS {alias} (READ_ONLY)")
        return [compare_mart(con, "l_db", "r_db", m, MARTS[m]) for m in (marts or MARTS)]
    finally:
        con.close()


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("left", type=Path)
    ap.add_argument("right", type=Path)
    ap.add_argument("--mart", action="append")
    args = ap.parse_args()
    diffs = compare(args.left, args.right, args.mart)
    for d in diffs:
        print(d.summary())
        for ex in d.examples:
            print("  ", ex)
    raise SystemExit(0 if all(d.equal for d in diffs) else 1)


if __name__ == "__main__":
    main()
