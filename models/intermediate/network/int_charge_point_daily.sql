-- Daily activity of each charge point on its site's local calendar: whether it was active (a
-- CP-day), the day's real length, kWh and occupied time split by local day, and the finished
-- sessions plugged in that day. A row exists for every active day (up to the calendar end) and for
-- every other day with session activity (e.g. the morning of a decommissioning day).
-- Grain: one row per charge_point_id, date.
-- Incremental by date and charge point: a run replaces the affected local dates and charge points
-- (see the `network_dates` plan), combining their rows from the (already updated) upstream models.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'network_dates', 'partition_by': 'date', 'charge_point_column': 'charge_point_id'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with sessions as (

    select * from {{ ref('int_sessions') }}
    -- the sessions plugged in on, or occupying, an affected date
    where {{ incremental_overlap_filter('plugged_in_date', 'coalesce(unplugged_date, plugged_in_date)', plan, charge_point_column='charge_point_id') }}

),

active_days as (

    select * from {{ ref('int_charge_point_active_days') }}
    where {{ incremental_date_filter('date', plan, charge_point_column='charge_point_id') }}

),

session_day_splits as (

    select * from {{ ref('int_session_day_splits') }}
    where {{ incremental_date_filter('date', plan, charge_point_column='charge_point_id') }}

),

occupied_days as (

    select * from {{ ref('int_charge_point_occupied_days') }}
    where {{ incremental_date_filter('date', plan, charge_point_column='charge_point_id') }}

),

local_days as (

    select * from {{ ref('int_local_days') }}
    where {{ incremental_calendar_filter('date', plan) }}

),

-- Every charge point's time zone, including charge points only known from sessions.
charge_point_time_zones as (

    select distinct charge_point_id, time_zone from sessions

    union

    select charge_point_id, time_zone from {{ ref('int_charge_points') }}

),

activity as (

    select
        charge_point_id,
        date,
        1 as cp_days,
        0.0 as kwh,
        0.0 as occupied_hours,
        0 as sessions,
        0 as completed_sessions,
        0 as failed_sessions,
        0 as roaming_sessions
    from active_days

    union all

    select
        charge_point_id,
        date,
        0 as cp_days,
        kwh,
        0.0 as occupied_hours,
        0 as sessions,
        0 as completed_sessions,
        0 as failed_sessions,
        0 as roaming_sessions
    from session_day_splits

    union all

    select
        charge_point_id,
        date,
        0 as cp_days,
        0.0 as kwh,
        occupied_hours,
        0 as sessions,
        0 as completed_sessions,
        0 as failed_sessions,
        0 as roaming_sessions
    from occupied_days

    union all

    select
        charge_point_id,
        plugged_in_date as date,
        0 as cp_days,
        0.0 as kwh,
        0.0 as occupied_hours,
        1 as sessions,
        case when is_completed then 1 else 0 end as completed_sessions,
        case when is_failed then 1 else 0 end as failed_sessions,
        case when is_roaming then 1 else 0 end as roaming_sessions
    from sessions
    where is_finished
        and {{ incremental_date_filter('plugged_in_date', plan, charge_point_column='charge_point_id') }}

),

daily as (

    select
        charge_point_id,
        date,
        max(cp_days) as cp_days,
        {{ exact_sum('kwh') }} as kwh,
        {{ exact_sum('occupied_hours') }} as occupied_hours,
        sum(sessions) as sessions,
        sum(completed_sessions) as completed_sessions,
        sum(failed_sessions) as failed_sessions,
        sum(roaming_sessions) as roaming_sessions
    from activity
    group by charge_point_id, date

),

final as (

    select
        daily.charge_point_id,
        daily.date,
        daily.cp_days = 1 as is_active,
        cast(daily.cp_days as bigint) as cp_days,
        local_days.day_hours,
        case when daily.cp_days = 1 then local_days.day_hours else 0.0 end as available_hours,
        cast(daily.kwh as double) as kwh,
        cast(daily.occupied_hours as double) as occupied_hours,
        cast(case when daily.cp_days = 1 then daily.occupied_hours else 0.0 end as double) as utilised_hours,
        cast(daily.sessions as bigint) as sessions,
        cast(daily.completed_sessions as bigint) as completed_sessions,
        cast(daily.failed_sessions as bigint) as failed_sessions,
        cast(daily.roaming_sessions as bigint) as roaming_sessions
    from daily
    inner join charge_point_time_zones
        on daily.charge_point_id = charge_point_time_zones.charge_point_id
    left join local_days
        on charge_point_time_zones.time_zone = local_days.time_zone
        and daily.date = local_days.date

)

select * from final
