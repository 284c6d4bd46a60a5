-- Charge sessions and kWh over time for the Charge points dashboard: per site-local month and
-- charge point segment, the finished / completed / failed sessions plugged in during the month,
-- the kWh charged (split across local days by overlap, then summed per month) and their running
-- totals. Gap-filled: every month from the segment's first month with an active charge point or
-- activity to the later of the as_of_date's month and the last month with activity, so running
-- totals can be summed across segments. Operator and team are the charge point's; charge points
-- missing from the registry appear with empty segment columns.
-- Grain: one row per month, operator_id, team_id, site_id, charging_type, access.

with charge_point_daily as (

    select * from {{ ref('int_charge_point_daily') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

segment_activity as (

    select
        {{ month_start('charge_point_daily.date') }} as month,
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.site_id,
        charge_points.charging_type,
        charge_points.access,
        sum(charge_point_daily.sessions) as sessions,
        sum(charge_point_daily.completed_sessions) as completed_sessions,
        sum(charge_point_daily.failed_sessions) as failed_sessions,
        {{ exact_sum('charge_point_daily.kwh') }} as kwh
    from charge_point_daily
    left join charge_points
        on charge_point_daily.charge_point_id = charge_points.charge_point_id
    group by
        {{ month_start('charge_point_daily.date') }},
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.site_id,
        charge_points.charging_type,
        charge_points.access

),

segments as (

    select
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        min(month) as first_month
    from segment_activity
    group by operator_id, team_id, site_id, charging_type, access

),

calendar_end as (

    select
        case
            when max(month) > {{ month_start(as_of_date()) }} then max(month)
            else {{ month_start(as_of_date()) }}
        end as last_month
    from segment_activity

),

segment_months as (

    select
        {{ date_series('segments.first_month', 'calendar_end.last_month', 'month') }} as month,
        segments.operator_id,
        segments.team_id,
        segments.site_id,
        segments.charging_type,
        segments.access,
        0 as sessions,
        0 as completed_sessions,
        0 as failed_sessions,
        0.0 as kwh
    from segments
    cross join calendar_end

),

month_rows as (

    select * from segment_months

    union all

    select * from segment_activity

),

monthly as (

    select
        month,
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        sum(sessions) as sessions,
        sum(completed_sessions) as completed_sessions,
        sum(failed_sessions) as failed_sessions,
        {{ exact_sum('kwh') }} as kwh
    from month_rows
    group by month, operator_id, team_id, site_id, charging_type, access

),

final as (

    select
        month,
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        cast(sessions as bigint) as sessions,
        cast(completed_sessions as bigint) as completed_sessions,
        cast(failed_sessions as bigint) as failed_sessions,
        cast(kwh as double) as kwh,
        cast(sum(sessions) over (
            partition by operator_id, team_id, site_id, charging_type, access
            order by month
            rows between unbounded preceding and current row
        ) as bigint) as running_sessions,
        cast(sum(completed_sessions) over (
            partition by operator_id, team_id, site_id, charging_type, access
            order by month
            rows between unbounded preceding and current row
        ) as bigint) as running_completed_sessions,
        cast(sum(cast(kwh as decimal(38, 15))) over (
            partition by operator_id, team_id, site_id, charging_type, access
            order by month
            rows between unbounded preceding and current row
        ) as double) as running_kwh
    from monthly

)

select * from final
