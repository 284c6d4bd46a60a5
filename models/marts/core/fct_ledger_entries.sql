-- Incremental by entry_id (the `ledger` plan).
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    unique_key='entry_id',
    meta={'incremental': {'plan': 'ledger'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with

ledger_entries as (

    select * from {{ ref('int_ledger_entries') }}
    {%- if plan.partial %}
    where entry_id in (
        {{ incremental_ledger_keys_sql(plan) }}
    )
    {%- endif %}

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
