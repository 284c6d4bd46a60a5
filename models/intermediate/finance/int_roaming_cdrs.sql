-- OCPI CDRs (credits netted: a credit CDR is attributed to the CDR it cancels) with the site's
-- operator and team, the charge point's type and access at the session start, and EUR revenue.
-- Grain: one row per CDR (cpo_country_code, cpo_party_id, cdr_id).
-- Incremental by CDR: an incremental run rebuilds the CDRs of run_plan.cdrs (loaded since the
-- last build, ending from the first new ECB rate on, and their credit partners;
-- orchestration/plan.py), replacing their rows (delete+insert on DuckDB; on Spark insert_overwrite of the
-- partitions they are in, with the rows there that stay: macro rebuilt_rows).
{{ config(plan_incremental(
    'cdrs', unique_key=['cpo_country_code', 'cpo_party_id', 'cdr_id'], partition_column='reporting_date'
)) }}

{%- set plan_cdrs = source('run_plan', 'cdrs') %}

with

cdrs as (

    select * from {{ ref('stg_ocpi__cdrs') }}

),

charge_point_versions as (

    select * from {{ ref('stg_platform__charge_point_versions') }}

),

roaming_sites as (

    select * from {{ ref('int_roaming_sites') }}

),

flagged as (

    select
        *,
        coalesce(credit, false) as is_credit,
        nullif(credit_reference_id, '') as referenced_cdr_id
    from cdrs

),

{%- if is_incremental() %}

-- the CDRs to rebuild (the originals and credits they pair with are read from all of flagged)
to_rebuild as (

    select flagged.*
    from flagged
    inner join {{ plan_cdrs }} as plan_cdrs
        on plan_cdrs.cpo_country_code = flagged.cpo_country_code
        and plan_cdrs.cpo_party_id = flagged.cpo_party_id
        and plan_cdrs.cdr_id = flagged.cdr_id

),

{%- endif %}

originals as (

    select * from flagged
    where not is_credit

),

credited_cdrs as (

    -- CDRs that a credit CDR of the same CPO (country_code, party_id) cancels
    select distinct
        cpo_country_code,
        cpo_party_id,
        referenced_cdr_id
    from flagged
    where is_credit
        and referenced_cdr_id is not null

),

attributed as (

    -- A credit CDR is attributed to the CDR it cancels: that CDR's end_date_time (hence UTC date
    -- and FX rate), site, charge point, provider and eMSP, so that the pair nets to exactly 0 in
    -- every roaming sum. A credit whose referenced CDR is unknown keeps its own attributes.
    select
        flagged.cpo_country_code,
        flagged.cpo_party_id,
        flagged.cdr_id,
        flagged.is_credit,
        flagged.referenced_cdr_id,
        flagged.is_credit and originals.cdr_id is not null as is_reference_resolved,
        not flagged.is_credit and credited_cdrs.referenced_cdr_id is not null as is_cancelled,
        case when flagged.is_credit then -1 else 1 end as cdr_sign,
        flagged.session_id,
        flagged.start_date_time,
        flagged.end_date_time,
        coalesce(originals.start_date_time, flagged.start_date_time) as attributed_start_date_time,
        coalesce(originals.end_date_time, flagged.end_date_time) as attributed_end_date_time,
        coalesce(originals.site_id, flagged.site_id) as site_id,
        coalesce(originals.charge_point_id, flagged.charge_point_id) as charge_point_id,
        coalesce(originals.provider, flagged.provider) as provider,
        coalesce(originals.emsp_party, flagged.emsp_party) as emsp_party,
        flagged.token_type,
        flagged.connector_power_type,
        flagged.currency,
        -- credits carry negative totals (OCPI); -abs() also nets a credit sent with positive ones
        case when flagged.is_credit then -abs(flagged.total_energy) else flagged.total_energy end as kwh,
        case
            when flagged.is_credit then -abs(flagged.total_cost_excl_vat)
            else flagged.total_cost_excl_vat
        end as revenue,
        case
            when flagged.is_credit then -abs(flagged.total_cost_incl_vat)
            else flagged.total_cost_incl_vat
        end as revenue_incl_vat,
        flagged.last_updated
    from {{ 'to_rebuild' if is_incremental() else 'flagged' }} as flagged
    left join originals
        on flagged.is_credit
            and flagged.cpo_country_code = originals.cpo_country_code
            and flagged.cpo_party_id = originals.cpo_party_id
            and flagged.referenced_cdr_id = originals.cdr_id
    left join credited_cdrs
        on not flagged.is_credit
            and flagged.cpo_country_code = credited_cdrs.cpo_country_code
            and flagged.cpo_party_id = credited_cdrs.cpo_party_id
            and flagged.cdr_id = credited_cdrs.referenced_cdr_id

),

dated as (

    select
        *,
        {{ utc_calendar_date('attributed_end_date_time') }} as reporting_date
    from attributed

),

-- each currency's rate on every day up to the last date looked up
fx_rates as (

    {{ fx_daily_rates(ref('stg_ecb__fx_rates'), '(select max(reporting_date) from dated)') }}

),

enriched as (

    select
        dated.cpo_country_code,
        dated.cpo_party_id,
        dated.cdr_id,
        dated.is_credit,
        dated.referenced_cdr_id,
        dated.is_reference_resolved,
        dated.is_cancelled,
        dated.cdr_sign,
        dated.session_id,
        dated.start_date_time,
        dated.end_date_time,
        dated.attributed_end_date_time,
        dated.reporting_date,
        dated.site_id,
        dated.charge_point_id,
        roaming_sites.operator_id,
        roaming_sites.team_id,
        -- charge point attributes as they were when the (cancelled) session started
        charge_point_versions.charging_type,
        charge_point_versions.access,
        dated.provider,
        dated.emsp_party,
        dated.token_type,
        dated.connector_power_type,
        dated.currency,
        dated.kwh,
        dated.revenue,
        dated.revenue_incl_vat,
        fx.rate as fx_rate,
        {{ amount_in_eur('dated.revenue', 'fx.rate') }} as revenue_eur,
        dated.last_updated
    from dated
    left join roaming_sites
        on dated.site_id = roaming_sites.site_id
    left join charge_point_versions
        on dated.charge_point_id = charge_point_versions.charge_point_id
            and dated.attributed_start_date_time >= charge_point_versions.valid_from
            and dated.attributed_start_date_time < charge_point_versions.valid_to
    left join fx_rates as fx
        on {{ fx_rate_on_condition('fx', 'dated.currency', 'dated.reporting_date') }}

)

{{ rebuilt_rows('enriched') }}
