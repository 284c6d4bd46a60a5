-- What site hosts ask, per site and site-local day (DESIGN.md section 5): finished sessions
-- plugged in that day, their idle time (unplugged_at - charging_ended_at, 0 when charging_ended_at
-- is empty or later) and how many sat idle over an hour; the site's peak demand (the highest
-- 15-minute slot of the local clock, kWh in the slot x 4) and the start of that slot (local
-- TIMESTAMP, the earliest when several tie); and, to compare the peak with, the installed power of
-- the charge points active that day. One row for every day the site has an active charge point,
-- and for any other day with sessions or charging (e.g. the morning of a decommissioning).
-- Operator and team are the site's.
-- Grain: one row per date, site_id.

with charge_point_days as (

    select * from {{ ref('charge_point_operations_daily') }}
    where site_id is not null

),

peaks as (

    select * from {{ ref('int_site_peak_demand_daily') }}

),

active_days as (

    select * from {{ ref('int_charge_point_active_days') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

sites as (

    select * from {{ ref('stg_platform__sites') }}

),

installed as (

    select
        charge_points.site_id,
        active_days.date,
        count(*) as active_charge_points,
        {{ exact_sum("coalesce(charge_points.max_power_kw, 0.0)") }} as installed_power_kw
    from active_days
    inner join charge_points
        on active_days.charge_point_id = charge_points.charge_point_id
    group by charge_points.site_id, active_days.date

),

idle as (

    select
        site_id,
        date,
        sum(sessions) as sessions,
        {{ exact_sum('idle_hours') }} as idle_hours,
        sum(sessions_idle_over_1h) as sessions_idle_over_1h
    from charge_point_days
    group by site_id, date

),

site_days as (

    select
        site_id,
        date
    from installed
    union
    select
        site_id,
        date
    from idle
    union
    select
        site_id,
        date
    from peaks

),

final as (

    select
        site_days.date,
        {{ month_start('site_days.date') }} as month,
        sites.operator_id,
        sites.team_id,
        site_days.site_id,
        cast(coalesce(installed.active_charge_points, 0) as bigint) as active_charge_points,
        cast(coalesce(installed.installed_power_kw, 0.0) as double) as installed_power_kw,
        cast(coalesce(idle.sessions, 0) as bigint) as sessions,
        cast(coalesce(idle.idle_hours, 0.0) as double) as idle_hours,
        cast(coalesce(idle.sessions_idle_over_1h, 0) as bigint) as sessions_idle_over_1h,
        cast(coalesce(peaks.peak_demand_kw, 0.0) as double) as peak_demand_kw,
        peaks.peak_slot_start,
        peaks.peak_slot_start_utc
    from site_days
    left join installed
        on site_days.site_id = installed.site_id
            and site_days.date = installed.date
    left join idle
        on site_days.site_id = idle.site_id
            and site_days.date = idle.date
    left join peaks
        on site_days.site_id = peaks.site_id
            and site_days.date = peaks.date
    left join sites
        on site_days.site_id = sites.site_id

)

select * from final
