"""`python -m orchestration.generate --out DIR [--seed N] [--sessions N] [--start DATE] [--end DATE]`"""

from __future__ import annotations

import argparse
import json
from datetime import date

from .core import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m orchestration.generate", description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sessions", type=int, default=50_000)
    ap.add_argument("--start", type=date.fromisoformat)
    ap.add_argument("--end", type=date.fromisoformat)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--gzip", action="store_true", help="write every landing file gzip-compressed (<name>.gz)")
    ap.add_argument("--history-days", type=int, default=1100, help="commissioning history before --start, in days")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    summary = generate(
        a.out,
        seed=a.seed,
        sessions=a.sessions,
        start=a.start,
        end=a.end,
        progress=not a.quiet,
        workers=a.workers,
        overwrite=a.overwrite,
        gzip=a.gzip,
        history_days=a.history_days,
    )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
