-- Incremental by date: an incremental run rebuilds the UTC reporting dates of
-- run_plan.roaming_dates (those of new CDRs and their credit partners, and from the first new
-- ECB rate on; orchestration/plan.py) and replaces them (delete+insert keyed on date on DuckDB,
-- insert_overwrite of date partitions on Spark).
{{ config(plan_incremental('roaming_dates')) }}

{%- set plan_dates = source('run_plan', 'roaming_dates') %}

with

roaming_cdrs as (

    select * from {{ ref('int_roaming_cdrs') }}
    {%- if is_incremental() %}
    where reporting_date in (select date from {{ plan_dates }})
    {%- endif %}

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
        on daily.site_id = roaming_sites.site_id

)

select * from final
