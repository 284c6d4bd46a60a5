-- Ledger entries (one row per entry_id) with booking date and month (UTC), EUR amount and, for
-- charge entries, the session's charge point, site, charging type and access at plug-in.
-- A view over int_ledger_entries, row for row (see fct_charge_sessions): built and maintained
-- once, in int_ledger_entries; published as a table, a delta replacing the rebuilt entries.
{{ config(
    materialized='view',
    meta={'plan_set': 'ledger_entries'}
) }}

with

ledger_entries as (

    select * from {{ ref('int_ledger_entries') }}

),

final as (

    select
        entry_id,
        operator_id,
        team_id,
        plan_id,
        kind,
        currency,
        cast(amount as decimal(18, 4)) as amount,
        booked_at,
        booked_date,
        booked_month,
        fx_rate_date,
        fx_rate,
        cast(revenue_eur as decimal(18, 4)) as revenue_eur,
        session_id,
        charge_point_id,
        site_id,
        charging_type,
        access,
        invoice_id
    from ledger_entries

)

select * from final
