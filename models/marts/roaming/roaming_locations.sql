with

roaming_cdrs as (

    select * from {{ ref('int_roaming_cdrs') }}

),

roaming_sites as (

    select * from {{ ref('int_roaming_sites') }}

),

site_totals as (

    select
        site_id,
        currency,
        sum(cdr_sign) as cdrs,
        count(distinct case when not is_credit then charge_point_id end) as charge_points,
        {{ exact_sum('kwh') }} as kwh,
        sum(revenue) as revenue,
        sum(revenue_eur) as revenue_eur,
        min(reporting_date) as first_cdr_date,
        max(reporting_date) as last_cdr_date
    from roaming_cdrs
    group by
        site_id,
        currency

),

final as (

    select
        site_totals.site_id,
        roaming_sites.site_name,
        roaming_sites.operator_id,
        roaming_sites.team_id,
        roaming_sites.city,
        roaming_sites.country_code,
        roaming_sites.latitude,
        roaming_sites.longitude,
        site_totals.currency,
        cast(site_totals.cdrs as bigint) as cdrs,
        cast(site_totals.charge_points as bigint) as charge_points,
        cast(site_totals.kwh as double) as kwh,
        cast(site_totals.revenue as decimal(18, 4)) as revenue,
        cast(site_totals.revenue_eur as decimal(18, 4)) as revenue_eur,
        site_totals.first_cdr_date,
        site_totals.last_cdr_date
    from site_totals
    left join roaming_sites
        on site_totals.site_id = roaming_sites.site_id

)

select * from final
