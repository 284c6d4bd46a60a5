-- Incremental by UTC reporting date, site and charge point (the `roaming_dates` plan): the
-- reporting dates of CDRs loaded since the last build and of their credit partners, dates from
-- the first newly loaded ECB rate on, and every date of a site whose attribution changed.
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'roaming_dates', 'partition_by': 'date', 'site_column': 'site_id', 'charge_point_column': 'charge_point_id', 'site_attributes': ['operator_id', 'team_id']}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with

roaming_cdrs as (

    select * from {{ ref('int_roaming_cdrs') }}
    where {{ incremental_date_filter('reporting_date', plan, charge_point_column='charge_point_id', site_column='site_id') }}

),

daily as (

    select
        reporting_date as date,
        site_id,
        charge_point_id,
        charging_type,
        access,
        provider,
        emsp_party,
        currency,
        operator_id,
        team_id,
        sum(cdr_sign) as cdrs,
        sum(case when is_credit then 1 else 0 end) as credit_cdrs,
        {{ exact_sum('kwh') }} as kwh,
        sum(revenue) as revenue,
        sum(revenue_eur) as revenue_eur
    from roaming_cdrs
    group by
        reporting_date,
        site_id,
        charge_point_id,
        charging_type,
        access,
        provider,
        emsp_party,
        currency,
        operator_id,
        team_id

),

final as (

    select
        date,
        {{ utc_calendar_month('date') }} as month,
        site_id,
        charge_point_id,
        operator_id,
        team_id,
        charging_type,
        access,
        provider,
        emsp_party,
        currency,
        cast(cdrs as bigint) as cdrs,
        cast(credit_cdrs as bigint) as credit_cdrs,
        cast(kwh as double) as kwh,
        cast(revenue as decimal(18, 4)) as revenue,
        cast(revenue_eur as decimal(18, 4)) as revenue_eur
    from daily

)

select * from final
