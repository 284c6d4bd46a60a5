with

invoices as (

    select * from {{ ref('invoices') }}

),

statuses as (

    select 'paid' as status
    union all
    select 'settled' as status
    union all
    select 'unpaid' as status

),

operator_currencies as (

    select distinct
        operator_id,
        operator_name,
        parent_operator_id,
        parent_operator_name,
        currency
    from invoices

),

status_totals as (

    select
        operator_id,
        currency,
        status,
        count(*) as invoice_count,
        sum(payable_amount) as payable_amount,
        sum(case when days_overdue > 0 then 1 else 0 end) as overdue_invoice_count,
        sum(case when days_overdue > 0 then payable_amount else 0 end) as overdue_amount,
        max(days_overdue) as max_days_overdue
    from invoices
    group by
        operator_id,
        currency,
        status

),

final as (

    -- every status for every operator x currency with invoices, so that the dashboard's paid /
    -- settled / unpaid figures read 0 rather than nothing
    select
        operator_currencies.operator_id,
        operator_currencies.operator_name,
        operator_currencies.parent_operator_id,
        operator_currencies.parent_operator_name,
        operator_currencies.currency,
        statuses.status,
        cast(coalesce(status_totals.invoice_count, 0) as bigint) as invoice_count,
        cast(coalesce(status_totals.payable_amount, 0) as decimal(18, 4)) as payable_amount,
        cast(coalesce(status_totals.overdue_invoice_count, 0) as bigint) as overdue_invoice_count,
        cast(coalesce(status_totals.overdue_amount, 0) as decimal(18, 4)) as overdue_amount,
        cast(coalesce(status_totals.max_days_overdue, 0) as bigint) as max_days_overdue
    from operator_currencies
    cross join statuses
    left join status_totals
        on operator_currencies.operator_id = status_totals.operator_id
            and operator_currencies.currency = status_totals.currency
            and statuses.status = status_totals.status

)

select * from final
