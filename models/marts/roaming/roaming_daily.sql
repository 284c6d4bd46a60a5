-- Incremental by UTC reporting date, site and charge point (the `roaming_dates` plan): the
-- reporting dates of CDRs loaded since the last build and of their credit partners, dates from
-- the first newly loaded ECB rate on, and every date of a site whose attribution changed.
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'roaming_dates', 'partition_by': 'date', 'site_column': 'site_id', 'site_attributes': ['site_name', 'operator_id', 'team_id', 'latitude', 'longitude']}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with

roaming_cdrs as (

    select * from {{ ref('int_roaming_cdrs') }}
    where {{ incremental_date_filter('reporting_date', plan, site_column='site_id') }}

),

roaming_sites as (

    select * from {{ ref('int_roaming_sites') }}

),

daily as (

    select
        reporting_date as date,
        site_id,
        provider,
        emsp_party,
        currency,
        sum(cdr_sign) as cdrs,
        sum(case when is_credit then 1 else 0 end) as credit_cdrs,
        {{ exact_sum('kwh') }} as kwh,
        sum(revenue) as revenue,
        sum(revenue_incl_vat) as revenue_incl_vat,
        sum(revenue_eur) as revenue_eur
    from roaming_cdrs
    group by
        reporting_date,
        site_id,
        provider,
        emsp_party,
        currency

),

final as (

    select
        daily.date,
        {{ utc_calendar_month('daily.date') }} as month,
        daily.site_id,
        roaming_sites.site_name,
        roaming_sites.operator_id,
        roaming_sites.team_id,
        roaming_sites.latitude,
        roaming_sites.longitude,
        daily.provider,
        daily.emsp_party,
        daily.currency,
        cast(daily.cdrs as bigint) as cdrs,
        cast(daily.credit_cdrs as bigint) as credit_cdrs,
        cast(daily.kwh as double) as kwh,
        cast(daily.revenue as decimal(18, 4)) as revenue,
        cast(daily.revenue_incl_vat as decimal(18, 4)) as revenue_incl_vat,
        cast(daily.revenue_eur as decimal(18, 4)) as revenue_eur
    from daily
    left join roaming_sites
        on roaming_sites.site_id = daily.site_id

)

select * from final
