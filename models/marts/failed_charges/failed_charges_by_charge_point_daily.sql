-- Finished sessions and failures per charge point, local plug-in date and hardware at plug-in,
-- carrying every dashboard filter column (operator, team, site, AC/DC, public/private): the
-- filterable base of the failed-charges dashboard, re-aggregable to any breakdown
-- (failed_pct = sum(failed_sessions) / sum(total_sessions) x 100). Operator and team are the
-- charge point's.
-- Grain: one row per charge_point_id, date, brand, model, firmware_version.

-- Incremental by local plug-in date and charge point (the `network_dates` plan).
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'network_dates', 'partition_by': 'date', 'charge_point_column': 'charge_point_id'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with sessions as (

    select * from {{ ref('int_sessions') }}
    where {{ incremental_date_filter('plugged_in_date', plan, charge_point_column='charge_point_id') }}

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
