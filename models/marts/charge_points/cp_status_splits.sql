-- Charge point counts by every dashboard filter (operator, team, site, AC/DC, public/private)
-- and status: serves the roaming / non-roaming split (roaming_enabled), the active / inactive
-- split (is_active, as of as_of_date) and the public / private split (access) of the Charge
-- points dashboard; a BI tool filters, then sums charge_points by the split column.
-- Operator and team are the charge point's.
-- Grain: one row per operator_id, team_id, site_id, charging_type, access, roaming_enabled,
-- is_active.

with charge_points as (

    select * from {{ ref('int_charge_points') }}

),

final as (

    select
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        roaming_enabled,
        is_active,
        cast(count(*) as bigint) as charge_points
    from charge_points
    group by
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        roaming_enabled,
        is_active

)

select * from final
