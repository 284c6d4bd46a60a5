"""Are two loads the same? The raw tables of the four big sources (every column but the load
time), their quarantine rows (file, line, rule, text) and their audit rows (file, hash, status,
counts, message), compared as multisets:

    python -m bench.compare_load LEFT.duckdb RIGHT.duckdb"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

BIG = ("sessions", "ledger", "cdrs", "ocpp")


def compare(left: Path, right: Path, sources=BIG) -> dict[str, dict]:
    con = duckdb.connect()
    out: dict[str, dict] = {}
    try:
        con.execute("ATTACH ? AS l (READ_ONLY)", [str(left)])
        con.execute("ATTACH ? AS r (READ_ONLY)", [str(right)])
        src_list = "(" + ", ".join(f"'{s}'" for s in sources) + ")"
        queries = {}
        for s in sources:
            cols = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'l' AND schema_name = 'raw' "
                    "AND table_name = ? AND column_name <> '_loaded_at' ORDER BY column_index",
                    [s],
                ).fetchall()
            ]
            sel = ", ".join(f'"{c}"' for c in cols)
            queries[f"raw.{s}"] = (f"SELECT {sel} FROM l.raw.{s}", f"SELECT {sel} FROM r.raw.{s}")
        q = "SELECT source, file, file_hash, line, rule, raw_text FROM {}.raw._quarantine WHERE source IN " + src_list
        queries["raw._quarantine"] = (q.format("l"), q.format("r"))
        a = (
            "SELECT source, file, file_hash, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, "
            "rows_refused, message FROM {}.raw._load_audit WHERE source IN " + src_list
        )
        queries["raw._load_audit"] = (a.format("l"), a.format("r"))
        for name, (ql, qr) in queries.items():
            n = con.execute(f"SELECT count(*) FROM ({ql})").fetchall()[0][0]
            con.execute(f"CREATE OR REPLACE TEMP TABLE only_l AS {ql} EXCEPT ALL {qr}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE only_r AS {qr} EXCEPT ALL {ql}")
            n_l = con.execute("SELECT count(*) FROM only_l").fetchall()[0][0]
            n_r = con.execute("SELECT count(*) FROM only_r").fetchall()[0][0]
            examples = (
                con.execute("SELECT * FROM only_l LIMIT 3").fetchall()
                + con.execute("SELECT * FROM only_r LIMIT 3").fetchall()
            )
            out[name] = {
                "rows": n,
                "equal": n_l == 0 and n_r == 0,
                "only_left": n_l,
                "only_right": n_r,
                "examples": [str(x)[:300] for x in examples],
            }
    finally:
        con.close()
    return out


def main() -> int:
    res = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    for name, r in res.items():
        print(
            f"{name:<18} {r['rows']:>10,} rows  "
            + (
                "equal"
                if r["equal"]
                else f"DIFFERENT ({r['only_left']} only left, {r['only_right']} only right) {r['examples']}"
            )
        )
    return 0 if all(r["equal"] for r in res.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
