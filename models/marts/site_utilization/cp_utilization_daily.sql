-- Utilization of each charge point per local day, with every dashboard filter column (operator,
-- team, site, AC/DC, public/private), so a BI tool can filter and re-aggregate: kWh/CP/day =
-- sum(kwh) / sum(cp_days); % time utilised = sum(occupied_hours) / sum(available_hours) x 100
-- (occupied_hours counts only on active days, as in the site marts; kwh counts on every day).
-- Grain: one row per charge_point_id, date (every active day, and other days with activity).
-- Incremental by date and charge point (the `network_dates` plan).
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'network_dates', 'partition_by': 'date', 'charge_point_column': 'charge_point_id'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with charge_point_daily as (

    select * from {{ ref('int_charge_point_daily') }}
    where {{ incremental_date_filter('date', plan, charge_point_column='charge_point_id') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

final as (

    select
        charge_point_daily.charge_point_id,
        charge_point_daily.date,
        {{ month_start('charge_point_daily.date') }} as month,
        charge_points.site_id,
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.charging_type,
        charge_points.access,
        charge_points.roaming_enabled,
        charge_point_daily.is_active,
        charge_point_daily.cp_days,
        cast(charge_point_daily.day_hours as double) as day_hours,
        cast(charge_point_daily.available_hours as double) as available_hours,
        charge_point_daily.kwh,
        charge_point_daily.utilised_hours as occupied_hours,
        charge_point_daily.occupied_hours as total_occupied_hours,
        charge_point_daily.sessions,
        charge_point_daily.completed_sessions,
        charge_point_daily.failed_sessions,
        {{ ratio('charge_point_daily.kwh', 'charge_point_daily.cp_days') }} as kwh_per_cp_day,
        {{ percentage('charge_point_daily.utilised_hours', 'charge_point_daily.available_hours') }} as time_utilised_pct
    from charge_point_daily
    left join charge_points
        on charge_point_daily.charge_point_id = charge_points.charge_point_id

)

select * from final
