"""The static side of the demo: operators, teams, sites, charge points (with their firmware
history), plans, subscriptions and wallets; and the registry CSV files that describe them.

Everything is drawn from one seeded generator, so a seed gives the same world every time. The
charge point attributes the daily simulation needs are kept as numpy arrays (one entry per
charge point) so the simulation can look them up vectorised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from . import catalog as C

DAY = 86_400
NEVER = np.iinfo(np.int64).max // 4  # "no time" sentinel that survives additions

CURRENCIES = ["DKK", "NOK", "SEK", "EUR", "GBP", "CHF", "USD"]
CUR_INDEX = {c: i for i, c in enumerate(CURRENCIES)}
TIME_ZONES = sorted({c["tz"] for c in C.COUNTRIES.values()})
TZ_INDEX = {t: i for i, t in enumerate(TIME_ZONES)}
STYPE_INDEX = {s: i for i, s in enumerate(C.SITE_TYPES)}

# OCPP error codes used by failures / fault notifications, indexable
ERROR_CODES = sorted({e for hw in C.HARDWARE for v in hw[6] for e in v[2]} | set(C.ERROR_INFO))
ERR_INDEX = {e: i for i, e in enumerate(ERROR_CODES)}
FAILURE_REASONS = ERROR_CODES + C.PLATFORM_FAILURES  # session failure_reason vocabulary
N_OCPP_ERRORS = len(ERROR_CODES)


def epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def day_of(t: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(t) // DAY)


def month_key(t: int) -> int:
    d = day_of(t)
    return d.year * 100 + d.month


def add_months(ym: int, n: int) -> int:
    y, m = divmod(ym, 100)
    m0 = y * 12 + (m - 1) + n
    return (m0 // 12) * 100 + m0 % 12 + 1


def month_start(ym: int) -> int:
    return epoch(date(ym // 100, ym % 100, 1))


@dataclass
class World:
    seed: int
    sessions: int
    start: date
    end: date
    t0: int  # start 00:00Z
    t_end: int  # end + 1 day 00:00Z: nothing at or after this instant is written
    n_days: int
    operators: list[dict]
    teams: list[dict]
    sites: list[dict]
    plans: list[dict]
    subscriptions: list[dict]
    wallets: list[dict]
    # charge point arrays
    cp_ids: list[str]
    cp: dict[str, np.ndarray]
    fw_versions: list[tuple[int, str]]  # global firmware index -> (hardware index, version)
    fw_fail: np.ndarray
    fw_errors: np.ndarray  # (n_fw, 3) error code indexes a failure on this firmware reports
    fw_buggy: np.ndarray
    cp_versions: list[dict]  # registry change log rows (dicts with contract columns + _t)
    bad_cp_rows: list[dict]
    tz_offsets: np.ndarray  # (n_tz, n_days + 2) UTC offset (s) at local noon, from day -1
    # team lookups for the simulation
    team_op: np.ndarray
    team_created: np.ndarray
    team_gap: dict[int, set[int]]  # team index -> months (yyyymm) without activity
    op_fleet: np.ndarray  # (n_ops, max_fleet) fleet team indexes, -1 padded
    op_nfleet: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def n_cp(self) -> int:
        return len(self.cp_ids)


def _ts(t: int) -> str:
    return datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _daytime(rng: np.random.Generator, day_t: int, lo_h: float = 7.0, hi_h: float = 16.0) -> int:
    """A time on the UTC day starting at day_t, during working hours, whole seconds."""
    return int(day_t + int(rng.uniform(lo_h, hi_h) * 3600))


def build_world(seed: int, sessions: int, start: date, end: date, history_days: int = 1100) -> World:
    """The generated world. `history_days`: charge points in service before the period were
    commissioned up to that many days before its start (the network calendar begins there)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x5EED, 1])))
    t0, t_end = epoch(start), epoch(end) + DAY
    n_days = (end - start).days + 1
    span = t_end - t0

    def in_period(lo: float, hi: float) -> int:
        """A working-hours time at a fraction of the period in [lo, hi)."""
        d = int(rng.uniform(lo, hi) * n_days)
        return _daytime(rng, t0 + min(d, n_days - 1) * DAY)

    # ---------------- operators ----------------
    operators = []
    for i, (oid, name, parent, cc, party, weight, renamed) in enumerate(C.OPERATORS):
        info = C.COUNTRIES[cc]
        created = epoch(date(2019, 3, 1)) + i * 97 * DAY + 36_000
        op = dict(
            idx=i,
            operator_id=oid,
            name=name,
            parent=parent,
            country_code=cc,
            party_id=party,
            currency=info["currency"],
            vat=info["vat"],
            weight=weight,
            created=created,
            versions=[(created, name)],
        )
        if renamed:
            op["versions"].append((in_period(0.35, 0.5), renamed))
        operators.append(op)
    op_index = {o["operator_id"]: o["idx"] for o in operators}
    for o in operators:
        o["parent_idx"] = op_index[o["parent"]] if o["parent"] else -1

    # ---------------- teams ----------------
    n_fleet = int(min(8, max(3, round(3 + 1.2 * math.log2(max(1.0, sessions / 20_000))))))
    teams: list[dict] = []
    for o in operators:
        teams.append(
            dict(
                idx=len(teams),
                team_id="",
                op=o["idx"],
                kind="host",
                name=f"{o['name'].split(' (')[0]} Network",
                created=o["created"] + 30 * DAY,
                versions=[],
            )
        )
        names = list(C.FLEET_TEAMS[o["country_code"]])
        order = rng.permutation(len(names))[:n_fleet]
        for j in order:
            created = t0 - int(rng.uniform(60, 900)) * DAY + int(rng.uniform(7, 16) * 3600)
            teams.append(
                dict(idx=len(teams), team_id="", op=o["idx"], kind="fleet", name=names[j], created=created, versions=[])
            )
    # a couple of fleet teams join during the period
    fleet = [t for t in teams if t["kind"] == "fleet"]
    for t in rng.choice(len(fleet), size=max(1, len(fleet) // 10), replace=False):
        fleet[int(t)]["created"] = in_period(0.15, 0.45)
    for t in teams:
        t["team_id"] = f"TM-{t['idx'] + 1:04d}"
        t["versions"].append((t["created"], t["name"]))
    # one team renamed mid-period
    renamed = fleet[int(rng.integers(len(fleet)))]
    renamed["versions"].append(
        (
            max(in_period(0.4, 0.6), renamed["created"] + DAY),
            renamed["name"] + " ApS"
            if operators[renamed["op"]]["country_code"] == "DK"
            else renamed["name"] + " (new)",
        )
    )

    # ---------------- sites and charge points ----------------
    # size the network so its demand capacity (sum of expected sessions/day) matches the target:
    # about one charge point per 2-6 sessions a day, depending on the mix of sites
    spd = sessions / n_days
    capacity = 0.0
    op_weights = np.array([o["weight"] for o in operators])
    op_weights /= op_weights.sum()
    stype_share = np.array(C.SITE_TYPE_SHARE) / sum(C.SITE_TYPE_SHARE)
    hw_ac = [i for i, h in enumerate(C.HARDWARE) if h[0] == "AC"]
    hw_dc = [i for i, h in enumerate(C.HARDWARE) if h[0] == "DC"]
    w_ac = np.array([C.HARDWARE_WEIGHT[i] for i in hw_ac])
    w_ac /= w_ac.sum()
    w_dc = np.array([C.HARDWARE_WEIGHT[i] for i in hw_dc])
    w_dc /= w_dc.sum()

    sites: list[dict] = []
    cps: list[dict] = []
    city_counter: dict[tuple[str, str], int] = {}
    host_team = {t["op"]: t["idx"] for t in teams if t["kind"] == "host"}
    fleet_by_op: dict[int, list[int]] = {}
    for t in teams:
        if t["kind"] == "fleet":
            fleet_by_op.setdefault(t["op"], []).append(t["idx"])

    while capacity < spd * 1.08 or len(cps) < 24:
        k = len(sites)
        first = k < len(operators)
        if first:  # every operator runs at least one (small) site, of every type between them
            op = k
            stype = ["hub", "destination", "workplace", "hub", "residential", "street", "hub"][k % 7]
        else:
            op = int(rng.choice(len(operators), p=op_weights))
            stype = C.SITE_TYPES[int(rng.choice(len(C.SITE_TYPES), p=stype_share))]
        info = C.SITE_TYPE_INFO[stype]
        o = operators[op]
        country = C.COUNTRIES[o["country_code"]]
        cname, clat, clon, postals = country["cities"][int(rng.integers(len(country["cities"])))]
        kind_name = info["names"][int(rng.integers(len(info["names"])))]
        key = (cname, kind_name)
        city_counter[key] = city_counter.get(key, 0) + 1
        name = f"{cname} {kind_name}" + (f" {city_counter[key]}" if city_counter[key] > 1 else "")
        street = country["streets"][int(rng.integers(len(country["streets"])))]
        if o["country_code"] in ("GB", "US"):
            address = f"{int(rng.integers(1, 240))} {street}"
        else:
            address = f"{street} {int(rng.integers(1, 180))}"
        owner = host_team[op]
        if stype == "workplace" and fleet_by_op.get(op):  # a fleet's own depot
            owner = fleet_by_op[op][int(rng.integers(len(fleet_by_op[op])))]
        pop = float(np.clip(rng.lognormal(0.0, 0.75), 0.12, info["pop_max"]))
        if k == 0:  # the group's flagship motorway hub: top of the benchmark
            pop = info["pop_max"] * 1.3
        elif k == 1:  # a quiet destination site: poor on both benchmarks
            pop = 0.12
        site = dict(
            idx=k,
            site_id=f"LOC-{o['country_code']}-{k + 1:04d}",
            op=op,
            team=owner,
            name=name,
            address=address,
            city=cname,
            postal_code=postals[int(rng.integers(len(postals)))],
            country_code=o["country_code"],
            latitude=round(clat + rng.uniform(-0.06, 0.06), 6),
            longitude=round(clon + rng.uniform(-0.09, 0.09), 6),
            time_zone=country["tz"],
            stype=stype,
            pop=pop,
            versions=[],
        )
        sites.append(site)
        lo, hi = info["cps"]
        n = int(rng.integers(lo, hi + 1))
        if first:
            n = min(n, 2 if stype == "hub" else 3)
        n_dc = int(round(n * info["dc_share"] + rng.uniform(-0.4, 0.4))) if info["dc_share"] else 0
        n_dc = min(max(n_dc, 1 if stype == "hub" else 0), n)
        hw_site_dc = hw_dc[int(rng.choice(len(hw_dc), p=w_dc))]
        hw_site_ac = hw_ac[int(rng.choice(len(hw_ac), p=w_ac))]
        for j in range(n):
            dc = j < n_dc
            hw = hw_site_dc if dc else hw_site_ac
            if rng.random() < 0.15:  # mixed hardware at a site
                hw = hw_dc[int(rng.choice(len(hw_dc), p=w_dc))] if dc else hw_ac[int(rng.choice(len(hw_ac), p=w_ac))]
            powers = C.HARDWARE[hw][3]
            power = powers[0] if rng.random() < 0.75 else powers[int(rng.integers(len(powers)))]
            rate = info["rate"] * (1.6 if dc and stype != "hub" else 0.3 if not dc and stype == "hub" else 1.0)
            cps.append(
                dict(
                    idx=len(cps),
                    site=k,
                    op=op,
                    team=owner,
                    dc=dc,
                    hw=hw,
                    power=power,
                    nconn=C.HARDWARE[hw][4],
                    public=info["access"] == "public",
                    weight=rate * pop * float(rng.lognormal(0.0, 0.2)),
                    stype=stype,
                )
            )
            capacity += cps[-1]["weight"]

    # ---------------- commissioning / decommissioning ----------------
    n_cp = len(cps)
    new_site_ids = set()
    if len(sites) > 8:  # some whole sites are built during the period
        cand = [s["idx"] for s in sites[len(operators) :]]
        for s in rng.choice(cand, size=max(1, len(sites) // 12), replace=False):
            new_site_ids.add(int(s))
    site_open = {}
    for s in sites:
        if s["idx"] in new_site_ids:
            site_open[s["idx"]] = in_period(0.1, 0.75)
    for c in cps:
        if c["site"] in site_open:
            c["comm"] = site_open[c["site"]] + int(rng.integers(0, 3)) * DAY
        elif rng.random() < 0.05:  # extension of an existing site
            c["comm"] = in_period(0.05, 0.85)
        else:
            c["comm"] = _daytime(rng, t0 - int(rng.uniform(20, history_days)) * DAY)
        c["decomm"] = NEVER
        if c["comm"] < t0 and rng.random() < 0.03:
            c["decomm"] = in_period(0.15, 0.95)
    for s in sites:
        first = min(c["comm"] for c in cps if c["site"] == s["idx"])
        s["created"] = first - int(rng.integers(2, 45)) * DAY
        s["versions"].append((s["created"], s["name"]))
    for s in rng.choice(len(sites), size=max(1, len(sites) // 25), replace=False):  # renamed sites
        s = sites[int(s)]
        s["versions"].append((max(in_period(0.3, 0.9), s["created"] + DAY), s["name"] + " (renovated)"))

    # ---------------- firmware history ----------------
    fw_versions: list[tuple[int, str]] = []
    fw_fail, fw_err = [], []
    fw_base: dict[int, int] = {}
    for h, hwd in enumerate(C.HARDWARE):
        fw_base[h] = len(fw_versions)
        for ver, fail, errs in hwd[6]:
            fw_versions.append((h, ver))
            fw_fail.append(fail)
            e = [ERR_INDEX[x] for x in errs] + [ERR_INDEX[errs[0]]] * 3
            fw_err.append(e[:3])
    fw_fail = np.array(fw_fail)
    fw_buggy = fw_fail > 0.05
    rollouts = {}
    for h, hwd in enumerate(C.HARDWARE):
        rollouts[h] = [t0 + int(f * span) for f in hwd[8]]

    cp_versions: list[dict] = []
    K = 4
    fw_t = np.full((n_cp, K), NEVER, dtype=np.int64)
    fw_v = np.zeros((n_cp, K), dtype=np.int16)
    roam_from = np.full(n_cp, NEVER, dtype=np.int64)
    for c in cps:
        h = c["hw"]
        base, start_idx = fw_base[h], C.HARDWARE[h][7]
        nver = len(C.HARDWARE[h][6])
        events: list[tuple[int, str, object]] = []  # (time, attribute, value)
        if c["comm"] < t0:
            v0 = start_idx
            if start_idx > 0 and rng.random() < 0.5 and t0 - c["comm"] > 40 * DAY:
                events.append((c["comm"], "fw", start_idx - 1))
                events.append(
                    (_daytime(rng, c["comm"] + int(rng.uniform(0.3, 0.9) * ((t0 - c["comm"]) // DAY)) * DAY), "fw", v0)
                )
            else:
                events.append((c["comm"], "fw", v0))
        else:
            released = start_idx + sum(1 for r in rollouts[h] if r <= c["comm"])
            events.append((c["comm"], "fw", min(released, nver - 1)))
        cur = events[-1][2]
        for r_i, r in enumerate(rollouts[h]):
            target = min(start_idx + r_i + 1, nver - 1)
            if r <= c["comm"] or target <= cur:
                continue
            if rng.random() < 0.88:
                t = _daytime(rng, r - r % DAY + int(rng.integers(0, max(2, min(14, n_days // 8)))) * DAY, 1.0, 5.0)
                if c["comm"] < t < c["decomm"] - 3 * DAY and t < t_end:
                    events.append((t, "fw", target))
                    cur = target
        roaming = c["public"] and rng.random() < 0.9
        if c["public"] and not roaming and rng.random() < 0.5:  # roaming switched on mid-period
            t = in_period(0.2, 0.8)
            if c["comm"] + DAY < t < c["decomm"]:
                events.append((t, "roaming", True))
        events.sort(key=lambda e: e[0])
        # build arrays and versions
        state = dict(fw=None, roaming=roaming, decomm=None)
        k = 0
        for t, attr, val in events:
            if attr == "fw":
                if k < K:
                    fw_t[c["idx"], k] = t
                    fw_v[c["idx"], k] = base + int(val)
                    k += 1
                state["fw"] = C.HARDWARE[h][6][int(val)][0]
            else:
                state["roaming"] = True
                roam_from[c["idx"]] = t
            cp_versions.append(_cp_row(c, sites, teams, operators, state, t))
        if state["roaming"] and roam_from[c["idx"]] == NEVER:
            roam_from[c["idx"]] = c["comm"]
        if c["decomm"] != NEVER:
            state["decomm"] = c["decomm"]
            cp_versions.append(_cp_row(c, sites, teams, operators, state, c["decomm"]))
    fw_t[:, 0] = np.minimum(fw_t[:, 0], np.array([c["comm"] for c in cps]))

    # ---------------- plans, subscriptions, wallets ----------------
    plans, subscriptions, wallets = [], [], []
    for o in operators:
        rate = C.EUR_RATE[o["currency"]]
        for j, (pname, eur, period) in enumerate(C.PLANS):
            price = _nice_price(eur * rate)
            p = dict(
                idx=len(plans),
                plan_id=f"PL-{len(plans) + 1:03d}",
                op=o["idx"],
                name=f"{o['name'].split(' ')[0]} {pname}",
                currency=o["currency"],
                period=period,
                versions=[(epoch(date(2023, 1, 2)) + 36_000 + o["idx"] * DAY, price)],
            )
            if j == 1:  # a price rise during the period
                p["versions"].append((in_period(0.45, 0.6), _nice_price(price * 1.1)))
            plans.append(p)
    plans_by_op: dict[int, list[int]] = {}
    for p in plans:
        plans_by_op.setdefault(p["op"], []).append(p["idx"])
    subscribed = set()
    for t in teams:
        if t["kind"] != "fleet" or rng.random() > 0.6:
            continue
        subscribed.add(t["idx"])
        pl = plans_by_op[t["op"]]
        plan = pl[int(rng.choice(len(pl), p=[0.5, 0.35, 0.15]))]
        if t["created"] < t0 and rng.random() < 0.75:
            started = _daytime(rng, max(t["created"], t0 - int(rng.uniform(10, 420)) * DAY))
        else:
            started = max(in_period(0.0, 0.6), t["created"] + DAY)
        if started >= t_end:
            subscribed.discard(t["idx"])
            continue
        ended = None
        if rng.random() < 0.3:
            ended = max(in_period(0.3, 0.95), started + 7 * DAY)
            if ended >= t_end:
                ended = None
        subscriptions.append(dict(idx=len(subscriptions), plan=plan, team=t["idx"], started=started, ended=ended))
        if ended is not None and rng.random() < 0.5:  # switched plans
            other = [p for p in pl if p != plan]
            subscriptions.append(
                dict(
                    idx=len(subscriptions),
                    plan=other[int(rng.integers(len(other)))],
                    team=t["idx"],
                    started=ended,
                    ended=None,
                )
            )
    for s in subscriptions:
        s["subscription_id"] = f"SUB-{s['idx'] + 1:05d}"
    for t in teams:
        wallets.append(
            dict(
                idx=len(wallets),
                owner_type="team",
                owner=t["idx"],
                op=t["op"],
                currency=operators[t["op"]]["currency"],
                balance=float(rng.uniform(-200, 3000) * C.EUR_RATE[operators[t["op"]]["currency"]]),
            )
        )
        t["wallet"] = len(wallets) - 1
    for o in operators:
        if o["parent_idx"] >= 0:
            par = operators[o["parent_idx"]]
            wallets.append(
                dict(
                    idx=len(wallets),
                    owner_type="operator",
                    owner=o["idx"],
                    op=par["idx"],
                    currency=par["currency"],
                    balance=float(rng.uniform(0, 50_000) * C.EUR_RATE[par["currency"]]),
                )
            )
            o["wallet"] = len(wallets) - 1
    for w in wallets:
        w["wallet_id"] = f"WA-{w['idx'] + 1:05d}"

    # team gap months: fleet teams without a subscription pause in a month or two
    months = []
    ym = month_key(t0)
    while month_start(ym) < t_end:
        months.append(ym)
        ym = add_months(ym, 1)
    team_gap: dict[int, set[int]] = {}
    if len(months) >= 4:
        for t in teams:
            if t["kind"] == "fleet" and t["idx"] not in subscribed and rng.random() < 0.45:
                m = int(rng.integers(1, len(months) - 2))
                team_gap[t["idx"]] = {months[m]} | ({months[m + 1]} if rng.random() < 0.4 else set())

    # ---------------- bad registry rows (fresh charge point ids, never referenced) ----------------
    bad_cp_rows = []
    n_snapshot = sum(1 for v in cp_versions if v["_t"] < t0)
    n_bad = n_snapshot // 200 if n_snapshot >= 100 else 0
    kinds = ["enum", "negative_power", "decommissioned_before_commissioned", "missing_required"]
    for j in range(n_bad):
        src = dict(cp_versions[int(rng.integers(len(cp_versions)))])
        src["charge_point_id"] = f"CP-XXX-{90001 + j:05d}"
        kind = kinds[j % len(kinds)]
        if kind == "enum":
            src["charging_type"] = "AC/DC"
        elif kind == "negative_power":
            src["max_power_kw"] = "-22.0"
        elif kind == "decommissioned_before_commissioned":
            src["decommissioned_at"] = _ts(int(src["_t"]) - 30 * DAY)
        else:
            src["site_id"] = ""
        src["_t"] = min(int(src["_t"]), t0 - DAY)
        src["updated_at"] = _ts(src["_t"])
        src["_bad"] = kind
        bad_cp_rows.append(src)

    # ---------------- numpy views ----------------
    cp = dict(
        site=np.array([c["site"] for c in cps], dtype=np.int32),
        op=np.array([c["op"] for c in cps], dtype=np.int16),
        team=np.array([c["team"] for c in cps], dtype=np.int32),
        dc=np.array([c["dc"] for c in cps], dtype=bool),
        power=np.array([c["power"] for c in cps], dtype=np.float64),
        nconn=np.array([c["nconn"] for c in cps], dtype=np.int8),
        public=np.array([c["public"] for c in cps], dtype=bool),
        roam_from=roam_from,
        comm=np.array([c["comm"] for c in cps], dtype=np.int64),
        decomm=np.array([c["decomm"] for c in cps], dtype=np.int64),
        weight=np.array([c["weight"] for c in cps], dtype=np.float64),
        stype=np.array([STYPE_INDEX[c["stype"]] for c in cps], dtype=np.int8),
        tz=np.array([TZ_INDEX[sites[c["site"]]["time_zone"]] for c in cps], dtype=np.int8),
        hw=np.array([c["hw"] for c in cps], dtype=np.int16),
        cur=np.array([CUR_INDEX[operators[c["op"]]["currency"]] for c in cps], dtype=np.int8),
        fw_t=fw_t,
        fw_v=fw_v,
    )
    cp_ids = [f"CP-{operators[c['op']]['party_id']}-{c['idx'] + 1:05d}" for c in cps]

    # UTC offsets of each time zone at local noon, for days start-1 .. end+1
    tz_offsets = np.zeros((len(TIME_ZONES), n_days + 3), dtype=np.int64)
    for i, tz in enumerate(TIME_ZONES):
        z = ZoneInfo(tz)
        for d in range(-1, n_days + 2):
            dd = start + timedelta(days=d)
            tz_offsets[i, d + 1] = int(datetime(dd.year, dd.month, dd.day, 12, tzinfo=z).utcoffset().total_seconds())

    team_op = np.array([t["op"] for t in teams], dtype=np.int16)
    team_created = np.array([t["created"] for t in teams], dtype=np.int64)
    max_fleet = max(len(v) for v in fleet_by_op.values())
    op_fleet = np.full((len(operators), max_fleet), -1, dtype=np.int32)
    op_nfleet = np.zeros(len(operators), dtype=np.int32)
    for o, lst in fleet_by_op.items():
        op_fleet[o, : len(lst)] = lst
        op_nfleet[o] = len(lst)

    w = World(
        seed=seed,
        sessions=sessions,
        start=start,
        end=end,
        t0=t0,
        t_end=t_end,
        n_days=n_days,
        operators=operators,
        teams=teams,
        sites=sites,
        plans=plans,
        subscriptions=subscriptions,
        wallets=wallets,
        cp_ids=cp_ids,
        cp=cp,
        fw_versions=fw_versions,
        fw_fail=fw_fail,
        fw_errors=np.array(fw_err, dtype=np.int16),
        fw_buggy=fw_buggy,
        cp_versions=cp_versions,
        bad_cp_rows=bad_cp_rows,
        tz_offsets=tz_offsets,
        team_op=team_op,
        team_created=team_created,
        team_gap=team_gap,
        op_fleet=op_fleet,
        op_nfleet=op_nfleet,
    )
    w.extra["subscribed"] = subscribed
    w.extra["months"] = months
    return w


def _nice_price(x: float) -> float:
    if x >= 1000:
        return float(round(x / 10) * 10 - 1)
    if x >= 100:
        return float(round(x) - 1)
    return round(round(x) - 0.01, 2)


def _cp_row(c: dict, sites: list, teams: list, operators: list, state: dict, t: int) -> dict:
    hw = C.HARDWARE[c["hw"]]
    return {
        "charge_point_id": f"CP-{operators[c['op']]['party_id']}-{c['idx'] + 1:05d}",
        "site_id": sites[c["site"]]["site_id"],
        "team_id": teams[c["team"]]["team_id"],
        "operator_id": operators[c["op"]]["operator_id"],
        "brand": hw[1],
        "model": hw[2],
        "firmware_version": state["fw"],
        "charging_type": "DC" if c["dc"] else "AC",
        "max_power_kw": f"{c['power']:.1f}",
        "connector_count": str(c["nconn"]),
        "access": "public" if c["public"] else "private",
        "roaming_enabled": "true" if state["roaming"] else "false",
        "commissioned_at": _ts(c["comm"]),
        "decommissioned_at": _ts(state["decomm"]) if state["decomm"] else "",
        "updated_at": _ts(t),
        "_t": int(t),
    }
