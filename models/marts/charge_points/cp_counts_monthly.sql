-- New vs total charge points over time: per site-local month and charge point segment, the
-- charge points commissioned and decommissioned in the month and the total active at the end of
-- the month (= cumulative commissioned - cumulative decommissioned, the same rule as CP-days:
-- active on a day when commissioned on or before it and not decommissioned on or before it).
-- Gap-filled: every month from the segment's first commissioning month to the later of the
-- as_of_date's month and the last month with a change, so totals can be summed across segments.
-- Operator and team are the charge point's.
-- Grain: one row per month, operator_id, team_id, site_id, charging_type, access.

with charge_points as (

    select * from {{ ref('int_charge_points') }}

),

changes as (

    select
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        {{ month_start('commissioned_date') }} as month,
        1 as new_charge_points,
        0 as decommissioned_charge_points
    from charge_points

    union all

    select
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        {{ month_start('decommissioned_date') }} as month,
        0 as new_charge_points,
        1 as decommissioned_charge_points
    from charge_points
    where decommissioned_date is not null

),

segments as (

    select
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        min(month) as first_month
    from changes
    group by operator_id, team_id, site_id, charging_type, access

),

calendar_end as (

    select
        case
            when max(month) > {{ month_start(as_of_date()) }} then max(month)
            else {{ month_start(as_of_date()) }}
        end as last_month
    from changes

),

segment_months as (

    select
        segments.operator_id,
        segments.team_id,
        segments.site_id,
        segments.charging_type,
        segments.access,
        {{ date_series('segments.first_month', 'calendar_end.last_month', 'month') }} as month,
        0 as new_charge_points,
        0 as decommissioned_charge_points
    from segments
    cross join calendar_end

),

month_rows as (

    select * from segment_months

    union all

    select
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        month,
        new_charge_points,
        decommissioned_charge_points
    from changes

),

monthly as (

    select
        month,
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        sum(new_charge_points) as new_charge_points,
        sum(decommissioned_charge_points) as decommissioned_charge_points
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
        cast(new_charge_points as bigint) as new_charge_points,
        cast(decommissioned_charge_points as bigint) as decommissioned_charge_points,
        cast(sum(new_charge_points - decommissioned_charge_points) over (
            partition by operator_id, team_id, site_id, charging_type, access
            order by month
            rows between unbounded preceding and current row
        ) as bigint) as total_charge_points,
        cast(sum(new_charge_points) over (
            partition by operator_id, team_id, site_id, charging_type, access
            order by month
            rows between unbounded preceding and current row
        ) as bigint) as cumulative_new_charge_points
    from monthly

)

select * from final
