with

cdrs as (

    select * from {{ ref('stg_ocpi__cdrs') }}

),

sites as (

    select * from {{ ref('stg_platform__sites') }}

),

charge_points as (

    select * from {{ ref('stg_platform__charge_points') }}

),

ranked_cdrs as (

    select
        site_id,
        charge_point_id,
        latitude,
        longitude,
        location_country,
        row_number() over (
            partition by site_id
            order by last_updated desc, end_date_time desc, cdr_id desc
        ) as recency_rank
    from cdrs

),

latest_cdr_per_site as (

    select * from ranked_cdrs
    where recency_rank = 1

),

final as (

    select
        latest_cdr_per_site.site_id,
        sites.site_id is not null as is_in_site_registry,
        sites.name as site_name,
        -- the site registry first; for a site missing from it, the registry entry of the charge
        -- point of the site's latest CDR
        case
            when sites.site_id is not null then sites.operator_id
            else charge_points.operator_id
        end as operator_id,
        case
            when sites.site_id is not null then sites.team_id
            else charge_points.team_id
        end as team_id,
        sites.city,
        sites.country_code,
        latest_cdr_per_site.location_country,
        -- registry coordinates first, else those the latest CDR sent
        coalesce(sites.latitude, latest_cdr_per_site.latitude) as latitude,
        coalesce(sites.longitude, latest_cdr_per_site.longitude) as longitude
    from latest_cdr_per_site
    left join sites
        on latest_cdr_per_site.site_id = sites.site_id
    left join charge_points
        on latest_cdr_per_site.charge_point_id = charge_points.charge_point_id

)

select * from final
