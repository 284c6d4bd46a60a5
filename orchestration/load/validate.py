"""The load's SQL: compile a source's contract and its Great Expectations suite into one
streaming pass that reads a batch's lines, parses each record once, types it and names the
rule it breaks; and the set-based classification of the few records whose key repeats.

For JSON lines, DuckDB splits the files into lines (keeping line numbers); `TRY_CAST(line AS
JSON)` is the validating read (NULL: not JSON), and `from_json` parses the record once into a
struct of the contract's fields (nested OCPI objects included), with `json_keys` for the
unknown-key check. An OCPP frame is parsed once into its four elements and its payload once into
the OCPP 1.6 properties, which the schema rules check. CSV and ECB records arrive as text columns
from readers.py.

`pass_sql` gives per record: the typed contract columns, `_struct_ok` (no contract rule broken;
in this order: encoding and line length → record shape (JSON object / field count / OCPP-J
frame) → required fields → types → enums → control characters in ids → OCPP 1.6 payload schema →
implausible timestamps → session length), `_gx` (a bit per row expectation of the suite the
record fails, compiled to SQL by orchestration/check/expectations.py), `_rule` (the contract's
rule, else the first expectation's) and, only for records with a rule, `_raw` (the line as
written). It needs no sort and no join with the raw table, so it streams and can run in parts.
`candidates_sql` / `classify_sql` then settle the records whose key repeats in the batch, is
already loaded, or had conflicting versions before: duplicates, conflicts, the suite's key
uniqueness (`_dup`, `_rep`, `_clash`, and their `_rule`).

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


TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "money": "a decimal amount",
    "bool": "true/false",
    "ts": "an ISO-8601 timestamp",
    "date": "a date",
    "str": "a scalar",
    "json": "JSON",
}


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
    return (
        f"CASE WHEN starts_with({v}, '\"') THEN (CASE WHEN contains({v}, '\\') "
        f"THEN json_extract_string({v}, '$') ELSE {v}[2:-2] END) ELSE {v} END"
    )


def _not_scalar(v: str) -> str:
    return f"(starts_with({v}, '{{') OR starts_with({v}, '['))"


def _jsonl_texts(src: Source, input_sql: str, settings: PassSettings) -> str:
    """CTEs from the batch's chunks to `texts`: per field its text `_t_<f>`, plus `_shape` (the
    line-level rule), `_ns_<f>` (a text field given an object or array), `_keys` and `_doc`
    (the record as JSON, for the whole-record columns)."""
    ws = "' ' || chr(9)"
    ctes = [
        f"chunks AS ({input_sql})",
        "split AS (SELECT file_id, first_line, string_split(content, chr(10)) AS parts FROM chunks)",
        "lines0 AS (SELECT file_id, first_line - 1 + generate_subscripts(parts, 1) AS _line, unnest(parts) AS line "
        "FROM split)",
        # the line without its CR (CRLF files), and without a UTF-8 byte order mark before line 1
        "lines1 AS (SELECT file_id, _line, CASE WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13)) "
        "ELSE line END AS line FROM lines0)",
        "lines2 AS (SELECT file_id, _line, CASE WHEN _line = 1 AND starts_with(line, chr(65279)) THEN line[2:] "
        "ELSE line END AS line FROM lines1)",
        # the record's validating read (TRY_CAST: NULL when the line is not JSON)
        "lines AS (SELECT *, TRY_CAST(line AS JSON) AS _doc FROM lines2)",
        f"records AS (SELECT * FROM lines WHERE _doc IS NOT NULL OR trim(line, {ws}) <> '')",  # blank: no record
    ]
    keys = "json_keys(_doc)" if src.name != "cdrs" else "CAST(NULL AS VARCHAR[])"  # cdrs keep the whole object
    ctes.append(
        f"parsed AS (SELECT *, from_json(_doc, {sql_str(_struct_type(src))}) AS _j, {keys} AS _keys FROM records)"
    )
    long_rule = (
        f"'line longer than the limit of {settings.max_line_bytes:,} bytes (WAREHOUSE_MAX_LINE_BYTES): ' "
        f"|| split_part(line, chr(1), 4) || ' bytes'"
    )
    shape = (
        f"CASE WHEN _doc IS NOT NULL THEN (CASE WHEN NOT starts_with(line, '{{') "
        f"AND NOT starts_with(ltrim(line, {ws}), '{{') THEN 'not a JSON object' END) "
        f"WHEN starts_with(line, {sql_str(ODD_UTF8)}) THEN 'not valid UTF-8' "
        f"WHEN starts_with(line, {sql_str(ODD_LONG)}) THEN {long_rule} "
        f"ELSE 'not valid JSON' END"
    )
    cols = ["file_id", "_line", "line", f"{shape} AS _shape", "_doc", "_keys"]
    if src.name == "ocpp":
        frame = "CAST(struct_extract(_j, 'frame') AS VARCHAR)"
        ctes.append(f"framed AS (SELECT *, from_json({frame}, '[\"JSON\"]') AS _fr FROM parsed)")
        payload_struct = json.dumps(
            {k: "JSON" for k in _ocpp_payload_props()}
            | {f.json_path.split(".")[-1]: "JSON" for f in src.fields if f.json_path.startswith("$.frame[3].")},
            separators=(",", ":"),
        )
        checked = ", ".join(sql_str(a) for a in OCPP_CHECKED_ACTIONS)
        action = _unquote("CAST(_fr[3] AS VARCHAR)")
        ctes.append(
            f"payloads AS (SELECT *, from_json(CAST(_fr[4] AS VARCHAR), {sql_str(payload_struct)}) AS _p, "
            f"CASE WHEN ({action}) IN ({checked}) THEN json_keys(CAST(_fr[4] AS VARCHAR)) END AS _pkeys "
            f"FROM framed)"
        )
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
                v = f"CAST(_fr[{int(path[len('$.frame[') : -1]) + 1}] AS VARCHAR)"
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
    return ",\n".join(ctes)


def _jsonl_raw_text() -> str:
    """The quarantined line's text: as written (a marker line: the escaped text / first bytes)."""
    return (
        f"CASE WHEN starts_with(line, {sql_str(ODD_UTF8)}) THEN line[{len(ODD_UTF8) + 1}:] "
        f"WHEN starts_with(line, {sql_str(ODD_LONG)}) THEN split_part(line, chr(1), 5) ELSE line END"
    )


def _csv_texts(src: Source, input_sql: str, settings: PassSettings) -> str:
    long_rule = (
        f"'line longer than the limit of {settings.max_line_bytes:,} bytes (WAREHOUSE_MAX_LINE_BYTES): ' "
        f"|| split_part(_raw, chr(1), 4) || ' bytes'"
    )
    shape = (
        f"CASE WHEN starts_with(_raw, {sql_str(ODD_LONG)}) THEN {long_rule} "
        "WHEN NOT _ncols_ok THEN 'wrong number of fields (a delimiter or quoting problem)' END"
    )
    line_text = f"CASE WHEN starts_with(_raw, {sql_str(ODD_LONG)}) THEN split_part(_raw, chr(1), 5) ELSE _raw END"
    cols = ["file_id", "_line", f"{shape} AS _shape", f"{line_text} AS line", "_extra AS _csv_extra"]
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
            return (
                f"CASE WHEN regexp_matches({t}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN "
                f"(CASE WHEN ends_with({t}, 'Z') THEN TRY_CAST({t} AS TIMESTAMP) "
                f"ELSE TRY_CAST({t} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END) END"
            )
        case "date":
            return f"TRY_CAST({t} AS DATE)"
    raise ValueError(f.type)


def _ocpp_frame_rules() -> list[tuple[str, str]]:
    """(condition TRUE when broken, rule) for the OCPP-J frame, before the fields are checked."""
    return [
        ("_fr IS NULL OR len(_fr) <> 4", "frame is not an OCPP-J message [MessageTypeId, UniqueId, Action, Payload]"),
        ("CAST(_fr[1] AS VARCHAR) <> '2'", "frame is not an OCPP-J CALL (MessageTypeId must be 2)"),
    ]


def _ocpp_payload_rules() -> list[tuple[str, str]]:
    """OCPP 1.6 JSON schemas of the actions used downstream, from the payload's one parse:
    `_p` (its properties as JSON text) and `_pkeys` (its keys)."""
    rules = [
        (
            f"NOT coalesce(action IN ({', '.join(sql_str(a) for a in sorted(ocpp16_actions()))}), false)",
            "unknown OCPP 1.6 action",
        ),
        ("NOT starts_with(CAST(payload AS VARCHAR), '{')", "payload is not a JSON object"),
    ]
    json_types = {
        "integer": "regexp_full_match({v}, '-?[0-9]+')",
        "number": "regexp_full_match({v}, '-?[0-9][0-9.eE+-]*')",
        "string": "starts_with({v}, '\"')",
        "boolean": "{v} IN ('true', 'false')",
    }
    for action in OCPP_CHECKED_ACTIONS:
        schema = ocpp16_schema(action)
        props: dict = schema.get("properties", {})
        when = f"action = {sql_str(action)} AND "
        for name in schema.get("required", []):
            rules.append(
                (when + f"NOT list_contains(_pkeys, {sql_str(name)})", f"{action} payload misses required {name}")
            )
        for name, spec in props.items():
            v = f"CAST(struct_extract(_p, {sql_str(name)}) AS VARCHAR)"
            s = _unquote(v)
            if spec.get("type") in json_types:
                rules.append(
                    (
                        when + f"{v} IS NOT NULL AND NOT {json_types[spec['type']].format(v=v)}",
                        f"{action} payload {name} is not {spec['type']}",
                    )
                )
            if "enum" in spec:
                values = ", ".join(sql_str(x) for x in spec["enum"])
                rules.append(
                    (
                        when + f"{v} IS NOT NULL AND NOT coalesce(({s}) IN ({values}), false)",
                        f"{action} payload {name} not an OCPP 1.6 value",
                    )
                )
            if "maxLength" in spec:
                rules.append(
                    (
                        when + f"length({s}) > {int(spec['maxLength'])}",
                        f"{action} payload {name} longer than {spec['maxLength']}",
                    )
                )
            if spec.get("format") == "date-time":
                rules.append(
                    (
                        when + f"{v} IS NOT NULL AND TRY_CAST({s} AS TIMESTAMPTZ) IS NULL",
                        f"{action} payload {name} is not a date-time",
                    )
                )
        if schema.get("additionalProperties") is False:
            allowed = "[" + ", ".join(sql_str(k) for k in props) + "]"
            rules.append(
                (when + f"NOT list_has_all({allowed}, _pkeys)", f"{action} payload has properties outside the schema")
            )
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
            checks.append(
                (f"regexp_matches({f.name}, {sql_str(CONTROL_CHARS)})", f"{f.name} contains a control character")
            )
    if src.name == "ocpp":
        checks += _ocpp_payload_rules()
    latest = (settings.now + timedelta(days=PLAUSIBLE_AHEAD_DAYS)).isoformat(sep=" ")
    for f in src.fields:
        if f.type == "ts" and f.scheduled:  # a moment that may still be to come (contract.Field)
            checks.append(
                (f"{f.name} < TIMESTAMP '{PLAUSIBLE_FROM}'", f"{f.name} is implausible (before {PLAUSIBLE_FROM})")
            )
        elif f.type == "ts":
            checks.append(
                (
                    f"{f.name} < TIMESTAMP '{PLAUSIBLE_FROM}' OR {f.name} > TIMESTAMP '{latest}'",
                    f"{f.name} is implausible (before {PLAUSIBLE_FROM} or more than "
                    f"{PLAUSIBLE_AHEAD_DAYS} days after loading)",
                )
            )
    if src.name == "sessions":
        days = int(settings.max_session_days)
        checks.append(
            (
                f"greatest(charging_started_at, charging_ended_at, unplugged_at, failed_at) "
                f"> plugged_in_at + INTERVAL {days} DAY",
                f"session longer than {days} days (WAREHOUSE_MAX_SESSION_DAYS)",
            )
        )
    return checks


def _case(checks: list[tuple[str, str]], first: str = "_shape") -> str:
    whens = "\n".join(f"      WHEN {cond} THEN {sql_str(rule)}" for cond, rule in checks)
    return f"CASE WHEN {first} IS NOT NULL THEN {first}\n{whens}\n    END"


# ------------------------------------------------------------------------------------------------
# the pass


@dataclass(frozen=True)
class RawState:
    """What the raw layer already holds for the source (decides which joins classification needs)."""

    has_rows: bool
    has_conflicts: bool


def key_hash_sql(src: Source, alias: str = "") -> str:
    """MD5 of a record's key (its typed values as text): how raw._conflicts remembers keys."""
    prefix = f"{alias}." if alias else ""
    return (
        "md5(concat_ws(chr(31), " + ", ".join(f"coalesce(CAST({prefix}{k} AS VARCHAR), chr(0))" for k in src.key) + "))"
    )


def output_columns(src: Source) -> list[str]:
    """The raw table's contract columns plus the derived ones (provider, the whole CDR)."""
    return src.columns + (["provider"] if src.provider_folders else []) + (["cdr"] if src.name == "cdrs" else [])


def _first_rule(compiled, mask: str) -> str:
    if not compiled:
        return "NULL"
    return (
        "CASE "
        + " ".join(
            f"WHEN {mask} & {1 << c.index} <> 0 THEN {sql_str(c.name)}" for c in sorted(compiled, key=lambda c: c.index)
        )
        + " END"
    )


def pass_sql(src: Source, input_sql: str, settings: PassSettings, expectations: bool = True) -> str:
    """The streaming pass (no sort, no join with raw) over `input_sql` (jsonl: file_id,
    first_line, content; csv/ecb: the reader's table with file_id); `_batch_files(file_id,
    provider)` must be registered. Gives per record: the typed columns, `_extra`,
    `_record_hash`, `_struct_ok`, `_gx` (bits of the row expectations it fails), `_rule` (the
    contract rule or first row expectation it breaks), `_raw` (its text, when `_rule` is set;
    every record's for CSV), and `_dup`, `_rep`, `_clash` set for a record alone in the batch
    (classify_sql corrects the few records whose key repeats or was loaded before)."""
    texts = _jsonl_texts(src, input_sql, settings) if src.format == "jsonl" else _csv_texts(src, input_sql, settings)
    typed_cols = ", ".join(f"{_typed_expr(f, f'_t_{f.name}')} AS {f.name}" for f in src.fields)

    # record content: typed values (+ provider, + the whole CDR as sent)
    hash_parts = [f"coalesce(CAST({f.name} AS VARCHAR), chr(0))" for f in src.fields]
    extra_cols = []
    join = ""
    if src.provider_folders:
        extra_cols.append("b.provider AS provider")
        hash_parts.append("coalesce(provider, '')")
        join = " JOIN _batch_files b USING (file_id)"
    if src.name == "cdrs":
        extra_cols.append("CASE WHEN _shape IS NULL THEN _doc END AS cdr")
        hash_parts.append("coalesce(CAST(_doc AS VARCHAR), chr(0))")
    if src.format == "jsonl" and src.name != "cdrs":
        known = "[" + ", ".join(sql_str(c) for c in src.landing_columns) + "]"
        extra = f"CASE WHEN _shape IS NULL AND NOT list_has_all({known}, _keys) THEN _doc END"
    elif src.format == "csv":
        extra = "CAST(_csv_extra AS JSON)"
    else:  # the ECB file has no extra columns; a CDR's whole object is in `cdr`
        extra = "CAST(NULL AS JSON)"
    record_hash = "md5(concat_ws(chr(31), " + ", ".join(hash_parts) + "))"

    ctes = [
        texts,
        f"typed AS (SELECT t.*, {typed_cols}{''.join(', ' + c for c in extra_cols)} FROM texts t{join})",
        f"ruled AS (SELECT *, {_case(_contract_rules(src, settings))} AS _srule FROM typed)",
    ]
    compiled = [c for c in compile_suite(src.name) if c.kind == "row"] if expectations else []
    for param in sorted({c.param for c in compiled if c.param}):
        ctes.append(f"_known_{param} AS ({known_set_sql(param, src.name, None)})")
    gx_terms = [f"CASE WHEN {c.predicate} THEN {1 << c.index} ELSE 0 END" for c in compiled]
    gx = f"CASE WHEN _srule IS NULL THEN {' + '.join(gx_terms)} ELSE 0 END" if gx_terms else "CAST(0 AS BIGINT)"
    ctes.append(f"checked AS (SELECT *, {gx} AS _gx FROM ruled)")
    raw_text = _jsonl_raw_text() if src.format == "jsonl" else "line"
    rule = f"coalesce(_srule, {_first_rule(compiled, '_gx')})"
    keep_text = "true" if src.format != "jsonl" else "_rule IS NOT NULL"
    return (
        "WITH "
        + ",\n".join(ctes)
        + f"""
SELECT file_id, _line, {", ".join(output_columns(src))}, _extra, _record_hash, _struct_ok, _gx, _rule,
    false AS _dup, _struct_ok AS _rep, false AS _clash, CASE WHEN {keep_text} THEN {raw_text} END AS _raw
FROM (SELECT *, {extra} AS _extra, {record_hash} AS _record_hash, _srule IS NULL AS _struct_ok, {rule} AS _rule
      FROM checked)"""
    )


def candidates_sql(src: Source, state: RawState) -> str:
    """The records (rowid of _checked) whose classification depends on other records: a key seen
    more than once among the batch's structurally good records, already in raw, or known to
    have had conflicting versions. Usually a tiny share of the batch."""
    keys = ", ".join(src.key)
    parts = [
        f"SELECT c.rowid AS rid FROM _checked c SEMI JOIN (SELECT {keys} FROM _checked WHERE _struct_ok "
        f"GROUP BY {keys} HAVING count(*) > 1) AS m USING ({keys}) WHERE c._struct_ok"
    ]
    if state.has_rows:
        parts.append(f"SELECT c.rowid FROM _checked c SEMI JOIN raw.{src.name} r USING ({keys}) WHERE c._struct_ok")
    if state.has_conflicts:
        parts.append(
            f"SELECT rowid FROM _checked WHERE _struct_ok AND {key_hash_sql(src)} IN "
            f"(SELECT key_hash FROM raw._conflicts WHERE source = {sql_str(src.name)})"
        )
    return " UNION ".join(parts)


def classify_sql(src: Source, state: RawState, expectations: bool = True) -> str:
    """For the candidate records (temp table _cand(rid)): their final _gx (with the key-uniqueness
    expectations, GX's view of versions that differ), _rule, _dup, _rep and _clash — as rows
    (rid, gx, rule, dup, rep, clash) to update _checked with."""
    keys = ", ".join(src.key)
    compiled = compile_suite(src.name) if expectations else []
    ubits = sum(1 << c.index for c in compiled if c.kind == "unique")
    old = "NULL"
    joins = ""
    if state.has_rows:
        joins += f" LEFT JOIN (SELECT {keys}, _record_hash AS _old_hash FROM raw.{src.name}) AS e USING ({keys})"
        old = "e._old_hash"
    known = "false"
    if state.has_conflicts:
        joins += (
            f" LEFT JOIN (SELECT DISTINCT key_hash AS _kc FROM raw._conflicts WHERE source = {sql_str(src.name)}) "
            f"AS k ON k._kc = {key_hash_sql(src, 'c')}"
        )
        known = "k._kc IS NOT NULL"
    # (uniqueness per expectation is over its own columns; the suites' are the key)
    clash = (
        f"min(c._record_hash) OVER (PARTITION BY {', '.join('c.' + k for k in src.key)}) <> "
        f"max(c._record_hash) OVER (PARTITION BY {', '.join('c.' + k for k in src.key)})"
    )
    return f"""
WITH m AS (
    SELECT c.rowid AS rid, c._gx, c._record_hash, {old} AS _old, {known} AS _known_conflict,
        {clash} AS _clash_,
        row_number() OVER (PARTITION BY {", ".join("c." + k for k in src.key)}, c._record_hash
                           ORDER BY c.file_id, c._line) > 1 AS _dup_in_batch
    FROM _checked c SEMI JOIN _cand ON c.rowid = _cand.rid{joins}
),
g AS (SELECT *, _gx | CASE WHEN _clash_ THEN {ubits} ELSE 0 END AS gx FROM m),
r AS (
    SELECT *, coalesce({_first_rule(compiled, "gx")},
        CASE WHEN _clash_ THEN 'conflict: versions of one key differ within the batch'
             WHEN _known_conflict THEN 'conflict: this key had conflicting versions before (see raw._conflicts)'
             WHEN _old IS NOT NULL AND _old <> _record_hash
                 THEN 'conflict: differs from a version of this key loaded earlier' END) AS rule
    FROM g
)
SELECT rid, gx, rule, rule IS NULL AND (_dup_in_batch OR coalesce(_old = _record_hash, false)) AS dup,
    NOT _dup_in_batch AS rep, _clash_ AS clash
FROM r"""


def self_reference_sql(src: Source, expectations: bool = True) -> list[str]:
    """A registry whose suite checks its own ids (a credit CDR's credit_reference_id against the
    CDRs): the pass checked against the ids already loaded; a record it flagged whose id is among
    the batch's structurally good records is cleared here (UPDATEs of _checked)."""
    from orchestration.check.expectations import KNOWN_IDS

    compiled = [c for c in compile_suite(src.name) if c.kind == "row"] if expectations else []
    out = []
    for c in compiled:
        if c.param and KNOWN_IDS.get(c.param, ("",))[0] == src.name:
            col = KNOWN_IDS[c.param][1]
            bit = 1 << c.index
            gx = f"(_gx & ~CAST({bit} AS BIGINT))"
            out.append(f"""UPDATE _checked SET _gx = {gx}, _rule = {_first_rule(compile_suite(src.name), gx)}
WHERE _struct_ok AND _gx & {bit} <> 0
  AND {c.columns[0]} IN (SELECT {col} FROM _checked WHERE _struct_ok AND {col} IS NOT NULL)""")
    return out
