-- Incremental by CDR (the `roaming` plan).
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    unique_key=['cpo_country_code', 'cpo_party_id', 'cdr_id'],
    meta={'incremental': {'plan': 'roaming', 'site_attributes': ['operator_id', 'team_id']}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with

roaming_cdrs as (

    select * from {{ ref('int_roaming_cdrs') }}

),

{%- if plan.partial %}

affected_keys as (

    {{ incremental_roaming_keys_sql(plan) }}

),

affected_cdrs as (

    select roaming_cdrs.*
    from roaming_cdrs
    inner join affected_keys
        on affected_keys.cpo_country_code = roaming_cdrs.cpo_country_code
        and affected_keys.cpo_party_id = roaming_cdrs.cpo_party_id
        and affected_keys.cdr_id = roaming_cdrs.cdr_id

),

{%- endif %}

final as (

    select
        cpo_country_code,
        cpo_party_id,
        cdr_id,
        is_credit,
        referenced_cdr_id,
        is_reference_resolved,
        is_cancelled,
        cast(cdr_sign as bigint) as cdr_sign,
        session_id,
        start_date_time,
        end_date_time,
        attributed_end_date_time,
        reporting_date,
        site_id,
        charge_point_id,
        operator_id,
        team_id,
        charging_type,
        access,
        provider,
        emsp_party,
        token_type,
        connector_power_type,
        currency,
        cast(kwh as double) as kwh,
        cast(revenue as decimal(18, 4)) as revenue,
        cast(revenue_incl_vat as decimal(18, 4)) as revenue_incl_vat,
        fx_rate,
        cast(revenue_eur as decimal(18, 4)) as revenue_eur,
        last_updated
    from {{ 'affected_cdrs' if plan.partial else 'roaming_cdrs' }}

)

select * from final
