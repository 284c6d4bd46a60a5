-- Ledger entries with their UTC booking date and month, the EUR amount at the ECB rate of the
-- booking date (or the latest earlier one), and for charge entries the charge point, site,
-- charging type and access their session had at plug-in. Grain: one row per entry_id.
-- Incremental by entry_id: an incremental run rebuilds the entries of run_plan.ledger_entries
-- (loaded since the last build, of a rebuilt session, booked from the first new ECB rate on;
-- orchestration/plan.py), replacing their rows (delete+insert on DuckDB; on Spark insert_overwrite of the
-- partitions they are in, with the rows there that stay: macro rebuilt_rows).
{{ config(plan_incremental(
    'ledger_entries', unique_key='entry_id', partition_column='booked_date'
)) }}

{%- set plan_entries = source('run_plan', 'ledger_entries') %}

with

ledger_entries as (

    select * from {{ ref('stg_platform__ledger_entries') }}
    {%- if is_incremental() %}
    where entry_id in (select entry_id from {{ plan_entries }})
    {%- endif %}

),

sessions as (

    -- the sessions as built for this run (a partial run has already rebuilt the changed ones)
    select
        session_id,
        charge_point_id,
        plugged_in_at
    from {{ ref('int_sessions') }}

),

charge_point_versions as (

    select * from {{ ref('stg_platform__charge_point_versions') }}

),

dated as (

    select
        entry_id,
        operator_id,
        nullif(team_id, '') as team_id,
        nullif(plan_id, '') as plan_id,
        kind,
        amount,
        currency,
        booked_at,
        {{ utc_calendar_date('booked_at') }} as booked_date,
        {{ utc_calendar_month('booked_at') }} as booked_month,
        nullif(session_id, '') as session_id,
        nullif(invoice_id, '') as invoice_id
    from ledger_entries

),

-- each currency's rate on every day up to the last date looked up
fx_rates as (

    {{ fx_daily_rates(ref('stg_ecb__fx_rates'), '(select max(booked_date) from dated)') }}

),

session_charge_points as (

    -- where a charge entry's session ran: its charge point and that charge point's site,
    -- charging type and access as they were at the session's plug-in (registry version)
    select
        sessions.session_id,
        sessions.charge_point_id,
        charge_point_versions.site_id,
        charge_point_versions.charging_type,
        charge_point_versions.access
    from sessions
    left join charge_point_versions
        on sessions.charge_point_id = charge_point_versions.charge_point_id
            and sessions.plugged_in_at >= charge_point_versions.valid_from
            and sessions.plugged_in_at < charge_point_versions.valid_to

),

converted as (

    select
        dated.entry_id,
        dated.operator_id,
        dated.team_id,
        dated.plan_id,
        dated.kind,
        dated.amount,
        dated.currency,
        dated.booked_at,
        dated.booked_date,
        dated.booked_month,
        fx.rate_date as fx_rate_date,
        fx.rate as fx_rate,
        {{ amount_in_eur('dated.amount', 'fx.rate') }} as revenue_eur,
        dated.session_id,
        session_charge_points.charge_point_id,
        session_charge_points.site_id,
        session_charge_points.charging_type,
        session_charge_points.access,
        dated.invoice_id
    from dated
    left join fx_rates as fx
        on {{ fx_rate_on_condition('fx', 'dated.currency', 'dated.booked_date') }}
    left join session_charge_points
        on session_charge_points.session_id = dated.session_id

)

{{ rebuilt_rows('converted') }}
