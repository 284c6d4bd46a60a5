"""Compile a source's contract into one vectorised SQL query that types every field and names
the first structural rule a record breaks (`_rule`, NULL = good).

Rule order: encoding → record shape (JSON object / field count / OCPP-J frame) → required
fields → types → enums → OCPP 1.6 action and payload schema."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.contract import Field, Source, ocpp16_actions, ocpp16_schema


@dataclass(frozen=True)
class Rule:
    """A structural row rule checked in SQL: `sql` is a boolean expression over the typed columns
    that must not be FALSE (NULL passes). Only OCPP-J frames and OCPP 1.6 payload schemas need
    them; semantic rules (ranges, ordering, ISO sets, references) are the Great Expectations
    suites in expectations/<source>.json (orchestration/check/expectations.py)."""

    name: str
    sql: str


def sql_str(value: str) -> str:
    """A SQL string literal (contract constants only — never file content)."""
    return "'" + value.replace("'", "''") + "'"


def _json_paths(src: Source) -> str:
    return "[" + ", ".join(sql_str(f.json_path) for f in src.fields) + "]"


def _json_object_paths(src: Source) -> str:
    return "[" + ", ".join(sql_str(f.json_path) for f in src.fields if f.type == "json") + "]"


def _text_expr(src: Source, f: Field) -> str:
    """The field's text. JSON lines: taken from lists extracted with one parse of the record
    (`_jvals` = every field as text, `_jtypes` = every field's JSON type, `_jobjs` = the
    JSON-typed fields as JSON) — parsing each record once per field made big files slow."""
    if src.format == "jsonl":
        i = src.fields.index(f) + 1
        if f.type == "json":
            k = [g for g in src.fields if g.type == "json"].index(f) + 1
            return f"CASE WHEN _jtypes[{i}] NOT IN ('NULL') THEN _jobjs[{k}] END"
        return f"nullif(trim(_jvals[{i}]), '')"
    return f"_c_{f.name}"  # CSV / ECB readers already give trimmed text, empty = NULL


def _typed_expr(f: Field, t: str) -> str:
    match f.type:
        case "str" | "json":
            return t
        case "int":
            return f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN TRY_CAST({t} AS BIGINT) END"
        case "float":
            return f"CASE WHEN isfinite(TRY_CAST({t} AS DOUBLE)) THEN TRY_CAST({t} AS DOUBLE) END"
        case "money":
            return f"TRY_CAST({t} AS DECIMAL(18,4))"
        case "bool":
            return f"CASE lower({t}) WHEN 'true' THEN true WHEN 'false' THEN false END"
        case "ts":
            return (f"CASE WHEN regexp_matches({t}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
                    f"THEN TRY_CAST({t} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END")
        case "date":
            return f"TRY_CAST({t} AS DATE)"
    raise ValueError(f.type)


TYPE_WORDS = {"int": "an integer", "float": "a number", "money": "a decimal amount",
              "bool": "true/false", "ts": "an ISO-8601 timestamp", "date": "a date",
              "str": "a scalar", "json": "JSON"}


def _ocpp_pre_rules() -> list[Rule]:
    return [
        Rule("frame is not an OCPP-J message [MessageTypeId, UniqueId, Action, Payload]",
             "json_type(_t_frame) = 'ARRAY' AND json_array_length(_t_frame) = 4"),
        Rule("frame is not an OCPP-J CALL (MessageTypeId must be 2)",
             "json_extract_string(_t_frame, '$[0]') = '2'"),
    ]


def ocpp_payload_rules() -> list[Rule]:
    """Rules compiled from the OCPP 1.6 JSON schemas of the actions used downstream."""
    rules = [Rule("unknown OCPP 1.6 action",
                  "action IN (" + ", ".join(sql_str(a) for a in sorted(ocpp16_actions())) + ")"),
             Rule("payload is not a JSON object", "json_type(payload) = 'OBJECT'")]
    for action in ("StatusNotification", "BootNotification"):
        schema = ocpp16_schema(action)
        props: dict = schema.get("properties", {})
        when = f"action <> {sql_str(action)} OR "
        for name in schema.get("required", []):
            rules.append(Rule(f"{action} payload misses required {name}",
                              when + f"json_exists(payload, {sql_str('$.' + name)})"))
        for name, spec in props.items():
            p = sql_str("$." + name)
            typ = {"integer": "('BIGINT','UBIGINT')", "number": "('BIGINT','UBIGINT','DOUBLE')",
                   "string": "('VARCHAR')", "boolean": "('BOOLEAN')"}.get(spec.get("type", ""))
            if typ:
                rules.append(Rule(f"{action} payload {name} is not {spec['type']}",
                                  when + f"NOT json_exists(payload, {p}) OR json_type(payload, {p}) IN {typ}"))
            if "enum" in spec:
                values = ", ".join(sql_str(v) for v in spec["enum"])
                rules.append(Rule(f"{action} payload {name} not an OCPP 1.6 value",
                                  when + f"NOT json_exists(payload, {p}) OR json_extract_string(payload, {p}) IN ({values})"))
            if "maxLength" in spec:
                rules.append(Rule(f"{action} payload {name} longer than {spec['maxLength']}",
                                  when + f"NOT json_exists(payload, {p}) OR length(json_extract_string(payload, {p})) <= {spec['maxLength']}"))
            if spec.get("format") == "date-time":
                rules.append(Rule(f"{action} payload {name} is not a date-time",
                                  when + f"NOT json_exists(payload, {p}) OR TRY_CAST(json_extract_string(payload, {p}) AS TIMESTAMPTZ) IS NOT NULL"))
        if schema.get("additionalProperties") is False:
            allowed = "[" + ", ".join(sql_str(k) for k in props) + "]"
            rules.append(Rule(f"{action} payload has properties outside the schema",
                              when + f"len(list_filter(json_keys(payload), lambda k: NOT list_contains({allowed}, k))) = 0"))
    return rules


def validation_sql(src: Source, input_relation: str) -> str:
    """SELECT over `input_relation` (readers' output with _file, _file_hash and _provider) returning
    typed contract columns plus _file, _file_hash, _line, _raw, _extra, _record_hash, _rule."""
    text_cols = []
    typed_cols = []
    checks: list[tuple[str, str | None]] = []  # (condition TRUE when broken, rule text)

    if src.format == "jsonl":
        # Parse each record once: validity, the object, then every field in one extraction.
        valid = (f"SELECT *, _utf8_ok AND json_valid(_raw) AS _json_ok FROM {input_relation}")
        obj = ("SELECT *, CASE WHEN _json_ok AND json_type(_raw) = 'OBJECT' THEN json(_raw) END AS _j "
               f"FROM ({valid})")
        has_json = any(f.type == "json" for f in src.fields)
        base = (f"SELECT *, json_extract_string(_j, {_json_paths(src)}) AS _jvals, "
                f"json_type(_j, {_json_paths(src)}) AS _jtypes"
                + (f", json_extract(_j, {_json_object_paths(src)}) AS _jobjs" if has_json else "")
                + f" FROM ({obj})")
        checks.append(("NOT _utf8_ok", "not valid UTF-8"))
        checks.append(("NOT _json_ok", "not valid JSON"))
        checks.append(("_j IS NULL", "not a JSON object"))
    else:
        base = f"SELECT * FROM {input_relation}"
        checks.append(("NOT _utf8_ok", "not valid UTF-8"))
        checks.append(("NOT _ncols_ok", "wrong number of fields (a delimiter or quoting problem)"))
        if src.format == "ecb_csv":
            checks.append(("NOT _cell_ok", None))  # a date whose every rate is N/A: no rate, not bad

    for f in src.fields:
        t = f"_t_{f.name}"
        text_cols.append(f"{_text_expr(src, f)} AS {t}")
        typed_cols.append(f"{_typed_expr(f, t)} AS {f.name}")

    pre_rules = _ocpp_pre_rules() if src.name == "ocpp" else []
    for r in pre_rules:
        checks.append((f"NOT coalesce({r.sql}, false)", r.name))
    for f in src.fields:
        if f.required:
            checks.append((f"_t_{f.name} IS NULL", f"missing required field {f.name}"))
    for f in src.fields:
        if f.type in ("str",) and src.format == "jsonl":
            checks.append((f"_jtypes[{src.fields.index(f) + 1}] IN ('OBJECT', 'ARRAY')",
                           f"{f.name} is not {TYPE_WORDS[f.type]}"))
        elif f.type not in ("str", "json"):
            checks.append((f"_t_{f.name} IS NOT NULL AND {f.name} IS NULL",
                           f"{f.name} is not {TYPE_WORDS[f.type]}"))
    for f in src.fields:
        if f.enum:
            values = ", ".join(sql_str(v) for v in f.enum)
            checks.append((f"{f.name} NOT IN ({values})",
                           f"{f.name} not one of {', '.join(f.enum)}"))
    rules = ocpp_payload_rules() if src.name == "ocpp" else []
    for r in rules:
        checks.append((f"NOT coalesce({r.sql}, true)", r.name))

    rule_case = "CASE\n" + "\n".join(
        f"      WHEN {cond} THEN {sql_str(rule) if rule else 'NULL'}" for cond, rule in checks) + "\n    END"

    extra_select = []
    hash_parts = [f"coalesce(CAST({f.name} AS VARCHAR), chr(0))" for f in src.fields]
    if src.provider_folders:
        extra_select.append("_provider AS provider")
        hash_parts.append("_provider")
    if src.name == "cdrs":
        extra_select.append("_j AS cdr")
        hash_parts.append("coalesce(CAST(_j AS VARCHAR), chr(0))")
    if src.format == "jsonl":
        known = "[" + ", ".join(sql_str(c) for c in src.landing_columns) + "]"
        extra_expr = (f"CASE WHEN _j IS NOT NULL AND len(list_filter(json_keys(_j), "
                      f"lambda k: NOT list_contains({known}, k))) > 0 THEN _j END")
    elif src.format == "csv":
        extra_expr = "CAST(_extra AS JSON)"
    else:
        extra_expr = "CAST(NULL AS JSON)"

    if src.format == "ecb_csv":
        # A record is a line (a date): its hash covers all of that line's rates.
        record_hash = ("md5(string_agg(coalesce(currency, '') || '=' || coalesce(CAST(rate AS VARCHAR), ''), ',' "
                       "ORDER BY currency) OVER (PARTITION BY _file_hash, _line))")
        keep = ", _cell_ok"
    else:
        record_hash = "md5(concat_ws(chr(31), " + ", ".join(hash_parts) + "))"
        keep = ""

    cols = ", ".join(src.columns)
    return f"""
WITH base AS ({base}),
texts AS (SELECT *, {', '.join(text_cols)} FROM base),
typed AS (SELECT *, {', '.join(typed_cols)} FROM texts)
SELECT _file, _file_hash, _line, _raw, {cols}{''.join(', ' + e for e in extra_select)}, {extra_expr} AS _extra{keep},
    {record_hash} AS _record_hash,
    {rule_case} AS _rule
FROM typed
"""
