-- CP-days: the local days on which each charge point is active (commissioned on or before the
-- day and not decommissioned on or before it, local dates), up to the calendar end of the site's
-- time zone (the later of as_of_date and its last local day with session activity), with the
-- day's real length in hours.
-- Grain: one row per charge_point_id, date.
-- Incremental by date and charge point: a run replaces the affected local dates (see the
-- `network_dates` plan: every date from the day before the earlier of the previous and the
-- current as_of_date on, where the calendar end moves) and charge points with registry changes.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'network_dates', 'partition_by': 'date', 'charge_point_column': 'charge_point_id'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

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

{%- if plan.partial %}

-- only the affected dates of each service range are generated
plan_ranges as (

    {{ incremental_ranges_sql(plan) }}

),

clipped_service_ranges as (

    select
        service_ranges.charge_point_id,
        service_ranges.time_zone,
        service_ranges.commissioned_date,
        service_ranges.decommissioned_date,
        case
            when service_ranges.first_date > plan_ranges.range_start then service_ranges.first_date
            else plan_ranges.range_start
        end as first_date,
        case
            when service_ranges.last_date < plan_ranges.range_end then service_ranges.last_date
            else plan_ranges.range_end
        end as last_date
    from service_ranges
    cross join plan_ranges
    {%- if plan.charge_points %}
    where not {{ incremental_key_terms(plan, charge_point_column='service_ranges.charge_point_id') | first }}

    union all

    -- charge points with registry changes: every day of their service
    select
        charge_point_id,
        time_zone,
        commissioned_date,
        decommissioned_date,
        first_date,
        last_date
    from service_ranges
    where {{ incremental_key_terms(plan, charge_point_column='charge_point_id') | first }}
    {%- endif %}

),

{%- endif %}

service_days as (

    select
        charge_point_id,
        time_zone,
        commissioned_date,
        decommissioned_date,
        {{ date_series('first_date', 'last_date') }} as date
    from {{ 'clipped_service_ranges' if plan.partial else 'service_ranges' }}
    where last_date >= first_date

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
        and {{ incremental_date_filter('service_days.date', plan, charge_point_column='service_days.charge_point_id') }}

)

select * from active_days
