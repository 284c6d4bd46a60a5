-- Site utilization per local day: active charge points, kWh (split by local day), occupied time
-- (union per charge point, within active days), kWh/CP/day and % time utilised.
-- Grain: one row per site_id, date, for every day the site has at least one active charge point.
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

sites as (

    select * from {{ ref('stg_platform__sites') }}

),

site_daily as (

    {{ site_utilization_totals('charge_point_daily', 'charge_points', 'charge_point_daily.date') }}

),

final as (

    select
        site_daily.site_id,
        site_daily.period as date,
        {{ month_start('site_daily.period') }} as month,
        sites.name as site_name,
        sites.operator_id,
        sites.team_id,
        cast(site_daily.cp_days as bigint) as active_charge_points,
        cast(site_daily.available_hours as double) as available_hours,
        cast(site_daily.kwh as double) as kwh,
        cast(site_daily.occupied_hours as double) as occupied_hours,
        cast(site_daily.sessions as bigint) as sessions,
        {{ ratio('site_daily.kwh', 'site_daily.cp_days') }} as kwh_per_cp_day,
        {{ percentage('site_daily.occupied_hours', 'site_daily.available_hours') }} as time_utilised_pct
    from site_daily
    left join sites
        on site_daily.site_id = sites.site_id

)

select * from final
