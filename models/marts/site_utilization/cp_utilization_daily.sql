-- Utilization of each charge point per local day, with every dashboard filter column (operator,
-- team, site, AC/DC, public/private), so a BI tool can filter and re-aggregate: kWh/CP/day =
-- sum(kwh) / sum(cp_days); % time utilised = sum(occupied_hours) / sum(available_hours) x 100
-- (occupied_hours counts only on active days, as in the site marts; kwh counts on every day).
-- Grain: one row per charge_point_id, date (every active day, and other days with activity).
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py) and replaces them (delete+insert keyed on date on DuckDB,
-- insert_overwrite of date partitions on Spark).
{{ config(plan_incremental('network_dates')) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

with charge_point_daily as (

    select * from {{ ref('int_charge_point_daily') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

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
