-- Finished sessions split across the local days their occupied interval [plugged_in_at,
-- unplugged_at) overlaps: occupied hours by overlap with each local day, and kWh spread evenly
-- over the interval (kWh x overlap / interval length). A session with an empty interval
-- (unplugged_at = plugged_in_at) puts all its kWh on its plug-in day with zero occupied hours.
-- Only the days a session actually spans are generated; a session within one local day (almost
-- all of them) is taken whole, without a split.
-- Grain: one row per session_id, date (local date of the charge point's site).
-- Incremental by date and charge point: a run replaces the affected local dates and charge points
-- (see the `network_dates` plan), rebuilt from every session whose occupied interval touches them.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'network_dates', 'partition_by': 'date', 'charge_point_column': 'charge_point_id'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with finished_sessions as (

    select
        session_id,
        charge_point_id,
        time_zone,
        plugged_in_at,
        unplugged_at,
        plugged_in_date,
        unplugged_date,
        coalesce(kwh, 0) as kwh
    from {{ ref('int_sessions') }}
    where is_finished
        and unplugged_at is not null
        and unplugged_date >= plugged_in_date
        and {{ incremental_overlap_filter('plugged_in_date', 'unplugged_date', plan, charge_point_column='charge_point_id') }}

),

local_days as (

    select * from {{ ref('int_local_days') }}
    where {{ incremental_calendar_filter('date', plan) }}

),

single_day as (

    -- almost every session lies within one local day: all its time and kWh are that day's
    select
        session_id,
        charge_point_id,
        plugged_in_date as date,
        {{ seconds_between('plugged_in_at', 'unplugged_at') }} / 3600.0 as occupied_hours,
        kwh
    from finished_sessions
    where unplugged_date = plugged_in_date
        and {{ incremental_date_filter('plugged_in_date', plan, charge_point_column='charge_point_id') }}

),

session_days as (

    -- the others are split across the local days they overlap (real day bounds: DST days)
    select
        *,
        {{ date_series('plugged_in_date', 'unplugged_date') }} as date
    from finished_sessions
    where unplugged_date > plugged_in_date

),

session_day_bounds as (

    select
        session_days.session_id,
        session_days.charge_point_id,
        session_days.date,
        session_days.kwh,
        {{ seconds_between('session_days.plugged_in_at', 'session_days.unplugged_at') }} as session_seconds,
        {{ overlap_seconds('session_days.plugged_in_at', 'session_days.unplugged_at', 'local_days.day_start_utc', 'local_days.day_end_utc') }} as overlap_seconds
    from session_days
    inner join local_days
        on session_days.time_zone = local_days.time_zone
        and session_days.date = local_days.date

),

split as (

    select
        session_id,
        charge_point_id,
        date,
        overlap_seconds / 3600.0 as occupied_hours,
        case
            when session_seconds > 0 then kwh * overlap_seconds / session_seconds
            else kwh
        end as kwh
    from session_day_bounds
    -- A non-empty interval ending exactly at local midnight spans the next date with no overlap.
    where (overlap_seconds > 0 or session_seconds = 0)
        and {{ incremental_date_filter('date', plan, charge_point_column='charge_point_id') }}

),

final as (

    select * from single_day
    union all
    select * from split

)

select * from final
