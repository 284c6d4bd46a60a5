-- Finished sessions split across the local days their occupied interval [plugged_in_at,
-- unplugged_at) overlaps: occupied hours by overlap with each local day, and kWh spread evenly
-- over the interval (kWh x overlap / interval length). A session with an empty interval
-- (unplugged_at = plugged_in_at) puts all its kWh on its plug-in day with zero occupied hours.
-- Only the days a session actually spans are generated; a session within one local day (almost
-- all of them) is taken whole, without a split.
-- Grain: one row per session_id, date (local date of the charge point's site).
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py) from every session that touches them, and replaces those dates
-- (delete+insert keyed on date on DuckDB, insert_overwrite of date partitions on Spark).

{{ config(plan_incremental('network_dates')) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

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
    {%- if is_incremental() %}
        -- the sessions that may touch a date to rebuild
        and plugged_in_date <= (select max(date) from {{ plan_dates }})
        and unplugged_date >= (select min(date) from {{ plan_dates }})
        {%- endif %}

),

local_days as (

    select * from {{ ref('int_local_days') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

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
    {%- if is_incremental() %}
        and plugged_in_date in (select date from {{ plan_dates }})
        {%- endif %}

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
        {{ overlap_seconds(
            'session_days.plugged_in_at', 'session_days.unplugged_at', 'local_days.day_start_utc', 'local_days.day_end_utc'
        ) }} as overlap_seconds
    from session_days
    -- (in an incremental run local_days holds only the dates to rebuild)
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
    where overlap_seconds > 0 or session_seconds = 0

),

final as (

    select * from single_day
    union all
    select * from split

)

select * from final
