"""ECB euro foreign exchange reference rates, in the ECB's own wide `eurofxref-hist.csv` shape:
`Date,USD,JPY,...,ZAR,` header, newest date first, TARGET business days only, one column per
currency (units per 1 EUR), `N/A` where the ECB has no rate, and a trailing comma on every line.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from . import catalog as C
from .render import write_atomic


def easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def target_holidays(year: int) -> set[date]:
    e = easter(year)
    return {
        date(year, 1, 1),
        e - timedelta(days=2),
        e + timedelta(days=1),
        date(year, 5, 1),
        date(year, 12, 25),
        date(year, 12, 26),
    }


def business_days(first: date, last: date) -> list[date]:
    hol: set[date] = set()
    for y in range(first.year, last.year + 1):
        hol |= target_holidays(y)
    out, d = [], first
    while d <= last:
        if d.weekday() < 5 and d not in hol:
            out.append(d)
        d += timedelta(days=1)
    return out


def fx_text(seed: int, start: date, end: date) -> tuple[str, int]:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xEC8])))
    days = business_days(start - timedelta(days=60), end)
    n = len(days)
    cols = []
    # a stretch without ISK rates in the middle of the span, as the ECB file has for ISK (2008-2018)
    isk_gap = (n // 2 - 8, n // 2 + 8) if n > 40 else (n // 3, n // 3 + 2)
    for code, level, decimals, vol in C.ECB_CURRENCIES:
        if level is None:
            cols.append(["N/A"] * n)
            continue
        if vol == 0:
            series = np.full(n, level)
        else:
            x = np.zeros(n)
            for i in range(1, n):  # mean-reverting log random walk
                x[i] = 0.985 * x[i - 1] + rng.normal(0.0, vol)
            series = level * np.exp(x)
            if code == "DKK":  # ERM II: the krone stays within a narrow band
                series = np.clip(series, 7.4550, 7.4650)
        fmt = f"%.{decimals}f"
        vals = [fmt % v for v in series]
        for i, d in enumerate(days):
            if code == "BGN" and d >= date(2026, 1, 1):  # Bulgaria adopted the euro
                vals[i] = "N/A"
            if code == "ISK" and isk_gap[0] <= i < isk_gap[1]:
                vals[i] = "N/A"
        cols.append(vals)
    header = "Date," + ",".join(c[0] for c in C.ECB_CURRENCIES) + ",\n"
    lines = [header]
    for i in range(n - 1, -1, -1):  # newest first
        lines.append(days[i].isoformat() + "," + ",".join(col[i] for col in cols) + ",\n")
    return "".join(lines), n


def write_fx(out: Path, seed: int, start: date, end: date, stats: dict) -> None:
    text, n = fx_text(seed, start, end)
    write_atomic(out / "fx_rates" / "eurofxref-hist.csv", text)
    stats["fx_rates"] = {"files": 1, "rows": n, "bad_rows": 0}
