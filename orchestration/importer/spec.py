"""The mapping file: a small declarative YAML description of one export format.

`load_mapping(path)` reads and checks a mapping (unknown keys, wrong shapes and impossible
constants are errors that name the offending key) and compiles every field into a `Spec`, which
turns one input row into a raw value. Converting that raw value to the field's type (timestamp,
number, money, ...) is `convert.py`'s job; the import pipeline is `core.py`.

A value spec is one of

    <scalar>                      a constant (string, number, true/false, null)
    {const: V}                    a constant, spelled out
    {column: NAME}                the row's value in column NAME (JSON: a dotted path a.b.c)
    {template: "x-{A}-{B}"}       text with {COLUMN} placeholders; null if a placeholder is null
    {cases: [{when: COND, then: SPEC}, ..., {else: SPEC}]}
                                  the first case whose condition holds; COND is
                                  {column: NAME, equals: V | in: [V, ...] | matches: REGEX | is_null: BOOL}

plus optional modifiers, applied in this order:

    null_if: [V, ...]             these texts mean "no value"
    replace: [{pattern: RE, with: TEXT}, ...]   regular-expression fix-ups of the text
    map: {FROM: TO, ...}          translate values (compared as text); `unmapped:` reject | keep | null
    default: V                    the value when the result is null
    unit: Wh | kWh | MWh          energy unit of a number (converted to kWh)
    multiply: N                   multiply a number (e.g. 0.01 for cents)
    formats: [...], year_offset: N, zone: ...   timestamp parsing, overriding the `time:` section
    required: true | false        a row without this value is rejected
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from orchestration.contract import SOURCES

FORMATS = ("csv", "xlsx", "json", "jsonl")
AMBIGUOUS = ("first", "second", "reject")
NONEXISTENT = ("shift_forward", "shift_backward", "reject")
ENERGY_UNITS = {"wh": Decimal("0.001"), "kwh": Decimal("1"), "mwh": Decimal("1000")}
DERIVED = "first_session"  # registry timestamps derived from the first session (see core.py)

# Field types of everything a mapping can fill (contract types; `ts` = timestamp).
SESSION_FIELDS = {f.name: f.type for f in SOURCES["sessions"].fields}
SITE_FIELDS = {f.name: f.type for f in SOURCES["sites"].fields if f.name not in ("operator_id", "team_id")}
CP_FIELDS = {
    f.name: f.type for f in SOURCES["charge_points"].fields if f.name not in ("site_id", "team_id", "operator_id")
}
OPERATOR_FIELDS = {f.name: f.type for f in SOURCES["operators"].fields}
TEAM_FIELDS = {f.name: f.type for f in SOURCES["teams"].fields if f.name != "operator_id"}

INPUT_KEYS = {
    "format",
    "encoding",
    "delimiter",
    "quotechar",
    "decimal",
    "thousands",
    "skip_rows",
    "sheet",
    "null_values",
    "records_path",
}
TIME_KEYS = {"zone", "formats", "replace", "year_offset", "ambiguous", "nonexistent"}
TOP_KEYS = {
    "mapping_version",
    "name",
    "description",
    "input",
    "time",
    "operator",
    "team",
    "sites",
    "charge_points",
    "sessions",
}
SPEC_SOURCES = ("const", "column", "template", "cases")
SPEC_MODIFIERS = {
    "null_if",
    "replace",
    "map",
    "unmapped",
    "default",
    "unit",
    "multiply",
    "formats",
    "year_offset",
    "zone",
    "required",
}


class MappingError(ValueError):
    """The mapping file is not a valid mapping; the message names the key and the problem."""


# --------------------------------------------------------------------------------------------
# Value specs
# --------------------------------------------------------------------------------------------

TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


def cell_text(v: Any) -> str | None:
    """A raw cell value as text, for templates, conditions, maps and regex fix-ups."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, str):
        return v.strip()
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ")
    return str(v)


class Unmapped(Exception):
    """A `map:` without `unmapped: keep|null` met a value it does not list."""

    def __init__(self, value: Any):
        super().__init__(value)
        self.value = value


@dataclass(frozen=True)
class Condition:
    column: str
    op: str  # equals | in | matches | is_null
    arg: Any

    def holds(self, row: dict) -> bool:
        text = cell_text(row.get(self.column))
        if self.op == "is_null":
            return (text in (None, "")) == bool(self.arg)
        if text is None:
            return False
        if self.op == "equals":
            return text == cell_text(self.arg)
        if self.op == "in":
            return text in {cell_text(a) for a in self.arg}
        return self.arg.fullmatch(text) is not None  # matches


@dataclass
class Spec:
    """One field's recipe: a source (const / column / template / cases) plus modifiers."""

    kind: str
    value: Any = None  # const value | column name | template text | [(Condition|None, Spec)]
    null_if: frozenset = frozenset()
    replace: tuple = ()  # ((compiled regex, replacement), ...)
    map: dict | None = None
    unmapped: str = "reject"
    default: Any = None
    factor: Decimal | None = None  # unit conversion / multiplier for numbers
    formats: tuple | None = None
    year_offset: int | None = None
    zone: Spec | None = None
    required: bool | None = None
    where: str = ""  # the mapping key, for messages

    # -- evaluation ------------------------------------------------------------------------
    def raw(self, row: dict) -> Any:
        """The raw value for `row` (a dict column -> cell value), modifiers applied except the
        numeric factor and timestamp options (those need the field's type: see convert.py)."""
        v = self._source(row)
        if isinstance(v, str):
            v = v.strip()
            if v == "" or v in self.null_if:
                v = None
        elif v is not None and self.null_if and cell_text(v) in self.null_if:
            v = None
        if v is not None and self.replace:
            text = cell_text(v)
            for rx, repl in self.replace:
                text = rx.sub(repl, text)
            v = text
        if v is not None and self.map is not None:
            key = cell_text(v)
            if key in self.map:
                v = self.map[key]
            elif self.unmapped == "null":
                v = None
            elif self.unmapped == "reject":
                raise Unmapped(key)
        if v is None:
            v = self.default
        return v

    def _source(self, row: dict) -> Any:
        if self.kind == "const":
            return self.value
        if self.kind == "column":
            return row.get(self.value)
        if self.kind == "template":
            parts = []
            pos = 0
            for m in TEMPLATE_FIELD.finditer(self.value):
                text = cell_text(row.get(m.group(1)))
                if text in (None, "") or text in self.null_if:
                    return None
                parts.append(self.value[pos : m.start()])
                parts.append(text)
                pos = m.end()
            parts.append(self.value[pos:])
            return "".join(parts)
        for cond, spec in self.value:  # cases
            if cond is None or cond.holds(row):
                return spec.raw(row)
        return None

    @property
    def columns(self) -> set[str]:
        """Input columns this spec reads (to check them against the export's header)."""
        cols: set[str] = set()
        if self.kind == "column":
            cols.add(self.value)
        elif self.kind == "template":
            cols.update(TEMPLATE_FIELD.findall(self.value))
        elif self.kind == "cases":
            for cond, spec in self.value:
                if cond is not None:
                    cols.add(cond.column)
                cols |= spec.columns
        if self.zone is not None:
            cols |= self.zone.columns
        return cols

    @property
    def is_const(self) -> bool:
        return self.kind == "const" and self.map is None and not self.replace

    @property
    def is_derived(self) -> bool:
        return self.kind == "const" and self.value == DERIVED


def const(value: Any, where: str = "") -> Spec:
    return Spec("const", value, where=where)


def _scalar(v: Any, where: str) -> Any:
    if isinstance(v, (dict, list)):
        raise MappingError(f"{where}: expected a single value, got {type(v).__name__}")
    return v


def compile_spec(obj: Any, where: str) -> Spec:
    if not isinstance(obj, dict):
        return Spec("const", _scalar(obj, where), where=where)
    sources = [k for k in SPEC_SOURCES if k in obj]
    unknown = set(obj) - set(SPEC_SOURCES) - SPEC_MODIFIERS
    if unknown:
        raise MappingError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
            f"(a value is one of {', '.join(SPEC_SOURCES)} plus modifiers "
            f"{', '.join(sorted(SPEC_MODIFIERS))})"
        )
    if len(sources) != 1:
        raise MappingError(
            f"{where}: needs exactly one of {', '.join(SPEC_SOURCES)}, got {', '.join(sources) or 'none'}"
        )
    kind = sources[0]
    raw = obj[kind]
    if kind == "column":
        if not isinstance(raw, str) or not raw:
            raise MappingError(f"{where}.column: expected a column name")
        value: Any = raw
    elif kind == "template":
        if not isinstance(raw, str) or not TEMPLATE_FIELD.search(raw):
            raise MappingError(f"{where}.template: expected text with at least one {{COLUMN}} placeholder")
        value = raw
    elif kind == "const":
        value = _scalar(raw, f"{where}.const")
    else:
        value = _compile_cases(raw, f"{where}.cases")
    spec = Spec(kind, value, where=where)

    if "null_if" in obj:
        items = obj["null_if"] if isinstance(obj["null_if"], list) else [obj["null_if"]]
        spec.null_if = frozenset(cell_text(i) for i in items)
    if "replace" in obj:
        spec.replace = compile_replace(obj["replace"], f"{where}.replace")
    if "map" in obj:
        if not isinstance(obj["map"], dict) or not obj["map"]:
            raise MappingError(f"{where}.map: expected a non-empty mapping FROM: TO")
        spec.map = {cell_text(k): v for k, v in obj["map"].items()}
    if "unmapped" in obj:
        if obj["unmapped"] not in ("reject", "keep", "null"):
            raise MappingError(f"{where}.unmapped: one of reject, keep, null")
        spec.unmapped = obj["unmapped"]
    if "default" in obj:
        spec.default = _scalar(obj["default"], f"{where}.default")
    if "unit" in obj:
        unit = str(obj["unit"]).lower()
        if unit not in ENERGY_UNITS:
            raise MappingError(f"{where}.unit: one of Wh, kWh, MWh (got {obj['unit']!r})")
        spec.factor = ENERGY_UNITS[unit]
    if "multiply" in obj:
        try:
            m = Decimal(str(obj["multiply"]))
        except Exception:
            raise MappingError(f"{where}.multiply: expected a number") from None
        spec.factor = (spec.factor or Decimal(1)) * m
    if "formats" in obj:
        spec.formats = compile_formats(obj["formats"], f"{where}.formats")
    if "year_offset" in obj:
        spec.year_offset = _int(obj["year_offset"], f"{where}.year_offset")
    if "zone" in obj:
        spec.zone = compile_zone(obj["zone"], f"{where}.zone")
    if "required" in obj:
        if not isinstance(obj["required"], bool):
            raise MappingError(f"{where}.required: true or false")
        spec.required = obj["required"]
    return spec


def _compile_cases(raw: Any, where: str) -> list:
    if not isinstance(raw, list) or not raw:
        raise MappingError(f"{where}: expected a list of {{when: ..., then: ...}} and an optional {{else: ...}}")
    out = []
    for i, case in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(case, dict):
            raise MappingError(f"{w}: expected {{when: ..., then: ...}} or {{else: ...}}")
        if set(case) == {"else"}:
            if i != len(raw) - 1:
                raise MappingError(f"{w}: `else` must be the last case")
            out.append((None, compile_spec(case["else"], f"{w}.else")))
            continue
        if set(case) != {"when", "then"}:
            raise MappingError(f"{w}: expected keys when and then (or a final else), got {', '.join(map(str, case))}")
        out.append((_compile_condition(case["when"], f"{w}.when"), compile_spec(case["then"], f"{w}.then")))
    return out


def _compile_condition(raw: Any, where: str) -> Condition:
    ops = ("equals", "in", "matches", "is_null")
    if not isinstance(raw, dict) or "column" not in raw:
        raise MappingError(f"{where}: expected {{column: NAME, <{'|'.join(ops)}>: ...}}")
    given = [k for k in raw if k != "column"]
    if len(given) != 1 or given[0] not in ops:
        raise MappingError(f"{where}: needs exactly one of {', '.join(ops)}")
    op = given[0]
    arg = raw[op]
    if op == "in" and not isinstance(arg, list):
        raise MappingError(f"{where}.in: expected a list")
    if op == "matches":
        try:
            arg = re.compile(str(arg))
        except re.error as e:
            raise MappingError(f"{where}.matches: bad regular expression: {e}") from None
    return Condition(str(raw["column"]), op, arg)


def compile_replace(raw: Any, where: str) -> tuple:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"pattern", "with"}:
            raise MappingError(f"{where}[{i}]: expected {{pattern: REGEX, with: TEXT}}")
        try:
            rx = re.compile(str(item["pattern"]))
        except re.error as e:
            raise MappingError(f"{where}[{i}].pattern: bad regular expression: {e}") from None
        out.append((rx, str(item["with"])))
    return tuple(out)


FORMAT_NAMES = ("iso", "epoch_s", "epoch_ms")
# the strptime directives Python documents (https://docs.python.org/3/library/datetime.html)
STRPTIME_DIRECTIVES = set("aAwdbBmyYHIpMSfzZjUWcxXGuV%")


def compile_formats(raw: Any, where: str) -> tuple:
    """Timestamp formats: a name (iso, epoch_s, epoch_ms) or a strptime pattern. A word that is
    neither (a typo of a name, a pattern without any % directive) is refused here: used as a
    pattern it would match no timestamp and reject every row."""
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(f, str) and f for f in items):
        raise MappingError(f"{where}: expected a list of strptime formats (or {', '.join(FORMAT_NAMES)})")
    for i, f in enumerate(items):
        if f in FORMAT_NAMES:
            continue
        directives = re.findall(r"%(.)", f.replace("%%", ""))
        if not directives:
            raise MappingError(
                f"{where}[{i}]: {f!r} is neither a format name ({', '.join(FORMAT_NAMES)}) "
                "nor a strptime pattern (no % directive)"
            )
        bad = sorted(set(directives) - STRPTIME_DIRECTIVES)
        if bad or f.rstrip("%").endswith("%") and not f.endswith("%%"):
            raise MappingError(
                f"{where}[{i}]: {f!r} has an unknown strptime directive "
                f"{', '.join('%' + d for d in bad) or 'at its end'}"
            )
    return tuple(items)


def compile_zone(raw: Any, where: str) -> Spec:
    spec = compile_spec(raw, where)
    if spec.is_const:
        check_zone(spec.value, where)
    return spec


def check_zone(name: Any, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"{where}: {name!r} is not an IANA time zone") from None


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise MappingError(f"{where}: expected an integer")
    return v


# --------------------------------------------------------------------------------------------
# The mapping
# --------------------------------------------------------------------------------------------


@dataclass
class InputOptions:
    format: str
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    decimal: str = "."
    thousands: str | None = None
    skip_rows: int = 0
    sheet: str | int | None = None
    null_values: frozenset = frozenset()
    records_path: str | None = None


@dataclass
class TimeOptions:
    zone: Spec
    formats: tuple = ("iso",)
    replace: tuple = ()
    year_offset: int | None = None
    ambiguous: str = "first"
    nonexistent: str = "shift_forward"


@dataclass
class Mapping:
    name: str
    path: Path | None
    input: InputOptions
    time: TimeOptions
    operator: dict[str, Spec]
    team: dict[str, Spec] | None
    sites: dict[str, Spec]
    charge_points: dict[str, Spec]
    sessions: dict[str, Spec]
    extra: dict[str, dict[str, Spec]] = field(default_factory=dict)  # section -> name -> spec

    @property
    def columns(self) -> set[str]:
        cols = set(self.time.zone.columns)
        for section in (self.sites, self.charge_points, self.sessions, *self.extra.values()):
            for spec in section.values():
                cols |= spec.columns
        return cols


def _section(raw: Any, where: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: expected a mapping of keys")
    return raw


def _fields(raw: dict, allowed: dict[str, str], where: str, *, allow_extra: bool) -> tuple[dict, dict]:
    specs: dict[str, Spec] = {}
    extra: dict[str, Spec] = {}
    for key, value in raw.items():
        if key == "extra" and allow_extra:
            for name, v in _section(value, f"{where}.extra").items():
                if name in allowed:
                    raise MappingError(f"{where}.extra.{name}: is a contract field; map it directly")
                extra[str(name)] = compile_spec(v, f"{where}.extra.{name}")
            continue
        if key not in allowed:
            raise MappingError(
                f"{where}.{key}: unknown field (fields: {', '.join(allowed)}{', extra' if allow_extra else ''})"
            )
        specs[key] = compile_spec(value, f"{where}.{key}")
    return specs, extra


def _enum_const(specs: dict, name: str, allowed: tuple, where: str) -> None:
    spec = specs.get(name)
    if spec is not None and spec.is_const and spec.value is not None and spec.value not in allowed:
        raise MappingError(f"{where}.{name}: {spec.value!r} is not one of {', '.join(allowed)}")


def parse_mapping(raw: Any, *, name: str, path: Path | None = None) -> Mapping:
    if not isinstance(raw, dict):
        raise MappingError(
            "a mapping file is a YAML mapping with sections input, time, operator, sites, charge_points, sessions"
        )
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise MappingError(
            f"unknown top-level key(s) {', '.join(sorted(map(str, unknown)))} (allowed: {', '.join(sorted(TOP_KEYS))})"
        )
    if raw.get("mapping_version", 1) != 1:
        raise MappingError(f"mapping_version {raw['mapping_version']!r} is not supported (1)")
    for key in ("input", "time", "operator", "sites", "charge_points", "sessions"):
        if key not in raw:
            raise MappingError(f"missing section `{key}`")
    name = str(raw.get("name") or name)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise MappingError(f"name: {name!r} must be letters, digits, _ . - (it names the landing files)")

    # input
    inp = _section(raw["input"], "input")
    bad = set(inp) - INPUT_KEYS
    if bad:
        raise MappingError(f"input: unknown key(s) {', '.join(sorted(bad))} (allowed: {', '.join(sorted(INPUT_KEYS))})")
    fmt = inp.get("format")
    if fmt not in FORMATS:
        raise MappingError(f"input.format: one of {', '.join(FORMATS)} (got {fmt!r})")
    opts = InputOptions(format=fmt)
    for key in ("encoding", "delimiter", "quotechar", "decimal"):
        if key in inp:
            v = inp[key]
            if not isinstance(v, str) or not v or (key != "encoding" and len(v) != 1):
                raise MappingError(
                    f"input.{key}: expected {'an encoding name' if key == 'encoding' else 'one character'}"
                )
            setattr(opts, key, v)
    if opts.delimiter == "\\t":
        opts.delimiter = "\t"
    if inp.get("thousands") is not None:
        if not isinstance(inp["thousands"], str) or len(inp["thousands"]) != 1:
            raise MappingError("input.thousands: expected one character")
        opts.thousands = inp["thousands"]
    if opts.thousands and opts.thousands == opts.decimal:
        raise MappingError("input.thousands and input.decimal must differ")
    if "skip_rows" in inp:
        opts.skip_rows = _int(inp["skip_rows"], "input.skip_rows")
        if opts.skip_rows < 0:
            raise MappingError("input.skip_rows: not negative")
    if "sheet" in inp:
        opts.sheet = inp["sheet"]
    if "null_values" in inp:
        nv = inp["null_values"]
        opts.null_values = frozenset(cell_text(v) for v in (nv if isinstance(nv, list) else [nv]))
    if "records_path" in inp:
        opts.records_path = inp["records_path"]
    import codecs

    try:
        codecs.lookup(opts.encoding)
    except LookupError:
        raise MappingError(f"input.encoding: unknown encoding {opts.encoding!r}") from None

    # time
    tm = _section(raw["time"], "time")
    bad = set(tm) - TIME_KEYS
    if bad:
        raise MappingError(f"time: unknown key(s) {', '.join(sorted(bad))} (allowed: {', '.join(sorted(TIME_KEYS))})")
    if "zone" not in tm:
        raise MappingError("time.zone: required — the IANA time zone of the export's local timestamps")
    time_opts = TimeOptions(zone=compile_zone(tm["zone"], "time.zone"))
    if "formats" in tm:
        time_opts.formats = compile_formats(tm["formats"], "time.formats")
    if "replace" in tm:
        time_opts.replace = compile_replace(tm["replace"], "time.replace")
    if "year_offset" in tm:
        time_opts.year_offset = _int(tm["year_offset"], "time.year_offset")
    for key, allowed in (("ambiguous", AMBIGUOUS), ("nonexistent", NONEXISTENT)):
        if key in tm:
            if tm[key] not in allowed:
                raise MappingError(f"time.{key}: one of {', '.join(allowed)} (got {tm[key]!r})")
            setattr(time_opts, key, tm[key])

    # operator and team: constants
    op_raw = _section(raw["operator"], "operator")
    operator, _ = _fields(op_raw, OPERATOR_FIELDS, "operator", allow_extra=False)
    for k, spec in operator.items():
        if not spec.is_const:
            raise MappingError(f"operator.{k}: operator fields are constants")
    for req in ("operator_id", "name", "country_code", "currency"):
        if operator.get(req) is None or operator[req].value in (None, ""):
            raise MappingError(f"operator.{req}: required")
    _shape(operator["country_code"].value, r"[A-Z]{2}", "operator.country_code", "an ISO 3166-1 alpha-2 code")
    _shape(operator["currency"].value, r"[A-Z]{3}", "operator.currency", "an ISO 4217 code")
    team = None
    if raw.get("team") is not None:
        team, _ = _fields(_section(raw["team"], "team"), TEAM_FIELDS, "team", allow_extra=False)
        for k, spec in team.items():
            if not spec.is_const:
                raise MappingError(f"team.{k}: team fields are constants")
        for req in ("team_id", "name"):
            if team.get(req) is None or team[req].value in (None, ""):
                raise MappingError(f"team.{req}: required")

    sites, site_extra = _fields(_section(raw["sites"], "sites"), SITE_FIELDS, "sites", allow_extra=True)
    cps, cp_extra = _fields(
        _section(raw["charge_points"], "charge_points"), CP_FIELDS, "charge_points", allow_extra=True
    )
    sessions, session_extra = _fields(
        _section(raw["sessions"], "sessions"), SESSION_FIELDS, "sessions", allow_extra=True
    )
    for section, specs, req in (
        ("sites", sites, ("site_id",)),
        ("charge_points", cps, ("charge_point_id", "charging_type", "access")),
        ("sessions", sessions, ("session_id", "plugged_in_at")),
    ):
        for r in req:
            if r not in specs:
                raise MappingError(f"{section}.{r}: required")
    _enum_const(cps, "charging_type", ("AC", "DC"), "charge_points")
    _enum_const(cps, "access", ("public", "private"), "charge_points")
    _enum_const(sessions, "state", ("in_progress", "completed", "failed"), "sessions")
    for section, specs, derivable in (
        ("sites", sites, ("created_at", "updated_at")),
        ("charge_points", cps, ("commissioned_at", "updated_at")),
        ("operator", operator, ("updated_at",)),
        ("team", team or {}, ("created_at", "updated_at")),
    ):
        for k, spec in specs.items():
            if spec.is_derived and k not in derivable:
                raise MappingError(f"{section}.{k}: `{DERIVED}` only applies to {', '.join(derivable)}")
    if "unplugged_at" not in sessions and sessions.get("state", const("completed")).value != "in_progress":
        raise MappingError("sessions.unplugged_at: required for finished (completed/failed) sessions")
    return Mapping(
        name=name,
        path=path,
        input=opts,
        time=time_opts,
        operator=operator,
        team=team,
        sites=sites,
        charge_points=cps,
        sessions=sessions,
        extra={"sites": site_extra, "charge_points": cp_extra, "sessions": session_extra},
    )


def _shape(v: Any, pattern: str, where: str, what: str) -> None:
    if isinstance(v, bool):
        raise MappingError(f"{where}: {v!r} is not {what} — quote the code: YAML reads NO, YES, ON, OFF as true/false")
    if not isinstance(v, str) or not re.fullmatch(pattern, v):
        raise MappingError(f"{where}: {v!r} is not {what}")


def load_mapping(path: Path | str) -> Mapping:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} not found") from None
    except yaml.YAMLError as e:
        raise MappingError(f"{path}: not valid YAML: {e}") from None
    try:
        return parse_mapping(raw, name=path.stem, path=path)
    except MappingError as e:
        raise MappingError(f"{path}: {e}") from None
