-- NEVI uptime of every charging port over the trailing 365 days ending on as_of_date (23 CFR
-- 680.116(b); DESIGN.md section 5): the sums of its daily period, outage and excluded minutes over
-- the days its charge point was active in the window; uptime % = (period - (outage - excluded)) /
-- period x 100; meets_nevi_97 when uptime % > 97.
-- Grain: one row per charge_point_id, connector_id (ports active on at least one day of the window).

with port_days as (

    select * from {{ ref('connector_uptime_daily') }}
    where date > {{ add_days(as_of_date(), -365) }}
        and date <= {{ as_of_date() }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

ports as (

    select
        charge_point_id,
        connector_id,
        min(date) as first_date,
        max(date) as last_date,
        count(*) as active_days,
        {{ exact_sum('period_minutes') }} as period_minutes,
        {{ exact_sum('outage_minutes') }} as outage_minutes,
        {{ exact_sum('excluded_minutes') }} as excluded_minutes
    from port_days
    group by charge_point_id, connector_id

),

uptime as (

    select
        *,
        {{ uptime_pct('period_minutes', 'outage_minutes', 'excluded_minutes') }} as uptime_pct
    from ports

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ add_days(as_of_date(), -364) }} as window_start,
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.site_id,
        uptime.charge_point_id,
        uptime.connector_id,
        charge_points.charging_type,
        charge_points.access,
        charge_points.max_power_kw,
        uptime.first_date,
        uptime.last_date,
        cast(uptime.active_days as bigint) as active_days,
        uptime.period_minutes,
        uptime.outage_minutes,
        uptime.excluded_minutes,
        uptime.uptime_pct,
        uptime.uptime_pct > {{ nevi_uptime_limit_pct() }} as meets_nevi_97
    from uptime
    inner join charge_points
        on uptime.charge_point_id = charge_points.charge_point_id

)

select * from final
