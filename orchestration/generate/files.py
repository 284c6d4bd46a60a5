"""Registry, invoice and wallet files (small; written from the main process).

Versioned registries are written as an initial snapshot (every version before `start`, file
named with the day before `start`) plus monthly change-log files (versions written during the
month, file named with the month's last day, or `end` for the last month).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import numpy as np
import orjson

from orchestration.contract import SOURCES

from .render import write_atomic
from .simulate import invoice_issue_time
from .world import CURRENCIES, DAY, World, _ts, add_months, day_of, month_key, month_start


def csv_text(source: str, rows: list[dict]) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    cols = SOURCES[source].columns
    wr.writerow(cols)
    for r in rows:
        wr.writerow(["" if r.get(c) is None else r[c] for c in cols])
    return buf.getvalue()


def _change_file_day(w: World, t: int):
    d = day_of(t)
    nxt = day_of(month_start(add_months(d.year * 100 + d.month, 1)))
    return min(nxt - timedelta(days=1), w.end)


def write_versioned(w: World, out: Path, source: str, rows: list[dict], stats: dict) -> None:
    """rows carry `_t` (their updated_at as epoch seconds); bad rows carry `_bad`."""
    rows = sorted(rows, key=lambda r: r["_t"])
    groups: dict = {}
    for r in rows:
        if r["_t"] < w.t0:
            key = w.start - timedelta(days=1)
        elif r["_t"] < w.t_end:
            key = _change_file_day(w, r["_t"])
        else:
            continue
        groups.setdefault(key, []).append(r)
    for day, grp in sorted(groups.items()):
        rel = f"{source}/{source}_{day.isoformat()}.csv"
        write_atomic(out / rel, csv_text(source, grp))
        stats.setdefault(source, {"files": 0, "rows": 0, "bad_rows": 0})
        stats[source]["files"] += 1
        stats[source]["rows"] += len(grp)
        stats[source]["bad_rows"] += sum(1 for r in grp if r.get("_bad"))


def write_registries(w: World, out: Path, stats: dict) -> None:
    ops = []
    for o in w.operators:
        parent = w.operators[o["parent_idx"]]["operator_id"] if o["parent_idx"] >= 0 else ""
        for t, name in o["versions"]:
            ops.append(
                dict(
                    operator_id=o["operator_id"],
                    name=name,
                    parent_operator_id=parent,
                    country_code=o["country_code"],
                    currency=o["currency"],
                    updated_at=_ts(t),
                    _t=t,
                )
            )
    write_versioned(w, out, "operators", ops, stats)

    teams = []
    for tm in w.teams:
        for t, name in tm["versions"]:
            teams.append(
                dict(
                    team_id=tm["team_id"],
                    operator_id=w.operators[tm["op"]]["operator_id"],
                    name=name,
                    created_at=_ts(tm["created"]),
                    updated_at=_ts(t),
                    _t=t,
                )
            )
    write_versioned(w, out, "teams", teams, stats)

    sites = []
    for s in w.sites:
        for t, name in s["versions"]:
            if t >= w.t_end:
                continue
            sites.append(
                dict(
                    site_id=s["site_id"],
                    operator_id=w.operators[s["op"]]["operator_id"],
                    team_id=w.teams[s["team"]]["team_id"],
                    name=name,
                    address=s["address"],
                    city=s["city"],
                    postal_code=s["postal_code"],
                    country_code=s["country_code"],
                    latitude=f"{s['latitude']:.6f}",
                    longitude=f"{s['longitude']:.6f}",
                    time_zone=s["time_zone"],
                    created_at=_ts(s["created"]),
                    updated_at=_ts(t),
                    _t=t,
                )
            )
    write_versioned(w, out, "sites", sites, stats)

    write_versioned(w, out, "charge_points", list(w.cp_versions) + list(w.bad_cp_rows), stats)

    plans = []
    for p in w.plans:
        for t, price in p["versions"]:
            plans.append(
                dict(
                    plan_id=p["plan_id"],
                    operator_id=w.operators[p["op"]]["operator_id"],
                    name=p["name"],
                    price=f"{price:.4f}",
                    currency=p["currency"],
                    billing_period=p["period"],
                    updated_at=_ts(t),
                    _t=t,
                )
            )
    write_versioned(w, out, "plans", plans, stats)

    subs = []
    for s in w.subscriptions:
        base = dict(
            subscription_id=s["subscription_id"],
            plan_id=w.plans[s["plan"]]["plan_id"],
            team_id=w.teams[s["team"]]["team_id"],
            started_at=_ts(s["started"]),
            ended_at="",
        )
        subs.append(dict(base, updated_at=_ts(s["started"]), _t=s["started"]))
        if s["ended"] is not None:
            subs.append(dict(base, ended_at=_ts(s["ended"]), updated_at=_ts(s["ended"]), _t=s["ended"]))
    write_versioned(w, out, "subscriptions", subs, stats)


def write_wallets(w: World, out: Path, seed: int, stats: dict) -> None:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x3A11E7])))
    times = [w.t0]
    ym = month_key(w.t0)
    while True:
        t = month_start(add_months(ym, 1)) - 1
        if t >= w.t_end:
            break
        times.append(t)
        ym = add_months(ym, 1)
    if times[-1] != w.t_end - 1:
        times.append(w.t_end - 1)
    rows = []
    bal = np.array([wa["balance"] for wa in w.wallets])
    scale = np.array([abs(wa["balance"]) + 100.0 for wa in w.wallets])
    for i, t in enumerate(times):
        if i:
            bal = bal + rng.uniform(-0.3, 0.35, len(bal)) * scale
        for wa, b in zip(w.wallets, bal.tolist()):
            owner = (
                w.teams[wa["owner"]]["team_id"]
                if wa["owner_type"] == "team"
                else w.operators[wa["owner"]]["operator_id"]
            )
            rows.append(
                dict(
                    wallet_id=wa["wallet_id"],
                    owner_type=wa["owner_type"],
                    owner_id=owner,
                    currency=wa["currency"],
                    balance=f"{b:.4f}",
                    updated_at=_ts(t),
                    _t=t,
                )
            )
    by_month: dict = {}
    for r in rows:
        by_month.setdefault(month_key(r["_t"]), []).append(r)
    for ym, grp in sorted(by_month.items()):
        rel = f"wallets/wallets_{ym // 100:04d}-{ym % 100:02d}.csv"
        write_atomic(out / rel, csv_text("wallets", grp))
        st = stats.setdefault("wallets", {"files": 0, "rows": 0, "bad_rows": 0})
        st["files"] += 1
        st["rows"] += len(grp)


def write_invoices(w: World, out: Path, seed: int, invoices: dict, stats: dict) -> None:
    """Invoices from the per-invoice sums the simulation kept: issued on the 1st of the next month
    (unpaid), then paid / settled (wallet or write-off) in a later version, or still unpaid."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x1A7015E])))
    rows = []
    for code in sorted(invoices):
        op, ctype, cust, cur, amount, wo_t, _wo_amt = invoices[code]
        issued = invoice_issue_time(code)
        if issued >= w.t_end:
            continue
        ym = code // 100000
        if ctype == 0:
            cust_id = w.teams[cust]["team_id"]
            wallet = w.wallets[w.teams[cust]["wallet"]]["wallet_id"]
            due = issued + 14 * DAY
        else:
            cust_id = w.operators[cust]["operator_id"]
            wallet = w.wallets[w.operators[cust]["wallet"]]["wallet_id"]
            due = issued + 30 * DAY
        inv_id = "INV-%d-%s%04d" % (ym, "TO"[ctype], cust + 1)
        base = dict(
            invoice_id=inv_id,
            operator_id=w.operators[op]["operator_id"],
            customer_type="team" if ctype == 0 else "operator",
            customer_id=cust_id,
            status="unpaid",
            wallet_id=wallet,
            currency=CURRENCIES[cur],
            payable_amount="%.2f00" % (max(amount, 0) / 100),
            issued_at=_ts(issued),
            due_at=_ts(due),
            period_from=_ts(month_start(ym)),
            period_to=_ts(month_start(add_months(ym, 1)) - 1),
            paid_at=None,
        )
        rows.append((issued, dict(base, updated_at=_ts(issued))))
        u = rng.random()
        later = None
        if wo_t is not None:
            later = (wo_t, "settled", None)
        elif u < 0.80:
            t = issued + int(rng.uniform(0.5, 25 if ctype == 0 else 40) * DAY)
            later = (t, "paid", t)
        elif u < 0.88:
            t = issued + int(rng.uniform(1, 10) * DAY)
            later = (t, "settled", t)
        if later is not None and later[0] < w.t_end:
            t, status, paid = later
            rows.append((t, dict(base, status=status, paid_at=_ts(paid) if paid else None, updated_at=_ts(t))))
    by_month: dict = {}
    for t, r in rows:
        by_month.setdefault(month_key(t), []).append((t, r))
    for ym, grp in sorted(by_month.items()):
        grp.sort(key=lambda x: x[0])
        rel = f"invoices/invoices_{ym // 100:04d}-{ym % 100:02d}.jsonl"
        text = "".join(orjson.dumps({c: r.get(c) for c in SOURCES["invoices"].columns}).decode() + "\n" for _, r in grp)
        write_atomic(out / rel, text)
        st = stats.setdefault("invoices", {"files": 0, "rows": 0, "bad_rows": 0})
        st["files"] += 1
        st["rows"] += len(grp)
