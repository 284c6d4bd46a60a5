"""The loader alone on a landing zone (what the Dagster job's load steps run), with the
per-source log lines:

    python -m bench.load_run --db FILE --landing DIR [--sources a,b,...]"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from orchestration.contract import SOURCES
from orchestration.load.loader import connect, load_source

BIG = ("sessions", "ledger", "cdrs", "ocpp")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--landing", required=True, type=Path)
    ap.add_argument("--sources", default=",".join(BIG), help="comma-separated (default: the four big ones)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("orchestration.load").setLevel(logging.INFO)
    con = connect(args.db)
    out = {}
    try:
        for name in args.sources.split(","):
            if name not in SOURCES:
                raise SystemExit(f"unknown source {name}")
            t0 = time.perf_counter()
            res = load_source(con, name, args.landing)
            out[name] = {
                "s": round(time.perf_counter() - t0, 3),
                **res.summary(),
                "gx_disagreements": res.gx_disagreements,
            }
            if res.gx_disagreements:
                raise SystemExit(f"{name}: Great Expectations disagrees with the SQL: {res.gx_disagreements}")
    finally:
        con.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
