-- The load of the four big landing sources (sessions, ocpp, cdrs, ledger), written by hand as
-- one DuckDB script: the engine's limit for the loader (orchestration/load/), with the same
-- result — the same raw rows, quarantine rows (line, rule, text) and audit rows
-- (bench/compare_load.py checks it).
--
-- Run by bench/run_load_reference.py (which runs the @tail-template at the end after each source's
-- section) in a database whose registries are loaded, with variables:
--   landing (the landing directory), suites (expectations/), ocpp_schemas (the OCPP 1.6 request
--   schemas of the `ocpp` package), now (the moment of loading), max_session_days.
-- Scope: the generator's landing zone — plain UTF-8 files with lines under the line limit, every
-- file new (gzip, over-long lines and non-UTF-8 files are the loader's readers' business), and no
-- file refused for its share of bad records (the runner checks that and stops otherwise).
-- Per source: one streaming pass reads every line, parses each record once, types it and names
-- the first rule it breaks; the few records whose key repeats (or is already in raw) are then
-- classified apart; quarantine, raw and audit are one INSERT each.

-- ---------------------------------------------------------------------------------------------
-- helpers (macros are inlined)
CREATE OR REPLACE TEMP MACRO unq(v) AS
    CASE WHEN starts_with(v, '"') THEN (CASE WHEN contains(v, '\') THEN json_extract_string(v, '$') ELSE v[2:-2] END)
         ELSE v END;
CREATE OR REPLACE TEMP MACRO jtxt(v) AS nullif(trim(unq(CAST(v AS VARCHAR))), '');   -- a JSON value's text
CREATE OR REPLACE TEMP MACRO vtxt(v) AS nullif(trim(v), '');                         -- a VARCHAR field's text
CREATE OR REPLACE TEMP MACRO ns(v) AS (starts_with(CAST(v AS VARCHAR), '{') OR starts_with(CAST(v AS VARCHAR), '['));
CREATE OR REPLACE TEMP MACRO ts(t) AS
    CASE WHEN regexp_matches(t, '^[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN
        (CASE WHEN ends_with(t, 'Z') THEN TRY_CAST(t AS TIMESTAMP) ELSE TRY_CAST(t AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END)
    END;
CREATE OR REPLACE TEMP MACRO num(t) AS CASE WHEN isfinite(TRY_CAST(t AS DOUBLE)) THEN TRY_CAST(t AS DOUBLE) END;
CREATE OR REPLACE TEMP MACRO int_(t) AS CASE WHEN regexp_full_match(t, '[+-]?[0-9]+') THEN TRY_CAST(t AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO money(t) AS TRY_CAST(t AS DECIMAL(18,4));
CREATE OR REPLACE TEMP MACRO bool_(t) AS CASE lower(t) WHEN 'true' THEN true WHEN 'false' THEN false END;
CREATE OR REPLACE TEMP MACRO ctrl(v) AS regexp_matches(v, '[\x00-\x08\x0A-\x1F]');
CREATE OR REPLACE TEMP MACRO implausible(t) AS t < TIMESTAMP '2000-01-01' OR t > getvariable('now') + INTERVAL 2 DAY;
CREATE OR REPLACE TEMP MACRO h(v) AS coalesce(CAST(v AS VARCHAR), chr(0));
CREATE OR REPLACE TEMP MACRO bad_shape(line, doc) AS
    CASE WHEN doc IS NULL THEN 'not valid JSON'
         WHEN NOT starts_with(line, '{') AND NOT starts_with(ltrim(line, ' ' || chr(9)), '{') THEN 'not a JSON object' END;
CREATE OR REPLACE TEMP MACRO implausible_rule(c) AS c || ' is implausible (before 2000-01-01 or more than 2 days after loading)';

-- the value sets the suites declare, and the OCPP 1.6 action names (the package's request schemas)
CREATE OR REPLACE TEMP TABLE suite_sets AS
SELECT split_part(parse_filename(filename), '.', 1) AS source, json_extract_string(e, '$.kwargs.column') AS col,
       unnest(from_json(json_extract(e, '$.kwargs.value_set'), '["VARCHAR"]')) AS v
FROM (SELECT filename, unnest(from_json(json_extract(content, '$.expectations'), '["JSON"]')) AS e
      FROM read_text(getvariable('suites') || '/*.json'))
WHERE json_extract_string(e, '$.type') = 'expect_column_values_to_be_in_set'
  AND json_type(e, '$.kwargs.value_set') = 'ARRAY';
CREATE OR REPLACE TEMP TABLE ocpp_actions AS
SELECT regexp_extract(parse_filename(file), '^(.*)\.json$', 1) AS action
FROM glob(getvariable('ocpp_schemas') || '/*.json') WHERE NOT file LIKE '%Response.json';

CREATE OR REPLACE TEMP MACRO rule_gx(typ, cols, why) AS typ || '(' || cols || '): ' || why;

-- a source's new files (f: id, path, path in the landing zone, SHA-256, provider folder), and their
-- lines (read whole, split with their numbers; without a CR before the newline or a byte order
-- mark before line 1), each with its validating read as JSON (NULL: not JSON)
SET VARIABLE found = []::VARCHAR[];
SET VARIABLE paths = []::VARCHAR[];
-- read_text and read_blob read their files on one thread (and what follows runs on that thread):
-- two of them, on half the files each, run in parallel
CREATE OR REPLACE TEMP MACRO half(name, i) AS list_filter(getvariable(name), lambda p, j: j % 2 = i);
CREATE OR REPLACE TEMP MACRO landing_files(with_provider) AS TABLE  -- the files of variable `found`
SELECT (row_number() OVER (ORDER BY filename) - 1)::INTEGER AS file_id, filename AS path,
       substr(filename, length(getvariable('landing')) + 2) AS rel, file_hash,
       CASE WHEN with_provider THEN split_part(substr(filename, length(getvariable('landing')) + 2), '/', 2)
            ELSE '' END AS provider
FROM (SELECT filename, sha256(content) AS file_hash FROM read_blob(half('found', 0))
      UNION ALL SELECT filename, sha256(content) FROM read_blob(half('found', 1)))
WHERE file_hash NOT IN (SELECT file_hash FROM raw._loaded_files);  -- loaded once per content
CREATE OR REPLACE TEMP TABLE f AS SELECT * FROM landing_files(false) LIMIT 0;
CREATE OR REPLACE TEMP VIEW landing_lines AS
SELECT file_id, provider, _line, l AS line, TRY_CAST(l AS JSON) AS doc
FROM (SELECT file_id, provider, _line, CASE WHEN _line = 1 AND starts_with(l1, chr(65279)) THEN l1[2:] ELSE l1 END AS l
      FROM (SELECT *, CASE WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13)) ELSE line END AS l1
            FROM (SELECT f.file_id, f.provider, generate_subscripts(p, 1) AS _line, unnest(p) AS line
                  FROM (SELECT filename, string_split(content, chr(10)) AS p
                        FROM (SELECT * FROM read_text(half('paths', 0)) UNION ALL SELECT * FROM read_text(half('paths', 1)))) r
                  JOIN f ON f.path = r.filename)));


-- =============================================================================================
-- sessions
SET VARIABLE found = (SELECT coalesce(list(file ORDER BY file), []) FROM glob(getvariable('landing') || '/sessions/*.jsonl'));
CREATE OR REPLACE TEMP TABLE f AS SELECT * FROM landing_files(false);
SET VARIABLE paths = (SELECT coalesce(list(path ORDER BY file_id), []) FROM f);

CREATE OR REPLACE TEMP TABLE c AS
WITH parsed AS (
    SELECT file_id, _line, line, doc, bad_shape(line, doc) AS shape, json_keys(doc) AS keys,
        from_json(doc, '{"session_id":"JSON","charge_point_id":"JSON","connector_id":"VARCHAR","paying_team_id":"JSON",'
                       '"state":"JSON","plugged_in_at":"VARCHAR","charging_started_at":"VARCHAR","charging_ended_at":"VARCHAR",'
                       '"unplugged_at":"VARCHAR","failed_at":"VARCHAR","failure_reason":"JSON","stop_reason":"JSON",'
                       '"kwh":"VARCHAR","price_excl_vat":"VARCHAR","price_incl_vat":"VARCHAR","currency":"JSON",'
                       '"is_roaming":"VARCHAR","updated_at":"VARCHAR"}') AS j
    FROM landing_lines WHERE doc IS NOT NULL OR trim(line, ' ' || chr(9)) <> ''
), t AS (
    SELECT file_id, _line, line, doc, shape, keys,
        jtxt(j.session_id) AS t_session_id, jtxt(j.charge_point_id) AS t_charge_point_id, vtxt(j.connector_id) AS t_connector_id,
        jtxt(j.paying_team_id) AS t_paying_team_id, jtxt(j.state) AS t_state, vtxt(j.plugged_in_at) AS t_plugged_in_at,
        vtxt(j.charging_started_at) AS t_charging_started_at, vtxt(j.charging_ended_at) AS t_charging_ended_at,
        vtxt(j.unplugged_at) AS t_unplugged_at, vtxt(j.failed_at) AS t_failed_at, jtxt(j.failure_reason) AS t_failure_reason,
        jtxt(j.stop_reason) AS t_stop_reason, vtxt(j.kwh) AS t_kwh, vtxt(j.price_excl_vat) AS t_price_excl_vat,
        vtxt(j.price_incl_vat) AS t_price_incl_vat, jtxt(j.currency) AS t_currency, vtxt(j.is_roaming) AS t_is_roaming,
        vtxt(j.updated_at) AS t_updated_at,
        ns(j.session_id) AS ns_session_id, ns(j.charge_point_id) AS ns_charge_point_id, ns(j.paying_team_id) AS ns_paying_team_id,
        ns(j.state) AS ns_state, ns(j.failure_reason) AS ns_failure_reason, ns(j.stop_reason) AS ns_stop_reason,
        ns(j.currency) AS ns_currency
    FROM parsed
), typed AS (
    SELECT *, t_session_id AS session_id, t_charge_point_id AS charge_point_id, int_(t_connector_id) AS connector_id,
        t_paying_team_id AS paying_team_id, t_state AS state, ts(t_plugged_in_at) AS plugged_in_at,
        ts(t_charging_started_at) AS charging_started_at, ts(t_charging_ended_at) AS charging_ended_at,
        ts(t_unplugged_at) AS unplugged_at, ts(t_failed_at) AS failed_at, t_failure_reason AS failure_reason,
        t_stop_reason AS stop_reason, num(t_kwh) AS kwh, money(t_price_excl_vat) AS price_excl_vat,
        money(t_price_incl_vat) AS price_incl_vat, t_currency AS currency, bool_(t_is_roaming) AS is_roaming,
        ts(t_updated_at) AS updated_at
    FROM t
), ruled AS (
    SELECT *, CASE
        WHEN shape IS NOT NULL THEN shape
        WHEN t_session_id IS NULL THEN 'missing required field session_id'
        WHEN t_charge_point_id IS NULL THEN 'missing required field charge_point_id'
        WHEN t_state IS NULL THEN 'missing required field state'
        WHEN t_plugged_in_at IS NULL THEN 'missing required field plugged_in_at'
        WHEN t_updated_at IS NULL THEN 'missing required field updated_at'
        WHEN ns_session_id THEN 'session_id is not a scalar'
        WHEN ns_charge_point_id THEN 'charge_point_id is not a scalar'
        WHEN t_connector_id IS NOT NULL AND connector_id IS NULL THEN 'connector_id is not an integer'
        WHEN ns_paying_team_id THEN 'paying_team_id is not a scalar'
        WHEN ns_state THEN 'state is not a scalar'
        WHEN plugged_in_at IS NULL THEN 'plugged_in_at is not an ISO-8601 timestamp'
        WHEN t_charging_started_at IS NOT NULL AND charging_started_at IS NULL THEN 'charging_started_at is not an ISO-8601 timestamp'
        WHEN t_charging_ended_at IS NOT NULL AND charging_ended_at IS NULL THEN 'charging_ended_at is not an ISO-8601 timestamp'
        WHEN t_unplugged_at IS NOT NULL AND unplugged_at IS NULL THEN 'unplugged_at is not an ISO-8601 timestamp'
        WHEN t_failed_at IS NOT NULL AND failed_at IS NULL THEN 'failed_at is not an ISO-8601 timestamp'
        WHEN ns_failure_reason THEN 'failure_reason is not a scalar'
        WHEN ns_stop_reason THEN 'stop_reason is not a scalar'
        WHEN t_kwh IS NOT NULL AND kwh IS NULL THEN 'kwh is not a number'
        WHEN t_price_excl_vat IS NOT NULL AND price_excl_vat IS NULL THEN 'price_excl_vat is not a decimal amount'
        WHEN t_price_incl_vat IS NOT NULL AND price_incl_vat IS NULL THEN 'price_incl_vat is not a decimal amount'
        WHEN ns_currency THEN 'currency is not a scalar'
        WHEN t_is_roaming IS NOT NULL AND is_roaming IS NULL THEN 'is_roaming is not true/false'
        WHEN updated_at IS NULL THEN 'updated_at is not an ISO-8601 timestamp'
        WHEN state NOT IN ('in_progress', 'completed', 'failed') THEN 'state not one of in_progress, completed, failed'
        WHEN ctrl(session_id) THEN 'session_id contains a control character'
        WHEN ctrl(charge_point_id) THEN 'charge_point_id contains a control character'
        WHEN ctrl(paying_team_id) THEN 'paying_team_id contains a control character'
        WHEN implausible(plugged_in_at) THEN implausible_rule('plugged_in_at')
        WHEN implausible(charging_started_at) THEN implausible_rule('charging_started_at')
        WHEN implausible(charging_ended_at) THEN implausible_rule('charging_ended_at')
        WHEN implausible(unplugged_at) THEN implausible_rule('unplugged_at')
        WHEN implausible(failed_at) THEN implausible_rule('failed_at')
        WHEN implausible(updated_at) THEN implausible_rule('updated_at')
        WHEN greatest(charging_started_at, charging_ended_at, unplugged_at, failed_at)
             > plugged_in_at + to_days(getvariable('max_session_days'))
            THEN 'session longer than ' || getvariable('max_session_days') || ' days (WAREHOUSE_MAX_SESSION_DAYS)'
        END AS srule
    FROM typed
), gx AS (  -- expectations/sessions.json, in its order (the key's uniqueness: among the candidates below)
    SELECT *, CASE WHEN srule IS NULL THEN CASE
        WHEN state NOT IN ('in_progress', 'completed', 'failed') THEN rule_gx('expect_column_values_to_be_in_set', 'state', 'session states')
        WHEN charging_started_at < plugged_in_at THEN rule_gx('expect_column_pair_values_a_to_be_greater_than_b', 'charging_started_at,plugged_in_at', 'charging starts after plug-in')
        WHEN charging_ended_at < charging_started_at THEN rule_gx('expect_column_pair_values_a_to_be_greater_than_b', 'charging_ended_at,charging_started_at', 'charging ends after it starts')
        WHEN unplugged_at < plugged_in_at THEN rule_gx('expect_column_pair_values_a_to_be_greater_than_b', 'unplugged_at,plugged_in_at', 'unplug after plug-in')
        WHEN unplugged_at < charging_ended_at THEN rule_gx('expect_column_pair_values_a_to_be_greater_than_b', 'unplugged_at,charging_ended_at', 'unplug after charging ends')
        WHEN kwh < 0 OR kwh > 500 THEN rule_gx('expect_column_values_to_be_between', 'kwh', 'plausible energy of one session (kWh)')
        WHEN connector_id < 0 OR connector_id > 16 THEN rule_gx('expect_column_values_to_be_between', 'connector_id', 'OCPP connector number')
        WHEN price_incl_vat < price_excl_vat THEN rule_gx('expect_column_pair_values_a_to_be_greater_than_b', 'price_incl_vat,price_excl_vat', 'VAT is not negative')
        WHEN price_excl_vat < 0 OR price_excl_vat > 10000 THEN rule_gx('expect_column_values_to_be_between', 'price_excl_vat', 'plausible price of one session')
        WHEN currency NOT IN (SELECT v FROM suite_sets WHERE source = 'sessions' AND col = 'currency') THEN rule_gx('expect_column_values_to_be_in_set', 'currency', 'ISO 4217 currency code')
        WHEN stop_reason NOT IN (SELECT v FROM suite_sets WHERE source = 'sessions' AND col = 'stop_reason') THEN rule_gx('expect_column_values_to_be_in_set', 'stop_reason', 'OCPP 1.6 stop Reason')
        WHEN state IS DISTINCT FROM 'in_progress' AND unplugged_at IS NULL THEN rule_gx('expect_column_values_to_not_be_null', 'unplugged_at', 'a finished session has an unplug time')
        WHEN charge_point_id IS NOT NULL AND charge_point_id NOT IN (SELECT charge_point_id FROM raw.charge_points) THEN rule_gx('expect_column_values_to_be_in_set', 'charge_point_id', 'the session''s charge point is in the registry')
        END END AS gxrule
    FROM ruled
)
SELECT file_id, _line, session_id, charge_point_id, connector_id, paying_team_id, state, plugged_in_at, charging_started_at,
    charging_ended_at, unplugged_at, failed_at, failure_reason, stop_reason, kwh, price_excl_vat, price_incl_vat, currency,
    is_roaming, updated_at,
    CASE WHEN shape IS NULL AND NOT list_has_all(['session_id', 'charge_point_id', 'connector_id', 'paying_team_id', 'state',
        'plugged_in_at', 'charging_started_at', 'charging_ended_at', 'unplugged_at', 'failed_at', 'failure_reason', 'stop_reason',
        'kwh', 'price_excl_vat', 'price_incl_vat', 'currency', 'is_roaming', 'updated_at'], keys) THEN doc END AS _extra,
    md5(concat_ws(chr(31), h(session_id), h(charge_point_id), h(connector_id), h(paying_team_id), h(state), h(plugged_in_at),
        h(charging_started_at), h(charging_ended_at), h(unplugged_at), h(failed_at), h(failure_reason), h(stop_reason), h(kwh),
        h(price_excl_vat), h(price_incl_vat), h(currency), h(is_roaming), h(updated_at))) AS _record_hash,
    srule IS NULL AS ok, srule, gxrule, coalesce(srule, gxrule) AS _rule, false AS _dup,
    CASE WHEN srule IS NOT NULL OR gxrule IS NOT NULL THEN line END AS _raw
FROM gx;

-- records whose key repeats among the structurally good ones, or is loaded already: duplicates
-- (identical to an earlier one) and conflicts (the suite's uniqueness expectation, GX's view)
SET VARIABLE unique_rule = rule_gx('expect_compound_columns_to_be_unique', 'session_id,updated_at',
    'one record per key and version (identical re-sends are skipped before this check)');
-- @tail sessions: session_id, updated_at

-- =============================================================================================
-- ledger
SET VARIABLE found = (SELECT coalesce(list(file ORDER BY file), []) FROM glob(getvariable('landing') || '/ledger/*.jsonl'));
CREATE OR REPLACE TEMP TABLE f AS SELECT * FROM landing_files(false);
SET VARIABLE paths = (SELECT coalesce(list(path ORDER BY file_id), []) FROM f);

CREATE OR REPLACE TEMP TABLE c AS
WITH parsed AS (
    SELECT file_id, _line, line, doc, bad_shape(line, doc) AS shape, json_keys(doc) AS keys,
        from_json(doc, '{"entry_id":"JSON","operator_id":"JSON","team_id":"JSON","plan_id":"JSON","kind":"JSON",'
                       '"amount":"VARCHAR","currency":"JSON","booked_at":"VARCHAR","session_id":"JSON","invoice_id":"JSON"}') AS j
    FROM landing_lines WHERE doc IS NOT NULL OR trim(line, ' ' || chr(9)) <> ''
), t AS (
    SELECT file_id, _line, line, doc, shape, keys,
        jtxt(j.entry_id) AS entry_id, jtxt(j.operator_id) AS operator_id, jtxt(j.team_id) AS team_id,
        jtxt(j.plan_id) AS plan_id, jtxt(j.kind) AS kind, vtxt(j.amount) AS t_amount, jtxt(j.currency) AS currency,
        vtxt(j.booked_at) AS t_booked_at, jtxt(j.session_id) AS session_id, jtxt(j.invoice_id) AS invoice_id,
        ns(j.entry_id) AS ns_entry_id, ns(j.operator_id) AS ns_operator_id, ns(j.team_id) AS ns_team_id,
        ns(j.plan_id) AS ns_plan_id, ns(j.kind) AS ns_kind, ns(j.currency) AS ns_currency, ns(j.session_id) AS ns_session_id,
        ns(j.invoice_id) AS ns_invoice_id
    FROM parsed
), typed AS (
    SELECT *, money(t_amount) AS amount, ts(t_booked_at) AS booked_at FROM t
), ruled AS (
    SELECT *, CASE
        WHEN shape IS NOT NULL THEN shape
        WHEN entry_id IS NULL THEN 'missing required field entry_id'
        WHEN operator_id IS NULL THEN 'missing required field operator_id'
        WHEN kind IS NULL THEN 'missing required field kind'
        WHEN t_amount IS NULL THEN 'missing required field amount'
        WHEN currency IS NULL THEN 'missing required field currency'
        WHEN t_booked_at IS NULL THEN 'missing required field booked_at'
        WHEN ns_entry_id THEN 'entry_id is not a scalar'
        WHEN ns_operator_id THEN 'operator_id is not a scalar'
        WHEN ns_team_id THEN 'team_id is not a scalar'
        WHEN ns_plan_id THEN 'plan_id is not a scalar'
        WHEN ns_kind THEN 'kind is not a scalar'
        WHEN amount IS NULL THEN 'amount is not a decimal amount'
        WHEN ns_currency THEN 'currency is not a scalar'
        WHEN booked_at IS NULL THEN 'booked_at is not an ISO-8601 timestamp'
        WHEN ns_session_id THEN 'session_id is not a scalar'
        WHEN ns_invoice_id THEN 'invoice_id is not a scalar'
        WHEN kind NOT IN ('charge', 'fee', 'subscription', 'write_off', 'intercompany_transfer', 'tax_refund')
            THEN 'kind not one of charge, fee, subscription, write_off, intercompany_transfer, tax_refund'
        WHEN ctrl(entry_id) THEN 'entry_id contains a control character'
        WHEN ctrl(operator_id) THEN 'operator_id contains a control character'
        WHEN ctrl(team_id) THEN 'team_id contains a control character'
        WHEN ctrl(plan_id) THEN 'plan_id contains a control character'
        WHEN ctrl(session_id) THEN 'session_id contains a control character'
        WHEN ctrl(invoice_id) THEN 'invoice_id contains a control character'
        WHEN implausible(booked_at) THEN implausible_rule('booked_at')
        END AS srule
    FROM typed
), gx AS (  -- expectations/ledger.json
    SELECT *, CASE WHEN srule IS NULL THEN CASE
        WHEN currency NOT IN (SELECT v FROM suite_sets WHERE source = 'ledger' AND col = 'currency') THEN rule_gx('expect_column_values_to_be_in_set', 'currency', 'ISO 4217 currency code')
        WHEN amount < -1000000 OR amount > 1000000 THEN rule_gx('expect_column_values_to_be_between', 'amount', 'plausible booked amount')
        WHEN kind = 'subscription' AND plan_id IS NULL THEN rule_gx('expect_column_values_to_not_be_null', 'plan_id', 'a subscription entry names its plan')
        WHEN operator_id IS NOT NULL AND operator_id NOT IN (SELECT operator_id FROM raw.operators) THEN rule_gx('expect_column_values_to_be_in_set', 'operator_id', 'the operator is in the registry')
        END END AS gxrule
    FROM ruled
)
SELECT file_id, _line, entry_id, operator_id, team_id, plan_id, kind, amount, currency, booked_at, session_id, invoice_id,
    CASE WHEN shape IS NULL AND NOT list_has_all(['entry_id', 'operator_id', 'team_id', 'plan_id', 'kind', 'amount', 'currency',
        'booked_at', 'session_id', 'invoice_id'], keys) THEN doc END AS _extra,
    md5(concat_ws(chr(31), h(entry_id), h(operator_id), h(team_id), h(plan_id), h(kind), h(amount), h(currency), h(booked_at),
        h(session_id), h(invoice_id))) AS _record_hash,
    srule IS NULL AS ok, srule, gxrule, coalesce(srule, gxrule) AS _rule, false AS _dup,
    CASE WHEN srule IS NOT NULL OR gxrule IS NOT NULL THEN line END AS _raw
FROM gx;

SET VARIABLE unique_rule = rule_gx('expect_column_values_to_be_unique', 'entry_id',
    'one record per key and version (identical re-sends are skipped before this check)');
-- @tail ledger: entry_id

-- =============================================================================================
-- cdrs (one folder per roaming connection; the whole OCPI object kept in `cdr`)
SET VARIABLE found = (SELECT coalesce(list(file ORDER BY file), []) FROM glob(getvariable('landing') || '/cdrs/*/*.jsonl'));
CREATE OR REPLACE TEMP TABLE f AS SELECT * FROM landing_files(true);
SET VARIABLE paths = (SELECT coalesce(list(path ORDER BY file_id), []) FROM f);

CREATE OR REPLACE TEMP TABLE c AS
WITH parsed AS (
    SELECT file_id, provider, _line, line, doc, bad_shape(line, doc) AS shape,
        from_json(doc, '{"country_code":"JSON","party_id":"JSON","id":"JSON","start_date_time":"VARCHAR",'
                       '"end_date_time":"VARCHAR","session_id":"JSON","cdr_token":{"country_code":"JSON","party_id":"JSON",'
                       '"uid":"JSON","type":"JSON","contract_id":"JSON"},"cdr_location":{"id":"JSON","evse_uid":"JSON",'
                       '"connector_id":"JSON","coordinates":{"latitude":"VARCHAR","longitude":"VARCHAR"},"country":"JSON",'
                       '"connector_power_type":"JSON"},"currency":"JSON","total_cost":{"excl_vat":"VARCHAR","incl_vat":"VARCHAR"},'
                       '"total_energy":"VARCHAR","total_time":"VARCHAR","total_parking_time":"VARCHAR","credit":"VARCHAR",'
                       '"credit_reference_id":"JSON","last_updated":"VARCHAR"}') AS j
    FROM landing_lines WHERE doc IS NOT NULL OR trim(line, ' ' || chr(9)) <> ''
), t AS (
    SELECT file_id, provider, _line, line, doc, shape,
        jtxt(j.country_code) AS country_code, jtxt(j.party_id) AS party_id, jtxt(j.id) AS id,
        vtxt(j.start_date_time) AS t_start, vtxt(j.end_date_time) AS t_end, jtxt(j.session_id) AS session_id,
        jtxt(j.cdr_token.country_code) AS token_country_code, jtxt(j.cdr_token.party_id) AS token_party_id,
        jtxt(j.cdr_token.uid) AS token_uid, jtxt(j.cdr_token.type) AS token_type,
        jtxt(j.cdr_token.contract_id) AS token_contract_id, jtxt(j.cdr_location.id) AS location_id,
        jtxt(j.cdr_location.evse_uid) AS evse_uid, jtxt(j.cdr_location.connector_id) AS connector_id,
        vtxt(j.cdr_location.coordinates.latitude) AS t_lat, vtxt(j.cdr_location.coordinates.longitude) AS t_lon,
        jtxt(j.cdr_location.country) AS location_country, jtxt(j.cdr_location.connector_power_type) AS connector_power_type,
        jtxt(j.currency) AS currency, vtxt(j.total_cost.excl_vat) AS t_excl, vtxt(j.total_cost.incl_vat) AS t_incl,
        vtxt(j.total_energy) AS t_energy, vtxt(j.total_time) AS t_time, vtxt(j.total_parking_time) AS t_parking,
        vtxt(j.credit) AS t_credit, jtxt(j.credit_reference_id) AS credit_reference_id, vtxt(j.last_updated) AS t_updated,
        ns(j.country_code) AS ns1, ns(j.party_id) AS ns2, ns(j.id) AS ns3, ns(j.session_id) AS ns4,
        ns(j.cdr_token.country_code) AS ns5, ns(j.cdr_token.party_id) AS ns6, ns(j.cdr_token.uid) AS ns7,
        ns(j.cdr_token.type) AS ns8, ns(j.cdr_token.contract_id) AS ns9, ns(j.cdr_location.id) AS ns10,
        ns(j.cdr_location.evse_uid) AS ns11, ns(j.cdr_location.connector_id) AS ns12, ns(j.cdr_location.country) AS ns13,
        ns(j.cdr_location.connector_power_type) AS ns14, ns(j.currency) AS ns15, ns(j.credit_reference_id) AS ns16
    FROM parsed
), typed AS (
    SELECT *, ts(t_start) AS start_date_time, ts(t_end) AS end_date_time, num(t_lat) AS latitude, num(t_lon) AS longitude,
        money(t_excl) AS total_cost_excl_vat, money(t_incl) AS total_cost_incl_vat, num(t_energy) AS total_energy,
        num(t_time) AS total_time, num(t_parking) AS total_parking_time, bool_(t_credit) AS credit,
        ts(t_updated) AS last_updated
    FROM t
), ruled AS (
    SELECT *, CASE
        WHEN shape IS NOT NULL THEN shape
        WHEN country_code IS NULL THEN 'missing required field country_code'
        WHEN party_id IS NULL THEN 'missing required field party_id'
        WHEN id IS NULL THEN 'missing required field id'
        WHEN t_start IS NULL THEN 'missing required field start_date_time'
        WHEN t_end IS NULL THEN 'missing required field end_date_time'
        WHEN token_country_code IS NULL THEN 'missing required field token_country_code'
        WHEN token_party_id IS NULL THEN 'missing required field token_party_id'
        WHEN location_id IS NULL THEN 'missing required field location_id'
        WHEN evse_uid IS NULL THEN 'missing required field evse_uid'
        WHEN currency IS NULL THEN 'missing required field currency'
        WHEN t_excl IS NULL THEN 'missing required field total_cost_excl_vat'
        WHEN t_energy IS NULL THEN 'missing required field total_energy'
        WHEN t_updated IS NULL THEN 'missing required field last_updated'
        WHEN ns1 THEN 'country_code is not a scalar'
        WHEN ns2 THEN 'party_id is not a scalar'
        WHEN ns3 THEN 'id is not a scalar'
        WHEN start_date_time IS NULL THEN 'start_date_time is not an ISO-8601 timestamp'
        WHEN end_date_time IS NULL THEN 'end_date_time is not an ISO-8601 timestamp'
        WHEN ns4 THEN 'session_id is not a scalar'
        WHEN ns5 THEN 'token_country_code is not a scalar'
        WHEN ns6 THEN 'token_party_id is not a scalar'
        WHEN ns7 THEN 'token_uid is not a scalar'
        WHEN ns8 THEN 'token_type is not a scalar'
        WHEN ns9 THEN 'token_contract_id is not a scalar'
        WHEN ns10 THEN 'location_id is not a scalar'
        WHEN ns11 THEN 'evse_uid is not a scalar'
        WHEN ns12 THEN 'connector_id is not a scalar'
        WHEN t_lat IS NOT NULL AND latitude IS NULL THEN 'latitude is not a number'
        WHEN t_lon IS NOT NULL AND longitude IS NULL THEN 'longitude is not a number'
        WHEN ns13 THEN 'location_country is not a scalar'
        WHEN ns14 THEN 'connector_power_type is not a scalar'
        WHEN ns15 THEN 'currency is not a scalar'
        WHEN total_cost_excl_vat IS NULL THEN 'total_cost_excl_vat is not a decimal amount'
        WHEN t_incl IS NOT NULL AND total_cost_incl_vat IS NULL THEN 'total_cost_incl_vat is not a decimal amount'
        WHEN total_energy IS NULL THEN 'total_energy is not a number'
        WHEN t_time IS NOT NULL AND total_time IS NULL THEN 'total_time is not a number'
        WHEN t_parking IS NOT NULL AND total_parking_time IS NULL THEN 'total_parking_time is not a number'
        WHEN t_credit IS NOT NULL AND credit IS NULL THEN 'credit is not true/false'
        WHEN ns16 THEN 'credit_reference_id is not a scalar'
        WHEN last_updated IS NULL THEN 'last_updated is not an ISO-8601 timestamp'
        WHEN token_type NOT IN ('AD_HOC_USER', 'APP_USER', 'OTHER', 'RFID') THEN 'token_type not one of AD_HOC_USER, APP_USER, OTHER, RFID'
        WHEN connector_power_type NOT IN ('AC_1_PHASE', 'AC_2_PHASE', 'AC_2_PHASE_SPLIT', 'AC_3_PHASE', 'DC')
            THEN 'connector_power_type not one of AC_1_PHASE, AC_2_PHASE, AC_2_PHASE_SPLIT, AC_3_PHASE, DC'
        WHEN ctrl(country_code) THEN 'country_code contains a control character'
        WHEN ctrl(party_id) THEN 'party_id contains a control character'
        WHEN ctrl(id) THEN 'id contains a control character'
        WHEN ctrl(session_id) THEN 'session_id contains a control character'
        WHEN ctrl(token_party_id) THEN 'token_party_id contains a control character'
        WHEN ctrl(token_uid) THEN 'token_uid contains a control character'
        WHEN ctrl(token_contract_id) THEN 'token_contract_id contains a control character'
        WHEN ctrl(location_id) THEN 'location_id contains a control character'
        WHEN ctrl(evse_uid) THEN 'evse_uid contains a control character'
        WHEN ctrl(connector_id) THEN 'connector_id contains a control character'
        WHEN ctrl(credit_reference_id) THEN 'credit_reference_id contains a control character'
        WHEN implausible(start_date_time) THEN implausible_rule('start_date_time')
        WHEN implausible(end_date_time) THEN implausible_rule('end_date_time')
        WHEN implausible(last_updated) THEN implausible_rule('last_updated')
        END AS srule
    FROM typed
), gx AS (  -- expectations/cdrs.json (a credit's reference is also checked against this batch below)
    SELECT *, CASE WHEN srule IS NULL THEN CASE
        WHEN end_date_time < start_date_time THEN rule_gx('expect_column_pair_values_a_to_be_greater_than_b', 'end_date_time,start_date_time', 'a CDR ends after it starts')
        WHEN currency NOT IN (SELECT v FROM suite_sets WHERE source = 'cdrs' AND col = 'currency') THEN rule_gx('expect_column_values_to_be_in_set', 'currency', 'ISO 4217 currency code')
        WHEN location_country NOT IN (SELECT v FROM suite_sets WHERE source = 'cdrs' AND col = 'location_country') THEN rule_gx('expect_column_values_to_be_in_set', 'location_country', 'OCPI location country is ISO 3166-1 alpha-3')
        WHEN credit <> true AND (total_energy < 0 OR total_energy > 500) THEN rule_gx('expect_column_values_to_be_between', 'total_energy', 'energy of a CDR (kWh), not negative unless credit')
        WHEN credit AND (total_energy < -500 OR total_energy > 500) THEN rule_gx('expect_column_values_to_be_between', 'total_energy', 'a credit CDR repeats the energy it cancels, either sign')
        WHEN credit <> true AND (total_cost_excl_vat < 0 OR total_cost_excl_vat > 10000) THEN rule_gx('expect_column_values_to_be_between', 'total_cost_excl_vat', 'cost not negative unless credit')
        WHEN credit AND (total_cost_excl_vat < -10000 OR total_cost_excl_vat > 0) THEN rule_gx('expect_column_values_to_be_between', 'total_cost_excl_vat', 'a credit CDR carries a negative cost')
        WHEN credit AND credit_reference_id IS NULL THEN rule_gx('expect_column_values_to_not_be_null', 'credit_reference_id', 'a credit CDR names the CDR it cancels')
        WHEN credit <> true AND credit_reference_id IS NOT NULL THEN rule_gx('expect_column_values_to_be_null', 'credit_reference_id', 'only credit CDRs reference another CDR')
        WHEN credit_reference_id IS NOT NULL AND credit_reference_id NOT IN (SELECT id FROM raw.cdrs) THEN rule_gx('expect_column_values_to_be_in_set', 'credit_reference_id', 'a credit CDR cancels a CDR we sent')
        WHEN latitude < -90 OR latitude > 90 THEN rule_gx('expect_column_values_to_be_between', 'latitude', 'WGS84 latitude')
        WHEN longitude < -180 OR longitude > 180 THEN rule_gx('expect_column_values_to_be_between', 'longitude', 'WGS84 longitude')
        WHEN evse_uid IS NOT NULL AND evse_uid NOT IN (SELECT charge_point_id FROM raw.charge_points) THEN rule_gx('expect_column_values_to_be_in_set', 'evse_uid', 'the CDR''s EVSE is a charge point in the registry')
        WHEN location_id IS NOT NULL AND location_id NOT IN (SELECT site_id FROM raw.sites) THEN rule_gx('expect_column_values_to_be_in_set', 'location_id', 'the CDR''s location is a site in the registry')
        END END AS gxrule,
        -- the suite's rules after the reference check (the rule if the referenced CDR is in this batch)
        CASE WHEN srule IS NULL THEN CASE
        WHEN latitude < -90 OR latitude > 90 THEN rule_gx('expect_column_values_to_be_between', 'latitude', 'WGS84 latitude')
        WHEN longitude < -180 OR longitude > 180 THEN rule_gx('expect_column_values_to_be_between', 'longitude', 'WGS84 longitude')
        WHEN evse_uid IS NOT NULL AND evse_uid NOT IN (SELECT charge_point_id FROM raw.charge_points) THEN rule_gx('expect_column_values_to_be_in_set', 'evse_uid', 'the CDR''s EVSE is a charge point in the registry')
        WHEN location_id IS NOT NULL AND location_id NOT IN (SELECT site_id FROM raw.sites) THEN rule_gx('expect_column_values_to_be_in_set', 'location_id', 'the CDR''s location is a site in the registry')
        END END AS gxrule_after_ref
    FROM ruled
)
SELECT file_id, _line, country_code, party_id, id, start_date_time, end_date_time, session_id, token_country_code,
    token_party_id, token_uid, token_type, token_contract_id, location_id, evse_uid, connector_id, latitude, longitude,
    location_country, connector_power_type, currency, total_cost_excl_vat, total_cost_incl_vat, total_energy, total_time,
    total_parking_time, credit, credit_reference_id, last_updated, provider, CASE WHEN shape IS NULL THEN doc END AS cdr,
    CAST(NULL AS JSON) AS _extra,
    md5(concat_ws(chr(31), h(country_code), h(party_id), h(id), h(start_date_time), h(end_date_time), h(session_id),
        h(token_country_code), h(token_party_id), h(token_uid), h(token_type), h(token_contract_id), h(location_id),
        h(evse_uid), h(connector_id), h(latitude), h(longitude), h(location_country), h(connector_power_type), h(currency),
        h(total_cost_excl_vat), h(total_cost_incl_vat), h(total_energy), h(total_time), h(total_parking_time), h(credit),
        h(credit_reference_id), h(last_updated), coalesce(provider, ''), h(doc))) AS _record_hash,
    srule IS NULL AS ok, srule, gxrule, gxrule_after_ref, coalesce(srule, gxrule) AS _rule, false AS _dup,
    CASE WHEN srule IS NOT NULL OR gxrule IS NOT NULL THEN line END AS _raw
FROM gx;

-- a credit CDR whose referenced CDR is in this batch (structurally good) cancels a CDR we sent
UPDATE c SET gxrule = gxrule_after_ref, _rule = gxrule_after_ref
WHERE ok AND gxrule = rule_gx('expect_column_values_to_be_in_set', 'credit_reference_id', 'a credit CDR cancels a CDR we sent')
  AND credit_reference_id IN (SELECT id FROM c WHERE ok);
ALTER TABLE c DROP COLUMN gxrule_after_ref;

SET VARIABLE unique_rule = rule_gx('expect_compound_columns_to_be_unique', 'country_code,party_id,id',
    'one record per key and version (identical re-sends are skipped before this check)');
-- @tail cdrs: country_code, party_id, id

-- =============================================================================================
-- ocpp (OCPP-J CALL frames; StatusNotification and BootNotification payloads checked against
-- their OCPP 1.6 JSON schemas)
CREATE OR REPLACE TEMP MACRO is_str(v) AS starts_with(v, '"');
CREATE OR REPLACE TEMP MACRO not_str(v) AS v IS NOT NULL AND NOT starts_with(v, '"');
CREATE OR REPLACE TEMP MACRO too_long(v, n) AS length(unq(v)) > n;
SET VARIABLE found = (SELECT coalesce(list(file ORDER BY file), []) FROM glob(getvariable('landing') || '/ocpp/*.jsonl'));
CREATE OR REPLACE TEMP TABLE f AS SELECT * FROM landing_files(false);
SET VARIABLE paths = (SELECT coalesce(list(path ORDER BY file_id), []) FROM f);

CREATE OR REPLACE TEMP TABLE c AS
WITH parsed AS (
    SELECT file_id, _line, line, doc, bad_shape(line, doc) AS shape, json_keys(doc) AS keys,
        from_json(doc, '{"charge_point_id":"JSON","received_at":"VARCHAR","frame":"JSON"}') AS j
    FROM landing_lines WHERE doc IS NOT NULL OR trim(line, ' ' || chr(9)) <> ''
), framed AS (
    SELECT *, CAST(j.frame AS VARCHAR) AS frame_text, from_json(CAST(j.frame AS VARCHAR), '["JSON"]') AS fr FROM parsed
), payloads AS (
    SELECT *, jtxt(fr[3]) AS action, CAST(fr[4] AS VARCHAR) AS payload_text,
        from_json(CAST(fr[4] AS VARCHAR), '{"connectorId":"JSON","errorCode":"JSON","info":"JSON","status":"JSON",'
            '"timestamp":"JSON","vendorId":"JSON","vendorErrorCode":"JSON","chargePointVendor":"JSON","chargePointModel":"JSON",'
            '"chargePointSerialNumber":"JSON","chargeBoxSerialNumber":"JSON","firmwareVersion":"JSON","iccid":"JSON",'
            '"imsi":"JSON","meterType":"JSON","meterSerialNumber":"JSON"}') AS p
    FROM framed
), t AS (
    SELECT *, CASE WHEN action IN ('StatusNotification', 'BootNotification') THEN json_keys(payload_text) END AS pkeys,
        jtxt(j.charge_point_id) AS charge_point_id, vtxt(j.received_at) AS t_received_at,
        nullif(trim(unq(CAST(fr[1] AS VARCHAR))), '') AS t_type, jtxt(fr[2]) AS message_id,
        jtxt(p.connectorId) AS t_connector, jtxt(p.errorCode) AS error_code, jtxt(p.status) AS status,
        jtxt(p.vendorErrorCode) AS vendor_error_code, jtxt(p.timestamp) AS t_ts, jtxt(p.chargePointVendor) AS charge_point_vendor,
        jtxt(p.chargePointModel) AS charge_point_model, jtxt(p.firmwareVersion) AS firmware_version,
        CAST(p.connectorId AS VARCHAR) AS p_connector, CAST(p.errorCode AS VARCHAR) AS p_error, CAST(p.info AS VARCHAR) AS p_info,
        CAST(p.status AS VARCHAR) AS p_status, CAST(p.timestamp AS VARCHAR) AS p_ts, CAST(p.vendorId AS VARCHAR) AS p_vendor_id,
        CAST(p.vendorErrorCode AS VARCHAR) AS p_vendor_error, CAST(p.chargePointVendor AS VARCHAR) AS p_cpv,
        CAST(p.chargePointModel AS VARCHAR) AS p_cpm, CAST(p.chargePointSerialNumber AS VARCHAR) AS p_cpsn,
        CAST(p.chargeBoxSerialNumber AS VARCHAR) AS p_cbsn, CAST(p.firmwareVersion AS VARCHAR) AS p_fw,
        CAST(p.iccid AS VARCHAR) AS p_iccid, CAST(p.imsi AS VARCHAR) AS p_imsi, CAST(p.meterType AS VARCHAR) AS p_mt,
        CAST(p.meterSerialNumber AS VARCHAR) AS p_msn
    FROM payloads
), typed AS (
    SELECT *, ts(t_received_at) AS received_at, CAST(frame_text AS JSON) AS frame, int_(t_type) AS message_type_id,
        CAST(payload_text AS JSON) AS payload, int_(t_connector) AS connector_id, ts(t_ts) AS payload_timestamp
    FROM t
), ruled AS (
    SELECT *, CASE
        WHEN shape IS NOT NULL THEN shape
        WHEN fr IS NULL OR len(fr) <> 4 THEN 'frame is not an OCPP-J message [MessageTypeId, UniqueId, Action, Payload]'
        WHEN CAST(fr[1] AS VARCHAR) <> '2' THEN 'frame is not an OCPP-J CALL (MessageTypeId must be 2)'
        WHEN charge_point_id IS NULL THEN 'missing required field charge_point_id'
        WHEN t_received_at IS NULL THEN 'missing required field received_at'
        WHEN frame_text IS NULL THEN 'missing required field frame'
        WHEN t_type IS NULL THEN 'missing required field message_type_id'
        WHEN message_id IS NULL THEN 'missing required field message_id'
        WHEN action IS NULL THEN 'missing required field action'
        WHEN payload_text IS NULL THEN 'missing required field payload'
        WHEN ns(j.charge_point_id) THEN 'charge_point_id is not a scalar'
        WHEN received_at IS NULL THEN 'received_at is not an ISO-8601 timestamp'
        WHEN message_type_id IS NULL THEN 'message_type_id is not an integer'
        WHEN ns(fr[2]) THEN 'message_id is not a scalar'
        WHEN ns(fr[3]) THEN 'action is not a scalar'
        WHEN t_connector IS NOT NULL AND connector_id IS NULL THEN 'connector_id is not an integer'
        WHEN ns(p.errorCode) THEN 'error_code is not a scalar'
        WHEN ns(p.status) THEN 'status is not a scalar'
        WHEN ns(p.vendorErrorCode) THEN 'vendor_error_code is not a scalar'
        WHEN t_ts IS NOT NULL AND payload_timestamp IS NULL THEN 'payload_timestamp is not an ISO-8601 timestamp'
        WHEN ns(p.chargePointVendor) THEN 'charge_point_vendor is not a scalar'
        WHEN ns(p.chargePointModel) THEN 'charge_point_model is not a scalar'
        WHEN ns(p.firmwareVersion) THEN 'firmware_version is not a scalar'
        WHEN ctrl(charge_point_id) THEN 'charge_point_id contains a control character'
        WHEN ctrl(message_id) THEN 'message_id contains a control character'
        WHEN NOT coalesce(action IN (SELECT action FROM ocpp_actions), false) THEN 'unknown OCPP 1.6 action'
        WHEN NOT starts_with(payload_text, '{') THEN 'payload is not a JSON object'
        -- StatusNotification.json
        WHEN action = 'StatusNotification' AND NOT list_contains(pkeys, 'connectorId') THEN 'StatusNotification payload misses required connectorId'
        WHEN action = 'StatusNotification' AND NOT list_contains(pkeys, 'errorCode') THEN 'StatusNotification payload misses required errorCode'
        WHEN action = 'StatusNotification' AND NOT list_contains(pkeys, 'status') THEN 'StatusNotification payload misses required status'
        WHEN action = 'StatusNotification' AND p_connector IS NOT NULL AND NOT regexp_full_match(p_connector, '-?[0-9]+') THEN 'StatusNotification payload connectorId is not integer'
        WHEN action = 'StatusNotification' AND not_str(p_error) THEN 'StatusNotification payload errorCode is not string'
        WHEN action = 'StatusNotification' AND p_error IS NOT NULL AND NOT coalesce(unq(p_error) IN ('ConnectorLockFailure',
            'EVCommunicationError', 'GroundFailure', 'HighTemperature', 'InternalError', 'LocalListConflict', 'NoError', 'OtherError',
            'OverCurrentFailure', 'PowerMeterFailure', 'PowerSwitchFailure', 'ReaderFailure', 'ResetFailure', 'UnderVoltage',
            'OverVoltage', 'WeakSignal'), false) THEN 'StatusNotification payload errorCode not an OCPP 1.6 value'
        WHEN action = 'StatusNotification' AND not_str(p_info) THEN 'StatusNotification payload info is not string'
        WHEN action = 'StatusNotification' AND too_long(p_info, 50) THEN 'StatusNotification payload info longer than 50'
        WHEN action = 'StatusNotification' AND not_str(p_status) THEN 'StatusNotification payload status is not string'
        WHEN action = 'StatusNotification' AND p_status IS NOT NULL AND NOT coalesce(unq(p_status) IN ('Available', 'Preparing',
            'Charging', 'SuspendedEVSE', 'SuspendedEV', 'Finishing', 'Reserved', 'Unavailable', 'Faulted'), false)
            THEN 'StatusNotification payload status not an OCPP 1.6 value'
        WHEN action = 'StatusNotification' AND not_str(p_ts) THEN 'StatusNotification payload timestamp is not string'
        WHEN action = 'StatusNotification' AND p_ts IS NOT NULL AND TRY_CAST(unq(p_ts) AS TIMESTAMPTZ) IS NULL THEN 'StatusNotification payload timestamp is not a date-time'
        WHEN action = 'StatusNotification' AND not_str(p_vendor_id) THEN 'StatusNotification payload vendorId is not string'
        WHEN action = 'StatusNotification' AND too_long(p_vendor_id, 255) THEN 'StatusNotification payload vendorId longer than 255'
        WHEN action = 'StatusNotification' AND not_str(p_vendor_error) THEN 'StatusNotification payload vendorErrorCode is not string'
        WHEN action = 'StatusNotification' AND too_long(p_vendor_error, 50) THEN 'StatusNotification payload vendorErrorCode longer than 50'
        WHEN action = 'StatusNotification' AND NOT list_has_all(['connectorId', 'errorCode', 'info', 'status', 'timestamp',
            'vendorId', 'vendorErrorCode'], pkeys) THEN 'StatusNotification payload has properties outside the schema'
        -- BootNotification.json
        WHEN action = 'BootNotification' AND NOT list_contains(pkeys, 'chargePointVendor') THEN 'BootNotification payload misses required chargePointVendor'
        WHEN action = 'BootNotification' AND NOT list_contains(pkeys, 'chargePointModel') THEN 'BootNotification payload misses required chargePointModel'
        WHEN action = 'BootNotification' AND not_str(p_cpv) THEN 'BootNotification payload chargePointVendor is not string'
        WHEN action = 'BootNotification' AND too_long(p_cpv, 20) THEN 'BootNotification payload chargePointVendor longer than 20'
        WHEN action = 'BootNotification' AND not_str(p_cpm) THEN 'BootNotification payload chargePointModel is not string'
        WHEN action = 'BootNotification' AND too_long(p_cpm, 20) THEN 'BootNotification payload chargePointModel longer than 20'
        WHEN action = 'BootNotification' AND not_str(p_cpsn) THEN 'BootNotification payload chargePointSerialNumber is not string'
        WHEN action = 'BootNotification' AND too_long(p_cpsn, 25) THEN 'BootNotification payload chargePointSerialNumber longer than 25'
        WHEN action = 'BootNotification' AND not_str(p_cbsn) THEN 'BootNotification payload chargeBoxSerialNumber is not string'
        WHEN action = 'BootNotification' AND too_long(p_cbsn, 25) THEN 'BootNotification payload chargeBoxSerialNumber longer than 25'
        WHEN action = 'BootNotification' AND not_str(p_fw) THEN 'BootNotification payload firmwareVersion is not string'
        WHEN action = 'BootNotification' AND too_long(p_fw, 50) THEN 'BootNotification payload firmwareVersion longer than 50'
        WHEN action = 'BootNotification' AND not_str(p_iccid) THEN 'BootNotification payload iccid is not string'
        WHEN action = 'BootNotification' AND too_long(p_iccid, 20) THEN 'BootNotification payload iccid longer than 20'
        WHEN action = 'BootNotification' AND not_str(p_imsi) THEN 'BootNotification payload imsi is not string'
        WHEN action = 'BootNotification' AND too_long(p_imsi, 20) THEN 'BootNotification payload imsi longer than 20'
        WHEN action = 'BootNotification' AND not_str(p_mt) THEN 'BootNotification payload meterType is not string'
        WHEN action = 'BootNotification' AND too_long(p_mt, 25) THEN 'BootNotification payload meterType longer than 25'
        WHEN action = 'BootNotification' AND not_str(p_msn) THEN 'BootNotification payload meterSerialNumber is not string'
        WHEN action = 'BootNotification' AND too_long(p_msn, 25) THEN 'BootNotification payload meterSerialNumber longer than 25'
        WHEN action = 'BootNotification' AND NOT list_has_all(['chargePointVendor', 'chargePointModel', 'chargePointSerialNumber',
            'chargeBoxSerialNumber', 'firmwareVersion', 'iccid', 'imsi', 'meterType', 'meterSerialNumber'], pkeys)
            THEN 'BootNotification payload has properties outside the schema'
        WHEN implausible(received_at) THEN implausible_rule('received_at')
        WHEN implausible(payload_timestamp) THEN implausible_rule('payload_timestamp')
        END AS srule
    FROM typed
), gx AS (  -- expectations/ocpp.json
    SELECT *, CASE WHEN srule IS NULL AND charge_point_id IS NOT NULL AND charge_point_id NOT IN (SELECT charge_point_id FROM raw.charge_points)
        THEN rule_gx('expect_column_values_to_be_in_set', 'charge_point_id', 'the sender is a charge point in the registry')
        END AS gxrule
    FROM ruled
)
SELECT file_id, _line, charge_point_id, received_at, frame, message_type_id, message_id, action, payload, connector_id,
    error_code, status, vendor_error_code, payload_timestamp, charge_point_vendor, charge_point_model, firmware_version,
    CASE WHEN shape IS NULL AND NOT list_has_all(['charge_point_id', 'received_at', 'frame'], keys) THEN doc END AS _extra,
    md5(concat_ws(chr(31), h(charge_point_id), h(received_at), h(frame), h(message_type_id), h(message_id), h(action),
        h(payload), h(connector_id), h(error_code), h(status), h(vendor_error_code), h(payload_timestamp),
        h(charge_point_vendor), h(charge_point_model), h(firmware_version))) AS _record_hash,
    srule IS NULL AS ok, srule, gxrule, coalesce(srule, gxrule) AS _rule, false AS _dup,
    CASE WHEN srule IS NOT NULL OR gxrule IS NOT NULL THEN line END AS _raw
FROM gx;

SET VARIABLE unique_rule = rule_gx('expect_compound_columns_to_be_unique', 'charge_point_id,received_at,message_id',
    'one record per key and version (identical re-sends are skipped before this check)');
-- @tail ocpp: charge_point_id, received_at, message_id

-- =============================================================================================
-- @tail-template: after each source's pass (tables f and c; {source} is the raw table, {key} its
-- key columns): the records whose key repeats among the structurally good ones or is loaded
-- already — duplicates (identical to an earlier one) and conflicts (the suite's uniqueness
-- expectation, GX's view) — then quarantine, displaced earlier versions, audit and raw.
CREATE OR REPLACE TEMP TABLE k AS
WITH cand AS (
    SELECT rowid AS rid FROM c SEMI JOIN (SELECT {key} FROM c WHERE ok GROUP BY ALL HAVING count(*) > 1)
        USING ({key}) WHERE ok
    UNION SELECT c.rowid FROM c SEMI JOIN raw.{source} USING ({key}) WHERE ok
), m AS (
    SELECT c.rowid AS rid, c.gxrule, e._record_hash AS old, c._record_hash,
        min(c._record_hash) OVER w <> max(c._record_hash) OVER w AS clash,
        row_number() OVER (PARTITION BY {ckey}, c._record_hash ORDER BY c.file_id, c._line) > 1 AS again
    FROM c SEMI JOIN cand ON c.rowid = cand.rid
    LEFT JOIN raw.{source} e USING ({key})
    WINDOW w AS (PARTITION BY {ckey})
)
SELECT rid, coalesce(CASE WHEN clash THEN getvariable('unique_rule') END,
                     gxrule, CASE WHEN old <> _record_hash THEN 'conflict: differs from a version of this key loaded earlier' END) AS rule,
       again OR coalesce(old = _record_hash, false) AS dup
FROM m;
UPDATE c SET _rule = k.rule, _dup = k.rule IS NULL AND k.dup FROM k WHERE c.rowid = k.rid;
-- the text of a record quarantined here: its line, read again
UPDATE c SET _raw = l.line
FROM (SELECT f.file_id, generate_subscripts(p, 1) AS _line, unnest(p) AS line
      FROM (SELECT filename, string_split(content, chr(10)) AS p FROM read_text(getvariable('paths'))) r
      JOIN f ON f.path = r.filename
      WHERE f.file_id IN (SELECT file_id FROM c WHERE _rule IS NOT NULL AND _raw IS NULL)) l
WHERE c.file_id = l.file_id AND c._line = l._line AND c._rule IS NOT NULL AND c._raw IS NULL;

SET VARIABLE source = '{source}';
-- a record that differs from the version of its key loaded earlier: that version leaves raw too
CREATE OR REPLACE TEMP TABLE displaced AS
SELECT {key}, first(f.rel) AS later FROM c JOIN f USING (file_id)
WHERE c._rule = 'conflict: differs from a version of this key loaded earlier' GROUP BY ALL;
INSERT INTO raw._quarantine
SELECT getvariable('source'), r._file, r._file_hash, r._line,
    'conflict: a later file (' || d.later || ') has a different version of this key', CAST(to_json(r) AS VARCHAR),
    getvariable('now')
FROM raw.{source} r JOIN displaced d USING ({key});
DELETE FROM raw.{source} WHERE ({key}) IN (SELECT ({key}) FROM displaced);
INSERT INTO raw._quarantine SELECT getvariable('source'), f.rel, f.file_hash, c._line, c._rule, c._raw, getvariable('now')
FROM c JOIN f USING (file_id) WHERE c._rule IS NOT NULL;
INSERT INTO raw._load_audit BY NAME  -- per file: read = loaded + quarantined + duplicates
SELECT getvariable('source') AS source, f.rel AS file, f.file_hash, 'loaded' AS status, coalesce(n, 0) AS rows_read,
    coalesce(n - q - d, 0) AS rows_loaded, coalesce(q, 0) AS rows_quarantined, coalesce(d, 0) AS rows_duplicate,
    0 AS rows_refused, NULL AS message, NULL AS run_id, getvariable('now') AS loaded_at
FROM f LEFT JOIN (SELECT file_id, count(*) AS n, count(_rule) AS q, count(*) FILTER (WHERE _dup) AS d FROM c GROUP BY ALL)
    USING (file_id);
INSERT INTO raw.{source} BY NAME
SELECT c.* EXCLUDE (file_id, ok, srule, gxrule, _rule, _dup, _raw), f.rel AS _file, f.file_hash AS _file_hash,
    getvariable('now') AS _loaded_at
FROM c JOIN f USING (file_id) WHERE c._rule IS NULL AND NOT c._dup;
