with

ledger_entries as (

    select * from {{ ref('int_ledger_entries') }}

),

operator_months as (

    select
        booked_month as month,
        operator_id,
        currency,
        sum(amount) as revenue,
        sum(revenue_eur) as revenue_eur,
        count(*) as entry_count
    from ledger_entries
    group by
        booked_month,
        operator_id,
        currency

)

select * from operator_months
