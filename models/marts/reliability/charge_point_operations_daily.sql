-- Finished sessions and their idle time per charge point and site-local plug-in date (DESIGN.md
-- section 5): idle time of a session = unplugged_at - charging_ended_at (0 when charging_ended_at
-- is empty or later): plugged in, not charging, blocking the connector (the basis of idle fees). A
-- session's idle time counts on its plug-in date, like the session. With every dashboard filter
-- column (operator, team, site, AC/DC, public/private): the filterable base of the idle figures of
-- site_operations_daily. Operator, team and site are the charge point's current ones.
-- Grain: one row per date, charge_point_id (days with a finished session).

with sessions as (

    select
        charge_point_id,
        plugged_in_date,
        {{ idle_seconds('charging_ended_at', 'unplugged_at') }} as idle_seconds
    from {{ ref('int_sessions') }}
    where is_finished

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

daily as (

    select
        charge_point_id,
        plugged_in_date as date,
        count(*) as sessions,
        {{ exact_sum('idle_seconds') }} / 3600.0 as idle_hours,
        sum(case when idle_seconds > 3600 then 1 else 0 end) as sessions_idle_over_1h
    from sessions
    group by charge_point_id, plugged_in_date

),

final as (

    select
        daily.date,
        {{ month_start('daily.date') }} as month,
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.site_id,
        daily.charge_point_id,
        charge_points.charging_type,
        charge_points.access,
        cast(daily.sessions as bigint) as sessions,
        cast(daily.idle_hours as double) as idle_hours,
        cast(daily.sessions_idle_over_1h as bigint) as sessions_idle_over_1h
    from daily
    left join charge_points
        on daily.charge_point_id = charge_points.charge_point_id

)

select * from final
