-- Current charge points with their site's time zone, local commissioning dates and status as of
-- the run's logical date. Grain: one row per charge_point_id.

with charge_points as (

    select * from {{ ref('stg_platform__charge_points') }}

),

sites as (

    select * from {{ ref('stg_platform__sites') }}

),

charge_points_at_sites as (

    select
        charge_points.charge_point_id,
        charge_points.site_id,
        sites.name as site_name,
        charge_points.operator_id,
        charge_points.team_id,
        -- A charge point whose site is not (yet) in the registry is put on UTC; the relationships
        -- test on site_id reports it.
        coalesce(sites.time_zone, 'UTC') as time_zone,
        charge_points.brand,
        charge_points.model,
        charge_points.firmware_version,
        charge_points.charging_type,
        charge_points.max_power_kw,
        charge_points.connector_count,
        charge_points.access,
        charge_points.roaming_enabled,
        charge_points.commissioned_at,
        charge_points.decommissioned_at
    from charge_points
    left join sites
        on charge_points.site_id = sites.site_id

),

localized as (

    select
        *,
        {{ local_date('commissioned_at', 'time_zone') }} as commissioned_date,
        {{ local_date('decommissioned_at', 'time_zone') }} as decommissioned_date
    from charge_points_at_sites

),

final as (

    select
        *,
        {{ is_active_on('commissioned_date', 'decommissioned_date', as_of_date()) }} as is_active
    from localized

)

select * from final
