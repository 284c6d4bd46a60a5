-- Current sessions with their charge point's current site / operator / team / type / access and
-- time zone, the hardware (brand, model, firmware) valid at plug-in, local dates and state flags.
-- Grain: one row per session_id (all states; filter is_finished for metrics).
-- Incremental by session_id: an incremental run rebuilds the sessions the run's plan lists
-- (run_plan.sessions: a new version loaded, or a firmware upgrade of their charge point dated
-- before their plug-in; orchestration/plan.py), replacing their rows (delete+insert on DuckDB;
-- on Spark insert_overwrite of the partitions they are in, with the rows there that stay: macro
-- rebuilt_rows).

{{ config(plan_incremental(
    'sessions', unique_key='session_id', partition_column='plugged_in_date'
)) }}

{%- set plan_sessions = source('run_plan', 'sessions') %}
{%- set raw_sessions = source('platform', 'sessions') %}

with sessions as (

    {%- if is_incremental() %}

    -- the current version of each session to rebuild, by the same rule as stg_platform__sessions,
    -- from its raw versions alone (not by ranking the versions of every session)
    {{ latest_version(
        '(select * from ' ~ raw_sessions ~ ' where session_id in (select session_id from '
            ~ plan_sessions ~ ')) as session_versions',
        key=['session_id'], columns=session_version_columns()) }}

    {%- else %}

        select * from {{ ref('stg_platform__sessions') }}

    {%- endif %}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

charge_point_versions as (

    select
        charge_point_id,
        brand,
        model,
        firmware_version,
        valid_from,
        valid_to
    from {{ ref('stg_platform__charge_point_versions') }}

),

sessions_at_charge_points as (

    select
        sessions.session_id,
        sessions.charge_point_id,
        sessions.connector_id,
        charge_points.site_id,
        charge_points.operator_id,
        charge_points.team_id,
        sessions.paying_team_id,
        charge_points.charging_type,
        charge_points.access,
        charge_points.roaming_enabled,
        -- Sessions on a charge point missing from the registry are dated in UTC.
        coalesce(charge_points.time_zone, 'UTC') as time_zone,
        sessions.state,
        sessions.plugged_in_at,
        sessions.charging_started_at,
        sessions.charging_ended_at,
        sessions.unplugged_at,
        sessions.failed_at,
        sessions.failure_reason,
        sessions.stop_reason,
        sessions.kwh,
        sessions.price_excl_vat,
        sessions.price_incl_vat,
        sessions.currency,
        coalesce(sessions.is_roaming, false) as is_roaming,
        sessions.updated_at
    from sessions
    left join charge_points
        on sessions.charge_point_id = charge_points.charge_point_id

),

-- Point-in-time hardware: the registry version valid at plug-in (valid_from <= plugged_in_at <
-- valid_to; the first version is valid from 1900-01-01, so every session finds one).
with_hardware as (

    select
        sessions_at_charge_points.*,
        charge_point_versions.brand,
        charge_point_versions.model,
        charge_point_versions.firmware_version
    from sessions_at_charge_points
    left join charge_point_versions
        on sessions_at_charge_points.charge_point_id = charge_point_versions.charge_point_id
            and sessions_at_charge_points.plugged_in_at >= charge_point_versions.valid_from
            and sessions_at_charge_points.plugged_in_at < charge_point_versions.valid_to

),

localized as (

    select
        *,
        {{ is_finished_state('state') }} as is_finished,
        state = 'completed' as is_completed,
        state = 'failed' as is_failed,
        {{ local_date('plugged_in_at', 'time_zone') }} as plugged_in_date,
        {{ local_date('unplugged_at', 'time_zone') }} as unplugged_date,
        {{ hours_between('plugged_in_at', 'unplugged_at') }} as occupied_hours
    from with_hardware

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
        roaming_enabled,
        time_zone,
        state,
        plugged_in_at,
        charging_started_at,
        charging_ended_at,
        unplugged_at,
        failed_at,
        failure_reason,
        stop_reason,
        kwh,
        price_excl_vat,
        price_incl_vat,
        currency,
        is_roaming,
        updated_at,
        brand,
        model,
        firmware_version,
        is_finished,
        is_completed,
        is_failed,
        plugged_in_date,
        {{ month_start('plugged_in_date') }} as plugged_in_month,
        unplugged_date,
        occupied_hours
    from localized

)

{{ rebuilt_rows('final') }}
