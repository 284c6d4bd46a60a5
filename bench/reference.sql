-- Reference implementation of the published marts (DESIGN.md section 6), hand-written for
-- DuckDB as ONE script, straight from the raw tables (raw.*) of the build database, exactly per
-- the metric definitions of DESIGN.md section 5 (and the choices of docs/DECISIONS.md and the
-- mart YAML where DESIGN is silent). It is the benchmark's "engine limit": no dbt, no views, no
-- tests, no portability constraints; every trick DuckDB allows.
--
-- Run it in a database that holds the raw schema, after setting the run's logical date:
--     SET VARIABLE as_of = DATE '2025-06-30';
--     .read bench/reference.sql          (or: python -m bench.run_reference --db FILE --as-of DATE)
-- It writes schema `marts` with the 14 tables DESIGN.md section 6 lists (its listed columns, plus
-- a few the dashboards filter on). Temporary tables hold the shared pieces.
--
-- Speed notes:
-- * Only finished sessions are ever used (in_progress counts in no metric), so they are filtered
--   right after picking each session's current version, and only the columns needed are kept.
-- * Local dates: instead of a time-zone conversion (ICU) per timestamp, the UTC offset of each
--   time zone is looked up per UTC hour (a small table built with ICU) and added. An hour with a
--   DST change inside it (never the case for zones whose changes fall on whole UTC hours) has no
--   offset in the table and falls back to ICU for its rows, so the result is exact.
-- * The occupied union uses one window pass (the latest earlier end per charge point) that cuts
--   each interval down to its part not covered before; no island numbering and regrouping.
-- * Sessions and segments inside one local day (almost all) are used directly; only those crossing
--   local midnight are expanded to days and clipped with the local day bounds.
-- * Active charge points per site and day come from +1/-1 events per site (commissioning,
--   end of service) and a running sum, not from one row per charge point and day.

SET VARIABLE as_of_month = CAST(date_trunc('month', getvariable('as_of')) AS DATE);
CREATE SCHEMA IF NOT EXISTS marts;

-- ---------------------------------------------------------------------------------------------
-- Registries: the current version of each key (latest updated_at).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE c_sites AS
SELECT * FROM raw.sites
QUALIFY row_number() OVER (PARTITION BY site_id ORDER BY updated_at DESC) = 1;

CREATE OR REPLACE TEMP TABLE c_operators AS
WITH cur AS (
    SELECT * FROM raw.operators
    QUALIFY row_number() OVER (PARTITION BY operator_id ORDER BY updated_at DESC) = 1
)
SELECT c.operator_id, c.name AS operator_name, nullif(c.parent_operator_id, '') AS parent_operator_id,
       p.name AS parent_operator_name
FROM cur c LEFT JOIN cur p ON p.operator_id = nullif(c.parent_operator_id, '');

CREATE OR REPLACE TEMP TABLE c_teams AS
SELECT team_id, operator_id, name FROM raw.teams
QUALIFY row_number() OVER (PARTITION BY team_id ORDER BY updated_at DESC) = 1;

CREATE OR REPLACE TEMP TABLE c_cp AS
WITH cur AS (
    SELECT charge_point_id, site_id, team_id, operator_id, commissioned_at, decommissioned_at
    FROM raw.charge_points
    QUALIFY row_number() OVER (PARTITION BY charge_point_id ORDER BY updated_at DESC) = 1
), tz AS (
    SELECT cur.*, coalesce(s.time_zone, 'UTC') AS tz FROM cur LEFT JOIN c_sites s USING (site_id)
)
SELECT charge_point_id, site_id, team_id, operator_id, tz,
       CAST(timezone(tz, timezone('UTC', commissioned_at)) AS DATE) AS comm_date,
       CAST(timezone(tz, timezone('UTC', decommissioned_at)) AS DATE) AS decom_date
FROM tz;

-- Registry versions of each charge point with their validity start (the first version is
-- valid from the beginning of time): the hardware at a session's plug-in.
CREATE OR REPLACE TEMP TABLE c_cpv AS
SELECT charge_point_id, brand, model, firmware_version,
       CASE WHEN row_number() OVER (PARTITION BY charge_point_id ORDER BY updated_at) = 1
            THEN TIMESTAMP '1900-01-01' ELSE updated_at END AS valid_from,
       coalesce(lead(updated_at) OVER (PARTITION BY charge_point_id ORDER BY updated_at),
                TIMESTAMP '9999-12-31') AS valid_to
FROM raw.charge_points;

-- ---------------------------------------------------------------------------------------------
-- UTC offset of every time zone in use, per UTC hour (see the speed notes).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE tz_hours AS
WITH zones AS (
    SELECT DISTINCT tz FROM c_cp UNION SELECT 'UTC'
), bounds AS (
    SELECT min(lo) AS lo, max(hi) AS hi FROM (
        SELECT min(plugged_in_at) AS lo, max(greatest(plugged_in_at, unplugged_at)) AS hi FROM raw.sessions
        UNION ALL
        SELECT min(coalesce(payload_timestamp, received_at)), max(coalesce(payload_timestamp, received_at))
        FROM raw.ocpp
    )
), hours AS (
    SELECT tz, unnest(range(epoch_us(lo) // 3600000000, epoch_us(hi) // 3600000000 + 1)) AS hr
    FROM zones, bounds
), offsets AS (
    SELECT tz, hr,
           epoch_us(timezone(tz, timezone('UTC', make_timestamp(hr * 3600000000)))) - hr * 3600000000 AS off0,
           epoch_us(timezone(tz, timezone('UTC', make_timestamp(hr * 3600000000 + 3599999999))))
               - (hr * 3600000000 + 3599999999) AS off1
    FROM hours
)
SELECT tz, hr, off0 AS off_us FROM offsets WHERE off0 = off1;

-- ---------------------------------------------------------------------------------------------
-- Finished sessions (current version), on their charge point's current site, with local dates
-- and the hardware valid at plug-in.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE c_sess AS
WITH latest AS (
    -- (session_id, updated_at) is unique in raw (the loader skips duplicates and quarantines
    -- conflicts), so the row with the latest updated_at is the current version; a hash
    -- aggregate and a hash join are cheaper than sorting every session's versions
    SELECT session_id, max(updated_at) AS updated_at FROM raw.sessions GROUP BY session_id
), cur AS (
    SELECT s.charge_point_id, s.state, s.plugged_in_at, s.unplugged_at, s.kwh, s.is_roaming
    FROM raw.sessions s JOIN latest USING (session_id, updated_at)
), fin AS (
    SELECT cur.charge_point_id AS cp, cp.site_id, cp.team_id, coalesce(cp.tz, 'UTC') AS tz,
           state = 'failed' AS is_failed, coalesce(is_roaming, false) AS is_roaming,
           plugged_in_at AS s, unplugged_at AS e, coalesce(kwh, 0) AS kwh
    FROM cur LEFT JOIN c_cp cp USING (charge_point_id)
    WHERE state IN ('completed', 'failed')
), localized AS (
    SELECT fin.*,
           CAST(CASE WHEN hs.off_us IS NOT NULL THEN make_timestamp(epoch_us(s) + hs.off_us)
                     ELSE timezone(fin.tz, timezone('UTC', s)) END AS DATE) AS d_s,
           CAST(CASE WHEN he.off_us IS NOT NULL THEN make_timestamp(epoch_us(e) + he.off_us)
                     ELSE timezone(fin.tz, timezone('UTC', e)) END AS DATE) AS d_e
    FROM fin
    LEFT JOIN tz_hours hs ON hs.tz = fin.tz AND hs.hr = epoch_us(fin.s) // 3600000000
    LEFT JOIN tz_hours he ON he.tz = fin.tz AND he.hr = epoch_us(fin.e) // 3600000000
)
SELECT * FROM localized;

-- ---------------------------------------------------------------------------------------------
-- Local calendars: each time zone's calendar ends at the later of as_of_date and its last local
-- day with finished-session activity; day bounds (UTC) and real length of every local day.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE cal AS
WITH ends AS (
    SELECT tz, max(coalesce(d_e, d_s)) AS last_date, min(d_s) AS first_date FROM c_sess GROUP BY tz
), zones AS (
    SELECT tz, min(comm_date) AS first_date FROM c_cp GROUP BY tz
    UNION ALL SELECT tz, first_date FROM ends
    UNION ALL SELECT 'UTC', getvariable('as_of')
)
SELECT z.tz, least(min(z.first_date), getvariable('as_of')) AS first_date,
       greatest(getvariable('as_of'), max(e.last_date)) AS last_date
FROM zones z LEFT JOIN ends e USING (tz)
GROUP BY z.tz;

CREATE OR REPLACE TEMP TABLE local_days AS
WITH d AS (
    SELECT tz, CAST(unnest(generate_series(first_date, last_date, INTERVAL 1 DAY)) AS DATE) AS date FROM cal
), b AS (
    SELECT tz, date,
           epoch_us(timezone('UTC', timezone(tz, CAST(date AS TIMESTAMP)))) AS start_us,
           epoch_us(timezone('UTC', timezone(tz, CAST(date + 1 AS TIMESTAMP)))) AS end_us
    FROM d
)
SELECT tz, date, start_us, end_us, (end_us - start_us) / 3600000000.0 AS day_hours FROM b;

-- ---------------------------------------------------------------------------------------------
-- kWh per charge point and local day: spread evenly over [plugged_in_at, unplugged_at);
-- an empty interval puts all its kWh on the plug-in day.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE cp_day_kwh AS
WITH one_day AS (
    SELECT cp, site_id, d_s AS date, kwh
    FROM c_sess WHERE e IS NOT NULL AND d_e = d_s
), multi AS (
    SELECT cp, site_id, tz, epoch_us(s) AS s_us, epoch_us(e) AS e_us, kwh,
           CAST(unnest(generate_series(d_s, d_e, INTERVAL 1 DAY)) AS DATE) AS date
    FROM c_sess WHERE e IS NOT NULL AND d_e > d_s
), multi_split AS (
    SELECT m.cp, m.site_id, m.date,
           greatest(least(m.e_us, l.end_us) - greatest(m.s_us, l.start_us), 0) AS ov,
           m.e_us - m.s_us AS len, m.kwh
    FROM multi m JOIN local_days l ON l.tz = m.tz AND l.date = m.date
)
SELECT cp, any_value(site_id) AS site_id, date, sum(kwh) AS kwh FROM (
    SELECT cp, site_id, date, kwh FROM one_day
    UNION ALL
    SELECT cp, site_id, date, CASE WHEN len > 0 THEN kwh * ov / len ELSE kwh END
    FROM multi_split WHERE ov > 0 OR len = 0
)
GROUP BY cp, date;

-- ---------------------------------------------------------------------------------------------
-- Occupied time per charge point and local day: the union of its sessions' occupied intervals
-- (disjoint segments: each interval minus what earlier ones cover), split by local day, counted only on the charge point's
-- active days (registry charge points).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE cp_day_occupied AS
WITH iv AS (
    SELECT cp, epoch_us(s) AS s_us, epoch_us(e) AS e_us
    FROM c_sess WHERE e > s AND site_id IS NOT NULL
), prev AS (
    -- the latest end among the charge point's earlier intervals (sorted by start)
    SELECT cp, s_us, e_us,
           max(e_us) OVER (PARTITION BY cp ORDER BY s_us, e_us
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM iv
), segments AS (
    -- the part of each interval not covered by an earlier one: these segments are disjoint and
    -- their union is the union of the intervals (one window pass instead of numbering islands)
    SELECT cp, greatest(s_us, coalesce(prev_end, s_us)) AS s_us, e_us
    FROM prev WHERE e_us > coalesce(prev_end, s_us)
), localized AS (
    SELECT g.cp, c.site_id, c.tz, c.comm_date, c.decom_date, g.s_us, g.e_us,
           CAST(CASE WHEN hs.off_us IS NOT NULL THEN make_timestamp(g.s_us + hs.off_us)
                     ELSE timezone(c.tz, timezone('UTC', make_timestamp(g.s_us))) END AS DATE) AS d_s,
           CAST(CASE WHEN he.off_us IS NOT NULL THEN make_timestamp(g.e_us + he.off_us)
                     ELSE timezone(c.tz, timezone('UTC', make_timestamp(g.e_us))) END AS DATE) AS d_e
    FROM segments g
    JOIN c_cp c ON c.charge_point_id = g.cp
    LEFT JOIN tz_hours hs ON hs.tz = c.tz AND hs.hr = g.s_us // 3600000000
    LEFT JOIN tz_hours he ON he.tz = c.tz AND he.hr = g.e_us // 3600000000
), days AS (
    SELECT cp, site_id, comm_date, decom_date, d_s AS date, e_us - s_us AS ov
    FROM localized WHERE d_e = d_s
    UNION ALL
    SELECT x.cp, x.site_id, x.comm_date, x.decom_date, x.date,
           greatest(least(x.e_us, l.end_us) - greatest(x.s_us, l.start_us), 0) AS ov
    FROM (SELECT *, CAST(unnest(generate_series(d_s, d_e, INTERVAL 1 DAY)) AS DATE) AS date
          FROM localized WHERE d_e > d_s) x
    JOIN local_days l ON l.tz = x.tz AND l.date = x.date
)
SELECT site_id, date, sum(ov) / 3600000000.0 AS occupied_hours
FROM days
WHERE ov > 0 AND comm_date <= date AND (decom_date IS NULL OR decom_date > date)
GROUP BY site_id, date;

-- ---------------------------------------------------------------------------------------------
-- Active charge points and available hours per site and local day (registry charge points,
-- active from the local commissioning date to the day before the local decommissioning date,
-- up to the time zone's calendar end).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE site_day_active AS
WITH ranges AS (
    SELECT c.site_id, c.tz, c.comm_date AS first_date,
           CASE WHEN c.decom_date IS NOT NULL AND c.decom_date - 1 < cal.last_date
                THEN c.decom_date - 1 ELSE cal.last_date END AS last_date
    FROM c_cp c JOIN cal USING (tz)
), valid AS (
    SELECT * FROM ranges WHERE last_date >= first_date
), events AS (
    SELECT site_id, date, sum(delta) AS delta FROM (
        SELECT site_id, first_date AS date, 1 AS delta FROM valid
        UNION ALL
        SELECT site_id, last_date + 1, -1 FROM valid
    ) GROUP BY site_id, date
), site_ranges AS (
    SELECT site_id, any_value(tz) AS tz, min(first_date) AS first_date, max(last_date) AS last_date
    FROM valid GROUP BY site_id
), site_days AS (
    SELECT site_id, tz, CAST(unnest(generate_series(first_date, last_date, INTERVAL 1 DAY)) AS DATE) AS date
    FROM site_ranges
), counted AS (
    SELECT sd.site_id, sd.tz, sd.date,
           sum(coalesce(ev.delta, 0)) OVER (PARTITION BY sd.site_id ORDER BY sd.date ROWS UNBOUNDED PRECEDING) AS active
    FROM site_days sd LEFT JOIN events ev ON ev.site_id = sd.site_id AND ev.date = sd.date
)
SELECT c.site_id, c.date, c.active, c.active * l.day_hours AS available_hours
FROM counted c JOIN local_days l ON l.tz = c.tz AND l.date = c.date
WHERE c.active > 0;

CREATE OR REPLACE TEMP TABLE site_day_kwh AS
SELECT site_id, date, sum(kwh) AS kwh FROM cp_day_kwh WHERE site_id IS NOT NULL GROUP BY site_id, date;

-- ---------------------------------------------------------------------------------------------
-- Site utilization (daily, monthly with benchmark tiers).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE marts.site_utilization_daily AS
SELECT a.site_id, a.date, CAST(date_trunc('month', a.date) AS DATE) AS month,
       s.operator_id, s.team_id,
       CAST(a.active AS BIGINT) AS active_charge_points,
       CAST(a.available_hours AS DOUBLE) AS available_hours,
       CAST(coalesce(k.kwh, 0) AS DOUBLE) AS kwh,
       CAST(coalesce(o.occupied_hours, 0) AS DOUBLE) AS occupied_hours,
       CAST(coalesce(k.kwh, 0) / a.active AS DOUBLE) AS kwh_per_cp_day,
       CAST(100.0 * coalesce(o.occupied_hours, 0) / a.available_hours AS DOUBLE) AS time_utilised_pct
FROM site_day_active a
LEFT JOIN site_day_kwh k USING (site_id, date)
LEFT JOIN cp_day_occupied o USING (site_id, date)
LEFT JOIN c_sites s USING (site_id);

CREATE OR REPLACE TABLE marts.site_utilization_monthly AS
WITH m AS (
    SELECT site_id, CAST(date_trunc('month', date) AS DATE) AS month,
           sum(active) AS cp_days, sum(available_hours) AS available_hours
    FROM site_day_active GROUP BY ALL
), k AS (
    SELECT site_id, CAST(date_trunc('month', date) AS DATE) AS month, sum(kwh) AS kwh
    FROM site_day_kwh GROUP BY ALL
), o AS (
    SELECT site_id, CAST(date_trunc('month', date) AS DATE) AS month, sum(occupied_hours) AS occupied_hours
    FROM cp_day_occupied GROUP BY ALL
), metrics AS (
    SELECT m.site_id, m.month, m.cp_days, m.available_hours,
           coalesce(k.kwh, 0) AS kwh, coalesce(o.occupied_hours, 0) AS occupied_hours,
           coalesce(k.kwh, 0) / m.cp_days AS kwh_per_cp_day,
           100.0 * coalesce(o.occupied_hours, 0) / m.available_hours AS time_utilised_pct
    FROM m LEFT JOIN k USING (site_id, month) LEFT JOIN o USING (site_id, month)
)
SELECT x.site_id, x.month, s.operator_id, s.team_id,
       CAST(x.cp_days AS BIGINT) AS cp_days, CAST(x.available_hours AS DOUBLE) AS available_hours,
       CAST(x.kwh AS DOUBLE) AS kwh, CAST(x.occupied_hours AS DOUBLE) AS occupied_hours,
       CAST(x.kwh_per_cp_day AS DOUBLE) AS kwh_per_cp_day, CAST(x.time_utilised_pct AS DOUBLE) AS time_utilised_pct,
       CASE WHEN x.kwh_per_cp_day > 220 THEN 'top' WHEN x.kwh_per_cp_day > 150 THEN 'great'
            WHEN x.kwh_per_cp_day < 20 THEN 'poor' ELSE 'average' END AS kwh_tier,
       CASE WHEN x.time_utilised_pct > 20 THEN 'top' WHEN x.time_utilised_pct > 15 THEN 'great'
            WHEN x.time_utilised_pct < 5 THEN 'poor' ELSE 'average' END AS time_tier
FROM metrics x LEFT JOIN c_sites s USING (site_id);

-- ---------------------------------------------------------------------------------------------
-- Failed charges and roaming sessions (per site and local plug-in date), hardware breakdown
-- (local plug-in month, hardware valid at plug-in), OCPP errors.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE marts.failed_charges_daily AS
WITH d AS (
    SELECT site_id, d_s AS date, count(*) AS total_sessions, count(*) FILTER (WHERE is_failed) AS failed_sessions
    FROM c_sess WHERE site_id IS NOT NULL GROUP BY site_id, d_s
)
SELECT d.date, CAST(date_trunc('month', d.date) AS DATE) AS month, s.operator_id, s.team_id, d.site_id,
       CAST(d.total_sessions AS BIGINT) AS total_sessions, CAST(d.failed_sessions AS BIGINT) AS failed_sessions,
       CAST(100.0 * d.failed_sessions / d.total_sessions AS DOUBLE) AS failed_pct
FROM d LEFT JOIN c_sites s USING (site_id);

CREATE OR REPLACE TABLE marts.roaming_sessions_daily AS
WITH d AS (
    SELECT site_id, d_s AS date, count(*) AS roaming_sessions,
           count(*) FILTER (WHERE NOT is_failed) AS successful_sessions
    FROM c_sess WHERE site_id IS NOT NULL AND is_roaming GROUP BY site_id, d_s
)
SELECT d.date, CAST(date_trunc('month', d.date) AS DATE) AS month, s.operator_id, s.team_id, d.site_id,
       CAST(d.roaming_sessions AS BIGINT) AS roaming_sessions,
       CAST(d.successful_sessions AS BIGINT) AS successful_sessions,
       CAST(100.0 * d.successful_sessions / d.roaming_sessions AS DOUBLE) AS success_pct
FROM d LEFT JOIN c_sites s USING (site_id);

CREATE OR REPLACE TABLE marts.failed_charges_by_hardware AS
WITH hw AS (
    SELECT CAST(date_trunc('month', x.d_s) AS DATE) AS month, coalesce(v.brand, 'unknown') AS brand,
           coalesce(v.model, 'unknown') AS model, coalesce(v.firmware_version, 'unknown') AS firmware_version,
           count(*) AS total_sessions, count(*) FILTER (WHERE x.is_failed) AS failed_sessions
    FROM c_sess x
    LEFT JOIN c_cpv v ON v.charge_point_id = x.cp AND x.s >= v.valid_from AND x.s < v.valid_to
    GROUP BY ALL
)
SELECT month, brand, model, firmware_version,
       CAST(total_sessions AS BIGINT) AS total_sessions, CAST(failed_sessions AS BIGINT) AS failed_sessions,
       CAST(100.0 * failed_sessions / total_sessions AS DOUBLE) AS failed_pct
FROM hw;

CREATE OR REPLACE TABLE marts.ocpp_errors_daily AS
WITH errors AS (
    SELECT o.charge_point_id, o.error_code, coalesce(o.payload_timestamp, o.received_at) AS t,
           coalesce(c.tz, 'UTC') AS tz, c.site_id
    FROM raw.ocpp o LEFT JOIN c_cp c USING (charge_point_id)
    WHERE o.action = 'StatusNotification' AND o.error_code <> 'NoError'
), dated AS (
    SELECT e.*, CAST(CASE WHEN h.off_us IS NOT NULL THEN make_timestamp(epoch_us(e.t) + h.off_us)
                          ELSE timezone(e.tz, timezone('UTC', e.t)) END AS DATE) AS date
    FROM errors e LEFT JOIN tz_hours h ON h.tz = e.tz AND h.hr = epoch_us(e.t) // 3600000000
)
SELECT date, CAST(date_trunc('month', date) AS DATE) AS month, any_value(site_id) AS site_id,
       charge_point_id, error_code, CAST(count(*) AS BIGINT) AS error_count
FROM dated GROUP BY date, charge_point_id, error_code;

-- ---------------------------------------------------------------------------------------------
-- Charge points dashboard: teams and sites tables.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE cp_counts AS
SELECT charge_point_id, site_id, team_id, operator_id,
       comm_date <= getvariable('as_of') AND (decom_date IS NULL OR decom_date > getvariable('as_of')) AS is_active
FROM c_cp;

CREATE OR REPLACE TEMP TABLE sess_counts AS
SELECT site_id, team_id, count(*) AS total_sessions,
       count(*) FILTER (WHERE date_trunc('month', d_s) = getvariable('as_of_month')) AS sessions_this_month,
       count(*) FILTER (WHERE date_trunc('month', d_s) = getvariable('as_of_month') AND NOT is_failed)
           AS completed_sessions_this_month
FROM c_sess WHERE site_id IS NOT NULL GROUP BY site_id, team_id;

CREATE OR REPLACE TABLE marts.cp_team_summary AS
WITH cpc AS (
    SELECT team_id, max(operator_id) AS operator_id, count(*) AS charge_points,
           count(*) FILTER (WHERE is_active) AS active_charge_points
    FROM cp_counts WHERE team_id IS NOT NULL GROUP BY team_id
), sc AS (
    SELECT team_id, sum(sessions_this_month) AS sessions_this_month,
           sum(completed_sessions_this_month) AS completed_sessions_this_month, sum(total_sessions) AS total_sessions
    FROM sess_counts WHERE team_id IS NOT NULL GROUP BY team_id
), all_teams AS (
    SELECT team_id FROM c_teams UNION SELECT team_id FROM cpc UNION SELECT team_id FROM sc
)
SELECT a.team_id, coalesce(t.operator_id, cpc.operator_id) AS operator_id, getvariable('as_of_month') AS as_of_month,
       CAST(coalesce(cpc.charge_points, 0) AS BIGINT) AS charge_points,
       CAST(coalesce(cpc.active_charge_points, 0) AS BIGINT) AS active_charge_points,
       CAST(coalesce(sc.sessions_this_month, 0) AS BIGINT) AS sessions_this_month,
       CAST(coalesce(sc.completed_sessions_this_month, 0) AS BIGINT) AS completed_sessions_this_month,
       CAST(coalesce(sc.total_sessions, 0) AS BIGINT) AS total_sessions
FROM all_teams a LEFT JOIN c_teams t USING (team_id) LEFT JOIN cpc USING (team_id) LEFT JOIN sc USING (team_id);

CREATE OR REPLACE TABLE marts.cp_site_summary AS
WITH cpc AS (
    SELECT site_id, count(*) AS charge_points, count(*) FILTER (WHERE is_active) AS active_charge_points
    FROM cp_counts GROUP BY site_id
), sc AS (
    SELECT site_id, sum(sessions_this_month) AS sessions_this_month,
           sum(completed_sessions_this_month) AS completed_sessions_this_month, sum(total_sessions) AS total_sessions
    FROM sess_counts GROUP BY site_id
)
SELECT s.site_id, s.operator_id, s.team_id, getvariable('as_of_month') AS as_of_month,
       CAST(coalesce(cpc.charge_points, 0) AS BIGINT) AS charge_points,
       CAST(coalesce(cpc.active_charge_points, 0) AS BIGINT) AS active_charge_points,
       CAST(coalesce(sc.sessions_this_month, 0) AS BIGINT) AS sessions_this_month,
       CAST(coalesce(sc.completed_sessions_this_month, 0) AS BIGINT) AS completed_sessions_this_month,
       CAST(coalesce(sc.total_sessions, 0) AS BIGINT) AS total_sessions
FROM c_sites s LEFT JOIN cpc USING (site_id) LEFT JOIN sc USING (site_id);

-- ---------------------------------------------------------------------------------------------
-- Roaming CDRs: by UTC date of end_date_time, net of credits (a credit CDR counts -1 with
-- negative totals, on the date / site / provider / eMSP of the CDR it cancels).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE marts.roaming_daily AS
WITH c AS (
    SELECT country_code, party_id, id, end_date_time, location_id, provider, currency,
           token_country_code || '*' || token_party_id AS emsp_party,
           coalesce(credit, false) AS is_credit, nullif(credit_reference_id, '') AS ref_id,
           total_energy, total_cost_excl_vat
    FROM raw.cdrs
), attributed AS (
    SELECT CAST(coalesce(o.end_date_time, c.end_date_time) AS DATE) AS date,
           coalesce(o.location_id, c.location_id) AS site_id,
           coalesce(o.provider, c.provider) AS provider,
           coalesce(o.emsp_party, c.emsp_party) AS emsp_party,
           c.currency,
           CASE WHEN c.is_credit THEN -1 ELSE 1 END AS sign,
           CASE WHEN c.is_credit THEN -abs(c.total_energy) ELSE c.total_energy END AS kwh,
           CASE WHEN c.is_credit THEN -abs(c.total_cost_excl_vat) ELSE c.total_cost_excl_vat END AS revenue
    FROM c LEFT JOIN c o
        ON c.is_credit AND NOT o.is_credit AND o.country_code = c.country_code
        AND o.party_id = c.party_id AND o.id = c.ref_id
)
SELECT date, CAST(date_trunc('month', date) AS DATE) AS month, site_id, provider, emsp_party, currency,
       CAST(sum(sign) AS BIGINT) AS cdrs, CAST(sum(kwh) AS DOUBLE) AS kwh,
       CAST(sum(revenue) AS DECIMAL(18, 4)) AS revenue
FROM attributed GROUP BY date, site_id, provider, emsp_party, currency;

-- ---------------------------------------------------------------------------------------------
-- Revenue: signed ledger amounts by UTC month of booked_at, EUR at the ECB rate of the booking
-- date or the latest earlier one (ASOF join), each entry converted then summed.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE ledger_months AS
WITH l AS (
    SELECT operator_id, nullif(team_id, '') AS team_id, nullif(plan_id, '') AS plan_id, kind, amount, currency,
           CAST(booked_at AS DATE) AS booked_date
    FROM raw.ledger
), fx AS (
    SELECT currency, rate_date, rate FROM raw.fx_rates WHERE currency <> 'EUR'
), converted AS (
    SELECT l.*, CAST(l.amount / CASE WHEN l.currency = 'EUR' THEN CAST(1 AS DOUBLE) ELSE fx.rate END
                     AS DECIMAL(18, 4)) AS amount_eur
    FROM l ASOF LEFT JOIN fx ON fx.currency = l.currency AND l.booked_date >= fx.rate_date
)
SELECT CAST(date_trunc('month', booked_date) AS DATE) AS month, operator_id, team_id, plan_id, kind, currency,
       sum(amount) AS revenue, sum(amount_eur) AS revenue_eur
FROM converted GROUP BY ALL;

CREATE OR REPLACE TABLE marts.revenue_monthly AS
SELECT month, operator_id, team_id, plan_id, kind, currency,
       CAST(revenue AS DECIMAL(18, 4)) AS revenue, CAST(revenue_eur AS DECIMAL(18, 4)) AS revenue_eur
FROM ledger_months;

-- Gap-filled monthly series: from each key's first month to the later of the as_of_date's month
-- and the last month with an entry; revenue 0 in gap months, running total unchanged.
CREATE OR REPLACE TABLE marts.revenue_running_by_operator AS
WITH m AS (
    SELECT month, operator_id, currency, sum(revenue) AS revenue FROM ledger_months GROUP BY ALL
), keys AS (
    SELECT operator_id, currency, min(month) AS first_month FROM m GROUP BY ALL
), last AS (
    SELECT greatest(max(month), getvariable('as_of_month')) AS last_month FROM m
), spine AS (
    SELECT k.operator_id, k.currency,
           CAST(unnest(generate_series(k.first_month, last.last_month, INTERVAL 1 MONTH)) AS DATE) AS month
    FROM keys k, last
)
SELECT sp.month, sp.operator_id, sp.currency,
       CAST(coalesce(m.revenue, 0) AS DECIMAL(18, 4)) AS revenue,
       CAST(sum(coalesce(m.revenue, 0)) OVER (PARTITION BY sp.operator_id, sp.currency ORDER BY sp.month
                                             ROWS UNBOUNDED PRECEDING) AS DECIMAL(18, 4)) AS running_revenue
FROM spine sp LEFT JOIN m USING (month, operator_id, currency);

-- Team revenue by kind; a team's operator is the team registry's, else the greatest operator
-- its entries are booked to.
CREATE OR REPLACE TABLE marts.team_revenue_monthly AS
WITH t AS (
    SELECT month, team_id, currency,
           sum(revenue) FILTER (WHERE kind = 'fee') AS fees,
           sum(revenue) FILTER (WHERE kind = 'charge') AS charges,
           sum(revenue) FILTER (WHERE kind = 'subscription') AS subscriptions,
           sum(revenue) FILTER (WHERE kind = 'write_off') AS write_offs,
           sum(revenue) FILTER (WHERE kind = 'intercompany_transfer') AS intercompany_transfers,
           sum(revenue) FILTER (WHERE kind = 'tax_refund') AS tax_refunds,
           sum(revenue) AS total_revenue
    FROM ledger_months WHERE team_id IS NOT NULL GROUP BY ALL
), team_ops AS (
    SELECT l.team_id, coalesce(any_value(tm.operator_id), max(l.operator_id)) AS operator_id
    FROM ledger_months l LEFT JOIN c_teams tm USING (team_id)
    WHERE l.team_id IS NOT NULL GROUP BY l.team_id
), keys AS (
    SELECT team_id, currency, min(month) AS first_month FROM t GROUP BY ALL
), last AS (
    SELECT greatest(max(month), getvariable('as_of_month')) AS last_month FROM t
), spine AS (
    SELECT k.team_id, k.currency,
           CAST(unnest(generate_series(k.first_month, last.last_month, INTERVAL 1 MONTH)) AS DATE) AS month
    FROM keys k, last
)
SELECT sp.month, sp.team_id, o.operator_id, sp.currency,
       CAST(coalesce(t.fees, 0) AS DECIMAL(18, 4)) AS fees,
       CAST(coalesce(t.charges, 0) AS DECIMAL(18, 4)) AS charges,
       CAST(coalesce(t.subscriptions, 0) AS DECIMAL(18, 4)) AS subscriptions,
       CAST(coalesce(t.write_offs, 0) AS DECIMAL(18, 4)) AS write_offs,
       CAST(coalesce(t.intercompany_transfers, 0) AS DECIMAL(18, 4)) AS intercompany_transfers,
       CAST(coalesce(t.tax_refunds, 0) AS DECIMAL(18, 4)) AS tax_refunds,
       CAST(coalesce(t.total_revenue, 0) AS DECIMAL(18, 4)) AS total_revenue,
       CAST(sum(coalesce(t.total_revenue, 0)) OVER (PARTITION BY sp.team_id, sp.currency ORDER BY sp.month
                                                   ROWS UNBOUNDED PRECEDING) AS DECIMAL(18, 4)) AS running_revenue
FROM spine sp
LEFT JOIN t USING (month, team_id, currency)
JOIN team_ops o USING (team_id);

-- ---------------------------------------------------------------------------------------------
-- Invoices (current version) with operator / parent / customer names and the wallet's current
-- balance; days overdue as of as_of_date.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE marts.invoices AS
WITH inv AS (
    SELECT * FROM raw.invoices
    QUALIFY row_number() OVER (PARTITION BY invoice_id ORDER BY updated_at DESC) = 1
), wal AS (
    SELECT wallet_id, balance FROM raw.wallets
    QUALIFY row_number() OVER (PARTITION BY wallet_id ORDER BY updated_at DESC) = 1
), customers AS (
    SELECT 'team' AS customer_type, team_id AS customer_id, name AS customer_name FROM c_teams
    UNION ALL
    SELECT 'operator', operator_id, operator_name FROM c_operators
)
SELECT i.invoice_id, i.operator_id, o.operator_name, o.parent_operator_id, o.parent_operator_name,
       i.customer_type, i.customer_id, cu.customer_name, i.status, i.wallet_id, i.currency,
       CAST(w.balance AS DECIMAL(18, 4)) AS wallet_balance, i.due_at,
       CAST(CASE WHEN i.status = 'unpaid' AND i.due_at IS NOT NULL
                 THEN greatest(0, getvariable('as_of') - CAST(i.due_at AS DATE)) ELSE 0 END AS BIGINT) AS days_overdue,
       CAST(i.payable_amount AS DECIMAL(18, 4)) AS payable_amount, i.period_from, i.period_to
FROM inv i
LEFT JOIN c_operators o USING (operator_id)
LEFT JOIN customers cu ON cu.customer_type = i.customer_type AND cu.customer_id = i.customer_id
LEFT JOIN wal w USING (wallet_id);

CREATE OR REPLACE TABLE marts.invoice_status_summary AS
WITH oc AS (
    SELECT DISTINCT operator_id, currency FROM marts.invoices
), st AS (
    SELECT unnest(['paid', 'settled', 'unpaid']) AS status
), t AS (
    SELECT operator_id, currency, status, count(*) AS invoice_count, sum(payable_amount) AS payable_amount
    FROM marts.invoices GROUP BY ALL
)
SELECT oc.operator_id, oc.currency, st.status,
       CAST(coalesce(t.invoice_count, 0) AS BIGINT) AS invoice_count,
       CAST(coalesce(t.payable_amount, 0) AS DECIMAL(18, 4)) AS payable_amount
FROM oc CROSS JOIN st LEFT JOIN t USING (operator_id, currency, status);
