-- Charge sessions and kWh over time for the Charge points dashboard: per site-local month and
-- charge point segment, the finished / completed / failed sessions plugged in during the month,
-- the kWh charged (split across local days by overlap, then summed per month) and their running
-- totals (the shared monthly_running_totals macro). Gap-filled: every month from the segment's
-- first month with an active charge point or activity to the later of the as_of_date's month and
-- the last month with activity, so running totals can be summed across segments. Operator and
-- team are the charge point's; charge points missing from the registry appear with empty segment
-- columns.
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

running as (

    {{ monthly_running_totals(
        'segment_activity',
        key_columns=['operator_id', 'team_id', 'site_id', 'charging_type', 'access'],
        measure_columns=['sessions', 'completed_sessions', 'failed_sessions', 'kwh'],
        running_columns={
            'sessions': 'running_sessions',
            'completed_sessions': 'running_completed_sessions',
            'kwh': 'running_kwh',
        },
        exact_columns=['kwh']
    ) }}

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
        cast(running_sessions as bigint) as running_sessions,
        cast(running_completed_sessions as bigint) as running_completed_sessions,
        cast(running_kwh as double) as running_kwh
    from running

)

select * from final
