-- Finished sessions per charge point and site-local plug-in date (DESIGN.md section 5: a session
-- counts on the local date of plugged_in_at; in_progress sessions count in no metric): all,
-- completed, failed, and the same for roaming sessions. The one place sessions are counted: the
-- charge point days, the failed-charges marts and the roaming-sessions mart sum these rows.
-- Hardware is the charge point's brand, model and firmware valid at plugged_in_at ('unknown' when
-- missing); site, operator, team, AC/DC and access are the charge point's (as in int_sessions).
-- Grain: one row per charge_point_id, date, brand, model, firmware_version.
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py) and replaces them (delete+insert keyed on date on DuckDB,
-- insert_overwrite of date partitions on Spark).
{{ config(plan_incremental('network_dates')) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

with sessions as (

    select * from {{ ref('int_sessions') }}
    where is_finished
    {%- if is_incremental() %}
        and plugged_in_date in (select date from {{ plan_dates }})
    {%- endif %}

),

counts as (

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
        count(*) as sessions,
        sum(case when is_completed then 1 else 0 end) as completed_sessions,
        sum(case when is_failed then 1 else 0 end) as failed_sessions,
        sum(case when is_roaming then 1 else 0 end) as roaming_sessions,
        sum(case when is_roaming and is_completed then 1 else 0 end) as successful_roaming_sessions,
        sum(case when is_roaming and is_failed then 1 else 0 end) as failed_roaming_sessions
    from sessions
    group by
        charge_point_id,
        plugged_in_date,
        coalesce(brand, 'unknown'),
        coalesce(model, 'unknown'),
        coalesce(firmware_version, 'unknown'),
        site_id,
        operator_id,
        team_id,
        charging_type,
        access

),

final as (

    select
        charge_point_id,
        date,
        brand,
        model,
        firmware_version,
        site_id,
        operator_id,
        team_id,
        charging_type,
        access,
        cast(sessions as bigint) as sessions,
        cast(completed_sessions as bigint) as completed_sessions,
        cast(failed_sessions as bigint) as failed_sessions,
        cast(roaming_sessions as bigint) as roaming_sessions,
        cast(successful_roaming_sessions as bigint) as successful_roaming_sessions,
        cast(failed_roaming_sessions as bigint) as failed_roaming_sessions
    from counts

)

select * from final
