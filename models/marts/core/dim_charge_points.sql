-- Current charge points: site, operator, team, hardware, type, access, roaming, commissioning
-- (UTC and site-local dates) and whether active as of the run's as_of_date.
-- Grain: one row per charge_point_id.

with charge_points as (

    select * from {{ ref('int_charge_points') }}

),

final as (

    select
        charge_point_id,
        site_id,
        site_name,
        operator_id,
        team_id,
        time_zone,
        brand,
        model,
        firmware_version,
        charging_type,
        max_power_kw,
        connector_count,
        access,
        roaming_enabled,
        commissioned_at,
        decommissioned_at,
        commissioned_date,
        decommissioned_date,
        {{ month_start('commissioned_date') }} as commissioned_month,
        is_active
    from charge_points

)

select * from final
