-- CP-days: the local days on which each charge point is active (commissioned on or before the
-- day and not decommissioned on or before it, local dates), up to the calendar end of the site's
-- time zone (the later of as_of_date and its last local day with session activity), with the
-- day's real length in hours.
-- Grain: one row per charge_point_id, date.
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py; they include every date between the last build's as_of_date and this
-- one's, where the calendar end moves) for every charge point.

{{ config(plan_incremental('network_dates')) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

with charge_points as (

    select * from {{ ref('int_charge_points') }}

),

local_days as (

    select * from {{ ref('int_local_days') }}

),

calendar_ends as (

    select
        time_zone,
        max(date) as last_date
    from local_days
    group by time_zone

),

service_ranges as (

    select
        charge_points.charge_point_id,
        charge_points.time_zone,
        charge_points.commissioned_date,
        charge_points.decommissioned_date,
        charge_points.commissioned_date as first_date,
        case
            when charge_points.decommissioned_date is null
                or charge_points.decommissioned_date > calendar_ends.last_date
                then calendar_ends.last_date
            else charge_points.decommissioned_date
        end as last_date
    from charge_points
    inner join calendar_ends
        on charge_points.time_zone = calendar_ends.time_zone

),

service_days as (

    {%- if is_incremental() %}

    -- only the dates to rebuild within each service range
    select
        service_ranges.charge_point_id,
        service_ranges.time_zone,
        service_ranges.commissioned_date,
        service_ranges.decommissioned_date,
        plan_dates.date
    from service_ranges
    inner join {{ plan_dates }} as plan_dates
        on plan_dates.date between service_ranges.first_date and service_ranges.last_date

    {%- else %}

        select
            charge_point_id,
            time_zone,
            commissioned_date,
            decommissioned_date,
            {{ date_series('first_date', 'last_date') }} as date
        from service_ranges
        where last_date >= first_date

    {%- endif %}

),

active_days as (

    select
        service_days.charge_point_id,
        service_days.date,
        local_days.day_hours
    from service_days
    inner join local_days
        on service_days.time_zone = local_days.time_zone
            and service_days.date = local_days.date
    where {{ is_active_on('service_days.commissioned_date', 'service_days.decommissioned_date', 'service_days.date') }}

)

select * from active_days
