-- Finished sessions and failures per charge point, local plug-in date and hardware at plug-in,
-- carrying every dashboard filter column (operator, team, site, AC/DC, public/private): the
-- filterable base of the failed-charges dashboard, re-aggregable to any breakdown
-- (failed_pct = sum(failed_sessions) / sum(total_sessions) x 100). Operator and team are the
-- charge point's.
-- Grain: one row per charge_point_id, date, brand, model, firmware_version.
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py) and replaces them (delete+insert keyed on date on DuckDB,
-- insert_overwrite of date partitions on Spark).
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
    unique_key=none if target.type == 'spark' else 'date',
    partition_by=['date'] if target.type == 'spark' else none,
    meta={'plan_set': 'network_dates'}
) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

with sessions as (

    select * from {{ ref('int_sessions') }}
    {%- if is_incremental() %}
    where plugged_in_date in (select date from {{ plan_dates }})
    {%- endif %}

),

charge_point_daily as (

    select
        charge_point_id,
        plugged_in_date as date,
        coalesce(brand, 'unknown') as brand,
        coalesce(model, 'unknown') as model,
        coalesce(firmware_version, 'unknown') as firmware_version,
        site_id,
        operator_id,
        team_id,
        charging_type,
        access,
        count(*) as total_sessions,
        sum(case when is_completed then 1 else 0 end) as completed_sessions,
        sum(case when is_failed then 1 else 0 end) as failed_sessions
    from sessions
    where is_finished
    group by
        charge_point_id,
        plugged_in_date,
        site_id,
        operator_id,
        team_id,
        charging_type,
        access,
        coalesce(brand, 'unknown'),
        coalesce(model, 'unknown'),
        coalesce(firmware_version, 'unknown')

),

final as (

    select
        date,
        {{ month_start('date') }} as month,
        operator_id,
        team_id,
        site_id,
        charge_point_id,
        charging_type,
        access,
        brand,
        model,
        firmware_version,
        cast(total_sessions as bigint) as total_sessions,
        cast(completed_sessions as bigint) as completed_sessions,
        cast(failed_sessions as bigint) as failed_sessions,
        {{ percentage('failed_sessions', 'total_sessions') }} as failed_pct
    from charge_point_daily

)

select * from final
