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
