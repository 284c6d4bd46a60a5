-- Current sites with their operator and team, time zone, coordinates and charge point counts.
-- Grain: one row per site_id.

with sites as (

    select * from {{ ref('stg_platform__sites') }}

),

operators as (

    select * from {{ ref('stg_platform__operators') }}

),

teams as (

    select * from {{ ref('stg_platform__teams') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

charge_point_counts as (

    select
        site_id,
        count(*) as charge_points,
        sum(case when is_active then 1 else 0 end) as active_charge_points
    from charge_points
    group by site_id

),

final as (

    select
        sites.site_id,
        sites.name as site_name,
        sites.operator_id,
        operators.name as operator_name,
        sites.team_id,
        teams.name as team_name,
        sites.address,
        sites.city,
        sites.postal_code,
        sites.country_code,
        sites.latitude,
        sites.longitude,
        sites.time_zone,
        sites.created_at,
        cast(coalesce(charge_point_counts.charge_points, 0) as bigint) as charge_points,
        cast(coalesce(charge_point_counts.active_charge_points, 0) as bigint) as active_charge_points
    from sites
    left join operators
        on sites.operator_id = operators.operator_id
    left join teams
        on sites.team_id = teams.team_id
    left join charge_point_counts
        on sites.site_id = charge_point_counts.site_id

)

select * from final
