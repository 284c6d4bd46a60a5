"""`generate()`: write a realistic, deterministic demo landing zone (DESIGN.md section 4).

The main process builds the world (registries), then simulates one UTC day at a time and routes
every record to the daily file of its own date (a session completed after midnight goes into the
next day's file, a credit CDR weeks later into a later file). A day's files are complete as soon
as that day has been simulated (records never go back in time), so they are handed to a worker
process that renders and writes them while the main process simulates the next day. Only a few
days of records are in memory at any time.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from orchestration.contract import SOURCES

from . import catalog as C
from .files import csv_text, write_invoices, write_registries, write_wallets
from .fx import write_fx
from .render import RenderContext, init_worker, render_day, write_atomic
from .simulate import A_UNKNOWN, Simulator, _concat, nrows, take
from .world import DAY, World, build_world, month_key

BAD_SHARE = 0.003  # share of bad records in sessions, cdrs, ocpp and ratings files
BAD_CAP = 0.02  # never more than this share of any single file
ALL_SOURCES = list(SOURCES)


def _as_date(d) -> date | None:
    if d is None or isinstance(d, date):
        return d
    return date.fromisoformat(str(d))


def generate(
    out: Path | str,
    seed: int = 42,
    sessions: int = 50_000,
    start: date | None = None,
    end: date | None = None,
    progress: bool = True,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    gzip: bool = False,
    history_days: int = 1100,
) -> dict:
    """Write all landing sources of DESIGN.md section 4 into `out/<source>/...`.

    end defaults to today (UTC), start to end - 364 days. Deterministic for a seed. Refuses to
    write into a landing zone that already has files of these sources unless `overwrite` (then the
    source folders are emptied first). `workers`: render processes (default: 2 when the run is big
    enough to gain from them, else 0 = render in this process); the output does not depend on it.
    Returns a summary: rows, files and injected bad rows per source. `gzip`: every file is
    written gzip-compressed (`<name>.gz`), as the landing zone accepts them. `history_days`
    (more than 20): charge points already in service at `start` were commissioned up to that many
    days before it (default 1,100, about three years); the daily network tables start there.
    """
    if history_days <= 20:
        raise ValueError("history_days must be more than 20")
    from . import render

    render.GZIP_LEVEL = 1 if gzip else None
    try:
        return _generate(out, seed, sessions, start, end, progress, workers, overwrite, history_days)
    finally:
        render.GZIP_LEVEL = None


def _generate(out, seed, sessions, start, end, progress, workers, overwrite, history_days=1100) -> dict:
    t_start = time.perf_counter()
    out = Path(out)
    end = _as_date(end) or datetime.now(UTC).date()
    start = _as_date(start) or end - timedelta(days=364)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    if sessions < 0:
        raise ValueError("sessions must be >= 0")
    _prepare_out(out, overwrite)

    def log(msg: str) -> None:
        if progress:
            print(f"[generate] {msg}", file=sys.stderr, flush=True)

    world = build_world(seed, sessions, start, end, history_days)
    stats: dict = {}
    write_registries(world, out, stats)
    write_fx(out, seed, start, end, stats)
    log(
        f"{start} .. {end} ({world.n_days} days), seed {seed}: {len(world.operators)} operators, "
        f"{len(world.teams)} teams, {len(world.sites)} sites, {world.n_cp} charge points; target {sessions:,} sessions"
    )

    sim = Simulator(world, seed)
    ctx = make_context(world, out)
    if workers is None:
        workers = 2 if sessions >= 200_000 and (os.cpu_count() or 1) >= 2 else 0
    pool = None
    if workers > 0:
        try:
            mpctx = mp.get_context("fork")
        except ValueError:  # pragma: no cover - non-POSIX
            mpctx = mp.get_context("spawn")
        pool = mpctx.Pool(workers, initializer=init_worker, initargs=(ctx,))
    else:
        init_worker(ctx)

    pending: dict[int, dict[str, list]] = {}
    inflight: deque = deque()
    ratings_month: dict[int, list[str]] = {}
    frame_seq = 1
    last_report = time.perf_counter()

    def consume(res: dict, di: int) -> None:
        for rel, (rows, bad) in res["files"].items():
            src = rel.split("/")[0]
            st = stats.setdefault(src, {"files": 0, "rows": 0, "bad_rows": 0})
            st["files"] += 1
            st["rows"] += rows
            st["bad_rows"] += bad
        ym = month_key(world.t0 + di * DAY)
        ratings_month.setdefault(ym, []).append(res["ratings"])
        nxt = world.t0 + (di + 1) * DAY
        if di == world.n_days - 1 or month_key(nxt) != ym:
            _write_ratings(out, ym, ratings_month.pop(ym), sim, stats)

    try:
        for di in range(world.n_days):
            for src, table in sim.day(di).items():
                _route(pending, src, table, world)
            day_tables = pending.pop(di, {})
            tables = {src: _concat(parts) for src, parts in day_tables.items()}
            rng = sim.rng(di, 0xBAD)
            _inject_bad(tables, sim, rng)
            if nrows(tables.get("ocpp") or {}):
                m = nrows(tables["ocpp"])
                tables["ocpp"]["seq"] = frame_seq + np.arange(m, dtype=np.int64)
                frame_seq += m
            day_iso = (start + timedelta(days=di)).isoformat()
            if pool is None:
                consume(render_day(day_iso, tables), di)
            else:
                inflight.append((di, pool.apply_async(render_day, (day_iso, tables))))
                while len(inflight) > 2 * workers:
                    d0, r = inflight.popleft()
                    consume(r.get(), d0)
            now = time.perf_counter()
            last_day_of_month = month_key(world.t0 + (di + 1) * DAY) != month_key(world.t0 + di * DAY)
            if progress and (last_day_of_month or now - last_report > 10 or di == world.n_days - 1):
                last_report = now
                done = sim.sessions_written
                rate = done / max(now - t_start, 1e-9)
                log(f"{day_iso}: {di + 1}/{world.n_days} days, {done:,} sessions, {rate:,.0f} sessions/s")
        while inflight:
            d0, r = inflight.popleft()
            consume(r.get(), d0)
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    write_invoices(world, out, seed, sim.invoices, stats)
    write_wallets(world, out, seed, stats)
    elapsed = time.perf_counter() - t_start
    for src in ALL_SOURCES:
        stats.setdefault(src, {"files": 0, "rows": 0, "bad_rows": 0})
    summary = {
        "out": str(out),
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "sessions": sim.sessions_written,
        "charge_points": world.n_cp,
        "sites": len(world.sites),
        "operators": len(world.operators),
        "teams": len(world.teams),
        "seconds": round(elapsed, 2),
        "sources": {src: stats[src] for src in ALL_SOURCES},
    }
    log(
        f"done in {elapsed:.1f}s: {sim.sessions_written:,} sessions; "
        + ", ".join(f"{s} {v['rows']:,} rows/{v['files']} files" for s, v in summary["sources"].items())
    )
    return summary


def _prepare_out(out: Path, overwrite: bool) -> None:
    existing = [src for src in ALL_SOURCES if (out / src).exists() and any((out / src).rglob("*"))]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out} already has landing files for {', '.join(existing)}; use an empty directory or overwrite=True"
        )
    if existing:
        import shutil

        for src in existing:
            shutil.rmtree(out / src)
    out.mkdir(parents=True, exist_ok=True)


def _route(pending: dict, src: str, table: dict, w: World) -> None:
    """Split a table by the UTC day of `_t` into the pending buckets of those days."""
    if not nrows(table):
        return
    day = (table["_t"] - w.t0) // DAY
    lo, hi = int(day.min()), int(day.max())
    if lo == hi:
        if 0 <= lo < w.n_days:
            pending.setdefault(lo, {}).setdefault(src, []).append(table)
        return
    order = np.argsort(day, kind="stable")
    ds = day[order]
    cuts = np.flatnonzero(np.diff(ds)) + 1
    for chunk in np.split(order, cuts):
        d = int(day[chunk[0]])
        if 0 <= d < w.n_days:
            pending.setdefault(d, {}).setdefault(src, []).append(take(table, chunk))


def _n_bad(rng: np.random.Generator, n: int) -> int:
    k = int(n * BAD_SHARE + rng.random())
    return min(k, int(BAD_CAP * n))


def _inject_bad(tables: dict, sim: Simulator, rng: np.random.Generator) -> None:
    """Add a few broken copies of real records (with fresh ids, so no good record is affected).
    sessions: 1 truncated JSON line, 2 negative kWh, 3 unplugged before plugged-in, 4 unknown state,
              5 required field missing (plugged_in_at)
    cdrs (per provider file): 1 truncated, 2 negative totals on a non-credit CDR, 3 credit CDR without
              credit_reference_id, 4 required field missing (end_date_time)
    ocpp: 1 truncated, 2 an action name that is no OCPP 1.6 action, 3 charge_point_id missing"""
    t = tables.get("sessions")
    if t and nrows(t):
        src_rows = np.flatnonzero(t["state"] == 1)
        k = min(_n_bad(rng, nrows(t)), len(src_rows))
        if k:
            pick = src_rows[rng.choice(len(src_rows), size=k, replace=False)]
            bad = take(t, pick)
            kinds = rng.integers(1, 6, k).astype(np.int8)
            bad["bad"] = kinds
            bad["sid"] = sim.next_sid + np.arange(k, dtype=np.int64)
            sim.next_sid += k
            bad["kwh"] = np.where(kinds == 2, -(bad["kwh"] + 0.5), bad["kwh"])
            bad["unp"] = np.where(kinds == 3, bad["plug"] - rng.integers(60, 3600, k), bad["unp"])
            bad["state"] = np.where(kinds == 4, 3, bad["state"]).astype(np.int8)
            tables["sessions"] = _concat([t, bad])
    t = tables.get("cdrs")
    if t and nrows(t):
        parts = [t]
        for p in range(len(C.PROVIDERS)):
            src_rows = np.flatnonzero((t["prov"] == p) & (t["ckind"] == 0))
            k = min(_n_bad(rng, int((t["prov"] == p).sum())), len(src_rows))
            if not k:
                continue
            bad = take(t, src_rows[rng.choice(len(src_rows), size=k, replace=False)])
            kinds = rng.integers(1, 5, k).astype(np.int8)
            bad["bad"] = kinds
            bad["cid"] = sim.next_sid + np.arange(k, dtype=np.int64)
            sim.next_sid += k
            bad["ckind"] = np.where(kinds == 3, 3, 0).astype(np.int8)
            parts.append(bad)
        tables["cdrs"] = _concat(parts)
    t = tables.get("ocpp")
    if t and nrows(t):
        k = _n_bad(rng, nrows(t))
        src_rows = np.flatnonzero(t["action"] == 0)
        k = min(k, len(src_rows))
        if k:
            bad = take(t, src_rows[rng.choice(len(src_rows), size=k, replace=False)])
            kinds = rng.integers(1, 4, k).astype(np.int8)
            bad["bad"] = kinds
            bad["action"] = np.where(kinds == 2, A_UNKNOWN, bad["action"]).astype(np.int8)
            tables["ocpp"] = _concat([t, bad])


def _write_ratings(out: Path, ym: int, chunks: list[str], sim: Simulator, stats: dict) -> None:
    """Monthly ratings file; a few bad rows (stars out of range or missing) with fresh ids."""
    lines = "".join(chunks).splitlines(keepends=True)
    if not lines:
        return
    rng = sim.rng(ym, 0x57A5)
    k = _n_bad(rng, len(lines))
    if k:
        lines = list(lines)
        for j, i in enumerate(sorted(rng.choice(len(lines), size=k, replace=False).tolist(), reverse=True)):
            parts = lines[i].rstrip("\n").split(",")
            parts[0] = "R%09d" % sim.next_rating
            sim.next_rating += 1
            parts[3] = ["0", "6", ""][j % 3]
            lines.insert(i + 1, ",".join(parts) + "\n")
    rel = f"ratings/ratings_{ym // 100:04d}-{ym % 100:02d}.csv"
    write_atomic(out / rel, csv_text("ratings", []) + "".join(lines))
    st = stats.setdefault("ratings", {"files": 0, "rows": 0, "bad_rows": 0})
    st["files"] += 1
    st["rows"] += len(lines)
    st["bad_rows"] += k


def make_context(w: World, out: Path) -> RenderContext:
    cp = w.cp
    locs, boots, meters = [], [], []
    for i, cid in enumerate(w.cp_ids):
        s = w.sites[int(cp["site"][i])]
        o = w.operators[int(cp["op"][i])]
        hw = C.HARDWARE[int(cp["hw"][i])]
        dc = bool(cp["dc"][i])
        power = float(cp["power"][i])
        for conn in (1, 2):
            if dc:
                std = "IEC_62196_T2_COMBO" if conn == 1 or power >= 150 else "CHADEMO"
                fmt, ptype = "CABLE", "DC"
            else:
                std, fmt, ptype = "IEC_62196_T2", "SOCKET", "AC_3_PHASE" if power >= 11 else "AC_1_PHASE"
            loc = {
                "id": s["site_id"],
                "name": s["versions"][0][1],
                "address": s["address"],
                "city": s["city"],
                "postal_code": s["postal_code"],
                "country": C.COUNTRIES[s["country_code"]]["alpha3"],
                "coordinates": {"latitude": f"{s['latitude']:.6f}", "longitude": f"{s['longitude']:.6f}"},
                "evse_uid": cid,
                "evse_id": f"{o['country_code']}*{o['party_id']}*E{i + 1:05d}*{conn}",
                "connector_id": str(conn),
                "connector_standard": std,
                "connector_format": fmt,
                "connector_power_type": ptype,
            }
            locs.append(orjson.dumps(loc).decode())
        serial = f"{hw[1][:3].upper()}{w.seed % 1000:03d}{i + 1:07d}"
        boots.append(
            '{"chargePointVendor":"%s","chargePointModel":"%s","chargePointSerialNumber":"%s",'
            '"firmwareVersion":"' % (hw[1], hw[2], serial)
        )
        meters.append(hw[5])
    tariffs = []
    for o in w.operators:
        for dc in (0, 1):
            price = C.TARIFF[o["currency"]][dc] * 1.15
            tariffs.append(
                '"tariffs":'
                + orjson.dumps(
                    [
                        {
                            "country_code": o["country_code"],
                            "party_id": o["party_id"],
                            "id": f"TAR-{o['party_id']}-{'DC' if dc else 'AC'}-ROAM",
                            "currency": o["currency"],
                            "type": "REGULAR",
                            "elements": [
                                {
                                    "price_components": [
                                        {
                                            "type": "ENERGY",
                                            "price": round(price, 4),
                                            "vat": round(o["vat"] * 100, 1),
                                            "step_size": 1,
                                        }
                                    ]
                                }
                            ],
                            "last_updated": "2024-01-15T09:00:00Z",
                        }
                    ]
                ).decode()
                + ","
            )
    return RenderContext(
        out=str(out),
        first_day=w.t0 // DAY - 3,
        n_days=w.n_days + 8,
        cp_ids=list(w.cp_ids),
        cp_cur=cp["cur"].astype(np.int64),
        cp_op=cp["op"].astype(np.int64),
        cp_dc=cp["dc"],
        cp_loc=locs,
        cp_boot=boots,
        cp_meter=meters,
        op_cc=[o["country_code"] for o in w.operators],
        op_party=[o["party_id"] for o in w.operators],
        op_ids=[o["operator_id"] for o in w.operators],
        team_ids=[t["team_id"] for t in w.teams],
        plan_ids=[p["plan_id"] for p in w.plans],
        fw_names=[v for _, v in w.fw_versions],
        tariffs=tariffs,
    )
