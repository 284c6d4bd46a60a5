"""The import pipeline: export file + mapping → landing zone (DESIGN.md section 4).

1. Read the export (readers.py) and map every row to a session, its site and its charge point
   (spec.py evaluates the mapping, convert.py types the values, local times become UTC).
2. Reject rows that cannot become a valid session — with their line and a reason — instead of
   writing them: the warehouse would quarantine them, and they would count towards its 5 %
   refusal threshold. The checks are the contract's row rules and the warehouse's expectation
   suites (kWh in [0, 500], prices in [0, 10000], incl. VAT ≥ excl. VAT, ...).
3. Derive the registries: one site per site_id and one charge point per charge_point_id, with
   the attributes of their first session (earliest plug-in; attribute disagreements between rows
   are reported as warnings), `commissioned_at` / `created_at` = the first session's plug-in
   unless the mapping says otherwise, `updated_at` = that same instant (a registry version valid
   from the start of the data). The operator and team are the mapping's constants.
4. Write one file per landing folder, named `<mapping name>__<input stem>`, deterministically:
   the same export and mapping always give byte-identical files (same content hash → loaded
   once). A file that exists with other content is not replaced (landing files are immutable)
   unless `overwrite=True`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestration.check.expectations import column_range
from orchestration.contract import SOURCES
from orchestration.importer.convert import FieldError, Stamp, fmt_decimal, fmt_ts, to_bool, to_decimal, to_int, to_stamp
from orchestration.importer.readers import ExportError, Row, read_export
from orchestration.importer.spec import (
    CP_FIELDS,
    SESSION_FIELDS,
    SITE_FIELDS,
    Mapping,
    Spec,
    Unmapped,
    cell_text,
    load_mapping,
)

# Plausibility limits of the warehouse's expectation suites (expectations/*.json), read from
# them: rows outside would be quarantined at load, so the importer rejects them and says why.
KWH_MAX = Decimal(str(column_range("sessions", "kwh")[1]))  # 500 (the contract allows up to 1000)
PRICE_MAX = Decimal(str(column_range("sessions", "price_excl_vat")[1]))
CONNECTOR_ID_RANGE = column_range("sessions", "connector_id")
CONNECTOR_COUNT_RANGE = column_range("charge_points", "connector_count")
POWER_RANGE = {"AC": (Decimal("1.4"), Decimal(44)), "DC": (Decimal(20), Decimal(1000))}
STATES = ("in_progress", "completed", "failed")
FINISHED = ("completed", "failed")
# (earlier, later): the later event must not precede the earlier one.
ORDER = (
    ("plugged_in_at", "unplugged_at"),
    ("plugged_in_at", "charging_started_at"),
    ("charging_started_at", "charging_ended_at"),
    ("charging_ended_at", "unplugged_at"),
)
REJECT_COLUMNS = ["line", "reason", "detail", "session_id", "raw"]
MAX_LISTED_REJECTS = 200


class LandingConflict(ExportError):
    """A landing file of this export already exists with different content."""


class RowRejected(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Reject:
    line: int
    reason: str
    detail: str
    session_id: str | None
    raw: str


@dataclass
class Mapped:
    """One accepted row: typed session, site and charge point values."""

    line: int
    zone: str
    session: dict[str, Any]
    site: dict[str, Any]
    cp: dict[str, Any]
    extra: dict[str, dict[str, Any]]
    raw: str

    @property
    def plug(self) -> Stamp:
        return self.session["plugged_in_at"]


@dataclass
class Stats:
    ambiguous: int = 0
    nonexistent: int = 0
    reordered: int = 0


@dataclass
class Context:
    mapping: Mapping
    zones: dict[str, ZoneInfo] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)

    def zone(self, name: Any) -> ZoneInfo:
        key = cell_text(name) or ""
        if key not in self.zones:
            try:
                self.zones[key] = ZoneInfo(key)
            except (ZoneInfoNotFoundError, ValueError):
                raise RowRejected("unknown time zone", f"{key!r} is not an IANA time zone") from None
        return self.zones[key]


# --------------------------------------------------------------------------------------------
# Row mapping
# --------------------------------------------------------------------------------------------


def _evaluate(ctx: Context, spec: Spec, row: Row, ftype: str, name: str, tz: ZoneInfo) -> Any:
    try:
        v = spec.raw(row.values)
    except Unmapped as e:
        raise RowRejected("unmapped value", f"{name}: {e.value!r} is not listed in the mapping's map") from None
    if v is None:
        return None
    opts = ctx.mapping.input
    try:
        if ftype == "str":
            return cell_text(v)
        if ftype == "int":
            return to_int(v, opts, name)
        if ftype in ("float", "money"):
            d = to_decimal(v, opts, name)
            return d * spec.factor if spec.factor is not None else d
        if ftype == "bool":
            return to_bool(v, name)
        if ftype == "ts":
            if spec.is_derived:
                return None  # filled in from the sessions (registries)
            zone = tz
            if spec.zone is not None:
                zone = ctx.zone(spec.zone.raw(row.values))
            stamp = to_stamp(v, spec, ctx.mapping.time, zone, name)
            if stamp.kind == "ambiguous":
                ctx.stats.ambiguous += 1
            elif stamp.kind == "nonexistent":
                ctx.stats.nonexistent += 1
            return stamp
    except FieldError as e:
        raise RowRejected(e.reason, e.detail) from None
    raise ValueError(ftype)


def _resolve_order(ctx: Context, s: dict) -> None:
    """An ambiguous local time whose chosen reading puts a later event before an earlier one
    (an unplug at 02:10 after a plug-in at 02:50 in the repeated hour) takes its other reading."""
    for a, b in ORDER:
        sa, sb = s.get(a), s.get(b)
        if sa is None or sb is None or sb.utc >= sa.utc:
            continue
        if sb.alt is not None and sb.alt >= sa.utc:
            s[b] = Stamp(sb.alt, sb.utc, sb.kind)
            ctx.stats.reordered += 1
        elif sa.alt is not None and sa.alt <= sb.utc:
            s[a] = Stamp(sa.alt, sa.utc, sa.kind)
            ctx.stats.reordered += 1


def _map_row(ctx: Context, row: Row) -> Mapped:
    m = ctx.mapping
    if row.problem:
        raise RowRejected(*row.problem)
    zone_name = cell_text(m.time.zone.raw(row.values))
    if not zone_name:
        raise RowRejected("missing time zone", "the mapping's time.zone gives no value for this row")
    tz = ctx.zone(zone_name)

    s = {name: _evaluate(ctx, spec, row, SESSION_FIELDS[name], name, tz) for name, spec in m.sessions.items()}
    site = {name: _evaluate(ctx, spec, row, SITE_FIELDS[name], name, tz) for name, spec in m.sites.items()}
    cp = {name: _evaluate(ctx, spec, row, CP_FIELDS[name], name, tz) for name, spec in m.charge_points.items()}
    extra = {}
    for section, specs in m.extra.items():
        extra[section] = {}
        for name, spec in specs.items():
            try:
                v = spec.raw(row.values)
            except Unmapped as e:
                raise RowRejected("unmapped value", f"extra {name}: {e.value!r} is not listed in the map") from None
            extra[section][name] = _extra_value(v)

    # required values
    for name, value in (
        ("session_id", s.get("session_id")),
        ("site_id", site.get("site_id")),
        ("charge_point_id", cp.get("charge_point_id")),
        ("plugged_in_at", s.get("plugged_in_at")),
    ):
        if value in (None, ""):
            raise RowRejected(f"missing {name}", _source_hint(m, name))
    if s.get("state") is None:
        s["state"] = "completed"
    if s["state"] not in STATES:
        raise RowRejected("invalid state", f"{s['state']!r} is not one of {', '.join(STATES)}")
    if s["state"] in FINISHED and s.get("unplugged_at") is None:
        raise RowRejected(
            "missing unplugged_at", f"a {s['state']} session needs an unplug time ({_source_hint(m, 'unplugged_at')})"
        )
    for section, specs, values in (
        ("sessions", m.sessions, s),
        ("sites", m.sites, site),
        ("charge_points", m.charge_points, cp),
    ):
        for name, spec in specs.items():
            required = spec.required if spec.required is not None else (section == "sessions" and name == "kwh")
            if required and values.get(name) is None and not spec.is_derived:
                raise RowRejected(f"missing {name}", _source_hint(m, name, section))

    _resolve_order(ctx, s)
    for a, b in ORDER:
        if s.get(a) is not None and s.get(b) is not None and s[b].utc < s[a].utc:
            raise RowRejected(f"{b} before {a}", f"{fmt_ts(s[b].utc)} < {fmt_ts(s[a].utc)}")
    kwh = s.get("kwh")
    if kwh is not None:
        if kwh < 0:
            raise RowRejected("negative kwh", f"{fmt_decimal(kwh)} kWh")
        if kwh > KWH_MAX:
            raise RowRejected(f"kwh above {KWH_MAX}", f"{fmt_decimal(kwh)} kWh (the warehouse's plausibility limit)")
    cid = s.get("connector_id")
    if cid is not None and not CONNECTOR_ID_RANGE[0] <= cid <= CONNECTOR_ID_RANGE[1]:
        raise RowRejected("connector_id out of range", f"{cid} not in {CONNECTOR_ID_RANGE[0]}..{CONNECTOR_ID_RANGE[1]}")
    for p in ("price_excl_vat", "price_incl_vat"):
        if s.get(p) is not None and s[p] < 0:
            raise RowRejected("negative price", f"{p} {fmt_decimal(s[p])}")
    if s.get("price_excl_vat") is not None and s["price_excl_vat"] > PRICE_MAX:
        raise RowRejected(f"price above {PRICE_MAX}", f"price_excl_vat {fmt_decimal(s['price_excl_vat'])}")
    if (
        s.get("price_excl_vat") is not None
        and s.get("price_incl_vat") is not None
        and s["price_incl_vat"] < s["price_excl_vat"]
    ):
        raise RowRejected(
            "price_incl_vat below price_excl_vat",
            f"{fmt_decimal(s['price_incl_vat'])} < {fmt_decimal(s['price_excl_vat'])}",
        )
    has_price = s.get("price_excl_vat") is not None or s.get("price_incl_vat") is not None
    if s.get("currency") is None and has_price:
        s["currency"] = m.operator["currency"].value
    if s.get("currency") is not None and not re.fullmatch(r"[A-Z]{3}", s["currency"]):
        raise RowRejected("invalid currency", f"{s['currency']!r} is not an ISO 4217 code")
    if s.get("is_roaming") is None:
        s["is_roaming"] = False
    return Mapped(row.line, zone_name, s, site, cp, extra, row.raw)


def _extra_value(v: Any) -> Any:
    """Extra (non-contract) fields keep numbers as numbers and everything else as text."""
    if v is None or isinstance(v, (bool, int)):
        return v
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else None
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() and abs(v) < 2**53 else float(v)
    return cell_text(v)


def _source_hint(m: Mapping, name: str, section: str = "") -> str:
    specs = {"sites": m.sites, "charge_points": m.charge_points}.get(section)
    if specs is None:
        specs = m.sites if name == "site_id" else m.charge_points if name == "charge_point_id" else m.sessions
    spec = specs.get(name)
    if spec is None:
        return f"{name} is not mapped"
    cols = sorted(spec.columns)
    return f"no value in column(s) {', '.join(cols)}" if cols else "no value"


# --------------------------------------------------------------------------------------------
# Registries
# --------------------------------------------------------------------------------------------


@dataclass
class Entity:
    key: str
    first: Mapped
    values: dict[str, Any]
    rows: list[Mapped] = field(default_factory=list)
    problem: str | None = None


def _collect(rows: list[Mapped], attr: str, key: str, warnings: list[str], label: str) -> dict[str, Entity]:
    """One entity per key, with the attributes of its first session; disagreements are warnings."""
    out: dict[str, Entity] = {}
    disagreements: Counter = Counter()
    examples: dict[tuple, str] = {}
    for r in rows:  # sorted by first session
        values = getattr(r, attr)
        k = values[key]
        ent = out.get(k)
        if ent is None:
            out[k] = Entity(k, r, dict(values), [r])
            continue
        ent.rows.append(r)
        for name, v in values.items():
            if v != ent.values.get(name):
                disagreements[(k, name)] += 1
                examples.setdefault((k, name), f"line {r.line} has {_show(v)}")
    for (k, name), n in sorted(disagreements.items()):
        warnings.append(
            f"{label} {k}: {name} differs on {n} row(s) (e.g. {examples[(k, name)]}); "
            f"kept {_show(out[k].values.get(name))} from its first session (line {out[k].first.line})"
        )
    return out


def _show(v: Any) -> str:
    if isinstance(v, Stamp):
        return fmt_ts(v.utc)
    if isinstance(v, Decimal):
        return fmt_decimal(v)
    return repr(v)


def _check_site(ent: Entity, m: Mapping, zone_name: str) -> None:
    v = ent.values
    if not v.get("name"):
        v["name"] = ent.key
    if not v.get("country_code"):
        v["country_code"] = m.operator["country_code"].value
    if not v.get("time_zone"):
        v["time_zone"] = zone_name
    if not re.fullmatch(r"[A-Z]{2}", str(v["country_code"])):
        ent.problem = f"country_code {v['country_code']!r} is not an ISO 3166-1 alpha-2 code"
        return
    try:
        ZoneInfo(str(v["time_zone"]))
    except (ZoneInfoNotFoundError, ValueError):
        ent.problem = f"time_zone {v['time_zone']!r} is not an IANA time zone"
        return
    for coord, limit in (("latitude", 90), ("longitude", 180)):
        if v.get(coord) is not None and not -limit <= v[coord] <= limit:
            ent.problem = f"{coord} {fmt_decimal(v[coord])} not in [-{limit}, {limit}]"
            return


def _check_cp(ent: Entity) -> None:
    v = ent.values
    if v.get("charging_type") not in ("AC", "DC"):
        ent.problem = f"charging_type {v.get('charging_type')!r} is not AC or DC"
        return
    if v.get("access") not in ("public", "private"):
        ent.problem = f"access {v.get('access')!r} is not public or private"
        return
    if v.get("roaming_enabled") is None:
        v["roaming_enabled"] = False
    power = v.get("max_power_kw")
    lo, hi = POWER_RANGE[v["charging_type"]]
    if power is not None and not lo <= power <= hi:
        ent.problem = f"max_power_kw {fmt_decimal(power)} not in {lo}..{hi} for {v['charging_type']}"
        return
    cc = v.get("connector_count")
    if cc is not None and not CONNECTOR_COUNT_RANGE[0] <= cc <= CONNECTOR_COUNT_RANGE[1]:
        ent.problem = f"connector_count {cc} not in {CONNECTOR_COUNT_RANGE[0]}..{CONNECTOR_COUNT_RANGE[1]}"


# --------------------------------------------------------------------------------------------
# Rendering and writing
# --------------------------------------------------------------------------------------------


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Stamp):
        return fmt_ts(v.utc)
    if isinstance(v, datetime):
        return fmt_ts(v)
    if isinstance(v, Decimal):
        return fmt_decimal(v)
    return str(v)


def _csv_bytes(columns: list[str], rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_csv_value(r.get(c)) for c in columns])
    return buf.getvalue().encode("utf-8")


def _json_value(name: str, v: Any) -> Any:
    if isinstance(v, Stamp):
        return fmt_ts(v.utc)
    if isinstance(v, Decimal):
        ftype = SESSION_FIELDS.get(name)
        if ftype == "money":
            return fmt_decimal(v)
        f = float(v)
        return int(f) if ftype == "int" else f
    return v


def _write(path: Path, data: bytes) -> str:
    """Atomically write `data` unless the file already holds exactly that. Returns the status."""
    if path.exists() and path.read_bytes() == data:
        return "unchanged"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return "written"


def export_name(m: Mapping, input_path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", input_path.stem).strip("._") or "export"
    return f"{m.name}__{stem}"


# --------------------------------------------------------------------------------------------
# The whole import
# --------------------------------------------------------------------------------------------


def _map_rows(ctx: Context, export) -> tuple[int, list[Mapped], list[Reject]]:
    m = ctx.mapping
    rows_read = 0
    rejects: list[Reject] = []
    accepted: list[Mapped] = []
    first_line_of: dict[str, int] = {}
    for row in export.rows:
        rows_read += 1
        try:
            mapped = _map_row(ctx, row)
        except RowRejected as e:
            sid = None
            if not row.problem:
                try:
                    sid = cell_text(m.sessions["session_id"].raw(row.values))
                except Unmapped:
                    sid = None
            rejects.append(Reject(row.line, e.reason, e.detail, sid, row.raw))
            continue
        sid = mapped.session["session_id"]
        if sid in first_line_of:
            rejects.append(
                Reject(row.line, "duplicate session_id", f"first seen on line {first_line_of[sid]}", sid, row.raw)
            )
            continue
        first_line_of[sid] = row.line
        accepted.append(mapped)
    return rows_read, accepted, rejects


class Registry:
    """Sites and charge points derived from the accepted sessions, with their timestamps."""

    def __init__(self, ctx: Context, accepted: list[Mapped], rejects: list[Reject], warnings: list[str]):
        self.m = ctx.mapping
        zone = self.m.time.zone
        self.const_zone = ZoneInfo(zone.value) if zone.is_const else ZoneInfo("UTC")
        ordered = sorted(accepted, key=lambda r: (r.plug.utc, r.line))  # first session first
        self.sites = _collect(ordered, "site", "site_id", warnings, "site")
        for ent in self.sites.values():
            _check_site(ent, self.m, ent.first.zone)
        self.cps = _collect(ordered, "cp", "charge_point_id", warnings, "charge point")
        self.cp_site: dict[str, str] = {}
        for ent in self.cps.values():
            site = self.cp_site[ent.key] = ent.first.site["site_id"]
            other = sorted({r.site["site_id"] for r in ent.rows} - {site})
            if other:
                warnings.append(
                    f"charge point {ent.key} has sessions at site(s) {', '.join(other)} too; it is "
                    f"registered at {site} (its first session)"
                )
            _check_cp(ent)
            if ent.problem is None:
                self._cp_timestamps(ent)
            if ent.problem is None and self.sites[site].problem:
                ent.problem = f"its site {site} is invalid: {self.sites[site].problem}"
        bad = {ent.key: ent.problem for ent in self.cps.values() if ent.problem}
        self.accepted = accepted
        if bad:  # their sessions cannot be loaded without them: reject those too
            self.accepted = []
            for r in accepted:
                cp_id = r.cp["charge_point_id"]
                if cp_id in bad:
                    rejects.append(
                        Reject(r.line, "invalid charge point", f"{cp_id}: {bad[cp_id]}", r.session["session_id"], r.raw)
                    )
                else:
                    self.accepted.append(r)
            self.cps = {k: v for k, v in self.cps.items() if k not in bad}
            used = {self.cp_site[k] for k in self.cps}
            self.sites = {k: v for k, v in self.sites.items() if k in used}
            for ent in list(self.sites.values()) + list(self.cps.values()):
                ent.rows = [r for r in ent.rows if r.cp["charge_point_id"] not in bad]
                ent.first = min(ent.rows, key=lambda r: (r.plug.utc, r.line))
            for ent in self.sites.values():  # a site's first session may have been rejected
                ent.values = dict(ent.first.site)
                _check_site(ent, self.m, ent.first.zone)
        for ent in self.sites.values():
            v = ent.values
            v["created_at"] = self._stamp(v, "created_at", self.m.sites, ent.first.plug.utc)
            v["updated_at"] = self._stamp(v, "updated_at", self.m.sites, v["created_at"])
        self.first_plug = min((r.plug.utc for r in self.accepted), default=None)

    def _stamp(self, values: dict, name: str, specs: dict[str, Spec], fallback: Any) -> Any:
        """A registry timestamp: per-row value (of the first session), a constant of the mapping,
        or `fallback` (the first session's plug-in) when unmapped, empty or `first_session`."""
        v = values.get(name)
        if isinstance(v, Stamp):
            return v.utc
        return self.constant(specs.get(name), fallback)

    def constant(self, spec: Spec | None, fallback: Any) -> Any:
        if spec is None or spec.is_derived or not spec.is_const:
            return fallback
        if spec.value is None:
            return None
        try:
            return to_stamp(spec.value, spec, self.m.time, self.const_zone, spec.where).utc
        except FieldError as e:
            raise ExportError(f"{spec.where}: {e.detail}") from None

    def _cp_timestamps(self, ent: Entity) -> None:
        v, specs = ent.values, self.m.charge_points
        v["commissioned_at"] = self._stamp(v, "commissioned_at", specs, ent.first.plug.utc)
        v["decommissioned_at"] = self._stamp(v, "decommissioned_at", specs, None)
        v["updated_at"] = self._stamp(v, "updated_at", specs, v["commissioned_at"])
        if v["decommissioned_at"] is not None and v["decommissioned_at"] < v["commissioned_at"]:
            ent.problem = (
                f"decommissioned_at {fmt_ts(v['decommissioned_at'])} is before commissioned_at "
                f"{fmt_ts(v['commissioned_at'])}"
            )


def _render(m: Mapping, name: str, reg: Registry) -> dict[str, bytes]:
    """The landing files' bytes, deterministic: rows in input order, registries sorted by id."""
    files: dict[str, bytes] = {}
    op = {k: spec.value for k, spec in m.operator.items()}
    op["updated_at"] = reg.constant(m.operator.get("updated_at"), reg.first_plug)
    files[f"operators/{name}.csv"] = _csv_bytes(SOURCES["operators"].landing_columns, [op])
    team_id = None
    if m.team:
        team = {k: spec.value for k, spec in m.team.items()}
        team_id = team["team_id"]
        team["operator_id"] = op["operator_id"]
        team["created_at"] = reg.constant(m.team.get("created_at"), reg.first_plug)
        team["updated_at"] = reg.constant(m.team.get("updated_at"), team["created_at"])
        files[f"teams/{name}.csv"] = _csv_bytes(SOURCES["teams"].landing_columns, [team])
    owner = {"operator_id": op["operator_id"], "team_id": team_id}
    site_rows = [{**reg.sites[k].values, **owner, **reg.sites[k].first.extra["sites"]} for k in sorted(reg.sites)]
    files[f"sites/{name}.csv"] = _csv_bytes(SOURCES["sites"].landing_columns + list(m.extra["sites"]), site_rows)
    cp_rows = [
        {**reg.cps[k].values, "site_id": reg.cp_site[k], **owner, **reg.cps[k].first.extra["charge_points"]}
        for k in sorted(reg.cps)
    ]
    files[f"charge_points/{name}.csv"] = _csv_bytes(
        SOURCES["charge_points"].landing_columns + list(m.extra["charge_points"]), cp_rows
    )
    lines = []
    for r in reg.accepted:  # input order
        s = dict(r.session, charge_point_id=r.cp["charge_point_id"])
        if s.get("updated_at") is None:  # the version written when the session reached its state
            s["updated_at"] = s.get("unplugged_at") or s.get("failed_at") or s["plugged_in_at"]
        rec = {c: _json_value(c, s.get(c)) for c in SOURCES["sessions"].landing_columns}
        rec.update(r.extra["sessions"])
        lines.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    files[f"sessions/{name}.jsonl"] = "".join(lines).encode("utf-8")
    return files


def _rejects_csv(rejects: list[Reject]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REJECT_COLUMNS)
    for rj in rejects:
        w.writerow([rj.line, rj.reason, rj.detail, rj.session_id or "", rj.raw])
    return buf.getvalue().encode("utf-8")


def run_import(mapping: Mapping | Path | str, input: Path | str, out: Path | str, *, overwrite: bool = False) -> dict:
    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    input_path = Path(input)
    out = Path(out)
    name = export_name(m, input_path)
    ctx = Context(m)

    export = read_export(input_path, m.input)
    if export.columns is not None:
        missing = sorted(c for c in m.columns if c not in export.columns)
        if missing:
            raise ExportError(
                f"{input_path.name}: column(s) {', '.join(repr(c) for c in missing)} used by the "
                f"mapping are not in the header ({', '.join(export.columns)[:300]})"
            )
    rows_read, accepted, rejects = _map_rows(ctx, export)
    warnings: list[str] = []
    reg = Registry(ctx, accepted, rejects, warnings)
    rejects.sort(key=lambda r: r.line)
    if reg.accepted:
        files = _render(m, name, reg)
    else:
        files = {}
        warnings.append("no row could be mapped: no landing files written")

    # Landing files are immutable: never silently replace one with other content.
    if not overwrite:
        clashes = [rel for rel, data in files.items() if (out / rel).exists() and (out / rel).read_bytes() != data]
        if clashes:
            raise LandingConflict(
                f"{', '.join(clashes)} already exist(s) in {out} with different content. Landing files are "
                f"immutable (the warehouse identifies them by content; changed session versions with the same "
                f"updated_at would be conflicts). Import into a new landing directory, rename the input, or "
                f"pass overwrite=True if the old files were never loaded."
            )
    files_out = []
    for rel, data in files.items():  # registries before sessions
        files_out.append(
            {
                "path": rel,
                "status": _write(out / rel, data),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    report_rel = f"_import_rejects/{name}.csv"
    _write(out / report_rel, _rejects_csv(rejects))

    accepted = reg.accepted
    by_reason = Counter(rj.reason for rj in rejects)
    kwh_total = sum((r.session.get("kwh") or Decimal(0) for r in accepted), Decimal(0))
    summary = {
        "mapping": str(m.path) if m.path else m.name,
        "input": str(input_path),
        "export_name": name,
        "out": str(out),
        "rows_read": rows_read,
        "sessions_written": len(accepted),
        "rows_rejected": len(rejects),
        "rejects_by_reason": dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        "rejects": [
            {"line": rj.line, "reason": rj.reason, "detail": rj.detail, "session_id": rj.session_id}
            for rj in rejects[:MAX_LISTED_REJECTS]
        ],
        "rejects_listed": min(len(rejects), MAX_LISTED_REJECTS),
        "rejects_report": report_rel,
        "kwh_total": float(kwh_total),
        "first_plugged_in_at": fmt_ts(reg.first_plug),
        "last_unplugged_at": fmt_ts(
            max((r.session["unplugged_at"].utc for r in accepted if r.session.get("unplugged_at")), default=None)
        ),
        "operators": 1 if files else 0,
        "teams": 1 if (files and m.team) else 0,
        "sites": len(reg.sites) if files else 0,
        "charge_points": len(reg.cps) if files else 0,
        "site_ids": sorted(reg.sites) if files else [],
        "charge_point_ids": sorted(reg.cps) if files else [],
        "time": {
            "zones": sorted(ctx.zones),
            "ambiguous_local_times": ctx.stats.ambiguous,
            "nonexistent_local_times": ctx.stats.nonexistent,
            "ambiguous_read_the_other_way": ctx.stats.reordered,
            "policy": {"ambiguous": m.time.ambiguous, "nonexistent": m.time.nonexistent},
        },
        "files": files_out,
        "warnings": warnings,
    }
    assert summary["rows_read"] == summary["sessions_written"] + summary["rows_rejected"]
    return summary
