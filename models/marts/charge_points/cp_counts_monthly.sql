-- New vs total charge points over time: per site-local month and charge point segment, the
-- charge points commissioned and decommissioned in the month and the total active at the end of
-- the month (= cumulative commissioned - cumulative decommissioned, the same rule as CP-days:
-- active on a day when commissioned on or before it and not decommissioned on or before it).
-- Gap-filled (the shared monthly_running_totals macro): every month from the segment's first
-- commissioning month to the later of the as_of_date's month and the last month with a change,
-- so totals can be summed across segments.
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

monthly as (

    select
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        month,
        sum(new_charge_points) as new_charge_points,
        sum(decommissioned_charge_points) as decommissioned_charge_points,
        sum(new_charge_points - decommissioned_charge_points) as net_charge_points
    from changes
    group by operator_id, team_id, site_id, charging_type, access, month

),

running as (

    {{ monthly_running_totals(
        'monthly',
        key_columns=['operator_id', 'team_id', 'site_id', 'charging_type', 'access'],
        measure_columns=['new_charge_points', 'decommissioned_charge_points', 'net_charge_points'],
        running_columns={
            'net_charge_points': 'total_charge_points',
            'new_charge_points': 'cumulative_new_charge_points',
        }
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
        cast(new_charge_points as bigint) as new_charge_points,
        cast(decommissioned_charge_points as bigint) as decommissioned_charge_points,
        cast(total_charge_points as bigint) as total_charge_points,
        cast(cumulative_new_charge_points as bigint) as cumulative_new_charge_points
    from running

)

select * from final
