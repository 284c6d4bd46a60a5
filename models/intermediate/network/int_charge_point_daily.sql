-- Daily activity of each charge point on its site's local calendar: whether it was active (a
-- CP-day), the day's real length, kWh and occupied time split by local day, and the finished
-- sessions plugged in that day. A row exists for every active day (up to the calendar end) and for
-- every other day with session activity (e.g. the morning of a decommissioning day).
-- Grain: one row per charge_point_id, date.
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py), combining their rows from the (already rebuilt) upstream models.

{{ config(plan_incremental('network_dates')) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

with sessions as (

    select * from {{ ref('int_sessions') }}
    {%- if is_incremental() %}
    -- the sessions that may be plugged in on, or occupy, a date to rebuild
    where plugged_in_date <= (select max(date) from {{ plan_dates }})
        and coalesce(unplugged_date, plugged_in_date) >= (select min(date) from {{ plan_dates }})
    {%- endif %}

),

active_days as (

    select * from {{ ref('int_charge_point_active_days') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

),

session_day_splits as (

    select * from {{ ref('int_session_day_splits') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

),

occupied_days as (

    select * from {{ ref('int_charge_point_occupied_days') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

),

session_count_rows as (

    select * from {{ ref('int_session_counts_daily') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

),

local_days as (

    select * from {{ ref('int_local_days') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

),

-- Every charge point's time zone, including charge points only known from sessions.
charge_point_time_zones as (

    select distinct
        charge_point_id,
        time_zone
    from sessions

    union

    select
        charge_point_id,
        time_zone
    from {{ ref('int_charge_points') }}

),

split_totals as (

    select
        charge_point_id,
        date,
        {{ exact_sum('kwh') }} as kwh
    from session_day_splits
    group by charge_point_id, date

),

session_counts as (

    select
        charge_point_id,
        date,
        sum(sessions) as sessions,
        sum(completed_sessions) as completed_sessions,
        sum(failed_sessions) as failed_sessions,
        sum(roaming_sessions) as roaming_sessions
    from session_count_rows
    group by charge_point_id, date

),

-- Active days, split kWh, occupied time and session counts are each at most one row per charge
-- point and date: joined (full outer, any may be missing) instead of one big union and group by.
daily as (

    select
        coalesce(
            active_days.charge_point_id, split_totals.charge_point_id, occupied_days.charge_point_id,
            session_counts.charge_point_id
        ) as charge_point_id,
        coalesce(active_days.date, split_totals.date, occupied_days.date, session_counts.date) as date,
        case when active_days.charge_point_id is not null then 1 else 0 end as cp_days,
        coalesce(split_totals.kwh, 0.0) as kwh,
        coalesce(occupied_days.occupied_hours, 0.0) as occupied_hours,
        coalesce(session_counts.sessions, 0) as sessions,
        coalesce(session_counts.completed_sessions, 0) as completed_sessions,
        coalesce(session_counts.failed_sessions, 0) as failed_sessions,
        coalesce(session_counts.roaming_sessions, 0) as roaming_sessions
    from active_days
    full outer join split_totals
        on active_days.charge_point_id = split_totals.charge_point_id
            and active_days.date = split_totals.date
    full outer join occupied_days
        on occupied_days.charge_point_id = coalesce(active_days.charge_point_id, split_totals.charge_point_id)
            and occupied_days.date = coalesce(active_days.date, split_totals.date)
    full outer join session_counts
        on session_counts.charge_point_id = coalesce(
                active_days.charge_point_id, split_totals.charge_point_id,
                occupied_days.charge_point_id
            )
            and session_counts.date = coalesce(active_days.date, split_totals.date, occupied_days.date)

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
