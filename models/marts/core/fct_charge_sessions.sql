-- Charge sessions (current version of each session_id, every state) with the charge point's
-- current site / operator / team / type / access, the hardware valid at plug-in, the site-local
-- plug-in date and month, state flags, energy, occupied time and prices.
-- Grain: one row per session_id.
-- A view over int_sessions, row for row: the sessions are built (and incrementally maintained)
-- once, in int_sessions; the publish step writes this view into serving.duckdb as a table, and a
-- delta publish replaces the rows of the sessions int_sessions rebuilt (meta.plan_set).
{{ config(
    materialized='view',
    meta={'plan_set': 'sessions'}
) }}

with sessions as (

    select * from {{ ref('int_sessions') }}

),

final as (

    select
        session_id,
        charge_point_id,
        connector_id,
        site_id,
        operator_id,
        team_id,
        paying_team_id,
        charging_type,
        access,
        brand,
        model,
        firmware_version,
        state,
        is_finished,
        is_completed,
        is_failed,
        is_roaming,
        time_zone,
        plugged_in_at,
        charging_started_at,
        charging_ended_at,
        unplugged_at,
        failed_at,
        plugged_in_date,
        plugged_in_month,
        unplugged_date,
        failure_reason,
        stop_reason,
        kwh,
        cast(occupied_hours as double) as occupied_hours,
        price_excl_vat,
        price_incl_vat,
        currency,
        updated_at
    from sessions

)

select * from final
