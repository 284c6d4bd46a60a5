-- Finished sessions and failures per charge point, local plug-in date and hardware at plug-in,
-- carrying every dashboard filter column (operator, team, site, AC/DC, public/private): the
-- filterable base of the failed-charges dashboard, re-aggregable to any breakdown
-- (failed_pct = sum(failed_sessions) / sum(total_sessions) x 100). The rows of
-- int_session_counts_daily, where sessions are counted. Operator and team are the charge point's.
-- Grain: one row per charge_point_id, date, brand, model, firmware_version.
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py) and replaces them (delete+insert keyed on date on DuckDB,
-- insert_overwrite of date partitions on Spark).
{{ config(plan_incremental('network_dates')) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

with session_counts as (

    select * from {{ ref('int_session_counts_daily') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

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
        sessions as total_sessions,
        completed_sessions,
        failed_sessions,
        {{ percentage('failed_sessions', 'sessions') }} as failed_pct
    from session_counts

)

select * from final
