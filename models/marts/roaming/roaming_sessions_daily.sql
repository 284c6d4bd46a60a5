-- Roaming sessions per site and local plug-in date: finished sessions started through a roaming
-- partner (is_roaming), the successful (completed) ones and the success rate, summed from
-- int_session_counts_daily (where sessions are counted). Operator and team are the site's.
-- Grain: one row per date, site_id (days with at least one finished roaming session).
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
        sum(roaming_sessions) as roaming_sessions,
        sum(successful_roaming_sessions) as successful_sessions,
        sum(failed_roaming_sessions) as failed_sessions
    from session_counts
    where site_id is not null
    group by site_id, date
    having sum(roaming_sessions) > 0

),

final as (

    select
        site_daily.date,
        {{ month_start('site_daily.date') }} as month,
        sites.operator_id,
        sites.team_id,
        site_daily.site_id,
        sites.name as site_name,
        cast(site_daily.roaming_sessions as bigint) as roaming_sessions,
        cast(site_daily.successful_sessions as bigint) as successful_sessions,
        cast(site_daily.failed_sessions as bigint) as failed_sessions,
        {{ percentage('site_daily.successful_sessions', 'site_daily.roaming_sessions') }} as success_pct
    from site_daily
    left join sites
        on site_daily.site_id = sites.site_id

)

select * from final
