"""Rendering: record tables -> landing-zone lines and files (runs in worker processes).

Lines are assembled column-wise with Arrow compute kernels (C++), never row by row in Python:
every JSON value is pre-rendered as a string column (ids and names by `take` from lookup
arrays, timestamps from a date table and an 86,400-entry time-of-day table, numbers from integer
parts), then `binary_join_element_wise` glues keys and values into whole lines, and the Arrow
string buffer is written to disk as it is. The JSON keys and the CSV header come from
`orchestration.contract.SOURCES`, so names never drift from the contract. Files are written
under a temporary name and renamed into place, so a watcher never sees a half-written file.
"""

from __future__ import annotations

import gzip
import os
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.contract import SOURCES

from . import catalog as C
from .simulate import (
    A_BOOT,
    A_HEARTBEAT,
    A_METER,
    A_UNKNOWN,
    LEDGER_KINDS,
    NULL_MONEY,
    OCPP_STATUS,
    STATES,
    TOKEN_TYPES,
    nrows,
)
from .world import CURRENCIES, DAY, ERROR_CODES, FAILURE_REASONS, NEVER

OFFSETS = [0, 3600, 7200, -18000]  # seconds east of UTC for timestamp styles 0..3
SUFFIX = ["Z", "+01:00", "+02:00", "-05:00"]
UNKNOWN_ACTIONS = ["HeartBeat", "StatusNotificationRequest", "FirmwareUpdated"]


# ------------------------------------------------------------------------------ arrow helpers
def S(values) -> pa.Array:
    return pa.array(list(values), type=pa.string())


@lru_cache(maxsize=4096)
def lit(s: str) -> pa.Scalar:
    return pa.scalar(s, type=pa.string())


def join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, lit(""))


def choose(table: pa.Array, idx) -> pa.Array:
    """table[idx]; index -1 selects the last entry (the 'null' / '' entry of lookup tables)."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size and idx.min() < 0:
        idx = np.where(idx < 0, len(table) - 1, idx)
    return table.take(pa.array(idx, type=pa.int64()))


def ints(x) -> pa.Array:
    return pc.cast(pa.array(np.asarray(x, dtype=np.int64), type=pa.int64()), pa.string())


_SIGN = S(["", "-"])


def fixed(scaled, decimals: int) -> pa.Array:
    """Decimal strings from integers scaled by 10**decimals: fixed(12345, 3) -> '12.345'."""
    scaled = np.asarray(scaled, dtype=np.int64)
    a = np.abs(scaled)
    p = 10**decimals
    return join(
        choose(_SIGN, (scaled < 0).astype(np.int64)),
        ints(a // p),
        lit("."),
        pc.utf8_lpad(ints(a % p), width=decimals, padding="0"),
    )


def fixed_float(x, decimals: int) -> pa.Array:
    return fixed(np.rint(np.asarray(x, dtype=np.float64) * 10**decimals).astype(np.int64), decimals)


def money_json(cents) -> pa.Array:
    """JSON money strings with 4 decimals ('"12.3400"'), null for missing."""
    cents = np.asarray(cents, dtype=np.int64)
    null = cents == NULL_MONEY
    out = join(lit('"'), fixed(np.where(null, 0, cents), 2), lit('00"'))
    return pc.if_else(pa.array(null), lit("null"), out) if null.any() else out


def replace_rows(arr: pa.Array, rows: np.ndarray, new: list[str]) -> pa.Array:
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    order = np.argsort(rows)
    return pc.replace_with_mask(arr, pa.array(mask), S([new[i] for i in order]))


# Set by generate(gzip=True) before render workers start: every landing file is then written
# gzip-compressed as <name>.gz (level 1: a landing zone of 100M sessions fits a small disk).
GZIP_LEVEL: int | None = None


def write_atomic(path: Path, data) -> None:
    """Write str, bytes or a list of Arrow string arrays (their buffers, as they are)."""
    if GZIP_LEVEL is not None:
        path = path.with_name(path.name + ".gz")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with (
        open(tmp, "wb") as raw,
        (
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
            if GZIP_LEVEL is not None
            else nullcontext(raw)
        ) as f,
    ):
        if isinstance(data, str):
            f.write(data.encode("utf-8"))
        elif isinstance(data, (bytes, bytearray)):
            f.write(data)
        else:
            for arr in data:
                f.write(arrow_bytes(arr))
    os.replace(tmp, path)


def arrow_bytes(arr: pa.Array) -> memoryview:
    if len(arr) == 0:
        return memoryview(b"")
    if arr.null_count:
        raise ValueError("null in rendered lines")
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=arr.offset + len(arr) + 1)
    return memoryview(arr.buffers()[2])[offs[arr.offset] : offs[-1]]


class TimeFormat:
    """Vectorised ISO-8601 formatting of epoch seconds / milliseconds."""

    def __init__(self, first_day: int, n_days: int):
        self.first = first_day
        days = [(date(1970, 1, 1) + timedelta(days=first_day + i)).isoformat() for i in range(n_days)]
        self.DQ = S('"' + d + "T" for d in days)
        self.D = S(d + "T" for d in days)
        self.HMS = S(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))
        self.SQ = S(s + '"' for s in SUFFIX)
        self.S = S(SUFFIX)
        self.MS = S(f".{i:03d}" for i in range(1000))
        self.OFF = np.array(OFFSETS, dtype=np.int64)

    def _parts(self, t, tzo):
        t = np.asarray(t, dtype=np.int64)
        null = t >= NEVER
        tzo = np.zeros(len(t), dtype=np.int64) if tzo is None else np.asarray(tzo, dtype=np.int64)
        shifted = np.where(null, self.first * DAY, t + self.OFF[tzo])
        return null, shifted // DAY - self.first, shifted % DAY, tzo

    def q(self, t, tzo=None) -> pa.Array:
        """JSON values: '"2025-03-01T08:15:00Z"' (or another offset style) or 'null'."""
        null, d, s, tzo = self._parts(t, tzo)
        out = join(choose(self.DQ, d), choose(self.HMS, s), choose(self.SQ, tzo))
        return pc.if_else(pa.array(null), lit("null"), out) if null.any() else out

    def q_ms(self, t_ms, tzo=None) -> pa.Array:
        t_ms = np.asarray(t_ms, dtype=np.int64)
        null = t_ms >= NEVER
        null_, d, s, tzo = self._parts(np.where(null, NEVER, t_ms // 1000), tzo)
        out = join(
            choose(self.DQ, d),
            choose(self.HMS, s),
            choose(self.MS, np.where(null, 0, t_ms % 1000)),
            choose(self.SQ, tzo),
        )
        return pc.if_else(pa.array(null), lit("null"), out) if null.any() else out

    def plain(self, t) -> pa.Array:
        """CSV values: '2025-03-01T08:15:00Z' or ''."""
        null, d, s, tzo = self._parts(t, None)
        out = join(choose(self.D, d), choose(self.HMS, s), choose(self.S, tzo))
        return pc.if_else(pa.array(null), lit(""), out) if null.any() else out


def json_lines(source: str, values: dict[str, pa.Array], keys: list[str] | None = None) -> pa.Array:
    """Whole JSON lines: keys in contract order, values already rendered as JSON."""
    keys = keys or SOURCES[source].columns
    missing = set(keys) ^ set(values)
    if missing:
        raise AssertionError(f"{source}: rendered keys and contract disagree on {sorted(missing)}")
    parts = []
    for i, k in enumerate(keys):
        parts += [lit(("{" if i == 0 else ",") + f'"{k}":'), values[k]]
    parts.append(lit("}\n"))
    return join(*parts)


@dataclass
class RenderContext:
    out: str
    first_day: int
    n_days: int
    cp_ids: list[str]
    cp_cur: np.ndarray
    cp_op: np.ndarray
    cp_dc: np.ndarray
    cp_loc: list[str]  # OCPI cdr_location JSON per (charge point, connector): index cp*2 + conn-1
    cp_boot: list[str]  # BootNotification payload prefix per charge point (up to firmwareVersion)
    cp_meter: list[str]
    op_cc: list[str]
    op_party: list[str]
    op_ids: list[str]
    team_ids: list[str]
    plan_ids: list[str]
    fw_names: list[str]
    tariffs: list[str]  # per operator*2 + dc: '"tariffs":[...],'


class _Lookups:
    def __init__(self, ctx: RenderContext):
        def q(xs):
            return S('"%s"' % x for x in xs)

        self.cp_q = q(ctx.cp_ids)
        self.cp_plain = S(ctx.cp_ids)
        self.cp_loc = S(ctx.cp_loc)
        self.cp_boot = S(ctx.cp_boot)
        self.cp_meter = S(ctx.cp_meter)
        self.cp_cur, self.cp_op, self.cp_dc = ctx.cp_cur, ctx.cp_op, ctx.cp_dc.astype(np.int64)
        self.op_q = q(ctx.op_ids)
        self.op_cc_q = q(ctx.op_cc)
        self.op_party_q = q(ctx.op_party)
        self.team_q = S(['"%s"' % x for x in ctx.team_ids] + ["null"])
        self.plan_q = S(['"%s"' % x for x in ctx.plan_ids] + ["null"])
        self.fw = S(ctx.fw_names)
        self.tariffs = S(ctx.tariffs + [""])
        self.state_q = S(f'"{s}"' for s in STATES)
        self.reason_q = S([f'"{r}"' for r in FAILURE_REASONS] + ["null"])
        self.stop_q = S([f'"{r}"' for r in C.STOP_REASONS] + ["null"])
        self.cur_q = S(f'"{c}"' for c in CURRENCIES)
        self.kind_q = S(f'"{k}"' for k in LEDGER_KINDS)
        self.bool = S(["false", "true"])
        self.emsp_cc = S(e[0] for e in C.EMSPS)
        self.emsp_party = S(e[1] for e in C.EMSPS)
        self.emsp_hubject = np.array([e[3] == "hubject" for e in C.EMSPS])
        self.ttype = S(TOKEN_TYPES)
        self.auth = S(["WHITELIST", "COMMAND", "AUTH_REQUEST"])  # by token type
        self.cdr_suffix = S(["", "-CR", "-R1", "-CR"])
        self.status = S(OCPP_STATUS)
        self.err = S(ERROR_CODES)
        self.err_info = S(C.ERROR_INFO.get(e, ("", ""))[0] for e in ERROR_CODES)
        self.err_vendor = S(C.ERROR_INFO.get(e, ("", ""))[1] for e in ERROR_CODES)
        self.unknown_actions = S(UNKNOWN_ACTIONS)
        self.hex4 = S(f"{i:04x}" for i in range(65536))
        self.hex3 = S(f"{i:03x}" for i in range(4096))


_CTX: RenderContext | None = None
_TF: TimeFormat | None = None
_L: _Lookups | None = None


def init_worker(ctx: RenderContext) -> None:
    global _CTX, _TF, _L
    _CTX = ctx
    _TF = TimeFormat(ctx.first_day, ctx.n_days)
    _L = _Lookups(ctx)


def _corrupt(lines: pa.Array, rows: np.ndarray, kinds: np.ndarray, text_kinds: dict[int, str]) -> pa.Array:
    """Apply the text-level corruptions to bad rows: 'truncate' or 'drop:<key>'."""
    sel = [(r, text_kinds[k]) for r, k in zip(rows.tolist(), kinds.tolist()) if k in text_kinds]
    if not sel:
        return lines
    new = []
    for r, how in sel:
        line = lines[r].as_py()
        if how == "truncate":
            new.append(line[: max(10, int(len(line) * 0.55))] + "\n")
        else:
            d = orjson.loads(line)
            d.pop(how[5:], None)
            new.append(orjson.dumps(d).decode() + "\n")
    return replace_rows(lines, np.array([r for r, _ in sel], dtype=np.int64), new)


def _sid(x) -> pa.Array:
    x = np.asarray(x, dtype=np.int64)
    out = join(lit('"S'), pc.utf8_lpad(ints(np.maximum(x, 0)), width=10, padding="0"), lit('"'))
    return pc.if_else(pa.array(x < 0), lit("null"), out) if (x < 0).any() else out


# ------------------------------------------------------------------------------ sources
def render_sessions(t: dict) -> pa.Array:
    tf, L = _TF, _L
    tzo = t["tzo"].astype(np.int64)
    v = {
        "session_id": _sid(t["sid"]),
        "charge_point_id": choose(L.cp_q, t["cp"]),
        "connector_id": ints(t["conn"]),
        "paying_team_id": choose(L.team_q, t["team"]),
        "state": choose(L.state_q, t["state"]),
        "plugged_in_at": tf.q(t["plug"], tzo),
        "charging_started_at": tf.q(t["cst"], tzo),
        "charging_ended_at": tf.q(t["cen"], tzo),
        "unplugged_at": tf.q(t["unp"], tzo),
        "failed_at": tf.q(t["fail"], tzo),
        "failure_reason": choose(L.reason_q, t["reason"]),
        "stop_reason": choose(L.stop_q, t["stop"]),
        "kwh": fixed_float(t["kwh"], 3),
        "price_excl_vat": money_json(t["pex"]),
        "price_incl_vat": money_json(t["pin"]),
        "currency": choose(L.cur_q, L.cp_cur[t["cp"]]),
        "is_roaming": choose(L.bool, t["roam"].astype(np.int64)),
        "updated_at": tf.q(t["_t"], tzo),
    }
    lines = json_lines("sessions", v)
    bad = np.flatnonzero(t["bad"])
    if len(bad):
        lines = _corrupt(lines, bad, t["bad"][bad], {1: "truncate", 5: "drop:plugged_in_at"})
    return lines


def invoice_ids(codes) -> pa.Array:
    """Invoice code yyyymm*100000 + type*10000 + customer index -> '"INV-202503-T0012"' (index + 1)."""
    c = np.asarray(codes, dtype=np.int64)
    null = c < 0
    c = np.where(null, 0, c)
    out = join(
        lit('"INV-'),
        ints(c // 100000),
        lit("-"),
        choose(S(["T", "O"]), (c % 100000) // 10000),
        pc.utf8_lpad(ints(c % 10000 + 1), width=4, padding="0"),
        lit('"'),
    )
    return pc.if_else(pa.array(null), lit("null"), out) if null.any() else out


def render_ledger(t: dict) -> pa.Array:
    tf, L = _TF, _L
    v = {
        "entry_id": join(lit('"LE'), pc.utf8_lpad(ints(t["eid"]), width=10, padding="0"), lit('"')),
        "operator_id": choose(L.op_q, t["op"]),
        "team_id": choose(L.team_q, t["team"]),
        "plan_id": choose(L.plan_q, t["plan"]),
        "kind": choose(L.kind_q, t["kind"]),
        "amount": money_json(t["amt"]),
        "currency": choose(L.cur_q, t["cur"]),
        "booked_at": tf.q(t["booked"], t["tzo"].astype(np.int64)),
        "session_id": _sid(t["sid"]),
        "invoice_id": invoice_ids(t["inv"]),
    }
    return json_lines("ledger", v)


def render_cdrs(t: dict) -> pa.Array:
    """OCPI 2.2.1 CDR objects. ckind: 0 CDR, 1 credit CDR, 2 corrected re-issue, 3 (bad) credit
    without reference; bad kind 2 = negative totals on a non-credit CDR."""
    tf, L = _TF, _L
    tzo = t["tzo"].astype(np.int64)
    ck, bk, cp = t["ckind"].astype(np.int64), t["bad"].astype(np.int64), t["cp"].astype(np.int64)
    credit = (ck == 1) | (ck == 3)
    sign = np.where(credit | (bk == 2), -1, 1)
    op = L.cp_op[cp]
    emsp = t["emsp"].astype(np.int64)
    tt = t["ttype"].astype(np.int64)
    charge_s = np.where(t["cen"] >= NEVER, 0, t["cen"] - t["cst"])
    parking_s = np.maximum(0, t["end"] - np.where(t["cen"] >= NEVER, t["end"], t["cen"]))
    total_s = t["end"] - t["start"]

    def hours(s):  # seconds -> hours, 4 decimals
        return fixed(sign * np.rint(s / 0.36).astype(np.int64), 4)

    base_id = join(lit("CDR"), pc.utf8_lpad(ints(t["cid"]), width=10, padding="0"))
    contract = np.asarray(t["contract"], dtype=np.int64)
    uid = np.asarray(t["uid"], dtype=np.int64)
    uid_hex = join(
        choose(L.hex4, (uid >> 32) & 0xFF), choose(L.hex4, (uid >> 16) & 0xFFFF), choose(L.hex4, uid & 0xFFFF)
    )
    uid_hex = pc.utf8_upper(pc.utf8_slice_codeunits(uid_hex, 2))
    energy = fixed(sign * np.rint(np.abs(t["kwh"]) * 1000).astype(np.int64), 3)
    cst, cen = tf.q(t["cst"], tzo), tf.q(t["cen"], tzo)
    period1 = join(
        lit('{"start_date_time":'),
        cst,
        lit(',"dimensions":[{"type":"ENERGY","volume":'),
        energy,
        lit('},{"type":"TIME","volume":'),
        hours(charge_s),
        lit("}]}"),
    )
    period2 = join(
        lit(',{"start_date_time":'),
        cen,
        lit(',"dimensions":[{"type":"PARKING_TIME","volume":'),
        hours(parking_s),
        lit("}]}"),
    )
    periods = pc.if_else(pa.array(parking_s > 0), join(period1, period2), period1)
    tariff_idx = np.where(L.emsp_hubject[emsp], op * 2 + L.cp_dc[cp], -1)
    lines = join(
        lit('{"country_code":'),
        choose(L.op_cc_q, op),
        lit(',"party_id":'),
        choose(L.op_party_q, op),
        lit(',"id":"'),
        base_id,
        choose(L.cdr_suffix, ck),
        lit('","start_date_time":'),
        tf.q(t["start"], tzo),
        lit(',"end_date_time":'),
        tf.q(t["end"], tzo),
        lit(',"session_id":'),
        _sid(t["sid"]),
        lit(',"cdr_token":{"country_code":"'),
        choose(L.emsp_cc, emsp),
        lit('","party_id":"'),
        choose(L.emsp_party, emsp),
        lit('","uid":"'),
        uid_hex,
        lit('","type":"'),
        choose(L.ttype, tt),
        lit('","contract_id":"'),
        choose(L.emsp_cc, emsp),
        lit("-"),
        choose(L.emsp_party, emsp),
        lit("-C"),
        ints(contract),
        lit("-"),
        ints(contract % 10),
        lit('"},"auth_method":"'),
        choose(L.auth, tt),
        lit('","cdr_location":'),
        choose(L.cp_loc, cp * 2 + t["conn"].astype(np.int64) - 1),
        lit(',"currency":'),
        choose(L.cur_q, L.cp_cur[cp]),
        lit(","),
        choose(L.tariffs, tariff_idx),
        lit('"charging_periods":['),
        periods,
        lit('],"total_cost":{"excl_vat":'),
        fixed(sign * np.abs(t["cex"]), 2),
        lit(',"incl_vat":'),
        fixed(sign * np.abs(t["cin"]), 2),
        lit('},"total_energy":'),
        energy,
        lit(',"total_time":'),
        hours(total_s),
        lit(',"total_parking_time":'),
        hours(parking_s),
        lit(',"credit":'),
        choose(L.bool, credit.astype(np.int64)),
        lit(',"credit_reference_id":'),
        pc.if_else(pa.array(ck == 1), join(lit('"'), base_id, lit('"')), lit("null")),
        lit(',"last_updated":'),
        tf.q(t["_t"], tzo),
        lit("}\n"),
    )
    bad = np.flatnonzero(t["bad"])
    if len(bad):
        lines = _corrupt(lines, bad, t["bad"][bad], {1: "truncate", 4: "drop:end_date_time"})
    return lines


def message_ids(seq) -> pa.Array:
    """UUID-shaped OCPP message ids, unique (the last group is a global frame counter)."""
    L = _L
    seq = np.asarray(seq, dtype=np.int64)
    z = seq.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    h = (z ^ (z >> np.uint64(31))).view(np.int64)

    def c(shift, mask):
        return (h >> shift) & mask

    return join(
        choose(L.hex4, c(48, 0xFFFF)),
        choose(L.hex4, c(32, 0xFFFF)),
        lit("-"),
        choose(L.hex4, c(16, 0xFFFF)),
        lit("-4"),
        choose(L.hex3, c(4, 0xFFF)),
        lit("-a"),
        choose(L.hex3, (h & 0xF) << 8 | c(56, 0xFF)),
        lit("-"),
        choose(L.hex4, (seq >> 32) & 0xFFFF),
        choose(L.hex4, (seq >> 16) & 0xFFFF),
        choose(L.hex4, seq & 0xFFFF),
    )


def render_ocpp(t: dict) -> pa.Array:
    tf, L = _TF, _L
    action = t["action"].astype(np.int64)
    ts = tf.q_ms(np.where(t["has_ts"], t["ts"], NEVER))
    conn = ints(t["conn"])
    err = t["err"].astype(np.int64)
    status = choose(L.status, t["status"])
    # StatusNotification payloads (with or without an error)
    ok_payload = join(
        lit('{"connectorId":'),
        conn,
        lit(',"errorCode":"NoError","status":"'),
        status,
        lit('","timestamp":'),
        ts,
        lit("}"),
    )
    e = np.maximum(err, 0)
    err_payload = join(
        lit('{"connectorId":'),
        conn,
        lit(',"errorCode":"'),
        choose(L.err, e),
        lit('","status":"'),
        status,
        lit('","info":"'),
        choose(L.err_info, e),
        lit('","vendorErrorCode":"'),
        choose(L.err_vendor, e),
        lit('","timestamp":'),
        ts,
        lit("}"),
    )
    payload = pc.if_else(pa.array(err >= 0), err_payload, ok_payload)
    cp = t["cp"].astype(np.int64)
    boot = join(
        choose(L.cp_boot, cp),
        choose(L.fw, np.maximum(t["fw"].astype(np.int64), 0)),
        lit('","meterType":"'),
        choose(L.cp_meter, cp),
        lit('"}'),
    )
    meter = join(
        lit('{"connectorId":'),
        conn,
        lit(',"transactionId":'),
        ints(t["tx"]),
        lit(',"meterValue":[{"timestamp":'),
        ts,
        lit(',"sampledValue":[{"value":"'),
        ints(np.asarray(t["val"], dtype=np.float64).astype(np.int64)),
        lit('","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}'),
    )
    payload = pc.if_else(pa.array(action == A_BOOT), boot, payload)
    payload = pc.if_else(pa.array(action == A_METER), meter, payload)
    payload = pc.if_else(pa.array(action == A_HEARTBEAT), lit("{}"), payload)
    names = S(["StatusNotification", "BootNotification", "Heartbeat", "MeterValues"])
    name = choose(names, np.where(action == A_UNKNOWN, 0, np.minimum(action, 3)))
    if (action == A_UNKNOWN).any():
        name = pc.if_else(pa.array(action == A_UNKNOWN), choose(L.unknown_actions, t["seq"] % 3), name)
    v = {
        "charge_point_id": choose(L.cp_q, cp),
        "received_at": tf.q_ms(t["recv"], t["tzo"].astype(np.int64)),
        "frame": join(lit('[2,"'), message_ids(t["seq"]), lit('","'), name, lit('",'), payload, lit("]")),
    }
    lines = json_lines("ocpp", v, SOURCES["ocpp"].landing_columns)
    bad = np.flatnonzero(t["bad"])
    if len(bad):
        lines = _corrupt(lines, bad, t["bad"][bad], {1: "truncate", 3: "drop:charge_point_id"})
    return lines


def render_ratings(t: dict) -> pa.Array:
    tf, L = _TF, _L
    return join(
        lit("R"),
        pc.utf8_lpad(ints(t["rid"]), width=9, padding="0"),
        lit(",S"),
        pc.utf8_lpad(ints(t["sid"]), width=10, padding="0"),
        lit(","),
        choose(L.cp_plain, t["cp"]),
        lit(","),
        ints(t["stars"]),
        lit(","),
        tf.plain(t["_t"]),
        lit("\n"),
    )


def _sorted(t: dict) -> dict:
    if not nrows(t):
        return t
    order = np.argsort(t["_t"], kind="stable")
    return {k: v[order] for k, v in t.items()}


def render_day(day_iso: str, tables: dict[str, dict]) -> dict:
    """Write the daily files of one UTC day. Returns row/bad counts per file and the day's
    ratings CSV lines (the caller writes them into the monthly ratings file)."""
    out = Path(_CTX.out)
    result: dict = {"files": {}, "ratings": ""}

    def put(rel: str, lines: pa.Array, bad: int):
        if len(lines):
            write_atomic(out / rel, [lines])
            result["files"][rel] = (len(lines), bad)

    t = _sorted(tables.get("sessions") or {})
    if nrows(t):
        put(f"sessions/sessions_{day_iso}.jsonl", render_sessions(t), int((t["bad"] > 0).sum()))
    t = _sorted(tables.get("ledger") or {})
    if nrows(t):
        put(f"ledger/ledger_{day_iso}.jsonl", render_ledger(t), 0)
    t = _sorted(tables.get("cdrs") or {})
    if nrows(t):
        lines = render_cdrs(t)
        for p, name in enumerate(C.PROVIDERS):
            sel = np.flatnonzero(t["prov"] == p)
            if len(sel):
                put(f"cdrs/{name}/cdrs_{day_iso}.jsonl", lines.take(pa.array(sel)), int((t["bad"][sel] > 0).sum()))
    t = _sorted(tables.get("ocpp") or {})
    if nrows(t):
        put(f"ocpp/ocpp_{day_iso}.jsonl", render_ocpp(t), int((t["bad"] > 0).sum()))
    t = _sorted(tables.get("ratings") or {})
    if nrows(t):
        result["ratings"] = bytes(arrow_bytes(render_ratings(t))).decode("utf-8")
    return result
