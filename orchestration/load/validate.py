"""The load's one SQL pass: compile a source's contract, its Great Expectations suite and the
duplicate/conflict rules into one SELECT that reads a batch's lines, parses each record once,
types it and classifies it.

For JSON lines, DuckDB splits the files into lines (keeping line numbers), checks a line is JSON
(`json_valid`, a validating read without extraction) and parses it once with `from_json` into a
struct of the contract's fields (nested OCPI objects included), taking its key list for the
unknown-key check. An OCPP frame is parsed once into its four elements and its payload once into
the OCPP 1.6 properties, which the schema rules check. CSV and ECB records arrive as text columns
from readers.py.

Per record the pass gives: the typed contract columns, `_srule` (the first contract rule broken,
in this order: encoding and line length → record shape (JSON object / field count / OCPP-J
frame) → required fields → types → enums → control characters in ids → OCPP 1.6 payload schema →
implausible timestamps → session length), `_gx` (a bit per suite expectation the record fails,
from the suite compiled to SQL: orchestration/check/expectations.py), `_rule` (the rule it is
quarantined with: the contract's, else the first expectation's, else a conflict), `_dup`
(identical to a record loaded earlier or earlier in the batch) and, only for quarantined
records, `_raw` (the line as written).

No value from a landing file becomes SQL text: everything here is built from the contract, the
suites and the loader's own settings; file paths travel as bound parameters / Arrow tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestration.check.expectations import compile_suite, known_set_sql
from orchestration.contract import Field, Source, ocpp16_actions, ocpp16_schema
from orchestration.load.readers import ODD_LONG, ODD_UTF8

# OCPP actions whose payloads are checked against their OCPP 1.6 JSON schema (used downstream).
OCPP_CHECKED_ACTIONS = ("StatusNotification", "BootNotification")
PLAUSIBLE_FROM = "2000-01-01"
PLAUSIBLE_AHEAD_DAYS = 2
CONTROL_CHARS = r"[\x00-\x08\x0A-\x1F]"  # C0 codes except tab


def sql_str(value: str) -> str:
    """A SQL string literal (contract and suite constants only — never file content)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class PassSettings:
    now: datetime  # the moment of loading (UTC, naive)
    max_line_bytes: int
    max_session_days: int


TYPE_WORDS = {"int": "an integer", "float": "a number", "money": "a decimal amount",
              "bool": "true/false", "ts": "an ISO-8601 timestamp", "date": "a date",
              "str": "a scalar", "json": "JSON"}


def is_id(src: Source, f: Field) -> bool:
    """Fields that identify something: the key's text columns, *_id, id and *_uid."""
    return f.type == "str" and (f.name in src.key or f.name == "id" or f.name.endswith(("_id", "_uid")))


# ------------------------------------------------------------------------------------------------
# JSON lines: one parse per record


def _struct_type(src: Source) -> str:
    """The from_json structure of a record: every contract field (nested objects as structs);
    text fields as JSON (to tell a string from an object or array), the others as VARCHAR (typed
    here from their text)."""
    tree: dict = {}
    for f in src.fields:
        path = f.json_path
        if "[" in path:  # inside the OCPP frame: taken from the frame's own parse
            continue
        parts = path[2:].split(".")
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = "JSON" if f.type in ("str", "json") else "VARCHAR"
    return json.dumps(tree, separators=(",", ":"))


def _ocpp_payload_props() -> dict[str, dict]:
    props: dict[str, dict] = {}
    for action in OCPP_CHECKED_ACTIONS:
        for name, spec in ocpp16_schema(action).get("properties", {}).items():
            props[name] = spec
    return props


def _get(expr: str, path: list[str]) -> str:
    for p in path:
        expr = f"struct_extract({expr}, {sql_str(p)})"
    return expr


def _unquote(v: str) -> str:
    """Text of a JSON value given as JSON text: a string's content, else the value's JSON text
    (a number, a boolean; an object or an array breaks the scalar rule of a text field)."""
    return (f"CASE WHEN starts_with({v}, '\"') THEN (CASE WHEN contains({v}, '\\') "
            f"THEN json_extract_string({v}, '$') ELSE {v}[2:-2] END) ELSE {v} END")


def _not_scalar(v: str) -> str:
    return f"(starts_with({v}, '{{') OR starts_with({v}, '['))"


def _jsonl_texts(src: Source, input_sql: str, settings: PassSettings) -> tuple[str, list[str]]:
    """CTEs from the batch's lines to `texts`: per field its text `_t_<f>`, plus `_shape` (the
    line-level rule), `_ns_<f>` (a text field given an object/array), `_keys`, `_line_text`."""
    ws = "' ' || chr(9) || chr(13)"
    ctes = [
        f"chunks AS ({input_sql})",
        "split AS (SELECT file_id, first_line, string_split(content, chr(10)) AS parts FROM chunks)",
        "lines0 AS (SELECT file_id, first_line - 1 + generate_subscripts(parts, 1) AS _line, unnest(parts) AS line "
        "FROM split)",
        # a UTF-8 byte order mark before the first line is not part of the record
        "lines1 AS (SELECT file_id, _line, CASE WHEN _line = 1 AND starts_with(line, chr(65279)) "
        "THEN line[2:] ELSE line END AS line FROM lines0)",
        "lines AS (SELECT *, json_valid(line) AS _ok FROM lines1)",
        f"records AS (SELECT * FROM lines WHERE _ok OR trim(line, {ws}) <> '')",  # blank lines are no records
        f"parsed AS (SELECT *, CASE WHEN _ok THEN from_json(line, {sql_str(_struct_type(src))}) END AS _j, "
        "CASE WHEN _ok THEN json_keys(line) END AS _keys FROM records)",
    ]
    long_rule = (f"'line longer than the limit of {settings.max_line_bytes:,} bytes (WAREHOUSE_MAX_LINE_BYTES): ' "
                 f"|| split_part(line, chr(1), 4) || ' bytes'")
    shape = (f"CASE WHEN _ok THEN (CASE WHEN NOT starts_with(line, '{{') AND NOT starts_with(ltrim(line, {ws}), '{{') "
             f"THEN 'not a JSON object' END) "
             f"WHEN starts_with(line, {sql_str(ODD_UTF8)}) THEN 'not valid UTF-8' "
             f"WHEN starts_with(line, {sql_str(ODD_LONG)}) THEN {long_rule} "
             f"ELSE 'not valid JSON' END")
    line_text = (f"CASE WHEN starts_with(line, {sql_str(ODD_UTF8)}) THEN line[{len(ODD_UTF8) + 1}:] "
                 f"WHEN starts_with(line, {sql_str(ODD_LONG)}) THEN split_part(line, chr(1), 5) "
                 f"ELSE rtrim(line, chr(13)) END")
    cols = ["file_id", "_line", "line", f"{shape} AS _shape", f"{line_text} AS _line_text", "_keys"]
    if src.name == "ocpp":
        frame = "CAST(struct_extract(_j, 'frame') AS VARCHAR)"
        ctes.append(f"framed AS (SELECT *, from_json({frame}, '[\"JSON\"]') AS _fr FROM parsed)")
        payload_struct = json.dumps({k: "JSON" for k in _ocpp_payload_props()}
                                    | {f.json_path.split(".")[-1]: "JSON" for f in src.fields
                                       if f.json_path.startswith("$.frame[3].")}, separators=(",", ":"))
        checked = ", ".join(sql_str(a) for a in OCPP_CHECKED_ACTIONS)
        action = _unquote("CAST(_fr[3] AS VARCHAR)")
        ctes.append(f"payloads AS (SELECT *, from_json(CAST(_fr[4] AS VARCHAR), {sql_str(payload_struct)}) AS _p, "
                    f"CASE WHEN ({action}) IN ({checked}) THEN json_keys(CAST(_fr[4] AS VARCHAR)) END AS _pkeys "
                    f"FROM framed)")
        base = "payloads"
        cols += ["_fr", "_p", "_pkeys"]
    else:
        base = "parsed"
    for f in src.fields:
        path = f.json_path
        as_json = f.type in ("str", "json") or path.startswith("$.frame[")  # v is JSON text
        if path.startswith("$.frame["):
            if path.startswith("$.frame[3]."):
                v = f"CAST({_get('_p', [path.split('.')[-1]])} AS VARCHAR)"
            else:
                v = f"CAST(_fr[{int(path[len('$.frame['):-1]) + 1}] AS VARCHAR)"
        else:
            v = _get("_j", path[2:].split("."))
            if as_json:
                v = f"CAST({v} AS VARCHAR)"
        if f.type == "json":
            cols.append(f"{v} AS _t_{f.name}")
            continue
        cols.append(f"nullif(trim({_unquote(v) if as_json else v}), '') AS _t_{f.name}")
        if f.type == "str":
            cols.append(f"{_not_scalar(v)} AS _ns_{f.name}")
    ctes.append(f"texts AS (SELECT {', '.join(cols)} FROM {base})")
    return ",\n".join(ctes), []


def _csv_texts(src: Source, input_sql: str, settings: PassSettings) -> str:
    long_rule = (f"'line longer than the limit of {settings.max_line_bytes:,} bytes (WAREHOUSE_MAX_LINE_BYTES): ' "
                 f"|| split_part(_raw, chr(1), 4) || ' bytes'")
    shape = (f"CASE WHEN starts_with(_raw, {sql_str(ODD_LONG)}) THEN {long_rule} "
             "WHEN NOT _ncols_ok THEN 'wrong number of fields (a delimiter or quoting problem)' END")
    line_text = f"CASE WHEN starts_with(_raw, {sql_str(ODD_LONG)}) THEN split_part(_raw, chr(1), 5) ELSE _raw END"
    cols = ["file_id", "_line", f"{shape} AS _shape", f"{line_text} AS _line_text", "_extra AS _csv_extra"]
    cols += [f"_c_{f.name} AS _t_{f.name}" for f in src.fields]
    return f"chunks AS ({input_sql}),\ntexts AS (SELECT {', '.join(cols)} FROM chunks)"


# ------------------------------------------------------------------------------------------------
# typing and the contract's rules


def _typed_expr(f: Field, t: str) -> str:
    match f.type:
        case "str":
            return t
        case "json":
            return f"CAST({t} AS JSON)"
        case "int":
            return f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN TRY_CAST({t} AS BIGINT) END"
        case "float":
            return f"CASE WHEN isfinite(TRY_CAST({t} AS DOUBLE)) THEN TRY_CAST({t} AS DOUBLE) END"
        case "money":
            return f"TRY_CAST({t} AS DECIMAL(18,4))"
        case "bool":
            return f"CASE lower({t}) WHEN 'true' THEN true WHEN 'false' THEN false END"
        case "ts":
            # 'Z' (what platforms write) is read by the plain TIMESTAMP cast; any other offset or
            # zone goes through TIMESTAMPTZ (slower, exact)
            return (f"CASE WHEN regexp_matches({t}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN "
                    f"(CASE WHEN ends_with({t}, 'Z') THEN TRY_CAST({t} AS TIMESTAMP) "
                    f"ELSE TRY_CAST({t} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END) END")
        case "date":
            return f"TRY_CAST({t} AS DATE)"
    raise ValueError(f.type)


def _ocpp_frame_rules() -> list[tuple[str, str]]:
    """(condition TRUE when broken, rule) for the OCPP-J frame, before the fields are checked."""
    return [
        ("_fr IS NULL OR len(_fr) <> 4",
         "frame is not an OCPP-J message [MessageTypeId, UniqueId, Action, Payload]"),
        ("CAST(_fr[1] AS VARCHAR) <> '2'", "frame is not an OCPP-J CALL (MessageTypeId must be 2)"),
    ]


def _ocpp_payload_rules() -> list[tuple[str, str]]:
    """OCPP 1.6 JSON schemas of the actions used downstream, from the payload's one parse:
    `_p` (its properties as JSON text) and `_pkeys` (its keys)."""
    rules = [(f"NOT coalesce(action IN ({', '.join(sql_str(a) for a in sorted(ocpp16_actions()))}), false)",
              "unknown OCPP 1.6 action"),
             ("NOT starts_with(CAST(payload AS VARCHAR), '{')", "payload is not a JSON object")]
    json_types = {"integer": "regexp_full_match({v}, '-?[0-9]+')",
                  "number": "regexp_full_match({v}, '-?[0-9][0-9.eE+-]*')",
                  "string": "starts_with({v}, '\"')", "boolean": "{v} IN ('true', 'false')"}
    for action in OCPP_CHECKED_ACTIONS:
        schema = ocpp16_schema(action)
        props: dict = schema.get("properties", {})
        when = f"action = {sql_str(action)} AND "
        for name in schema.get("required", []):
            rules.append((when + f"NOT list_contains(_pkeys, {sql_str(name)})",
                          f"{action} payload misses required {name}"))
        for name, spec in props.items():
            v = f"CAST(struct_extract(_p, {sql_str(name)}) AS VARCHAR)"
            s = _unquote(v)
            if spec.get("type") in json_types:
                rules.append((when + f"{v} IS NOT NULL AND NOT {json_types[spec['type']].format(v=v)}",
                              f"{action} payload {name} is not {spec['type']}"))
            if "enum" in spec:
                values = ", ".join(sql_str(x) for x in spec["enum"])
                rules.append((when + f"{v} IS NOT NULL AND NOT coalesce(({s}) IN ({values}), false)",
                              f"{action} payload {name} not an OCPP 1.6 value"))
            if "maxLength" in spec:
                rules.append((when + f"length({s}) > {int(spec['maxLength'])}",
                              f"{action} payload {name} longer than {spec['maxLength']}"))
            if spec.get("format") == "date-time":
                rules.append((when + f"{v} IS NOT NULL AND TRY_CAST({s} AS TIMESTAMPTZ) IS NULL",
                              f"{action} payload {name} is not a date-time"))
        if schema.get("additionalProperties") is False:
            allowed = "[" + ", ".join(sql_str(k) for k in props) + "]"
            rules.append((when + f"NOT list_has_all({allowed}, _pkeys)",
                          f"{action} payload has properties outside the schema"))
    return rules


def _contract_rules(src: Source, settings: PassSettings) -> list[tuple[str, str]]:
    checks: list[tuple[str, str]] = []
    if src.name == "ocpp":
        checks += _ocpp_frame_rules()
    for f in src.fields:
        if f.required:
            checks.append((f"_t_{f.name} IS NULL", f"missing required field {f.name}"))
    for f in src.fields:
        if f.type == "str" and src.format == "jsonl":
            checks.append((f"_ns_{f.name}", f"{f.name} is not {TYPE_WORDS[f.type]}"))
        elif f.type not in ("str", "json"):
            checks.append((f"_t_{f.name} IS NOT NULL AND {f.name} IS NULL", f"{f.name} is not {TYPE_WORDS[f.type]}"))
    for f in src.fields:
        if f.enum:
            values = ", ".join(sql_str(v) for v in f.enum)
            checks.append((f"{f.name} NOT IN ({values})", f"{f.name} not one of {', '.join(f.enum)}"))
    for f in src.fields:
        if is_id(src, f):
            checks.append((f"regexp_matches({f.name}, {sql_str(CONTROL_CHARS)})",
                           f"{f.name} contains a control character"))
    if src.name == "ocpp":
        checks += _ocpp_payload_rules()
    latest = (settings.now + timedelta(days=PLAUSIBLE_AHEAD_DAYS)).isoformat(sep=" ")
    for f in src.fields:
        if f.type == "ts":
            checks.append((f"{f.name} < TIMESTAMP '{PLAUSIBLE_FROM}' OR {f.name} > TIMESTAMP '{latest}'",
                           f"{f.name} is implausible (before {PLAUSIBLE_FROM} or more than "
                           f"{PLAUSIBLE_AHEAD_DAYS} days after loading)"))
    if src.name == "sessions":
        days = int(settings.max_session_days)
        checks.append((f"greatest(charging_started_at, charging_ended_at, unplugged_at, failed_at) "
                       f"> plugged_in_at + INTERVAL {days} DAY",
                       f"session longer than {days} days (WAREHOUSE_MAX_SESSION_DAYS)"))
    return checks


def _case(checks: list[tuple[str, str]], first: str = "_shape") -> str:
    whens = "\n".join(f"      WHEN {cond} THEN {sql_str(rule)}" for cond, rule in checks)
    return f"CASE WHEN {first} IS NOT NULL THEN {first}\n{whens}\n    END"


# ------------------------------------------------------------------------------------------------
# the pass


@dataclass(frozen=True)
class RawState:
    """What the raw layer already holds for the source (decides which joins the pass needs)."""
    has_rows: bool
    has_conflicts: bool


def key_hash_sql(src: Source, alias: str = "") -> str:
    """MD5 of a record's key (its typed values as text): how raw._conflicts remembers keys."""
    prefix = f"{alias}." if alias else ""
    return "md5(concat_ws(chr(31), " + ", ".join(
        f"coalesce(CAST({prefix}{k} AS VARCHAR), chr(0))" for k in src.key) + "))"


def output_columns(src: Source) -> list[str]:
    """The raw table's contract columns plus the derived ones (provider, the whole CDR)."""
    return src.columns + (["provider"] if src.provider_folders else []) + (["cdr"] if src.name == "cdrs" else [])


def pass_sql(src: Source, input_sql: str, settings: PassSettings, state: RawState,
             expectations: bool = True) -> str:
    """The SELECT of the pass over `input_sql` (jsonl: file_id, first_line, content; csv/ecb: the
    reader's table with file_id). `_batch_files(file_id, provider)` must be registered."""
    if src.format == "jsonl":
        texts, _ = _jsonl_texts(src, input_sql, settings)
    else:
        texts = _csv_texts(src, input_sql, settings)
    typed_cols = ", ".join(f"{_typed_expr(f, f'_t_{f.name}')} AS {f.name}" for f in src.fields)
    keys = ", ".join(src.key)

    # record content: typed values (+ provider, + the whole CDR as sent)
    hash_parts = [f"coalesce(CAST({f.name} AS VARCHAR), chr(0))" for f in src.fields]
    extra_cols = []
    if src.provider_folders:
        extra_cols.append("b.provider AS provider")
        hash_parts.append("coalesce(provider, '')")
    if src.name == "cdrs":
        extra_cols.append("CASE WHEN _shape IS NULL THEN CAST(_line_text AS JSON) END AS cdr")
        hash_parts.append("coalesce(_line_text, chr(0))")
    if src.format == "jsonl":
        known = "[" + ", ".join(sql_str(c) for c in src.landing_columns) + "]"
        extra = f"CASE WHEN _shape IS NULL AND NOT list_has_all({known}, _keys) THEN CAST(_line_text AS JSON) END"
    elif src.format == "csv":
        extra = "CAST(_csv_extra AS JSON)"
    else:
        extra = "CAST(NULL AS JSON)"
    record_hash = "md5(concat_ws(chr(31), " + ", ".join(hash_parts) + "))"

    ctes = [texts,
            f"typed AS (SELECT t.*, {typed_cols}{''.join(', ' + c for c in extra_cols)} "
            f"FROM texts t JOIN _batch_files b USING (file_id))",
            f"ruled AS (SELECT *, {_case(_contract_rules(src, settings))} AS _srule, "
            f"{extra} AS _extra, {record_hash} AS _record_hash FROM typed)"]

    # the suite, compiled: one bit per expectation in _gx
    compiled = compile_suite(src.name) if expectations else []
    row_bits, unique_bits = [], []
    for c in compiled:
        if c.kind == "unique":
            unique_bits.append(c)
        else:
            row_bits.append(c)
    for param in sorted({c.param for c in compiled if c.param}):
        ctes.append(f"_known_{param} AS ({known_set_sql(param, src.name, 'ruled')})")
    window = f"PARTITION BY {keys} ORDER BY _record_hash, _srule IS NOT NULL, file_id, _line"
    full = f"PARTITION BY {keys}"
    # the key-uniqueness expectations are GX's view of "versions of one key differ in the batch":
    # among the structurally good records, more than one content per key
    uniq = {}
    for c in unique_bits:
        part = ", ".join(c.columns)
        uniq[c.index] = (f"min(_record_hash) FILTER (WHERE _srule IS NULL) OVER (PARTITION BY {part}) <> "
                         f"max(_record_hash) FILTER (WHERE _srule IS NULL) OVER (PARTITION BY {part})")
    gx_terms = [f"CASE WHEN {c.predicate} THEN {1 << c.index} ELSE 0 END" for c in row_bits]
    gx_terms += [f"CASE WHEN {uniq[c.index]} THEN {1 << c.index} ELSE 0 END" for c in unique_bits]
    gx = f"CASE WHEN _srule IS NULL THEN ({' + '.join(gx_terms)}) END" if gx_terms else "CAST(NULL AS BIGINT)"
    first_gx = ("CASE " + " ".join(f"WHEN _gx & {1 << c.index} <> 0 THEN {sql_str(c.name)}"
                                   for c in sorted(compiled, key=lambda c: c.index)) + " END") if compiled else "NULL"
    conflict_in_batch = (f"min(_record_hash) FILTER (WHERE _srule IS NULL) OVER ({full}) <> "
                         f"max(_record_hash) FILTER (WHERE _srule IS NULL) OVER ({full})")
    ctes.append(f"""classified AS (
    SELECT *, {gx} AS _gx,
        {conflict_in_batch} AS _conflict_in_batch,
        _srule IS NULL AND lag(_record_hash) OVER ({window}) IS NOT DISTINCT FROM _record_hash AS _dup_in_batch
    FROM ruled)""")

    joins, old_hash, known_conflict = "", "NULL", "false"
    if state.has_rows:
        # the version of each key loaded earlier (one at most: conflicts leave raw)
        joins += (f"\n    LEFT JOIN (SELECT {keys}, _record_hash AS _old_hash FROM raw.{src.name} "
                  f"WHERE ({keys}) IN (SELECT ({keys}) FROM ruled WHERE _srule IS NULL)) AS e USING ({keys})")
        old_hash = "e._old_hash"
    if state.has_conflicts:
        joins += (f"\n    LEFT JOIN (SELECT DISTINCT key_hash AS _known_conflict FROM raw._conflicts "
                  f"WHERE source = {sql_str(src.name)}) AS k ON k._known_conflict = {key_hash_sql(src, 'c')}")
        known_conflict = "k._known_conflict IS NOT NULL"
    rule = f"""coalesce(c._srule, {first_gx.replace('_gx', 'c._gx')},
            CASE WHEN c._conflict_in_batch THEN 'conflict: versions of one key differ within the batch'
                 WHEN {known_conflict} THEN 'conflict: this key had conflicting versions before (see raw._conflicts)'
                 WHEN {old_hash} IS NOT NULL AND {old_hash} <> c._record_hash
                     THEN 'conflict: differs from a version of this key loaded earlier' END)"""
    out_cols = ", ".join(f"c.{col}" for col in output_columns(src))
    ctes.append(f"""final AS (
    SELECT c.file_id, c._line, {out_cols}, c._extra, c._record_hash, c._srule IS NULL AS _struct_ok, c._gx,
        c._srule IS NULL AND NOT c._dup_in_batch AS _rep,
        c._srule IS NULL AND coalesce(c._conflict_in_batch, false) AS _clash,
        {rule} AS _rule,
        c._dup_in_batch OR coalesce({old_hash} = c._record_hash, false) AS _dup0,
        c._line_text
    FROM classified c{joins})""")
    return ("WITH " + ",\n".join(ctes) + f"""
SELECT file_id, _line, {', '.join(output_columns(src))}, _extra, _record_hash, _struct_ok, _gx, _rep, _clash, _rule,
    _rule IS NULL AND _dup0 AS _dup,
    CASE WHEN _rule IS NOT NULL THEN _line_text END AS _raw
FROM final""")
