with

invoices as (

    select * from {{ ref('stg_platform__invoices') }}

),

wallets as (

    select * from {{ ref('stg_platform__wallets') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

teams as (

    select * from {{ ref('dim_teams') }}

),

customers as (

    select
        'team' as customer_type,
        team_id as customer_id,
        team_name as customer_name
    from teams

    union all

    select
        'operator' as customer_type,
        operator_id as customer_id,
        operator_name as customer_name
    from operators

),

final as (

    select
        invoices.invoice_id,
        invoices.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        invoices.customer_type,
        invoices.customer_id,
        customers.customer_name,
        invoices.status,
        invoices.wallet_id,
        invoices.currency,
        cast(wallets.balance as decimal(18, 4)) as wallet_balance,
        wallets.currency as wallet_currency,
        wallets.updated_at as wallet_balance_at,
        invoices.issued_at,
        invoices.due_at,
        {{ utc_calendar_date('invoices.due_at') }} as due_date,
        {{ invoice_days_overdue('invoices.status', 'invoices.due_at') }} as days_overdue,
        cast(invoices.payable_amount as decimal(18, 4)) as payable_amount,
        invoices.period_from,
        invoices.period_to,
        invoices.paid_at,
        invoices.updated_at
    from invoices
    left join operators
        on invoices.operator_id = operators.operator_id
    left join customers
        on invoices.customer_type = customers.customer_type
            and invoices.customer_id = customers.customer_id
    left join wallets
        on invoices.wallet_id = wallets.wallet_id

)

select * from final
