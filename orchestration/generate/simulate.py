"""The daily simulation: one UTC day of charge sessions at a time, vectorised with numpy.

`Simulator.day(i)` draws the sessions plugged in on day i and derives everything that follows
from them (session versions, ledger entries, CDRs and credit CDRs, OCPP frames, ratings), plus
the day's non-session ledger entries and OCPP traffic. Every record carries the time that
decides its file (`_t`: updated_at, booked_at, last_updated, received_at, created_at); the
caller routes records to the daily file of that UTC date. State carried from day to day is small
(connector occupancy, id counters, per-invoice sums), so memory stays flat however many sessions
are generated.

Records are "tables": dicts of equally long numpy arrays. Times are int64 epoch seconds (OCPP:
milliseconds); `NEVER` marks a missing time, -1 a missing index, `NULL_MONEY` a missing amount.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np

from . import catalog as C
from .world import (
    CUR_INDEX,
    CURRENCIES,
    DAY,
    ERR_INDEX,
    ERROR_CODES,
    NEVER,
    World,
    add_months,
    day_of,
    month_key,
    month_start,
)

NULL_MONEY = np.iinfo(np.int64).min
MAXC = 2  # max connectors per charge point
STATES = ["in_progress", "completed", "failed", "cancelled"]  # index 3 only in bad records
LEDGER_KINDS = ["charge", "fee", "subscription", "write_off", "intercompany_transfer", "tax_refund"]
K_CHARGE, K_FEE, K_SUB, K_WO, K_IC, K_TAX = range(6)
TOKEN_TYPES = ["RFID", "APP_USER", "OTHER"]
OCPP_STATUS = [
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
]
ST_AVAILABLE, ST_PREPARING, ST_CHARGING, ST_SUSP_EVSE, ST_SUSP_EV, ST_FINISHING = range(6)
ST_UNAVAILABLE, ST_FAULTED = 7, 8
A_STATUS, A_BOOT, A_HEARTBEAT, A_METER = 0, 1, 2, 3
A_UNKNOWN = 9  # bad records: an action name that is no OCPP 1.6 action
PLATFORM_BASE = len(ERROR_CODES)  # failure_reason index of the first platform reason
SPONTANEOUS_ERRORS = np.array(
    [ERR_INDEX[e] for e in ["WeakSignal", "HighTemperature", "UnderVoltage", "ReaderFailure", "OtherError"]],
    dtype=np.int16,
)
# errors of a charge point that dies (and stops talking until a technician restarts it)
HARD_ERRORS = np.array([ERR_INDEX[e] for e in ["InternalError", "PowerSwitchFailure", "OtherError"]], dtype=np.int16)
TELEMETRY_SHARE = 0.10  # charge points whose export has every session status change (see README)
EMSP_W = np.array([e[4] for e in C.EMSPS])
EMSP_W = EMSP_W / EMSP_W.sum()
EMSP_PROVIDER = np.array([C.PROVIDERS.index(e[3]) for e in C.EMSPS], dtype=np.int8)


def month_keys(t: np.ndarray) -> np.ndarray:
    """yyyymm of each epoch-second time (UTC)."""
    m = np.asarray(t, dtype=np.int64).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return (1970 + m // 12) * 100 + m % 12 + 1


def invoice_code(ym: int | np.ndarray, ctype: int, idx):
    """Invoice identity: yyyymm * 100000 + customer type (0 team, 1 operator) * 10000 + index."""
    return ym * 100000 + ctype * 10000 + idx


def invoice_issue_time(code: int) -> int:
    ym, rest = divmod(int(code), 100000)
    return month_start(add_months(ym, 1)) + 4 * 3600 + (rest % 60) * 60


def _concat(tables: list[dict]) -> dict:
    tables = [t for t in tables if t and len(next(iter(t.values())))]
    if not tables:
        return {}
    if len(tables) == 1:
        return tables[0]
    return {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}


def take(table: dict, idx) -> dict:
    return {k: v[idx] for k, v in table.items()}


def nrows(table: dict) -> int:
    return len(next(iter(table.values()))) if table else 0


class Simulator:
    def __init__(self, world: World, seed: int):
        self.w = w = world
        self.seed = seed
        n_cp = w.n_cp
        self.busy = np.full(n_cp * MAXC, w.t0 - DAY, dtype=np.int64)  # connector free from
        # status timelines: connectors down (faults, maintenance) until; down intervals still running
        # (connector index, start, end); charge points silent (no OCPP frame reaches the platform)
        # in [silent_from, silent_to); charge points whose export carries every status change
        self.down_until = np.full(n_cp * MAXC, w.t0 - DAY, dtype=np.int64)
        self.down = dict(
            g=np.zeros(0, dtype=np.int64), start=np.zeros(0, dtype=np.int64), end=np.zeros(0, dtype=np.int64)
        )
        self.chg_until = np.full(n_cp * MAXC, w.t0 - DAY, dtype=np.int64)  # connector charging until
        self.chg_kw = np.zeros(n_cp * MAXC)  # at this average power
        self.silent_from = np.full(n_cp, NEVER, dtype=np.int64)
        self.silent_to = np.full(n_cp, w.t0 - DAY, dtype=np.int64)
        self.telemetry = self.rng(0, 0x7E1E).random(n_cp) < TELEMETRY_SHARE
        # reliability differs between charge points (site power, exposure, installation): a few
        # lemons fail many times as often as the median one (mean factor 1)
        self.fragility = np.exp(self.rng(0, 0xF4A9).normal(0.0, 1.0, n_cp) - 0.5)
        self.next_sid = 1
        self.next_entry = 1
        self.next_rating = 1
        self.drawn = 0
        self.dropped = 0
        self.sessions_written = 0
        self.invoices: dict[int, list] = {}  # code -> [op, ctype, cust, cur, amount cents, written_off_t, wo_cents]
        self.op_month_charges: dict[tuple[int, int], int] = {}
        cp = w.cp
        # per charge point constants used every day
        self.site_tz = cp["tz"]
        self.week = np.array([C.SITE_TYPE_INFO[s]["week"] for s in C.SITE_TYPES])  # (n_stype, 7)
        mixes = []
        for s in C.SITE_TYPES:
            info = C.SITE_TYPE_INFO[s]
            m = []
            for part in (info["wd"], info["we"]):
                part = list(part) + [(0.0, 12.0, 1.0)] * (4 - len(part))
                m.append(part)
            mixes.append(m)
        mix = np.array(mixes)  # (n_stype, 2, 4, 3)
        self.mix_cw = np.cumsum(mix[..., 0], axis=2)
        self.mix_cw /= self.mix_cw[..., -1:]
        self.mix_mu = mix[..., 1]
        self.mix_sd = mix[..., 2]
        self.tariff = np.array([[C.TARIFF[c][0], C.TARIFF[c][1]] for c in CURRENCIES])
        self.start_fee = np.array([C.TARIFF[c][2] for c in CURRENCIES])
        self.idle_fee = np.array([C.TARIFF[c][3] for c in CURRENCIES])
        self.vat = np.array([o["vat"] for o in w.operators])
        # daily session counts: weekly rhythm, slow growth, mild winter peak
        days = np.arange(w.n_days)
        wd = np.array([(w.start.toordinal() + int(d) - 1) % 7 for d in days])  # 0 = Monday
        doy = np.array([(date.fromordinal(w.start.toordinal() + int(d)).timetuple().tm_yday) for d in days])
        # the network's own demand each day: active charge points x their weekly pattern, with slow
        # adoption growth and a mild winter peak
        cap = np.zeros(w.n_days)
        for d in days:
            ds = w.t0 + int(d) * DAY
            act = (cp["comm"] <= ds) & (cp["decomm"] >= ds + 3 * DAY)
            cap[d] = (cp["weight"] * self.week[cp["stype"], wd[d]] * act).sum()
        f = cap * (1 + 0.12 * days / max(1, w.n_days)) * (1 + 0.06 * np.cos(2 * np.pi * (doy - 15) / 365.25))
        if f.sum() <= 0:
            f = np.ones(w.n_days)
        self.expected = w.sessions * f / f.sum()
        self.weekday = wd
        self.doy = doy
        # team availability
        self.team_gap_months = w.team_gap
        self.subscribed = w.extra["subscribed"]
        # schedule of special ledger days
        self.months = w.extra["months"]
        self.ic_days = {d for d in range(w.n_days) if day_of(w.t0 + d * DAY).day == 1} or {0}
        self.tax_days = {d for d in range(w.n_days) if day_of(w.t0 + d * DAY).day == 10} or {w.n_days // 2}
        # plan prices as (time, price) versions
        self.plan_versions = [p["versions"] for p in w.plans]
        n_sites = len(w.sites)
        self.site_ncp = np.bincount(cp["site"], minlength=n_sites).astype(np.int64)
        self.site_cps = np.zeros((n_sites, max(1, int(self.site_ncp.max()))), dtype=np.int64)
        fill = np.zeros(n_sites, dtype=np.int64)
        for i, si in enumerate(cp["site"].tolist()):
            self.site_cps[si, fill[si]] = i
            fill[si] += 1

    # ------------------------------------------------------------------ helpers
    def rng(self, i: int, salt: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, salt, i])))

    def plan_price(self, plan: int, t: int) -> float:
        price = self.plan_versions[plan][0][1]
        for vt, p in self.plan_versions[plan]:
            if vt <= t:
                price = p
        return price

    def _invoice_ok(self, codes: np.ndarray) -> np.ndarray:
        """Which invoice codes are issued before the end of the data (else the entry carries none)."""
        out = np.zeros(len(codes), dtype=bool)
        for c in np.unique(codes):
            if c >= 0:
                out[codes == c] = invoice_issue_time(int(c)) < self.w.t_end
        return out

    def _book(self, ledger: dict) -> None:
        """Record ledger entries in the invoice and operator-month aggregates."""
        if not nrows(ledger):
            return
        inv, amt, kind = ledger["inv"], ledger["amt"], ledger["kind"]
        pos = (inv >= 0) & (kind != K_WO) & (kind != K_IC)
        if pos.any():
            codes, first, sums = _group_sum(inv[pos], amt[pos])
            ops, curs = ledger["op"][pos][first], ledger["cur"][pos][first]
            for c, s, o, cu in zip(codes.tolist(), sums.tolist(), ops.tolist(), curs.tolist()):
                rec = self.invoices.get(c)
                if rec is None:
                    ctype, cust = divmod(c % 100000, 10000)
                    rec = self.invoices[c] = [o, ctype, cust, cu, 0, None, 0]
                rec[4] += s
        ch = np.flatnonzero(kind == K_CHARGE)
        if len(ch):
            keys = ledger["op"][ch].astype(np.int64) * 1_000_000 + month_keys(ledger["booked"][ch])
            ks, _, sums = _group_sum(keys, amt[ch])
            for k, v in zip(ks.tolist(), sums.tolist()):
                key = (k // 1_000_000, k % 1_000_000)
                self.op_month_charges[key] = self.op_month_charges.get(key, 0) + v

    # ------------------------------------------------------------------ the day
    def day(self, di: int) -> dict[str, dict]:
        w, cp = self.w, self.w.cp
        rng = self.rng(di, 0xDA7)
        ds = w.t0 + di * DAY
        ym = month_key(ds)
        wk = int(self.weekday[di])
        weekend = 1 if wk >= 5 else 0

        # ---------------- how many sessions, where ----------------
        # aim at the remaining target, spread over the remaining days' weights, net of drivers who
        # leave a busy site (so the total lands close to `sessions`)
        drop_rate = self.dropped / self.drawn if self.drawn > 500 else 0.08
        remaining = max(0.0, self.w.sessions - (self.drawn - self.dropped))
        want = remaining * self.expected[di] / max(self.expected[di:].sum(), 1e-9)
        n = int(rng.poisson(want / max(0.5, 1.0 - drop_rate)))
        active = (cp["comm"] <= ds) & (cp["decomm"] >= ds + 3 * DAY)
        # faults, maintenance windows, dead and silent charge points of the day (before the
        # sessions: a driver who finds the connector down goes away)
        outages = self._plan_outages(di, ds, active)
        wts = cp["weight"] * self.week[cp["stype"], wk] * active
        if n == 0 or wts.sum() <= 0:
            n = 0
        cum = np.cumsum(wts)
        cpi = np.searchsorted(cum, rng.random(n) * cum[-1], side="right").astype(np.int32)
        cpi = np.minimum(cpi, w.n_cp - 1)
        st = cp["stype"][cpi].astype(np.int64)
        dc = cp["dc"][cpi]
        power = cp["power"][cpi]

        # ---------------- arrival (local time of day -> UTC) ----------------
        u = rng.random(n)
        comp = (u[:, None] > self.mix_cw[st, weekend]).sum(axis=1)
        comp = np.minimum(comp, 3)
        hour = self.mix_mu[st, weekend, comp] + self.mix_sd[st, weekend, comp] * rng.standard_normal(n)
        hour = np.mod(hour, 24.0)
        off = w.tz_offsets[self.site_tz[cpi], di + 1]
        plug = ds + np.mod((hour * 3600).astype(np.int64) - off, DAY)

        # ---------------- energy and durations ----------------
        season = 1.0 + 0.08 * math.cos(2 * math.pi * (int(self.doy[di]) - 15) / 365.25)
        # DC
        kwh_dc = np.clip(rng.normal(30.0, 13.0, n) * season, 3.0, 95.0)
        car_dc = np.array([50.0, 100.0, 150.0, 250.0])[
            np.searchsorted([0.2, 0.55, 0.85, 1.0], rng.random(n), side="right").clip(0, 3)
        ]
        eff_dc = np.minimum(power, car_dc) * rng.uniform(0.5, 0.8, n)
        # AC
        kwh_ac = np.clip(rng.lognormal(math.log(13.0 * season), 0.6, n), 1.0, 75.0)
        car_ac = np.array([3.7, 7.4, 11.0, 22.0])[
            np.searchsorted([0.08, 0.38, 0.88, 1.0], rng.random(n), side="right").clip(0, 3)
        ]
        eff_ac = np.minimum(power, car_ac) * rng.uniform(0.85, 0.97, n)
        evening = (hour >= 15.5) | (hour < 4.0)
        ln = rng.lognormal
        plug_h = np.select(
            [st == 0, st == 1, (st == 2) & evening, st == 2, st == 3, (st == 4) & evening],
            [
                ln(math.log(1.2), 0.5, n),
                np.clip(ln(math.log(1.6), 0.55, n), 0.25, 6.0),
                np.where(
                    rng.random(n) < 0.5,
                    np.clip(rng.normal(12.5, 2.2, n), 3.0, 16.0),
                    np.clip(ln(math.log(2.5), 0.6, n), 0.3, 8.0),
                ),
                np.clip(ln(math.log(2.2), 0.6, n), 0.3, 8.0),
                np.clip(rng.normal(8.4, 1.4, n), 1.0, 11.5),
                np.clip(rng.normal(12.0, 2.5, n), 2.0, 16.0),
            ],
            np.clip(ln(math.log(3.0), 0.6, n), 0.5, 10.0),
        )
        start_delay = rng.integers(15, 150, n)
        cst = plug + start_delay
        ch_dc = kwh_dc / eff_dc
        avail_h = np.maximum(plug_h - start_delay / 3600.0 - 0.01, 0.02)
        ch_ac = np.minimum(kwh_ac / eff_ac, avail_h)
        ch_h = np.where(dc, ch_dc, ch_ac)
        eff = np.where(dc, eff_dc, eff_ac)
        kwh = eff * ch_h
        cen = cst + np.maximum((ch_h * 3600).astype(np.int64), 1)
        # idle tail of a DC session (plugged in, not charging): most drivers are back within minutes,
        # some finish their shopping or meal, a few leave the car for an hour or more
        u_idle = rng.random(n)
        idle_dc = np.where(
            u_idle < 0.72,
            rng.exponential(150.0, n),
            np.where(
                u_idle < 0.95,
                rng.uniform(300.0, 1500.0, n),
                np.clip(rng.lognormal(math.log(3000.0), 0.6, n), 1800.0, 4 * 3600.0),
            ),
        )
        unp = np.where(dc, cen + idle_dc.astype(np.int64) + 20, plug + (plug_h * 3600).astype(np.int64))
        unp = np.maximum(unp, cen + 5)

        # ---------------- failures (firmware valid at plug-in) ----------------
        k = (cp["fw_t"][cpi] <= plug[:, None]).sum(axis=1) - 1
        fw = cp["fw_v"][cpi, np.maximum(k, 0)]
        p_fail = w.fw_fail[fw]
        u = rng.random(n)
        platform = u < 0.004
        failed = platform | (u < p_fail + 0.004)
        reason = np.where(
            platform,
            PLATFORM_BASE + rng.integers(0, len(C.PLATFORM_FAILURES), n),
            w.fw_errors[fw, rng.integers(0, 3, n)],
        ).astype(np.int16)
        reason[~failed] = -1
        mid = failed & ~platform & (rng.random(n) < 0.35)
        pre = failed & ~mid
        frac = rng.uniform(0.05, 0.6, n)
        fail_t = np.where(mid, cst + ((cen - cst) * frac).astype(np.int64), plug + rng.integers(10, 240, n))
        fail_t[~failed] = NEVER
        kwh = np.where(mid, kwh * frac, np.where(pre, 0.0, kwh))
        cen = np.where(mid, fail_t, cen)
        cst = np.where(pre, NEVER, cst)
        cen = np.where(pre, NEVER, cen)
        unp = np.where(failed, fail_t + rng.integers(60, 900, n), unp)
        # a faulted connector reports Available again a while after the car left: it stays blocked
        rec = np.where(failed & ~platform, unp + rng.integers(60, 1200, n), unp)

        # sub-minute sessions, exported at minute precision (unplugged_at = plugged_in_at)
        minute = ~failed & (rng.random(n) < 0.004)
        if minute.any():
            secs = rng.integers(20, 46, n)
            kwh = np.where(minute, eff * secs / 3600.0, kwh)
            cst = np.where(minute, plug + 2, cst)
            cen = np.where(minute, plug + secs - 2, cen)
            unp = np.where(minute, plug + secs, unp)
            rec = np.where(minute, unp, rec)

        # ---------------- connector queue: no two sessions on one connector at once ----------------
        conn = (rng.random(n) * cp["nconn"][cpi]).astype(np.int64) + 1
        dur = np.maximum(rec - plug, 1)
        limit = np.where(dc, 1200, 3600)
        keep = np.ones(n, dtype=bool)
        # a driver who finds the connector taken uses the other connector, else another charge point
        # of the same type at the site, else waits a little or leaves
        for attempt in range(4):
            g = cpi.astype(np.int64) * MAXC + conn - 1
            start, wait = _queue(g, plug, dur, self.busy, keep)
            over = np.flatnonzero(keep & (wait > 60))
            if len(over) == 0 or attempt == 3:
                break
            two = cp["nconn"][cpi[over]] == 2
            flip = over[two & (rng.random(len(over)) < (0.9 if attempt == 0 else 0.5))]
            conn[flip] = 3 - conn[flip]
            move = np.setdiff1d(over, flip, assume_unique=True)
            if len(move):
                site = cp["site"][cpi[move]]
                cand = self.site_cps[site, (rng.random(len(move)) * self.site_ncp[site]).astype(np.int64)]
                ok = active[cand] & (cp["hw"][cand] == cp["hw"][cpi[move]]) & (cp["power"][cand] >= power[move])
                cpi[move[ok]] = cand[ok]
                conn[move[ok]] = (rng.random(int(ok.sum())) * cp["nconn"][cand[ok]]).astype(np.int64) + 1
        # still waiting too long: the driver leaves (removing sessions only shortens later waits,
        # so one more pass settles the queue)
        gone = keep & (wait > limit)
        if gone.any():
            keep &= ~gone
            start, wait = _queue(g, plug, dur, self.busy, keep)
        # sessions that would overlap a fault or maintenance window of their connector: the driver
        # finds it out of order and goes away
        keep &= ~_overlapping(g, start, start + dur, self.down, keep)
        shift = np.where(keep, start - plug, 0)
        self.drawn += n
        self.dropped += int((~keep).sum())
        idx = np.flatnonzero(keep)
        idx = idx[np.argsort(plug[idx] + shift[idx], kind="stable")]
        sh = shift[idx]
        plug, unp = plug[idx] + sh, unp[idx] + sh
        cst = np.where(cst[idx] == NEVER, NEVER, cst[idx] + sh)
        cen = np.where(cen[idx] == NEVER, NEVER, cen[idx] + sh)
        fail_t = np.where(fail_t[idx] == NEVER, NEVER, fail_t[idx] + sh)
        rec = rec[idx] + sh
        cpi, conn, g, dc, st, kwh, eff = cpi[idx], conn[idx], g[idx], dc[idx], st[idx], kwh[idx], eff[idx]
        failed, platform, reason, mid, minute, fw = (
            failed[idx],
            platform[idx],
            reason[idx],
            mid[idx],
            minute[idx],
            fw[idx],
        )
        np.maximum.at(self.busy, g, rec + 60)
        np.maximum.at(self.busy, outages["g"], outages["end"] + 60)
        n = len(idx)
        if minute.any():
            m0 = plug - plug % 60
            plug = np.where(minute, m0, plug)
            cst = np.where(minute, m0, cst)
            cen = np.where(minute, m0, cen)
            unp = np.where(minute, m0, unp)
            rec = np.where(minute, m0, rec)
        kwh, eff = self._share_power(cpi, conn, cst, cen, kwh, eff)
        sid = self.next_sid + np.arange(n, dtype=np.int64)
        self.next_sid += n

        # ---------------- who pays ----------------
        op = cp["op"][cpi].astype(np.int64)
        cur = cp["cur"][cpi]
        public = cp["public"][cpi]
        roam_ok = cp["roam_from"][cpi] <= plug
        roaming = roam_ok & (rng.random(n) < np.where(dc, 0.22, 0.14))
        nf = w.op_nfleet[op]
        fleet = w.op_fleet[op, (rng.random(n) * nf).astype(np.int64)]
        team_ok = self._team_ok(ds, ym)
        fleet_ok = team_ok[fleet]
        owner = cp["team"][cpi]
        team = np.where(public, np.where(rng.random(n) < 0.3, fleet, -1), np.where(rng.random(n) < 0.72, owner, fleet))
        team = np.where((team == fleet) & ~fleet_ok, np.where(public, -1, owner), team)
        team = np.where(roaming, -1, team).astype(np.int32)

        # ---------------- prices ----------------
        per_kwh = self.tariff[cur, dc.astype(np.int64)]
        factor = np.where(roaming, 1.15, np.where(team < 0, 1.0, np.where(public, 0.9, 0.75)))
        fee = np.where((team < 0) & ~roaming, self.start_fee[cur], 0.0)
        pex = np.round((kwh * per_kwh * factor + np.where(kwh > 0, fee, 0.0)) * 100).astype(np.int64)
        pin = np.round(pex * (1.0 + self.vat[op])).astype(np.int64)

        # ---------------- versions ----------------
        fin = unp + rng.integers(5, 300, n)
        visible = fin < w.t_end
        base = np.where(cst == NEVER, plug + 30, cst)
        ip = base + rng.integers(30, 600, n)
        ip = np.where(ip >= fin, plug + (fin - plug) // 2, ip)
        ip = np.maximum(ip, plug + 1)
        emit_ip = (ip < w.t_end) & ~minute & ((ip // DAY != fin // DAY) | ~visible | (rng.random(n) < 0.03))
        emit_ip &= ip < fin
        state = np.where(failed, 2, 1).astype(np.int8)
        stop = np.where(
            failed,
            np.where(
                platform,
                6,
                np.array([3, 4, 5, 7])[np.searchsorted([0.5, 0.7, 0.9, 1.0], rng.random(n), side="right").clip(0, 3)],
            ),
            np.searchsorted([0.7, 0.9, 1.0], rng.random(n), side="right").clip(0, 2),
        ).astype(np.int8)
        tzo = _offsets(rng, n, 0.012)
        sess_final = dict(
            sid=sid,
            cp=cpi,
            conn=conn.astype(np.int8),
            team=team,
            state=state,
            plug=plug,
            cst=cst,
            cen=cen,
            unp=unp,
            fail=fail_t,
            reason=reason,
            stop=stop,
            kwh=kwh,
            pex=pex,
            pin=pin,
            roam=roaming,
            _t=fin,
            tzo=tzo,
            bad=np.zeros(n, dtype=np.int8),
        )
        iv = np.flatnonzero(emit_ip)
        ipt = ip[iv]
        cst_ip = np.where(cst[iv] < ipt, cst[iv], NEVER)
        kwh_ip = np.where(cst_ip == NEVER, 0.0, np.minimum(kwh[iv], eff[iv] * np.maximum(ipt - cst_ip, 0) / 3600.0))
        m = len(iv)
        sess_ip = dict(
            sid=sid[iv],
            cp=cpi[iv],
            conn=conn[iv].astype(np.int8),
            team=team[iv],
            state=np.zeros(m, dtype=np.int8),
            plug=plug[iv],
            cst=cst_ip,
            cen=np.full(m, NEVER),
            unp=np.full(m, NEVER),
            fail=np.full(m, NEVER),
            reason=np.full(m, -1, dtype=np.int16),
            stop=np.full(m, -1, dtype=np.int8),
            kwh=kwh_ip,
            pex=np.full(m, NULL_MONEY),
            pin=np.full(m, NULL_MONEY),
            roam=roaming[iv],
            _t=ipt,
            tzo=tzo[iv],
            bad=np.zeros(m, dtype=np.int8),
        )
        sessions = _concat([sess_ip, take(sess_final, np.flatnonzero(visible))])
        self.sessions_written += int((visible | emit_ip).sum())

        out: dict[str, dict] = {"sessions": sessions}
        done = visible & ~failed
        # ---------------- ledger: charges and idle fees of paid sessions ----------------
        paid = np.flatnonzero(done & ~roaming & (pex > 0))
        booked = fin[paid] + rng.integers(1, 90, len(paid))
        okb = booked < w.t_end
        paid, booked = paid[okb], booked[okb]
        t_team = team[paid]
        inv = np.where(t_team >= 0, invoice_code(month_keys(booked), 0, t_team), -1)
        inv = np.where(self._invoice_ok(inv), inv, -1)
        charges = dict(
            op=op[paid],
            team=t_team,
            plan=np.full(len(paid), -1, dtype=np.int32),
            kind=np.full(len(paid), K_CHARGE, dtype=np.int8),
            amt=pex[paid],
            cur=cur[paid],
            booked=booked,
            sid=sid[paid],
            inv=inv,
        )
        idle_min = (unp - np.where(cen == NEVER, unp, cen)) / 60.0
        thr = np.where(dc, 20.0, 120.0)
        fee_mask = ((st[paid] == 0) | (st[paid] == 1)) & (idle_min[paid] > thr[paid])
        fi = np.flatnonzero(fee_mask)
        fee_amt = np.round(np.minimum(idle_min[paid][fi] - thr[paid][fi], 90.0) * self.idle_fee[cur[paid][fi]] * 100)
        fi, fee_amt = fi[fee_amt > 0], fee_amt[fee_amt > 0]
        fees = take(charges, fi)
        fees = dict(
            fees, kind=np.full(len(fi), K_FEE, dtype=np.int8), amt=fee_amt.astype(np.int64), booked=fees["booked"] + 1
        )
        ledger = _concat([charges, fees, self._ledger_day(di, ds, rng)])
        if nrows(ledger):
            ledger["tzo"] = _offsets(rng, nrows(ledger), 0.01)
            order = np.argsort(ledger["booked"], kind="stable")
            ledger = take(ledger, order)
            ledger["eid"] = self.next_entry + np.arange(nrows(ledger), dtype=np.int64)
            self.next_entry += nrows(ledger)
            ledger["_t"] = ledger["booked"]
            self._book(ledger)
        out["ledger"] = ledger

        # ---------------- ratings ----------------
        rate_p = np.where(failed, 0.15, 0.08)
        ri = np.flatnonzero(visible & (rng.random(n) < rate_p))
        created = fin[ri] + np.minimum(rng.exponential(1800.0, len(ri)).astype(np.int64), 2 * DAY)
        keep_r = created < w.t_end
        ri, created = ri[keep_r], created[keep_r]
        good = np.searchsorted([0.07, 0.12, 0.22, 0.5, 1.0], rng.random(len(ri)), side="right") + 1
        bad_ = np.searchsorted([0.6, 0.85, 0.95, 1.0], rng.random(len(ri)), side="right") + 1
        stars = (
            np.where(
                failed[ri], bad_, np.where(w.fw_buggy[fw[ri]] & (rng.random(len(ri)) < 0.3), np.minimum(good, 3), good)
            )
            .clip(1, 5)
            .astype(np.int8)
        )
        rid = self.next_rating + np.arange(len(ri), dtype=np.int64)
        self.next_rating += len(ri)
        out["ratings"] = dict(
            rid=rid, sid=sid[ri], cp=cpi[ri], stars=stars, _t=created, bad=np.zeros(len(ri), dtype=np.int8)
        )

        # ---------------- CDRs (roaming, completed) ----------------
        ci = np.flatnonzero(done & roaming & (kwh > 0))
        lu = fin[ci] + rng.integers(600, 6 * 3600, len(ci))
        okc = lu < w.t_end
        ci, lu = ci[okc], lu[okc]
        nc = len(ci)
        emsp = np.searchsorted(np.cumsum(EMSP_W), rng.random(nc), side="right").clip(0, len(EMSP_W) - 1)
        base_cdr = dict(
            cid=sid[ci],
            sid=sid[ci],
            cp=cpi[ci],
            conn=conn[ci].astype(np.int8),
            emsp=emsp.astype(np.int8),
            prov=EMSP_PROVIDER[emsp],
            ckind=np.zeros(nc, dtype=np.int8),
            start=plug[ci],
            end=unp[ci],
            cst=cst[ci],
            cen=cen[ci],
            kwh=kwh[ci],
            cex=pex[ci],
            cin=pin[ci],
            cur=cur[ci],
            _t=lu,
            uid=rng.integers(0x10000000, 0xFFFFFFFFFF, nc, dtype=np.int64),
            ttype=np.searchsorted([0.6, 0.95, 1.0], rng.random(nc), side="right").clip(0, 2).astype(np.int8),
            contract=rng.integers(10_000_000, 99_999_999, nc, dtype=np.int64),
            tzo=_offsets(rng, nc, 0.01),
            bad=np.zeros(nc, dtype=np.int8),
        )
        cr = np.flatnonzero(rng.random(nc) < 0.025)
        credit_t = lu[cr] + rng.integers(2 * DAY, 30 * DAY, len(cr))
        credits = take(base_cdr, cr)
        credits.update(ckind=np.ones(len(cr), dtype=np.int8), _t=credit_t)
        re = np.flatnonzero(rng.random(len(cr)) < 0.5)
        reissue = take(credits, re)
        corr = rng.uniform(0.7, 0.95, len(re))
        reissue.update(
            ckind=np.full(len(re), 2, dtype=np.int8),
            _t=reissue["_t"] + 60,
            cex=np.round(reissue["cex"] * corr).astype(np.int64),
            cin=np.round(reissue["cin"] * corr).astype(np.int64),
        )
        out["cdrs"] = _concat([base_cdr, credits, reissue])

        # ---------------- OCPP ----------------
        out["ocpp"] = self._ocpp_day(
            di,
            ds,
            rng,
            dict(
                cp=cpi,
                conn=conn,
                plug=plug,
                cst=cst,
                cen=cen,
                unp=unp,
                rec=rec,
                fail=fail_t,
                failed=failed,
                platform=platform,
                reason=reason,
                stop=stop,
                sid=sid,
                kwh=kwh,
                minute=minute,
            ),
            active,
            outages["frames"],
        )
        return out

    # ------------------------------------------------------------------ pieces
    def _team_ok(self, ds: int, ym: int) -> np.ndarray:
        ok = self.w.team_created <= ds
        for t, months in self.team_gap_months.items():
            if ym in months:
                ok[t] = False
        return ok

    def _ledger_day(self, di: int, ds: int, rng: np.random.Generator) -> dict:
        """Subscription fees, inter-company transfers, tax refunds and write-offs booked on day di."""
        w = self.w
        rows = []  # (op, team, plan, kind, cents, cur, booked, inv)
        d = day_of(ds)
        ym = d.year * 100 + d.month
        month_len = (date(d.year + (d.month == 12), d.month % 12 + 1, 1) - date(d.year, d.month, 1)).days
        for s in w.subscriptions:
            t = ds + 3 * 3600 + s["idx"] * 7
            if s["started"] >= t or (s["ended"] is not None and t >= s["ended"]):
                continue
            sd = day_of(s["started"])
            plan = w.plans[s["plan"]]
            if min(sd.day, month_len) != d.day:
                continue
            if plan["period"] == "year" and sd.month != d.month:
                continue
            team = s["team"]
            rows.append(
                (
                    plan["op"],
                    team,
                    s["plan"],
                    K_SUB,
                    int(round(self.plan_price(s["plan"], t) * 100)),
                    CUR_INDEX[plan["currency"]],
                    t,
                    int(invoice_code(ym, 0, team)),
                )
            )
        if di in self.ic_days:  # children pay the parent a platform fee for the previous month
            prev = add_months(ym, -1)
            for o in w.operators:
                if o["parent_idx"] < 0:
                    continue
                par = w.operators[o["parent_idx"]]
                base = 1500.0 * C.EUR_RATE[o["currency"]] * rng.uniform(0.9, 1.1)
                share = min(
                    0.03 * self.op_month_charges.get((o["idx"], prev), 0) / 100.0, 60_000.0 * C.EUR_RATE[o["currency"]]
                )
                child_amt = int(round((base + share) * 100))
                par_amt = int(round(child_amt * C.EUR_RATE[par["currency"]] / C.EUR_RATE[o["currency"]]))
                code = int(invoice_code(prev, 1, o["idx"]))
                t = ds + 2 * 3600 + o["idx"] * 60
                rows.append((par["idx"], -1, -1, K_IC, par_amt, CUR_INDEX[par["currency"]], t, code))
                rows.append((o["idx"], -1, -1, K_IC, -child_amt, CUR_INDEX[o["currency"]], t + 1, code))
                rec = self.invoices.get(code)
                if rec is None:
                    rec = self.invoices[code] = [par["idx"], 1, o["idx"], CUR_INDEX[par["currency"]], 0, None, 0]
                rec[4] += par_amt
        if di in self.tax_days:
            for o in w.operators:
                if (
                    o["country_code"] in ("DK", "SE", "NO")
                    or (o["country_code"] == "DE" and d.month % 3 == 1)
                    or di == min(self.tax_days)
                    and o["parent_idx"] < 0
                ):
                    amt = int(round(rng.uniform(2000, 20000) * C.EUR_RATE[o["currency"]] * 100))
                    rows.append(
                        (o["idx"], -1, -1, K_TAX, amt, CUR_INDEX[o["currency"]], ds + 9 * 3600 + o["idx"] * 13, -1)
                    )
        for o in w.operators:  # write-offs of old unpaid team invoices
            if rng.random() >= 2.0 / 30.0:
                continue
            cutoff = add_months(ym, -2)
            cands = [
                c
                for c, r in self.invoices.items()
                if r[0] == o["idx"]
                and r[1] == 0
                and r[5] is None
                and c // 100000 <= cutoff
                and r[4] > 0
                and invoice_issue_time(c) + 30 * DAY < ds
            ]
            t = ds + int(rng.integers(8 * 3600, 17 * 3600))
            if cands:
                c = cands[int(rng.integers(len(cands)))]
                rec = self.invoices[c]
                amt = -int(round(min(rec[4] * rng.uniform(0.3, 1.0), 25_000 * 100 * C.EUR_RATE[o["currency"]])))
                rec[5], rec[6] = t, amt
                rows.append((o["idx"], rec[2], -1, K_WO, amt, rec[3], t, c))
            else:
                fl = w.op_fleet[o["idx"], : w.op_nfleet[o["idx"]]]
                team = int(fl[int(rng.integers(len(fl)))])
                amt = -int(round(rng.uniform(20, 300) * C.EUR_RATE[o["currency"]] * 100))
                rows.append((o["idx"], team, -1, K_WO, amt, CUR_INDEX[o["currency"]], t, -1))
        if not rows:
            return {}
        a = list(zip(*rows))
        inv = np.array(a[7], dtype=np.int64)
        ok = self._invoice_ok(inv) | (np.array(a[3]) == K_IC) | (np.array(a[3]) == K_WO)
        inv = np.where(ok, inv, -1)
        return dict(
            op=np.array(a[0], dtype=np.int64),
            team=np.array(a[1], dtype=np.int32),
            plan=np.array(a[2], dtype=np.int32),
            kind=np.array(a[3], dtype=np.int8),
            amt=np.array(a[4], dtype=np.int64),
            cur=np.array(a[5], dtype=np.int8),
            booked=np.array(a[6], dtype=np.int64),
            sid=np.full(len(rows), -1, dtype=np.int64),
            inv=inv,
        )

    def _share_power(self, cpi, conn, cst, cen, kwh, eff):
        """Two connectors of one charge point share its power: a session charging while the other
        connector charges gets at most half of it (the other one's remainder when that session
        began on an earlier day). Returns kWh and average power, capped."""
        cp = self.w.cp
        n = len(cpi)
        power = cp["power"][cpi]
        cap = np.full(n, np.inf)
        sel = np.flatnonzero((cst != NEVER) & (cen > cst) & (cp["nconn"][cpi] == 2))
        if len(sel):
            order = sel[np.lexsort((cst[sel], cpi[sel]))]
            c, a, b = cpi[order].astype(np.int64), cst[order], cen[order]
            base = int(a.min())
            run_end = np.maximum.accumulate((c << 32) + (b - base))  # latest end so far, per charge point
            prev = np.concatenate([[-1], run_end[:-1]])
            shared = (prev >> 32 == c) & ((prev & 0xFFFFFFFF) + base > a)  # overlaps an earlier one
            nxt_c, nxt_a = np.append(c[1:], -1), np.append(a[1:], 0)
            shared |= (nxt_c == c) & (nxt_a < b)  # overlaps the next one (the earliest later start)
            cap[order[shared]] = power[order[shared]] / 2
            other = cpi[sel].astype(np.int64) * MAXC + (2 - conn[sel])  # the other connector
            still = self.chg_until[other] > cst[sel]
            s, o = sel[still], other[still]
            cap[s] = np.minimum(cap[s], np.maximum(power[s] - self.chg_kw[o], 0.1 * power[s]))
        capped = np.isfinite(cap)
        cap = np.where(capped, cap, 0.0)
        hours = np.where(capped, (cen - cst) / 3600.0, 0.0)
        kwh = np.where(capped, np.minimum(kwh, cap * hours), kwh)
        eff = np.where(capped, np.minimum(eff, cap), eff)
        # what each connector charges when the day ends (for sessions of the next days)
        ch = np.flatnonzero((cst != NEVER) & (cen > cst))
        ch = ch[np.argsort(cen[ch], kind="stable")]
        g = cpi[ch].astype(np.int64) * MAXC + conn[ch] - 1
        later = cen[ch] > self.chg_until[g]
        self.chg_until[g[later]] = cen[ch][later]
        self.chg_kw[g[later]] = kwh[ch][later] / ((cen[ch][later] - cst[ch][later]) / 3600.0)
        return kwh, eff

    def _free_from(self, cps: np.ndarray) -> np.ndarray:
        """When every connector of these charge points is free: no session and no down interval."""
        cg = np.asarray(cps, dtype=np.int64)[:, None] * MAXC + np.arange(MAXC)
        real = np.arange(MAXC)[None, :] < self.w.cp["nconn"][cps][:, None]
        return np.where(real, np.maximum(self.busy[cg], self.down_until[cg]), 0).max(axis=1, initial=0)

    def _plan_outages(self, di: int, ds: int, active: np.ndarray) -> dict:
        """The day's status events that take connectors out of service, planned before its sessions.

        At most one event per active charge point and day, starting once its connectors are free
        (no session or earlier event still running on them):
        * a spontaneous fault (connectorId 0 = the whole charge point, or one connector) with its
          error code, mostly on buggy firmware; most clear within minutes, some need a remote reset,
          a few a technician (hours to days); then `Available`;
        * an operator's maintenance window at night (`Unavailable`, errorCode `NoError`), then
          `Available`; firmware upgrades get one too, around their BootNotification;
        * a dead charge point: `Faulted` on connectorId 0, then silence for days until a technician
          restarts it (BootNotification, `Available`);
        * a lost connection: the charge point keeps charging but no frame reaches the platform for
          days (silence only: its statuses stand as they were).
        Returns the connector down intervals (g = cp * MAXC + connector - 1, start, end) and the
        status / boot frames; `self.down` keeps the intervals still running."""
        w, cp = self.w, self.w.cp
        rng = self.rng(di, 0x0D7)
        act = np.flatnonzero(active)
        nconn = cp["nconn"][act].astype(np.int64)
        free = self._free_from(act)
        k = (cp["fw_t"][act] <= ds + DAY // 2).sum(axis=1) - 1
        buggy = w.fw_buggy[cp["fw_v"][act, np.maximum(k, 0)]]
        # firmware upgrades today (the registry's times) and none within a day: no other event
        fw_t = cp["fw_t"][act]
        upgrade = (fw_t[:, 1:] >= ds - DAY) & (fw_t[:, 1:] < ds + 2 * DAY)
        quiet = ~upgrade.any(axis=1) & (self.silent_to[act] <= ds)
        # which event (at most one): 1 fault, 2 maintenance, 3 dead, 4 connection lost
        frag = self.fragility[act]
        p = np.stack(
            [
                np.minimum(np.where(buggy, 0.3, 0.015) * frag, 0.5),
                np.full(len(act), 0.008),
                np.minimum(np.where(buggy, 0.0035, 0.0015) * frag, 0.05),
                np.full(len(act), 0.003),
            ],
            axis=1,
        )
        u = rng.random(len(act))
        kind = np.where(quiet, (u[:, None] > np.cumsum(p, axis=1)).sum(axis=1) + 1, 5)
        kind[kind == 5] = 0
        # start: any time of the UTC day for faults, the local night for maintenance
        off = w.tz_offsets[self.site_tz[act], di + 1]
        night = ds + np.mod((rng.uniform(0.5, 4.5, len(act)) * 3600).astype(np.int64) - off, DAY)
        t = np.where(kind == 2, night, ds + rng.integers(0, DAY, len(act)))
        t = np.maximum(t, free + rng.integers(30, 600, len(act)))
        kind[t >= ds + DAY] = 0
        u = rng.random(len(act))
        fault_s = np.where(
            u < 0.80,
            rng.uniform(120, 1800, len(act)),
            np.where(
                u < 0.95,
                rng.uniform(1800, 4 * 3600, len(act)),
                np.clip(rng.lognormal(math.log(10 * 3600), 0.8, len(act)), 4 * 3600, 4 * DAY),
            ),
        )
        maint_s = np.clip(rng.lognormal(math.log(1.5 * 3600), 0.5, len(act)), 1200, 8 * 3600)
        dead_s = np.clip(rng.lognormal(math.log(3 * DAY), 0.7, len(act)), DAY, 21 * DAY)
        lost_s = np.clip(rng.lognormal(math.log(1.5 * DAY), 0.7, len(act)), DAY // 2, 7 * DAY)
        end = t + np.select([kind == 1, kind == 2, kind == 3, kind == 4], [fault_s, maint_s, dead_s, lost_s], 0).astype(
            np.int64
        )
        # a silence never hides a firmware upgrade (its BootNotification is the registry's proof)
        near_fw = ((fw_t[:, 1:] >= t[:, None] - 3600) & (fw_t[:, 1:] < end[:, None] + 3600)).any(axis=1)
        kind[((kind == 3) | (kind == 4)) & near_fw] = 0
        whole = (kind >= 2) & (rng.random(len(act)) < 0.7) | (kind == 3)  # connectorId 0
        whole |= (kind == 1) & (rng.random(len(act)) * (nconn + 1) < 1.0)
        conn = np.where(whole, 0, (rng.random(len(act)) * nconn).astype(np.int64) + 1)
        err = np.where(
            buggy,
            w.fw_errors[cp["fw_v"][act, np.maximum(k, 0)], rng.integers(0, 3, len(act))],
            SPONTANEOUS_ERRORS[rng.integers(0, len(SPONTANEOUS_ERRORS), len(act))],
        )
        err = np.where(kind == 3, HARD_ERRORS[rng.integers(0, len(HARD_ERRORS), len(act))], err)

        frames = []

        def ms(x):
            return np.asarray(x, dtype=np.int64) * 1000 + rng.integers(0, 1000, len(x))

        # faults and maintenance: the status at the start (a fault often repeated), Available at the end
        fm = np.flatnonzero((kind == 1) | (kind == 2))
        down_status = np.where(kind[fm] == 1, ST_FAULTED, ST_UNAVAILABLE)
        down_err = np.where(kind[fm] == 1, err[fm], -1)
        frames.append(_frame_table(act[fm], ms(t[fm]), A_STATUS, conn=conn[fm], err=down_err, status=down_status))
        rep = fm[(kind[fm] == 1) & (rng.random(len(fm)) < 0.4)]
        frames.append(
            _frame_table(
                act[rep],
                ms(np.minimum(t[rep] + rng.integers(20, 900, len(rep)), end[rep] - 1)),
                A_STATUS,
                conn=conn[rep],
                err=err[rep],
                status=np.full(len(rep), ST_FAULTED),
            )
        )
        frames.append(
            _frame_table(act[fm], ms(end[fm]), A_STATUS, conn=conn[fm], status=np.full(len(fm), ST_AVAILABLE))
        )
        # dead: Faulted on connectorId 0, silence, then a technician's restart
        dd = np.flatnonzero(kind == 3)
        frames.append(
            _frame_table(act[dd], ms(t[dd]), A_STATUS, err=err[dd], status=np.full(len(dd), ST_FAULTED), force=True)
        )
        boot_fw = cp["fw_v"][act[dd], np.maximum((fw_t[dd] <= end[dd, None]).sum(axis=1) - 1, 0)]
        frames.append(_frame_table(act[dd], ms(end[dd]), A_BOOT, fw=boot_fw, has_ts=False, force=True))
        end[dd] += rng.integers(5, 40, len(dd))
        frames.append(_frame_table(act[dd], ms(end[dd]), A_STATUS, status=np.full(len(dd), ST_AVAILABLE), force=True))
        silent = np.flatnonzero((kind == 3) | (kind == 4))
        self.silent_from[act[silent]] = t[silent] + np.where(kind[silent] == 3, 1, 0)
        self.silent_to[act[silent]] = end[silent]
        # commissioning and firmware upgrades (the registry's times): the BootNotification with the
        # firmware then installed and Available; before an upgrade, when the charge point is idle,
        # Unavailable (NoError) on connectorId 0 a few minutes ahead
        uc, uk = np.nonzero((cp["fw_t"] >= ds) & (cp["fw_t"] < ds + DAY))
        ut = cp["fw_t"][uc, uk]
        u_start = ut - rng.integers(300, 1200, len(uc))
        boot_t = ut + rng.integers(60, 600, len(uc))
        u_end = boot_t + rng.integers(5, 40, len(uc))
        upg = (uk > 0) & (self._free_from(uc) < u_start)
        frames.append(
            _frame_table(
                uc[upg], ms(u_start[upg]), A_STATUS, status=np.full(int(upg.sum()), ST_UNAVAILABLE), force=True
            )
        )
        frames.append(_frame_table(uc, ms(boot_t), A_BOOT, fw=cp["fw_v"][uc, uk], has_ts=False, force=True))
        frames.append(_frame_table(uc, ms(u_end), A_STATUS, status=np.full(len(uc), ST_AVAILABLE), force=True))

        # connector down intervals (connectorId 0: every connector of the charge point); a lost
        # connection blocks nothing, but no session may straddle its start (its last statuses
        # before the silence would be those of a session that is long over)
        lost = np.flatnonzero(kind == 4)
        ev_cp = np.concatenate([act[fm], act[dd], uc[upg], act[lost]]).astype(np.int64)
        ev_start = np.concatenate([t[fm], t[dd], u_start[upg], t[lost]])
        ev_end = np.concatenate([end[fm], end[dd], u_end[upg], t[lost] + 1])
        ev_conn = np.concatenate([conn[fm], np.zeros(len(dd) + int(upg.sum()) + len(lost), dtype=np.int64)])
        cols = np.arange(MAXC)[None, :]
        rows, cols = np.nonzero(
            np.where(ev_conn[:, None] == 0, cols < cp["nconn"][ev_cp][:, None], cols == ev_conn[:, None] - 1)
        )
        g = ev_cp[rows] * MAXC + cols
        start_, end_ = ev_start[rows], ev_end[rows]
        np.maximum.at(self.down_until, g, end_)
        keep = self.down["end"] > ds
        self.down = dict(
            g=np.concatenate([self.down["g"][keep], g]),
            start=np.concatenate([self.down["start"][keep], start_]),
            end=np.concatenate([self.down["end"][keep], end_]),
        )
        return dict(g=g, end=end_, frames=frames)

    def _ocpp_day(
        self, di: int, ds: int, rng: np.random.Generator, s: dict, active: np.ndarray, outage_frames: list[dict]
    ) -> dict:
        """OCPP frames: every status change of the sessions on charge points with full telemetry,
        faults around failed sessions, the day's planned faults / maintenance / dead charge points /
        firmware-upgrade boots (outage_frames), reboots, heartbeats and meter values; frames of a
        charge point inside its silent window never reach the platform."""
        w, cp = self.w, self.w.cp
        parts = list(outage_frames)

        def frames(*args, **kw):
            parts.append(_frame_table(*args, **kw))

        def ms(t):
            return np.asarray(t, dtype=np.int64) * 1000 + rng.integers(0, 1000, len(t))

        # session lifecycles: Preparing at plug-in, Charging, SuspendedEV while the car sits charged,
        # Finishing when the transaction stops (at unplug, or a little before when stopped by card or
        # app), Available once the car has left
        lc = np.flatnonzero(self.telemetry[s["cp"]] & ~s["minute"])
        ok = lc[~s["failed"][lc]]
        frames(s["cp"][lc], ms(s["plug"][lc]), A_STATUS, conn=s["conn"][lc], status=np.full(len(lc), ST_PREPARING))
        ch = lc[s["cst"][lc] != NEVER]
        frames(s["cp"][ch], ms(s["cst"][ch]), A_STATUS, conn=s["conn"][ch], status=np.full(len(ch), ST_CHARGING))
        se = ok[(s["cen"][ok] != NEVER) & (s["unp"][ok] - s["cen"][ok] >= 60)]
        frames(s["cp"][se], ms(s["cen"][se]), A_STATUS, conn=s["conn"][se], status=np.full(len(se), ST_SUSP_EV))
        base = np.where(s["cen"][ok] != NEVER, s["cen"][ok], s["plug"][ok])
        by_user = s["stop"][ok] != 0  # stopped by card or app, unplugged a little later
        fin_t = np.where(by_user, np.maximum(s["unp"][ok] - rng.integers(10, 120, len(ok)), base + 1), s["unp"][ok])
        frames(s["cp"][ok], ms(fin_t), A_STATUS, conn=s["conn"][ok], status=np.full(len(ok), ST_FINISHING))
        frames(
            s["cp"][ok],
            ms(s["unp"][ok] + rng.integers(2, 10, len(ok))),
            A_STATUS,
            conn=s["conn"][ok],
            status=np.full(len(ok), ST_AVAILABLE),
        )
        pf = lc[s["failed"][lc] & s["platform"][lc]]  # refused by the back office: the car leaves
        frames(
            s["cp"][pf],
            ms(s["unp"][pf] + rng.integers(2, 10, len(pf))),
            A_STATUS,
            conn=s["conn"][pf],
            status=np.full(len(pf), ST_AVAILABLE),
        )
        # faults around failed sessions (OCPP error reasons): Faulted, repeated, Available once cleared
        fi = np.flatnonzero(s["failed"] & ~s["platform"])
        frames(
            s["cp"][fi],
            ms(s["fail"][fi]),
            A_STATUS,
            conn=s["conn"][fi],
            err=s["reason"][fi],
            status=np.full(len(fi), ST_FAULTED),
        )
        rep = np.repeat(fi, rng.choice([0, 1, 2], size=len(fi), p=[0.5, 0.3, 0.2]))
        frames(
            s["cp"][rep],
            ms(np.minimum(s["fail"][rep] + rng.integers(20, 600, len(rep)), s["rec"][rep] - 1)),
            A_STATUS,
            conn=s["conn"][rep],
            err=s["reason"][rep],
            status=np.full(len(rep), ST_FAULTED),
        )
        frames(s["cp"][fi], ms(s["rec"][fi]), A_STATUS, conn=s["conn"][fi], status=np.full(len(fi), ST_AVAILABLE))
        # reboots (BootNotification with the firmware then installed, then Available on connectorId 0)
        act = np.flatnonzero(active)
        rb = act[rng.random(len(act)) < 0.003]
        rbt = ds + rng.integers(0, DAY, len(rb))
        kk = (cp["fw_t"][rb] <= rbt[:, None]).sum(axis=1) - 1
        frames(rb, ms(rbt), A_BOOT, fw=cp["fw_v"][rb, np.maximum(kk, 0)], has_ts=False)
        frames(rb, ms(rbt + rng.integers(5, 40, len(rb))), A_STATUS, status=np.full(len(rb), ST_AVAILABLE))
        # heartbeats (a sample of charge point-days) and meter values (a sample of sessions)
        hb = act[rng.random(len(act)) < 0.2]
        frames(hb, ms(ds + rng.integers(0, DAY, len(hb))), A_HEARTBEAT, has_ts=False)
        mv = np.flatnonzero(
            (rng.random(len(s["cp"])) < 0.03) & (s["cst"] != NEVER) & ~s["minute"] & (s["cen"] - s["cst"] > 120)
        )
        mt = s["cst"][mv] + (s["cen"][mv] - s["cst"][mv]) // 2
        frames(s["cp"][mv], ms(mt), A_METER, conn=s["conn"][mv], val=s["kwh"][mv] * 500.0, tx=s["sid"][mv])
        table = _concat(parts)
        if not nrows(table):
            return {}
        sec = table["ts"] // 1000
        heard = table["force"] | ~((sec >= self.silent_from[table["cp"]]) & (sec < self.silent_to[table["cp"]]))
        table = take(table, np.flatnonzero(heard)) if not heard.all() else table
        m = nrows(table)
        if not m:
            return {}
        late = rng.random(m) < 0.03
        delay = np.where(late, rng.integers(60_000, 900_000, m), rng.integers(40, 3000, m))
        table["recv"] = table["ts"] + delay
        table["_t"] = table["recv"] // 1000
        table["tzo"] = _offsets(rng, m, 0.01)
        table["bad"] = np.zeros(m, dtype=np.int8)
        keep = table["_t"] < w.t_end
        return take(table, np.flatnonzero(keep)) if not keep.all() else table


def _frame_table(
    cpx, t_ms, action, conn=None, err=None, status=None, fw=None, val=None, tx=None, has_ts=True, force=False
) -> dict:
    """OCPP frames as a table. conn 0 = the whole charge point; err -1 = NoError; force: sent even
    while the charge point is silent (the frames that start and end a silence)."""
    m = len(cpx)

    def full(v, dflt, dt):
        return np.full(m, dflt, dtype=dt) if v is None else np.asarray(v).astype(dt)

    return dict(
        cp=np.asarray(cpx).astype(np.int32),
        ts=np.asarray(t_ms).astype(np.int64),
        action=np.full(m, action, dtype=np.int8),
        conn=full(conn, 0, np.int8),
        err=full(err, -1, np.int16),
        status=full(status, 0, np.int8),
        fw=full(fw, -1, np.int16),
        val=full(val, 0.0, np.float64),
        tx=full(tx, 0, np.int64),
        has_ts=np.full(m, has_ts, dtype=bool),
        force=np.full(m, force, dtype=bool),
    )


def _overlapping(g, start, end, down: dict, keep) -> np.ndarray:
    """Rows in `keep` whose [start, end) on connector g overlaps a down interval of that connector.
    The kept rows of one connector do not overlap each other (the queue), so the rows a down
    interval meets are a contiguous run of the rows sorted by (connector, start)."""
    out = np.zeros(len(g), dtype=bool)
    idx = np.flatnonzero(keep)
    if len(idx) == 0 or len(down["g"]) == 0:
        return out
    order = idx[np.lexsort((start[idx], g[idx]))]
    key_start = (g[order] << 34) + start[order]
    key_end = np.maximum.accumulate((g[order] << 34) + end[order])  # running latest end per connector
    lo = np.searchsorted(key_end, (down["g"] << 34) + down["start"], side="right")
    hi = np.searchsorted(key_start, (down["g"] << 34) + down["end"], side="left")
    hit = np.zeros(len(order) + 1, dtype=np.int64)
    ok = hi > lo
    np.add.at(hit, lo[ok], 1)
    np.add.at(hit, hi[ok], -1)
    out[order] = np.cumsum(hit[:-1]) > 0
    return out


def _queue(g, arrival, dur, busy, keep):
    """Connector queue (Lindley recursion, vectorised): each session starts at max(arrival, end of
    the previous session on its connector); the first one also waits for `busy` (carried over from
    earlier days). Returns (start, wait); rows not in `keep` are ignored (start = arrival)."""
    n = len(g)
    start = arrival.copy()
    wait = np.zeros(n, dtype=np.int64)
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        return start, wait
    order = idx[np.lexsort((arrival[idx], g[idx]))]
    gg, a, d = g[order], arrival[order], dur[order] + 60
    new = np.ones(len(order), dtype=bool)
    new[1:] = gg[1:] != gg[:-1]
    grp = np.cumsum(new) - 1
    ref = a.min()
    a_rel = np.where(new, np.maximum(a, busy[gg]), a) - ref
    S = np.cumsum(d)
    S0 = np.repeat(S[new] - d[new], np.diff(np.append(np.flatnonzero(new), len(order))))
    Sg = S - S0  # inclusive cumulative duration within the group
    v = a_rel - (Sg - d)
    big = np.int64(1) << np.int64(40)
    cm = np.maximum.accumulate(v + grp * big) - grp * big
    end = Sg + cm
    st = end - d + ref
    start[order] = st
    wait[order] = st - a
    return start, wait


def _group_sum(keys: np.ndarray, vals: np.ndarray):
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    sums = np.add.reduceat(vals[order], starts)
    return k[starts], order[starts], sums


def _offsets(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Which timestamp style each record uses: 0 = Z, else a non-UTC offset (same instant)."""
    out = np.zeros(n, dtype=np.int8)
    m = rng.random(n) < share
    out[m] = rng.integers(1, 4, int(m.sum()))
    return out
