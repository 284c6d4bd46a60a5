-- OCPI CDRs (one row per CDR, credits netted against the CDR they cancel) with site attribution,
-- charging type and access, kWh and revenue in the CDR currency and in EUR.
-- A view over int_roaming_cdrs, row for row (see fct_charge_sessions): built and maintained
-- once, in int_roaming_cdrs; published as a table, a delta replacing the rebuilt CDRs.
{{ config(
    materialized='view',
    meta={'plan_set': 'cdrs'}
) }}

with

roaming_cdrs as (

    select * from {{ ref('int_roaming_cdrs') }}

),

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
    from roaming_cdrs

)

select * from final
