-- The local calendar of every site time zone: each local day's UTC bounds and real length
-- (23, 24 or 25 hours on DST days), computed as the UTC difference between consecutive local
-- midnights. Each time zone's calendar runs from its first commissioning or plug-in date to its
-- calendar end: the later of the run's as_of_date and its last local day with finished-session
-- activity (a session may end after as_of_date, or on the next local day east of UTC).
-- Grain: one row per time_zone, date.

with charge_points as (

    select * from {{ ref('int_charge_points') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

time_zones as (

    select time_zone from charge_points
    union
    select time_zone from sessions
    union
    select 'UTC' as time_zone

),

calendar_dates as (

    select
        time_zone,
        commissioned_date as first_date,
        {{ as_of_date() }} as last_date
    from charge_points

    union all

    select
        time_zone,
        plugged_in_date as first_date,
        coalesce(unplugged_date, plugged_in_date) as last_date
    from sessions
    where is_finished

    union all

    select
        time_zone,
        {{ as_of_date() }} as first_date,
        {{ as_of_date() }} as last_date
    from time_zones

),

calendar_bounds as (

    select
        time_zone,
        min(first_date) as first_date,
        max(last_date) as last_date
    from calendar_dates
    group by time_zone

),

days as (

    select
        time_zone,
        {{ date_series('first_date', 'last_date') }} as date
    from calendar_bounds

),

bounded as (

    select
        time_zone,
        date,
        {{ local_to_utc_timestamp('cast(date as timestamp)', 'time_zone') }} as day_start_utc,
        {{ local_to_utc_timestamp('cast(' ~ add_days('date', 1) ~ ' as timestamp)', 'time_zone') }} as day_end_utc
    from days

),

final as (

    select
        time_zone,
        date,
        day_start_utc,
        day_end_utc,
        {{ hours_between('day_start_utc', 'day_end_utc') }} as day_hours
    from bounded

)

select * from final
