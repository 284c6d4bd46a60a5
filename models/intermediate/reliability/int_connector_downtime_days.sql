-- Outage and excluded seconds of every charging port per site-local day: its outage intervals
-- (int_connector_status_intervals) split across the local days they overlap (real day bounds, so
-- 23- and 25-hour DST days). An outage still running at the last message runs to the end of the
-- site's calendar (int_local_days). Whether the charge point was active that day is the marts'
-- business (connector_uptime_daily keeps active days only).
-- Grain: one row per charge_point_id, connector_id, date (days with outage time only).

with intervals as (

    select * from {{ ref('int_connector_status_intervals') }}

),

charge_points as (

    select
        charge_point_id,
        time_zone
    from {{ ref('int_charge_points') }}

),

local_days as (

    select * from {{ ref('int_local_days') }}

),

calendar_ends as (

    select
        time_zone,
        max(day_end_utc) as calendar_end_utc
    from local_days
    group by time_zone

),

bounded as (

    select
        intervals.charge_point_id,
        intervals.connector_id,
        charge_points.time_zone,
        intervals.is_excluded,
        intervals.started_at,
        case
            when intervals.ended_at is null or intervals.ended_at > calendar_ends.calendar_end_utc
                then calendar_ends.calendar_end_utc
            else intervals.ended_at
        end as ended_at
    from intervals
    inner join charge_points
        on intervals.charge_point_id = charge_points.charge_point_id
    inner join calendar_ends
        on charge_points.time_zone = calendar_ends.time_zone

),

localized as (

    select
        *,
        {{ local_date('started_at', 'time_zone') }} as start_date,
        {{ local_date('ended_at', 'time_zone') }} as end_date
    from bounded
    where ended_at > started_at

),

single_day as (

    -- most outages lie within one local day
    select
        charge_point_id,
        connector_id,
        start_date as date,
        is_excluded,
        {{ seconds_between('started_at', 'ended_at') }} as down_seconds
    from localized
    where end_date = start_date

),

interval_days as (

    -- the others are split across the local days they overlap
    select
        *,
        {{ date_series('start_date', 'end_date') }} as date
    from localized
    where end_date > start_date

),

split as (

    select
        interval_days.charge_point_id,
        interval_days.connector_id,
        interval_days.date,
        interval_days.is_excluded,
        {{ overlap_seconds(
            'interval_days.started_at', 'interval_days.ended_at', 'local_days.day_start_utc', 'local_days.day_end_utc'
        ) }} as down_seconds
    from interval_days
    inner join local_days
        on interval_days.time_zone = local_days.time_zone
            and interval_days.date = local_days.date

),

pieces as (

    select * from single_day
    union all
    select * from split

),

final as (

    select
        charge_point_id,
        connector_id,
        date,
        {{ exact_sum('down_seconds') }} as outage_seconds,
        {{ exact_sum('case when is_excluded then down_seconds else 0.0 end') }} as excluded_seconds
    from pieces
    group by charge_point_id, connector_id, date
    having {{ exact_sum('down_seconds') }} > 0

)

select * from final
