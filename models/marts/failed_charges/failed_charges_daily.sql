-- Finished sessions and failures per site and local plug-in date (summed from
-- int_session_counts_daily, where sessions are counted).
-- % failed = failed / finished x 100. Operator and team are the site's.
-- Grain: one row per site_id, date (days with at least one finished session).
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

sites as (

    select * from {{ ref('stg_platform__sites') }}

),

site_daily as (

    select
        site_id,
        date,
        sum(sessions) as total_sessions,
        sum(completed_sessions) as completed_sessions,
        sum(failed_sessions) as failed_sessions
    from session_counts
    where site_id is not null
    group by site_id, date

),

final as (

    select
        site_daily.date,
        {{ month_start('site_daily.date') }} as month,
        sites.operator_id,
        sites.team_id,
        site_daily.site_id,
        sites.name as site_name,
        cast(site_daily.total_sessions as bigint) as total_sessions,
        cast(site_daily.completed_sessions as bigint) as completed_sessions,
        cast(site_daily.failed_sessions as bigint) as failed_sessions,
        {{ percentage('site_daily.failed_sessions', 'site_daily.total_sessions') }} as failed_pct
    from site_daily
    left join sites
        on site_daily.site_id = sites.site_id

)

select * from final
